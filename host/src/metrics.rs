//! Prometheus metrics: what the proxy did, counted as it happens, in the text
//! exposition format of the maintained `prometheus-client` crate (OpenMetrics text,
//! which Prometheus scrapes natively).
//!
//! Counters and histograms are process-wide ([`global`]), so they survive config
//! reloads and need no handle threaded through the request path: a finished request
//! is counted once from its usage [`Row`](crate::usage::Row) ([`observe`]), the
//! credential refresh and the guest-failure paths call one function each. Gauges
//! that describe the present (accounts by state, components loaded and refused) are
//! computed at scrape time from the gateway ([`render`]).
//!
//! Label values are bounded: the client's model is a label only once a provider
//! entry took the request (an unknown model name is counted under `model=""`), so a
//! client cannot grow the series without limit.
//!
//! Served by the management API at `/metrics` (behind its key) and, without a key,
//! on `metrics.listen` when configured ([`serve`]). `metrics.enabled: false` counts
//! nothing.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Instant;

use anyhow::Context;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::pipeline::{Gateway, LiveGateway};
use crate::runtime::{ComponentKind, TrapReason};
use crate::usage::Row;

/// The `Content-Type` of [`render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of a finished request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    status: String,
    dialect: String,
    provider: String,
    model: String,
}

/// Labels of a latency.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    dialect: String,
    provider: String,
    stream: String,
}

/// Labels of a token count.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    kind: String,
    provider: String,
    model: String,
}

/// Labels of an account count.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AccountLabels {
    provider: String,
    state: String,
}

/// Labels naming a credential kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

/// Labels of a guest trap.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TrapLabels {
    component: String,
    reason: String,
}

/// Labels naming a component.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ComponentLabels {
    component: String,
}

/// Every metric, and the registry that renders them.
pub struct Metrics {
    enabled: AtomicBool,
    registry: Registry,
    /// Scrapes reset and refill the gauges; one at a time.
    scrape: Mutex<()>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<LatencyLabels, Histogram>,
    ttft: Family<LatencyLabels, Histogram>,
    tokens: Family<TokenLabels, Counter>,
    accounts: Family<AccountLabels, Gauge>,
    refreshes: Family<KindLabels, Counter>,
    refresh_failures: Family<KindLabels, Counter>,
    components: Family<KindLabels, Gauge>,
    components_refused: Gauge,
    traps: Family<TrapLabels, Counter>,
    deadline_hits: Family<ComponentLabels, Counter>,
    usage_dropped: Counter,
}

