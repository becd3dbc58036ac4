//! Golden checks: IR requests a client would send, and the exact Responses JSON they become.

use super::*;

fn encode(request: &ChatRequest) -> Value {
    encode_body(request, "gpt-5").unwrap()
}

fn openai_options(value: Value) -> Option<Json> {
    Some(json!({"openai": value}).to_string())
}

#[test]
fn a_tool_round_trip_becomes_instructions_and_input_items() {
    let mut custom_call =
        ToolCallPart::new("call_p", "apply_patch", r#"{"input":"*** Begin Patch"}"#);
    custom_call.options = openai_options(json!({"type": "custom"}));
    let request = ChatRequest::new()
        .with_system("You are terse.")
        .with_message(Message::user_text("fix it"))
        .with_message(Message::new(
            Role::Assistant,
            vec![
                Part::Reasoning(ReasoningPart {
                    text: "Look first.".into(),
                    signature: None,
                    redacted: Some("gAAAAABenc".into()),
                    options: None,
                }),
                Part::Reasoning(ReasoningPart {
                    text: "".into(),
                    signature: None,
                    redacted: Some("anthropic-redacted".into()),
                    options: Some(json!({"anthropic": {}}).to_string()),
                }),
                Part::text("Running."),
                Part::tool_call("call_1", "bash", r#"{"cmd":"ls"}"#),
                Part::ToolCall(custom_call),
            ],
        ))
        .with_message(Message::new(
            Role::Tool,
            vec![
                Part::tool_result_text("call_1", "a.txt"),
                Part::tool_result_text("call_p", "Done!"),
            ],
        ))
        .with_tool(Tool::new("bash", r#"{"type":"object","properties":{"cmd":{"type":"string"}}}"#).described("Run"))
        .with_tool({
            let mut tool = Tool::new("apply_patch", r#"{"type":"object","properties":{"input":{"type":"string"}}}"#);
            tool.options = openai_options(json!({"type": "custom", "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}}));
            tool
        });
    assert_eq!(
        encode(&request),
        json!({
            "model": "gpt-5",
            "instructions": "You are terse.",
            "input": [
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix it"}]},
                {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Look first."}], "encrypted_content": "gAAAAABenc"},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Running."}]},
                {"type": "function_call", "call_id": "call_1", "name": "bash", "arguments": "{\"cmd\":\"ls\"}"},
                {"type": "custom_tool_call", "call_id": "call_p", "name": "apply_patch", "input": "*** Begin Patch"},
                {"type": "function_call_output", "call_id": "call_1", "output": "a.txt"},
                {"type": "custom_tool_call_output", "call_id": "call_p", "output": "Done!"},
            ],
            "tools": [
                {"type": "function", "name": "bash", "description": "Run", "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}, "strict": false},
                {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}},
            ],
            "store": false,
        })
    );
}

#[test]
fn params_become_responses_fields_and_reasoning_asks_for_encrypted_content() {
    let mut request = ChatRequest::new()
        .with_message(Message::user_text("hi"))
        .streaming(true);
    request.params = GenerationParams {
        max_tokens: Some(500),
        temperature: Some(0.7),
        top_p: Some(0.9),
        stop: vec!["END".into()],
        seed: Some(1),
        reasoning: Some(ReasoningConfig {
            effort: None,
            budget_tokens: Some(10_000),
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
    assert_eq!(
        encode(&request),
        json!({
            "model": "gpt-5",
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
            "tool_choice": {"type": "function", "name": "bash"},
            "max_output_tokens": 500,
            "temperature": 0.7,
            "top_p": 0.9,
            "parallel_tool_calls": false,
            "reasoning": {"effort": "medium", "summary": "auto"},
            "include": ["reasoning.encrypted_content"],
            "text": {"format": {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": true}},
            "store": false,
            "stream": true,
        })
    );
}

#[test]
fn client_extras_are_spliced_from_both_option_keys() {
    let mut request = ChatRequest::new().with_message(Message::user_text("hi"));
    request.params.reasoning = Some(ReasoningConfig {
        effort: Some("high".into()),
        budget_tokens: None,
    });
    request.options = Some(
        json!({
            "openai": {"prompt_cache_key": "session-1", "metadata": {"a": "b"}, "service_tier": "flex"},
            "openai-responses": {
                "reasoning": {"summary": "detailed"},
                "text": {"verbosity": "low"},
                "include": ["reasoning.encrypted_content", "web_search_call.action.sources"],
                "tools": [{"type": "web_search"}],
                "truncation": "auto",
            },
        })
        .to_string(),
    );
    let body = encode(&request);
    assert_eq!(
        body["reasoning"],
        json!({"effort": "high", "summary": "detailed"})
    );
    assert_eq!(body["text"], json!({"verbosity": "low"}));
    assert_eq!(
        body["include"],
        json!([
            "reasoning.encrypted_content",
            "web_search_call.action.sources"
        ])
    );
    assert_eq!(body["tools"], json!([{"type": "web_search"}]));
    assert_eq!(body["truncation"], "auto");
    assert_eq!(body["prompt_cache_key"], "session-1");
    assert_eq!(body["service_tier"], "flex");
    assert_eq!(body["metadata"], json!({"a": "b"}));
}

#[test]
fn images_files_and_tool_screenshots_become_input_parts() {
    let png = FilePart {
        media_type: "image/png".into(),
        data: FileData::Base64("iVBOR".into()),
        filename: None,
        options: None,
    };
    let request = ChatRequest::new()
        .with_message(Message::new(
            Role::User,
            vec![
                Part::text("see"),
                Part::File(png.clone()),
                Part::File(FilePart {
                    media_type: "application/pdf".into(),
                    data: FileData::Url("https://example.com/a.pdf".into()),
                    filename: Some("a.pdf".into()),
                    options: None,
                }),
            ],
        ))
        .with_message(Message::new(
            Role::Assistant,
            vec![Part::tool_call("c1", "screenshot", "{}")],
        ))
        .with_message(Message::new(
            Role::Tool,
            vec![Part::ToolResult(ToolResultPart {
                call_id: "c1".into(),
                name: None,
                output: vec![ToolOutput::Text("here".into()), ToolOutput::File(png)],
                is_error: false,
                options: None,
            })],
        ));
    let body = encode(&request);
    assert_eq!(
        body["input"][0]["content"],
        json!([
            {"type": "input_text", "text": "see"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "auto"},
            {"type": "input_file", "file_url": "https://example.com/a.pdf", "filename": "a.pdf"},
        ])
    );
    assert_eq!(
        body["input"][2]["output"],
        json!([
            {"type": "input_text", "text": "here"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "auto"},
        ])
    );
}

#[test]
fn only_the_openai_options_responses_also_takes_are_spliced() {
    let mut request = ChatRequest::new().with_message(Message::user_text("hi"));
    request.options = openai_options(json!({
        "user": "u-1",
        "prompt_cache_key": "k",
        "logit_bias": {"50256": -100},
        "top_k": 40,
    }));
    let body = encode(&request);
    assert_eq!(body["user"], "u-1");
    assert_eq!(body["prompt_cache_key"], "k");
    assert_eq!(body.get("logit_bias"), None, "a Chat-only field");
    assert_eq!(body.get("top_k"), None, "a Chat-only field");
}
