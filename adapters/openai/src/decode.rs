//! Chat Completions responses to IR events: `chat.completion.chunk` SSE streams and
//! one `chat.completion` document go through the same state machine, so a body the
//! host did not expect to stream (or one that streams unasked) decodes either way.

use plugboard_sdk::json::as_u64;
use plugboard_sdk::prelude::*;

use crate::errors::classify_frame;

/// Decoder for one Chat Completions response.
pub type ChatDecoder = ResponseDecoder<ChatState>;

impl ResponseState for ChatState {
    const STREAM_EVENT: &'static str = "a Chat Completions stream chunk";

    fn matters_for_accounting(event: &SseEvent) -> bool {
        matters_for_accounting(event.data.trim())
    }

    fn take_stream_event(
        &mut self,
        data: &Value,
        out: &mut EventWriter,
    ) -> Result<(), AdapterError> {
        self.take_chunk(data, "delta", out);
        Ok(())
    }

    fn take_whole_document(
        &mut self,
        document: Value,
        out: &mut EventWriter,
    ) -> Result<(), AdapterError> {
        self.take_chunk(&document, "message", out);
        Ok(())
    }

    fn end(&mut self, out: &mut EventWriter) {
        self.start_waiting_tools(out);
        let reason = match self.finish_reason.as_deref() {
            Some("stop") => FinishReason::Stop,
            Some("length") => FinishReason::Length,
            Some("tool_calls" | "function_call") => FinishReason::ToolCalls,
            Some("content_filter") => FinishReason::ContentFilter,
            Some(_) => FinishReason::Other,
            None if !self.tools.is_empty() => FinishReason::ToolCalls,
            None => FinishReason::Other,
        };
        out.finish(Finish::new(reason, self.finish_reason.clone(), self.usage));
    }
}

/// Whether a passthrough chunk can carry usage, a finish reason or an error; the rest
/// (nearly every chunk) is forwarded without being parsed.
fn matters_for_accounting(data: &str) -> bool {
    if data.contains("\"usage\"") || data.contains("\"error\"") {
        return true;
    }
    data.match_indices("\"finish_reason\"").any(|(at, key)| {
        let rest = data[at + key.len()..]
            .trim_start()
            .trim_start_matches(':')
            .trim_start();
        rest.starts_with('"')
    })
}

/// What the stream has said so far (the writer keeps the blocks).
#[derive(Default)]
pub struct ChatState {
    metadata_sent: bool,
    tools: Vec<ToolState>,
    finish_reason: Option<String>,
    usage: Usage,
}

/// A tool call by its `index`: Chat streams the id and name once, then fragments.
struct ToolState {
    index: u64,
    id: String,
    name: String,
    /// Fragments that came before the name, written when the call starts.
    waiting: String,
    started: bool,
}

impl ChatState {
    /// Take one chunk (`delta_key` `delta`) or document (`message`).
    fn take_chunk(&mut self, chunk: &Value, delta_key: &str, out: &mut EventWriter) {
        if let Some(error) = chunk.get("error") {
            out.error(classify_frame(error));
            return;
        }
        if !self.metadata_sent && (chunk.get("id").is_some() || chunk.get("model").is_some()) {
            self.metadata_sent = true;
            out.metadata(ResponseMetadata {
                id: chunk.get("id").and_then(Value::as_str).map(str::to_string),
                model: chunk
                    .get("model")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                created: as_u64(chunk.get("created")),
            });
        }
        if let Some(usage) = chunk.get("usage").filter(|usage| usage.is_object()) {
            self.usage = read_usage(usage);
        }
        let Some(choices) = chunk.get("choices").and_then(Value::as_array) else {
            return;
        };
        // Only the first choice: the IR carries one answer (`n` > 1 is not requested).
        let Some(choice) = choices
            .iter()
            .find(|choice| as_u64(choice.get("index")).unwrap_or(0) == 0)
        else {
            return;
        };
        if let Some(delta) = choice.get(delta_key) {
            self.take_delta(delta, out);
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_string());
            self.start_waiting_tools(out);
            out.end_everything_open();
        }
    }

    fn take_delta(&mut self, delta: &Value, out: &mut EventWriter) {
        // `reasoning_content` (DeepSeek, vLLM) or `reasoning` (OpenRouter, Ollama).
        let reasoning = delta
            .get("reasoning_content")
            .or_else(|| delta.get("reasoning"))
            .and_then(Value::as_str);
        out.reasoning(reasoning.unwrap_or(""));
        out.text(delta.get("content").and_then(Value::as_str).unwrap_or(""));
        if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
            for (position, call) in calls.iter().enumerate() {
                self.take_tool_delta(position as u64, call, out);
            }
        }
    }

    fn take_tool_delta(&mut self, position: u64, call: &Value, out: &mut EventWriter) {
        let index = as_u64(call.get("index")).unwrap_or(position);
        let slot = match self.tools.iter().position(|tool| tool.index == index) {
            Some(slot) => slot,
            None => {
                self.tools.push(ToolState {
                    index,
                    id: String::new(),
                    name: String::new(),
                    waiting: String::new(),
                    started: false,
                });
                self.tools.len() - 1
            }
        };
        let tool = &mut self.tools[slot];
        if let Some(id) = call
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
        {
            tool.id = id.to_string();
        }
        let function = call.get("function");
        if let Some(name) = function
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
        {
            tool.name = name.to_string();
        }
        let fragment = function
            .and_then(|f| f.get("arguments"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if tool.started {
            out.tool_input_delta(&tool.id, fragment);
        } else {
            tool.waiting.push_str(fragment);
            // Start only once the name is known; fragments that came earlier go out now.
            if !tool.name.is_empty() {
                start_tool(tool, out);
            }
        }
    }

    /// Start the calls whose name never came (so each still gets its `tool-call`).
    fn start_waiting_tools(&mut self, out: &mut EventWriter) {
        for tool in self.tools.iter_mut().filter(|tool| !tool.started) {
            start_tool(tool, out);
        }
    }
}

fn start_tool(tool: &mut ToolState, out: &mut EventWriter) {
    if tool.id.is_empty() {
        // Some compatible servers omit ids; the IR needs one to pair the result.
        tool.id = format!("call_{}", tool.index);
    }
    tool.started = true;
    out.tool_input_start(tool.id.clone(), tool.name.clone());
    out.tool_input_delta(&tool.id, &std::mem::take(&mut tool.waiting));
}

/// Chat usage, with OpenAI's and DeepSeek's cache counters and reasoning tokens.
pub fn read_usage(usage: &Value) -> Usage {
    Usage {
        input_tokens: as_u64(usage.get("prompt_tokens")),
        output_tokens: as_u64(usage.get("completion_tokens")),
        cache_read_tokens: as_u64(usage.pointer("/prompt_tokens_details/cached_tokens"))
            .or_else(|| as_u64(usage.get("prompt_cache_hit_tokens"))),
        cache_write_tokens: None,
        reasoning_tokens: as_u64(usage.pointer("/completion_tokens_details/reasoning_tokens")),
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
