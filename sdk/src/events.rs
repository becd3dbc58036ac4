//! [`EventWriter`]: the one way a decoder writes IR events, so the stream's rules hold
//! whatever the upstream sends:
//!
//! - text and reasoning blocks get generated ids (`text-N`, `reasoning-N`, one counter)
//!   and a `*-start` before their first delta;
//! - at most one text or reasoning block is open; starting another kind (text,
//!   reasoning, a tool input, a complete tool call) ends it first;
//! - a streamed tool call is `tool-input-start`, its deltas, `tool-input-end`, then the
//!   `tool-call` with the arguments collected (`{}` when none came);
//! - an upstream error frame is an `error` event, then nothing but the `finish`, whose
//!   reason is `error`; a tool input open at the error is ended without a `tool-call`
//!   (its arguments never completed, so nothing may run it);
//! - every open block is ended before `finish`; `finish` comes exactly once and last,
//!   and [`EventWriter::end`] supplies one (see [`EventWriter::fallback_reason`]) when
//!   the decoder never said.
//!
//! Events written after the `finish` are dropped.

use crate::types::*;

/// Writes one response's IR events, keeping the stream's rules (see the module docs).
#[derive(Debug, Default)]
pub struct EventWriter {
    /// Written, not yet taken.
    events: Vec<StreamEvent>,
    /// The open text or reasoning block.
    block: Option<Block>,
    /// Tool calls whose input is streaming, in start order.
    tools: Vec<ToolInput>,
    /// Text and reasoning blocks started so far (the id counter).
    blocks_started: u32,
    /// `tool-call` events written.
    tool_calls: u32,
    errored: bool,
    finished: bool,
}

#[derive(Debug)]
enum Block {
    Text(String),
    Reasoning {
        id: String,
        signature: Option<String>,
    },
}

#[derive(Debug)]
struct ToolInput {
    id: String,
    name: String,
    arguments: String,
}

impl EventWriter {
    /// A writer for one response.
    pub fn new() -> Self {
        Self::default()
    }

    /// The events written since the last call, in order.
    pub fn take(&mut self) -> Vec<StreamEvent> {
        std::mem::take(&mut self.events)
    }

    /// Whether the `finish` has been written.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Whether an upstream error has been written.
    pub fn errored(&self) -> bool {
        self.errored
    }

    /// Whether content may still be written (no error, no finish yet).
    fn writable(&self) -> bool {
        !self.errored && !self.finished
    }

    /// The response's identity.
    pub fn metadata(&mut self, metadata: ResponseMetadata) {
        if self.writable() {
            self.events.push(StreamEvent::ResponseMetadata(metadata));
        }
    }

    fn next_id(&mut self, kind: &str) -> String {
        let id = format!("{kind}-{}", self.blocks_started);
        self.blocks_started += 1;
        id
    }

    /// Start a new text block (even if one is open, e.g. for an upstream's own block
    /// boundary); its id. Text written next goes into it.
    pub fn start_text(&mut self) -> String {
        self.end_everything_open();
        let id = self.next_id("text");
        if self.writable() {
            self.events.push(StreamEvent::TextStart(id.clone()));
            self.block = Some(Block::Text(id.clone()));
        }
        id
    }

    /// More text: into the open text block, or a new one. Empty text writes nothing.
    pub fn text(&mut self, delta: &str) {
        if delta.is_empty() || !self.writable() {
            return;
        }
        let id = match &self.block {
            Some(Block::Text(id)) => id.clone(),
            _ => self.start_text(),
        };
        self.events.push(StreamEvent::text_delta(id, delta));
    }

    /// Start a new reasoning block; its id. Reasoning written next goes into it.
    pub fn start_reasoning(&mut self) -> String {
        self.end_everything_open();
        let id = self.next_id("reasoning");
        if self.writable() {
            self.events.push(StreamEvent::ReasoningStart(id.clone()));
            self.block = Some(Block::Reasoning {
                id: id.clone(),
                signature: None,
            });
        }
        id
    }

