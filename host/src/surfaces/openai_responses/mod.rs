//! OpenAI Responses (`POST /v1/responses`). Errors share OpenAI's shape
//! (`openai_chat::error_body`); models are listed by `/v1/models` in OpenAI's shape.
//!
//! API CONTRACT (consumed by `pipeline::client_dialect`; bodies being written):
//! - `pub fn decode(body: &[u8]) -> Result<Decoded, ClientError>`
//! - `pub struct ResponsesStreamEncoder` with `pub fn new(model: &str) -> Self`, implementing `StreamEncoder`
//! - `pub fn response_json(collected: &Collected, model: &str) -> Vec<u8>` (a `response` object)

use crate::ir::StreamEvent;
use crate::surfaces::collect::Collected;
use crate::surfaces::{ClientError, Decoded, StreamEncoder};

/// Decode a Responses request.
pub fn decode(_body: &[u8]) -> Result<Decoded, ClientError> {
    todo!("surfaces::openai_responses::decode")
}

/// Encodes IR events as Responses SSE.
pub struct ResponsesStreamEncoder;

impl ResponsesStreamEncoder {
    /// An encoder naming `model`.
    pub fn new(_model: &str) -> Self {
        ResponsesStreamEncoder
    }
}

impl StreamEncoder for ResponsesStreamEncoder {
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

/// A complete `response` object.
pub fn response_json(_collected: &Collected, _model: &str) -> Vec<u8> {
    todo!()
}
