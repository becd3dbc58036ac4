//! `accounts`: list, enable, disable, refresh, delete, and browser logins.
//!
//! The rows are `plugboard accounts list`'s ([`cli::rows`]) with the running server's
//! cooldowns and reads; a refresh is the server's own (single flight with the
//! requests), then a read of the account; a login is a [`crate::accounts::sessions`]
//! session running `plugboard login`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Management, Peer, error, ok, rfc3339};
use crate::accounts::cli::{self, CliContext, LoginArgs, Row};
use crate::accounts::oauth::LoginPrompt;
use crate::accounts::sessions::{PasteError, SessionState, SessionView};
use crate::accounts::state::QuotaRecord;
use crate::accounts::store::Store;
use crate::accounts::{KindEnv, Why};

/// Why an account was disabled through the API.
const DISABLED_HERE: &str = "disabled through the management API";

impl Management {
    /// The credential store: the server's own when an entry uses it, else the one the
    /// config names (opened as `plugboard accounts` would).
    fn store(&self) -> anyhow::Result<Arc<Store>> {
        match &self.gateway().accounts {
            Some(accounts) => Ok(accounts.store().clone()),
            None => {
                let dir = self.config().auth_dir();
                Store::open(&dir).map_err(|error| {
                    anyhow::anyhow!(
                        "cannot open the credential store {}: {error:#}",
                        dir.display()
                    )
                })
            }
        }
    }

    /// After the store changed: the redactor learns the new tokens.
    fn store_changed(&self) {
        if let Some(accounts) = &self.gateway().accounts {
            accounts.update_redactor();
        }
    }
}

/// Every account's row, with the running server's cooldowns and quota reads.
pub(super) fn rows(management: &Management) -> Vec<Row> {
    let gateway = &management.gateway();
    let Some(store) = gateway
        .accounts
        .as_ref()
        .map(|a| a.store().clone())
        .or_else(|| {
            let dir = management.config().auth_dir();
            dir.is_dir().then(|| Store::open(&dir).ok()).flatten()
        })
    else {
        return Vec::new();
    };
    let snapshot = store.snapshot();
    let now = Instant::now();
    let wall = SystemTime::now();
    let cooling: BTreeMap<String, (SystemTime, String)> = gateway
        .router
        .book()
        .all(now)
        .into_iter()
        .map(|(id, cooldown)| {
            (
                id,
                (
                    wall + cooldown.until.saturating_duration_since(now),
                    cooldown.reason.describe().to_owned(),
                ),
            )
        })
        .collect();
    let quota: BTreeMap<String, QuotaRecord> = gateway
        .router
        .reads()
        .all()
        .iter()
        .filter_map(|(id, facts)| QuotaRecord::of(facts).map(|record| (id.clone(), record)))
        .collect();
    let config = management.config();
    cli::rows(
        &config,
        &gateway.runtime.registry(),
        &snapshot,
        &cooling,
        &quota,
    )
}

/// `GET accounts`: every stored account (id, type, kind, label, the entries that use
/// it, state, expiry, cooldown, last error, quota, token fingerprint), and the files
/// refused.
pub(super) async fn list(State(management): State<Arc<Management>>) -> Response {
    let rows = rows(&management);
    let accounts: Vec<Value> = rows
        .iter()
        .map(|row| {
            let mut value = serde_json::to_value(row).unwrap_or(Value::Null);
            let facts = crate::accounts::reads::facts(&management.gateway(), &row.id);
            let backoff = management
                .gateway()
                .accounts
                .as_ref()
                .and_then(|accounts| accounts.backoff(&row.id));
            let last_error = backoff
                .map(|(_, reason)| format!("refresh: {reason}"))
                .or_else(|| facts.as_ref().and_then(|f| f.errors().into_iter().next()))
                .or_else(|| {
                    (row.state == "disabled" || row.state == "expired")
                        .then(|| row.reason.clone())
                        .flatten()
                });
            if let Value::Object(map) = &mut value {
                map.insert("last_error".into(), json!(last_error));
                map.insert(
                    "reads".into(),
                    facts.map_or(Value::Null, |facts| facts.to_json()),
                );
            }
            value
        })
        .collect();
    let refused: Vec<Value> = match management.store() {
        Ok(store) => store
            .snapshot()
            .refused
            .iter()
            .map(|r| json!({"path": r.path.display().to_string(), "reason": r.reason}))
            .collect(),
        Err(_) => Vec::new(),
    };
    ok(json!({"accounts": accounts, "refused": refused}))
}

