//! Golden checks: IR requests and the exact Messages bodies they become.

use super::*;

fn reasoning(text: &str, signature: Option<&str>, redacted: Option<&str>) -> Part {
    Part::Reasoning(ReasoningPart {
        text: text.into(),
        signature: signature.map(str::to_string),
        redacted: redacted.map(str::to_string),
        options: None,
    })
}

#[test]
fn a_tool_round_trip_with_thinking_becomes_alternating_messages() {
    let mut cached = TextPart::new("You are Claude Code.");
    cached.options = Some(r#"{"anthropic":{"cache_control":{"type":"ephemeral"}}}"#.into());
    let request = ChatRequest {
        system: vec![cached, TextPart::new("Be brief.")],
        ..ChatRequest::new()
    }
    .with_message(Message::user_text("list files"))
    .with_message(Message::new(
        Role::Assistant,
        vec![
            reasoning("I should run ls.", Some("sig-1"), None),
            reasoning("", None, Some("opaque")),
            reasoning("foreign thoughts", None, None),
            Part::text("Running it."),
            Part::tool_call("toolu_1", "bash", r#"{"cmd":"ls"}"#),
            Part::tool_call("toolu_2", "pwd", ""),
        ],
    ))
    .with_message(Message::new(
        Role::Tool,
        vec![Part::tool_result_text("toolu_1", "a.txt")],
    ))
    .with_message(Message::new(
        Role::Tool,
        vec![Part::ToolResult(ToolResultPart {
            call_id: "toolu_2".into(),
            name: Some("pwd".into()),
            output: vec![ToolOutput::Text("denied".into())],
            is_error: true,
            options: None,
        })],
    ))
    .with_message(Message::user_text("thanks"))
    .with_tool(Tool::new("bash", r#"{"type":"object"}"#).described("Run"));
    let body = encode_body(&request, "claude-sonnet-4-5").unwrap();
    assert_eq!(
        body,
        json!({
            "model": "claude-sonnet-4-5",
            "system": [
                {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Be brief."},
            ],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "list files"}]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "I should run ls.", "signature": "sig-1"},
                    {"type": "redacted_thinking", "data": "opaque"},
                    {"type": "text", "text": "Running it."},
                    {"type": "tool_use", "id": "toolu_1", "name": "bash", "input": {"cmd": "ls"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "pwd", "input": {}},
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.txt"},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "denied", "is_error": true},
                    {"type": "text", "text": "thanks"},
                ]},
            ],
            "tools": [{"name": "bash", "description": "Run", "input_schema": {"type": "object"}}],
            "max_tokens": 8192,
        })
    );
}

#[test]
fn tool_results_lead_a_user_turn_and_system_turns_join_the_system_prompt() {
    let request = ChatRequest::new()
        .with_message(Message::system_text("Mid-conversation rule."))
        .with_message(Message::new(
            Role::User,
            vec![Part::text("here:"), Part::tool_result_text("t1", "ok")],
        ))
        .with_message(Message::new(Role::User, vec![Part::text("")]));
    let body = encode_body(&request, "m").unwrap();
    assert_eq!(
        body["system"],
        json!([{"type": "text", "text": "Mid-conversation rule."}])
    );
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": "ok"},
            {"type": "text", "text": "here:"},
        ]}])
    );
}

#[test]
fn images_and_pdfs_become_source_blocks() {
    let png = FilePart {
        media_type: "image/png".into(),
        data: FileData::Base64("iVBO".into()),
        filename: None,
        options: None,
    };
    let url = FilePart {
        media_type: "image/jpeg".into(),
        data: FileData::Url("https://x.test/a.jpg".into()),
        filename: None,
        options: None,
    };
    let pdf = FilePart {
        media_type: "application/pdf".into(),
        data: FileData::Base64("JVBE".into()),
        filename: Some("spec.pdf".into()),
        options: None,
    };
    let request = ChatRequest::new().with_message(Message::new(
        Role::User,
        vec![Part::File(png), Part::File(url), Part::File(pdf)],
    ));
    assert_eq!(
        encode_body(&request, "m").unwrap()["messages"][0]["content"],
        json!([
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
            {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}, "title": "spec.pdf"},
        ])
    );
    let zip = FilePart {
        media_type: "application/zip".into(),
        data: FileData::Base64("UEs=".into()),
        filename: None,
        options: None,
    };
    let request = ChatRequest::new().with_message(Message::new(Role::User, vec![Part::File(zip)]));
    assert_eq!(
        encode_body(&request, "m").unwrap_err().kind,
        ErrorKind::Unsupported
    );
}

