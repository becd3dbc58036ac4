//! Stories of real clients' requests decoded into the IR, and of every way a request is
//! refused.

use serde_json::{Value, json};

use super::decode;
use crate::ir::{
    Dialect, FileData, FilePart, JsonSchemaFormat, Message, Part, ReasoningPart, ResponseFormat,
    Role, TextPart, Tool, ToolCallPart, ToolChoice, ToolOutput, ToolResultPart,
};
use crate::surfaces::{ClientError, Decoded, ErrorKind};

fn decoded(body: Value) -> Decoded {
    decode(body.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e:?}"))
}

fn refused(body: Value) -> ClientError {
    let error = decode(body.to_string().as_bytes()).expect_err("the request should be refused");
    assert_eq!(error.kind, ErrorKind::InvalidRequest);
    error
}

fn text(text: &str) -> Part {
    Part::Text(TextPart {
        text: text.into(),
        options: None,
    })
}

#[test]
fn the_python_sdk_sends_a_tool_round_trip_and_every_field_survives() {
    let request = decoded(json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "What's the weather in Paris?"},
            {"role": "assistant", "content": null, "refusal": null, "tool_calls": [
                {"id": "call_abc", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_abc", "content": "18°C, sunny"}
        ],
        "tools": [{"type": "function", "function": {
            "name": "get_weather",
            "description": "Current weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            "strict": true
        }}],
        "tool_choice": "auto",
        "temperature": 0.2,
        "max_completion_tokens": 512,
        "parallel_tool_calls": false,
        "user": "u-42",
        "metadata": {"team": "x"},
        "logit_bias": {"50256": -100},
        "store": true
    }));

    assert_eq!(request.dialect, Dialect::OpenaiChat);
    assert_eq!(request.model, "gpt-4o");
    assert!(!request.stream && !request.include_usage);
    let ir = request.request;
    assert_eq!(
        ir.system,
        vec![TextPart {
            text: "You are terse.".into(),
            options: None
        }]
    );
    assert_eq!(
        ir.messages,
        vec![
            Message {
                role: Role::User,
                parts: vec![text("What's the weather in Paris?")],
                options: None
            },
            Message {
                role: Role::Assistant,
                parts: vec![Part::ToolCall(ToolCallPart {
                    id: "call_abc".into(),
                    name: "get_weather".into(),
                    arguments: "{\"city\":\"Paris\"}".into(),
                    options: None,
                })],
                options: None,
            },
            Message {
                role: Role::Tool,
                parts: vec![Part::ToolResult(ToolResultPart {
                    call_id: "call_abc".into(),
                    name: Some("get_weather".into()),
                    output: vec![ToolOutput::Text("18°C, sunny".into())],
                    is_error: false,
                    options: None,
                })],
                options: None,
            },
        ]
    );
    assert_eq!(
        ir.tools,
        vec![Tool {
            name: "get_weather".into(),
            description: Some("Current weather".into()),
            input_schema:
                r#"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#
                    .into(),
            options: Some(json!({"openai": {"strict": true}})),
        }]
    );
    assert_eq!(ir.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(ir.params.temperature, Some(0.2));
    assert_eq!(ir.params.max_tokens, Some(512));
    assert_eq!(ir.params.parallel_tool_calls, Some(false));
    assert_eq!(
        ir.options,
        Some(json!({"openai": {
            "user": "u-42",
            "metadata": {"team": "x"},
            "logit_bias": {"50256": -100},
            "store": true
        }})),
        "what the IR has no field for is kept verbatim, in the client's order"
    );
}

