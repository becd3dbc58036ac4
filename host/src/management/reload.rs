//! `PUT config` and `POST config/reload`: thin over `reload::Reloader`, which validates,
//! writes the file atomically and swaps the generation (or refuses and changes nothing).

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;

use super::{Management, Peer, error, ok, reloader};
use crate::reload::{Outcome, Trigger};

/// `PUT config`: the YAML document as the body (`Content-Type: application/yaml`).
pub(super) async fn put(
    State(_management): State<Arc<Management>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(reloader) = reloader() else {
        return no_reloader();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let yaml = [
        "application/yaml",
        "application/x-yaml",
        "text/yaml",
        "text/x-yaml",
    ];
    if !yaml.iter().any(|kind| content_type.starts_with(kind)) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not_yaml",
            "send the config as YAML (`Content-Type: application/yaml`)".to_owned(),
        );
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "not_utf8",
            "the config is not UTF-8 text".to_owned(),
        );
    };
    let reloader = reloader.clone();
    let text = text.to_owned();
    let outcome = match tokio::task::spawn_blocking(move || reloader.apply_text(&text)).await {
        Ok(outcome) => outcome,
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "reload_failed",
                e.to_string(),
            );
        }
    };
    tracing::info!(peer = %peer.0, generation = outcome.generation(),
        applied = !matches!(outcome, Outcome::Refused(_)), "management: config put");
    answer(outcome)
}

/// `POST config/reload`: read the config file again now.
pub(super) async fn reload(
    State(_management): State<Arc<Management>>,
    Extension(peer): Extension<Peer>,
) -> Response {
    let Some(reloader) = reloader() else {
        return no_reloader();
    };
    let reloader = reloader.clone();
    let outcome = match tokio::task::spawn_blocking(move || reloader.reload(Trigger::Api)).await {
        Ok(outcome) => outcome,
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "reload_failed",
                e.to_string(),
            );
        }
    };
    tracing::info!(peer = %peer.0, generation = outcome.generation(),
        applied = !matches!(outcome, Outcome::Refused(_)), "management: config reload");
    answer(outcome)
}

/// 200 with the outcome, or 400 naming what is wrong (the config in force stays):
/// `error.message` says it all, `error.errors` lists each wrong key with its line.
fn answer(outcome: Outcome) -> Response {
    match outcome {
        Outcome::Refused(refusal) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {
                "code": "config_refused",
                "message": refusal.reason,
                "errors": refusal.errors,
            }})),
        )
            .into_response(),
        applied => ok(json!({"outcome": applied, "generation": applied.generation()})),
    }
}

/// The server was started without a reloader (only in embedding tests).
fn no_reloader() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "no_reloader",
        "this server does not reload its config".to_owned(),
    )
}
