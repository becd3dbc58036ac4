//! IR stream events into Gemini stream chunks. Every chunk is a whole
//! `GenerateContentResponse` holding only what is new: text parts, `thought` parts,
//! complete `functionCall` parts (Gemini never streams partial arguments), and on the
//! last chunk `finishReason` and `usageMetadata`.
//!
//! Two framings, chosen by the URL: `alt=sse` gives `data: {chunk}\r\n\r\n` events (what
//! Gemini sends; the Gemini CLI and google-genai use it), otherwise the chunks form one
//! JSON array written as it grows: `[` before the first, `,\r\n` between, `]` at the end.

use serde_json::Value;

use super::error_body;
use super::response::{call_part, response_id, response_object, thought_part};
use crate::ir::{Finish, FinishReason, StreamEvent, ToolCallPart, Usage};
use crate::surfaces::opaque_reasoning;
use crate::surfaces::{ClientError, StreamEncoder};

/// Encodes one response as Gemini stream chunks.
#[derive(Debug)]
pub struct GeminiStreamEncoder {
    /// The model the client named; every chunk's `modelVersion`.
    model: String,
    /// `alt=sse` framing, else a JSON array.
    sse: bool,
    /// The same on every chunk: fixed by the first event that needs it.
    response_id: Option<String>,
    /// A chunk went out (the array is open).
    started: bool,
    /// Calls announced by input events whose complete `ToolCall` has not come yet:
    /// (id, name, arguments so far). Sent at the finish if it never comes.
    pending_calls: Vec<(String, String, String)>,
    /// Ids of the calls sent, so a repeated `ToolCall` is not sent twice.
    sent_calls: Vec<String>,
    /// The last chunk (with `finishReason`) went out.
    finished: bool,
    /// Nothing more may be written (after an error or the closing bytes).
    ended: bool,
}

impl GeminiStreamEncoder {
    /// An encoder naming `model`; `sse` for `alt=sse`, else a JSON array.
    pub fn new(model: &str, sse: bool) -> Self {
        Self {
            model: model.to_owned(),
            sse,
            response_id: None,
            started: false,
            pending_calls: Vec::new(),
            sent_calls: Vec::new(),
            finished: false,
            ended: false,
        }
    }

    /// Writes one chunk in the stream's framing.
    fn write(&mut self, chunk: &Value, out: &mut Vec<u8>) {
        if self.sse {
            out.extend_from_slice(b"data: ");
            serde_json::to_writer(&mut *out, chunk).expect("writing to a Vec cannot fail");
            out.extend_from_slice(b"\r\n\r\n");
        } else {
            out.extend_from_slice(if self.started { b",\r\n" } else { b"[" });
            serde_json::to_writer(&mut *out, chunk).expect("writing to a Vec cannot fail");
        }
        self.started = true;
    }

    /// A chunk of parts (and, last, the finish).
    fn chunk(&mut self, parts: Vec<Value>, finish: Option<&Finish>, out: &mut Vec<u8>) {
        let id = self
            .response_id
            .get_or_insert_with(|| response_id(None))
            .clone();
        let chunk = response_object(parts, finish, &self.model, &id);
        self.write(&chunk, out);
    }

    fn tool_call(&mut self, call: &ToolCallPart, out: &mut Vec<u8>) {
        self.pending_calls.retain(|(id, _, _)| id != &call.id);
        if !call.id.is_empty() && self.sent_calls.contains(&call.id) {
            return;
        }
        self.sent_calls.push(call.id.clone());
        let part = call_part(&call.id, &call.name, &call.arguments, &call.options);
        self.chunk(vec![part], None, out);
    }

    /// Calls whose complete event never came go out as their input events built them.
    fn flush_pending_calls(&mut self, out: &mut Vec<u8>) {
        for (id, name, arguments) in std::mem::take(&mut self.pending_calls) {
            let call = ToolCallPart {
                id,
                name,
                arguments,
                options: None,
            };
            self.tool_call(&call, out);
        }
    }

