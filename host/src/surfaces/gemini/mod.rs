//! Gemini (`GET /v1beta/models`, `POST /v1beta/models/{model}:generateContent`,
//! `:streamGenerateContent` (with `alt=sse`: SSE; without: one streamed JSON array),
//! `:countTokens`; the same under `/v1/` for google-genai).
//!
//! API CONTRACT (consumed by `pipeline::client_dialect` and `server`; bodies being written):
//! - `pub fn decode(body: &[u8], model: &str, stream: bool) -> Result<Decoded, ClientError>` (model and stream come from the URL)
//! - `pub struct GeminiStreamEncoder` with `pub fn new(model: &str, sse: bool) -> Self`, implementing `StreamEncoder`
//! - `pub fn response_json(collected: &Collected, model: &str) -> Vec<u8>` (a `GenerateContentResponse`)
//! - `pub fn error_body(error: &ClientError) -> Vec<u8>` (`{"error":{"code","message","status"}}`)
//! - `pub fn models_body(models: &[ListedModel]) -> Vec<u8>` (`{"models":[{"name":"models/<id>",...}]}`)
//! - `pub fn count_tokens_body(total_tokens: u64) -> Vec<u8>` (`{"totalTokens": N}`)

use crate::ir::StreamEvent;
use crate::surfaces::collect::Collected;
use crate::surfaces::{ClientError, Decoded, ListedModel, StreamEncoder};

/// Decode a generateContent request for `model` (from the URL).
pub fn decode(_body: &[u8], _model: &str, _stream: bool) -> Result<Decoded, ClientError> {
    todo!("surfaces::gemini::decode")
}

/// Encodes IR events as Gemini stream chunks.
pub struct GeminiStreamEncoder;

impl GeminiStreamEncoder {
    /// An encoder naming `model`; `sse` for `alt=sse`, else a JSON array.
    pub fn new(_model: &str, _sse: bool) -> Self {
        GeminiStreamEncoder
    }
}

impl StreamEncoder for GeminiStreamEncoder {
    fn event(&mut self, _event: &StreamEvent, _out: &mut Vec<u8>) {
        todo!()
    }
    fn error(&mut self, _error: &ClientError, _out: &mut Vec<u8>) {
        todo!()
    }
    fn done(&mut self, _out: &mut Vec<u8>) {
        todo!()
    }
}

/// A complete `GenerateContentResponse`.
pub fn response_json(_collected: &Collected, _model: &str) -> Vec<u8> {
    todo!()
}

/// Gemini's error shape.
pub fn error_body(_error: &ClientError) -> Vec<u8> {
    todo!()
}

/// Gemini's model list.
pub fn models_body(_models: &[ListedModel]) -> Vec<u8> {
    todo!()
}

/// `{"totalTokens": N}`.
pub fn count_tokens_body(total_tokens: u64) -> Vec<u8> {
    serde_json::json!({ "totalTokens": total_tokens }).to_string().into_bytes()
}
