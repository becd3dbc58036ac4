//! The phase order of one request, top to bottom.
//!
//! ```text
//! surface decode -> client key's limits -> route -> for each attempt:
//!     registry snapshot -> call context -> credential (refresh / exchange when due)
//!     -> sandbox -> on_request -> encode  (or encode_native)
//!     -> on_upstream_request -> egress check + credential placed -> send
//!     -> non-2xx: classify_error -> failure
//!     -> respond -> push chunks / finish -> surface encode (stream or one body)
//!   the upstream refused the token: renew it, retry the same account once
//!   the upstream refused the request as too long: when the entry says so, cut it with
//!     its reducing fixup and retry the same account once
//!   a failed attempt: routing settles it (rest the account; answer, or try the next)
//! ```
//!
//! Every failure is a [`Failure`] built where it happens ([`AttemptFailures`] for the
//! attempt's guest, upstream and transport failures); routing alone decides what it
//! means ([`Router::settle`]), and the dialect renders what the client is told.
//! Everything before the first byte reaches the client may still fail over to the
//! next account or provider; after it, a failure becomes an in-stream error frame (and
//! a classified upstream error frame still rests the account).

// A `Failure` (~144 bytes) is built only when something went wrong; moving it up a
// few frames costs nothing next to the request, and boxing it would buy nothing.
#![allow(clippy::result_large_err)]

mod call;
mod client_dialect;
mod client_headers;
mod relay;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;

use crate::accounts::store::Store;
use crate::accounts::{Accounts, KindEnv};
use crate::config::{Config, ContextRecovery, ProviderEntry};
use crate::credentials::Redactor;
use crate::failure::{AttemptFailures, ClientError, ErrorKind, Failure, Retry, TransportFailure};
use crate::governance::{Admission, Caller, Governance, TokenTally};
use crate::routing::{Attempt, Next, Router};
use crate::runtime::{FixupComponent, ProviderComponent, Registry, Runtime, SandboxContext};
use crate::surfaces::Decoded;
use crate::upstream::{EgressPolicy, PrepareError, SendError, UpstreamClient};

pub use call::{account_endpoints, apply_exchanged_base, login_endpoints};
pub use client_dialect::{ClientDialect, RouteFacts, json_response};

/// Everything a request needs: one config generation and what outlives it.
///
/// A request takes the generation in force when it starts ([`LiveGateway::current`],
/// or axum's `State<Arc<Gateway>>` over a [`LiveGateway`]) and keeps that `Arc` to its
/// end, a stream's last byte included: a config reload never changes the config,
/// model table or account pools under a request in flight.
///
/// What is built from the config is per generation (`config`, `router`'s model table
/// and pools, the retry settings); what must persist is shared by every generation
/// (`runtime`, `upstream`, `redactor`, `accounts`, the router's cooldown book and
/// account reads). See `reload` and docs/operations.md, "Config reload".
pub struct Gateway {
    /// The config generation: 1 at start, one more for each config applied since.
    pub generation: u64,
    /// The config in force.
    pub config: Arc<Config>,
    /// The wasm runtime (registry, sandboxes).
    pub runtime: Arc<Runtime>,
    /// Model table, accounts, cooldowns.
    pub router: Router,
    /// The one upstream HTTP client.
    pub upstream: UpstreamClient,
    /// Every credential the config and the store hold, kept out of relayed text and
    /// logs.
    pub redactor: Redactor,
    /// The credential store's accounts, live (`None` when no entry uses the store).
    pub accounts: Option<Arc<Accounts>>,
    /// Named client keys, their limits and counters. Outlives a config: a reload
    /// hands the same one to the new gateway ([`Governance::reconfigure`]).
    pub governance: Governance,
    /// Every secret of every config generation applied so far: a request of an older
    /// generation may still relay text that echoes one.
    config_secrets: Vec<crate::credentials::Secret>,
}

impl Gateway {
    /// The gateway for `config` on `runtime`, without a credential store.
    pub fn new(config: Arc<Config>, runtime: Arc<Runtime>) -> anyhow::Result<Self> {
        Self::with_store(config, runtime, None)
    }

