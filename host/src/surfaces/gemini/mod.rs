//! Gemini (`GET /v1beta/models`, `GET /v1beta/models/{model}`,
//! `POST /v1beta/models/{model}:generateContent`, `:streamGenerateContent` (with
//! `alt=sse`: SSE; without: one streamed JSON array), `:countTokens`; the same under
//! `/v1/` for google-genai).
//!
//! API CONTRACT (consumed by `pipeline::client_dialect` and `server`):
//! - `pub fn decode(body: &[u8], model: &str, stream: bool) -> Result<Decoded, ClientError>` (model and stream come from the URL)
//! - `pub fn decode_count_tokens(body: &[u8], model: &str) -> Result<Decoded, ClientError>` (`{"generateContentRequest": {...}}` or `{"contents": ...}`)
//! - `pub struct GeminiStreamEncoder` with `pub fn new(model: &str, sse: bool) -> Self`, implementing `StreamEncoder`
//! - `pub fn response_json(collected: &Collected, model: &str) -> Vec<u8>` (a `GenerateContentResponse`)
//! - `pub fn error_body(error: &ClientError) -> Vec<u8>` (`{"error":{"code","message","status"}}`)
//! - `pub fn models_body(models: &[ListedModel]) -> Vec<u8>` (`{"models":[{"name":"models/<id>",...}]}`)
//! - `pub fn model_body(model: &ListedModel) -> Vec<u8>` (one `Model`, for `GET .../models/{model}`)
//! - `pub fn count_tokens_body(total_tokens: u64) -> Vec<u8>` (`{"totalTokens": N}`)
//!
//! The request side: [`decode`] walks the top-level fields, `contents` the
//! conversation, `schema` the tool and response schemas, `fields` the typed reads that
//! accept camelCase and snake_case alike. The response side: `response` (the object and
//! what chunks share with it) and `stream`.

mod contents;
mod decode;
mod fields;
mod response;
mod schema;
mod stream;

#[cfg(test)]
mod decode_tests;
#[cfg(test)]
mod stream_tests;

pub use decode::{decode, decode_count_tokens};
pub use response::response_json;
pub use stream::GeminiStreamEncoder;

use serde_json::{Value, json};

use crate::surfaces::{ClientError, ErrorKind, ListedModel};

/// Context window reported for every model: the proxy does not know each upstream's
/// limits, so it reports Gemini 2.5's (clients such as the Gemini CLI keep their own
/// tables and do not read these).
const INPUT_TOKEN_LIMIT: u64 = 1_048_576;
/// Output limit reported for every model, Gemini 2.5's, for the same reason.
const OUTPUT_TOKEN_LIMIT: u64 = 65_536;

/// An error body in Google's shape: `{"error":{"code","message","status"}}`, `status`
/// being the google.rpc code name Google pairs with the HTTP status. A bad gateway has
/// no code of its own and reads as `UNAVAILABLE` (retryable, which it is).
pub fn error_body(error: &ClientError) -> Vec<u8> {
    serde_json::to_vec(&error_value(error)).expect("a JSON value always serialises")
}

fn error_value(error: &ClientError) -> Value {
    let status = match error.kind {
        ErrorKind::InvalidRequest | ErrorKind::PayloadTooLarge => "INVALID_ARGUMENT",
        ErrorKind::Authentication => "UNAUTHENTICATED",
        ErrorKind::Permission => "PERMISSION_DENIED",
        ErrorKind::NotFound => "NOT_FOUND",
        ErrorKind::RateLimited => "RESOURCE_EXHAUSTED",
        ErrorKind::Internal => "INTERNAL",
        ErrorKind::Upstream | ErrorKind::Overloaded => "UNAVAILABLE",
        ErrorKind::Timeout | ErrorKind::RequestTimeout => "DEADLINE_EXCEEDED",
    };
    json!({"error": {"code": error.kind.status(), "message": error.message, "status": status}})
}

/// One `Model` resource for a listed model.
fn model_value(model: &ListedModel) -> Value {
    json!({
        "name": format!("models/{}", model.id),
        "version": "plugboard",
        "displayName": model.id,
        "description": format!("{} served by {} through Plugboard", model.id, model.owned_by),
        "inputTokenLimit": INPUT_TOKEN_LIMIT,
        "outputTokenLimit": OUTPUT_TOKEN_LIMIT,
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
    })
}

/// Gemini's model list (`GET /v1beta/models`); one page, no `nextPageToken`.
pub fn models_body(models: &[ListedModel]) -> Vec<u8> {
    let models: Vec<Value> = models.iter().map(model_value).collect();
    serde_json::to_vec(&json!({"models": models})).expect("a JSON value always serialises")
}

/// One model (`GET /v1beta/models/{model}`).
pub fn model_body(model: &ListedModel) -> Vec<u8> {
    serde_json::to_vec(&model_value(model)).expect("a JSON value always serialises")
}

/// `{"totalTokens": N}`.
pub fn count_tokens_body(total_tokens: u64) -> Vec<u8> {
    json!({ "totalTokens": total_tokens })
        .to_string()
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(body: Vec<u8>) -> Value {
        serde_json::from_slice(&body).unwrap()
    }

    #[test]
    fn errors_read_like_google_s_own() {
        let error = ClientError::new(
            ErrorKind::InvalidRequest,
            "API key not valid. Please pass a valid API key.",
        );
        assert_eq!(
            parsed(error_body(&error)),
            json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT"}})
        );
        let statuses: Vec<(u64, String)> = [
            ErrorKind::Authentication,
            ErrorKind::Permission,
            ErrorKind::NotFound,
            ErrorKind::RequestTimeout,
            ErrorKind::PayloadTooLarge,
            ErrorKind::RateLimited,
            ErrorKind::Internal,
            ErrorKind::Upstream,
            ErrorKind::Overloaded,
            ErrorKind::Timeout,
        ]
        .into_iter()
        .map(|kind| {
            let body = parsed(error_body(&ClientError::new(kind, "x")));
            (
                body["error"]["code"].as_u64().unwrap(),
                body["error"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
        let expected = [
            (401, "UNAUTHENTICATED"),
            (403, "PERMISSION_DENIED"),
            (404, "NOT_FOUND"),
            (408, "DEADLINE_EXCEEDED"),
            (413, "INVALID_ARGUMENT"),
            (429, "RESOURCE_EXHAUSTED"),
            (500, "INTERNAL"),
            (502, "UNAVAILABLE"),
            (503, "UNAVAILABLE"),
            (504, "DEADLINE_EXCEEDED"),
        ];
        let expected: Vec<(u64, String)> =
            expected.iter().map(|(c, s)| (*c, s.to_string())).collect();
        assert_eq!(statuses, expected);
    }

    #[test]
    fn the_model_list_names_models_the_way_gemini_clients_strip_them() {
        let models = [ListedModel {
            id: "gemini-2.5-pro".into(),
            owned_by: "vertex".into(),
        }];
        let body = parsed(models_body(&models));
        let model = &body["models"][0];
        assert_eq!(model["name"], "models/gemini-2.5-pro");
        assert_eq!(model["displayName"], "gemini-2.5-pro");
        assert_eq!(
            model["supportedGenerationMethods"],
            json!(["generateContent", "streamGenerateContent", "countTokens"])
        );
        assert_eq!(model["inputTokenLimit"], INPUT_TOKEN_LIMIT);
        assert_eq!(parsed(model_body(&models[0])), *model);
        assert_eq!(parsed(count_tokens_body(42)), json!({"totalTokens": 42}));
    }
}