/// Latency buckets, seconds: 5 ms to ~5.5 min.
fn latency_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 330.0,
    ])
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("plugboard");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Finished client requests (authenticated), by HTTP status, client dialect, provider entry and model",
            requests.clone(),
        );
        let latency = Family::<LatencyLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register_with_unit(
            "request_duration",
            "From a request's arrival to its last byte (a stream's end)",
            Unit::Seconds,
            latency.clone(),
        );
        let ttft = Family::<LatencyLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register_with_unit(
            "time_to_first_token",
            "From a streamed request's arrival to the first bytes of its answer",
            Unit::Seconds,
            ttft.clone(),
        );
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register(
            "tokens",
            "Tokens as the upstreams reported them, by kind (input, output, cache_read, cache_write, reasoning)",
            tokens.clone(),
        );
        let accounts = Family::<AccountLabels, Gauge>::default();
        registry.register(
            "accounts",
            "Accounts by provider entry and state (ok, cooling, disabled), at scrape time",
            accounts.clone(),
        );
        let refreshes = Family::<KindLabels, Counter>::default();
        registry.register(
            "account_refreshes",
            "Token refreshes attempted, by credential kind",
            refreshes.clone(),
        );
        let refresh_failures = Family::<KindLabels, Counter>::default();
        registry.register(
            "account_refresh_failures",
            "Token refreshes that failed, by credential kind",
            refresh_failures.clone(),
        );
        let components = Family::<KindLabels, Gauge>::default();
        registry.register(
            "components_loaded",
            "Components loaded now, by kind (provider, fixup)",
            components.clone(),
        );
        let components_refused = Gauge::default();
        registry.register(
            "components_refused",
            "Component files refused since start (latest per path)",
            components_refused.clone(),
        );
        let traps = Family::<TrapLabels, Counter>::default();
        registry.register(
            "guest_traps",
            "Guest calls that trapped, by component and reason (timeout, out_of_memory, panic, other)",
            traps.clone(),
        );
        let deadline_hits = Family::<ComponentLabels, Counter>::default();
        registry.register(
            "guest_deadline_hits",
            "Guest calls stopped at their deadline (limits.guest-call-timeout-ms), by component",
            deadline_hits.clone(),
        );
        let usage_dropped = Counter::default();
        registry.register(
            "usage_rows_dropped",
            "Usage rows dropped because the store's writer fell behind",
            usage_dropped.clone(),
        );
        Self {
            enabled: AtomicBool::new(true),
            registry,
            scrape: Mutex::new(()),
            requests,
            latency,
            ttft,
            tokens,
            accounts,
            refreshes,
            refresh_failures,
            components,
            components_refused,
            traps,
            deadline_hits,
            usage_dropped,
        }
    }

    fn on(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn global() -> &'static Metrics {
    &METRICS
}

/// Count (`true`, the default) or not (`metrics.enabled: false`).
pub fn set_enabled(enabled: bool) {
    global().enabled.store(enabled, Ordering::Relaxed);
}

/// Count one finished request: its status, latencies and tokens.
pub fn observe(row: &Row) {
    let metrics = global();
    if !metrics.on() {
        return;
    }
    let model = if row.provider.is_empty() {
        String::new()
    } else {
        row.model.clone()
    };
    metrics
        .requests
        .get_or_create(&RequestLabels {
            status: row.status.to_string(),
            dialect: row.dialect.clone(),
            provider: row.provider.clone(),
            model: model.clone(),
        })
        .inc();
    let latency = LatencyLabels {
        dialect: row.dialect.clone(),
        provider: row.provider.clone(),
        stream: row.stream.to_string(),
    };
    metrics
        .latency
        .get_or_create(&latency)
        .observe(row.latency_ms as f64 / 1000.0);
    if let Some(ttft) = row.ttft_ms {
        metrics
            .ttft
            .get_or_create(&latency)
            .observe(ttft as f64 / 1000.0);
    }
    let kinds = [
        ("input", row.input_tokens),
        ("output", row.output_tokens),
        ("cache_read", row.cache_read_tokens),
        ("cache_write", row.cache_write_tokens),
        ("reasoning", row.reasoning_tokens),
    ];
    for (kind, count) in kinds {
        if let Some(count) = count.filter(|c| *c > 0) {
            metrics
                .tokens
                .get_or_create(&TokenLabels {
                    kind: kind.to_owned(),
                    provider: row.provider.clone(),
                    model: model.clone(),
                })
                .inc_by(count);
        }
    }
}

/// Count one token refresh of an account holding credential `kind`, and whether it
/// failed.
pub fn refresh(kind: &str, succeeded: bool) {
    let metrics = global();
    if !metrics.on() {
        return;
    }
    let labels = KindLabels {
        kind: kind.to_owned(),
    };
    metrics.refreshes.get_or_create(&labels).inc();
    if !succeeded {
        metrics.refresh_failures.get_or_create(&labels).inc();
    }
}