    /// More reasoning: into the open reasoning block, or a new one. Empty text writes
    /// nothing.
    pub fn reasoning(&mut self, delta: &str) {
        if delta.is_empty() || !self.writable() {
            return;
        }
        let id = match &self.block {
            Some(Block::Reasoning { id, .. }) => id.clone(),
            _ => self.start_reasoning(),
        };
        self.events.push(StreamEvent::reasoning_delta(id, delta));
    }

    /// Append to the open reasoning block's signature (starting a block if none is
    /// open); it goes out with the block's end.
    pub fn reasoning_signature(&mut self, fragment: &str) {
        if !self.writable() {
            return;
        }
        if !matches!(self.block, Some(Block::Reasoning { .. })) {
            self.start_reasoning();
        }
        if let Some(Block::Reasoning { signature, .. }) = &mut self.block {
            signature.get_or_insert_with(String::new).push_str(fragment);
        }
    }

    /// End the open reasoning block (starting one if none is open, for a block that is
    /// only a signature or only `redacted`), with `signature` (replacing any collected
    /// by [`Self::reasoning_signature`]) and `redacted` when given.
    pub fn end_reasoning(&mut self, signature: Option<String>, redacted: Option<String>) {
        if !self.writable() {
            return;
        }
        if !matches!(self.block, Some(Block::Reasoning { .. })) {
            self.start_reasoning();
        }
        if let Some(Block::Reasoning {
            id,
            signature: kept,
        }) = self.block.take()
        {
            self.events.push(StreamEvent::ReasoningEnd(ReasoningEnd {
                id,
                signature: signature.or(kept),
                redacted,
            }));
        }
    }

    /// End the open text or reasoning block, if any.
    pub fn end_block(&mut self) {
        match self.block.take() {
            Some(Block::Text(id)) => self.events.push(StreamEvent::TextEnd(id)),
            Some(Block::Reasoning { id, signature }) => {
                self.events.push(StreamEvent::ReasoningEnd(ReasoningEnd {
                    id,
                    signature,
                    redacted: None,
                }))
            }
            None => {}
        }
    }

    /// A tool call `id` begins streaming its arguments (ends an open text or reasoning
    /// block). A second start of an open id is ignored.
    pub fn tool_input_start(&mut self, id: impl Into<String>, name: impl Into<String>) {
        let id = id.into();
        if !self.writable() || self.tools.iter().any(|tool| tool.id == id) {
            return;
        }
        self.end_block();
        let name = name.into();
        self.events
            .push(StreamEvent::tool_input_start(id.clone(), name.clone()));
        self.tools.push(ToolInput {
            id,
            name,
            arguments: String::new(),
        });
    }

    /// A fragment of tool call `id`'s arguments; ignored when empty or when `id` is
    /// not streaming.
    pub fn tool_input_delta(&mut self, id: &str, fragment: &str) {
        if fragment.is_empty() || !self.writable() {
            return;
        }
        if let Some(tool) = self.tools.iter_mut().find(|tool| tool.id == id) {
            tool.arguments.push_str(fragment);
            self.events
                .push(StreamEvent::tool_input_delta(id, fragment));
        }
    }

    /// Tool call `id`'s arguments are complete: `tool-input-end`, then the `tool-call`
    /// with the collected arguments (`{}` when none came).
    pub fn tool_input_end(&mut self, id: &str) {
        if !self.writable() {
            return;
        }
        if let Some(position) = self.tools.iter().position(|tool| tool.id == id) {
            let tool = self.tools.remove(position);
            let arguments = if tool.arguments.trim().is_empty() {
                "{}".to_string()
            } else {
                tool.arguments
            };
            self.events.push(StreamEvent::ToolInputEnd(tool.id.clone()));
            self.push_tool_call(ToolCallPart::new(tool.id, tool.name, arguments));
        }
    }