/// `POST accounts/{id}/enable|disable|refresh`.
pub(super) async fn act(
    State(management): State<Arc<Management>>,
    Extension(peer): Extension<Peer>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let store = match management.store() {
        Ok(store) => store,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "store", format!("{e:#}")),
    };
    let Some(file) = store.get(&id) else {
        return no_account(&id);
    };
    match action.as_str() {
        "enable" | "disable" => {
            let enable = action == "enable";
            let mut updated = (*file).clone();
            updated.set_disabled(if enable { None } else { Some(DISABLED_HERE) });
            if let Err(e) = store.save(&updated) {
                return error(StatusCode::INTERNAL_SERVER_ERROR, "store", format!("{e:#}"));
            }
            management.store_changed();
            tracing::info!(peer = %peer.0, account = %id, change = %action, was_disabled = file.disabled.is_some(), "management: account {action}d");
            ok(json!({"id": id, "disabled": !enable}))
        }
        "refresh" => refresh(&management, peer, &id, file).await,
        _ => error(
            StatusCode::NOT_FOUND,
            "unknown_route",
            format!("Unknown account action `{action}` (enable, disable, refresh)"),
        ),
    }
}

/// Refresh `id` now through the server's live accounts, then run its reads.
async fn refresh(
    management: &Management,
    peer: Peer,
    id: &str,
    file: Arc<crate::accounts::file::AccountFile>,
) -> Response {
    let gateway = &management.gateway();
    let Some(accounts) = gateway.accounts.clone() else {
        return error(
            StatusCode::CONFLICT,
            "store_not_served",
            "no provider entry uses the credential store; `plugboard accounts refresh` refreshes it from the terminal".to_owned(),
        );
    };
    let config = management.config();
    let registry = gateway.runtime.registry();
    let target = match cli::refresh_target(&config, &registry, &file) {
        Ok(target) => target,
        Err(e) => return error(StatusCode::CONFLICT, "not_refreshable", format!("{e:#}")),
    };
    let env = KindEnv {
        kind: target.kind,
        endpoints: &target.endpoints,
    };
    let has_reads = !target.kind.declared.reads.is_empty();
    let mut refreshed = false;
    if !has_reads || accounts.can_refresh(&file, &env) {
        match accounts.refresh(id, &env, Why::Asked).await {
            Ok(_) => refreshed = true,
            Err(e) => {
                tracing::info!(peer = %peer.0, account = %id, "management: refresh failed");
                return error(StatusCode::BAD_GATEWAY, "refresh_failed", e.to_string());
            }
        }
    }
    tracing::info!(peer = %peer.0, account = %id, refreshed, "management: account refreshed");
    let facts = if has_reads {
        match crate::accounts::reads::read_now(gateway, id).await {
            Ok(facts) => facts.to_json(),
            Err(e) => json!({"error": format!("{e:#}")}),
        }
    } else {
        Value::Null
    };
    let current = accounts.store().get(id);
    ok(json!({
        "id": id,
        "refreshed": refreshed,
        "expires_at": current.and_then(|f| f.tokens.expires_at).map(rfc3339),
        "reads": facts,
    }))
}

/// `DELETE accounts/{id}`: the account's file is deleted.
pub(super) async fn remove(
    State(management): State<Arc<Management>>,
    Extension(peer): Extension<Peer>,
    Path(id): Path<String>,
) -> Response {
    let store = match management.store() {
        Ok(store) => store,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "store", format!("{e:#}")),
    };
    match store.remove(&id) {
        Ok(true) => {
            management.store_changed();
            tracing::info!(peer = %peer.0, account = %id, "management: account deleted");
            ok(json!({"id": id, "deleted": true}))
        }
        Ok(false) => no_account(&id),
        Err(e) => error(StatusCode::BAD_REQUEST, "invalid_account", format!("{e:#}")),
    }
}

fn no_account(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "unknown_account",
        format!("No account `{id}` in the credential store"),
    )
}

/// The body of `POST accounts/login`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    /// A provider entry of the config.
    #[serde(default)]
    entry: Option<String>,
    /// An adapter id (with `kind`), instead of an entry.
    #[serde(default)]
    adapter: Option<String>,
    /// The credential kind or account type.
    #[serde(default)]
    kind: Option<String>,
    /// Login inputs by name.
    #[serde(default)]
    inputs: BTreeMap<String, String>,
}

