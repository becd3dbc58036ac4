//! Anthropic Messages (`POST /v1/messages`, `POST /v1/messages/count_tokens`, and
//! `GET /v1/models` when the client sends `anthropic-version`).
//!
//! API CONTRACT (consumed by `pipeline::client_dialect` and `server`; bodies being written):
//! - `pub fn decode(body: &[u8]) -> Result<Decoded, ClientError>`
//! - `pub struct MessagesStreamEncoder` with `pub fn new(model: &str) -> Self`, implementing `StreamEncoder`
//! - `pub fn response_json(collected: &Collected, model: &str) -> Vec<u8>` (a `message` object)
//! - `pub fn error_body(error: &ClientError) -> Vec<u8>` (`{"type":"error","error":{"type","message"}}`)
//! - `pub fn models_body(models: &[ListedModel]) -> Vec<u8>`
//! - `pub fn count_tokens_body(input_tokens: u64) -> Vec<u8>` (`{"input_tokens": N}`)

use crate::surfaces::collect::Collected;
use crate::surfaces::{ClientError, Decoded, ListedModel, StreamEncoder};
use crate::ir::StreamEvent;

/// Decode a Messages request.
pub fn decode(_body: &[u8]) -> Result<Decoded, ClientError> {
    todo!("surfaces::anthropic::decode")
}

/// Encodes IR events as Messages SSE.
pub struct MessagesStreamEncoder;

impl MessagesStreamEncoder {
    /// An encoder naming `model`.
    pub fn new(_model: &str) -> Self {
        MessagesStreamEncoder
    }
}

impl StreamEncoder for MessagesStreamEncoder {
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

/// A complete `message` object.
pub fn response_json(_collected: &Collected, _model: &str) -> Vec<u8> {
    todo!()
}

/// Anthropic's error shape.
pub fn error_body(_error: &ClientError) -> Vec<u8> {
    todo!()
}

/// Anthropic's model list shape.
pub fn models_body(_models: &[ListedModel]) -> Vec<u8> {
    todo!()
}

/// `{"input_tokens": N}`.
pub fn count_tokens_body(input_tokens: u64) -> Vec<u8> {
    serde_json::json!({ "input_tokens": input_tokens }).to_string().into_bytes()
}
