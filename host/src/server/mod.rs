//! The HTTP front door: routes, client authentication, body limits, and errors in the
//! client's shape for everything that goes wrong before the pipeline runs.

pub mod auth;

use std::future::Future;
use std::sync::Arc;

use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use bytes::Bytes;
use serde_json::json;
use tokio::net::TcpListener;

use crate::pipeline::{ClientDialect, Gateway, RouteFacts, serve_chat};
use crate::runtime::ComponentKind;
use crate::surfaces::{ClientError, ErrorKind, anthropic, gemini, token_estimate};

/// The application's routes over `gateway`.
pub fn app(gateway: Arc<Gateway>) -> axum::Router {
    let body_limit = gateway.config.limits.max_body_bytes;
    let authenticated = axum::Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        // Codex tries a WebSocket upgrade with `GET /v1/responses` and falls back to
        // POST on a 404 (a 405 would not do).
        .route("/v1/responses", post(responses).get(not_found))
        .route("/v1/messages", post(messages))
        .route("/v1/messages/count_tokens", post(count_tokens))
        .route("/v1/models", get(models))
        // google-genai calls `/v1/models/{model}:generateContent`; OpenAI clients
        // `GET /v1/models/{model}`.
        .route("/v1/models/{*rest}", get(model).post(gemini_action))
        .route("/v1beta/models", get(gemini_models))
        .route("/v1beta/models/{*rest}", get(model).post(gemini_action))
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
    // Nagle's algorithm would hold back small SSE frames until the client ACKs the
    // previous ones (up to a delayed-ACK timeout): every token would pay for it.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY on a client connection");
        }
    });
    // `into_make_service`: each connection gets a clone of the finished router (one
    // `Arc`). Handing `axum::serve` the router itself makes axum call
    // `Router::with_state(())` per connection, which rebuilds the route table: ~4.6 KB
    // of heap per connection for as long as it lives (heaptrack, 1,000 held streams).
    axum::serve(listener, app(gateway).into_make_service())
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

async fn chat_completions(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let path = "/v1/chat/completions";
    serve_body(
        gateway,
        ClientDialect::OpenaiChat,
        RouteFacts::default(),
        path,
        &headers,
        body,
    )
    .await
}

async fn responses(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let path = "/v1/responses";
    serve_body(
        gateway,
        ClientDialect::OpenaiResponses,
        RouteFacts::default(),
        path,
        &headers,
        body,
    )
    .await
}

async fn messages(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let path = "/v1/messages";
    serve_body(
        gateway,
        ClientDialect::AnthropicMessages,
        RouteFacts::default(),
        path,
        &headers,
        body,
    )
    .await
}

/// `POST /v1beta/models/{model}:{action}` (and the same under `/v1/`).
async fn gemini_action(
    State(gateway): State<Arc<Gateway>>,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let dialect = ClientDialect::Gemini;
    let Some((model, action)) = rest.rsplit_once(':') else {
        return not_found(uri).await;
    };
    let sse = query
        .as_deref()
        .is_some_and(|q| q.split('&').any(|pair| pair == "alt=sse"));
    let route = |stream| RouteFacts {
        model: Some(model.to_owned()),
        stream,
        sse,
    };
    match action {
        "generateContent" => {
            serve_body(gateway, dialect, route(false), uri.path(), &headers, body).await
        }
        "streamGenerateContent" => {
            serve_body(gateway, dialect, route(true), uri.path(), &headers, body).await
        }
        "countTokens" => match body {
            Ok(body) => match gemini::decode_count_tokens(&body, model) {
                Ok(decoded) => {
                    let tokens = token_estimate::estimate(&decoded.request);
                    json_ok(gemini::count_tokens_body(tokens))
                }
                Err(error) => dialect.error_response(&error),
            },
            Err(rejection) => dialect.error_response(&body_error(
                &rejection,
                gateway.config.limits.max_body_bytes,
            )),
        },
        _ => not_found(uri).await,
    }
}

/// `POST /v1/messages/count_tokens`: the documented estimate, no upstream call.
async fn count_tokens(
    State(gateway): State<Arc<Gateway>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let dialect = ClientDialect::AnthropicMessages;
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let limit = gateway.config.limits.max_body_bytes;
            return dialect.error_response(&body_error(&rejection, limit));
        }
    };
    match anthropic::decode(&body) {
        Ok(decoded) => json_ok(anthropic::count_tokens_body(token_estimate::estimate(
            &decoded.request,
        ))),
        Err(error) => dialect.error_response(&error),
    }
}

/// Hand a readable body to the pipeline, or answer the body error in `dialect`'s shape.
async fn serve_body(
    gateway: Arc<Gateway>,
    dialect: ClientDialect,
    route: RouteFacts,
    path: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match body {
        Ok(body) => serve_chat(gateway, dialect, route, path, headers, body).await,
        Err(rejection) => dialect.error_response(&body_error(
            &rejection,
            gateway.config.limits.max_body_bytes,
        )),
    }
}

fn json_ok(body: Vec<u8>) -> Response {
    crate::pipeline::json_response(StatusCode::OK, body)
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

/// `GET /v1/models`: OpenAI's shape, or Anthropic's when the client sends
/// `anthropic-version` (Anthropic SDKs always do).
async fn models(State(gateway): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    let listed = gateway.router.list_models(&gateway.runtime.registry());
    let dialect = if headers.contains_key("anthropic-version") {
        ClientDialect::AnthropicMessages
    } else {
        ClientDialect::OpenaiChat
    };
    dialect.models_response(&listed)
}

/// `GET /v1beta/models`: Gemini's shape.
async fn gemini_models(State(gateway): State<Arc<Gateway>>) -> Response {
    let listed = gateway.router.list_models(&gateway.runtime.registry());
    ClientDialect::Gemini.models_response(&listed)
}

/// `GET /v1/models/{model}` (OpenAI, or Gemini when it carries a Gemini key style) and
/// `GET /v1beta/models/{model}` (Gemini).
async fn model(
    State(gateway): State<Arc<Gateway>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    uri: Uri,
) -> Response {
    let gemini = uri.path().starts_with("/v1beta/")
        || headers.contains_key("x-goog-api-key")
        || query
            .as_deref()
            .is_some_and(|q| q.split('&').any(|p| p.starts_with("key=")));
    let dialect = if gemini {
        ClientDialect::Gemini
    } else {
        ClientDialect::OpenaiChat
    };
    let name = name.strip_prefix("models/").unwrap_or(&name);
    let listed = gateway.router.list_models(&gateway.runtime.registry());
    let Some(found) = listed.iter().find(|m| m.id == name) else {
        let error = ClientError::new(
            ErrorKind::NotFound,
            format!("The model `{name}` does not exist"),
        )
        .code("model_not_found")
        .param("model");
        return dialect.error_response(&error);
    };
    if gemini {
        json_ok(gemini::model_body(found))
    } else {
        json_ok(
            json!({"id": found.id, "object": "model", "created": 0, "owned_by": found.owned_by})
                .to_string()
                .into_bytes(),
        )
    }
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
    ClientDialect::for_path(uri.path()).error_response(&error)
}

async fn method_not_allowed(uri: Uri) -> Response {
    let error = ClientError::new(
        ErrorKind::InvalidRequest,
        format!("Method not allowed on `{}`", uri.path()),
    )
    .code("method_not_allowed");
    let mut response = ClientDialect::for_path(uri.path()).error_response(&error);
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}