/// Count a guest call of `component` (`id@version`) that trapped; a timeout is also a
/// deadline hit.
pub fn guest_trap(component: &str, reason: &TrapReason) {
    let metrics = global();
    if !metrics.on() {
        return;
    }
    let reason = match reason {
        TrapReason::Timeout => "timeout",
        TrapReason::OutOfMemory => "out_of_memory",
        TrapReason::Panic(_) => "panic",
        TrapReason::Other(_) => "other",
    };
    metrics
        .traps
        .get_or_create(&TrapLabels {
            component: component.to_owned(),
            reason: reason.to_owned(),
        })
        .inc();
    if reason == "timeout" {
        metrics
            .deadline_hits
            .get_or_create(&ComponentLabels {
                component: component.to_owned(),
            })
            .inc();
    }
}

/// Count a usage row dropped because the writer fell behind.
pub fn usage_row_dropped() {
    global().usage_dropped.inc();
}

/// The text exposition of every metric, with the gauges computed now from `gateway`
/// (accounts by state, components loaded and refused). For `GET /metrics`; serve it
/// with [`CONTENT_TYPE`].
pub fn render(gateway: &Gateway) -> String {
    let metrics = global();
    let _one_scrape = metrics.scrape.lock().unwrap_or_else(|p| p.into_inner());
    fill_gauges(metrics, gateway);
    let mut text = String::new();
    if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &metrics.registry) {
        tracing::warn!(%error, "cannot render the metrics");
    }
    text
}

/// Accounts by state and components, as they are now.
fn fill_gauges(metrics: &Metrics, gateway: &Gateway) {
    let registry = gateway.runtime.registry();
    metrics.accounts.clear();
    let now = Instant::now();
    let book = gateway.router.book();
    let pools = gateway.router.pools(&registry);
    for (entry, pool) in gateway.config.providers.iter().zip(pools.iter()) {
        for account in pool.accounts() {
            let state = if book.current(&account.id, now).is_some() {
                "cooling"
            } else {
                "ok"
            };
            metrics
                .accounts
                .get_or_create(&AccountLabels {
                    provider: entry.name.clone(),
                    state: state.to_owned(),
                })
                .inc();
        }
    }
    // Stored accounts out of service are in no pool: counted without a provider.
    if let Some(accounts) = &gateway.accounts {
        let disabled = accounts
            .store()
            .snapshot()
            .accounts
            .values()
            .filter(|file| file.disabled.is_some())
            .count();
        if disabled > 0 {
            metrics
                .accounts
                .get_or_create(&AccountLabels {
                    provider: String::new(),
                    state: "disabled".to_owned(),
                })
                .set(disabled as i64);
        }
    }
    metrics.components.clear();
    for kind in ["provider", "fixup"] {
        let _ = metrics.components.get_or_create(&KindLabels {
            kind: kind.to_owned(),
        });
    }
    for component in gateway.runtime.list() {
        let kind = match component.kind {
            ComponentKind::Provider => "provider",
            ComponentKind::Fixup => "fixup",
        };
        metrics
            .components
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
            })
            .inc();
    }
    metrics
        .components_refused
        .set(gateway.runtime.failures().len() as i64);
}

/// Serve `GET /metrics` without a key on `listen` (`metrics.listen`), until the
/// returned task is aborted or the process ends. Binds before returning, so a busy
/// address is an error at start.
pub async fn serve(
    listen: SocketAddr,
    live: LiveGateway,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    use axum::http::header;
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on `metrics.listen: {listen}`"))?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let gateway = live.current();
            async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], render(&gateway)) }
        }),
    );
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::warn!(%error, "the metrics listener stopped");
        }
    });
    Ok((bound, task))
}

/// Apply `metrics:` at start: counting on or off, and the keyless listener on
/// `metrics.listen` when set (its task is returned; it runs until the process ends).
pub async fn start(
    config: &crate::config::Config,
    live: LiveGateway,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    set_enabled(config.metrics.enabled);
    let Some(listen) = config.metrics.listen_addr()? else {
        return Ok(None);
    };
    let (bound, task) = serve(listen, live).await?;
    tracing::info!(%bound, "metrics at http://{bound}/metrics (no key)");
    Ok(Some(task))
}
