//! The test bodies every version runs: fixtures in host IR, and the round trips
//! through one version's generated types that [`shared_ir_conversion_tests!`] writes
//! into that version's test module.

use serde_json::json;

use crate::ir;

/// A request that uses every part, tool and parameter type.
pub(crate) fn rich_request() -> ir::ChatRequest {
    ir::ChatRequest {
        system: vec![ir::TextPart {
            text: "be brief".into(),
            options: Some(json!({"anthropic": {"cache_control": {"type": "ephemeral"}}})),
        }],
        messages: vec![
            ir::Message {
                role: ir::Role::User,
                parts: vec![
                    ir::Part::Text(ir::TextPart {
                        text: "hi".into(),
                        options: None,
                    }),
                    ir::Part::File(ir::FilePart {
                        media_type: "image/png".into(),
                        data: ir::FileData::Base64("AAAA".into()),
                        filename: Some("a.png".into()),
                        options: None,
                    }),
                ],
                options: None,
            },
            ir::Message {
                role: ir::Role::Assistant,
                parts: vec![
                    ir::Part::Reasoning(ir::ReasoningPart {
                        text: "hmm".into(),
                        signature: Some("sig".into()),
                        redacted: None,
                        options: None,
                    }),
                    ir::Part::ToolCall(ir::ToolCallPart {
                        id: "c1".into(),
                        name: "ls".into(),
                        arguments: "{}".into(),
                        options: None,
                    }),
                ],
                options: None,
            },
            ir::Message {
                role: ir::Role::Tool,
                parts: vec![ir::Part::ToolResult(ir::ToolResultPart {
                    call_id: "c1".into(),
                    name: Some("ls".into()),
                    output: vec![ir::ToolOutput::Text("a b".into())],
                    is_error: false,
                    options: None,
                })],
                options: Some(json!({"x": 1})),
            },
        ],
        tools: vec![ir::Tool {
            name: "ls".into(),
            description: None,
            input_schema: "{\"type\":\"object\"}".into(),
            options: None,
        }],
        tool_choice: Some(ir::ToolChoice::Tool("ls".into())),
        params: ir::GenerationParams {
            max_tokens: Some(10),
            temperature: Some(0.5),
            stop: vec!["END".into()],
            seed: Some(-3),
            reasoning: Some(ir::ReasoningConfig {
                effort: Some("high".into()),
                budget_tokens: Some(100),
            }),
            response_format: Some(ir::ResponseFormat::JsonSchema(ir::JsonSchemaFormat {
                name: "n".into(),
                schema: "{}".into(),
                strict: true,
                description: None,
            })),
            ..Default::default()
        },
        stream: true,
        options: Some(json!({"openai": {"user": "u"}})),
    }
}

/// One stream event of every kind but `error`, whose carriage differs per version.
pub(crate) fn every_event_but_errors() -> Vec<ir::StreamEvent> {
    vec![
        ir::StreamEvent::ResponseMetadata(ir::ResponseMetadata {
            id: Some("r".into()),
            model: None,
            created: Some(1),
        }),
        ir::StreamEvent::TextStart("t".into()),
        ir::StreamEvent::TextDelta {
            id: "t".into(),
            delta: "hé".into(),
        },
        ir::StreamEvent::TextEnd("t".into()),
        ir::StreamEvent::ReasoningStart("r".into()),
        ir::StreamEvent::ReasoningDelta {
            id: "r".into(),
            delta: "..".into(),
        },
        ir::StreamEvent::ReasoningEnd {
            id: "r".into(),
            signature: Some("s".into()),
            redacted: None,
        },
        ir::StreamEvent::ToolInputStart {
            id: "c".into(),
            name: "ls".into(),
        },
        ir::StreamEvent::ToolInputDelta {
            id: "c".into(),
            delta: "{".into(),
        },
        ir::StreamEvent::ToolInputEnd("c".into()),
        ir::StreamEvent::ToolCall(ir::ToolCallPart {
            id: "c".into(),
            name: "ls".into(),
            arguments: "{}".into(),
            options: None,
        }),
        ir::StreamEvent::Raw(vec![1, 2, 3]),
        ir::StreamEvent::Finish(ir::Finish {
            reason: ir::FinishReason::ToolCalls,
            raw_reason: Some("tool_use".into()),
            usage: ir::Usage {
                input_tokens: Some(3),
                cache_read_tokens: Some(1),
                ..Default::default()
            },
            options: Some(json!({"a": [1]})),
        }),
    ]
}

/// Writes the round-trip tests of the shared conversions for one version, in the
/// invoking test module (which must see the version's `events_from_wit` and
/// `events_to_wit`).
///
/// - `types`, `filter`: the version's generated `types` and `filter` interfaces.
/// - `request_to_wit`: how a host request goes down to this version.
/// - `surviving_errors`: the `error` events that come back unchanged in this version.
macro_rules! shared_ir_conversion_tests {
    (
        types: $types:path,
        filter: $filter:path,
        request_to_wit: $request_to_wit:expr,
        surviving_errors: [$($error:expr),* $(,)?] $(,)?
    ) => {
        mod shared {
            use serde_json::Value;

            use super::{events_from_wit, events_to_wit};
            use $crate::ir;
            use $crate::runtime::Hooks;
            use $crate::runtime::convert::shared_ir::tests::{every_event_but_errors, rich_request};
            use $types as wit;
            use $filter as wit_filter;

            #[test]
            fn a_request_survives_the_round_trip() {
                let original = rich_request();
                let there: wit::ChatRequest = ($request_to_wit)(original.clone());
                let back: ir::ChatRequest = there.into();
                assert_eq!(back, original);
            }

            #[test]
            fn every_stream_event_survives_the_round_trip() {
                let mut events = every_event_but_errors();
                events.extend([$($error),*]);
                assert_eq!(events_from_wit(events_to_wit(events.clone())), events);
            }

            #[test]
            fn options_that_are_not_json_are_kept_as_a_string() {
                let part: ir::TextPart = wit::TextPart {
                    text: "x".into(),
                    options: Some("{oops".into()),
                }
                .into();
                assert_eq!(part.options, Some(Value::String("{oops".into())));
            }

            #[test]
            fn hooks_flags_map_to_host_hooks() {
                let flags = wit_filter::Hooks::REQUEST | wit_filter::Hooks::EVENTS;
                assert_eq!(
                    Hooks::from(flags),
                    Hooks {
                        request: true,
                        upstream_request: false,
                        events: true,
                    }
                );
            }
        }
    };
}

pub(crate) use shared_ir_conversion_tests;
