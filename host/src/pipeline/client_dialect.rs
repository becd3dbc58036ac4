//! The client dialects the pipeline serves, each backed by its `surfaces` module: one
//! `match` per operation, so adding a dialect is adding an arm.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::ir::Dialect;
use crate::surfaces::collect::Collected;
use crate::surfaces::{
    ClientError, Decoded, ListedModel, StreamEncoder, anthropic, gemini, openai_chat,
    openai_responses,
};

/// A dialect a client speaks to the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientDialect {
    /// OpenAI Chat Completions.
    OpenaiChat,
    /// OpenAI Responses.
    OpenaiResponses,
    /// Anthropic Messages.
    AnthropicMessages,
    /// Gemini generateContent.
    Gemini,
}

/// What the URL says about a request beyond its body. Gemini puts the model and
/// streaming in the path and the framing in `alt=sse`; other dialects leave it default.
#[derive(Debug, Clone, Default)]
pub struct RouteFacts {
    /// The model named by the path.
    pub model: Option<String>,
    /// The path asks for a stream (`:streamGenerateContent`).
    pub stream: bool,
    /// `alt=sse`: stream as SSE rather than one streamed JSON array.
    pub sse: bool,
}

impl ClientDialect {
    /// The IR's name for it.
    pub fn dialect(self) -> Dialect {
        match self {
            ClientDialect::OpenaiChat => Dialect::OpenaiChat,
            ClientDialect::OpenaiResponses => Dialect::OpenaiResponses,
            ClientDialect::AnthropicMessages => Dialect::AnthropicMessages,
            ClientDialect::Gemini => Dialect::Gemini,
        }
    }

    /// The dialect whose error shape a request to `path` expects, for errors raised
    /// before the pipeline knows more (authentication, unknown routes). Under
    /// `/v1/models/`, only `{model}:{action}` is Gemini's; `{model}` alone is OpenAI's.
    pub fn for_path(path: &str) -> ClientDialect {
        let gemini_action = path
            .strip_prefix("/v1/models/")
            .is_some_and(|rest| rest.rsplit('/').next().unwrap_or_default().contains(':'));
        if path.starts_with("/v1/messages") {
            ClientDialect::AnthropicMessages
        } else if path.starts_with("/v1beta/") || gemini_action {
            ClientDialect::Gemini
        } else if path.starts_with("/v1/responses") {
            ClientDialect::OpenaiResponses
        } else {
            ClientDialect::OpenaiChat
        }
    }

    /// Decode a request body into the IR.
    pub fn decode(self, body: &[u8], route: &RouteFacts) -> Result<Decoded, ClientError> {
        match self {
            ClientDialect::OpenaiChat => openai_chat::decode(body),
            ClientDialect::OpenaiResponses => openai_responses::decode(body),
            ClientDialect::AnthropicMessages => anthropic::decode(body),
            ClientDialect::Gemini => gemini::decode(
                body,
                route.model.as_deref().unwrap_or_default(),
                route.stream,
            ),
        }
    }

    /// Whether the raw client body may go to a provider that speaks this dialect
    /// natively. A Gemini client that wants a JSON-array stream cannot: upstream
    /// adapters stream SSE, so that case takes the IR path and is re-framed.
    pub fn passthrough_allowed(self, route: &RouteFacts) -> bool {
        match self {
            ClientDialect::Gemini => !route.stream || route.sse,
            _ => true,
        }
    }

    /// A stream encoder that names `model` (the name the client asked for).
    pub fn stream_encoder(
        self,
        model: &str,
        decoded: &Decoded,
        route: &RouteFacts,
    ) -> Box<dyn StreamEncoder> {
        match self {
            ClientDialect::OpenaiChat => Box::new(openai_chat::ChatStreamEncoder::new(
                model,
                decoded.include_usage,
            )),
            ClientDialect::OpenaiResponses => Box::new(
                openai_responses::ResponsesStreamEncoder::for_request(model, decoded),
            ),
            ClientDialect::AnthropicMessages => {
                Box::new(anthropic::MessagesStreamEncoder::new(model))
            }
            ClientDialect::Gemini => Box::new(gemini::GeminiStreamEncoder::new(model, route.sse)),
        }
    }

    /// The content type of a streamed answer.
    pub fn stream_content_type(self, route: &RouteFacts) -> &'static str {
        match self {
            ClientDialect::Gemini if !route.sse => "application/json",
            _ => "text/event-stream",
        }
    }

    /// One complete response body naming `model`; `decoded` is the client's request
    /// (Responses echoes its tools, and needs them to name custom tool calls).
    pub fn response_body(self, collected: &Collected, model: &str, decoded: &Decoded) -> Vec<u8> {
        match self {
            ClientDialect::OpenaiChat => openai_chat::response_json(collected, model),
            ClientDialect::OpenaiResponses => {
                openai_responses::response_json_for_request(collected, model, decoded)
            }
            ClientDialect::AnthropicMessages => anthropic::response_json(collected, model),
            ClientDialect::Gemini => gemini::response_json(collected, model),
        }
    }

    /// An error response: the dialect's error body with the kind's status, and
    /// `Retry-After` when the error says when to retry (SDKs' retry logic reads it).
    pub fn error_response(self, error: &ClientError) -> Response {
        let body = match self {
            ClientDialect::OpenaiChat | ClientDialect::OpenaiResponses => {
                openai_chat::error_body(error)
            }
            ClientDialect::AnthropicMessages => anthropic::error_body(error),
            ClientDialect::Gemini => gemini::error_body(error),
        };
        let status =
            StatusCode::from_u16(error.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = json_response(status, body);
        if let Some(seconds) = error.retry_after_secs() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }

    /// The model list in this dialect's shape.
    pub fn models_response(self, models: &[ListedModel]) -> Response {
        let body = match self {
            ClientDialect::OpenaiChat | ClientDialect::OpenaiResponses => {
                openai_chat::models_body(models)
            }
            ClientDialect::AnthropicMessages => anthropic::models_body(models),
            ClientDialect::Gemini => gemini::models_body(models),
        };
        json_response(StatusCode::OK, body)
    }
}

/// A JSON body with its content type.
pub fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}
