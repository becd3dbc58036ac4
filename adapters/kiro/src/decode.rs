//! Kiro's answer, an AWS event stream, as IR events.
//!
//! Frames come from the SDK's [`EventStreamReader`] (both CRCs checked, frames split
//! anywhere); each payload is the bare event object named by `:event-type` (a payload
//! wrapped as `{"<eventType>": {…}}` is unwrapped too):
//!
//! - `assistantResponseEvent` `content`: text. When the request enabled thinking, a
//!   `<thinking>…</thinking>` block opening the text is reasoning ([`InlineThinking`]).
//! - `reasoningContentEvent` `text` (or `content`), `signature`, `redactedContent`:
//!   reasoning.
//! - `toolUseEvent` `toolUseId`, `name`, `input` (string fragments, or a whole object),
//!   `stop`: a streamed tool call, its fragments joined until `stop`; a new id before
//!   the old one stopped closes the old one; an id seen again after its stop is
//!   ignored; arguments that are not a JSON object at the end are sent as
//!   `{"raw": "<text>"}`. Shortened tool names are restored.
//! - `metadataEvent` `tokenUsage`: exact token counts.
//! - `contextUsageEvent` `contextUsagePercentage`: the input tokens, estimated from the
//!   model's window when no exact count came; 100 % or more finishes as `length`.
//! - `meteringEvent` `usage`: credits (not tokens), kept in the finish's options as
//!   `{"kiro": {"credits": …}}`.
//! - an exception or error frame: a classified [`StreamEvent::Error`]
//!   ([`crate::errors::classify_exception`]).
//!
//! Kiro sends no stop reason: it is `tool-calls` when a tool call completed, `length`
//! at a full context window, otherwise `stop`.

use std::collections::{HashMap, HashSet};

use plugboard_sdk::framing::{EventStreamFrame, EventStreamReader};
use plugboard_sdk::prelude::*;

use crate::errors::classify_exception;

/// Reads one Kiro answer.
pub struct KiroDecoder {
    reader: EventStreamReader,
    out: EventWriter,
    /// Shortened tool name → the client's name.
    tool_names: HashMap<String, String>,
    /// Inline `<thinking>` tags are reasoning (`None` when thinking was not asked for).
    inline: Option<InlineThinking>,
    /// The model's context window, for the input estimate.
    window: u32,
    /// The tool call streaming now: id, name, joined input.
    tool: Option<(String, String, String)>,
    /// Tool calls already closed.
    closed: HashSet<String>,
    credits: Option<f64>,
    context_percent: Option<f64>,
    tokens: Option<Usage>,
    model: Option<String>,
}

impl KiroDecoder {
    /// A decoder reading frames from `reader`.
    pub fn new(
        reader: EventStreamReader,
        tool_names: HashMap<String, String>,
        thinking: bool,
        window: u32,
    ) -> Self {
        KiroDecoder {
            reader,
            out: EventWriter::new(),
            tool_names,
            inline: thinking.then(InlineThinking::default),
            window,
            tool: None,
            closed: HashSet::new(),
            credits: None,
            context_percent: None,
            tokens: None,
            model: None,
        }
    }

    fn take_frames(&mut self, frames: Vec<EventStreamFrame>) -> Result<(), AdapterError> {
        for frame in frames {
            self.take_frame(&frame)?;
        }
        Ok(())
    }