    fn finish(&mut self, finish: &Finish, out: &mut Vec<u8>) {
        self.flush_pending_calls(out);
        self.finished = true;
        self.chunk(Vec::new(), Some(finish), out);
    }
}

impl StreamEncoder for GeminiStreamEncoder {
    fn event(&mut self, event: &StreamEvent, out: &mut Vec<u8>) {
        if self.ended || self.finished {
            return;
        }
        match event {
            StreamEvent::ResponseMetadata(metadata) => {
                if self.response_id.is_none()
                    && let Some(id) = metadata.id.as_deref().filter(|id| !id.is_empty())
                {
                    self.response_id = Some(id.to_owned());
                }
            }
            StreamEvent::TextDelta { delta, .. } if !delta.is_empty() => {
                self.chunk(vec![serde_json::json!({"text": delta})], None, out);
            }
            StreamEvent::ReasoningDelta { delta, .. } if !delta.is_empty() => {
                self.chunk(vec![thought_part(delta, None)], None, out);
            }
            // The signature closes the thought it signs, on an empty thought part: the
            // client echoes it back with the thought, where the decoder reads it.
            StreamEvent::ReasoningEnd {
                signature,
                redacted,
                ..
            } if signature.is_some() || redacted.is_some() => {
                // Redacted reasoning (OpenAI encrypted) rides in the signature.
                let carried =
                    opaque_reasoning::as_signature(signature.as_deref(), redacted.as_deref());
                if let Some(carried) = carried {
                    self.chunk(vec![thought_part("", Some(&carried))], None, out);
                }
            }
            StreamEvent::ToolInputStart { id, name } => {
                if !self.sent_calls.contains(id)
                    && !self.pending_calls.iter().any(|(p, _, _)| p == id)
                {
                    self.pending_calls
                        .push((id.clone(), name.clone(), String::new()));
                }
            }
            StreamEvent::ToolInputDelta { id, delta } => {
                if let Some((_, _, arguments)) =
                    self.pending_calls.iter_mut().find(|(p, _, _)| p == id)
                {
                    arguments.push_str(delta);
                }
            }
            StreamEvent::ToolCall(call) => self.tool_call(call, out),
            StreamEvent::Finish(finish) => self.finish(finish, out),
            StreamEvent::Error(error) => self.error(&ClientError::from(error), out),
            // Block boundaries have no wire form; redacted reasoning has no Gemini field;
            // raw bytes never reach a re-encoding surface.
            StreamEvent::TextStart(_)
            | StreamEvent::TextEnd(_)
            | StreamEvent::TextDelta { .. }
            | StreamEvent::ReasoningStart(_)
            | StreamEvent::ReasoningDelta { .. }
            | StreamEvent::ReasoningEnd { .. }
            | StreamEvent::ToolInputEnd(_)
            | StreamEvent::Raw(_) => {}
        }
    }

    /// The error object as the stream's last element: an SSE event, or the array's last
    /// item followed by `]` so the array still parses.
    fn error(&mut self, error: &ClientError, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        self.ended = true;
        let body = error_body(error);
        if self.sse {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(&body);
            out.extend_from_slice(b"\r\n\r\n");
        } else {
            out.extend_from_slice(if self.started { b",\r\n" } else { b"[" });
            out.extend_from_slice(&body);
            out.extend_from_slice(b"]");
        }
    }

    /// The last chunk if the upstream ended without saying why (clients need a
    /// `finishReason`), then `]` for an array.
    fn done(&mut self, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        if !self.finished {
            let finish = Finish {
                reason: FinishReason::Stop,
                raw_reason: None,
                usage: Usage::default(),
                options: None,
            };
            self.finish(&finish, out);
        }
        self.ended = true;
        if !self.sse {
            out.push(b']');
        }
    }
}
