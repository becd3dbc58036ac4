//! The response side: stream events and what they carry.

use super::super::{options_from_wit, options_to_wit};
use crate::ir;
use crate::runtime::bindings::v0_1::types as wit;

impl From<ir::FinishReason> for wit::FinishReason {
    fn from(reason: ir::FinishReason) -> Self {
        match reason {
            ir::FinishReason::Stop => wit::FinishReason::Stop,
            ir::FinishReason::Length => wit::FinishReason::Length,
            ir::FinishReason::ContentFilter => wit::FinishReason::ContentFilter,
            ir::FinishReason::ToolCalls => wit::FinishReason::ToolCalls,
            ir::FinishReason::Error => wit::FinishReason::Error,
            ir::FinishReason::Other => wit::FinishReason::Other,
        }
    }
}

impl From<wit::FinishReason> for ir::FinishReason {
    fn from(reason: wit::FinishReason) -> Self {
        match reason {
            wit::FinishReason::Stop => ir::FinishReason::Stop,
            wit::FinishReason::Length => ir::FinishReason::Length,
            wit::FinishReason::ContentFilter => ir::FinishReason::ContentFilter,
            wit::FinishReason::ToolCalls => ir::FinishReason::ToolCalls,
            wit::FinishReason::Error => ir::FinishReason::Error,
            wit::FinishReason::Other => ir::FinishReason::Other,
        }
    }
}

impl From<ir::Usage> for wit::Usage {
    fn from(u: ir::Usage) -> Self {
        Self {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            cache_read_tokens: u.cache_read_tokens,
            cache_write_tokens: u.cache_write_tokens,
            reasoning_tokens: u.reasoning_tokens,
        }
    }
}

impl From<wit::Usage> for ir::Usage {
    fn from(u: wit::Usage) -> Self {
        Self {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            cache_read_tokens: u.cache_read_tokens,
            cache_write_tokens: u.cache_write_tokens,
            reasoning_tokens: u.reasoning_tokens,
        }
    }
}

impl From<ir::Finish> for wit::Finish {
    fn from(f: ir::Finish) -> Self {
        Self {
            reason: f.reason.into(),
            raw_reason: f.raw_reason,
            usage: f.usage.into(),
            options: options_to_wit(f.options),
        }
    }
}

impl From<wit::Finish> for ir::Finish {
    fn from(f: wit::Finish) -> Self {
        Self {
            reason: f.reason.into(),
            raw_reason: f.raw_reason,
            usage: f.usage.into(),
            options: options_from_wit(f.options),
        }
    }
}

impl From<ir::ResponseMetadata> for wit::ResponseMetadata {
    fn from(m: ir::ResponseMetadata) -> Self {
        Self {
            id: m.id,
            model: m.model,
            created: m.created,
        }
    }
}

impl From<wit::ResponseMetadata> for ir::ResponseMetadata {
    fn from(m: wit::ResponseMetadata) -> Self {
        Self {
            id: m.id,
            model: m.model,
            created: m.created,
        }
    }
}

impl From<ir::ErrorKind> for wit::ErrorKind {
    fn from(kind: ir::ErrorKind) -> Self {
        match kind {
            ir::ErrorKind::InvalidRequest => wit::ErrorKind::InvalidRequest,
            ir::ErrorKind::Unsupported => wit::ErrorKind::Unsupported,
            ir::ErrorKind::Upstream => wit::ErrorKind::Upstream,
            ir::ErrorKind::Internal => wit::ErrorKind::Internal,
        }
    }
}

impl From<wit::ErrorKind> for ir::ErrorKind {
    fn from(kind: wit::ErrorKind) -> Self {
        match kind {
            wit::ErrorKind::InvalidRequest => ir::ErrorKind::InvalidRequest,
            wit::ErrorKind::Unsupported => ir::ErrorKind::Unsupported,
            wit::ErrorKind::Upstream => ir::ErrorKind::Upstream,
            wit::ErrorKind::Internal => ir::ErrorKind::Internal,
        }
    }
}

impl From<ir::AdapterError> for wit::AdapterError {
    fn from(e: ir::AdapterError) -> Self {
        Self {
            kind: e.kind.into(),
            message: e.message,
        }
    }
}