#[test]
fn tool_choice_variants_and_parallel_calls() {
    let mut request = ChatRequest::new().with_message(Message::user_text("x"));
    for (choice, expected) in [
        (ToolChoice::Auto, json!({"type": "auto"})),
        (ToolChoice::Required, json!({"type": "any"})),
        (ToolChoice::None, json!({"type": "none"})),
        (
            ToolChoice::Tool("bash".into()),
            json!({"type": "tool", "name": "bash"}),
        ),
    ] {
        request.tool_choice = Some(choice);
        assert_eq!(encode_body(&request, "m").unwrap()["tool_choice"], expected);
    }
    request.tool_choice = None;
    request.params.parallel_tool_calls = Some(false);
    assert_eq!(
        encode_body(&request, "m").unwrap()["tool_choice"],
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
}

#[test]
fn sampling_params_and_stream_flag() {
    let mut request = ChatRequest::new()
        .with_message(Message::user_text("x"))
        .streaming(true);
    request.params = GenerationParams {
        max_tokens: Some(1000),
        temperature: Some(0.3),
        top_p: Some(0.95),
        top_k: Some(5),
        stop: vec!["###".into()],
        ..GenerationParams::default()
    };
    request.options = Some(r#"{"anthropic":{"metadata":{"user_id":"u"}}}"#.into());
    let body = encode_body(&request, "m").unwrap();
    assert_eq!(body["max_tokens"], 1000);
    assert_eq!(body["temperature"], json!(0.3));
    assert_eq!(body["top_p"], json!(0.95));
    assert_eq!(body["top_k"], 5);
    assert_eq!(body["stop_sequences"], json!(["###"]));
    assert_eq!(body["stream"], true);
    assert_eq!(body["metadata"], json!({"user_id": "u"}));
}

#[test]
fn reasoning_effort_becomes_a_thinking_budget_and_drops_temperature() {
    let mut request = ChatRequest::new().with_message(Message::user_text("x"));
    request.params.temperature = Some(0.2);
    request.params.reasoning = Some(ReasoningConfig {
        effort: Some("high".into()),
        budget_tokens: None,
    });
    let body = encode_body(&request, "m").unwrap();
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 16384})
    );
    assert_eq!(
        body["max_tokens"],
        16384 + 8192,
        "max_tokens grows past the budget when the client set none"
    );
    assert_eq!(body.get("temperature"), None);

    request.params.max_tokens = Some(4000);
    request.params.reasoning = Some(ReasoningConfig {
        effort: None,
        budget_tokens: Some(10_000),
    });
    let body = encode_body(&request, "m").unwrap();
    assert_eq!(body["max_tokens"], 4000, "the client's cap wins");
    assert_eq!(body["thinking"]["budget_tokens"], 3999);

    request.params.reasoning = Some(ReasoningConfig {
        effort: Some("low".into()),
        budget_tokens: None,
    });
    assert_eq!(
        encode_body(&request, "m").unwrap()["thinking"]["budget_tokens"],
        1024
    );
}

fn schema_request(options: Option<Value>) -> ChatRequest {
    let mut request = ChatRequest::new().with_message(Message::user_text("x"));
    request.params.response_format = Some(ResponseFormat::JsonSchema(JsonSchemaFormat {
        name: "a".into(),
        schema: r#"{"type":"object","properties":{"n":{"type":"string"}},"required":["n"],"additionalProperties":false}"#.into(),
        strict: true,
        description: None,
    }));
    request.options = options.map(|options| options.to_string());
    request
}

#[test]
fn a_json_schema_format_becomes_output_config_format_on_models_with_structured_outputs() {
    let body = encode_body(&schema_request(None), "claude-sonnet-4-5-20250929").unwrap();
    assert_eq!(
        body["output_config"],
        json!({"format": {"type": "json_schema", "schema": {
            "type": "object", "properties": {"n": {"type": "string"}},
            "required": ["n"], "additionalProperties": false
        }}})
    );
    assert!(
        body.get("system").is_none(),
        "no prompt instruction as well"
    );

    // The client's own output_config (effort) joins the format.
    let with_effort = schema_request(Some(
        json!({"anthropic": {"output_config": {"effort": "low"}}}),
    ));
    let body = encode_body(&with_effort, "claude-opus-4-6").unwrap();
    assert_eq!(body["output_config"]["effort"], "low");
    assert_eq!(body["output_config"]["format"]["type"], "json_schema");
}