#[test]
fn opencode_streams_with_usage_and_sends_empty_assistant_content_with_its_tool_calls() {
    let request = decoded(json!({
        "model": "pb-model",
        "max_tokens": 32000,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": "You are opencode."},
            {"role": "system", "content": "<env>linux</env>"},
            {"role": "user", "content": [{"type": "text", "text": "run echo hi"}]},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "bash", "arguments": "{\"command\":\"echo hi\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "hi\n"}
        ],
        "tools": [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}],
        "tool_choice": "auto",
        "stream": true,
        "stream_options": {"include_usage": true}
    }));

    assert!(request.stream && request.include_usage);
    assert!(request.request.stream);
    let ir = request.request;
    assert_eq!(
        ir.system.len(),
        2,
        "both leading system messages become system blocks"
    );
    assert_eq!(ir.system[1].text, "<env>linux</env>");
    assert_eq!(ir.params.max_tokens, Some(32000));
    assert_eq!(ir.params.temperature, Some(0.0));
    let assistant = &ir.messages[1];
    assert_eq!(assistant.role, Role::Assistant);
    assert_eq!(
        assistant.parts.len(),
        1,
        "an empty content string adds no text part: {:?}",
        assistant.parts
    );
    assert!(matches!(&assistant.parts[0], Part::ToolCall(call) if call.name == "bash"));
    assert_eq!(
        ir.options, None,
        "nothing left over: stream_options was fully understood"
    );
}

#[test]
fn images_arrive_as_urls_with_detail_and_as_base64_data_urls() {
    let request = decoded(json!({
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Compare these."},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png?x=1", "detail": "high"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/photo"}},
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}}
        ]}]
    }));
    let parts = &request.request.messages[0].parts;
    assert_eq!(parts[0], text("Compare these."));
    assert_eq!(
        parts[1],
        Part::File(FilePart {
            media_type: "image/png".into(),
            data: FileData::Url("https://example.com/cat.png?x=1".into()),
            filename: None,
            options: Some(json!({"openai": {"detail": "high"}})),
        })
    );
    assert!(
        matches!(&parts[2], Part::File(f) if f.media_type == "image/*"),
        "unknown extension: {:?}",
        parts[2]
    );
    assert_eq!(
        parts[3],
        Part::File(FilePart {
            media_type: "image/jpeg".into(),
            data: FileData::Base64("/9j/4AAQ".into()),
            filename: None,
            options: None,
        })
    );
}

#[test]
fn audio_and_inline_files_become_file_parts() {
    let request = decoded(json!({
        "model": "gpt-4o-audio",
        "messages": [{"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "mp3"}},
            {"type": "file", "file": {"filename": "spec.pdf", "file_data": "data:application/pdf;base64,JVBERi0="}},
            {"type": "file", "file": {"filename": "notes.md", "file_data": "IyBOb3Rlcw=="}}
        ]}]
    }));
    let files: Vec<_> = request.request.messages[0]
        .parts
        .iter()
        .map(|p| match p {
            Part::File(f) => (f.media_type.as_str(), f.data.clone(), f.filename.as_deref()),
            other => panic!("expected a file, got {other:?}"),
        })
        .collect();
    assert_eq!(
        files,
        vec![
            ("audio/mpeg", FileData::Base64("UklGRg==".into()), None),
            (
                "application/pdf",
                FileData::Base64("JVBERi0=".into()),
                Some("spec.pdf")
            ),
            (
                "text/markdown",
                FileData::Base64("IyBOb3Rlcw==".into()),
                Some("notes.md")
            ),
        ]
    );
}

#[test]
fn developer_messages_lead_as_system_blocks_and_stay_in_place_later() {
    let request = decoded(json!({
        "model": "o3",
        "messages": [
            {"role": "developer", "content": [{"type": "text", "text": "Rule one."}, {"type": "text", "text": "Rule two."}]},
            {"role": "user", "content": "hi", "name": "alice"},
            {"role": "developer", "content": "Now be brief."},
            {"role": "user", "content": "again"}
        ],
        "reasoning_effort": "high"
    }));
    let ir = request.request;
    let developer = Some(json!({"openai": {"role": "developer"}}));
    assert_eq!(
        ir.system,
        vec![
            TextPart {
                text: "Rule one.".into(),
                options: developer.clone()
            },
            TextPart {
                text: "Rule two.".into(),
                options: developer.clone()
            },
        ]
    );
    assert_eq!(
        ir.messages[0].options,
        Some(json!({"openai": {"name": "alice"}}))
    );
    assert_eq!(
        ir.messages[1],
        Message {
            role: Role::System,
            parts: vec![text("Now be brief.")],
            options: developer
        }
    );
    assert_eq!(ir.params.reasoning.unwrap().effort.as_deref(), Some("high"));
}

