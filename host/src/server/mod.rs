//! The HTTP front door: routes, client authentication, body limits, and errors in the
//! client's shape for everything that goes wrong before the pipeline runs.

pub mod auth;
pub mod connections;
pub mod ui;

use std::future::Future;
use std::sync::Arc;

use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Extension, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::json;
use tokio::net::TcpListener;

use crate::governance::Caller;
use crate::pipeline::{ClientDialect, Gateway, LiveGateway, RouteFacts, serve_chat};
use crate::runtime::ComponentKind;
use crate::surfaces::{ClientError, ErrorKind, anthropic, gemini, token_estimate};

/// The application's routes over `live`: each request takes the gateway generation in
/// force when it starts, once: the client-key check takes it and hands it to the
/// handler (`Extension<Arc<Gateway>>`), so a request is authenticated and served under
/// the same config even when a reload swaps it in between. The body limit is the
/// start config's (`limits` change at a restart).
pub fn app(live: LiveGateway) -> axum::Router {
    let body_limit = live.current().config.limits.max_body_bytes;
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
            live.clone(),
            auth::require_client_key,
        ));
    axum::Router::new()
        .merge(authenticated)
        // `/v0/management/…` and `/metrics`, behind the management key.
        .merge(crate::management::router(live.clone()))
        // The web page: public shell and assets; its figures come from the API above.
        .merge(ui::router())
        .route("/healthz", get(health))
        // Claude Code probes `HEAD /` before anything else; any 200 will do.
        .route("/", get(root))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            body_limit,
            refuse_declared_oversize,
        ))
        .with_state(live)
}

/// Middleware: a body whose `Content-Length` is over the limit is refused before a
/// byte of it is read (a 413 in the route's dialect; the connection then closes, as
/// the body is not drained). Chunked bodies are still counted as they arrive.
async fn refuse_declared_oversize(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => {
            let path = request.uri().path();
            tracing::info!(
                path,
                length,
                limit,
                status = 413,
                "request refused: declared body over the limit"
            );
            let dialect = route_dialect(
                request.method(),
                path,
                request.headers(),
                request.uri().query(),
            );
            let mut response = dialect.error_response(&too_large(limit));
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
        _ => next.run(request).await,
    }
}

/// The dialect a route's answers are in: the path decides ([`ClientDialect::for_path`]:
/// `/v1/models/{id}` is OpenAI's, `/v1/models/{id}:{action}` Gemini's), except that
/// `GET /v1/models/{id}` is shared by OpenAI clients and Gemini clients of the `v1`
/// API, and only the latter present their key as `x-goog-api-key` or `?key=`.
pub fn route_dialect(
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    query: Option<&str>,
) -> ClientDialect {
    if method == Method::GET
        && path.starts_with("/v1/models/")
        && presents_gemini_key(headers, query)
    {
        return ClientDialect::Gemini;
    }
    ClientDialect::for_path(path)
}

/// Whether the request carries its key the way Gemini clients do.
fn presents_gemini_key(headers: &HeaderMap, query: Option<&str>) -> bool {
    headers.contains_key("x-goog-api-key")
        || query.is_some_and(|q| q.split('&').any(|p| p.starts_with("key=")))
}

/// Serve on `listener` until `shutdown` resolves, then let requests in flight finish
/// for at most `limits.shutdown-grace-s`. Client connections are held to the deadlines
/// and the cap of `limits:` (see [`connections`]).
pub async fn serve(
    listener: TcpListener,
    live: LiveGateway,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let limits = connections::ConnectionLimits::from_config(&live.current().config.limits);
    connections::serve(listener, app(live), limits, shutdown).await
}

async fn chat_completions(
    Extension(gateway): Extension<Arc<Gateway>>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let path = "/v1/chat/completions";
    serve_body(
        gateway,
        caller,
        ClientDialect::OpenaiChat,
        RouteFacts::default(),
        path,
        &headers,
        body,
    )
    .await
}

async fn responses(
    Extension(gateway): Extension<Arc<Gateway>>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let path = "/v1/responses";
    serve_body(
        gateway,
        caller,
        ClientDialect::OpenaiResponses,
        RouteFacts::default(),
        path,
        &headers,
        body,
    )
    .await
}

async fn messages(
    Extension(gateway): Extension<Arc<Gateway>>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let path = "/v1/messages";
    serve_body(
        gateway,
        caller,
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
    Extension(gateway): Extension<Arc<Gateway>>,
    caller: Option<Extension<Caller>>,
    Path(rest): Path<String>,
    RawQuery(query): RawQuery,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let dialect = ClientDialect::Gemini;
    let Some((model, action)) = rest.rsplit_once(':') else {
        return not_found(Method::POST, uri, headers).await;
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
            serve_body(
                gateway,
                caller,
                dialect,
                route(false),
                uri.path(),
                &headers,
                body,
            )
            .await
        }
        "streamGenerateContent" => {
            serve_body(
                gateway,
                caller,
                dialect,
                route(true),
                uri.path(),
                &headers,
                body,
            )
            .await
        }
        "countTokens" => match body {
            Ok(body) => match gemini::decode_count_tokens(&body, model) {
                Ok(decoded) => {
                    let tokens = token_estimate::estimate(&decoded.request);
                    json_ok(gemini::count_tokens_body(tokens))
                }
                Err(error) => dialect.error_response(&error),
            },
            Err(rejection) => {
                body_error_response(dialect, &rejection, gateway.config.limits.max_body_bytes)
            }
        },
        _ => not_found(Method::POST, uri, headers).await,
    }
}