#[test]
fn a_json_schema_format_becomes_a_system_instruction_on_older_models() {
    for model in [
        "claude-opus-4-1",
        "claude-sonnet-4-20250514",
        "claude-3-7-sonnet-latest",
        "m",
    ] {
        let body = encode_body(&schema_request(None), model).unwrap();
        assert!(body.get("output_config").is_none(), "{model}");
        let instruction = body["system"][0]["text"].as_str().unwrap();
        assert!(
            instruction.contains(r#""required":["n"]"#),
            "{model}: {instruction}"
        );
    }
}

#[test]
fn structured_outputs_are_known_from_claude_4_5_on() {
    for model in [
        "claude-sonnet-4-5",
        "claude-sonnet-4-5-20250929",
        "claude-opus-4-5",
        "claude-haiku-4-5-20251001",
        "claude-opus-4-6",
        "claude-sonnet-4-6",
        "claude-opus-5",
    ] {
        assert!(supports_structured_output(model), "{model}");
    }
    for model in [
        "claude-opus-4-1-20250805",
        "claude-sonnet-4-20250514",
        "claude-sonnet-4-0",
        "claude-3-5-haiku-latest",
        "gpt-5",
        "claude",
    ] {
        assert!(!supports_structured_output(model), "{model}");
    }
}

#[test]
fn plain_json_stays_a_system_instruction() {
    let mut request = ChatRequest::new().with_message(Message::user_text("x"));
    request.params.response_format = Some(ResponseFormat::JsonObject);
    let body = encode_body(&request, "claude-sonnet-4-5").unwrap();
    assert!(body.get("output_config").is_none());
    assert!(
        body["system"][0]["text"]
            .as_str()
            .unwrap()
            .contains("JSON object")
    );
}

/// What an Anthropic client sends that the IR has no part for (server tool use and
/// its results, search results) rides in the message's options as `kept_blocks`, with
/// its index in the client's turn; it goes back upstream at that place, so a fixup on
/// the IR path does not cost the model its web search results.
#[test]
fn blocks_the_ir_cannot_carry_go_back_at_their_place_in_the_turn() {
    let search = json!({"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "rust"}});
    let results =
        json!({"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []});
    let cited = json!({"type": "search_result", "source": "https://example.com", "title": "t", "content": []});
    let kept = |entries: Value| Some(json!({"anthropic": {"kept_blocks": entries}}).to_string());
    let mut assistant = Message::new(
        Role::Assistant,
        vec![Part::text("Let me search."), Part::text("Found it.")],
    );
    assistant.options =
        kept(json!([{"index": 1, "block": search}, {"index": 2, "block": results}]));
    // The user turn `[tool_result, search_result, text]`, as the surface splits it.
    let mut user = Message::user_text("Use this too.");
    user.options = kept(json!([{"index": 1, "block": cited}]));
    let request = ChatRequest::new()
        .with_message(Message::user_text("search rust"))
        .with_message(assistant)
        .with_message(Message::new(
            Role::Tool,
            vec![Part::tool_result_text("toolu_1", "ok")],
        ))
        .with_message(user);

    let body = encode_body(&request, "claude-sonnet-4-5").unwrap();

    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "search rust"}]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me search."},
                search,
                results,
                {"type": "text", "text": "Found it."},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"},
                cited,
                {"type": "text", "text": "Use this too."},
            ]},
        ])
    );
}

#[test]
fn a_turn_of_nothing_but_kept_blocks_is_not_dropped_as_empty() {
    let block =
        json!({"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}});
    let mut assistant = Message::new(Role::Assistant, vec![]);
    assistant.options =
        Some(json!({"anthropic": {"kept_blocks": [{"index": 0, "block": block}]}}).to_string());
    let request = ChatRequest::new()
        .with_message(Message::user_text("hi"))
        .with_message(assistant);

    let body = encode_body(&request, "claude-sonnet-4-5").unwrap();

    assert_eq!(
        body["messages"][1],
        json!({"role": "assistant", "content": [block]})
    );
}
