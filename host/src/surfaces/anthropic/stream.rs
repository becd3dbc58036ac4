//! IR stream events into Messages SSE, as api.anthropic.com sends them: `message_start`
//! then a `ping`, one `content_block_start` / `content_block_delta`... /
//! `content_block_stop` run per block with increasing `index`, then `message_delta`
//! (stop reason and usage) and `message_stop`. Every frame has its `event:` line
//! (Claude Code ignores frames without one).
//!
//! Anthropic blocks never interleave: a block closes before the next opens. IR events
//! for a new block therefore close the open one first. A late arguments fragment for a
//! tool call whose block already closed cannot be sent and is dropped; upstreams stream
//! parallel calls one after another, so this does not happen in practice.
//!
//! Deltas are the hot path (one per upstream event), so they are written straight into
//! the output buffer; only strings go through the JSON escaper.

use std::io::Write as _;

use serde_json::{Value, json};

use super::error_body;
use super::message::{message_id, stop_reason, usage_json};
use crate::ir::{self, Finish, ResponseMetadata, StreamEvent, ToolCallPart};
use crate::surfaces::opaque_reasoning;
use crate::surfaces::{ClientError, ErrorKind, StreamEncoder};

/// Encodes one response as Messages SSE.
#[derive(Debug)]
pub struct MessagesStreamEncoder {
    /// The model name the client asked for; `message_start` carries it back.
    model: String,
    /// `message_start` and the first `ping` went out.
    started: bool,
    /// The `index` the next block gets.
    next_index: usize,
    /// The block now open, if any.
    open: Option<OpenBlock>,
    /// Every tool call announced, in order.
    tools: Vec<ToolSlot>,
    /// `message_delta` went out.
    finished: bool,
    /// Nothing more may be written (after an error or `message_stop`).
    ended: bool,
}

/// What kind of block is open; IR text and reasoning ids are separate namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Text,
    Thinking,
    ToolUse,
}

/// The open block: its kind, IR id and wire index.
#[derive(Debug)]
struct OpenBlock {
    kind: BlockKind,
    id: String,
    index: usize,
}

/// A tool call the client has heard about.
#[derive(Debug)]
struct ToolSlot {
    id: String,
    /// Some arguments went out, so the complete call adds nothing.
    arguments_sent: bool,
}

impl MessagesStreamEncoder {
    /// An encoder for a response to a request for `model`.
    pub fn new(model: &str) -> Self {
        Self {
            model: model.to_owned(),
            started: false,
            next_index: 0,
            open: None,
            tools: Vec::new(),
            finished: false,
            ended: false,
        }
    }