/// `POST /v1/messages/count_tokens`: the documented estimate, no upstream call.
async fn count_tokens(
    Extension(gateway): Extension<Arc<Gateway>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let dialect = ClientDialect::AnthropicMessages;
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let limit = gateway.config.limits.max_body_bytes;
            return body_error_response(dialect, &rejection, limit);
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
/// `caller` is who authentication found (absent only on routes without it).
async fn serve_body(
    gateway: Arc<Gateway>,
    caller: Option<Extension<Caller>>,
    dialect: ClientDialect,
    route: RouteFacts,
    path: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match body {
        Ok(body) => {
            let caller = caller.map(|Extension(caller)| caller).unwrap_or_default();
            serve_chat(gateway, caller, dialect, route, path, headers, body).await
        }
        Err(rejection) => {
            body_error_response(dialect, &rejection, gateway.config.limits.max_body_bytes)
        }
    }
}

fn json_ok(body: Vec<u8>) -> Response {
    crate::pipeline::json_response(StatusCode::OK, body)
}

/// The answer, in `dialect`'s shape, to a body that could not be read: 413 over the
/// limit, 408 when it stopped arriving, else 400.
fn body_error_response(
    dialect: ClientDialect,
    rejection: &BytesRejection,
    limit: usize,
) -> Response {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return dialect.error_response(&too_large(limit));
    }
    if let Some(stalled) = stalled_body(rejection) {
        let error = ClientError::new(
            ErrorKind::RequestTimeout,
            format!("The request body stopped arriving: {stalled}"),
        )
        .code("request_timeout");
        return dialect.error_response(&error);
    }
    dialect.error_response(&ClientError::new(
        ErrorKind::InvalidRequest,
        format!("Could not read the request body: {}", rejection.body_text()),
    ))
}

/// The client error for a body over `limit` bytes.
fn too_large(limit: usize) -> ClientError {
    ClientError::new(
        ErrorKind::PayloadTooLarge,
        format!("The request body is larger than the limit of {limit} bytes"),
    )
    .code("request_too_large")
}

/// The [`connections::BodyStalled`] behind a body rejection, if that is what it was.
fn stalled_body(rejection: &BytesRejection) -> Option<&connections::BodyStalled> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(error) = source {
        if let Some(stalled) = error.downcast_ref::<connections::BodyStalled>() {
            return Some(stalled);
        }
        source = error.source();
    }
    None
}

/// `GET /v1/models`: OpenAI's shape, or Anthropic's when the client sends
/// `anthropic-version` (Anthropic SDKs always do).
async fn models(Extension(gateway): Extension<Arc<Gateway>>, headers: HeaderMap) -> Response {
    let listed = gateway.router.list_models(&gateway.runtime.registry());
    let dialect = if headers.contains_key("anthropic-version") {
        ClientDialect::AnthropicMessages
    } else {
        ClientDialect::OpenaiChat
    };
    dialect.models_response(&listed)
}

/// `GET /v1beta/models`: Gemini's shape.
async fn gemini_models(Extension(gateway): Extension<Arc<Gateway>>) -> Response {
    let listed = gateway.router.list_models(&gateway.runtime.registry());
    ClientDialect::Gemini.models_response(&listed)
}

/// `GET /v1/models/{model}` (OpenAI, or Gemini when it carries a Gemini key style) and
/// `GET /v1beta/models/{model}` (Gemini).
async fn model(
    Extension(gateway): Extension<Arc<Gateway>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    uri: Uri,
) -> Response {
    let dialect = route_dialect(&Method::GET, uri.path(), &headers, query.as_deref());
    let gemini = dialect == ClientDialect::Gemini;
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

/// `GET /`: with the management API on, a redirect to the web page; else (and for
/// `HEAD /`, Claude Code's probe, which wants a 200) the plain answer.
async fn root(State(gateway): State<Arc<Gateway>>, method: Method) -> Response {
    if method == Method::GET && gateway.config.management.key_in_force().is_some() {
        return axum::response::Redirect::temporary(ui::MOUNT).into_response();
    }
    "plugboard\n".into_response()
}

async fn not_found(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let error = ClientError::new(
        ErrorKind::NotFound,
        format!("Unknown route `{}`", uri.path()),
    )
    .code("unknown_route");
    route_dialect(&method, uri.path(), &headers, uri.query()).error_response(&error)
}

async fn method_not_allowed(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let error = ClientError::new(
        ErrorKind::InvalidRequest,
        format!("Method not allowed on `{}`", uri.path()),
    )
    .code("method_not_allowed");
    let mut response =
        route_dialect(&method, uri.path(), &headers, uri.query()).error_response(&error);
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}
