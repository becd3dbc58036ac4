//! Golden checks: IR requests a client would send, and the exact Chat JSON they become.

use super::*;

fn encode(request: &ChatRequest) -> Value {
    encode_body(request, "gpt-4o", Flavor::OpenAi).unwrap()
}

#[test]
fn a_tool_round_trip_becomes_system_user_assistant_calls_and_tool_messages() {
    let request = ChatRequest::new()
        .with_system("You are terse.")
        .with_system("Use tools.")
        .with_message(Message::user_text("run echo hi"))
        .with_message(Message::new(
            Role::Assistant,
            vec![
                Part::Reasoning(ReasoningPart {
                    text: "think".into(),
                    signature: None,
                    redacted: None,
                    options: None,
                }),
                Part::tool_call("call_1", "bash", r#"{"cmd":"echo hi"}"#),
            ],
        ))
        .with_message(Message::new(
            Role::Tool,
            vec![Part::tool_result_text("call_1", "hi\n")],
        ))
        .with_tool(
            Tool::new(
                "bash",
                r#"{"type":"object","properties":{"cmd":{"type":"string"}}}"#,
            )
            .described("Run a command"),
        );
    let body = encode(&request);
    assert_eq!(
        body,
        json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "You are terse.\n\nUse tools."},
                {"role": "user", "content": "run echo hi"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "bash", "arguments": "{\"cmd\":\"echo hi\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "hi\n"},
            ],
            "tools": [{"type": "function", "function": {
                "name": "bash",
                "description": "Run a command",
                "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}},
            }}],
        })
    );
}

#[test]
fn images_become_image_url_parts_with_data_urls_and_detail() {
    let image = FilePart {
        media_type: "image/png".into(),
        data: FileData::Base64("iVBORw0KGgo=".into()),
        filename: None,
        options: Some(r#"{"openai":{"detail":"high"}}"#.into()),
    };
    let linked = FilePart {
        media_type: "image/jpeg".into(),
        data: FileData::Url("https://x.test/a.jpg".into()),
        filename: None,
        options: None,
    };
    let request = ChatRequest::new().with_message(Message::new(
        Role::User,
        vec![
            Part::text("what is this?"),
            Part::File(image),
            Part::File(linked),
        ],
    ));
    assert_eq!(
        encode(&request)["messages"][0]["content"],
        json!([
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "high"}},
            {"type": "image_url", "image_url": {"url": "https://x.test/a.jpg"}},
        ])
    );
}

#[test]
fn a_pdf_goes_as_a_file_part_and_a_pdf_url_is_unsupported() {
    let pdf = FilePart {
        media_type: "application/pdf".into(),
        data: FileData::Base64("JVBERi0=".into()),
        filename: Some("a.pdf".into()),
        options: None,
    };
    let request =
        ChatRequest::new().with_message(Message::new(Role::User, vec![Part::File(pdf.clone())]));
    assert_eq!(
        encode(&request)["messages"][0]["content"][0],
        json!({"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"}})
    );
    let by_url = FilePart {
        data: FileData::Url("https://x.test/a.pdf".into()),
        ..pdf
    };
    let request =
        ChatRequest::new().with_message(Message::new(Role::User, vec![Part::File(by_url)]));
    assert_eq!(
        encode_body(&request, "m", Flavor::OpenAi).unwrap_err().kind,
        ErrorKind::Unsupported
    );
}

#[test]
fn tool_results_in_a_user_turn_come_first_as_tool_messages_then_the_text() {
    let request = ChatRequest::new().with_message(Message::new(
        Role::User,
        vec![Part::tool_result_text("c1", "42"), Part::text("and now?")],
    ));
    assert_eq!(
        encode(&request)["messages"],
        json!([
            {"role": "tool", "tool_call_id": "c1", "content": "42"},
            {"role": "user", "content": "and now?"},
        ])
    );
}

