//! Responses API answers to IR events: the typed SSE events (`response.*`) and one
//! `response` object go through the same item handlers. A document is read as each of
//! its output items being added and then done; the done handlers fill in whatever the
//! stream did not deliver as deltas, so both paths give the same events.

use plugboard_sdk::json::{as_u64, options_for};
use plugboard_sdk::prelude::*;

use crate::OPENAI;
use crate::errors::classify_frame;

/// Decoder for one Responses answer.
pub type ResponsesDecoder = ResponseDecoder<ResponsesState>;

impl ResponseState for ResponsesState {
    const STREAM_EVENT: &'static str = "a Responses stream event";

    fn matters_for_accounting(event: &SseEvent) -> bool {
        matters_for_accounting(event.data.trim())
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
        self.finish(out);
    }
}

/// Whether a passthrough event can change the accounting: the terminal events (usage,
/// status), errors, and added items (a function call makes the reason `tool-calls`).
fn matters_for_accounting(data: &str) -> bool {
    [
        "response.completed",
        "response.incomplete",
        "response.failed",
        "response.output_item.added",
        "\"error\"",
    ]
    .iter()
    .any(|needle| data.contains(needle))
}

/// One output item the stream has opened (the writer keeps its block).
struct Item {
    /// The item id (`msg_...`, `rs_...`, `fc_...`).
    id: String,
    kind: String,
    /// Calls: the call id, name and arguments or custom input so far.
    call_id: String,
    name: String,
    input: String,
    /// Whether content deltas already went out for this item.
    streamed: bool,
    /// Reasoning: the summary part the last delta belonged to.
    summary_index: Option<u64>,
    done: bool,
}

/// How an error inside a 2xx answer is classified: the `error` event itself, or the
/// `error` object of a failed response.
pub type FrameClassifier = fn(&Value) -> UpstreamError;

/// What one Responses answer has said so far (the decoder's [`ResponseState`]).
pub struct ResponsesState {
    metadata_sent: bool,
    items: Vec<Item>,
    calls: u32,
    status: Option<String>,
    incomplete_reason: Option<String>,
    usage: Usage,
    classify: FrameClassifier,
}

impl Default for ResponsesState {
    /// OpenAI's classification of error frames ([`classify_frame`]).
    fn default() -> Self {
        Self::with_frame_classifier(classify_frame)
    }
}

impl ResponsesState {
    /// A fresh state classifying error frames with `classify` (an upstream that speaks
    /// the Responses wire with its own error codes, such as Codex's usage limits).
    pub fn with_frame_classifier(classify: FrameClassifier) -> Self {
        ResponsesState {
            metadata_sent: false,
            items: Vec::new(),
            calls: 0,
            status: None,
            incomplete_reason: None,
            usage: Usage::default(),
            classify,
        }
    }

    fn take_event(&mut self, event: &Value, out: &mut EventWriter) {
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
        let text = |key: &str| event.get(key).and_then(Value::as_str).unwrap_or("");
        let item_id = text("item_id");
        match kind {
            "response.created" | "response.in_progress" => {
                if let Some(response) = event.get("response") {
                    self.take_metadata(response, out);
                }
            }
            "response.output_item.added" => {
                if let Some(item) = event.get("item") {
                    self.item_added(item, out);
                }
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                self.text_delta(item_id, text("delta"), out)
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                let index = as_u64(
                    event
                        .get("summary_index")
                        .or_else(|| event.get("content_index")),
                );
                self.reasoning_delta(item_id, index, text("delta"), out);
            }
            "response.function_call_arguments.delta" => {
                if let Some(item) = self.item_mut(item_id) {
                    item.input.push_str(text("delta"));
                    item.streamed = true;
                    out.tool_input_delta(&item.call_id, text("delta"));
                }
            }
            "response.custom_tool_call_input.delta" => {
                // Free-form input is not JSON: it goes out whole, wrapped, at done.
                if let Some(item) = self.item_mut(item_id) {
                    item.input.push_str(text("delta"));
                }
            }
            "response.output_item.done" => {
                if let Some(item) = event.get("item") {
                    self.item_done(item, out);
                }
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                if let Some(response) = event.get("response") {
                    self.take_terminal(response, out);
                }
            }
            "error" => out.error((self.classify)(event)),
            _ => {}
        }
    }

