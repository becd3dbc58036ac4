//! The HTTP front door: routes, client authentication, body limits, and errors in the
//! client's shape for everything that goes wrong before the pipeline runs.

pub mod auth;

use std::future::Future;
use std::sync::Arc;

use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::json;
use tokio::net::TcpListener;

use crate::pipeline::{ClientDialect, Gateway, serve_chat};
use crate::runtime::ComponentKind;
use crate::surfaces::{ClientError, ErrorKind};

/// The application's routes over `gateway`.
pub fn app(gateway: Arc<Gateway>) -> axum::Router {
    let body_limit = gateway.config.limits.max_body_bytes;
    let authenticated = axum::Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(models))
        .route_layer(axum::middleware::from_fn_with_state(
            gateway.clone(),
            auth::require_client_key,
        ));
    axum::Router::new()
        .merge(authenticated)
        .route("/healthz", get(health))
        // Claude Code probes `HEAD /` before anything else; any 200 will do.
        .route("/", get(root))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(gateway)
}

/// Serve on `listener` until `shutdown` resolves, then finish requests in flight.
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(listener, app(gateway))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

async fn chat_completions(
    State(gateway): State<Arc<Gateway>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let dialect = ClientDialect::OpenaiChat;
    match body {
        Ok(body) => serve_chat(gateway, dialect, "/v1/chat/completions", body).await,
        Err(rejection) => dialect.error_response(&body_error(
            &rejection,
            gateway.config.limits.max_body_bytes,
        )),
    }
}

/// The client error for a body that could not be read.
fn body_error(rejection: &BytesRejection, limit: usize) -> ClientError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ClientError::new(
            ErrorKind::PayloadTooLarge,
            format!("The request body is larger than the limit of {limit} bytes"),
        )
        .code("request_too_large")
    } else {
        ClientError::new(
            ErrorKind::InvalidRequest,
            format!("Could not read the request body: {}", rejection.body_text()),
        )
    }
}

async fn models(State(gateway): State<Arc<Gateway>>) -> Response {
    let listed = gateway.router.list_models(&gateway.runtime.registry());
    ClientDialect::OpenaiChat.models_response(&listed)
}

/// Liveness and what is loaded; no key needed, nothing secret in it.
async fn health(State(gateway): State<Arc<Gateway>>) -> Response {
    let components: Vec<_> = gateway
        .runtime
        .list()
        .into_iter()
        .map(|c| {
            json!({
                "kind": match c.kind { ComponentKind::Provider => "provider", ComponentKind::Fixup => "fixup" },
                "id": c.id,
                "version": c.version,
                "contract_version": c.contract_version,
                "hash": c.hash,
            })
        })
        .collect();
    let refused: Vec<_> = gateway
        .runtime
        .failures()
        .into_iter()
        .map(|f| json!({"path": f.path.display().to_string(), "reason": f.reason}))
        .collect();
    axum::Json(json!({"status": "ok", "components": components, "refused": refused}))
        .into_response()
}

async fn root() -> &'static str {
    "plugboard\n"
}

async fn not_found(uri: Uri) -> Response {
    let error = ClientError::new(
        ErrorKind::NotFound,
        format!("Unknown route `{}`", uri.path()),
    )
    .code("unknown_route");
    ClientDialect::OpenaiChat.error_response(&error)
}

async fn method_not_allowed(uri: Uri) -> Response {
    let error = ClientError::new(
        ErrorKind::InvalidRequest,
        format!("Method not allowed on `{}`", uri.path()),
    )
    .code("method_not_allowed");
    let mut response = ClientDialect::OpenaiChat.error_response(&error);
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}
