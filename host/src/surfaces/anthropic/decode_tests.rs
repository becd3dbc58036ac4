//! Requests as real Anthropic clients send them, and every way a request is refused.

use serde_json::{Value, json};

use super::content::anthropic_of;
use super::decode;
use crate::ir::{
    Dialect, FileData, FilePart, JsonSchemaFormat, Part, ReasoningConfig, ReasoningPart,
    ResponseFormat, Role, TextPart, ToolCallPart, ToolChoice, ToolOutput,
};
use crate::surfaces::{ClientError, Decoded, ErrorKind};

fn decoded(body: Value) -> Decoded {
    decode(body.to_string().as_bytes()).unwrap_or_else(|e| panic!("refused: {}", e.message))
}

fn refused(body: Value) -> ClientError {
    let error = decode(body.to_string().as_bytes()).expect_err("should be refused");
    assert_eq!(error.kind, ErrorKind::InvalidRequest);
    error
}

fn hello(extra: Value) -> Value {
    let mut body = json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "Hello"}],
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    body
}

#[test]
fn claude_code_s_opening_request_is_accepted_with_every_extra_kept() {
    let body = json!({
        "model": "claude-opus-4-5",
        "stream": true,
        "max_tokens": 64000,
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "metadata": {"user_id": "{\"device_id\":\"abc\",\"session_id\":\"s-1\"}"},
        "system": [
            {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Tone and style...", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Environment: linux", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        ],
        "messages": [
            {"role": "system", "content": "Current date: 2026-01-01"},
            {"role": "user", "content": [
                {"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
                {"type": "text", "text": "list the files", "cache_control": {"type": "ephemeral"}},
            ]},
        ],
        "tools": [{
            "name": "Bash",
            "description": "Runs a shell command",
            "input_schema": {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "properties": {"command": {"type": "string"}},
                "required": ["command"],
                "additionalProperties": false,
            },
        }],
    });
    let decoded = decoded(body);
    assert_eq!(decoded.dialect, Dialect::AnthropicMessages);
    assert_eq!(decoded.model, "claude-opus-4-5");
    assert!(decoded.stream && decoded.request.stream);
    let request = decoded.request;

    assert_eq!(request.system.len(), 3);
    assert_eq!(request.system[0].text, "You are Claude Code.");
    assert_eq!(
        request.system[2].options,
        Some(json!({"anthropic": {"cache_control": {"type": "ephemeral", "ttl": "1h"}}}))
    );

    assert_eq!(request.messages[0].role, Role::System);
    assert_eq!(
        request.messages[0].parts,
        [Part::Text(TextPart {
            text: "Current date: 2026-01-01".into(),
            options: None
        })]
    );
    assert_eq!(request.messages[1].role, Role::User);
    assert_eq!(
        request.messages[1].parts[1],
        Part::Text(TextPart {
            text: "list the files".into(),
            options: Some(json!({"anthropic": {"cache_control": {"type": "ephemeral"}}})),
        })
    );

    assert_eq!(request.params.max_tokens, Some(64000));
    assert_eq!(
        request.params.reasoning,
        Some(ReasoningConfig {
            effort: Some("high".into()),
            budget_tokens: None
        })
    );
    let schema: Value = serde_json::from_str(&request.tools[0].input_schema).unwrap();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");

    let options = anthropic_of(&request.options).unwrap();
    assert_eq!(options["thinking"], json!({"type": "adaptive"}));
    assert_eq!(options["output_config"], json!({"effort": "high"}));
    assert_eq!(options["context_management"]["edits"][0]["keep"], "all");
    assert!(
        options["metadata"]["user_id"]
            .as_str()
            .unwrap()
            .contains("session_id")
    );
    assert!(
        !options.contains_key("tools"),
        "custom tools alone are not duplicated"
    );
}

#[test]
fn a_tool_round_trip_splits_results_into_a_tool_turn_before_the_user_s_words() {
    let body = hello(json!({"messages": [
        {"role": "user", "content": "What's the weather in Paris and Rome?"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Two cities, two calls.", "signature": "EqQBCkYIBxgCKkA"},
            {"type": "text", "text": "Checking both."},
            {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_02", "name": "get_weather", "input": {"city": "Rome"},
             "cache_control": {"type": "ephemeral"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": "18°C"},
            {"type": "tool_result", "tool_use_id": "toolu_02", "is_error": true, "content": [
                {"type": "text", "text": "service down"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
            ]},
            {"type": "text", "text": "Retry Rome please."},
        ]},
    ]}));
    let messages = decoded(body).request.messages;
    let roles: Vec<_> = messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::Tool, Role::User]);

    let assistant = &messages[1].parts;
    assert_eq!(
        assistant[0],
        Part::Reasoning(ReasoningPart {
            text: "Two cities, two calls.".into(),
            signature: Some("EqQBCkYIBxgCKkA".into()),
            ..Default::default()
        })
    );
    assert_eq!(
        assistant[3],
        Part::ToolCall(ToolCallPart {
            id: "toolu_02".into(),
            name: "get_weather".into(),
            arguments: r#"{"city":"Rome"}"#.into(),
            options: Some(json!({"anthropic": {"cache_control": {"type": "ephemeral"}}})),
        })
    );

    let results: Vec<_> = messages[2]
        .parts
        .iter()
        .map(|part| match part {
            Part::ToolResult(result) => result,
            other => panic!("not a tool result: {other:?}"),
        })
        .collect();
    assert_eq!(results[0].call_id, "toolu_01");
    assert_eq!(
        results[0].name.as_deref(),
        Some("get_weather"),
        "named from the earlier call"
    );
    assert_eq!(results[0].output, [ToolOutput::Text("18°C".into())]);
    assert!(!results[0].is_error);
    assert!(results[1].is_error);
    assert_eq!(
        results[1].output[1],
        ToolOutput::File(FilePart {
            media_type: "image/png".into(),
            data: FileData::Base64("iVBOR".into()),
            filename: None,
            options: None,
        })
    );
    assert_eq!(
        messages[3].parts,
        [Part::Text(TextPart {
            text: "Retry Rome please.".into(),
            options: None
        })]
    );
}

#[test]
fn a_turn_of_only_tool_results_becomes_only_a_tool_turn() {
    let body = hello(json!({"messages": [
        {"role": "user", "content": "run it"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}]},
    ]}));
    let messages = decoded(body).request.messages;
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[2].role, Role::Tool);
    assert!(matches!(&messages[2].parts[0], Part::ToolResult(r) if r.output.is_empty()));
}

