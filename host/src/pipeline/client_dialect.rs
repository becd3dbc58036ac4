//! The client dialects the pipeline serves, each backed by its `surfaces` module: one
//! `match` per operation, so adding a dialect is adding an arm.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::ir::Dialect;
use crate::surfaces::collect::Collected;
use crate::surfaces::{ClientError, Decoded, ListedModel, StreamEncoder, openai_chat};

/// A dialect a client speaks to the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientDialect {
    /// OpenAI Chat Completions.
    OpenaiChat,
}

impl ClientDialect {
    /// The IR's name for it.
    pub fn dialect(self) -> Dialect {
        match self {
            ClientDialect::OpenaiChat => Dialect::OpenaiChat,
        }
    }

    /// Decode a request body into the IR.
    pub fn decode(self, body: &[u8]) -> Result<Decoded, ClientError> {
        match self {
            ClientDialect::OpenaiChat => openai_chat::decode(body),
        }
    }

    /// A stream encoder that names `model` (the name the client asked for).
    pub fn stream_encoder(self, model: &str, include_usage: bool) -> Box<dyn StreamEncoder> {
        match self {
            ClientDialect::OpenaiChat => {
                Box::new(openai_chat::ChatStreamEncoder::new(model, include_usage))
            }
        }
    }

    /// One complete response body.
    pub fn response_body(self, collected: &Collected, model: &str) -> Vec<u8> {
        match self {
            ClientDialect::OpenaiChat => openai_chat::response_json(collected, model),
        }
    }

    /// An error response: the dialect's error body with the kind's status.
    pub fn error_response(self, error: &ClientError) -> Response {
        let body = match self {
            ClientDialect::OpenaiChat => openai_chat::error_body(error),
        };
        let status =
            StatusCode::from_u16(error.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json_response(status, body)
    }

    /// The model list.
    pub fn models_response(self, models: &[ListedModel]) -> Response {
        let body = match self {
            ClientDialect::OpenaiChat => openai_chat::models_body(models),
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
