//! OpenAI Responses (`POST /v1/responses`). Errors share OpenAI's shape
//! (`openai_chat::error_body`); models are listed by `/v1/models` in OpenAI's shape.
//!
//! API CONTRACT (consumed by `pipeline::client_dialect`):
//! - `pub fn decode(body: &[u8]) -> Result<Decoded, ClientError>`
//! - `pub struct ResponsesStreamEncoder` with `pub fn new(model: &str) -> Self`, implementing `StreamEncoder`
//! - `pub fn response_json(collected: &Collected, model: &str) -> Vec<u8>` (a `response` object)
//!
//! Added: `ResponsesStreamEncoder::for_request(model, &Decoded)` and
//! [`response_json_for_request`]. They know the request's tools, so calls to a `custom`
//! tool come back as `custom_tool_call` items (Codex's `apply_patch`), calls into a
//! `namespace` carry it, and the response object echoes the request's settings. The
//! plain forms answer every call as a `function_call`.
//!
//! The request side: [`decode`] walks the top-level fields, `items` the input items,
//! `content` their content parts, `tools` the tool list, `fields` the typed reads. The
//! response side: `response` (the object and its items) and `stream`.

mod content;
mod decode;
mod fields;
mod items;
mod response;
mod stream;
mod tools;

#[cfg(test)]
mod decode_tests;
#[cfg(test)]
mod stream_tests;

pub use decode::decode;
pub use response::RequestEcho;
pub use stream::ResponsesStreamEncoder;

use serde_json::Value;

use crate::surfaces::collect::Collected;
use crate::surfaces::{ClientError, Decoded};

use response::{ResponseState, error_json, now_unix, output_items, response_id, response_object};

/// Options key the OpenAI adapter reads (and splices into its Chat Completions body).
const OPENAI: &str = "openai";
/// Options key for what only the Responses API understands: kept, never spliced into a
/// Chat Completions body.
const RESPONSES: &str = "openai-responses";
/// The schema a `custom` (free-form) tool gets for providers that only know functions.
const CUSTOM_TOOL_SCHEMA: &str =
    r#"{"type":"object","properties":{"input":{"type":"string"}},"required":["input"]}"#;

/// The single function name a tool inside a namespace goes by.
fn flat_tool_name(namespace: &str, name: &str) -> String {
    format!("{namespace}__{name}")
}

/// A complete `response` object for a collected response, named after the client's
/// `model`; every call is a `function_call` (see [`response_json_for_request`]).
pub fn response_json(collected: &Collected, model: &str) -> Vec<u8> {
    render(collected, model, &RequestEcho::default())
}

/// A complete `response` object answering `decoded`.
pub fn response_json_for_request(collected: &Collected, model: &str, decoded: &Decoded) -> Vec<u8> {
    render(
        collected,
        model,
        &RequestEcho::from_request(&decoded.request),
    )
}

/// The object; a collected error (which the caller normally answers with an error body)
/// makes it a `failed` response.
fn render(collected: &Collected, model: &str, echo: &RequestEcho) -> Vec<u8> {
    let id = response_id(collected.metadata.id.as_deref());
    let output = output_items(collected, &id, echo);
    let (status, incomplete) = response::status(collected.finish.as_ref().map(|f| f.reason));
    let usage = collected
        .finish
        .as_ref()
        .map(|f| f.usage)
        .unwrap_or_default();
    let (status, error) = match &collected.error {
        Some(error) => ("failed", error_json(&ClientError::from(error))),
        None => (status, Value::Null),
    };
    let object = response_object(
        ResponseState {
            id: &id,
            created_at: collected.metadata.created.unwrap_or_else(now_unix),
            model,
            status,
            output,
            usage: Some(response::usage_json(&usage)),
            incomplete_details: incomplete,
            error,
        },
        echo,
    );
    serde_json::to_vec(&object).expect("a JSON value always serialises")
}

/// The error body for this surface: OpenAI's shape.
pub fn error_body(error: &ClientError) -> Vec<u8> {
    crate::surfaces::openai_chat::error_body(error)
}