    /// A complete tool call. If its input was streaming, that input ends first and
    /// `call`'s arguments are the ones that count; otherwise an open text or reasoning
    /// block ends first.
    pub fn tool_call(&mut self, call: ToolCallPart) {
        if !self.writable() {
            return;
        }
        match self.tools.iter().position(|tool| tool.id == call.id) {
            Some(position) => {
                self.tools.remove(position);
                self.events.push(StreamEvent::ToolInputEnd(call.id.clone()));
            }
            None => self.end_block(),
        }
        self.push_tool_call(call);
    }

    fn push_tool_call(&mut self, call: ToolCallPart) {
        self.tool_calls += 1;
        self.events.push(StreamEvent::ToolCall(call));
    }

    /// End every streaming tool input, in start order (each with its `tool-call`).
    pub fn end_tool_inputs(&mut self) {
        let ids: Vec<String> = self.tools.iter().map(|tool| tool.id.clone()).collect();
        for id in ids {
            self.tool_input_end(&id);
        }
    }

    /// End whatever is open: the text or reasoning block, then the tool inputs.
    pub fn end_everything_open(&mut self) {
        self.end_block();
        self.end_tool_inputs();
    }

    /// The upstream reported an error mid-stream: open blocks end (a streaming tool
    /// input without its `tool-call`), the `error` event is written, and only the
    /// `finish` (reason `error`) may follow. A second error is dropped.
    pub fn error(&mut self, error: UpstreamError) {
        if !self.writable() {
            return;
        }
        self.end_block();
        for tool in std::mem::take(&mut self.tools) {
            self.events.push(StreamEvent::ToolInputEnd(tool.id));
        }
        self.events.push(StreamEvent::Error(error));
        self.errored = true;
    }

    /// The reason of a finish the decoder could not read from the upstream: `error`
    /// after an error, `tool-calls` when tool calls were written, otherwise `other`.
    pub fn fallback_reason(&self) -> FinishReason {
        if self.errored {
            FinishReason::Error
        } else if self.tool_calls > 0 {
            FinishReason::ToolCalls
        } else {
            FinishReason::Other
        }
    }

    /// End the response: open blocks end, then `finish` (its reason forced to `error`
    /// after an error). Only the first finish is written.
    pub fn finish(&mut self, mut finish: Finish) {
        if self.finished {
            return;
        }
        self.end_everything_open();
        if self.errored {
            finish.reason = FinishReason::Error;
        }
        self.events.push(StreamEvent::Finish(finish));
        self.finished = true;
    }