    fn take_frame(&mut self, frame: &EventStreamFrame) -> Result<(), AdapterError> {
        if frame.is_failure() {
            let kind = frame
                .exception_type()
                .or_else(|| frame.header(":error-code"))
                .unwrap_or("InternalServerException");
            let payload = if frame.payload.is_empty() {
                frame
                    .header(":error-message")
                    .map(|m| json!({ "message": m }).to_string().into_bytes())
                    .unwrap_or_default()
            } else {
                frame.payload.clone()
            };
            self.flush_inline();
            self.out.error(classify_exception(kind, &payload));
            return Ok(());
        }
        let Some(event_type) = frame.event_type() else {
            return Ok(());
        };
        let mut payload = parse_upstream_json(&frame.payload, "a Kiro event")?;
        if let Some(inner) = payload.get(event_type).filter(|v| v.is_object()) {
            payload = inner.clone();
        }
        match event_type {
            "assistantResponseEvent" => {
                if self.model.is_none()
                    && let Some(model) = payload["modelId"].as_str()
                {
                    self.model = Some(model.to_string());
                    self.out.metadata(ResponseMetadata {
                        id: None,
                        model: Some(model.to_string()),
                        created: None,
                    });
                }
                if let Some(text) = payload["content"].as_str() {
                    self.close_tool();
                    self.text(text);
                }
            }
            "reasoningContentEvent" => {
                self.close_tool();
                self.flush_inline();
                let text = payload["text"]
                    .as_str()
                    .or_else(|| payload["content"].as_str());
                if let Some(text) = text {
                    self.out.reasoning(text);
                }
                if let Some(signature) = payload["signature"].as_str() {
                    self.out.reasoning_signature(signature);
                }
                if let Some(redacted) = payload["redactedContent"].as_str() {
                    self.out.end_reasoning(None, Some(redacted.to_string()));
                }
            }
            "toolUseEvent" => self.tool_use(&payload),
            "meteringEvent" => {
                if let Some(usage) = payload["usage"].as_f64() {
                    self.credits = Some(self.credits.unwrap_or(0.0) + usage);
                }
            }
            "contextUsageEvent" => {
                if let Some(percent) = payload["contextUsagePercentage"].as_f64() {
                    self.context_percent = Some(percent);
                }
            }
            "metadataEvent" => {
                if let Some(percent) = payload["contextUsagePercentage"].as_f64() {
                    self.context_percent = Some(percent);
                }
                if let Some(tokens) = payload.get("tokenUsage") {
                    let read = |key: &str| plugboard_sdk::json::as_u64(tokens.get(key));
                    let cache_read = read("cacheReadInputTokens");
                    let cache_write = read("cacheWriteInputTokens");
                    let input = read("uncachedInputTokens").map(|uncached| {
                        uncached + cache_read.unwrap_or(0) + cache_write.unwrap_or(0)
                    });
                    self.tokens = Some(Usage {
                        input_tokens: input,
                        output_tokens: read("outputTokens"),
                        cache_read_tokens: cache_read,
                        cache_write_tokens: cache_write,
                        reasoning_tokens: None,
                    });
                }
            }
            _ => {} // followups, citations, invalid-state notes: nothing for the client
        }
        Ok(())
    }

    fn text(&mut self, text: &str) {
        match &mut self.inline {
            Some(inline) => {
                for (is_reasoning, piece) in inline.push(text) {
                    if is_reasoning {
                        self.out.reasoning(&piece);
                    } else {
                        self.out.text(&piece);
                    }
                }
            }
            None => self.out.text(text),
        }
    }

    fn flush_inline(&mut self) {
        if let Some(inline) = &mut self.inline {
            for (is_reasoning, piece) in inline.finish() {
                if is_reasoning {
                    self.out.reasoning(&piece);
                } else {
                    self.out.text(&piece);
                }
            }
        }
    }

    fn tool_use(&mut self, payload: &Value) {
        let Some(id) = payload["toolUseId"].as_str() else {
            return;
        };
        if self.closed.contains(id) {
            return;
        }
        if self.tool.as_ref().is_some_and(|(open, _, _)| open != id) {
            self.close_tool();
        }
        if self.tool.is_none() {
            self.flush_inline();
            let sent = payload["name"].as_str().unwrap_or("");
            let name = self
                .tool_names
                .get(sent)
                .cloned()
                .unwrap_or_else(|| sent.to_string());
            self.out.tool_input_start(id, name.clone());
            self.tool = Some((id.to_string(), name, String::new()));
        }
        let fragment = match &payload["input"] {
            Value::String(fragment) => fragment.clone(),
            Value::Null => String::new(),
            whole => whole.to_string(),
        };
        if let Some((_, _, input)) = &mut self.tool {
            input.push_str(&fragment);
        }
        self.out.tool_input_delta(id, &fragment);
        if payload["stop"].as_bool() == Some(true) {
            self.close_tool();
        }
    }

    /// The streaming tool call is complete: its `tool-call`, with arguments that are a
    /// JSON object.
    fn close_tool(&mut self) {
        let Some((id, name, input)) = self.tool.take() else {
            return;
        };
        let arguments = if input.trim().is_empty() {
            "{}".to_string()
        } else {
            match serde_json::from_str::<Value>(&input) {
                Ok(Value::Object(_)) => input,
                _ => json!({ "raw": input }).to_string(),
            }
        };
        self.closed.insert(id.clone());
        self.out.tool_call(ToolCallPart::new(id, name, arguments));
    }

    fn written(&mut self) -> Vec<StreamEvent> {
        self.out.take()
    }

    fn end(&mut self) {
        self.flush_inline();
        self.close_tool();
        if self.out.errored() {
            return;
        }
        let mut usage = self.tokens.unwrap_or_default();
        if usage.input_tokens.is_none()
            && let Some(percent) = self.context_percent
        {
            usage.input_tokens = Some((percent * f64::from(self.window) / 100.0).round() as u64);
        }
        let full = self.context_percent.is_some_and(|p| p >= 100.0);
        let (reason, raw) = if !self.closed.is_empty() {
            (FinishReason::ToolCalls, "tool_use")
        } else if full {
            (FinishReason::Length, "model_context_window_exceeded")
        } else {
            (FinishReason::Stop, "end_turn")
        };
        let mut finish = Finish::new(reason, Some(raw.to_string()), usage);
        let mut kiro = serde_json::Map::new();
        if let Some(credits) = self.credits {
            kiro.insert("credits".into(), json!(credits));
        }
        if let Some(percent) = self.context_percent {
            kiro.insert("contextUsagePercentage".into(), json!(percent));
        }
        if !kiro.is_empty() {
            finish.options = Some(json!({ "kiro": kiro }).to_string());
        }
        self.out.finish(finish);
    }
}

