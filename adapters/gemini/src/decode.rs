//! Gemini responses to IR events: `data:` SSE chunks (`alt=sse`), one
//! `GenerateContentResponse` document, or a JSON array of them (`streamGenerateContent`
//! without `alt=sse`) all go through one state machine.

use plugboard_sdk::json::{as_u64, options_for};
use plugboard_sdk::prelude::*;

use crate::ID;
use crate::errors::classify_frame;

/// Decoder for one Gemini response.
pub type GeminiDecoder = ResponseDecoder<GeminiState>;

impl ResponseState for GeminiState {
    const STREAM_EVENT: &'static str = "a Gemini stream chunk";

    fn matters_for_accounting(event: &SseEvent) -> bool {
        matters_for_accounting(event.data.trim())
    }

    fn take_stream_event(
        &mut self,
        data: &Value,
        out: &mut EventWriter,
    ) -> Result<(), AdapterError> {
        self.take_response(data, out);
        Ok(())
    }

    fn take_whole_document(
        &mut self,
        document: Value,
        out: &mut EventWriter,
    ) -> Result<(), AdapterError> {
        match document {
            Value::Array(responses) => {
                for response in &responses {
                    self.take_response(response, out);
                }
            }
            response => self.take_response(&response, out),
        }
        Ok(())
    }

    fn end(&mut self, out: &mut EventWriter) {
        let reason = match self.finish_reason.as_deref() {
            Some("STOP") if self.calls > 0 => FinishReason::ToolCalls,
            Some("STOP") => FinishReason::Stop,
            Some("MAX_TOKENS") => FinishReason::Length,
            Some(
                "SAFETY"
                | "RECITATION"
                | "BLOCKLIST"
                | "PROHIBITED_CONTENT"
                | "SPII"
                | "IMAGE_SAFETY"
                | "IMAGE_PROHIBITED_CONTENT"
                | "IMAGE_RECITATION",
            ) => FinishReason::ContentFilter,
            Some(_) => FinishReason::Other,
            // After an error the writer makes this `error`.
            None if self.calls > 0 => FinishReason::ToolCalls,
            None => FinishReason::Other,
        };
        out.finish(Finish::new(reason, self.finish_reason.clone(), self.usage));
    }
}

/// Whether a passthrough chunk can change the accounting (usage, finish reason, a
/// function call that makes the reason `tool-calls`, an error).
fn matters_for_accounting(data: &str) -> bool {
    [
        "\"usageMetadata\"",
        "\"finishReason\"",
        "\"functionCall\"",
        "\"error\"",
    ]
    .iter()
    .any(|key| data.contains(key))
}

/// What the response has said so far (the writer keeps the blocks).
#[derive(Default)]
pub struct GeminiState {
    metadata_sent: bool,
    calls: u32,
    finish_reason: Option<String>,
    usage: Usage,
}

impl GeminiState {
    fn take_response(&mut self, response: &Value, out: &mut EventWriter) {
        if let Some(error) = response.get("error") {
            out.error(classify_frame(error));
            return;
        }
        let id = response.get("responseId").and_then(Value::as_str);
        let model = response.get("modelVersion").and_then(Value::as_str);
        if !self.metadata_sent && (id.is_some() || model.is_some()) {
            self.metadata_sent = true;
            out.metadata(ResponseMetadata {
                id: id.map(str::to_string),
                model: model.map(str::to_string),
                created: None,
            });
        }
        if let Some(usage) = response.get("usageMetadata").filter(|u| u.is_object()) {
            self.usage = read_usage(usage);
        }
        if let Some(reason) = response
            .pointer("/promptFeedback/blockReason")
            .and_then(Value::as_str)
        {
            // The prompt itself was blocked: no candidates follow.
            self.finish_reason = Some(reason.to_string());
        }
        // Only the first candidate: the IR carries one answer.
        let Some(candidate) = response.pointer("/candidates/0") else {
            return;
        };
        if let Some(parts) = candidate
            .pointer("/content/parts")
            .and_then(Value::as_array)
        {
            for part in parts {
                self.take_part(part, out);
            }
        }
        if let Some(reason) = candidate.get("finishReason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_string());
        }
    }

    fn take_part(&mut self, part: &Value, out: &mut EventWriter) {
        let signature = part.get("thoughtSignature").and_then(Value::as_str);
        if let Some(call) = part.get("functionCall") {
            self.take_call(call, signature, out);
            return;
        }
        let text = part.get("text").and_then(Value::as_str).unwrap_or("");
        if part.get("thought") == Some(&Value::Bool(true)) {
            out.reasoning(text);
            if let Some(signature) = signature {
                out.end_reasoning(Some(signature.to_string()), None);
            }
            return;
        }
        if let Some(signature) = signature {
            // A signature on an answer part: it closes the reasoning before it, or
            // rides an empty reasoning block, so it comes back on the next turn.
            out.end_reasoning(Some(signature.to_string()), None);
        }
        out.text(text);
    }

    fn take_call(&mut self, call: &Value, signature: Option<&str>, out: &mut EventWriter) {
        let id = call
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| format!("call_{}", self.calls));
        self.calls += 1;
        let name = call.get("name").and_then(Value::as_str).unwrap_or_default();
        let arguments = call
            .get("args")
            .filter(|args| args.is_object())
            .map(Value::to_string)
            .unwrap_or_else(|| "{}".to_string());
        // Gemini sends each call whole: one delta carries all the arguments.
        out.tool_input_start(id.clone(), name);
        out.tool_input_delta(&id, &arguments);
        let mut part = ToolCallPart::new(id, name, arguments);
        part.options =
            signature.map(|signature| options_for(ID, json!({"thoughtSignature": signature})));
        out.tool_call(part);
    }
}

/// Gemini's `usageMetadata`. `candidatesTokenCount` leaves thoughts out; the IR's
/// output count includes them, so the two are added.
pub fn read_usage(usage: &Value) -> Usage {
    let candidates = as_u64(usage.get("candidatesTokenCount"));
    let thoughts = as_u64(usage.get("thoughtsTokenCount"));
    let output = match (candidates, thoughts) {
        (None, None) => None,
        (candidates, thoughts) => Some(candidates.unwrap_or(0) + thoughts.unwrap_or(0)),
    };
    Usage {
        input_tokens: as_u64(usage.get("promptTokenCount")),
        output_tokens: output,
        cache_read_tokens: as_u64(usage.get("cachedContentTokenCount")),
        cache_write_tokens: None,
        reasoning_tokens: thoughts,
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
