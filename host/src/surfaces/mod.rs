//! Client dialects. Each module decodes its dialect's request into the IR and encodes
//! IR stream events back into that dialect's SSE or JSON, errors included.
//!
//! The items in this file are what `pipeline` and `server` use of every dialect; each
//! dialect module's own doc lists the functions it offers them.

pub mod anthropic;
pub mod collect;
pub mod gemini;
pub mod json_fields;
pub mod opaque_reasoning;
pub mod openai_chat;
pub mod openai_responses;
pub mod token_estimate;

use crate::ir::{ChatRequest, Dialect, StreamEvent};

/// A client request decoded from its dialect.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The dialect it came in.
    pub dialect: Dialect,
    /// The model exactly as the client named it (id, alias or `provider/model`).
    pub model: String,
    /// Whether the client wants a stream.
    pub stream: bool,
    /// OpenAI `stream_options.include_usage`: send a usage chunk before `[DONE]`.
    pub include_usage: bool,
    /// The request in IR form (the model is not in it: `model` above is the client's
    /// name, routing picks the upstream id).
    pub request: ChatRequest,
}

pub use crate::failure::{ClientError, ErrorKind};

/// Turns IR events into the bytes of a client's stream (SSE frames).
pub trait StreamEncoder: Send {
    /// Append the frames for one event to `out` (possibly none).
    fn event(&mut self, event: &StreamEvent, out: &mut Vec<u8>);
    /// Append an in-stream error frame; the stream ends after it.
    fn error(&mut self, error: &ClientError, out: &mut Vec<u8>);
    /// Append the closing frames (OpenAI: the usage chunk if asked, then `data: [DONE]`).
    fn done(&mut self, out: &mut Vec<u8>);
}

/// A model as listed by `/v1/models`.
#[derive(Debug, Clone)]
pub struct ListedModel {
    /// The name clients use (alias, or upstream id).
    pub id: String,
    /// The provider entry serving it.
    pub owned_by: String,
}
