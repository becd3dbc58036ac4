//! Aggregates IR stream events into one complete response, for clients that did not ask
//! for a stream (upstreams may stream either way).
//!
//! Dialect-neutral: every surface's non-streaming encoder reads a [`Collected`].
//!

use crate::ir::{
    Finish, Part, ReasoningPart, ResponseMetadata, StreamEvent, TextPart, ToolCallPart,
    UpstreamError,
};

/// A complete response, assembled from its events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Collected {
    /// Response identity; later events fill fields earlier ones left empty or override them.
    pub metadata: ResponseMetadata,
    /// Text (one part per block), reasoning and tool calls, in the order they began.
    pub parts: Vec<Part>,
    /// How the response ended, if it did.
    pub finish: Option<Finish>,
    /// The first mid-stream error, if any; a surface answers with an error body then.
    pub error: Option<UpstreamError>,
}

impl Collected {
    /// The tool calls, in order.
    pub fn tool_calls(&self) -> impl Iterator<Item = &ToolCallPart> {
        self.parts.iter().filter_map(|part| match part {
            Part::ToolCall(call) => Some(call),
            _ => None,
        })
    }
}

/// Which kind of block an open block id belongs to: text and reasoning ids are separate
/// namespaces (an adapter may number both from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Text,
    Reasoning,
}

/// Folds a stream of IR events into a [`Collected`].
#[derive(Debug, Default)]
pub struct Collector {
    collected: Collected,
    /// Open text and reasoning blocks: (kind, block id, index into `parts`).
    open_blocks: Vec<(BlockKind, String, usize)>,
    /// Every tool call seen: (call id, index into `parts`), so the authoritative
    /// `ToolCall` event replaces what the input events built.
    tool_calls: Vec<(String, usize)>,
}

