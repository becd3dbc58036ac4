//! Round trips through the 0.2 types.

use serde_json::json;

use super::*;
use crate::ir;
use crate::runtime::bindings::v0_2::fixup::exports::plugboard::adapter::filter as wit_filter;
use crate::runtime::bindings::v0_2::types as wit;
use crate::runtime::{AppliesTo, Placement};

fn rich_request() -> ir::ChatRequest {
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

#[test]
fn a_request_survives_the_round_trip_through_wit_unchanged() {
    let original = rich_request();
    let there: wit::ChatRequest = original.clone().into();
    let back: ir::ChatRequest = there.into();
    assert_eq!(back, original);
}

#[test]
fn every_stream_event_survives_the_round_trip() {
    let events = vec![
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
        ir::StreamEvent::Error(ir::UpstreamError {
            class: ir::ErrorClass::RateLimited {
                retry_after_ms: Some(2_000),
            },
            message: "slow down".into(),
        }),
        ir::StreamEvent::Error(ir::UpstreamError {
            class: ir::ErrorClass::AccountDisabled,
            message: "suspended".into(),
        }),
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
    ];
    assert_eq!(events_from_wit(events_to_wit(events.clone())), events);
}

#[test]
fn every_error_class_survives_the_round_trip() {
    for class in [
        ir::ErrorClass::RateLimited {
            retry_after_ms: None,
        },
        ir::ErrorClass::QuotaExhausted {
            retry_after_ms: Some(1),
        },
        ir::ErrorClass::Overloaded {
            retry_after_ms: Some(2),
        },
        ir::ErrorClass::AuthExpired,
        ir::ErrorClass::AccountDisabled,
        ir::ErrorClass::ModelUnavailable,
        ir::ErrorClass::ContextTooLong,
        ir::ErrorClass::BadRequest,
        ir::ErrorClass::Other,
    ] {
        let there: wit::ErrorClass = class.into();
        assert_eq!(ir::ErrorClass::from(there), class);
    }
}

#[test]
fn a_declared_kind_keeps_its_whole_spec_and_its_placement_in_host_form() {
    let declared = crate::runtime::spec::CredentialKind {
        id: "claude-oauth".into(),
        description: "d".into(),
        placement: crate::runtime::spec::Placement::Bearer,
        obtain: crate::runtime::spec::Obtain::Key,
        inputs: vec![],
        refresh: None,
        exchange: None,
        setup: true,
    };
    let kind = crate::runtime::CredentialKind::from(declared.clone());
    assert_eq!(kind.id, "claude-oauth");
    assert_eq!(kind.placement, Placement::Bearer);
    assert_eq!(kind.declared, declared);
}

#[test]
fn applies_to_arrives_whole() {
    let guard: AppliesTo = wit_filter::AppliesTo {
        dialects: vec![wit::Dialect::Gemini],
        adapters: vec!["gemini".into()],
        models: vec!["gemini-*".into()],
    }
    .into();
    assert_eq!(guard.dialects, [ir::Dialect::Gemini]);
    assert_eq!(guard.models, ["gemini-*"]);
}
