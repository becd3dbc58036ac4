//! Anthropic Messages (`POST /v1/messages`, `POST /v1/messages/count_tokens`, and
//! `GET /v1/models` when the client sends `anthropic-version`).
//!
//! API CONTRACT (consumed by `pipeline::client_dialect` and `server`):
//! - `pub fn decode(body: &[u8]) -> Result<Decoded, ClientError>`
//! - `pub struct MessagesStreamEncoder` with `pub fn new(model: &str) -> Self`, implementing `StreamEncoder`
//! - `pub fn response_json(collected: &Collected, model: &str) -> Vec<u8>` (a `message` object)
//! - `pub fn error_body(error: &ClientError) -> Vec<u8>` (`{"type":"error","error":{"type","message"}}`)
//! - `pub fn models_body(models: &[ListedModel]) -> Vec<u8>`
//! - `pub fn count_tokens_body(input_tokens: u64) -> Vec<u8>` (`{"input_tokens": N}`)
//!
//! The request side is split by seam: `decode` walks the top-level fields, `content`
//! the system prompt and the conversation, `fields` the typed reads and their error
//! messages. The response side: `message` (the JSON object and what the stream shares
//! with it) and `stream`. What each field becomes is listed in
//! docs/conformance/anthropic-messages.md.

mod content;
mod decode;
mod fields;
mod message;
mod stream;

#[cfg(test)]
mod decode_tests;
#[cfg(test)]
mod stream_tests;

pub use decode::decode;
pub use message::response_json;
pub use stream::MessagesStreamEncoder;

use serde_json::json;

use crate::surfaces::{ClientError, ErrorKind, ListedModel};

/// The `error.type` Anthropic uses for `kind`. The status stays `kind.status()`: our
/// overloaded answer is a 503, not Anthropic's private 529, but its type is still
/// `overloaded_error` so clients retry it the same way. A bad gateway and a timeout have
/// no type of their own and read as `api_error`.
fn error_type(kind: ErrorKind) -> &'static str {
    match kind {
        // Anthropic has no 408 of its own; a body that stopped arriving is the client's.
        ErrorKind::InvalidRequest | ErrorKind::RequestTimeout => "invalid_request_error",
        ErrorKind::Authentication => "authentication_error",
        ErrorKind::Permission => "permission_error",
        ErrorKind::NotFound => "not_found_error",
        ErrorKind::PayloadTooLarge => "request_too_large",
        ErrorKind::RateLimited => "rate_limit_error",
        ErrorKind::Overloaded => "overloaded_error",
        ErrorKind::Internal | ErrorKind::Upstream | ErrorKind::Timeout => "api_error",
    }
}

/// An error body in Anthropic's shape: `{"type":"error","error":{"type","message"}}`.
/// The field at fault is already named in the message, as the API does.
pub fn error_body(error: &ClientError) -> Vec<u8> {
    let body = json!({
        "type": "error",
        "error": {"type": error_type(error.kind), "message": error.message},
    });
    serde_json::to_vec(&body).expect("a JSON value always serialises")
}

/// The `GET /v1/models` page: every model on one page. `created_at` is the epoch: the
/// proxy does not know when a model was released, and clients read only `id`.
pub fn models_body(models: &[ListedModel]) -> Vec<u8> {
    let data: Vec<_> = models
        .iter()
        .map(|model| {
            json!({
                "type": "model",
                "id": model.id,
                "display_name": model.id,
                "created_at": "1970-01-01T00:00:00Z",
            })
        })
        .collect();
    let body = json!({
        "data": data,
        "has_more": false,
        "first_id": models.first().map(|m| &m.id),
        "last_id": models.last().map(|m| &m.id),
    });
    serde_json::to_vec(&body).expect("a JSON value always serialises")
}

/// `{"input_tokens": N}`.
pub fn count_tokens_body(input_tokens: u64) -> Vec<u8> {
    serde_json::json!({ "input_tokens": input_tokens })
        .to_string()
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn parsed(body: Vec<u8>) -> Value {
        serde_json::from_slice(&body).unwrap()
    }

    #[test]
    fn every_kind_gets_anthropic_s_error_type_and_keeps_its_status() {
        let cases = [
            (ErrorKind::InvalidRequest, 400, "invalid_request_error"),
            (ErrorKind::Authentication, 401, "authentication_error"),
            (ErrorKind::Permission, 403, "permission_error"),
            (ErrorKind::NotFound, 404, "not_found_error"),
            (ErrorKind::RequestTimeout, 408, "invalid_request_error"),
            (ErrorKind::PayloadTooLarge, 413, "request_too_large"),
            (ErrorKind::RateLimited, 429, "rate_limit_error"),
            (ErrorKind::Internal, 500, "api_error"),
            (ErrorKind::Upstream, 502, "api_error"),
            (ErrorKind::Overloaded, 503, "overloaded_error"),
            (ErrorKind::Timeout, 504, "api_error"),
        ];
        for (kind, status, kind_name) in cases {
            let body = parsed(error_body(&ClientError::new(kind, "what happened")));
            assert_eq!(kind.status(), status);
            assert_eq!(
                body,
                json!({"type": "error", "error": {"type": kind_name, "message": "what happened"}}),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn the_model_list_is_one_page_in_anthropic_s_shape() {
        let models = [
            ListedModel {
                id: "sonnet".into(),
                owned_by: "anthropic-main".into(),
            },
            ListedModel {
                id: "gpt-5".into(),
                owned_by: "openai".into(),
            },
        ];
        assert_eq!(
            parsed(models_body(&models)),
            json!({
                "data": [
                    {"type": "model", "id": "sonnet", "display_name": "sonnet", "created_at": "1970-01-01T00:00:00Z"},
                    {"type": "model", "id": "gpt-5", "display_name": "gpt-5", "created_at": "1970-01-01T00:00:00Z"},
                ],
                "has_more": false,
                "first_id": "sonnet",
                "last_id": "gpt-5",
            })
        );
        assert_eq!(
            parsed(models_body(&[])),
            json!({"data": [], "has_more": false, "first_id": null, "last_id": null})
        );
    }

    #[test]
    fn count_tokens_answers_with_input_tokens_only() {
        assert_eq!(
            parsed(count_tokens_body(1234)),
            json!({"input_tokens": 1234})
        );
    }
}
