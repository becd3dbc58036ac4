//! Anthropic Messages responses to IR events: the SSE event stream and the one-document
//! `message` go through the same block state machine.

use plugboard_sdk::json::{as_u64, options_for};
use plugboard_sdk::prelude::*;

use crate::ID;
use crate::errors::classify_frame;

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
        out: &mut EventWriter,
    ) -> Result<(), AdapterError> {
        self.take_event(data, out);
        Ok(())
    }

    fn take_whole_document(
        &mut self,
        document: Value,
        out: &mut EventWriter,
    ) -> Result<(), AdapterError> {
        self.take_document(&document, out);
        Ok(())
    }

    fn end(&mut self, out: &mut EventWriter) {
        self.close_all(out);
        out.finish(self.finish());
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

/// An open content block, by the upstream's block index (the writer holds its text).
enum Block {
    Text,
    Thinking,
    Redacted {
        data: String,
    },
    ToolUse {
        id: String,
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
    fn take_event(&mut self, data: &Value, out: &mut EventWriter) {
        match data.get("type").and_then(Value::as_str).unwrap_or("") {
            "message_start" => {
                let message = data.get("message").unwrap_or(&Value::Null);
                self.take_message_head(message, out);
            }
            "content_block_start" => {
                let index = as_u64(data.get("index")).unwrap_or(0);
                let block = data.get("content_block").unwrap_or(&Value::Null);
                self.start_block(index, block, out);
            }
            "content_block_delta" => {
                let index = as_u64(data.get("index")).unwrap_or(0);
                self.take_delta(index, data.get("delta").unwrap_or(&Value::Null), out);
            }
            "content_block_stop" => {
                let index = as_u64(data.get("index")).unwrap_or(0);
                self.stop_block(index, out);
            }
            "message_delta" => {
                if let Some(delta) = data.get("delta") {
                    self.take_stop(delta);
                }
                if let Some(usage) = data.get("usage") {
                    self.usage.update(usage);
                }
            }
            "error" => out.error(classify_frame(data)),
            // message_stop, ping and event types added later carry nothing we need.
            _ => {}
        }
    }

    fn take_message_head(&mut self, message: &Value, out: &mut EventWriter) {
        let text = |key: &str| message.get(key).and_then(Value::as_str).map(str::to_string);
        out.metadata(ResponseMetadata {
            id: text("id"),
            model: text("model"),
            created: None,
        });
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
    fn take_document(&mut self, message: &Value, out: &mut EventWriter) {
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
            self.start_block(index, block, out);
            if let Some((_, Block::ToolUse { id })) = self.open.last() {
                // A document carries the input whole; it goes out as one fragment.
                let whole = block
                    .get("input")
                    .map(Value::to_string)
                    .unwrap_or_else(|| "{}".into());
                out.tool_input_delta(id, &whole);
            }
            self.stop_block(index, out);
        }
        self.take_stop(message);
    }

    fn start_block(&mut self, index: u64, block: &Value, out: &mut EventWriter) {
        let text_of = |key: &str| block.get(key).and_then(Value::as_str).unwrap_or("");
        let state = match block.get("type").and_then(Value::as_str).unwrap_or("") {
            "text" => {
                out.start_text();
                out.text(text_of("text"));
                Block::Text
            }
            "thinking" => {
                out.start_reasoning();
                out.reasoning(text_of("thinking"));
                if !text_of("signature").is_empty() {
                    out.reasoning_signature(text_of("signature"));
                }
                Block::Thinking
            }
            "redacted_thinking" => {
                out.start_reasoning();
                Block::Redacted {
                    data: text_of("data").to_string(),
                }
            }
            "tool_use" => {
                let id = text_of("id").to_string();
                out.tool_input_start(id.clone(), text_of("name"));
                Block::ToolUse { id }
            }
            _ => Block::Ignored,
        };
        self.open.push((index, state));
    }

    fn take_delta(&mut self, index: u64, delta: &Value, out: &mut EventWriter) {
        let Some((_, block)) = self.open.iter().find(|(open, _)| *open == index) else {
            return;
        };
        let text_of = |key: &str| delta.get(key).and_then(Value::as_str).unwrap_or("");
        match (
            delta.get("type").and_then(Value::as_str).unwrap_or(""),
            block,
        ) {
            ("text_delta", Block::Text) => out.text(text_of("text")),
            ("thinking_delta", Block::Thinking) => out.reasoning(text_of("thinking")),
            ("signature_delta", Block::Thinking) => out.reasoning_signature(text_of("signature")),
            ("input_json_delta", Block::ToolUse { id }) => {
                out.tool_input_delta(id, text_of("partial_json"))
            }
            // citations_delta and deltas of ignored blocks.
            _ => {}
        }
    }

    fn stop_block(&mut self, index: u64, out: &mut EventWriter) {
        if let Some(position) = self.open.iter().position(|(open, _)| *open == index) {
            let (_, block) = self.open.remove(position);
            close_block(block, out);
        }
    }

    /// Close blocks the upstream left open (a cut stream), in index order.
    fn close_all(&mut self, out: &mut EventWriter) {
        for (_, block) in self.open.drain(..) {
            close_block(block, out);
        }
    }

    fn finish(&self) -> Finish {
        let reason = match self.stop_reason.as_deref() {
            Some("end_turn" | "stop_sequence" | "pause_turn") => FinishReason::Stop,
            Some("max_tokens" | "model_context_window_exceeded") => FinishReason::Length,
            Some("tool_use") => FinishReason::ToolCalls,
            Some("refusal") => FinishReason::ContentFilter,
            // After an error frame the writer makes this `error`.
            _ => FinishReason::Other,
        };
        let mut finish = Finish::new(reason, self.stop_reason.clone(), self.usage.to_ir());
        if let Some(sequence) = &self.stop_sequence {
            finish.options = Some(options_for(ID, json!({"stop_sequence": sequence})));
        }
        finish
    }
}

fn close_block(block: Block, out: &mut EventWriter) {
    match block {
        Block::Text => out.end_block(),
        Block::Thinking => out.end_reasoning(None, None),
        Block::Redacted { data } => out.end_reasoning(None, Some(data)),
        Block::ToolUse { id } => out.tool_input_end(&id),
        Block::Ignored => {}
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