    /// A whole `response` object: every output item added, then done.
    fn take_document(&mut self, response: &Value, out: &mut EventWriter) {
        if let Some(error) = response.get("error").filter(|error| !error.is_null())
            && response.get("output").is_none()
        {
            out.error((self.classify)(error));
            return;
        }
        self.take_metadata(response, out);
        for item in response
            .get("output")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.item_added(item, out);
            self.item_done(item, out);
        }
        self.take_terminal(response, out);
    }

    fn take_metadata(&mut self, response: &Value, out: &mut EventWriter) {
        if self.metadata_sent {
            return;
        }
        self.metadata_sent = true;
        out.metadata(ResponseMetadata {
            id: response
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string),
            model: response
                .get("model")
                .and_then(Value::as_str)
                .map(str::to_string),
            created: as_u64(response.get("created_at")),
        });
    }

    fn item_mut(&mut self, id: &str) -> Option<&mut Item> {
        self.items.iter_mut().find(|item| item.id == id)
    }

    fn item_added(&mut self, value: &Value, out: &mut EventWriter) {
        let field = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let kind = field("type");
        let id = match field("id") {
            id if id.is_empty() => format!("item_{}", self.items.len()),
            id => id,
        };
        if self.items.iter().any(|item| item.id == id) {
            return;
        }
        let mut item = Item {
            id: id.clone(),
            kind: kind.clone(),
            call_id: field("call_id"),
            name: field("name"),
            input: String::new(),
            streamed: false,
            summary_index: None,
            done: false,
        };
        match kind.as_str() {
            "function_call" | "custom_tool_call" => {
                if item.call_id.is_empty() {
                    item.call_id = format!("call_{}", self.calls);
                }
                self.calls += 1;
                out.tool_input_start(item.call_id.clone(), item.name.clone());
            }
            "reasoning" => {
                out.start_reasoning();
            }
            _ => {}
        }
        self.items.push(item);
    }

    fn text_delta(&mut self, item_id: &str, delta: &str, out: &mut EventWriter) {
        if delta.is_empty() {
            return;
        }
        let Some(item) = self.item_mut(item_id) else {
            return;
        };
        if !item.streamed {
            // Each message item is a text block of its own.
            item.streamed = true;
            out.start_text();
        }
        out.text(delta);
    }

    fn reasoning_delta(
        &mut self,
        item_id: &str,
        index: Option<u64>,
        delta: &str,
        out: &mut EventWriter,
    ) {
        let Some(item) = self.item_mut(item_id) else {
            return;
        };
        // Summary parts are separate paragraphs; the IR block is one text.
        if item.streamed && index.is_some() && item.summary_index != index {
            out.reasoning("\n\n");
        }
        item.summary_index = index;
        item.streamed = true;
        out.reasoning(delta);
    }

    fn item_done(&mut self, value: &Value, out: &mut EventWriter) {
        let Some(id) = value
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                // An item without id (some compatible servers): the last open one of its type.
                let kind = value.get("type").and_then(Value::as_str)?;
                self.items
                    .iter()
                    .rev()
                    .find(|item| item.kind == kind && !item.done)
                    .map(|item| item.id.clone())
            })
        else {
            return;
        };
        let Some(item) = self.item_mut(&id) else {
            return;
        };
        if item.done {
            return;
        }
        item.done = true;
        match item.kind.as_str() {
            "message" => {
                if !item.streamed {
                    let text: String = value
                        .get("content")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|part| {
                            part.get("text")
                                .or_else(|| part.get("refusal"))
                                .and_then(Value::as_str)
                        })
                        .collect();
                    if text.is_empty() {
                        return;
                    }
                    item.streamed = true;
                    out.start_text();
                    out.text(&text);
                }
                out.end_block();
            }
            "reasoning" => {
                if !item.streamed {
                    let summary: Vec<&str> = value
                        .get("summary")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|part| part.get("text").and_then(Value::as_str))
                        .collect();
                    out.reasoning(&summary.join("\n\n"));
                }
                let redacted = value
                    .get("encrypted_content")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                out.end_reasoning(None, redacted);
            }
            "function_call" => {
                let arguments = value
                    .get("arguments")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| item.input.clone());
                let arguments = if arguments.trim().is_empty() {
                    "{}".to_string()
                } else {
                    arguments
                };
                if !item.streamed {
                    out.tool_input_delta(&item.call_id, &arguments);
                }
                let name = value
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(&item.name);
                out.tool_call(ToolCallPart::new(item.call_id.clone(), name, arguments));
            }
            "custom_tool_call" => {
                let input = value
                    .get("input")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| item.input.clone());
                let arguments = json!({"input": input}).to_string();
                out.tool_input_delta(&item.call_id, &arguments);
                let name = value
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(&item.name);
                let mut call = ToolCallPart::new(item.call_id.clone(), name, arguments);
                call.options = Some(options_for(OPENAI, json!({"type": "custom"})));
                out.tool_call(call);
            }
            _ => {}
        }
    }

    fn take_terminal(&mut self, response: &Value, out: &mut EventWriter) {
        self.take_metadata(response, out);
        self.status = response
            .get("status")
            .and_then(Value::as_str)
            .map(str::to_string);
        self.incomplete_reason = response
            .pointer("/incomplete_details/reason")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(usage) = response.get("usage").filter(|usage| usage.is_object()) {
            self.usage = read_usage(usage);
        }
        if let Some(error) = response.get("error").filter(|error| !error.is_null()) {
            out.error((self.classify)(error));
        }
    }

    /// Close what the stream left open and say why it ended.
    fn finish(&mut self, out: &mut EventWriter) {
        let open: Vec<Value> = self
            .items
            .iter()
            .filter(|item| !item.done)
            .map(|item| json!({"id": item.id}))
            .collect();
        for item in open {
            self.item_done(&item, out);
        }
        let (reason, raw) = match (self.status.as_deref(), self.incomplete_reason.as_deref()) {
            (Some("incomplete"), Some("max_output_tokens")) => {
                (FinishReason::Length, "max_output_tokens")
            }
            (Some("incomplete"), Some("content_filter")) => {
                (FinishReason::ContentFilter, "content_filter")
            }
            (Some("incomplete"), other) => (FinishReason::Other, other.unwrap_or("incomplete")),
            (Some("failed"), _) => (FinishReason::Error, "failed"),
            (_, _) if out.errored() => (FinishReason::Error, "error"),
            (Some("completed"), _) if self.calls > 0 => (FinishReason::ToolCalls, "completed"),
            (Some("completed"), _) => (FinishReason::Stop, "completed"),
            (Some(other), _) => (FinishReason::Other, other),
            (None, _) if self.calls > 0 => (FinishReason::ToolCalls, ""),
            (None, _) => (FinishReason::Other, ""),
        };
        let raw = (!raw.is_empty()).then(|| raw.to_string());
        out.finish(Finish::new(reason, raw, self.usage));
    }
}

/// Responses usage: `input_tokens` (with `input_tokens_details.cached_tokens`) and
/// `output_tokens` (with `output_tokens_details.reasoning_tokens`).
pub fn read_usage(usage: &Value) -> Usage {
    Usage {
        input_tokens: as_u64(usage.get("input_tokens")),
        output_tokens: as_u64(usage.get("output_tokens")),
        cache_read_tokens: as_u64(usage.pointer("/input_tokens_details/cached_tokens")),
        cache_write_tokens: None,
        reasoning_tokens: as_u64(usage.pointer("/output_tokens_details/reasoning_tokens")),
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