    /// `message_start` and a `ping`, once. Usage is unknown until the upstream finishes,
    /// so it starts at zero and `message_delta` carries the real counts.
    fn start(&mut self, metadata: Option<&ResponseMetadata>, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let message = json!({
            "type": "message_start",
            "message": {
                "id": message_id(metadata.and_then(|m| m.id.as_deref())),
                "type": "message",
                "role": "assistant",
                "model": self.model,
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": {
                    "input_tokens": 0,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                    "output_tokens": 0,
                },
            },
        });
        frame(out, "message_start", &message);
        frame(out, "ping", &json!({"type": "ping"}));
    }

    fn is_open(&self, kind: BlockKind, id: &str) -> bool {
        self.open
            .as_ref()
            .is_some_and(|open| open.kind == kind && open.id == id)
    }

    /// Closes the open block, opens a new one described by `content_block`.
    fn open_block(
        &mut self,
        kind: BlockKind,
        id: &str,
        content_block: Value,
        out: &mut Vec<u8>,
    ) -> usize {
        self.start(None, out);
        self.close_block(out);
        let index = self.next_index;
        self.next_index += 1;
        frame(
            out,
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": content_block}),
        );
        self.open = Some(OpenBlock {
            kind,
            id: id.to_owned(),
            index,
        });
        index
    }

    fn close_block(&mut self, out: &mut Vec<u8>) {
        if let Some(open) = self.open.take() {
            out.extend_from_slice(
                b"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":",
            );
            write!(out, "{}", open.index).expect("writing to a Vec cannot fail");
            out.extend_from_slice(b"}\n\n");
        }
    }

    /// A `content_block_delta` for the open block: `{"type": delta_type, field: text}`.
    fn delta(&self, delta_type: &str, field: &str, text: &str, out: &mut Vec<u8>) {
        let Some(open) = &self.open else { return };
        out.extend_from_slice(
            b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":",
        );
        write!(out, "{}", open.index).expect("writing to a Vec cannot fail");
        out.extend_from_slice(b",\"delta\":{\"type\":");
        push_json_string(out, delta_type);
        out.push(b',');
        push_json_string(out, field);
        out.push(b':');
        push_json_string(out, text);
        out.extend_from_slice(b"}}\n\n");
    }

    /// Text or thinking fragment; a fragment for a block that is not open opens it (an
    /// adapter may skip start events).
    fn block_delta(&mut self, kind: BlockKind, id: &str, text: &str, out: &mut Vec<u8>) {
        if text.is_empty() {
            return;
        }
        if !self.is_open(kind, id) {
            self.open_block(kind, id, empty_block(kind), out);
        }
        match kind {
            BlockKind::Text => self.delta("text_delta", "text", text, out),
            BlockKind::Thinking => self.delta("thinking_delta", "thinking", text, out),
            BlockKind::ToolUse => self.delta("input_json_delta", "partial_json", text, out),
        }
    }

    /// The end of a reasoning block: its signature goes out as a `signature_delta`
    /// before the stop; a redacted block that was never opened is sent whole.
    fn reasoning_end(
        &mut self,
        id: &str,
        signature: Option<&str>,
        redacted: Option<&str>,
        out: &mut Vec<u8>,
    ) {
        if !self.is_open(BlockKind::Thinking, id) {
            match (redacted, signature.filter(|s| !s.is_empty())) {
                (Some(data), _) => {
                    let block = json!({"type": "redacted_thinking", "data": data});
                    self.open_block(BlockKind::Thinking, id, block, out);
                    self.close_block(out);
                    return;
                }
                (None, Some(_)) => {
                    self.open_block(
                        BlockKind::Thinking,
                        id,
                        empty_block(BlockKind::Thinking),
                        out,
                    );
                }
                (None, None) => return,
            }
        }
        // Thinking text was streamed: a redacted payload (OpenAI encrypted reasoning)
        // can only ride in the signature, behind its marker.
        if let Some(signature) = opaque_reasoning::as_signature(signature, redacted) {
            self.delta("signature_delta", "signature", &signature, out);
        }
        self.close_block(out);
    }

    fn tool_slot(&self, id: &str) -> Option<usize> {
        // An empty id (a contract breach) never matches, so two such calls stay apart.
        if id.is_empty() {
            return None;
        }
        self.tools.iter().position(|slot| slot.id == id)
    }

    fn tool_start(&mut self, id: &str, name: &str, out: &mut Vec<u8>) -> usize {
        let block = json!({"type": "tool_use", "id": id, "name": name, "input": {}});
        self.open_block(BlockKind::ToolUse, id, block, out);
        self.tools.push(ToolSlot {
            id: id.to_owned(),
            arguments_sent: false,
        });
        self.tools.len() - 1
    }

    fn tool_delta(&mut self, id: &str, delta: &str, out: &mut Vec<u8>) {
        let slot = match self.tool_slot(id) {
            Some(slot) => slot,
            None => self.tool_start(id, "", out),
        };
        if delta.is_empty() || !self.is_open(BlockKind::ToolUse, id) {
            return;
        }
        self.tools[slot].arguments_sent = true;
        self.delta("input_json_delta", "partial_json", delta, out);
    }

    /// The complete call: sent whole if no input events announced it, or its arguments
    /// alone if the input events carried none.
    fn tool_call(&mut self, call: &ToolCallPart, out: &mut Vec<u8>) {
        let slot = match self.tool_slot(&call.id) {
            Some(slot) if self.tools[slot].arguments_sent => return,
            Some(slot) => slot,
            None => self.tool_start(&call.id, &call.name, out),
        };
        self.tools[slot].arguments_sent = true;
        if !call.arguments.is_empty() && self.is_open(BlockKind::ToolUse, &call.id) {
            self.delta("input_json_delta", "partial_json", &call.arguments, out);
        }
    }

    fn message_delta(&mut self, finish: Option<&Finish>, out: &mut Vec<u8>) {
        self.start(None, out);
        self.close_block(out);
        self.finished = true;
        let (reason, sequence) = stop_reason(finish, !self.tools.is_empty());
        let usage = finish.map(|f| f.usage).unwrap_or_default();
        frame(
            out,
            "message_delta",
            &json!({
                "type": "message_delta",
                "delta": {"stop_reason": reason, "stop_sequence": sequence},
                "usage": usage_json(&usage),
            }),
        );
    }
}

