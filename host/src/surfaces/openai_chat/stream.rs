//! IR stream events into `chat.completion.chunk` SSE frames, as OpenAI sends them:
//! one role chunk first, then content / reasoning / tool-call deltas, a finish chunk with
//! an empty delta, the usage chunk (`choices: []`) when asked, then `data: [DONE]`.
//!
//! This runs once per upstream event, so frames are written straight into the output
//! buffer: the chunk envelope (id, created, model) is rendered once and reused, and only
//! strings go through the JSON escaper.

use std::io::Write as _;

use crate::ir::{ResponseMetadata, StreamEvent, ToolCallPart, Usage};
use crate::surfaces::{ClientError, StreamEncoder};

use super::completion::{completion_id, finish_reason, now_unix, usage_json};
use super::error_body;

/// Encodes one response as Chat Completions SSE.
#[derive(Debug)]
pub struct ChatStreamEncoder {
    /// The model name the client asked for; chunks carry it back.
    model: String,
    /// Send the usage chunk and `usage: null` on every other chunk.
    include_usage: bool,
    /// `data: {"id":..,"object":..,"created":..,"model":..,"system_fingerprint":null,"choices":[`,
    /// rendered once the first event arrives.
    envelope: Vec<u8>,
    /// The role chunk went out.
    role_sent: bool,
    /// Tool calls in the order they began; the position is the call's `index`.
    tool_calls: Vec<ToolSlot>,
    /// Usage from the finish event.
    usage: Usage,
    /// The finish chunk went out.
    finished: bool,
    /// Nothing more may be written (after an error or the closing frames).
    ended: bool,
}

/// A tool call the client has heard about.
#[derive(Debug)]
struct ToolSlot {
    id: String,
    /// Some arguments went out, so the complete call adds nothing.
    arguments_sent: bool,
}

impl ChatStreamEncoder {
    /// An encoder for a response to a request for `model`; `include_usage` is the
    /// request's `stream_options.include_usage`.
    pub fn new(model: &str, include_usage: bool) -> Self {
        Self {
            model: model.to_owned(),
            include_usage,
            envelope: Vec::new(),
            role_sent: false,
            tool_calls: Vec::new(),
            usage: Usage::default(),
            finished: false,
            ended: false,
        }
    }

    /// Renders the envelope from the upstream identity, if not done yet: the id must stay
    /// the same on every chunk, so the first event decides it.
    fn ensure_envelope(&mut self, metadata: Option<&ResponseMetadata>) {
        if !self.envelope.is_empty() {
            return;
        }
        let id = completion_id(metadata.and_then(|m| m.id.as_deref()));
        let created = metadata.and_then(|m| m.created).unwrap_or_else(now_unix);
        let out = &mut self.envelope;
        out.extend_from_slice(b"data: {\"id\":");
        push_json_string(out, &id);
        out.extend_from_slice(b",\"object\":\"chat.completion.chunk\",\"created\":");
        write!(out, "{created}").expect("writing to a Vec cannot fail");
        out.extend_from_slice(b",\"model\":");
        push_json_string(out, &self.model);
        out.extend_from_slice(b",\"system_fingerprint\":null,\"choices\":[");
    }

    /// The first chunk, as OpenAI sends it: the role, empty content, no refusal.
    fn send_role(&mut self, out: &mut Vec<u8>) {
        if self.role_sent {
            return;
        }
        self.role_sent = true;
        self.ensure_envelope(None);
        out.extend_from_slice(&self.envelope);
        out.extend_from_slice(
            b"{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}",
        );
        self.close_chunk(out);
    }

    /// Closes a chunk opened with [`Self::open_choice`] or the envelope.
    fn close_chunk(&self, out: &mut Vec<u8>) {
        if self.include_usage {
            out.extend_from_slice(b"],\"usage\":null}\n\n");
        } else {
            out.extend_from_slice(b"]}\n\n");
        }
    }

    /// Starts a chunk with one choice, up to the inside of `delta`; the role chunk goes
    /// first if it has not yet.
    fn open_choice(&mut self, out: &mut Vec<u8>) {
        self.send_role(out);
        out.extend_from_slice(&self.envelope);
        out.extend_from_slice(b"{\"index\":0,\"delta\":{");
    }