#[test]
fn images_and_documents_become_files_and_text_documents_become_text() {
    let body = hello(json!({"messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png?x=1"}},
        {"type": "document", "title": "Q3 report", "citations": {"enabled": true},
         "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/paper.pdf"}},
        {"type": "document", "title": "Notes", "cache_control": {"type": "ephemeral"},
         "source": {"type": "text", "media_type": "text/plain", "data": "buy milk"}},
        {"type": "document", "source": {"type": "content", "content": [
            {"type": "text", "text": "part one"}, {"type": "text", "text": "part two"}]}},
    ]}]}));
    let parts = decoded(body).request.messages.remove(0).parts;
    assert_eq!(
        parts[0],
        Part::File(FilePart {
            media_type: "image/jpeg".into(),
            data: FileData::Base64("/9j/4AAQ".into()),
            filename: None,
            options: None,
        })
    );
    assert!(matches!(&parts[1], Part::File(f)
        if f.media_type == "image/png" && f.data == FileData::Url("https://example.com/cat.png?x=1".into())));
    assert_eq!(
        parts[2],
        Part::File(FilePart {
            media_type: "application/pdf".into(),
            data: FileData::Base64("JVBERi0x".into()),
            filename: Some("Q3 report".into()),
            options: Some(json!({"anthropic": {"citations": {"enabled": true}}})),
        })
    );
    assert!(matches!(&parts[3], Part::File(f) if f.media_type == "application/pdf"));
    assert_eq!(
        parts[4],
        Part::Text(TextPart {
            text: "Notes\n\nbuy milk".into(),
            options: Some(json!({"anthropic": {"cache_control": {"type": "ephemeral"}}})),
        })
    );
    assert_eq!(
        parts[5],
        Part::Text(TextPart {
            text: "part one\n\npart two".into(),
            options: None
        })
    );
}

