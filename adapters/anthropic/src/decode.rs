//! Anthropic Messages responses to IR events: the SSE event stream and the one-document
//! `message` go through the same block state machine.

use plugboard_sdk::json::{as_u64, options_for};
use plugboard_sdk::prelude::*;
use plugboard_sdk::response_decoder::{ResponseDecoder, ResponseState};

use crate::ID;

/// Decoder for one Messages response.
pub type MessagesDecoder = ResponseDecoder<MessageState>;

impl ResponseState for MessageState {
    const STREAM_EVENT: &'static str = "a Messages stream event";

    fn matters_for_accounting(event: &SseEvent) -> bool {
        matters_for_accounting(event)
    }

    fn take_stream_event(
        &mut self,
        data: &Value,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), AdapterError> {
        self.take_event(data, out)
    }

    fn take_whole_document(
        &mut self,
        document: Value,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), AdapterError> {
        self.take_document(&document, out)
    }

    fn end(&mut self, out: &mut Vec<StreamEvent>) -> StreamEvent {
        self.close_all(out);
        self.finish()
    }
}

/// Usage and the stop reason ride only in these; text deltas are forwarded unparsed.
fn matters_for_accounting(event: &SseEvent) -> bool {
    match event.event.as_deref() {
        Some(name) => matches!(name, "message_start" | "message_delta" | "error"),
        None => ["\"message_start\"", "\"message_delta\"", "\"error\""]
            .iter()
            .any(|kind| event.data.contains(kind)),
    }
}

/// An open content block, by the upstream's block index.
enum Block {
    Text {
        id: String,
    },
    Thinking {
        id: String,
        signature: Option<String>,
    },
    Redacted {
        id: String,
        data: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: String,
    },
    /// Server tools and anything newer: not the client's business.
    Ignored,
}

#[derive(Default)]
pub struct MessageState {
    open: Vec<(u64, Block)>,
    usage: RawUsage,
    stop_reason: Option<String>,
    stop_sequence: Option<String>,
    saw_error: bool,
}

/// The counters as Anthropic reports them; `input_tokens` excludes cached ones.
#[derive(Default, Clone, Copy)]
struct RawUsage {
    input: Option<u64>,
    output: Option<u64>,
    cache_read: Option<u64>,
    cache_write: Option<u64>,
}

impl RawUsage {
    /// Later reports (message_delta) override earlier ones field by field.
    fn update(&mut self, usage: &Value) {
        let read = |key: &str| as_u64(usage.get(key));
        self.input = read("input_tokens").or(self.input);
        self.output = read("output_tokens").or(self.output);
        self.cache_read = read("cache_read_input_tokens").or(self.cache_read);
        self.cache_write = read("cache_creation_input_tokens").or(self.cache_write);
    }

    /// IR usage: input counts every prompt token, cached or not.
    fn to_ir(self) -> Usage {
        let input = match (self.input, self.cache_read, self.cache_write) {
            (None, None, None) => None,
            (input, read, write) => {
                Some(input.unwrap_or(0) + read.unwrap_or(0) + write.unwrap_or(0))
            }
        };
        Usage {
            input_tokens: input,
            output_tokens: self.output,
            cache_read_tokens: self.cache_read,
            cache_write_tokens: self.cache_write,
            reasoning_tokens: None,
        }
    }
}

impl MessageState {
    fn take_event(&mut self, data: &Value, out: &mut Vec<StreamEvent>) -> Result<(), AdapterError> {
        match data.get("type").and_then(Value::as_str).unwrap_or("") {
            "message_start" => {
                let message = data.get("message").unwrap_or(&Value::Null);
                self.take_message_head(message, out);
            }
            "content_block_start" => {
                let index = as_u64(data.get("index")).unwrap_or(0);
                let block = data.get("content_block").unwrap_or(&Value::Null);
                self.start_block(index, block, out)?;
            }
            "content_block_delta" => {
                let index = as_u64(data.get("index")).unwrap_or(0);
                self.take_delta(index, data.get("delta").unwrap_or(&Value::Null), out);
            }
            "content_block_stop" => {
                let index = as_u64(data.get("index")).unwrap_or(0);
                if let Some(position) = self.open.iter().position(|(open, _)| *open == index) {
                    let (_, block) = self.open.remove(position);
                    close_block(block, out);
                }
            }
            "message_delta" => {
                if let Some(delta) = data.get("delta") {
                    self.take_stop(delta);
                }
                if let Some(usage) = data.get("usage") {
                    self.usage.update(usage);
                }
            }
            "error" => {
                self.saw_error = true;
                let message = data
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("upstream error");
                out.push(StreamEvent::Error(AdapterError::upstream(message)));
            }
            // message_stop, ping and event types added later carry nothing we need.
            _ => {}
        }
        Ok(())
    }

