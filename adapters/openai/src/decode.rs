//! Chat Completions responses to IR events: `chat.completion.chunk` SSE streams and
//! one `chat.completion` document go through the same state machine, so a body the
//! host did not expect to stream (or one that streams unasked) decodes either way.

use plugboard_sdk::json::{as_u64, error_message};
use plugboard_sdk::prelude::*;
use plugboard_sdk::response_decoder::{ResponseDecoder, ResponseState};

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
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), AdapterError> {
        self.take_chunk(data, "delta", out);
        Ok(())
    }

    fn take_whole_document(
        &mut self,
        document: Value,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), AdapterError> {
        self.take_chunk(&document, "message", out);
        Ok(())
    }

    fn end(&mut self, out: &mut Vec<StreamEvent>) -> StreamEvent {
        self.close_blocks(out);
        self.finish()
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

/// What the stream has said so far.
#[derive(Default)]
pub struct ChatState {
    metadata_sent: bool,
    /// Id of the open reasoning block, if any.
    reasoning: Option<String>,
    /// Id of the open text block, if any.
    text: Option<String>,
    blocks_opened: u32,
    tools: Vec<ToolState>,
    finish_reason: Option<String>,
    usage: Usage,
    saw_error: bool,
}

struct ToolState {
    index: u64,
    id: String,
    name: String,
    arguments: String,
    started: bool,
    ended: bool,
}

impl ChatState {
    /// Take one chunk (`delta_key` `delta`) or document (`message`).
    fn take_chunk(&mut self, chunk: &Value, delta_key: &str, out: &mut Vec<StreamEvent>) {
        if let Some(error) = chunk.get("error") {
            self.saw_error = true;
            let body = json!({"error": error}).to_string();
            out.push(StreamEvent::Error(AdapterError::upstream(error_message(
                200,
                body.as_bytes(),
            ))));
            return;
        }
        if !self.metadata_sent && (chunk.get("id").is_some() || chunk.get("model").is_some()) {
            self.metadata_sent = true;
            out.push(StreamEvent::ResponseMetadata(ResponseMetadata {
                id: chunk.get("id").and_then(Value::as_str).map(str::to_string),
                model: chunk
                    .get("model")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                created: as_u64(chunk.get("created")),
            }));
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
            self.close_blocks(out);
        }
    }

    fn take_delta(&mut self, delta: &Value, out: &mut Vec<StreamEvent>) {
        // `reasoning_content` (DeepSeek, vLLM) or `reasoning` (OpenRouter, Ollama).
        let reasoning = delta
            .get("reasoning_content")
            .or_else(|| delta.get("reasoning"))
            .and_then(Value::as_str);
        if let Some(reasoning) = reasoning.filter(|text| !text.is_empty()) {
            let id = match &self.reasoning {
                Some(id) => id.clone(),
                None => {
                    let id = self.next_block_id("reasoning");
                    out.push(StreamEvent::ReasoningStart(id.clone()));
                    self.reasoning = Some(id.clone());
                    id
                }
            };
            out.push(StreamEvent::reasoning_delta(id, reasoning));
        }
        if let Some(text) = delta
            .get("content")
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
        {
            self.close_reasoning(out);
            let id = match &self.text {
                Some(id) => id.clone(),
                None => {
                    let id = self.next_block_id("text");
                    out.push(StreamEvent::TextStart(id.clone()));
                    self.text = Some(id.clone());
                    id
                }
            };
            out.push(StreamEvent::text_delta(id, text));
        }
        if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
            self.close_reasoning(out);
            for (position, call) in calls.iter().enumerate() {
                self.take_tool_delta(position as u64, call, out);
            }
        }
    }

    fn take_tool_delta(&mut self, position: u64, call: &Value, out: &mut Vec<StreamEvent>) {
        let index = as_u64(call.get("index")).unwrap_or(position);
        let slot = match self.tools.iter().position(|tool| tool.index == index) {
            Some(slot) => slot,
            None => {
                self.tools.push(ToolState {
                    index,
                    id: String::new(),
                    name: String::new(),
                    arguments: String::new(),
                    started: false,
                    ended: false,
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
        tool.arguments.push_str(fragment);
        if !tool.started && !tool.name.is_empty() {
            // Start only once the name is known; fragments that came earlier go out now.
            start_tool(tool, out);
        } else if tool.started && !fragment.is_empty() {
            out.push(StreamEvent::tool_input_delta(tool.id.clone(), fragment));
        }
    }

    fn next_block_id(&mut self, kind: &str) -> String {
        let id = format!("{kind}-{}", self.blocks_opened);
        self.blocks_opened += 1;
        id
    }

    fn close_reasoning(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some(id) = self.reasoning.take() {
            out.push(StreamEvent::ReasoningEnd(ReasoningEnd {
                id,
                signature: None,
                redacted: None,
            }));
        }
    }

    /// End every open block and complete every tool call.
    fn close_blocks(&mut self, out: &mut Vec<StreamEvent>) {
        self.close_reasoning(out);
        if let Some(id) = self.text.take() {
            out.push(StreamEvent::TextEnd(id));
        }
        for tool in self.tools.iter_mut().filter(|tool| !tool.ended) {
            if !tool.started {
                start_tool(tool, out);
            }
            tool.ended = true;
            out.push(StreamEvent::ToolInputEnd(tool.id.clone()));
            let arguments = if tool.arguments.trim().is_empty() {
                "{}".to_string()
            } else {
                tool.arguments.clone()
            };
            out.push(StreamEvent::ToolCall(ToolCallPart::new(
                tool.id.clone(),
                tool.name.clone(),
                arguments,
            )));
        }
    }

    fn finish(&self) -> StreamEvent {
        let reason = match self.finish_reason.as_deref() {
            Some("stop") => FinishReason::Stop,
            Some("length") => FinishReason::Length,
            Some("tool_calls" | "function_call") => FinishReason::ToolCalls,
            Some("content_filter") => FinishReason::ContentFilter,
            Some(_) => FinishReason::Other,
            None if self.saw_error => FinishReason::Error,
            None if !self.tools.is_empty() => FinishReason::ToolCalls,
            None => FinishReason::Other,
        };
        StreamEvent::finish(reason, self.finish_reason.clone(), self.usage)
    }
}

fn start_tool(tool: &mut ToolState, out: &mut Vec<StreamEvent>) {
    if tool.id.is_empty() {
        // Some compatible servers omit ids; the IR needs one to pair the result.
        tool.id = format!("call_{}", tool.index);
    }
    tool.started = true;
    out.push(StreamEvent::tool_input_start(
        tool.id.clone(),
        tool.name.clone(),
    ));
    if !tool.arguments.is_empty() {
        out.push(StreamEvent::tool_input_delta(
            tool.id.clone(),
            tool.arguments.clone(),
        ));
    }
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