#[test]
fn redacted_thinking_is_opaque_reasoning_and_an_empty_signature_is_none() {
    let body = hello(json!({"messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va"},
            {"type": "thinking", "thinking": "from another provider", "signature": ""},
            {"type": "text", "text": "Hello!"},
        ]},
        {"role": "user", "content": "bye"},
    ]}));
    let parts = decoded(body).request.messages.remove(1).parts;
    assert_eq!(
        parts[0],
        Part::Reasoning(ReasoningPart {
            redacted: Some("EmwKAhgBEgy3va".into()),
            ..Default::default()
        })
    );
    assert!(matches!(&parts[1], Part::Reasoning(r) if r.signature.is_none()));
}

#[test]
fn sampling_and_length_controls_are_carried() {
    let request = decoded(hello(json!({
        "temperature": 0.7, "top_p": 0.9, "top_k": 40, "stop_sequences": ["\n\nHuman:", "END"],
        "system": "Be brief.",
    })))
    .request;
    assert_eq!(request.params.max_tokens, Some(1024));
    assert_eq!(request.params.temperature, Some(0.7));
    assert_eq!(request.params.top_p, Some(0.9));
    assert_eq!(request.params.top_k, Some(40));
    assert_eq!(request.params.stop, ["\n\nHuman:", "END"]);
    assert_eq!(
        request.system,
        [TextPart {
            text: "Be brief.".into(),
            options: None
        }]
    );
    assert!(!request.stream);
    assert_eq!(request.options, None, "nothing left over");
}