    /// Ends a choice opened with [`Self::open_choice`] whose delta was written.
    fn close_choice(&self, out: &mut Vec<u8>, finish_reason: Option<&str>) {
        out.extend_from_slice(b"},\"logprobs\":null,\"finish_reason\":");
        match finish_reason {
            Some(reason) => push_json_string(out, reason),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
        self.close_chunk(out);
    }

    /// A chunk whose delta is one string field (`content`, `reasoning_content`).
    fn string_delta(&mut self, field: &str, text: &str, out: &mut Vec<u8>) {
        if text.is_empty() {
            return;
        }
        self.open_choice(out);
        push_json_string(out, field);
        out.push(b':');
        push_json_string(out, text);
        self.close_choice(out, None);
    }

    /// A `tool_calls` delta: the opening one carries id, type and name.
    fn tool_delta(
        &mut self,
        index: usize,
        opening: Option<(&str, &str)>,
        arguments: &str,
        out: &mut Vec<u8>,
    ) {
        self.open_choice(out);
        out.extend_from_slice(b"\"tool_calls\":[{\"index\":");
        write!(out, "{index}").expect("writing to a Vec cannot fail");
        if let Some((id, name)) = opening {
            out.extend_from_slice(b",\"id\":");
            push_json_string(out, id);
            out.extend_from_slice(b",\"type\":\"function\",\"function\":{\"name\":");
            push_json_string(out, name);
            out.extend_from_slice(b",\"arguments\":");
        } else {
            out.extend_from_slice(b",\"function\":{\"arguments\":");
        }
        push_json_string(out, arguments);
        out.extend_from_slice(b"}}]");
        self.close_choice(out, None);
    }

    /// The index of call `id`; an empty id (a contract breach) never matches, so two
    /// such calls are not merged into one.
    fn tool_index(&self, id: &str) -> Option<usize> {
        if id.is_empty() {
            return None;
        }
        self.tool_calls.iter().position(|slot| slot.id == id)
    }

    fn tool_input_start(&mut self, id: &str, name: &str, out: &mut Vec<u8>) -> usize {
        let index = self.tool_calls.len();
        self.tool_calls.push(ToolSlot {
            id: id.to_owned(),
            arguments_sent: false,
        });
        self.tool_delta(index, Some((id, name)), "", out);
        index
    }

    fn tool_input_delta(&mut self, id: &str, delta: &str, out: &mut Vec<u8>) {
        // An adapter that skipped the start still gets its call announced (name unknown).
        let index = match self.tool_index(id) {
            Some(index) => index,
            None => self.tool_input_start(id, "", out),
        };
        if delta.is_empty() {
            return;
        }
        self.tool_calls[index].arguments_sent = true;
        self.tool_delta(index, None, delta, out);
    }

    /// The complete call: sent whole if no input events announced it, or its arguments
    /// alone if the input events carried none.
    fn tool_call(&mut self, call: &ToolCallPart, out: &mut Vec<u8>) {
        match self.tool_index(&call.id) {
            Some(index) if !self.tool_calls[index].arguments_sent => {
                self.tool_calls[index].arguments_sent = true;
                if !call.arguments.is_empty() {
                    self.tool_delta(index, None, &call.arguments, out);
                }
            }
            Some(_) => {}
            None => {
                let index = self.tool_calls.len();
                self.tool_calls.push(ToolSlot {
                    id: call.id.clone(),
                    arguments_sent: true,
                });
                self.tool_delta(index, Some((&call.id, &call.name)), &call.arguments, out);
            }
        }
    }

    fn finish_chunk(&mut self, reason: &str, out: &mut Vec<u8>) {
        self.finished = true;
        self.open_choice(out);
        self.close_choice(out, Some(reason));
    }
}

impl StreamEncoder for ChatStreamEncoder {
    fn event(&mut self, event: &StreamEvent, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        match event {
            StreamEvent::ResponseMetadata(metadata) => {
                self.ensure_envelope(Some(metadata));
                // The role chunk now: the client sees bytes as soon as the upstream answers.
                self.send_role(out);
            }
            StreamEvent::TextDelta { delta, .. } => self.string_delta("content", delta, out),
            StreamEvent::ReasoningDelta { delta, .. } => {
                self.string_delta("reasoning_content", delta, out)
            }
            StreamEvent::ToolInputStart { id, name } => {
                if self.tool_index(id).is_none() {
                    self.tool_input_start(id, name, out);
                }
            }
            StreamEvent::ToolInputDelta { id, delta } => self.tool_input_delta(id, delta, out),
            StreamEvent::ToolCall(call) => self.tool_call(call, out),
            StreamEvent::Finish(finish) => {
                if !self.finished {
                    self.usage = finish.usage;
                    let reason = finish_reason(finish.reason, !self.tool_calls.is_empty());
                    self.finish_chunk(reason, out);
                }
            }
            StreamEvent::Error(error) => self.error(&ClientError::from(error), out),
            // Block boundaries have no wire form in Chat Completions; a reasoning
            // signature has no field either. Raw bytes never reach a re-encoding surface.
            StreamEvent::TextStart(_)
            | StreamEvent::TextEnd(_)
            | StreamEvent::ReasoningStart(_)
            | StreamEvent::ReasoningEnd { .. }
            | StreamEvent::ToolInputEnd(_)
            | StreamEvent::Raw(_) => {}
        }
    }

    fn error(&mut self, error: &ClientError, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        self.ended = true;
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&error_body(error));
        out.extend_from_slice(b"\n\n");
    }

    fn done(&mut self, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        if !self.finished {
            // The upstream ended without saying why; clients still need a finish_reason.
            let reason = if self.tool_calls.is_empty() {
                "stop"
            } else {
                "tool_calls"
            };
            self.finish_chunk(reason, out);
        }
        self.ended = true;
        if self.include_usage {
            self.ensure_envelope(None);
            out.extend_from_slice(&self.envelope);
            out.extend_from_slice(b"],\"usage\":");
            serde_json::to_writer(&mut *out, &usage_json(&self.usage))
                .expect("writing to a Vec cannot fail");
            out.extend_from_slice(b"}\n\n");
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
    }
}

/// Appends `text` as a JSON string literal.
fn push_json_string(out: &mut Vec<u8>, text: &str) {
    serde_json::to_writer(out, text).expect("writing to a Vec cannot fail");
}
