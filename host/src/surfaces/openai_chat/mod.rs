//! OpenAI Chat Completions (`POST /v1/chat/completions`, `GET /v1/models`).
//!
//! API CONTRACT (consumed by `pipeline` and `server`):
//! - `pub fn decode(body: &[u8]) -> Result<Decoded, ClientError>`
//! - `pub struct ChatStreamEncoder` with `pub fn new(model: &str, include_usage: bool) -> Self`, implementing `StreamEncoder`
//! - `pub fn response_json(collected: &Collected, model: &str) -> Vec<u8>` (a `chat.completion` object)
//! - `pub fn error_body(error: &ClientError) -> Vec<u8>` (`{"error": {...}}`; status from `error.kind.status()`)
//! - `pub fn models_body(models: &[ListedModel]) -> Vec<u8>`
//!
//! The request side is split by seam: [`decode`] walks the top-level fields, `messages`
//! the conversation, `fields` the typed reads and their error messages. The response
//! side: `completion` (the JSON object and what chunks share with it) and `stream`.

mod completion;
mod decode;
mod fields;
mod messages;
mod stream;

#[cfg(test)]
mod decode_tests;
#[cfg(test)]
mod stream_tests;

pub use completion::response_json;
pub use decode::decode;
pub use stream::ChatStreamEncoder;

use serde_json::json;

use crate::surfaces::{ClientError, ErrorKind, ListedModel};

/// An error body in OpenAI's shape: `{"error":{"message","type","param","code"}}`.
///
/// `type` follows what api.openai.com really sends, not the SDK's class names: client
/// mistakes, bad keys and unknown models are all `invalid_request_error` (told apart by
/// `code` and the status), rate limits are `requests`, and our failures `server_error`.
/// A bad key and a rate limit get OpenAI's codes when the caller gave none.
pub fn error_body(error: &ClientError) -> Vec<u8> {
    let code = error.code.as_deref().or(match error.kind {
        ErrorKind::Authentication => Some("invalid_api_key"),
        ErrorKind::RateLimited => Some("rate_limit_exceeded"),
        _ => None,
    });
    let kind = match error.kind {
        ErrorKind::InvalidRequest
        | ErrorKind::Authentication
        | ErrorKind::Permission
        | ErrorKind::NotFound
        | ErrorKind::RequestTimeout
        | ErrorKind::PayloadTooLarge => "invalid_request_error",
        ErrorKind::RateLimited if code == Some("insufficient_quota") => "insufficient_quota",
        ErrorKind::RateLimited => "requests",
        ErrorKind::Internal | ErrorKind::Upstream | ErrorKind::Overloaded | ErrorKind::Timeout => {
            "server_error"
        }
    };
    let body = json!({
        "error": {
            "message": error.message,
            "type": kind,
            "param": error.param,
            "code": code,
        }
    });
    serde_json::to_vec(&body).expect("a JSON value always serialises")
}

/// The `GET /v1/models` list. `created` is 0: the proxy does not know when a model was
/// released, and clients only read `id`.
pub fn models_body(models: &[ListedModel]) -> Vec<u8> {
    let data: Vec<_> = models
        .iter()
        .map(|model| json!({"id": model.id, "object": "model", "created": 0, "owned_by": model.owned_by}))
        .collect();
    serde_json::to_vec(&json!({"object": "list", "data": data}))
        .expect("a JSON value always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn parsed(body: Vec<u8>) -> Value {
        serde_json::from_slice(&body).unwrap()
    }

    #[test]
    fn an_unknown_model_reads_like_openai_s_own_404() {
        let error = ClientError::new(
            ErrorKind::NotFound,
            "The model `gpt-9` does not exist or you do not have access to it.",
        )
        .code("model_not_found")
        .param("model");
        assert_eq!(error.kind.status(), 404);
        assert_eq!(
            parsed(error_body(&error)),
            json!({"error": {
                "message": "The model `gpt-9` does not exist or you do not have access to it.",
                "type": "invalid_request_error",
                "param": "model",
                "code": "model_not_found",
            }})
        );
    }

    #[test]
    fn bad_keys_and_rate_limits_get_openai_codes_by_default() {
        let auth = parsed(error_body(&ClientError::new(
            ErrorKind::Authentication,
            "Incorrect API key provided.",
        )));
        assert_eq!(auth["error"]["type"], "invalid_request_error");
        assert_eq!(auth["error"]["code"], "invalid_api_key");
        assert_eq!(auth["error"]["param"], Value::Null);

        let limited = parsed(error_body(&ClientError::new(
            ErrorKind::RateLimited,
            "slow down",
        )));
        assert_eq!(limited["error"]["type"], "requests");
        assert_eq!(limited["error"]["code"], "rate_limit_exceeded");

        let quota = parsed(error_body(
            &ClientError::new(ErrorKind::RateLimited, "out of quota").code("insufficient_quota"),
        ));
        assert_eq!(quota["error"]["type"], "insufficient_quota");
    }

    #[test]
    fn our_own_and_upstream_failures_are_server_errors() {
        for kind in [
            ErrorKind::Internal,
            ErrorKind::Upstream,
            ErrorKind::Overloaded,
            ErrorKind::Timeout,
        ] {
            let body = parsed(error_body(&ClientError::new(kind, "boom")));
            assert_eq!(body["error"]["type"], "server_error", "{kind:?}");
            assert_eq!(body["error"]["code"], Value::Null);
        }
    }

    #[test]
    fn the_model_list_has_openai_s_shape() {
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
            json!({"object": "list", "data": [
                {"id": "sonnet", "object": "model", "created": 0, "owned_by": "anthropic-main"},
                {"id": "gpt-5", "object": "model", "created": 0, "owned_by": "openai"},
            ]})
        );
    }
}