    fn take_message_head(&mut self, message: &Value, out: &mut Vec<StreamEvent>) {
        out.push(StreamEvent::ResponseMetadata(ResponseMetadata {
            id: message
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string),
            model: message
                .get("model")
                .and_then(Value::as_str)
                .map(str::to_string),
            created: None,
        }));
        if let Some(usage) = message.get("usage") {
            self.usage.update(usage);
        }
    }

    fn take_stop(&mut self, holder: &Value) {
        if let Some(reason) = holder.get("stop_reason").and_then(Value::as_str) {
            self.stop_reason = Some(reason.to_string());
        }
        if let Some(sequence) = holder.get("stop_sequence").and_then(Value::as_str) {
            self.stop_sequence = Some(sequence.to_string());
        }
    }

    /// A whole `message` document: the same events a stream of it would give.
    fn take_document(
        &mut self,
        message: &Value,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), AdapterError> {
        if message.get("type").and_then(Value::as_str) == Some("error") {
            return self.take_event(message, out);
        }
        self.take_message_head(message, out);
        let blocks = message
            .get("content")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for (index, block) in blocks.iter().enumerate() {
            let index = index as u64;
            self.start_block(index, block, out)?;
            if let Some(position) = self.open.iter().position(|(open, _)| *open == index) {
                let (_, mut block_state) = self.open.remove(position);
                if let Block::ToolUse { id, input, .. } = &mut block_state {
                    // A document carries the input whole; it goes out as one fragment.
                    let whole = block
                        .get("input")
                        .map(Value::to_string)
                        .unwrap_or_else(|| "{}".into());
                    out.push(StreamEvent::tool_input_delta(id.clone(), whole.clone()));
                    *input = whole;
                }
                close_block(block_state, out);
            }
        }
        self.take_stop(message);
        Ok(())
    }

    fn start_block(
        &mut self,
        index: u64,
        block: &Value,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), AdapterError> {
        let text_of = |key: &str| {
            block
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let state = match block.get("type").and_then(Value::as_str).unwrap_or("") {
            "text" => {
                let id = format!("text-{index}");
                out.push(StreamEvent::TextStart(id.clone()));
                let text = text_of("text");
                if !text.is_empty() {
                    out.push(StreamEvent::text_delta(id.clone(), text));
                }
                Block::Text { id }
            }
            "thinking" => {
                let id = format!("reasoning-{index}");
                out.push(StreamEvent::ReasoningStart(id.clone()));
                let thinking = text_of("thinking");
                if !thinking.is_empty() {
                    out.push(StreamEvent::reasoning_delta(id.clone(), thinking));
                }
                let signature =
                    Some(text_of("signature")).filter(|signature| !signature.is_empty());
                Block::Thinking { id, signature }
            }
            "redacted_thinking" => {
                let id = format!("reasoning-{index}");
                out.push(StreamEvent::ReasoningStart(id.clone()));
                Block::Redacted {
                    id,
                    data: text_of("data"),
                }
            }
            "tool_use" => {
                let id = text_of("id");
                let name = text_of("name");
                out.push(StreamEvent::tool_input_start(id.clone(), name.clone()));
                Block::ToolUse {
                    id,
                    name,
                    input: String::new(),
                }
            }
            _ => Block::Ignored,
        };
        self.open.push((index, state));
        Ok(())
    }

    fn take_delta(&mut self, index: u64, delta: &Value, out: &mut Vec<StreamEvent>) {
        let Some((_, block)) = self.open.iter_mut().find(|(open, _)| *open == index) else {
            return;
        };
        let text_of = |key: &str| delta.get(key).and_then(Value::as_str).unwrap_or("");
        match (
            delta.get("type").and_then(Value::as_str).unwrap_or(""),
            block,
        ) {
            ("text_delta", Block::Text { id }) => {
                out.push(StreamEvent::text_delta(id.clone(), text_of("text")))
            }
            ("thinking_delta", Block::Thinking { id, .. }) => out.push(
                StreamEvent::reasoning_delta(id.clone(), text_of("thinking")),
            ),
            ("signature_delta", Block::Thinking { signature, .. }) => signature
                .get_or_insert_with(String::new)
                .push_str(text_of("signature")),
            ("input_json_delta", Block::ToolUse { id, input, .. }) => {
                let fragment = text_of("partial_json");
                if !fragment.is_empty() {
                    input.push_str(fragment);
                    out.push(StreamEvent::tool_input_delta(id.clone(), fragment));
                }
            }
            // citations_delta and deltas of ignored blocks.
            _ => {}
        }
    }

    /// Close blocks the upstream left open (a cut stream), in index order.
    fn close_all(&mut self, out: &mut Vec<StreamEvent>) {
        for (_, block) in self.open.drain(..) {
            close_block(block, out);
        }
    }

    fn finish(&self) -> StreamEvent {
        let reason = match self.stop_reason.as_deref() {
            Some("end_turn" | "stop_sequence" | "pause_turn") => FinishReason::Stop,
            Some("max_tokens" | "model_context_window_exceeded") => FinishReason::Length,
            Some("tool_use") => FinishReason::ToolCalls,
            Some("refusal") => FinishReason::ContentFilter,
            Some(_) => FinishReason::Other,
            None if self.saw_error => FinishReason::Error,
            None => FinishReason::Other,
        };
        let mut finish = Finish::new(reason, self.stop_reason.clone(), self.usage.to_ir());
        if let Some(sequence) = &self.stop_sequence {
            finish.options = Some(options_for(ID, json!({"stop_sequence": sequence})));
        }
        StreamEvent::Finish(finish)
    }
}

fn close_block(block: Block, out: &mut Vec<StreamEvent>) {
    match block {
        Block::Text { id } => out.push(StreamEvent::TextEnd(id)),
        Block::Thinking { id, signature } => out.push(StreamEvent::ReasoningEnd(ReasoningEnd {
            id,
            signature,
            redacted: None,
        })),
        Block::Redacted { id, data } => out.push(StreamEvent::ReasoningEnd(ReasoningEnd {
            id,
            signature: None,
            redacted: Some(data),
        })),
        Block::ToolUse { id, name, input } => {
            out.push(StreamEvent::ToolInputEnd(id.clone()));
            let arguments = if input.trim().is_empty() {
                "{}".to_string()
            } else {
                input
            };
            out.push(StreamEvent::ToolCall(ToolCallPart::new(
                id, name, arguments,
            )));
        }
        Block::Ignored => {}
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
