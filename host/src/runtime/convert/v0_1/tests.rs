//! Round trips through the 0.1 types, and what 0.1 lacks filled in going up.

use serde_json::{Value, json};

use super::*;
use crate::ir;
use crate::runtime::bindings::v0_1::fixup::exports::plugboard::adapter::filter as wit_filter;
use crate::runtime::bindings::v0_1::provider::exports::plugboard::adapter::translator as wit_translator;
use crate::runtime::bindings::v0_1::types as wit;
use crate::runtime::{Hooks, Placement};

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
fn a_request_survives_the_round_trip_through_wit_with_the_calls_model() {
    let original = rich_request();
    let there = chat_request_to_wit(original.clone(), "gpt-4o".into());
    assert_eq!(there.model, "gpt-4o");
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
            class: ir::ErrorClass::Other,
            message: "x".into(),
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
fn a_stream_error_goes_up_as_class_other() {
    let events = events_from_wit(vec![wit::StreamEvent::Error(wit::AdapterError {
        kind: wit::ErrorKind::InvalidRequest,
        message: "bad".into(),
    })]);
    assert_eq!(
        events,
        [ir::StreamEvent::Error(ir::UpstreamError {
            class: ir::ErrorClass::Other,
            message: "bad".into(),
        })]
    );
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

#[test]
fn error_classes_keep_their_retry_hints() {
    let there = wit_translator::ErrorClass::RateLimited(wit_translator::RetryAfter {
        after_ms: Some(1500),
    });
    assert_eq!(
        ir::ErrorClass::from(there),
        ir::ErrorClass::RateLimited {
            retry_after_ms: Some(1500)
        }
    );
}

#[test]
fn an_auth_scheme_becomes_one_api_key_kind_and_the_base_url_an_endpoint() {
    let info = provider_info(
        wit_translator::AdapterInfo {
            id: "openai".into(),
            version: "0.1.0".into(),
            contract_version: "0.1.0".into(),
            description: "d".into(),
            models: vec![],
            native_dialects: vec![wit::Dialect::OpenaiChat],
            auth: wit_translator::AuthScheme::Header(wit_translator::HeaderAuth {
                name: "x-api-key".into(),
                prefix: None,
            }),
            hosts: vec!["api.openai.com".into()],
            default_base_url: Some("https://api.openai.com/v1".into()),
            default_fixups: vec![],
        },
        "0.1.0",
    );
    assert_eq!(info.contract_version, "0.1.0");
    assert_eq!(info.endpoint("base"), Some("https://api.openai.com/v1"));
    let kind = info.default_key_kind().expect("an api-key kind");
    assert_eq!(kind.id, API_KEY_KIND);
    assert_eq!(
        kind.placement,
        Placement::Header {
            name: "x-api-key".into(),
            prefix: None
        }
    );
    assert!(info.credential_kind("api-key").is_some());
}