impl From<wit::AdapterError> for ir::AdapterError {
    fn from(e: wit::AdapterError) -> Self {
        Self {
            kind: e.kind.into(),
            message: e.message,
        }
    }
}

impl From<ir::StreamEvent> for wit::StreamEvent {
    fn from(event: ir::StreamEvent) -> Self {
        use ir::StreamEvent as E;
        match event {
            E::ResponseMetadata(m) => wit::StreamEvent::ResponseMetadata(m.into()),
            E::TextStart(id) => wit::StreamEvent::TextStart(id),
            E::TextDelta { id, delta } => wit::StreamEvent::TextDelta(wit::Delta { id, delta }),
            E::TextEnd(id) => wit::StreamEvent::TextEnd(id),
            E::ReasoningStart(id) => wit::StreamEvent::ReasoningStart(id),
            E::ReasoningDelta { id, delta } => {
                wit::StreamEvent::ReasoningDelta(wit::Delta { id, delta })
            }
            E::ReasoningEnd {
                id,
                signature,
                redacted,
            } => wit::StreamEvent::ReasoningEnd(wit::ReasoningEnd {
                id,
                signature,
                redacted,
            }),
            E::ToolInputStart { id, name } => {
                wit::StreamEvent::ToolInputStart(wit::ToolInputStart { id, name })
            }
            E::ToolInputDelta { id, delta } => {
                wit::StreamEvent::ToolInputDelta(wit::Delta { id, delta })
            }
            E::ToolInputEnd(id) => wit::StreamEvent::ToolInputEnd(id),
            E::ToolCall(call) => wit::StreamEvent::ToolCall(call.into()),
            E::Finish(finish) => wit::StreamEvent::Finish(finish.into()),
            E::Raw(bytes) => wit::StreamEvent::Raw(bytes),
            // A 0.1 fixup sees the error as 0.1 had it: an upstream adapter error.
            E::Error(error) => wit::StreamEvent::Error(wit::AdapterError {
                kind: wit::ErrorKind::Upstream,
                message: error.message,
            }),
        }
    }
}

impl From<wit::StreamEvent> for ir::StreamEvent {
    fn from(event: wit::StreamEvent) -> Self {
        use ir::StreamEvent as E;
        match event {
            wit::StreamEvent::ResponseMetadata(m) => E::ResponseMetadata(m.into()),
            wit::StreamEvent::TextStart(id) => E::TextStart(id),
            wit::StreamEvent::TextDelta(d) => E::TextDelta {
                id: d.id,
                delta: d.delta,
            },
            wit::StreamEvent::TextEnd(id) => E::TextEnd(id),
            wit::StreamEvent::ReasoningStart(id) => E::ReasoningStart(id),
            wit::StreamEvent::ReasoningDelta(d) => E::ReasoningDelta {
                id: d.id,
                delta: d.delta,
            },
            wit::StreamEvent::ReasoningEnd(end) => E::ReasoningEnd {
                id: end.id,
                signature: end.signature,
                redacted: end.redacted,
            },
            wit::StreamEvent::ToolInputStart(start) => E::ToolInputStart {
                id: start.id,
                name: start.name,
            },
            wit::StreamEvent::ToolInputDelta(d) => E::ToolInputDelta {
                id: d.id,
                delta: d.delta,
            },
            wit::StreamEvent::ToolInputEnd(id) => E::ToolInputEnd(id),
            wit::StreamEvent::ToolCall(call) => E::ToolCall(call.into()),
            wit::StreamEvent::Finish(finish) => E::Finish(finish.into()),
            wit::StreamEvent::Raw(bytes) => E::Raw(bytes),
            // 0.1 did not classify stream errors: routed as class `other`.
            wit::StreamEvent::Error(error) => E::Error(ir::UpstreamError {
                class: ir::ErrorClass::Other,
                message: error.message,
            }),
        }
    }
}

/// Events from a guest, in host form.
pub fn events_from_wit(events: Vec<wit::StreamEvent>) -> Vec<ir::StreamEvent> {
    events.into_iter().map(Into::into).collect()
}

/// Events for a guest, in WIT form.
pub fn events_to_wit(events: Vec<ir::StreamEvent>) -> Vec<wit::StreamEvent> {
    events.into_iter().map(Into::into).collect()
}