impl StreamEncoder for MessagesStreamEncoder {
    fn event(&mut self, event: &StreamEvent, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        match event {
            StreamEvent::ResponseMetadata(metadata) => self.start(Some(metadata), out),
            StreamEvent::TextStart(id) => {
                if !self.is_open(BlockKind::Text, id) {
                    self.open_block(BlockKind::Text, id, empty_block(BlockKind::Text), out);
                }
            }
            StreamEvent::TextDelta { id, delta } => {
                self.block_delta(BlockKind::Text, id, delta, out)
            }
            StreamEvent::TextEnd(id) => {
                if self.is_open(BlockKind::Text, id) {
                    self.close_block(out);
                }
            }
            StreamEvent::ReasoningStart(id) => {
                if !self.is_open(BlockKind::Thinking, id) {
                    self.open_block(
                        BlockKind::Thinking,
                        id,
                        empty_block(BlockKind::Thinking),
                        out,
                    );
                }
            }
            StreamEvent::ReasoningDelta { id, delta } => {
                self.block_delta(BlockKind::Thinking, id, delta, out)
            }
            StreamEvent::ReasoningEnd {
                id,
                signature,
                redacted,
            } => self.reasoning_end(id, signature.as_deref(), redacted.as_deref(), out),
            StreamEvent::ToolInputStart { id, name } => {
                if self.tool_slot(id).is_none() {
                    self.tool_start(id, name, out);
                }
            }
            StreamEvent::ToolInputDelta { id, delta } => self.tool_delta(id, delta, out),
            // The block stays open: the complete call may still bring arguments.
            StreamEvent::ToolInputEnd(_) => {}
            StreamEvent::ToolCall(call) => self.tool_call(call, out),
            StreamEvent::Finish(finish) => {
                if !self.finished {
                    self.message_delta(Some(finish), out);
                }
            }
            StreamEvent::Error(error) => self.error(&stream_error(error), out),
            // Raw bytes never reach a re-encoding surface.
            StreamEvent::Raw(_) => {}
        }
    }

    /// An `event: error` frame, as the API sends mid-stream; the stream ends after it.
    fn error(&mut self, error: &ClientError, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        self.ended = true;
        out.extend_from_slice(b"event: error\ndata: ");
        out.extend_from_slice(&error_body(error));
        out.extend_from_slice(b"\n\n");
    }

    fn done(&mut self, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        if !self.finished {
            // The upstream ended without saying why; clients still need a stop reason.
            self.message_delta(None, out);
        }
        self.ended = true;
        frame(out, "message_stop", &json!({"type": "message_stop"}));
    }
}

/// The client error for a mid-stream upstream error: its class says the kind. An
/// unclassified one (class `other`, all a 0.1 adapter can say) whose message says
/// overloaded (Anthropic's own `overloaded_error`) gets `overloaded_error`, which
/// clients retry.
fn stream_error(error: &ir::UpstreamError) -> ClientError {
    let mut client = ClientError::from(error);
    if error.class == ir::ErrorClass::Other
        && error.message.to_ascii_lowercase().contains("overloaded")
    {
        client.kind = ErrorKind::Overloaded;
    }
    client
}

/// The `content_block` of a `content_block_start` for a block that fills by deltas.
fn empty_block(kind: BlockKind) -> Value {
    match kind {
        BlockKind::Text => json!({"type": "text", "text": ""}),
        BlockKind::Thinking => json!({"type": "thinking", "thinking": "", "signature": ""}),
        BlockKind::ToolUse => json!({"type": "tool_use", "id": "", "name": "", "input": {}}),
    }
}

/// One SSE frame: `event: NAME`, `data: JSON`, blank line.
fn frame(out: &mut Vec<u8>, name: &str, data: &Value) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    serde_json::to_writer(&mut *out, data).expect("writing to a Vec cannot fail");
    out.extend_from_slice(b"\n\n");
}

/// Appends `text` as a JSON string literal.
fn push_json_string(out: &mut Vec<u8>, text: &str) {
    serde_json::to_writer(out, text).expect("writing to a Vec cannot fail");
}
