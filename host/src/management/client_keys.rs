//! `client-keys`: named client keys and their limits (`governance::Governance` does the
//! work; this translates HTTP). A key is in an answer only once, when it is created.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Management, Peer, error, ok};
use crate::governance::{KeyError, LimitsPatch, NewKey};

/// `GET client-keys`: name, fingerprint, origin, limits and counters of every key.
pub(super) async fn list(State(management): State<Arc<Management>>) -> Response {
    ok(json!({"client-keys": management.gateway().governance.list()}))
}

/// `POST client-keys` `{"name", "limits"}`: the key is in this answer and nowhere else.
pub(super) async fn create(
    State(management): State<Arc<Management>>,
    Extension(peer): Extension<Peer>,
    body: Result<Json<NewKey>, JsonRejection>,
) -> Response {
    let Json(new) = match body {
        Ok(body) => body,
        Err(rejection) => return bad_body(rejection),
    };
    match management
        .gateway()
        .governance
        .create(&new.name, new.limits)
    {
        Ok(created) => {
            tracing::info!(peer = %peer.0, name = %created.view.name,
                fingerprint = %created.view.fingerprint, "management: client key created");
            let mut body = json!({"client-key": created.view});
            body["key"] = json!(created.key.expose());
            (StatusCode::CREATED, Json(body)).into_response()
        }
        Err(e) => key_error(e),
    }
}

/// `PATCH client-keys/{name}`: a field left out keeps its limit, `null` removes it.
pub(super) async fn update(
    State(management): State<Arc<Management>>,
    Extension(peer): Extension<Peer>,
    Path(name): Path<String>,
    body: Result<Json<LimitsPatch>, JsonRejection>,
) -> Response {
    let Json(patch) = match body {
        Ok(body) => body,
        Err(rejection) => return bad_body(rejection),
    };
    match management.gateway().governance.update(&name, &patch) {
        Ok(view) => {
            tracing::info!(peer = %peer.0, name, limits = %json!(view.limits), "management: client key limits changed");
            ok(json!({"client-key": view}))
        }
        Err(e) => key_error(e),
    }
}

/// `DELETE client-keys/{name}`: the key stops working at once.
pub(super) async fn remove(
    State(management): State<Arc<Management>>,
    Extension(peer): Extension<Peer>,
    Path(name): Path<String>,
) -> Response {
    match management.gateway().governance.delete(&name) {
        Ok(()) => {
            tracing::info!(peer = %peer.0, name, "management: client key deleted");
            ok(json!({"deleted": name}))
        }
        Err(e) => key_error(e),
    }
}

/// A refused change, with the status `KeyError` names.
fn key_error(e: KeyError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = match status.as_u16() {
        400 => "invalid",
        404 => "not_found",
        409 => "conflict",
        _ => "write_failed",
    };
    error(status, code, e.to_string())
}

/// A body that is not the JSON asked for.
fn bad_body(rejection: JsonRejection) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_body",
        rejection.body_text(),
    )
}
