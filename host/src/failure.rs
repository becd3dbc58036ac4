//! One typed failure for everything that can go wrong with a request, built where it
//! happens and decided in one place.
//!
//! A [`Failure`] says what went wrong for the client ([`ClientError`]: kind, message,
//! code, `Retry-After`), who caused it ([`Source`]) and what to do next ([`Retry`]).
//! It is built at the spot that sees the failure: the surface that cannot decode the
//! body, the guest call that trapped, the upstream answer the adapter classified, the
//! transport that broke. Routing alone turns the advice into cooldowns and a decision
//! ([`crate::routing::Router::settle`]); the client dialects only render the
//! [`ClientError`], `Retry-After` included.
//!
//! Text that came from outside the host (an upstream's error message, a guest's panic,
//! a transport error) passes through a [`Redactor`] when the failure is built, so no
//! credential the host holds reaches a client or a log through it.

use std::time::Duration;

use crate::credentials::Redactor;
use crate::ir::{self, AdapterError, ErrorClass, UpstreamError};
use crate::routing::CooldownReason;
use crate::runtime::{GuestError, TrapReason};

/// What went wrong, in terms every dialect can express.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: malformed or unsupported request.
    InvalidRequest,
    /// 401: missing or wrong client key.
    Authentication,
    /// 403: not allowed (e.g. egress refused).
    Permission,
    /// 404: unknown model or route.
    NotFound,
    /// 408: the request body stopped arriving.
    RequestTimeout,
    /// 413: body too large.
    PayloadTooLarge,
    /// 429: every account is rate limited or out of quota.
    RateLimited,
    /// 500: a bug, or an adapter that trapped.
    Internal,
    /// 502: the upstream failed or answered garbage.
    Upstream,
    /// 503: overloaded (upstream or sandbox pool).
    Overloaded,
    /// 504: the upstream timed out.
    Timeout,
}

impl ErrorKind {
    /// The HTTP status for this kind.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::InvalidRequest => 400,
            ErrorKind::Authentication => 401,
            ErrorKind::Permission => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::RequestTimeout => 408,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::RateLimited => 429,
            ErrorKind::Internal => 500,
            ErrorKind::Upstream => 502,
            ErrorKind::Overloaded => 503,
            ErrorKind::Timeout => 504,
        }
    }
}

/// An error to send to the client, in its dialect's shape.
#[derive(Debug, Clone)]
pub struct ClientError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// A message fit for the client (never a secret).
    pub message: String,
    /// Machine-readable code, e.g. `model_not_found`, `invalid_api_key`.
    pub code: Option<String>,
    /// The request field at fault, if any.
    pub param: Option<String>,
    /// When the client may usefully retry; rendered as `Retry-After` (whole seconds).
    pub retry_after: Option<Duration>,
    /// The usage row's error class when it must differ from `code`: a refusal by the
    /// client key's own limits, which the client sees under its dialect's usual code
    /// (see [`crate::governance::REFUSED_BY_THE_KEY`]).
    pub usage_class: Option<&'static str>,
}

impl ClientError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            code: None,
            param: None,
            retry_after: None,
            usage_class: None,
        }
    }
    /// With a machine-readable code.
    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
    /// With the request field at fault.
    pub fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }
    /// Recorded in the usage store under `class` rather than its code.
    pub fn usage_class(mut self, class: &'static str) -> Self {
        self.usage_class = Some(class);
        self
    }
    /// With a `Retry-After`.
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }
    /// `Retry-After` in whole seconds ([`whole_seconds`]).
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.map(whole_seconds)
    }
}

/// A wait as `Retry-After` says it: whole seconds, rounded up, at least 1.
pub fn whole_seconds(after: Duration) -> u64 {
    (after.as_secs() + u64::from(after.subsec_nanos() > 0)).max(1)
}

impl From<&AdapterError> for ClientError {
    /// The client-facing error for an error an adapter raised (a guest call's result):
    /// a request the target cannot serve is the client's
    /// 400, anything else is ours or the upstream's. Not redacted: the pipeline's
    /// [`AttemptFailures::adapter_error`] is the path that reaches a client.
    fn from(error: &AdapterError) -> Self {
        let (kind, code) = match error.kind {
            ir::ErrorKind::InvalidRequest => (ErrorKind::InvalidRequest, None),
            ir::ErrorKind::Unsupported => (ErrorKind::InvalidRequest, Some("unsupported")),
            ir::ErrorKind::Upstream => (ErrorKind::Upstream, None),
            ir::ErrorKind::Internal => (ErrorKind::Internal, None),
        };
        let client = ClientError::new(kind, error.message.clone());
        match code {
            Some(code) => client.code(code),
            None => client,
        }
    }
}