impl Collector {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds in one event. `Raw` bytes are ignored: passthrough responses never reach a
    /// collector that re-encodes.
    pub fn push(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::ResponseMetadata(metadata) => self.merge_metadata(metadata),
            StreamEvent::TextStart(id) => {
                self.open(BlockKind::Text, id);
            }
            StreamEvent::TextDelta { id, delta } => {
                let index = self.block(BlockKind::Text, id);
                if let Part::Text(text) = &mut self.collected.parts[index] {
                    text.text.push_str(delta);
                }
            }
            StreamEvent::TextEnd(id) => self.close(BlockKind::Text, id),
            StreamEvent::ReasoningStart(id) => {
                self.open(BlockKind::Reasoning, id);
            }
            StreamEvent::ReasoningDelta { id, delta } => {
                let index = self.block(BlockKind::Reasoning, id);
                if let Part::Reasoning(reasoning) = &mut self.collected.parts[index] {
                    reasoning.text.push_str(delta);
                }
            }
            StreamEvent::ReasoningEnd {
                id,
                signature,
                redacted,
            } => {
                // A redacted block may come as a lone end event, with no start or text.
                let index = self.block(BlockKind::Reasoning, id);
                if let Part::Reasoning(reasoning) = &mut self.collected.parts[index] {
                    if signature.is_some() {
                        reasoning.signature.clone_from(signature);
                    }
                    if redacted.is_some() {
                        reasoning.redacted.clone_from(redacted);
                    }
                }
                self.close(BlockKind::Reasoning, id);
            }
            StreamEvent::ToolInputStart { id, name } => {
                let call = ToolCallPart {
                    id: id.clone(),
                    name: name.clone(),
                    arguments: String::new(),
                    options: None,
                };
                self.tool_calls
                    .push((id.clone(), self.collected.parts.len()));
                self.collected.parts.push(Part::ToolCall(call));
            }
            StreamEvent::ToolInputDelta { id, delta } => {
                if let Some(index) = self.tool_call_index(id)
                    && let Part::ToolCall(call) = &mut self.collected.parts[index]
                {
                    call.arguments.push_str(delta);
                }
            }
            StreamEvent::ToolInputEnd(_) => {}
            StreamEvent::ToolCall(call) => match self.tool_call_index(&call.id) {
                Some(index) => self.collected.parts[index] = Part::ToolCall(call.clone()),
                None => {
                    self.tool_calls
                        .push((call.id.clone(), self.collected.parts.len()));
                    self.collected.parts.push(Part::ToolCall(call.clone()));
                }
            },
            StreamEvent::Finish(finish) => self.collected.finish = Some(finish.clone()),
            StreamEvent::Raw(_) => {}
            StreamEvent::Error(error) => {
                if self.collected.error.is_none() {
                    self.collected.error = Some(error.clone());
                }
            }
        }
    }

    /// The assembled response. Blocks never closed are kept as they are: a truncated
    /// answer is still the answer the upstream gave.
    pub fn finish(self) -> Collected {
        self.collected
    }

    fn merge_metadata(&mut self, metadata: &ResponseMetadata) {
        let current = &mut self.collected.metadata;
        if metadata.id.is_some() {
            current.id.clone_from(&metadata.id);
        }
        if metadata.model.is_some() {
            current.model.clone_from(&metadata.model);
        }
        if metadata.created.is_some() {
            current.created = metadata.created;
        }
    }

    /// Opens a new block and returns its index in `parts`.
    fn open(&mut self, kind: BlockKind, id: &str) -> usize {
        let index = self.collected.parts.len();
        self.collected.parts.push(match kind {
            BlockKind::Text => Part::Text(TextPart::default()),
            BlockKind::Reasoning => Part::Reasoning(ReasoningPart::default()),
        });
        self.open_blocks.push((kind, id.to_owned(), index));
        index
    }

    /// The open block `id`, opened now if the adapter skipped its start event.
    fn block(&mut self, kind: BlockKind, id: &str) -> usize {
        match self
            .open_blocks
            .iter()
            .rev()
            .find(|(k, open, _)| *k == kind && open == id)
        {
            Some(&(_, _, index)) => index,
            None => self.open(kind, id),
        }
    }

    fn close(&mut self, kind: BlockKind, id: &str) {
        self.open_blocks
            .retain(|(k, open, _)| !(*k == kind && open == id));
    }

    /// The part index of call `id`; an empty id (a contract breach) never matches, so
    /// two such calls are both kept.
    fn tool_call_index(&self, id: &str) -> Option<usize> {
        if id.is_empty() {
            return None;
        }
        self.tool_calls
            .iter()
            .rev()
            .find(|(call, _)| call == id)
            .map(|&(_, index)| index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{ErrorClass, FinishReason, Usage};

    fn text_delta(id: &str, delta: &str) -> StreamEvent {
        StreamEvent::TextDelta {
            id: id.into(),
            delta: delta.into(),
        }
    }

    fn collect(events: &[StreamEvent]) -> Collected {
        let mut collector = Collector::new();
        for event in events {
            collector.push(event);
        }
        collector.finish()
    }

    #[test]
    fn a_thinking_model_answers_with_reasoning_then_text_then_a_tool_call() {
        let collected = collect(&[
            StreamEvent::ResponseMetadata(ResponseMetadata {
                id: Some("msg_1".into()),
                model: Some("claude-x".into()),
                created: None,
            }),
            StreamEvent::ReasoningStart("0".into()),
            StreamEvent::ReasoningDelta {
                id: "0".into(),
                delta: "The user wants ".into(),
            },
            StreamEvent::ReasoningDelta {
                id: "0".into(),
                delta: "a listing.".into(),
            },
            StreamEvent::ReasoningEnd {
                id: "0".into(),
                signature: Some("sig".into()),
                redacted: None,
            },
            StreamEvent::TextStart("1".into()),
            text_delta("1", "Let me "),
            text_delta("1", "look."),
            StreamEvent::TextEnd("1".into()),
            StreamEvent::ToolInputStart {
                id: "call_1".into(),
                name: "bash".into(),
            },
            StreamEvent::ToolInputDelta {
                id: "call_1".into(),
                delta: "{\"cmd\":".into(),
            },
            StreamEvent::ToolInputDelta {
                id: "call_1".into(),
                delta: "\"ls\"}".into(),
            },
            StreamEvent::ToolInputEnd("call_1".into()),
            StreamEvent::ToolCall(ToolCallPart {
                id: "call_1".into(),
                name: "bash".into(),
                arguments: "{\"cmd\":\"ls\"}".into(),
                options: None,
            }),
            StreamEvent::Raw(b"ignored".to_vec()),
            StreamEvent::Finish(Finish {
                reason: FinishReason::ToolCalls,
                raw_reason: Some("tool_use".into()),
                usage: Usage {
                    input_tokens: Some(10),
                    output_tokens: Some(5),
                    ..Default::default()
                },
                options: None,
            }),
        ]);

        assert_eq!(collected.metadata.id.as_deref(), Some("msg_1"));
        assert_eq!(collected.parts.len(), 3, "{:?}", collected.parts);
        assert_eq!(
            collected.parts[0],
            Part::Reasoning(ReasoningPart {
                text: "The user wants a listing.".into(),
                signature: Some("sig".into()),
                ..Default::default()
            })
        );
        assert_eq!(
            collected.parts[1],
            Part::Text(TextPart {
                text: "Let me look.".into(),
                options: None
            })
        );
        let calls: Vec<_> = collected.tool_calls().collect();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].arguments, "{\"cmd\":\"ls\"}");
        assert_eq!(collected.finish.unwrap().reason, FinishReason::ToolCalls);
        assert!(collected.error.is_none());
    }

    #[test]
    fn the_complete_tool_call_is_authoritative_over_streamed_fragments() {
        let collected = collect(&[
            StreamEvent::ToolInputStart {
                id: "a".into(),
                name: "read".into(),
            },
            StreamEvent::ToolInputDelta {
                id: "a".into(),
                delta: "{\"path\":\"x".into(),
            },
            StreamEvent::ToolCall(ToolCallPart {
                id: "a".into(),
                name: "read".into(),
                arguments: "{\"path\":\"x.rs\"}".into(),
                options: None,
            }),
        ]);
        assert_eq!(collected.parts.len(), 1);
        assert_eq!(
            collected.tool_calls().next().unwrap().arguments,
            "{\"path\":\"x.rs\"}"
        );
    }

    #[test]
    fn parallel_calls_without_input_events_keep_their_order() {
        let call = |id: &str| {
            StreamEvent::ToolCall(ToolCallPart {
                id: id.into(),
                name: "weather".into(),
                arguments: "{}".into(),
                options: None,
            })
        };
        let collected = collect(&[call("c1"), call("c2"), call("c3")]);
        let ids: Vec<_> = collected.tool_calls().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["c1", "c2", "c3"]);
    }

    #[test]
    fn calls_that_break_the_contract_with_empty_ids_are_not_merged() {
        let call = |args: &str| {
            StreamEvent::ToolCall(ToolCallPart {
                id: String::new(),
                name: "f".into(),
                arguments: args.into(),
                options: None,
            })
        };
        let collected = collect(&[call("{\"a\":1}"), call("{\"a\":2}")]);
        assert_eq!(collected.tool_calls().count(), 2);
    }

    #[test]
    fn separate_text_blocks_stay_separate_and_deltas_without_start_still_count() {
        let collected = collect(&[
            text_delta("t0", "Hello"),
            StreamEvent::TextEnd("t0".into()),
            StreamEvent::TextStart("t0".into()),
            text_delta("t0", "again"),
            StreamEvent::ReasoningStart("t0".into()),
            StreamEvent::ReasoningDelta {
                id: "t0".into(),
                delta: "hmm".into(),
            },
        ]);
        let texts: Vec<_> = collected
            .parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => format!("text:{}", t.text),
                Part::Reasoning(r) => format!("reasoning:{}", r.text),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(texts, ["text:Hello", "text:again", "reasoning:hmm"]);
    }

    #[test]
    fn a_lone_redacted_reasoning_end_becomes_a_part_and_the_first_error_is_kept() {
        let collected = collect(&[
            StreamEvent::ReasoningEnd {
                id: "r".into(),
                signature: None,
                redacted: Some("opaque".into()),
            },
            StreamEvent::Error(UpstreamError {
                class: ErrorClass::Other,
                message: "overloaded".into(),
            }),
            StreamEvent::Error(UpstreamError {
                class: ErrorClass::Other,
                message: "later".into(),
            }),
        ]);
        assert!(
            matches!(&collected.parts[0], Part::Reasoning(r) if r.redacted.as_deref() == Some("opaque"))
        );
        assert_eq!(collected.error.unwrap().message, "overloaded");
        assert!(collected.finish.is_none());
    }

    #[test]
    fn later_metadata_fills_in_what_earlier_metadata_lacked() {
        let collected = collect(&[
            StreamEvent::ResponseMetadata(ResponseMetadata {
                id: Some("r1".into()),
                model: None,
                created: None,
            }),
            StreamEvent::ResponseMetadata(ResponseMetadata {
                id: None,
                model: Some("m".into()),
                created: Some(7),
            }),
        ]);
        assert_eq!(
            collected.metadata,
            ResponseMetadata {
                id: Some("r1".into()),
                model: Some("m".into()),
                created: Some(7)
            }
        );
    }
}