/// `POST accounts/login`: start `plugboard login` for a browser; 201 with the session
/// id and the authorization URL or the device code.
pub(super) async fn login_start(
    State(management): State<Arc<Management>>,
    Extension(peer): Extension<Peer>,
    body: Bytes,
) -> Response {
    let request: LoginRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("the body must be JSON `{{entry | adapter, kind, inputs}}`: {e}"),
            );
        }
    };
    let gateway = &management.gateway();
    let registry = gateway.runtime.registry();
    if let Some(adapter) = &request.adapter {
        if request.entry.is_some() {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "give `entry` or `adapter`, not both".to_owned(),
            );
        }
        let Some(kind) = &request.kind else {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "`adapter` needs `kind` (the credential kind to log in with)".to_owned(),
            );
        };
        let wanted = crate::accounts::file::kind_for_type(kind).unwrap_or(kind);
        let declares = registry
            .provider(adapter)
            .is_some_and(|p| p.info.credential_kind(wanted).is_some());
        if !declares {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!(
                    "adapter `{adapter}` is not loaded or declares no credential kind `{kind}`"
                ),
            );
        }
    }
    let store = match management.store() {
        Ok(store) => store,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "store", format!("{e:#}")),
    };
    let ctx = Arc::new(CliContext {
        config: (*management.config()).clone(),
        runtime: gateway.runtime.clone(),
        registry,
        upstream: gateway.upstream.clone(),
        http: gateway.upstream.http().clone(),
    });
    let args = LoginArgs {
        entry: request.entry.clone(),
        kind: request.kind.clone(),
        no_browser: true,
        inputs: request.inputs.into_iter().collect(),
    };
    let accounts = gateway.accounts.clone();
    let on_done = move |_: &cli::LoggedIn| {
        if let Some(accounts) = accounts {
            accounts.update_redactor();
        }
    };
    match management.sessions.start(ctx, store, args, on_done).await {
        Ok(view) => {
            tracing::info!(peer = %peer.0, session = %view.id, entry = request.entry.as_deref().unwrap_or("-"), kind = request.kind.as_deref().unwrap_or("-"), "management: login started");
            (StatusCode::CREATED, axum::Json(session_json(&view))).into_response()
        }
        Err(e) => error(StatusCode::BAD_REQUEST, "login_failed", format!("{e:#}")),
    }
}

/// A session as JSON: `session`, `state` (`pending`, `done`, `failed`), `account` when
/// done, `reason` when failed, and what to open.
fn session_json(view: &SessionView) -> Value {
    let mut value = json!({"session": view.id, "expires_in": view.expires_in});
    match &view.prompt {
        LoginPrompt::Open { url } => {
            value["flow"] = json!("authorization-code");
            value["authorization_url"] = json!(url);
        }
        LoginPrompt::DeviceCode {
            verification_uri,
            user_code,
            verification_uri_complete,
            expires_in,
        } => {
            value["flow"] = json!("device-code");
            value["device"] = json!({
                "user_code": user_code,
                "verification_uri": verification_uri,
                "verification_uri_complete": verification_uri_complete,
                "expires_in": expires_in,
            });
        }
    }
    match &view.state {
        SessionState::Pending => value["state"] = json!("pending"),
        SessionState::Done { account, verb } => {
            value["state"] = json!("done");
            value["account"] = json!(account);
            value["verb"] = json!(verb);
        }
        SessionState::Failed { reason } => {
            value["state"] = json!("failed");
            value["reason"] = json!(reason);
        }
    }
    value
}

/// `GET accounts/login/{session}`: where the login is.
pub(super) async fn login_poll(
    State(management): State<Arc<Management>>,
    Path(session): Path<String>,
) -> Response {
    match management.sessions.get(&session) {
        Some(view) => ok(session_json(&view)),
        None => no_session(&session),
    }
}

fn no_session(session: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "unknown_session",
        format!("No login session `{session}` (it may have expired)"),
    )
}

/// `POST accounts/login/{session}`: a pasted redirect URL (`{"redirect_url": ...}`, or
/// the URL as a text body) completes an authorization-code login. 202 once the login
/// took it (poll for the result); 400 when it is not this login's redirect (the login
/// keeps waiting).
pub(super) async fn login_paste(
    State(management): State<Arc<Management>>,
    Extension(peer): Extension<Peer>,
    Path(session): Path<String>,
    body: Bytes,
) -> Response {
    let line = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => match map.get("redirect_url").and_then(Value::as_str) {
            Some(url) => url.to_owned(),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "the body must be `{\"redirect_url\": \"...\"}`".to_owned(),
                );
            }
        },
        _ => String::from_utf8_lossy(&body).trim().to_owned(),
    };
    match management.sessions.paste(&session, line).await {
        Ok(()) => {
            tracing::info!(peer = %peer.0, %session, "management: login redirect pasted");
            let view = management.sessions.get(&session);
            let body = view
                .as_ref()
                .map_or(json!({"session": session}), session_json);
            (StatusCode::ACCEPTED, axum::Json(body)).into_response()
        }
        Err(PasteError::Unknown(_)) => no_session(&session),
        Err(e @ PasteError::NotWaiting(_)) => {
            error(StatusCode::CONFLICT, "not_waiting", e.to_string())
        }
        Err(PasteError::Refused(e)) => error(
            StatusCode::BAD_REQUEST,
            "redirect_refused",
            format!("{e}; the login keeps waiting"),
        ),
    }
}