impl From<&UpstreamError> for ClientError {
    /// The client-facing error for a classified upstream error inside a stream (what
    /// a surface renders when it meets a stream's `error` event): its class says the
    /// kind. Not redacted: the pipeline's [`AttemptFailures::stream_error`] is the path
    /// that reaches a client.
    fn from(error: &UpstreamError) -> Self {
        let (kind, code) = match error.class {
            ErrorClass::RateLimited { .. } => (ErrorKind::RateLimited, None),
            ErrorClass::QuotaExhausted { .. } => {
                (ErrorKind::RateLimited, Some("insufficient_quota"))
            }
            ErrorClass::Overloaded { .. } => (ErrorKind::Overloaded, None),
            ErrorClass::ContextTooLong => (ErrorKind::InvalidRequest, Some(CONTEXT_TOO_LONG)),
            ErrorClass::BadRequest => (ErrorKind::InvalidRequest, None),
            ErrorClass::AuthExpired
            | ErrorClass::AccountDisabled
            | ErrorClass::ModelUnavailable
            | ErrorClass::Other => (ErrorKind::Upstream, None),
        };
        let client = ClientError::new(kind, error.message.clone());
        match code {
            Some(code) => client.code(code),
            None => client,
        }
    }
}

/// The code of a request an upstream refused as too long for the model's context
/// (class `context-too-long`), what every dialect tells the client.
pub const CONTEXT_TOO_LONG: &str = "context_length_exceeded";

/// Who caused a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The client's request (malformed, unknown model, too large).
    Client,
    /// A guest component (`id@version`): it trapped, timed out or refused.
    Guest(String),
    /// The upstream of the account the attempt used: it refused, broke or fell silent.
    Upstream,
    /// The host itself (a component not loaded, a pool exhausted).
    Host,
}

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Answer the client now: another account would fail the same way.
    Never,
    /// Try the next account or provider; this account is fine.
    NextAccount,
    /// The credential was refused: refresh it and retry the same account. Until the
    /// host can refresh (accounts issue), routing rests the account and moves on.
    SameAccountAfterRefresh,
    /// Rest this account (for the upstream's `Retry-After` when it gave one, else the
    /// configured cooldown for `reason`) and try the next.
    AfterDelay {
        /// Why the account rests; picks the default cooldown.
        reason: CooldownReason,
        /// The upstream's hint, before routing caps it.
        delay: Option<Duration>,
    },
}

/// A failure of one request or one attempt.
#[derive(Debug, Clone)]
pub struct Failure {
    /// What the client is told.
    pub error: ClientError,
    /// Who caused it.
    pub source: Source,
    /// What routing should do.
    pub retry: Retry,
}

impl Failure {
    /// The client's own mistake: answered as is.
    pub fn client(error: ClientError) -> Self {
        Self {
            error,
            source: Source::Client,
            retry: Retry::Never,
        }
    }

    /// A failure of the host itself, with its advice.
    pub fn host(error: ClientError, retry: Retry) -> Self {
        Self {
            error,
            source: Source::Host,
            retry,
        }
    }

    /// Whether the upstream refused the request as too long for the model's context
    /// (class `context-too-long`, in an answer or in an error frame before the client's
    /// first byte): the request, not the account, is at fault, and a shorter one may
    /// pass.
    pub fn is_context_too_long(&self) -> bool {
        self.source == Source::Upstream && self.error.code.as_deref() == Some(CONTEXT_TOO_LONG)
    }
}

impl From<ClientError> for Failure {
    /// A [`ClientError`] raised while reading the client's request.
    fn from(error: ClientError) -> Self {
        Failure::client(error)
    }
}

/// Why an upstream could not be reached or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// No response head within `limits.upstream-timeout-s`.
    Timeout,
    /// Connection refused, DNS, TLS, reset before the head.
    Connect,
    /// The body broke off.
    Body,
    /// The body fell silent for `limits.upstream-idle-timeout-s`.
    Idle,
}

