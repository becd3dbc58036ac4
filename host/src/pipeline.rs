//! The phase order of one request, top to bottom.
//!
//! ```text
//! surface decode -> route -> for each attempt:
//!     registry snapshot -> call context -> sandbox -> on_request -> encode  (or encode_native)
//!     -> on_upstream_request -> egress check + credential -> send
//!     -> non-2xx: classify_error -> failure
//!     -> respond -> push chunks / finish -> surface encode (stream or one body)
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

use crate::config::{Config, ProviderEntry};
use crate::credentials::Redactor;
use crate::failure::{AttemptFailures, ClientError, ErrorKind, Failure, Retry, TransportFailure};
use crate::routing::{Attempt, Next, Router};
use crate::runtime::{FixupComponent, ProviderComponent, Registry, Runtime, SandboxContext};
use crate::surfaces::Decoded;
use crate::upstream::{EgressPolicy, PrepareError, SendError, UpstreamClient};

pub use client_dialect::{ClientDialect, RouteFacts, json_response};

/// Everything a request needs, shared by all requests.
pub struct Gateway {
    /// The config in force.
    pub config: Arc<Config>,
    /// The wasm runtime (registry, sandboxes).
    pub runtime: Arc<Runtime>,
    /// Model table, accounts, cooldowns.
    pub router: Router,
    /// The one upstream HTTP client.
    pub upstream: UpstreamClient,
    /// Every credential the config holds, kept out of relayed text and logs.
    pub redactor: Redactor,
}

impl Gateway {
    /// The gateway for `config` on `runtime`: routing, the upstream client with the
    /// configured timeouts, and a redactor for every key the config holds.
    pub fn new(config: Arc<Config>, runtime: Arc<Runtime>) -> anyhow::Result<Self> {
        let limits = &config.limits;
        let upstream = UpstreamClient::new(
            Duration::from_millis(limits.upstream_connect_timeout_ms),
            Duration::from_secs(limits.upstream_timeout_s),
            Duration::from_secs(limits.upstream_idle_timeout_s),
        )
        .context("cannot build the upstream HTTP client")?;
        let redactor = Redactor::new(
            config
                .api_keys
                .iter()
                .chain(config.providers.iter().flat_map(ProviderEntry::secrets)),
        );
        redactor.install();
        Ok(Self {
            router: Router::new(&config),
            config,
            runtime,
            upstream,
            redactor,
        })
    }
}

/// What the per-request log line reports.
#[derive(Debug, Default)]
struct RequestRecord {
    model: String,
    provider: Option<String>,
    account: Option<String>,
    attempts: u32,
}

/// Serve one chat request in `dialect` whose raw body is `body`; `route` is what the
/// URL said (Gemini's model and streaming), `headers` what the client sent.
pub async fn serve_chat(
    gateway: Arc<Gateway>,
    dialect: ClientDialect,
    route: RouteFacts,
    path: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let mut record = RequestRecord::default();
    let client_headers = client_headers::forwardable(headers);
    let response = match run(
        &gateway,
        dialect,
        &route,
        &client_headers,
        body,
        &mut record,
    )
    .await
    {
        Ok(response) => response,
        Err(error) => dialect.error_response(&error),
    };
    tracing::info!(
        method = "POST",
        path,
        model = %record.model,
        provider = record.provider.as_deref().unwrap_or("-"),
        account = record.account.as_deref().unwrap_or("-"),
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_millis() as u64,
        attempts = record.attempts,
        "request"
    );
    response
}

async fn run(
    gateway: &Arc<Gateway>,
    dialect: ClientDialect,
    route: &RouteFacts,
    client_headers: &[(String, String)],
    body: Bytes,
    record: &mut RequestRecord,
) -> Result<Response, ClientError> {
    // 1. Surface decode: the client's dialect into the IR.
    let decoded = dialect.decode(&body, route)?;
    record.model = decoded.model.clone();
    let inbound = Inbound {
        dialect,
        route,
        client_headers,
        decoded: &decoded,
        body: &body,
    };

    // 2. Route: the model name to ordered candidates (provider entry, account).
    let mut plan = gateway
        .router
        .plan(&decoded.model, &gateway.runtime.registry())?;

    // 3. Attempts, until one answers or routing says to stop.
    let mut fallback: Option<ClientError> = None;
    while let Some(attempt) = plan.next_attempt() {
        let entry = &gateway.config.providers[attempt.candidate.provider];
        record.provider = Some(entry.name.clone());
        record.account = Some(attempt.account.id.clone());
        record.attempts = attempt.number;
        let failure = match try_attempt(gateway, &inbound, entry, &attempt).await {
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
}

/// One attempt on one account. `Err` is what went wrong, for routing to settle.
async fn try_attempt(
    gateway: &Arc<Gateway>,
    inbound: &Inbound<'_>,
    entry: &ProviderEntry,
    attempt: &Attempt,
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
    let fixups = fixup_chain(&registry, &provider.info.default_fixups, entry)?;
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
    let call::AttemptCall {
        call,
        placement,
        base_url,
    } = call::resolve(inbound, entry, &provider, attempt)?;

    // Encode: native passthrough when the upstream speaks the client's dialect and no
    // fixup wants to edit this IR request; otherwise IR -> fixups -> provider encoder.
    let passthrough = provider.info.native_dialects.contains(&dialect.dialect())
        && dialect.passthrough_allowed(route)
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
    };
    let mut sandbox = gateway
        .runtime
        .sandbox(&provider, &fixups, context)
        .await
        .map_err(guest)?;
    let request = if passthrough {
        sandbox.encode_native(raw_body).await
    } else {
        match sandbox.on_request(decoded.request.clone()).await {
            Ok(request) => sandbox.encode(&request).await,
            Err(error) => Err(error),
        }
    }
    .map_err(guest)?;
    let request = sandbox.on_upstream_request(request).await.map_err(guest)?;

    // Egress check and credential: after every guest hook, so no guest sees the key.
    let policy = EgressPolicy::new(&base_url, &provider.info.hosts, &entry.allow_hosts)
        .with_overridden_endpoints(entry.endpoint_overrides().map(|(_, url)| url));
    let outgoing =
        crate::upstream::prepare(request, placement, attempt.account.secret.as_ref(), &policy)
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
    );
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