impl Decoder for KiroDecoder {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        let frames = self.reader.push(chunk)?;
        self.take_frames(frames)?;
        Ok(self.written())
    }

    fn finish(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
        let frames = self.reader.finish()?;
        self.take_frames(frames)?;
        self.end();
        self.out.end();
        Ok(self.written())
    }
}

/// Inline reasoning: a `<thinking>…</thinking>` block opening the answer text (some
/// models write it there when thinking is enabled in-band). Text is held back only
/// while it could still be the start of a tag; a `</thinking>` written inside
/// backticks (code talking about the tag) does not close the block.
#[derive(Debug, Default)]
pub struct InlineThinking {
    state: Inline,
    held: String,
    /// Backticks in the reasoning already sent (their parity says whether the held
    /// text starts inside a code span).
    ticks: usize,
}

#[derive(Debug, Default, PartialEq, Eq)]
enum Inline {
    /// Nothing decided yet: the text may open with `<thinking>`.
    #[default]
    Start,
    Thinking,
    /// Just after `</thinking>`: the blank line that follows is dropped.
    After,
    Text,
}

const OPEN: &str = "<thinking>";
const CLOSE: &str = "</thinking>";

impl InlineThinking {
    /// The next text delta; the pieces it completes, `(is_reasoning, text)`.
    pub fn push(&mut self, text: &str) -> Vec<(bool, String)> {
        self.held.push_str(text);
        let mut out = Vec::new();
        loop {
            match self.state {
                Inline::Start => {
                    let trimmed = self.held.trim_start();
                    if let Some(rest) = trimmed.strip_prefix(OPEN) {
                        self.held = rest.to_string();
                        self.state = Inline::Thinking;
                    } else if OPEN.starts_with(trimmed) {
                        return out; // maybe the tag, not complete yet
                    } else {
                        self.state = Inline::Text;
                    }
                }
                Inline::Thinking => match real_close(&self.held, self.ticks) {
                    Some(at) => {
                        let reasoning: String = self.held[..at].to_string();
                        self.held = self.held[at + CLOSE.len()..].to_string();
                        if !reasoning.is_empty() {
                            out.push((true, reasoning));
                        }
                        self.state = Inline::After;
                    }
                    None => {
                        let keep = partial_suffix(&self.held, CLOSE);
                        let cut = self.held.len() - keep;
                        if cut > 0 {
                            self.ticks += self.held[..cut].matches('`').count();
                            out.push((true, self.held[..cut].to_string()));
                            self.held.drain(..cut);
                        }
                        return out;
                    }
                },
                Inline::After => {
                    let trimmed = self.held.trim_start_matches(['\n', '\r', ' ']);
                    if trimmed.is_empty() {
                        self.held.clear();
                        return out;
                    }
                    self.held = trimmed.to_string();
                    self.state = Inline::Text;
                }
                Inline::Text => {
                    if !self.held.is_empty() {
                        out.push((false, std::mem::take(&mut self.held)));
                    }
                    return out;
                }
            }
        }
    }

    /// The text ended (or something else interrupts it): whatever is held back.
    pub fn finish(&mut self) -> Vec<(bool, String)> {
        let held = std::mem::take(&mut self.held);
        let reasoning = self.state == Inline::Thinking;
        if self.state == Inline::Start && !held.is_empty() {
            self.state = Inline::Text;
        }
        if held.is_empty() {
            Vec::new()
        } else {
            vec![(reasoning, held)]
        }
    }
}

/// Where a closing tag that is not inside backticks starts.
fn real_close(text: &str, ticks_before: usize) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = text[from..].find(CLOSE) {
        let at = from + found;
        let ticks = ticks_before + text[..at].matches('`').count();
        if ticks.is_multiple_of(2) {
            return Some(at);
        }
        from = at + CLOSE.len();
    }
    None
}

/// The length of the longest suffix of `text` that is a proper prefix of `tag`.
fn partial_suffix(text: &str, tag: &str) -> usize {
    (1..tag.len())
        .rev()
        .find(|&n| {
            text.len() >= n
                && text.is_char_boundary(text.len() - n)
                && tag.starts_with(&text[text.len() - n..])
        })
        .unwrap_or(0)
}
