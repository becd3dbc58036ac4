//! The management API under `/v0/management/` (and `/metrics` on the main port): JSON
//! in and out, for the person who runs Plugboard: what is loaded, which accounts are
//! cooling or expired, logging accounts in from a browser, uploading adapters.
//!
//! Access ([`access`]): off (404 for every path under the prefix) unless a management
//! key is configured; loopback peers only unless `management.allow-remote` (403);
//! the key as `Authorization: Bearer` or `X-Management-Key`, compared in constant
//! time (401); failed attempts lock an address out (429 with `Retry-After`). Every
//! mutating call is logged (`management:` lines) with the peer and what changed, never
//! a secret.
//!
//! Each handler reuses what the commands do (`accounts::cli`, `accounts::sessions`,
//! the runtime's directory rescan); this module only translates HTTP.

pub mod access;
mod accounts;
mod adapters;
mod client_keys;
mod reload;
mod status;
mod usage;

pub use status::{set_config_path, version_line};

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use crate::accounts::sessions::Sessions;
use crate::config::Config;
use crate::config::management::KEY_ENV;
use crate::credentials::Secret;
use crate::pipeline::{Gateway, LiveGateway};
use crate::reload::Reloader;

/// Where the API is mounted.
pub const PREFIX: &str = "/v0/management";

/// The management API's state: the gateway, when it started, lockouts, login sessions.
pub struct Management {
    live: LiveGateway,
    /// `PLUGBOARD_MANAGEMENT_KEY` as it was at start.
    env_key: Option<Secret>,
    started: Instant,
    started_at: SystemTime,
    lockouts: access::Lockouts,
    sessions: Sessions,
}

impl Management {
    /// The API over `gateway`, reading `PLUGBOARD_MANAGEMENT_KEY` now.
    pub fn new(live: LiveGateway) -> Arc<Self> {
        Arc::new(Self {
            live,
            env_key: std::env::var(KEY_ENV).ok().map(Secret::new),
            started: Instant::now(),
            started_at: SystemTime::now(),
            lockouts: access::Lockouts::new(),
            sessions: Sessions::new(),
        })
    }

    /// The gateway generation in force now.
    fn gateway(&self) -> Arc<Gateway> {
        self.live.current()
    }

    /// The config in force.
    fn config(&self) -> Arc<Config> {
        self.gateway().config.clone()
    }
}

/// The peer a management call came from (put in the request by [`require_access`]).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub IpAddr);

/// The routes under [`PREFIX`] and `/metrics`, behind [`require_access`], for merging
/// into the application's router.
pub fn router<S: Clone + Send + Sync + 'static>(live: LiveGateway) -> axum::Router<S> {
    let state = Management::new(live);
    let api = axum::Router::new()
        .route("/status", get(status::status))
        .route("/config", get(status::config).put(reload::put))
        .route("/config/reload", post(reload::reload))
        .route("/accounts", get(accounts::list))
        .route("/accounts/login", post(accounts::login_start))
        .route(
            "/accounts/login/{session}",
            get(accounts::login_poll).post(accounts::login_paste),
        )
        .route("/accounts/{id}", axum::routing::delete(accounts::remove))
        .route("/accounts/{id}/{action}", post(accounts::act))
        .route("/adapters", get(adapters::list))
        .route(
            "/adapters/{file}",
            put(adapters::upload).delete(adapters::remove),
        )
        .route(
            "/client-keys",
            get(client_keys::list).post(client_keys::create),
        )
        .route(
            "/client-keys/{name}",
            axum::routing::patch(client_keys::update).delete(client_keys::remove),
        )
        .route("/usage", get(usage::usage))
        .route("/usage/export", get(usage::export))
        .fallback(unknown)
        .method_not_allowed_fallback(method_not_allowed);
    axum::Router::new()
        .nest(PREFIX, api)
        .route("/metrics", get(usage::metrics))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_access,
        ))
        .with_state(state)
}

/// Middleware: the access rules of the module doc, in order: no key configured (404),
/// a non-loopback peer without `allow-remote` (403), a locked-out address (429), no
/// key or a wrong one (401, counted).
async fn require_access(
    State(management): State<Arc<Management>>,
    mut request: Request,
    next: Next,
) -> Response {
    let config = management.config();
    let settings = &config.management;
    let env_key = management.env_key.as_ref().map(Secret::expose);
    let Some(key) = settings.resolve_key(env_key) else {
        // Off: indistinguishable from any unknown route.
        let path = request.uri().path().to_owned();
        return error(
            StatusCode::NOT_FOUND,
            "unknown_route",
            format!("Unknown route `{path}`"),
        );
    };
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let path = request.uri().path().to_owned();
    let Some(ip) = peer else {
        return error(
            StatusCode::FORBIDDEN,
            "remote_not_allowed",
            "The peer address is unknown".to_owned(),
        );
    };
    if !settings.allow_remote && !access::is_local(ip) {
        tracing::info!(peer = %ip, path, status = 403, "management: refused a remote peer");
        return error(
            StatusCode::FORBIDDEN,
            "remote_not_allowed",
            "The management API answers loopback peers only (set `management.allow-remote: true` to allow others)".to_owned(),
        );
    }
    let now = Instant::now();
    if let Some(left) = management.lockouts.locked(ip, now) {
        return locked_out(left);
    }
    let accepted = access::presented_key(request.headers())
        .map(|presented| key.matches(&presented))
        .unwrap_or(false);
    if !accepted {
        let started = management.lockouts.fail(ip, now, settings);
        tracing::info!(peer = %ip, path, status = 401, "management: refused a missing or wrong key");
        if let Some(lockout) = started {
            tracing::warn!(peer = %ip, lockout_s = lockout.as_secs(), "management: too many failed attempts; address locked out");
        }
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_management_key",
            "Missing or wrong management key: send it as `Authorization: Bearer KEY` or `X-Management-Key: KEY`".to_owned(),
        );
    }
    management.lockouts.succeed(ip);
    request.extensions_mut().insert(Peer(ip));
    next.run(request).await
}

/// 429 with `Retry-After` in whole seconds (rounded up).
fn locked_out(left: std::time::Duration) -> Response {
    let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        "locked_out",
        format!("Too many failed attempts from this address; try again in {seconds} s"),
    );
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The config reloader `plugboard serve` runs (`PUT config`, `POST config/reload` and
/// the generation in `status`); set once at start.
static RELOADER: std::sync::OnceLock<Arc<Reloader>> = std::sync::OnceLock::new();

/// Hand the API the server's config reloader.
pub fn set_reloader(reloader: Arc<Reloader>) {
    let _ = RELOADER.set(reloader);
}

/// The server's config reloader, when one was set.
fn reloader() -> Option<&'static Arc<Reloader>> {
    RELOADER.get()
}

/// A JSON error: `{"error": {"code", "message"}}`.
pub(crate) fn error(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// 200 with `body`.
fn ok(body: Value) -> Response {
    axum::Json(body).into_response()
}

async fn unknown(uri: axum::http::Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "unknown_route",
        format!("Unknown route `{}`", uri.path()),
    )
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("`{method}` is not allowed on `{}`", uri.path()),
    )
}

/// `t` as RFC 3339 UTC, to the second.
fn rfc3339(t: SystemTime) -> String {
    crate::accounts::file::format_rfc3339(t, false)
}