/// Builds the failures of one attempt: it knows the provider entry, the account and the
/// adapter, and redacts every text that came from outside.
#[derive(Debug, Clone)]
pub struct AttemptFailures {
    /// Provider entry name.
    provider: String,
    /// `id@version` of the provider adapter.
    adapter: String,
    /// The guest call deadline, for the message.
    guest_timeout_ms: u64,
    /// The credentials to keep out of every message.
    redactor: Redactor,
}

impl AttemptFailures {
    /// For an attempt on entry `provider` served by `adapter` (`id@version`).
    pub fn new(
        provider: impl Into<String>,
        adapter: impl Into<String>,
        guest_timeout_ms: u64,
        redactor: Redactor,
    ) -> Self {
        Self {
            provider: provider.into(),
            adapter: adapter.into(),
            guest_timeout_ms,
            redactor,
        }
    }

    /// The provider adapter, `id@version`.
    pub fn component(&self) -> &str {
        &self.adapter
    }

    /// The provider entry name.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// `text` with every credential the host holds removed.
    pub fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }

    /// A guest call failed: an adapter's invalid-request/unsupported is the client's
    /// 400; an upstream problem the adapter reported may fail over; a trap is our 500
    /// naming the component and why; a sandbox the host could not build is a 503.
    pub fn guest(&self, error: &GuestError) -> Failure {
        match error {
            GuestError::Adapter { component, error } => Failure {
                retry: match error.kind {
                    ir::ErrorKind::Upstream => Retry::NextAccount,
                    _ => Retry::Never,
                },
                error: self.adapter_error(error),
                source: Source::Guest(component.clone()),
            },
            GuestError::Trap { component, reason } => {
                crate::metrics::guest_trap(component, reason);
                let role = if *component == self.adapter {
                    "adapter"
                } else {
                    "fixup"
                };
                let what = match reason {
                    TrapReason::Timeout => {
                        format!("exceeded its {} ms time limit", self.guest_timeout_ms)
                    }
                    TrapReason::OutOfMemory => "exceeded its memory limit".to_owned(),
                    TrapReason::Panic(message) if message.is_empty() => "panicked".to_owned(),
                    TrapReason::Panic(message) => format!("panicked: {message}"),
                    TrapReason::Other(message) => format!("trapped: {message}"),
                };
                Failure {
                    error: ClientError::new(
                        ErrorKind::Internal,
                        self.redact(&format!("{role} {component} {what}")),
                    )
                    .code("adapter_trapped"),
                    source: Source::Guest(component.clone()),
                    retry: Retry::Never,
                }
            }
            GuestError::Host { component, message } => Failure::host(
                ClientError::new(ErrorKind::Overloaded, format!("{component}: {message}")),
                Retry::Never,
            ),
        }
    }

    /// The client-facing form of an error an adapter raised (a guest call's result),
    /// redacted.
    pub fn adapter_error(&self, error: &AdapterError) -> ClientError {
        let mut client = ClientError::from(error);
        client.message = self.redact(&client.message);
        client
    }

    /// An `error` event the adapter's decoder emitted inside a 2xx stream: settled
    /// exactly as a non-2xx answer of its class (a throttling frame rests the account
    /// like a 429 does), before the client's first byte and after it alike. Class
    /// `other` (all that contract 0.1 could say) is upstream trouble worth another
    /// account.
    pub fn stream_error(&self, error: &UpstreamError) -> Failure {
        self.classified(None, error)
    }

    /// A non-2xx answer the adapter classified (the adapter reads `Retry-After` and
    /// the provider's own reset fields into the class's hint).
    pub fn upstream_answer(&self, status: u16, classified: &UpstreamError) -> Failure {
        self.classified(Some(status), classified)
    }

    /// The failure of a classified upstream error: from an answer of `status`, or
    /// from an error frame inside a stream (`None`).
    fn classified(&self, status: Option<u16>, classified: &UpstreamError) -> Failure {
        let provider = &self.provider;
        let message = self.redact(&classified.message);
        let (error, retry) = match classified.class {
            ErrorClass::RateLimited { retry_after_ms } => (
                ClientError::new(
                    ErrorKind::RateLimited,
                    format!("provider `{provider}` is rate limited: {message}"),
                )
                .code("rate_limit_exceeded"),
                Retry::AfterDelay {
                    reason: CooldownReason::RateLimited,
                    delay: retry_after_ms.map(Duration::from_millis),
                },
            ),
            ErrorClass::QuotaExhausted { retry_after_ms } => (
                ClientError::new(
                    ErrorKind::RateLimited,
                    format!("provider `{provider}` is out of quota: {message}"),
                )
                .code("insufficient_quota"),
                Retry::AfterDelay {
                    reason: CooldownReason::QuotaExhausted,
                    delay: retry_after_ms.map(Duration::from_millis),
                },
            ),
            ErrorClass::Overloaded { retry_after_ms } => (
                ClientError::new(
                    ErrorKind::Overloaded,
                    format!("provider `{provider}` is overloaded: {message}"),
                ),
                Retry::AfterDelay {
                    reason: CooldownReason::Overloaded,
                    delay: retry_after_ms.map(Duration::from_millis),
                },
            ),
            ErrorClass::AuthExpired => (
                ClientError::new(
                    ErrorKind::Upstream,
                    format!("provider `{provider}` rejected the account's credential: {message}"),
                ),
                Retry::SameAccountAfterRefresh,
            ),
            ErrorClass::AccountDisabled => (
                ClientError::new(
                    ErrorKind::Upstream,
                    format!("provider `{provider}` refused the account: {message}"),
                )
                .code("account_disabled"),
                Retry::AfterDelay {
                    reason: CooldownReason::AccountDisabled,
                    delay: None,
                },
            ),
            ErrorClass::ModelUnavailable => (
                ClientError::new(
                    ErrorKind::NotFound,
                    format!(
                        "provider `{provider}` cannot serve this model on the account: {message}"
                    ),
                )
                .code("model_unavailable"),
                Retry::NextAccount,
            ),
            ErrorClass::ContextTooLong => (
                ClientError::new(ErrorKind::InvalidRequest, message).code(CONTEXT_TOO_LONG),
                Retry::Never,
            ),
            ErrorClass::BadRequest => (
                ClientError::new(ErrorKind::InvalidRequest, message),
                Retry::Never,
            ),
            ErrorClass::Other => match status {
                None => (
                    ClientError::new(
                        ErrorKind::Upstream,
                        format!("provider `{provider}` failed mid-answer: {message}"),
                    ),
                    Retry::NextAccount,
                ),
                Some(status) => {
                    let described =
                        format!("provider `{provider}` answered HTTP {status}: {message}");
                    match status {
                        408 | 500..=599 => (
                            ClientError::new(ErrorKind::Upstream, described),
                            Retry::NextAccount,
                        ),
                        404 => (
                            ClientError::new(ErrorKind::NotFound, described),
                            Retry::Never,
                        ),
                        400 | 422 => (
                            ClientError::new(ErrorKind::InvalidRequest, described),
                            Retry::Never,
                        ),
                        _ => (
                            ClientError::new(ErrorKind::Upstream, described),
                            Retry::Never,
                        ),
                    }
                }
            },
        };
        Failure {
            error,
            source: Source::Upstream,
            retry,
        }
    }

    /// The upstream could not be reached or read: the account rests like an overloaded
    /// one (a silent or unreachable upstream must not cost every request the full
    /// timeout), and the next one is tried.
    pub fn transport(&self, failure: TransportFailure, detail: &str) -> Failure {
        let provider = &self.provider;
        let detail = self.redact(detail);
        let error = match failure {
            TransportFailure::Timeout => ClientError::new(
                ErrorKind::Timeout,
                format!("provider `{provider}` did not answer in time"),
            ),
            TransportFailure::Idle => ClientError::new(
                ErrorKind::Timeout,
                format!("provider `{provider}` fell silent mid-answer: {detail}"),
            ),
            TransportFailure::Connect => ClientError::new(
                ErrorKind::Upstream,
                format!("provider `{provider}` is unreachable: {detail}"),
            ),
            TransportFailure::Body => ClientError::new(
                ErrorKind::Upstream,
                format!("provider `{provider}` broke off its answer: {detail}"),
            ),
        };
        Failure {
            error,
            source: Source::Upstream,
            retry: Retry::AfterDelay {
                reason: CooldownReason::Unreachable,
                delay: None,
            },
        }
    }

    /// A 2xx answer with nothing in it: the upstream is broken, not the request.
    pub fn empty_answer(&self, status: u16) -> Failure {
        Failure {
            error: ClientError::new(
                ErrorKind::Upstream,
                format!(
                    "provider `{}` answered HTTP {status} with an empty body",
                    self.provider
                ),
            )
            .code("empty_upstream_response"),
            source: Source::Upstream,
            retry: Retry::NextAccount,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Secret;
    use crate::ir::ErrorKind as IrErrorKind;

    fn failures() -> AttemptFailures {
        AttemptFailures::new(
            "spin",
            "test-spin@0.1.0",
            2000,
            Redactor::new(&[Secret::new("sk-operator-secret-key")]),
        )
    }

    #[test]
    fn a_timed_out_adapter_is_a_500_naming_it_and_the_limit() {
        let error = GuestError::Trap {
            component: "test-spin@0.1.0".into(),
            reason: TrapReason::Timeout,
        };
        let failure = failures().guest(&error);
        assert_eq!(failure.error.kind.status(), 500);
        assert_eq!(
            failure.error.message,
            "adapter test-spin@0.1.0 exceeded its 2000 ms time limit"
        );
        assert_eq!(failure.source, Source::Guest("test-spin@0.1.0".into()));
        assert_eq!(failure.retry, Retry::Never);
    }

    #[test]
    fn a_panicking_fixup_is_named_as_a_fixup() {
        let error = GuestError::Trap {
            component: "merge-turns@0.2.0".into(),
            reason: TrapReason::Panic("boom".into()),
        };
        assert_eq!(
            failures().guest(&error).error.message,
            "fixup merge-turns@0.2.0 panicked: boom"
        );
    }

    #[test]
    fn an_unsupported_request_is_the_clients_400_and_not_retried() {
        let error = GuestError::Adapter {
            component: "test-spin@0.1.0".into(),
            error: AdapterError {
                kind: IrErrorKind::Unsupported,
                message: "no images".into(),
            },
        };
        let failure = failures().guest(&error);
        assert_eq!(failure.error.kind.status(), 400);
        assert_eq!(failure.error.message, "no images");
        assert_eq!(failure.retry, Retry::Never);
    }

    #[test]
    fn an_upstream_problem_the_adapter_reports_fails_over_redacted() {
        let error = GuestError::Adapter {
            component: "test-spin@0.1.0".into(),
            error: AdapterError {
                kind: IrErrorKind::Upstream,
                message: "upstream said: bad key sk-operator-secret-key".into(),
            },
        };
        let failure = failures().guest(&error);
        assert_eq!(failure.retry, Retry::NextAccount);
        assert_eq!(failure.error.message, "upstream said: bad key [redacted]");
    }

    #[test]
    fn a_sandbox_the_host_could_not_build_is_a_503() {
        let error = GuestError::Host {
            component: "test-spin@0.1.0".into(),
            message: "pool exhausted".into(),
        };
        let failure = failures().guest(&error);
        assert_eq!(failure.error.kind.status(), 503);
        assert_eq!(failure.source, Source::Host);
    }

    #[test]
    fn an_empty_2xx_is_an_upstream_failure_worth_another_account() {
        let failure = failures().empty_answer(200);
        assert_eq!(failure.error.kind.status(), 502);
        assert!(failure.error.message.contains("empty body"));
        assert_eq!(failure.retry, Retry::NextAccount);
    }

    #[test]
    fn a_context_too_long_refusal_is_told_apart_in_an_answer_and_in_a_frame() {
        let too_long = UpstreamError {
            class: ErrorClass::ContextTooLong,
            message: "This model's maximum context length is 128000 tokens.".into(),
        };
        let answered = failures().upstream_answer(400, &too_long);
        assert!(answered.is_context_too_long());
        assert_eq!(answered.error.kind.status(), 400);
        assert_eq!(answered.retry, Retry::Never);
        assert!(failures().stream_error(&too_long).is_context_too_long());
        let bad = UpstreamError {
            class: ErrorClass::BadRequest,
            ..too_long
        };
        assert!(!failures().upstream_answer(400, &bad).is_context_too_long());
        let ours = Failure::client(
            ClientError::new(ErrorKind::InvalidRequest, "x").code(CONTEXT_TOO_LONG),
        );
        assert!(!ours.is_context_too_long(), "only an upstream's refusal");
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        let error = ClientError::new(ErrorKind::RateLimited, "x");
        assert_eq!(error.retry_after_secs(), None);
        let error = error.retry_after(Duration::from_millis(1_200));
        assert_eq!(error.retry_after_secs(), Some(2));
        let error = ClientError::new(ErrorKind::RateLimited, "x").retry_after(Duration::ZERO);
        assert_eq!(error.retry_after_secs(), Some(1));
    }
}