    /// The gateway for `config` on `runtime`: routing (over `store`'s accounts too,
    /// when given), the upstream client with the configured timeouts, and a redactor
    /// for every key and token the config and the store hold.
    pub fn with_store(
        config: Arc<Config>,
        runtime: Arc<Runtime>,
        store: Option<Arc<Store>>,
    ) -> anyhow::Result<Self> {
        let limits = &config.limits;
        let upstream = UpstreamClient::new(
            Duration::from_millis(limits.upstream_connect_timeout_ms),
            Duration::from_secs(limits.upstream_timeout_s),
            Duration::from_secs(limits.upstream_idle_timeout_s),
        )
        .context("cannot build the upstream HTTP client")?;
        let config_secrets = secrets_of(&config);
        let redactor = Redactor::new(&config_secrets);
        redactor.install();
        let accounts = store.clone().map(|store| {
            Accounts::new(
                store,
                upstream.http().clone(),
                Duration::from_millis(limits.upstream_connect_timeout_ms)
                    + Duration::from_secs(TOKEN_CALL_TIMEOUT_S),
                redactor.clone(),
                config_secrets.clone(),
            )
        });
        Ok(Self {
            governance: Governance::new(&config.client_keys),
            generation: 1,
            router: Router::with_store(&config, store),
            config,
            runtime,
            upstream,
            redactor,
            accounts,
            config_secrets,
        })
    }

    /// The next generation, for `config` (already validated): a new router (model
    /// table, pools, retry settings) over the same runtime, upstream client, credential
    /// store, cooldowns and account reads. The redactor learns the new config's
    /// secrets and keeps the old ones. Settings that only a restart changes are the
    /// caller's to hold back (`reload`).
    pub fn next_generation(&self, config: Arc<Config>) -> Self {
        let mut config_secrets = self.config_secrets.clone();
        for secret in secrets_of(&config) {
            if !config_secrets
                .iter()
                .any(|known| known.expose() == secret.expose())
            {
                config_secrets.push(secret);
            }
        }
        match &self.accounts {
            Some(accounts) => accounts.set_config_secrets(config_secrets.clone()),
            None => self.redactor.set(&config_secrets),
        }
        // Checked by the reload before the swap (`Governance::check_config`); counters
        // carry over by key name.
        if let Err(error) = self.governance.reconfigure(&config.client_keys) {
            tracing::error!(error = %format!("{error:#}"), "client keys of the new config refused; the previous keys stay");
        }
        Self {
            generation: self.generation + 1,
            governance: self.governance.clone(),
            router: self.router.next_generation(&config),
            config,
            runtime: self.runtime.clone(),
            upstream: self.upstream.clone(),
            redactor: self.redactor.clone(),
            accounts: self.accounts.clone(),
            config_secrets,
        }
    }
}

/// The client keys and upstream secrets `config` holds.
fn secrets_of(config: &Config) -> Vec<crate::credentials::Secret> {
    config
        .api_keys
        .iter()
        .chain(config.client_keys.secrets())
        .chain(config.providers.iter().flat_map(ProviderEntry::secrets))
        .cloned()
        .collect()
}

/// The gateway in force, swapped whole by a config reload. Cheap to clone (clones
/// share one slot). It is the server's state: a handler's `State<Arc<Gateway>>` takes
/// the generation in force at that moment ([`axum::extract::FromRef`]).
#[derive(Clone)]
pub struct LiveGateway {
    slot: Arc<arc_swap::ArcSwap<Gateway>>,
}

impl LiveGateway {
    /// Serving `gateway` until the first swap.
    pub fn new(gateway: Gateway) -> Self {
        Self {
            slot: Arc::new(arc_swap::ArcSwap::from_pointee(gateway)),
        }
    }

    /// The generation in force now; a request takes it once, at its start.
    pub fn current(&self) -> Arc<Gateway> {
        self.slot.load_full()
    }

    /// Put `gateway` in force for requests that start from now on; requests in flight
    /// keep the one they took. Returns the one replaced.
    pub fn swap(&self, gateway: Gateway) -> Arc<Gateway> {
        self.slot.swap(Arc::new(gateway))
    }

