//! Client dialects. Each module decodes its dialect's request into the IR and encodes
//! IR stream events back into that dialect's SSE or JSON, errors included.
//!
//! API CONTRACT (consumed by `pipeline` and `server`): the items in this file and the
//! functions listed on each dialect module are fixed; their bodies are being written.

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
    /// The request in IR form; `request.model` is still the client's name until routing
    /// replaces it with the upstream id.
    pub request: ChatRequest,
}

/// What went wrong, in terms every dialect can express.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: malformed or unsupported request.
    InvalidRequest,
    /// 401: missing or wrong client key.
    Authentication,
    /// 403: not allowed (e.g. egress refused).
    Permission,
    /// 404: unknown model or route.
    NotFound,
    /// 413: body too large.
    PayloadTooLarge,
    /// 429: every account is rate limited or out of quota.
    RateLimited,
    /// 500: a bug, or an adapter that trapped.
    Internal,
    /// 502: the upstream failed or answered garbage.
    Upstream,
    /// 503: overloaded (upstream or sandbox pool).
    Overloaded,
    /// 504: the upstream timed out.
    Timeout,
}

impl ErrorKind {
    /// The HTTP status for this kind.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::InvalidRequest => 400,
            ErrorKind::Authentication => 401,
            ErrorKind::Permission => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::RateLimited => 429,
            ErrorKind::Internal => 500,
            ErrorKind::Upstream => 502,
            ErrorKind::Overloaded => 503,
            ErrorKind::Timeout => 504,
        }
    }
}

/// An error to send to the client, in its dialect's shape.
#[derive(Debug, Clone)]
pub struct ClientError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// A message fit for the client (never a secret).
    pub message: String,
    /// Machine-readable code, e.g. `model_not_found`, `invalid_api_key`.
    pub code: Option<String>,
    /// The request field at fault, if any.
    pub param: Option<String>,
}

impl ClientError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            code: None,
            param: None,
        }
    }
    /// With a machine-readable code.
    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
    /// With the request field at fault.
    pub fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }
}

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