#[test]
fn tool_choice_maps_to_the_ir_and_disabling_parallel_use_turns_parallel_calls_off() {
    let choice = |value: Value| {
        let params_and_choice = decoded(hello(json!({"tool_choice": value}))).request;
        (
            params_and_choice.tool_choice,
            params_and_choice.params.parallel_tool_calls,
        )
    };
    assert_eq!(
        choice(json!({"type": "auto"})),
        (Some(ToolChoice::Auto), None)
    );
    assert_eq!(
        choice(json!({"type": "any"})),
        (Some(ToolChoice::Required), None)
    );
    assert_eq!(
        choice(json!({"type": "none"})),
        (Some(ToolChoice::None), None)
    );
    assert_eq!(
        choice(json!({"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true})),
        (Some(ToolChoice::Tool("get_weather".into())), Some(false))
    );
    assert_eq!(
        choice(json!({"type": "auto", "disable_parallel_tool_use": false})),
        (Some(ToolChoice::Auto), None)
    );
}

#[test]
fn thinking_budgets_are_carried_and_disabled_thinking_is_kept_for_anthropic() {
    let enabled = decoded(hello(
        json!({"thinking": {"type": "enabled", "budget_tokens": 10000}}),
    ))
    .request;
    assert_eq!(
        enabled.params.reasoning,
        Some(ReasoningConfig {
            effort: None,
            budget_tokens: Some(10000)
        })
    );
    assert_eq!(
        enabled.options, None,
        "an enabled budget is fully carried by the IR"
    );

    let disabled = decoded(hello(json!({"thinking": {"type": "disabled"}}))).request;
    assert_eq!(disabled.params.reasoning, None);
    assert_eq!(
        disabled.options,
        Some(json!({"anthropic": {"thinking": {"type": "disabled"}}}))
    );

    let max_effort = decoded(hello(json!({"output_config": {"effort": "max"}}))).request;
    assert_eq!(
        max_effort.params.reasoning,
        Some(ReasoningConfig {
            effort: Some("high".into()),
            budget_tokens: None
        })
    );
    assert_eq!(
        max_effort.options,
        Some(json!({"anthropic": {"output_config": {"effort": "max"}}}))
    );
}

#[test]
fn server_tools_keep_the_whole_tools_array_verbatim_and_custom_tools_still_reach_the_ir() {
    let tools = json!([
        {"name": "get_weather", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral"}},
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 5},
        {"type": "bash_20250124", "name": "bash"},
    ]);
    let request = decoded(hello(json!({"tools": tools.clone()}))).request;
    assert_eq!(request.tools.len(), 1);
    assert_eq!(request.tools[0].name, "get_weather");
    assert_eq!(
        request.tools[0].options,
        Some(json!({"anthropic": {"cache_control": {"type": "ephemeral"}}}))
    );
    assert_eq!(anthropic_of(&request.options).unwrap()["tools"], tools);
}

#[test]
fn unknown_fields_and_unknown_blocks_are_kept_not_dropped() {
    let body = hello(json!({
        "service_tier": "auto",
        "container": "container_1",
        "mcp_servers": [{"type": "url", "url": "https://mcp.example.com", "name": "x"}],
        "temperature": null,
        "messages": [
            {"role": "user", "content": "search it"},
            {"role": "assistant", "content": [
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "rust"}},
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
                {"type": "text", "text": "Found it."},
            ]},
        ],
    }));
    let request = decoded(body).request;
    let options = anthropic_of(&request.options).unwrap();
    assert_eq!(options["service_tier"], "auto");
    assert_eq!(options["container"], "container_1");
    assert_eq!(options["mcp_servers"][0]["name"], "x");
    assert!(
        !options.contains_key("temperature"),
        "explicit nulls are unset knobs"
    );

    let assistant = &request.messages[1];
    assert_eq!(
        assistant.parts,
        [Part::Text(TextPart {
            text: "Found it.".into(),
            options: None
        })]
    );
    let kept = &anthropic_of(&assistant.options).unwrap()["kept_blocks"];
    assert_eq!(kept[0]["index"], 0);
    assert_eq!(kept[0]["block"]["type"], "server_tool_use");
    assert_eq!(kept[1]["block"]["tool_use_id"], "srvtoolu_1");
}

#[test]
fn a_missing_max_tokens_is_tolerated() {
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(decoded(body).request.params.max_tokens, None);
}

#[test]
fn malformed_bodies_are_refused_with_the_field_named() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"messages": [{"role": "user", "content": "hi"}]}),
            "model: Field required",
        ),
        (json!({"model": "m"}), "messages: Field required"),
        (
            json!({"model": "m", "messages": []}),
            "messages: at least one message is required",
        ),
        (
            json!({"model": "m", "messages": "hi"}),
            "messages: Input should be a valid list",
        ),
        (
            hello(json!({"temperature": "warm"})),
            "temperature: Input should be a valid number",
        ),
        (
            hello(json!({"max_tokens": -5})),
            "max_tokens: Input should be a non-negative integer, got -5",
        ),
        (
            hello(json!({"stop_sequences": ["ok", 3]})),
            "stop_sequences.1: Input should be a valid string",
        ),
        (
            hello(json!({"system": [{"type": "image", "source": {}}]})),
            "system.0.type: Input should be 'text', got 'image'",
        ),
        (
            hello(json!({"system": 5})),
            "system: Input should be a valid string or a list of text blocks",
        ),
        (
            hello(json!({"messages": [{"role": "tool", "content": "x"}]})),
            "messages.0.role: Input should be 'user', 'assistant' or 'system', got 'tool'",
        ),
        (
            hello(json!({"messages": [{"role": "user"}]})),
            "messages.0.content: Field required",
        ),
        (
            hello(json!({"messages": [{"role": "user", "content": 7}]})),
            "messages.0.content: Input should be a valid string or a list of content blocks",
        ),
        (
            hello(json!({"messages": [{"role": "user", "content": [{"text": "no type"}]}]})),
            "messages.0.content.0.type: Field required",
        ),
        (
            hello(json!({"messages": [{"role": "user", "content": [{"type": "text"}]}]})),
            "messages.0.content.0.text: Field required",
        ),
        (
            hello(
                json!({"messages": [{"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "x"}]}]}),
            ),
            "messages.0.content.0.type: tool_result blocks belong in user turns",
        ),
        (
            hello(
                json!({"messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "x", "name": "f", "input": "{}"}]}]}),
            ),
            "messages.0.content.0.input: Input should be a valid dictionary",
        ),
        (
            hello(
                json!({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "file_1"}}]}]}),
            ),
            "messages.0.content.0.source.type: Files API sources ('file') are not supported by this proxy; send the content as a 'base64' or 'url' source",
        ),
        (
            hello(
                json!({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "data": "x"}}]}]}),
            ),
            "messages.0.content.0.source.media_type: Field required",
        ),
        (
            hello(json!({"tools": [{"name": "f"}]})),
            "tools.0.input_schema: Field required",
        ),
        (
            hello(json!({"tool_choice": {"type": "required"}})),
            "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none', got 'required'",
        ),
        (
            hello(json!({"tool_choice": {"type": "tool"}})),
            "tool_choice.name: Field required",
        ),
        (
            hello(json!({"thinking": {"type": "enabled"}})),
            "thinking.budget_tokens: Field required",
        ),
        (
            hello(json!({"thinking": {"type": "on"}})),
            "thinking.type: Input should be 'enabled', 'adaptive' or 'disabled', got 'on'",
        ),
        (
            hello(json!({"output_config": "high"})),
            "output_config: Input should be a valid dictionary",
        ),
        (
            hello(json!({"stream": "yes"})),
            "stream: Input should be a valid boolean",
        ),
    ];
    for (body, message) in cases {
        assert_eq!(refused(body).message, message);
    }
}