    /// A handle for background tasks that must not keep the gateway alive.
    pub fn downgrade(&self) -> WeakGateway {
        WeakGateway(Arc::downgrade(&self.slot))
    }
}

impl axum::extract::FromRef<LiveGateway> for Arc<Gateway> {
    fn from_ref(live: &LiveGateway) -> Self {
        live.current()
    }
}

/// A [`LiveGateway`] that background tasks hold without keeping it alive; each
/// `upgrade` gives the generation in force then.
#[derive(Clone)]
pub struct WeakGateway(std::sync::Weak<arc_swap::ArcSwap<Gateway>>);

impl WeakGateway {
    /// The generation in force, unless the server has stopped.
    pub fn upgrade(&self) -> Option<Arc<Gateway>> {
        self.0.upgrade().map(|slot| slot.load_full())
    }
}

/// Longest a token endpoint may take to answer a refresh or exchange, seconds (after
/// connecting).
const TOKEN_CALL_TIMEOUT_S: u64 = 30;

/// The outcome of one request that passed client authentication: the usage row
/// ([`crate::usage::Row`]) the store keeps and the metrics count, filled in as the
/// request goes. Shared by `serve_chat` and, for a stream, the task that pumps it
/// (through the relay); the last holder to let go emits it, exactly once: after a
/// document is answered, or when a stream ends, fails or its client goes away.
#[derive(Clone)]
pub struct RequestRecord(Arc<Outcome>);

/// The record's shared state; dropping it emits the row.
struct Outcome {
    started: Instant,
    row: std::sync::Mutex<crate::usage::Row>,
}

impl Drop for Outcome {
    fn drop(&mut self) {
        let mut row = std::mem::take(self.row.get_mut().unwrap_or_else(|p| p.into_inner()));
        row.latency_ms = self.started.elapsed().as_millis() as u64;
        crate::metrics::observe(&row);
        crate::usage::record(row);
    }
}

