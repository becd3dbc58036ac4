//! What an upstream failure means for this request: answer the client now, or rest
//! the account and try the next one. Routing alone decides; adapters only classify.

use std::time::{Duration, Instant};

use super::cooldown::{CooldownBook, CooldownReason};
use crate::config::RetrySettings;
use crate::ir::{ClassifiedError, ErrorClass};
use crate::surfaces::{ClientError, ErrorKind};

/// The decision after one failed attempt.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// Give the client this error now; no other account would do better.
    Answer(ClientError),
    /// Try the next account or provider; if none is left, give the client this error.
    TryNext(ClientError),
}

/// Judge a classified non-2xx upstream answer, resting the account as the class asks.
pub fn judge_upstream(
    status: u16,
    error: &ClassifiedError,
    provider: &str,
    account: &str,
    retry: &RetrySettings,
    book: &CooldownBook,
    now: Instant,
) -> Verdict {
    let message = &error.message;
    let rest = |hint_ms: Option<u64>, default_s: u64, reason: CooldownReason| {
        let duration = hint_ms
            .map(Duration::from_millis)
            .unwrap_or(Duration::from_secs(default_s));
        tracing::info!(
            account,
            reason = reason.describe(),
            rest_s = duration.as_secs_f64(),
            "account resting"
        );
        book.rest(account, duration, reason, now);
    };
    match error.class {
        ErrorClass::RateLimited { retry_after_ms } => {
            rest(
                retry_after_ms,
                retry.cooldown_s,
                CooldownReason::RateLimited,
            );
            Verdict::TryNext(
                ClientError::new(
                    ErrorKind::RateLimited,
                    format!("provider `{provider}` is rate limited: {message}"),
                )
                .code("rate_limit_exceeded"),
            )
        }
        ErrorClass::QuotaExhausted { retry_after_ms } => {
            rest(
                retry_after_ms,
                retry.quota_cooldown_s,
                CooldownReason::QuotaExhausted,
            );
            Verdict::TryNext(
                ClientError::new(
                    ErrorKind::RateLimited,
                    format!("provider `{provider}` is out of quota: {message}"),
                )
                .code("insufficient_quota"),
            )
        }
        ErrorClass::Overloaded { retry_after_ms } => {
            rest(
                retry_after_ms,
                retry.overloaded_cooldown_s,
                CooldownReason::Overloaded,
            );
            Verdict::TryNext(ClientError::new(
                ErrorKind::Overloaded,
                format!("provider `{provider}` is overloaded: {message}"),
            ))
        }
        ErrorClass::AuthExpired => {
            rest(None, retry.auth_disable_s, CooldownReason::AuthRejected);
            Verdict::TryNext(ClientError::new(
                ErrorKind::Upstream,
                format!(
                    "provider `{provider}` rejected the credential of account {account}: {message}"
                ),
            ))
        }
        ErrorClass::ContextTooLong => Verdict::Answer(
            ClientError::new(ErrorKind::InvalidRequest, message.clone())
                .code("context_length_exceeded"),
        ),
        ErrorClass::BadRequest => {
            Verdict::Answer(ClientError::new(ErrorKind::InvalidRequest, message.clone()))
        }
        ErrorClass::Other => {
            let described = format!("provider `{provider}` answered HTTP {status}: {message}");
            match status {
                408 | 500..=599 => {
                    Verdict::TryNext(ClientError::new(ErrorKind::Upstream, described))
                }
                404 => Verdict::Answer(ClientError::new(ErrorKind::NotFound, described)),
                400 | 422 => {
                    Verdict::Answer(ClientError::new(ErrorKind::InvalidRequest, described))
                }
                _ => Verdict::Answer(ClientError::new(ErrorKind::Upstream, described)),
            }
        }
    }
}

/// Why the upstream could not be reached or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// No response head within `limits.upstream-timeout-s`.
    Timeout,
    /// Connection refused, DNS, TLS, reset before the head.
    Connect,
    /// The body broke off before anything reached the client.
    Body,
}

/// Judge a transport failure: always worth another account or provider.
pub fn judge_transport(failure: TransportFailure, provider: &str, detail: &str) -> Verdict {
    let error = match failure {
        TransportFailure::Timeout => ClientError::new(
            ErrorKind::Timeout,
            format!("provider `{provider}` did not answer in time"),
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
    Verdict::TryNext(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(status: u16, class: ErrorClass, book: &CooldownBook, now: Instant) -> Verdict {
        let error = ClassifiedError {
            class,
            message: "upstream says no".into(),
        };
        judge_upstream(
            status,
            &error,
            "claude-main",
            "claude-main#1",
            &RetrySettings::default(),
            book,
            now,
        )
    }

    #[test]
    fn a_rate_limit_rests_the_account_for_retry_after_and_moves_on() {
        let (book, now) = (CooldownBook::new(), Instant::now());
        let verdict = judge(
            429,
            ErrorClass::RateLimited {
                retry_after_ms: Some(7_000),
            },
            &book,
            now,
        );
        let Verdict::TryNext(fallback) = verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!(fallback.kind, ErrorKind::RateLimited);
        assert!(fallback.message.contains("claude-main"));
        let rest = book.current("claude-main#1", now).unwrap();
        assert_eq!(rest.until - now, Duration::from_secs(7));
    }

    #[test]
    fn without_retry_after_the_configured_cooldown_applies() {
        let (book, now) = (CooldownBook::new(), Instant::now());
        judge(
            429,
            ErrorClass::RateLimited {
                retry_after_ms: None,
            },
            &book,
            now,
        );
        assert_eq!(
            book.current("claude-main#1", now).unwrap().until - now,
            Duration::from_secs(60)
        );
        let (book, now) = (CooldownBook::new(), Instant::now());
        judge(
            529,
            ErrorClass::Overloaded {
                retry_after_ms: None,
            },
            &book,
            now,
        );
        assert_eq!(
            book.current("claude-main#1", now).unwrap().until - now,
            Duration::from_secs(5)
        );
    }

    #[test]
    fn a_too_long_prompt_goes_straight_back_to_the_client() {
        let (book, now) = (CooldownBook::new(), Instant::now());
        let verdict = judge(400, ErrorClass::ContextTooLong, &book, now);
        let Verdict::Answer(error) = verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!(error.kind.status(), 400);
        assert_eq!(error.message, "upstream says no");
        assert!(
            book.current("claude-main#1", now).is_none(),
            "nothing rests for a client mistake"
        );
    }

    #[test]
    fn a_rejected_credential_disables_the_account() {
        let (book, now) = (CooldownBook::new(), Instant::now());
        let verdict = judge(401, ErrorClass::AuthExpired, &book, now);
        assert!(matches!(verdict, Verdict::TryNext(ref e) if e.kind.status() == 502));
        assert_eq!(
            book.current("claude-main#1", now).unwrap().reason,
            CooldownReason::AuthRejected
        );
    }

    #[test]
    fn unclassified_server_errors_fail_over_and_client_errors_do_not() {
        let (book, now) = (CooldownBook::new(), Instant::now());
        assert!(matches!(
            judge(502, ErrorClass::Other, &book, now),
            Verdict::TryNext(_)
        ));
        assert!(
            matches!(judge(404, ErrorClass::Other, &book, now), Verdict::Answer(ref e) if e.kind.status() == 404)
        );
    }
}