#[test]
fn deepseek_reasoning_history_precedes_the_answer() {
    let request = decoded(json!({
        "model": "deepseek-reasoner",
        "messages": [
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "reasoning_content": "Adding.", "content": "4"},
            {"role": "user", "content": "and 3+3?"}
        ]
    }));
    assert_eq!(
        request.request.messages[1].parts,
        vec![
            Part::Reasoning(ReasoningPart {
                text: "Adding.".into(),
                ..Default::default()
            }),
            text("4")
        ]
    );
}

#[test]
fn sampling_stop_and_structured_output_controls_are_read() {
    let request = decoded(json!({
        "model": "gpt-4.1",
        "messages": [{"role": "user", "content": "list"}],
        "max_tokens": 100,
        "top_p": 0.9,
        "stop": "END",
        "seed": -7,
        "presence_penalty": 0.5,
        "frequency_penalty": -0.5,
        "n": 1,
        "tool_choice": {"type": "function", "function": {"name": "lookup"}},
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "listing", "description": "A list", "strict": true,
            "schema": {"type": "object", "properties": {"items": {"type": "array"}}}
        }}
    }));
    let params = request.request.params;
    assert_eq!(params.max_tokens, Some(100));
    assert_eq!(params.top_p, Some(0.9));
    assert_eq!(params.stop, ["END"]);
    assert_eq!(params.seed, Some(-7));
    assert_eq!(params.presence_penalty, Some(0.5));
    assert_eq!(params.frequency_penalty, Some(-0.5));
    assert_eq!(
        request.request.tool_choice,
        Some(ToolChoice::Tool("lookup".into()))
    );
    assert_eq!(
        params.response_format,
        Some(ResponseFormat::JsonSchema(JsonSchemaFormat {
            name: "listing".into(),
            schema: r#"{"type":"object","properties":{"items":{"type":"array"}}}"#.into(),
            strict: true,
            description: Some("A list".into()),
        }))
    );

    let other = decoded(json!({
        "model": "m", "messages": [{"role": "user", "content": "x"}],
        "stop": ["a", "b"], "response_format": {"type": "json_object"}, "tool_choice": "required",
        "max_tokens": 10, "max_completion_tokens": 20
    }));
    assert_eq!(other.request.params.stop, ["a", "b"]);
    assert_eq!(
        other.request.params.response_format,
        Some(ResponseFormat::JsonObject)
    );
    assert_eq!(other.request.tool_choice, Some(ToolChoice::Required));
    assert_eq!(
        other.request.params.max_tokens,
        Some(20),
        "max_completion_tokens wins"
    );
}

#[test]
fn a_tool_without_parameters_takes_no_arguments_and_explicit_nulls_are_ignored() {
    let request = decoded(json!({
        "model": "m",
        "messages": [{"role": "user", "content": "x"}],
        "tools": [{"type": "function", "function": {"name": "now"}}],
        "temperature": null,
        "user": null,
        "stream_options": null
    }));
    assert_eq!(
        request.request.tools[0].input_schema,
        r#"{"type":"object","properties":{}}"#
    );
    assert_eq!(request.request.params.temperature, None);
    assert_eq!(request.request.options, None);
}

#[test]
fn tool_results_may_be_text_parts_and_keep_unknown_stream_options() {
    let request = decoded(json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "x"},
            {"role": "tool", "tool_call_id": "c9", "content": [{"type": "text", "text": "line 1"}, {"type": "text", "text": "line 2"}]}
        ],
        "stream": true,
        "stream_options": {"include_usage": false, "include_obfuscation": false}
    }));
    let Part::ToolResult(result) = &request.request.messages[1].parts[0] else {
        panic!()
    };
    assert_eq!(
        result.output,
        [
            ToolOutput::Text("line 1".into()),
            ToolOutput::Text("line 2".into())
        ]
    );
    assert_eq!(result.name, None, "no earlier call named it");
    assert_eq!(
        request.request.options,
        Some(json!({"openai": {"stream_options": {"include_obfuscation": false}}}))
    );
}