impl RequestRecord {
    /// A request in `dialect` that arrived now.
    fn new(dialect: ClientDialect) -> Self {
        let time_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as i64);
        let row = crate::usage::Row {
            time_ms,
            dialect: match dialect {
                ClientDialect::OpenaiChat => "openai-chat",
                ClientDialect::OpenaiResponses => "openai-responses",
                ClientDialect::AnthropicMessages => "anthropic",
                ClientDialect::Gemini => "gemini",
            }
            .to_owned(),
            ..Default::default()
        };
        Self(Arc::new(Outcome {
            started: Instant::now(),
            row: std::sync::Mutex::new(row),
        }))
    }

    /// Change the row.
    pub fn update<T>(&self, change: impl FnOnce(&mut crate::usage::Row) -> T) -> T {
        change(&mut self.0.row.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The client key's name (empty for the plain `api-keys` list).
    pub fn set_client_key(&self, name: &str) {
        self.update(|row| row.client_key = name.to_owned());
    }

    /// The stream's first bytes are ready for the client now (the first call counts).
    fn first_bytes(&self) {
        let elapsed = self.0.started.elapsed().as_millis() as u64;
        self.update(|row| {
            row.ttft_ms.get_or_insert(elapsed);
        });
    }

    /// The upstream reported usage.
    fn usage(&self, usage: &crate::ir::Usage) {
        self.update(|row| row.take_usage(usage));
    }

    /// The client was told `error` (as a response, or as a stream's error frame).
    fn failed(&self, error: &ClientError) {
        self.update(|row| row.error = error_class(error));
    }
}

/// A client error's class for the usage row: its usage class, else its code, else its
/// kind.
fn error_class(error: &ClientError) -> String {
    if let Some(class) = error.usage_class {
        return class.to_owned();
    }
    if let Some(code) = &error.code {
        return code.clone();
    }
    match error.kind {
        ErrorKind::InvalidRequest => "invalid_request",
        ErrorKind::Authentication => "authentication",
        ErrorKind::Permission => "permission",
        ErrorKind::NotFound => "not_found",
        ErrorKind::RequestTimeout => "request_timeout",
        ErrorKind::PayloadTooLarge => "payload_too_large",
        ErrorKind::RateLimited => "rate_limited",
        ErrorKind::Internal => "internal",
        ErrorKind::Upstream => "upstream",
        ErrorKind::Overloaded => "overloaded",
        ErrorKind::Timeout => "timeout",
    }
    .to_owned()
}

/// Serve one chat request of `caller` in `dialect` whose raw body is `body`; `route` is
/// what the URL said (Gemini's model and streaming), `headers` what the client sent.
pub async fn serve_chat(
    gateway: Arc<Gateway>,
    caller: Caller,
    dialect: ClientDialect,
    route: RouteFacts,
    path: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let record = RequestRecord::new(dialect);
    record.set_client_key(&caller.client_key);
    let client_headers = client_headers::forwardable(headers);
    let mut admission = None;
    let response = match run(
        &gateway,
        &caller,
        dialect,
        &route,
        &client_headers,
        body,
        &record,
        &mut admission,
    )
    .await
    {
        Ok(response) => response,
        Err(error) => {
            record.failed(&error);
            dialect.error_response(&error)
        }
    };
    // The key's concurrency slot is held, and its tokens counted, until the answer
    // ends: the last byte of a stream, or the client's disconnect.
    let response = match admission {
        Some(admission) => admission.hold_until_body_ends(response),
        None => response,
    };
    let status = response.status().as_u16();
    record.update(|row| {
        row.status = status;
        tracing::info!(
            method = "POST",
            path,
            client_key = %row.client_key,
            model = %row.model,
            provider = if row.provider.is_empty() { "-" } else { &row.provider },
            account = if row.account.is_empty() { "-" } else { &row.account },
            status,
            duration_ms = started.elapsed().as_millis() as u64,
            attempts = row.attempts,
            "request"
        );
    });
    response
}

#[allow(clippy::too_many_arguments)]
async fn run(
    gateway: &Arc<Gateway>,
    caller: &Caller,
    dialect: ClientDialect,
    route: &RouteFacts,
    client_headers: &[(String, String)],
    body: Bytes,
    record: &RequestRecord,
    admission: &mut Option<Admission>,
) -> Result<Response, ClientError> {
    // 1. Surface decode: the client's dialect into the IR.
    let decoded = dialect.decode(&body, route)?;
    record.update(|row| {
        row.model = decoded.model.clone();
        row.stream = decoded.stream;
    });

    // 1b. The client key's limits: allowed models, rates, concurrency, quotas.
    let admitted = admission.insert(gateway.governance.admit(caller, &decoded.model)?);
    let tally = admitted.tally();
    let inbound = Inbound {
        caller: Arc::from(caller.client_key.as_str()),
        dialect,
        route,
        client_headers,
        decoded: &decoded,
        body: &body,
        tally: &tally,
        record,
    };

    // 2. Route: the model name to ordered candidates (provider entry, account).
    let mut plan = gateway
        .router
        .plan(&decoded.model, &gateway.runtime.registry())?;

    // 3. Attempts, until one answers or routing says to stop.
    let mut fallback: Option<ClientError> = None;
    while let Some(attempt) = plan.next_attempt() {
        let entry = &gateway.config.providers[attempt.candidate.provider];
        record.update(|row| {
            row.provider = entry.name.clone();
            row.adapter = entry.adapter.clone();
            row.account = attempt.account.id.clone();
            row.upstream_model = attempt.candidate.upstream_model.clone();
            row.attempts = attempt.number;
        });
        let failure =
            match try_attempt(gateway, &inbound, entry, &attempt, &Conversation::AsSent).await {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
        // The upstream refused the token: renew it and retry the same account, once.
        let failure = match renew_and_retry(gateway, &inbound, entry, &attempt, failure).await {
            Ok(response) => return Ok(response),
            Err(failure) => failure,
        };
        // The upstream refused the request as too long: cut it and retry, once.
        let failure = match reduce_and_retry(gateway, &inbound, entry, &attempt, failure).await {
            Ok(response) => return Ok(response),
            Err(failure) => failure,
        };
        tracing::info!(provider = %entry.name, account = %attempt.account.id, attempt = attempt.number,
            source = ?failure.source, retry = ?failure.retry, reason = %failure.error.message, "attempt failed");
        match gateway.router.settle(&attempt, failure) {
            Next::Answer(error) => return Err(error),
            Next::TryNext(error) => fallback = Some(error),
        }
    }
    Err(fallback.unwrap_or_else(|| plan.nothing_available()))
}

/// The client's request as every attempt sees it.
struct Inbound<'a> {
    /// Who sent it (the client key's name; empty for the plain `api-keys` list): guest
    /// instances are reused only among one caller's requests.
    caller: Arc<str>,
    /// The dialect it came in.
    dialect: ClientDialect,
    /// What the URL said.
    route: &'a RouteFacts,
    /// Headers an adapter may see (no credentials).
    client_headers: &'a [(String, String)],
    /// The body in IR form.
    decoded: &'a Decoded,
    /// The body as sent, for native passthrough.
    body: &'a Bytes,
    /// Where the answer's tokens are counted for the client key's limits.
    tally: &'a TokenTally,
    /// The request's outcome, filled in as it goes.
    record: &'a RequestRecord,
}

/// How an attempt sends the client's conversation.
enum Conversation {
    /// As the client sent it, through the adapter's and the entry's fixups.
    AsSent,
    /// Cut first by the entry's reducing fixup (`context-recovery`), which is told the
    /// budget; then through the adapter's and the entry's fixups, which so repair the
    /// conversation as it will be sent.
    Reduced {
        /// The reducing fixup.
        fixup: Arc<FixupComponent>,
        /// Estimated tokens to cut to; the fixup chooses when `None`.
        budget: Option<u32>,
    },
}

/// One attempt on one account. `Err` is what went wrong, for routing to settle.
async fn try_attempt(
    gateway: &Arc<Gateway>,
    inbound: &Inbound<'_>,
    entry: &ProviderEntry,
    attempt: &Attempt,
    conversation: &Conversation,
) -> Result<Response, Failure> {
    let Inbound {
        dialect,
        route,
        decoded,
        body: raw_body,
        ..
    } = *inbound;
    // Registry snapshot: this attempt runs on the components in force now, even if a
    // hot swap happens meanwhile.
    let registry = gateway.runtime.registry();
    let provider = provider_component(&registry, entry)?;
    let mut fixups = fixup_chain(&registry, &provider.info.default_fixups, entry)?;
    // A conversation to reduce is cut first: the repairs after it see what will be sent.
    if let Conversation::Reduced { fixup, .. } = conversation {
        fixups.insert(0, fixup.clone());
    }
    let failures = AttemptFailures::new(
        &entry.name,
        format!("{}@{}", provider.info.id, provider.info.version),
        gateway.config.limits.guest_call_timeout_ms,
        gateway.redactor.clone(),
    );
    let guest = |error| failures.guest(&error);

    // Call context: everything the attempt is (the account, the credential kind it
    // holds, the model, the adapter's endpoints resolved for it), said once to every
    // guest; and where the host will place the account's secret.
    let mut attempt_call = call::resolve(inbound, entry, &provider, attempt)?;

    // Credential: a configured key, or a stored account's token, refreshed or
    // exchanged first when due (it may move the base URL: Copilot's API host).
    let secret = call::credential(
        gateway.accounts.as_deref(),
        &provider,
        entry,
        attempt,
        &mut attempt_call,
    )
    .await?;
    let call::AttemptCall {
        call,
        placement,
        base_url,
        ..
    } = attempt_call;

    // Encode: native passthrough when the upstream speaks the client's dialect and no
    // fixup wants to edit this IR request; otherwise IR -> fixups -> provider encoder.
    // An OpenAI Chat stream whose client did not ask for usage takes the IR path: the
    // adapter asks the upstream for usage (accounting needs it) and the client's
    // encoder leaves the usage chunk out, as the client asked.
    let usage_unasked =
        matches!(dialect, ClientDialect::OpenaiChat) && decoded.stream && !decoded.include_usage;
    let passthrough = provider.info.native_dialects.contains(&dialect.dialect())
        && dialect.passthrough_allowed(route)
        && !usage_unasked
        && !fixups.iter().any(|fixup| {
            fixup.info.hooks.request
                && fixup
                    .info
                    .applies_to
                    .admits(call.client_dialect, &provider.info.id, &call.model)
        });
    let context = SandboxContext {
        provider_config: entry.config_json(),
        provider_name: entry.name.clone(),
        call,
        reuse_for: Some(inbound.caller.clone()),
    };
    let mut sandbox = gateway
        .runtime
        .sandbox(&provider, &fixups, context)
        .await
        .map_err(guest)?;
    // A reducing fixup is told the budget before any hook runs.
    if let Conversation::Reduced { budget, .. } = conversation {
        sandbox.set_token_budget(*budget);
    }
    let request = if passthrough {
        sandbox.encode_native(raw_body).await
    } else {
        match sandbox.on_request(decoded.request.clone()).await {
            Ok(request) => sandbox.encode(request).await,
            Err(error) => Err(error),
        }
    }
    .map_err(guest)?;
    let request = sandbox.on_upstream_request(request).await.map_err(guest)?;

    // Egress check and credential: after every guest hook, so no guest sees the key.
    let policy = entry.egress.get_or_build(&base_url, &provider.hash, || {
        EgressPolicy::new(&base_url, &provider.info.hosts, &entry.allow_hosts)
            .with_overridden_endpoints(entry.endpoint_overrides().map(|(_, url)| url))
    });
    let outgoing = crate::upstream::prepare(request, placement, secret.as_ref(), &policy)
        .map_err(|error| refused_request(&failures, error))?;

    // Send, and wait for the response head.
    let response = gateway
        .upstream
        .send(outgoing)
        .await
        .map_err(|error| match error {
            SendError::Timeout(_) => failures.transport(TransportFailure::Timeout, ""),
            SendError::Connect(detail) => failures.transport(TransportFailure::Connect, &detail),
        })?;

    // A refusal: the adapter classifies it.
    if !response.is_success() {
        let head = response.head.clone();
        let body = response.read_error_body().await;
        let classified = sandbox.classify_error(&head, &body).await.map_err(guest)?;
        sandbox.end().await;
        tracing::info!(provider = %entry.name, account = %attempt.account.id, status = head.status,
            class = ?classified.class, "upstream refused");
        return Err(failures.upstream_answer(head.status, &classified));
    }

    // Decode the body into events and encode them for the client.
    sandbox
        .respond(&response.head, response.is_streaming())
        .await
        .map_err(guest)?;
    let settle_late = relay::LateSettle::new(gateway.clone(), attempt.clone());
    let relay = relay::Relay::new(
        sandbox,
        response,
        failures,
        passthrough,
        dialect,
        settle_late,
        inbound.record.clone(),
    )
    .counting(inbound.tally.clone());
    if decoded.stream {
        relay
            .stream(
                dialect.stream_encoder(&decoded.model, decoded, route),
                dialect.stream_content_type(route),
            )
            .await
    } else {
        relay.collect(decoded).await
    }
}

/// After an attempt whose token the upstream refused (`auth-expired`): when the
/// account can renew it (a stored account with a refresh token, or an exchanged
/// token), renew and retry the same account once. Any other failure, or one that
/// cannot be cured so, is returned as it was for routing to settle.
async fn renew_and_retry(
    gateway: &Arc<Gateway>,
    inbound: &Inbound<'_>,
    entry: &ProviderEntry,
    attempt: &Attempt,
    failure: Failure,
) -> Result<Response, Failure> {
    let (Retry::SameAccountAfterRefresh, Some(accounts), Some(_)) = (
        &failure.retry,
        gateway.accounts.as_deref(),
        attempt.account.stored.as_ref(),
    ) else {
        return Err(failure);
    };
    let Ok(provider) = provider_component(&gateway.runtime.registry(), entry) else {
        return Err(failure);
    };
    let (Some(kind), Ok(endpoints)) = (
        provider.info.account_kind(attempt.account.kind.as_deref()),
        call::account_endpoints(&provider, entry, &attempt.account),
    ) else {
        return Err(failure);
    };
    let env = KindEnv {
        kind,
        endpoints: &endpoints,
    };
    if !accounts.renewable(&attempt.account.id, &env) {
        return Err(failure);
    }
    tracing::info!(provider = %entry.name, account = %attempt.account.id,
        "upstream refused the token; renewing it and retrying the same account");
    accounts
        .renew_refused(&attempt.account.id, &env)
        .await
        .map_err(|error| call::credential_failure(entry, error))?;
    try_attempt(gateway, inbound, entry, attempt, &Conversation::AsSent).await
}

/// After an attempt the upstream refused as too long for the model's context
/// (`context-too-long`): when the entry has `context-recovery`, retry the same account
/// once with the conversation cut by its reducing fixup to its budget. Nothing reached
/// the client yet (a refusal after the first byte ends the stream instead), so a
/// stream is retried as safely as a document. If the retry fails too, its failure is
/// the one routing settles: the client hears the latest refusal, of the request as
/// last sent. Without the setting, or with its fixup not loaded, the failure is
/// returned as it was.
async fn reduce_and_retry(
    gateway: &Arc<Gateway>,
    inbound: &Inbound<'_>,
    entry: &ProviderEntry,
    attempt: &Attempt,
    failure: Failure,
) -> Result<Response, Failure> {
    let Some(ContextRecovery {
        fixup: fixup_id,
        budget_tokens,
    }) = entry
        .context_recovery
        .as_ref()
        .filter(|_| failure.is_context_too_long())
    else {
        return Err(failure);
    };
    let Some(fixup) = gateway.runtime.registry().fixup(fixup_id).cloned() else {
        tracing::warn!(provider = %entry.name, account = %attempt.account.id, fixup = %fixup_id,
            "upstream refused the request as too long; the context-recovery fixup is not loaded, so the refusal stands");
        return Err(failure);
    };
    tracing::info!(provider = %entry.name, account = %attempt.account.id, fixup = %fixup_id,
        budget_tokens = ?budget_tokens,
        "upstream refused the request as too long; cutting it and retrying the same account once");
    let reduced = Conversation::Reduced {
        fixup,
        budget: *budget_tokens,
    };
    try_attempt(gateway, inbound, entry, attempt, &reduced).await
}

/// The entry's provider adapter in the registry snapshot; one not loaded sends the
/// request to the next candidate.
fn provider_component(
    registry: &Registry,
    entry: &ProviderEntry,
) -> Result<Arc<ProviderComponent>, Failure> {
    registry.provider(&entry.adapter).cloned().ok_or_else(|| {
        Failure::host(
            ClientError::new(
                ErrorKind::Overloaded,
                format!(
                    "provider `{}`: adapter `{}` is not loaded",
                    entry.name, entry.adapter
                ),
            )
            .code("adapter_not_loaded"),
            Retry::NextAccount,
        )
    })
}

/// A request the adapter built that the host will not send.
fn refused_request(failures: &AttemptFailures, error: PrepareError) -> Failure {
    let adapter = failures.component();
    let error = match error {
        PrepareError::Egress(refused) => {
            tracing::warn!(adapter, provider = failures.provider(),
                destination = %refused.destination, "egress refused");
            ClientError::new(
                ErrorKind::Permission,
                format!(
                    "adapter {adapter} tried to reach `{}`, which provider `{}` does not grant",
                    refused.destination,
                    failures.provider()
                ),
            )
            .code("egress_refused")
        }
        PrepareError::Invalid(message) => ClientError::new(
            ErrorKind::Internal,
            failures.redact(&format!("adapter {adapter}: {message}")),
        ),
    };
    Failure {
        error,
        source: crate::failure::Source::Guest(adapter.to_owned()),
        retry: Retry::Never,
    }
}

/// The adapter's default fixups, then the entry's, resolved in the registry snapshot.
fn fixup_chain(
    registry: &Registry,
    defaults: &[String],
    entry: &ProviderEntry,
) -> Result<Vec<Arc<FixupComponent>>, Failure> {
    defaults
        .iter()
        .chain(entry.fixups.iter())
        .map(|id| {
            registry.fixup(id).cloned().ok_or_else(|| {
                Failure::host(
                    ClientError::new(
                        ErrorKind::Internal,
                        format!("provider `{}`: fixup `{id}` is not loaded", entry.name),
                    )
                    .code("fixup_not_loaded"),
                    Retry::NextAccount,
                )
            })
        })
        .collect()
}