#[test]
fn params_tool_choice_format_and_streaming_are_written_for_openai() {
    let mut request = ChatRequest::new()
        .with_message(Message::user_text("hi"))
        .streaming(true);
    request.params = GenerationParams {
        max_tokens: Some(1000),
        temperature: Some(0.7),
        top_p: Some(0.9),
        top_k: Some(40),
        stop: vec!["END".into()],
        seed: Some(7),
        reasoning: Some(ReasoningConfig {
            effort: Some("high".into()),
            budget_tokens: None,
        }),
        response_format: Some(ResponseFormat::JsonSchema(JsonSchemaFormat {
            name: "answer".into(),
            schema: r#"{"type":"object"}"#.into(),
            strict: true,
            description: None,
        })),
        parallel_tool_calls: Some(false),
        ..GenerationParams::default()
    };
    request.tool_choice = Some(ToolChoice::Tool("bash".into()));
    request.options =
        Some(r#"{"openai":{"user":"u-1","store":false},"anthropic":{"ignored":true}}"#.into());
    let body = encode(&request);
    assert_eq!(body["max_completion_tokens"], 1000);
    assert_eq!(body.get("max_tokens"), None);
    assert_eq!(body["temperature"], json!(0.7));
    assert_eq!(body["top_p"], json!(0.9));
    assert_eq!(body.get("top_k"), None, "api.openai.com rejects top_k");
    assert_eq!(body["stop"], json!(["END"]));
    assert_eq!(body["seed"], 7);
    assert_eq!(body["reasoning_effort"], "high");
    assert_eq!(
        body["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": true}})
    );
    assert_eq!(body["parallel_tool_calls"], false);
    assert_eq!(
        body["tool_choice"],
        json!({"type": "function", "function": {"name": "bash"}})
    );
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(body["user"], "u-1");
    assert_eq!(body["store"], false);
    assert_eq!(body.get("ignored"), None);
}

#[test]
fn compatible_servers_get_max_tokens_top_k_and_an_effort_from_a_budget() {
    let mut request = ChatRequest::new().with_message(Message::user_text("hi"));
    request.params.max_tokens = Some(64);
    request.params.top_k = Some(20);
    request.params.reasoning = Some(ReasoningConfig {
        effort: None,
        budget_tokens: Some(10_000),
    });
    request.params.response_format = Some(ResponseFormat::JsonObject);
    request.tool_choice = Some(ToolChoice::Required);
    let body = encode_body(
        &request,
        "llama",
        Flavor::for_base_url("http://localhost:8000/v1"),
    )
    .unwrap();
    assert_eq!(body["max_tokens"], 64);
    assert_eq!(body["top_k"], 20);
    assert_eq!(body["reasoning_effort"], "medium");
    assert_eq!(body["response_format"], json!({"type": "json_object"}));
    assert_eq!(body["tool_choice"], "required");
    assert_eq!(body.get("stream"), None);
}

#[test]
fn an_invalid_tool_schema_is_the_clients_error() {
    let request = ChatRequest::new()
        .with_message(Message::user_text("hi"))
        .with_tool(Tool::new("t", "{not json"));
    assert_eq!(
        encode_body(&request, "m", Flavor::OpenAi).unwrap_err().kind,
        ErrorKind::InvalidRequest
    );
}

#[test]
fn a_clients_own_stream_options_never_switch_usage_off() {
    let mut request = ChatRequest::new()
        .with_message(Message::user_text("hi"))
        .streaming(true);
    request.options = Some(
        r#"{"openai":{"stream_options":{"include_obfuscation":false,"include_usage":false}}}"#
            .into(),
    );
    assert_eq!(
        encode(&request)["stream_options"],
        json!({"include_obfuscation": false, "include_usage": true})
    );
}

/// On the IR path (a Chat client behind a fixup), what the Chat surface kept goes back:
/// message fields such as `name`, a later `developer` message's role, and a text
/// part's own fields such as `cache_control` (which keeps the content an array).
#[test]
fn fields_a_chat_client_sent_that_the_ir_has_no_slot_for_go_back() {
    let openai = |value: Value| Some(json!({"openai": value}).to_string());
    let mut named = Message::user_text("hi, I'm Ada");
    named.options = openai(json!({"name": "ada", "role": "ignored"}));
    let mut cached = TextPart::new("a long document");
    cached.options = openai(json!({"cache_control": {"type": "ephemeral"}}));
    let mut developer = Message::new(Role::System, vec![Part::text("Answer in French.")]);
    developer.options = openai(json!({"role": "developer"}));
    let mut assistant = Message::new(Role::Assistant, vec![Part::text("Bonjour.")]);
    assistant.options = openai(json!({"name": "helper", "content": "not this"}));
    let request = ChatRequest::new()
        .with_message(named)
        .with_message(Message::new(Role::User, vec![Part::Text(cached)]))
        .with_message(developer)
        .with_message(assistant);

    let body = encode(&request);

    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": "hi, I'm Ada", "name": "ada"},
            {"role": "user", "content": [
                {"type": "text", "text": "a long document", "cache_control": {"type": "ephemeral"}},
            ]},
            {"role": "developer", "content": "Answer in French."},
            {"role": "assistant", "content": "Bonjour.", "name": "helper"},
        ])
    );
}