#[test]
fn malformed_bodies_are_refused_with_the_parser_s_reason() {
    let error = decode(b"{\"model\": ").unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidRequest);
    assert!(
        error
            .message
            .starts_with("could not parse the JSON body: EOF while parsing"),
        "{}",
        error.message
    );

    let error = decode(b"[1, 2]").unwrap_err();
    assert_eq!(error.message, "the request body must be a JSON object");
}

#[test]
fn missing_model_or_messages_names_the_parameter() {
    let error = refused(json!({"messages": [{"role": "user", "content": "x"}]}));
    assert_eq!(error.param.as_deref(), Some("model"));
    assert_eq!(error.message, "Missing required parameter: 'model'.");

    let error = refused(json!({"model": "m"}));
    assert_eq!(error.param.as_deref(), Some("messages"));

    let error = refused(json!({"model": "m", "messages": []}));
    assert_eq!(error.param.as_deref(), Some("messages"));
}

#[test]
fn more_than_one_choice_is_refused_clearly() {
    let error =
        refused(json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 3}));
    assert_eq!(error.param.as_deref(), Some("n"));
    assert!(
        error.message.contains("n must be 1 (got 3)"),
        "{}",
        error.message
    );
}

#[test]
fn wrong_types_name_the_exact_field() {
    let cases = [
        (
            json!({"model": 5, "messages": []}),
            "model",
            "expected a string, but got an integer",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}),
            "temperature",
            "expected a number, but got a string",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}, {"role": "user", "content": 7}]}),
            "messages[1].content",
            "expected a string or an array of content parts, but got an integer",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": ["a", 1]}),
            "stop[1]",
            "expected a string",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}),
            "stream",
            "expected a boolean",
        ),
        (
            json!({"model": "m", "messages": "hello"}),
            "messages",
            "expected an array, but got a string",
        ),
    ];
    for (body, param, fragment) in cases {
        let error = refused(body);
        assert_eq!(error.param.as_deref(), Some(param));
        assert!(
            error.message.contains(fragment),
            "{param}: {}",
            error.message
        );
    }
}

#[test]
fn unsupported_shapes_are_refused_with_what_is_supported() {
    let user = json!({"role": "user", "content": "x"});
    let cases = [
        (
            json!({"model": "m", "messages": [{"role": "function", "content": "x"}]}),
            "messages[0].role",
            "unsupported role 'function'",
        ),
        (
            json!({"model": "m", "messages": [{"content": "x"}]}),
            "messages[0].role",
            "Missing required parameter",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "video", "video": {}}]}]}),
            "messages[0].content[0].type",
            "unsupported content part type 'video'",
        ),
        (
            json!({"model": "m", "messages": [{"role": "system", "content": [{"type": "image_url", "image_url": "https://x/y.png"}]}, user]}),
            "messages[0].content[0]",
            "only text parts",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "file", "file": {"file_id": "file-abc"}}]}]}),
            "messages[0].content[0].file",
            "file_id references are not supported",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png,raw"}}]}]}),
            "messages[0].content[0].image_url.url",
            "data:<media type>;base64,<data>",
        ),
        (
            json!({"model": "m", "messages": [user, {"role": "tool", "content": "x"}]}),
            "messages[1].tool_call_id",
            "Missing",
        ),
        (
            json!({"model": "m", "messages": [user], "tools": [{"type": "custom", "custom": {}}]}),
            "tools[0].type",
            "only 'function'",
        ),
        (
            json!({"model": "m", "messages": [user], "tool_choice": "any"}),
            "tool_choice",
            "'any' is not a choice",
        ),
        (
            json!({"model": "m", "messages": [user], "response_format": {"type": "xml"}}),
            "response_format.type",
            "'xml' is not a format",
        ),
        (
            json!({"model": "m", "messages": [user], "max_tokens": -1}),
            "max_tokens",
            "non-negative integer",
        ),
    ];
    for (body, param, fragment) in cases {
        let error = refused(body);
        assert_eq!(error.param.as_deref(), Some(param), "{}", error.message);
        assert!(
            error.message.contains(fragment),
            "{param}: {}",
            error.message
        );
    }
}