#[test]
fn bodies_that_are_not_json_objects_are_refused() {
    let error = decode(b"{\"model\": ").unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidRequest);
    assert!(
        error
            .message
            .starts_with("There was an error parsing the body"),
        "{}",
        error.message
    );
    let error = decode(b"[1, 2]").unwrap_err();
    assert_eq!(error.message, "The request body must be a JSON object");
}

fn person_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": false
    })
}

fn strict_schema(schema: &Value) -> Option<ResponseFormat> {
    Some(ResponseFormat::JsonSchema(JsonSchemaFormat {
        name: "response".into(),
        schema: schema.to_string(),
        strict: true,
        description: None,
    }))
}

#[test]
fn output_config_format_becomes_the_response_format_and_leaves_effort_in_the_options() {
    let request = decoded(hello(json!({
        "output_config": {"effort": "low", "format": {"type": "json_schema", "schema": person_schema()}}
    })))
    .request;
    assert_eq!(
        request.params.response_format,
        strict_schema(&person_schema())
    );
    assert_eq!(
        request.options,
        Some(json!({"anthropic": {"output_config": {"effort": "low"}}}))
    );
    assert_eq!(
        request.params.reasoning.and_then(|r| r.effort).as_deref(),
        Some("low")
    );

    let alone = decoded(hello(json!({
        "output_config": {"format": {"type": "json_schema", "schema": person_schema()}}
    })))
    .request;
    assert_eq!(
        alone.params.response_format,
        strict_schema(&person_schema())
    );
    assert_eq!(alone.options, None, "an emptied output_config goes");
}

#[test]
fn the_older_output_format_is_read_too_and_the_current_field_wins() {
    let legacy = decoded(hello(json!({
        "output_format": {"type": "json_schema", "schema": person_schema()}
    })))
    .request;
    assert_eq!(
        legacy.params.response_format,
        strict_schema(&person_schema())
    );
    assert_eq!(legacy.options, None, "output_format is consumed");

    let other = json!({"type": "object", "properties": {}, "additionalProperties": false});
    let both = decoded(hello(json!({
        "output_format": {"type": "json_schema", "schema": other},
        "output_config": {"format": {"type": "json_schema", "schema": person_schema()}}
    })))
    .request;
    assert_eq!(both.params.response_format, strict_schema(&person_schema()));

    let null = decoded(hello(json!({"output_format": null}))).request;
    assert_eq!(null.params.response_format, None);
}

#[test]
fn a_malformed_output_format_is_refused_naming_its_path() {
    let cases = [
        (
            hello(json!({"output_config": {"format": {"type": "json_object"}}})),
            "output_config.format.type: Input should be 'json_schema', got 'json_object'",
        ),
        (
            hello(json!({"output_format": {"type": "json_schema"}})),
            "output_format.schema: Field required",
        ),
        (
            hello(json!({"output_format": "json"})),
            "output_format: Input should be a valid dictionary",
        ),
        (
            hello(json!({"output_config": {"format": {"schema": {}}}})),
            "output_config.format.type: Field required",
        ),
    ];
    for (body, message) in cases {
        assert_eq!(refused(body).message, message);
    }
}