    /// The body ended: if no `finish` was written, open blocks end and a finish with
    /// [`Self::fallback_reason`] and no usage follows.
    pub fn end(&mut self) {
        if !self.finished {
            self.end_everything_open();
            let reason = self.fallback_reason();
            self.finish(Finish::new(reason, None, Usage::default()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finish(reason: FinishReason) -> StreamEvent {
        StreamEvent::finish(reason, None, Usage::default())
    }

    fn reasoning_end(id: &str, signature: Option<&str>, redacted: Option<&str>) -> StreamEvent {
        StreamEvent::ReasoningEnd(ReasoningEnd {
            id: id.into(),
            signature: signature.map(str::to_string),
            redacted: redacted.map(str::to_string),
        })
    }

    #[test]
    fn the_first_delta_starts_a_block_with_a_generated_id_and_later_ones_join_it() {
        let mut out = EventWriter::new();
        out.text("");
        out.text("Hel");
        out.text("lo");
        out.end();
        assert_eq!(
            out.take(),
            vec![
                StreamEvent::TextStart("text-0".into()),
                StreamEvent::text_delta("text-0", "Hel"),
                StreamEvent::text_delta("text-0", "lo"),
                StreamEvent::TextEnd("text-0".into()),
                finish(FinishReason::Other),
            ]
        );
    }

    #[test]
    fn another_kind_ends_the_open_block_first_and_ids_count_across_kinds() {
        let mut out = EventWriter::new();
        out.reasoning("think");
        out.reasoning_signature("sig");
        out.text("say");
        out.reasoning("again");
        out.end_reasoning(None, None);
        let explicit = out.start_text();
        out.end_block();
        out.end();
        assert_eq!(explicit, "text-3");
        assert_eq!(
            out.take(),
            vec![
                StreamEvent::ReasoningStart("reasoning-0".into()),
                StreamEvent::reasoning_delta("reasoning-0", "think"),
                reasoning_end("reasoning-0", Some("sig"), None),
                StreamEvent::TextStart("text-1".into()),
                StreamEvent::text_delta("text-1", "say"),
                StreamEvent::TextEnd("text-1".into()),
                StreamEvent::ReasoningStart("reasoning-2".into()),
                StreamEvent::reasoning_delta("reasoning-2", "again"),
                reasoning_end("reasoning-2", None, None),
                StreamEvent::TextStart("text-3".into()),
                StreamEvent::TextEnd("text-3".into()),
                finish(FinishReason::Other),
            ]
        );
    }

    #[test]
    fn a_redacted_block_is_a_start_and_an_end_carrying_it() {
        let mut out = EventWriter::new();
        out.end_reasoning(None, Some("opaque".into()));
        assert_eq!(
            out.take(),
            vec![
                StreamEvent::ReasoningStart("reasoning-0".into()),
                reasoning_end("reasoning-0", None, Some("opaque")),
            ]
        );
    }

    #[test]
    fn a_streamed_tool_call_ends_its_input_before_the_call_and_ends_the_text_before_it_starts() {
        let mut out = EventWriter::new();
        out.text("Running");
        out.tool_input_start("call_a", "bash");
        out.tool_input_delta("call_a", "{\"cmd\":");
        out.tool_input_delta("call_a", "");
        out.tool_input_delta("unknown", "dropped");
        out.tool_input_delta("call_a", "\"ls\"}");
        out.tool_input_start("call_b", "pwd");
        out.end();
        assert_eq!(
            out.take(),
            vec![
                StreamEvent::TextStart("text-0".into()),
                StreamEvent::text_delta("text-0", "Running"),
                StreamEvent::TextEnd("text-0".into()),
                StreamEvent::tool_input_start("call_a", "bash"),
                StreamEvent::tool_input_delta("call_a", "{\"cmd\":"),
                StreamEvent::tool_input_delta("call_a", "\"ls\"}"),
                StreamEvent::tool_input_start("call_b", "pwd"),
                StreamEvent::ToolInputEnd("call_a".into()),
                StreamEvent::ToolCall(ToolCallPart::new("call_a", "bash", "{\"cmd\":\"ls\"}")),
                StreamEvent::ToolInputEnd("call_b".into()),
                StreamEvent::ToolCall(ToolCallPart::new("call_b", "pwd", "{}")),
                finish(FinishReason::ToolCalls),
            ]
        );
    }

    #[test]
    fn a_complete_tool_call_ends_its_streaming_input_or_the_open_block() {
        let mut out = EventWriter::new();
        out.tool_input_start("c1", "ls");
        out.tool_input_delta("c1", "{\"a\"");
        out.tool_call(ToolCallPart::new("c1", "ls", "{\"a\":1}"));
        out.text("then");
        out.tool_call(ToolCallPart::new("c2", "pwd", "{}"));
        assert_eq!(
            out.take(),
            vec![
                StreamEvent::tool_input_start("c1", "ls"),
                StreamEvent::tool_input_delta("c1", "{\"a\""),
                StreamEvent::ToolInputEnd("c1".into()),
                StreamEvent::ToolCall(ToolCallPart::new("c1", "ls", "{\"a\":1}")),
                StreamEvent::TextStart("text-0".into()),
                StreamEvent::text_delta("text-0", "then"),
                StreamEvent::TextEnd("text-0".into()),
                StreamEvent::ToolCall(ToolCallPart::new("c2", "pwd", "{}")),
            ]
        );
    }

    #[test]
    fn a_text_block_after_a_tool_input_ends_the_input_first() {
        let mut out = EventWriter::new();
        out.tool_input_start("c1", "ls");
        out.text("x");
        let events = out.take();
        assert_eq!(events[1], StreamEvent::ToolInputEnd("c1".into()));
        assert_eq!(
            events[2],
            StreamEvent::ToolCall(ToolCallPart::new("c1", "ls", "{}"))
        );
        assert_eq!(events[3], StreamEvent::TextStart("text-0".into()));
    }

    #[test]
    fn finish_ends_open_blocks_comes_once_and_nothing_follows_it() {
        let mut out = EventWriter::new();
        out.reasoning("r");
        let usage = Usage {
            output_tokens: Some(3),
            ..Usage::default()
        };
        out.finish(Finish::new(
            FinishReason::Stop,
            Some("end_turn".into()),
            usage,
        ));
        out.finish(Finish::new(FinishReason::Length, None, Usage::default()));
        out.text("late");
        out.end();
        assert!(out.is_finished());
        assert_eq!(
            out.take(),
            vec![
                StreamEvent::ReasoningStart("reasoning-0".into()),
                StreamEvent::reasoning_delta("reasoning-0", "r"),
                reasoning_end("reasoning-0", None, None),
                StreamEvent::finish(FinishReason::Stop, Some("end_turn".into()), usage),
            ]
        );
    }

    #[test]
    fn an_empty_response_still_finishes() {
        let mut out = EventWriter::new();
        out.end();
        assert_eq!(out.take(), vec![finish(FinishReason::Other)]);
    }

    #[test]
    fn an_error_ends_blocks_drops_an_unfinished_call_and_is_followed_only_by_an_error_finish() {
        let mut out = EventWriter::new();
        out.text("par");
        out.tool_input_start("c1", "ls");
        out.tool_input_delta("c1", "{\"half");
        let throttled = UpstreamError::new(ErrorClass::Overloaded(None), "overloaded");
        out.error(throttled.clone());
        out.error(UpstreamError::new(ErrorClass::Other, "second"));
        out.text("after");
        out.tool_call(ToolCallPart::new("c9", "x", "{}"));
        let usage = Usage {
            input_tokens: Some(5),
            ..Usage::default()
        };
        out.finish(Finish::new(FinishReason::Stop, None, usage));
        assert!(out.errored());
        assert_eq!(
            out.take(),
            vec![
                StreamEvent::TextStart("text-0".into()),
                StreamEvent::text_delta("text-0", "par"),
                StreamEvent::TextEnd("text-0".into()),
                StreamEvent::tool_input_start("c1", "ls"),
                StreamEvent::tool_input_delta("c1", "{\"half"),
                StreamEvent::ToolInputEnd("c1".into()),
                StreamEvent::Error(throttled),
                StreamEvent::finish(FinishReason::Error, None, usage),
            ]
        );
    }

    #[test]
    fn the_fallback_finish_after_an_error_is_an_error_finish() {
        let mut out = EventWriter::new();
        out.error(UpstreamError::new(
            ErrorClass::RateLimited(Some(1000)),
            "slow",
        ));
        assert_eq!(out.fallback_reason(), FinishReason::Error);
        out.end();
        assert_eq!(out.take().last(), Some(&finish(FinishReason::Error)));
    }

    #[test]
    fn take_hands_out_each_event_once() {
        let mut out = EventWriter::new();
        out.metadata(ResponseMetadata::default());
        assert_eq!(out.take().len(), 1);
        out.text("x");
        assert_eq!(out.take().len(), 2);
        assert!(out.take().is_empty());
    }
}
