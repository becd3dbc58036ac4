//! Golden checks: IR requests a client would send, and the exact Gemini JSON they become.

use super::*;

fn encode(request: &ChatRequest) -> Value {
    encode_body(request, "gemini-2.5-pro").unwrap()
}

fn signed_call(id: &str, name: &str, args: &str, signature: &str) -> Part {
    let mut call = ToolCallPart::new(id, name, args);
    call.options = Some(json!({"gemini": {"thoughtSignature": signature}}).to_string());
    Part::ToolCall(call)
}

#[test]
fn a_tool_round_trip_becomes_alternating_user_and_model_contents() {
    let request = ChatRequest::new()
        .with_system("You are terse.")
        .with_message(Message::user_text("list files"))
        .with_message(Message::new(
            Role::Assistant,
            vec![
                Part::Reasoning(ReasoningPart {
                    text: "I should run ls.".into(),
                    signature: Some("sig-thought".into()),
                    redacted: None,
                    options: None,
                }),
                signed_call("call_1", "bash", r#"{"cmd":"ls"}"#, "sig-call"),
                Part::tool_call("call_2", "pwd", "{}"),
            ],
        ))
        .with_message(Message::new(
            Role::Tool,
            vec![
                Part::tool_result_text("call_1", "a.txt\nb.txt"),
                Part::tool_result_text("call_2", r#"{"cwd":"/home"}"#),
            ],
        ))
        .with_message(Message::user_text("now count them"))
        .with_tool(
            Tool::new(
                "bash",
                r#"{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"cmd":{"type":"string"}},"required":["cmd"],"additionalProperties":false}"#,
            )
            .described("Run a command"),
        )
        .with_tool(Tool::new("pwd", r#"{"type":"object","properties":{}}"#));
    assert_eq!(
        encode(&request),
        json!({
            "systemInstruction": {"parts": [{"text": "You are terse."}]},
            "contents": [
                {"role": "user", "parts": [{"text": "list files"}]},
                {"role": "model", "parts": [
                    {"text": "I should run ls.", "thought": true, "thoughtSignature": "sig-thought"},
                    {"functionCall": {"id": "call_1", "name": "bash", "args": {"cmd": "ls"}}, "thoughtSignature": "sig-call"},
                    {"functionCall": {"id": "call_2", "name": "pwd", "args": {}}},
                ]},
                {"role": "user", "parts": [
                    {"functionResponse": {"id": "call_1", "name": "bash", "response": {"result": "a.txt\nb.txt"}}},
                    {"functionResponse": {"id": "call_2", "name": "pwd", "response": {"cwd": "/home"}}},
                    {"text": "now count them"},
                ]},
            ],
            "tools": [{"functionDeclarations": [
                {"name": "bash", "description": "Run a command", "parameters": {
                    "type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]
                }},
                {"name": "pwd"},
            ]}],
        })
    );
}

#[test]
fn a_first_call_without_signature_gets_the_documented_placeholder() {
    let request = ChatRequest::new()
        .with_message(Message::user_text("go"))
        .with_message(Message::new(
            Role::Assistant,
            vec![
                Part::text("Sure."),
                Part::tool_call("toolu_1", "bash", r#"{"cmd":"ls"}"#),
            ],
        ))
        .with_message(Message::new(
            Role::Tool,
            vec![Part::tool_result_text("toolu_1", "[1, 2]")],
        ));
    let body = encode(&request);
    assert_eq!(
        body["contents"][1]["parts"][1]["thoughtSignature"],
        SKIP_SIGNATURE
    );
    // A JSON array result is wrapped, not stringified.
    assert_eq!(
        body["contents"][2]["parts"][0]["functionResponse"]["response"],
        json!({"result": [1, 2]})
    );
}

#[test]
fn a_tool_result_without_a_known_name_is_refused_and_a_failed_one_says_error() {
    let orphan = ChatRequest::new().with_message(Message::new(
        Role::Tool,
        vec![Part::tool_result_text("nobody", "x")],
    ));
    assert_eq!(
        encode_body(&orphan, "m").unwrap_err().kind,
        ErrorKind::InvalidRequest
    );
    let failed = ChatRequest::new().with_message(Message::new(
        Role::User,
        vec![Part::ToolResult(ToolResultPart {
            call_id: "c".into(),
            name: Some("bash".into()),
            output: vec![ToolOutput::Text("command not found".into())],
            is_error: true,
            options: None,
        })],
    ));
    assert_eq!(
        encode(&failed)["contents"][0]["parts"][0]["functionResponse"],
        json!({"id": "c", "name": "bash", "response": {"error": "command not found"}})
    );
}

#[test]
fn files_become_inline_data_or_file_data_and_system_turns_join_the_instruction() {
    let request = ChatRequest::new()
        .with_message(Message::system_text("Be careful."))
        .with_message(Message::new(
            Role::User,
            vec![
                Part::text("what is this?"),
                Part::File(FilePart {
                    media_type: "image/png".into(),
                    data: FileData::Base64("iVBORw0K".into()),
                    filename: None,
                    options: None,
                }),
                Part::File(FilePart {
                    media_type: "application/pdf".into(),
                    data: FileData::Url("https://example.com/a.pdf".into()),
                    filename: None,
                    options: None,
                }),
            ],
        ))
        .with_message(Message::user_text("quickly"));
    let body = encode(&request);
    assert_eq!(
        body["systemInstruction"],
        json!({"parts": [{"text": "Be careful."}]})
    );
    assert_eq!(
        body["contents"],
        json!([{"role": "user", "parts": [
            {"text": "what is this?"},
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0K"}},
            {"fileData": {"mimeType": "application/pdf", "fileUri": "https://example.com/a.pdf"}},
            {"text": "quickly"},
        ]}])
    );
}

#[test]
fn params_tool_choice_and_options_become_generation_and_tool_config() {
    let mut request = ChatRequest::new().with_message(Message::user_text("hi"));
    request.params = GenerationParams {
        max_tokens: Some(1000),
        temperature: Some(0.7),
        top_p: Some(0.9),
        top_k: Some(40),
        stop: vec!["END".into()],
        seed: Some(7),
        presence_penalty: Some(0.5),
        frequency_penalty: Some(0.25),
        reasoning: Some(ReasoningConfig {
            effort: None,
            budget_tokens: Some(2048),
        }),
        response_format: Some(ResponseFormat::JsonSchema(JsonSchemaFormat {
            name: "answer".into(),
            schema: r#"{"type":"object","properties":{"n":{"type":"integer"}},"additionalProperties":false}"#.into(),
            strict: true,
            description: None,
        })),
        parallel_tool_calls: None,
    };
    request.tool_choice = Some(ToolChoice::Tool("bash".into()));
    request.options = Some(
        json!({"gemini": {
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
            "generationConfig": {"candidateCount": 1},
            "tools": [{"googleSearch": {}}],
        }, "openai": {"user": "ignored"}})
        .to_string(),
    );
    let body = encode(&request);
    assert_eq!(
        body["generationConfig"],
        json!({
            "maxOutputTokens": 1000,
            "temperature": 0.7,
            "topP": 0.9,
            "presencePenalty": 0.5,
            "frequencyPenalty": 0.25,
            "topK": 40,
            "stopSequences": ["END"],
            "seed": 7,
            "responseMimeType": "application/json",
            "responseJsonSchema": {"type": "object", "properties": {"n": {"type": "integer"}}, "additionalProperties": false},
            "thinkingConfig": {"includeThoughts": true, "thinkingBudget": 2048},
            "candidateCount": 1,
        })
    );
    assert_eq!(
        body["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["bash"]}})
    );
    assert_eq!(body["tools"], json!([{"googleSearch": {}}]));
    assert_eq!(body["safetySettings"][0]["threshold"], "BLOCK_NONE");
    assert!(body.get("user").is_none());
}

#[test]
fn an_effort_is_a_thinking_level_for_gemini_3_and_a_budget_before() {
    let mut request = ChatRequest::new().with_message(Message::user_text("hi"));
    request.params.reasoning = Some(ReasoningConfig {
        effort: Some("low".into()),
        budget_tokens: None,
    });
    assert_eq!(
        encode_body(&request, "gemini-3-pro-preview").unwrap()["generationConfig"]["thinkingConfig"],
        json!({"includeThoughts": true, "thinkingLevel": "low"})
    );
    assert_eq!(
        encode_body(&request, "gemini-2.5-flash").unwrap()["generationConfig"]["thinkingConfig"],
        json!({"includeThoughts": true, "thinkingBudget": 1024})
    );
    request.tool_choice = Some(ToolChoice::None);
    assert_eq!(
        encode(&request)["toolConfig"],
        json!({"functionCallingConfig": {"mode": "NONE"}})
    );
}

#[test]
fn consecutive_assistant_turns_merge_and_empty_turns_vanish() {
    let request = ChatRequest::new()
        .with_message(Message::user_text("a"))
        .with_message(Message::assistant_text("b"))
        .with_message(Message::assistant_text("c"))
        .with_message(Message::new(Role::User, vec![Part::text("")]))
        .with_message(Message::user_text("d"));
    assert_eq!(
        encode(&request)["contents"],
        json!([
            {"role": "user", "parts": [{"text": "a"}]},
            {"role": "model", "parts": [{"text": "b"}, {"text": "c"}]},
            {"role": "user", "parts": [{"text": "d"}]},
        ])
    );
}

/// Parts a Gemini client sent that the IR has no form for (code execution and its
/// result) ride in the message's options as `unknownParts` with their index in the
/// content; they go back upstream at that place.
#[test]
fn parts_the_ir_cannot_carry_go_back_at_their_place_in_the_content() {
    let code = json!({"executableCode": {"language": "PYTHON", "code": "print(6 * 7)"}});
    let outcome = json!({"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "42\n"}});
    let mut model = Message::new(
        Role::Assistant,
        vec![Part::text("Let me compute."), Part::text("It is 42.")],
    );
    model.options = Some(
        json!({"gemini": {"unknownParts": [{"index": 1, "part": code}, {"index": 2, "part": outcome}]}})
            .to_string(),
    );
    let request = ChatRequest::new()
        .with_message(Message::user_text("6 times 7?"))
        .with_message(model)
        .with_message(Message::user_text("thanks"));

    let body = encode(&request);

    assert_eq!(
        body["contents"][1],
        json!({"role": "model", "parts": [
            {"text": "Let me compute."},
            code,
            outcome,
            {"text": "It is 42."},
        ]})
    );
}

/// Fields of a part the IR has no slot for (`videoMetadata`, `partMetadata`, unknown
/// fields of `functionCall` or `inlineData`) come back on that part; what the adapter
/// sets itself wins, and kept fields of a payload the part no longer has are dropped.
#[test]
fn kept_part_fields_are_spliced_back_into_their_part() {
    let options = |value: Value| Some(json!({"gemini": value}).to_string());
    let mut note = TextPart::new("see the clip");
    note.options =
        options(json!({"partMetadata": {"source": "upload"}, "functionCall": {"stale": true}}));
    let clip = FilePart {
        media_type: "video/mp4".into(),
        data: FileData::Base64("AAAA".into()),
        filename: None,
        options: options(json!({
            "videoMetadata": {"startOffset": "1s", "endOffset": "5s"},
            "inlineData": {"mimeType": "ignored/own-value-wins", "extraField": 1},
        })),
    };
    let mut call = ToolCallPart::new("call_1", "bash", r#"{"cmd":"ls"}"#);
    call.options =
        options(json!({"thoughtSignature": "sig-1", "functionCall": {"willContinue": true}}));
    let request = ChatRequest::new()
        .with_message(Message::new(
            Role::User,
            vec![Part::Text(note), Part::File(clip)],
        ))
        .with_message(Message::new(Role::Assistant, vec![Part::ToolCall(call)]));

    let body = encode(&request);

    assert_eq!(
        body["contents"][0]["parts"],
        json!([
            {"text": "see the clip", "partMetadata": {"source": "upload"}},
            {
                "inlineData": {"mimeType": "video/mp4", "data": "AAAA", "extraField": 1},
                "videoMetadata": {"startOffset": "1s", "endOffset": "5s"},
            },
        ])
    );
    assert_eq!(
        body["contents"][1]["parts"][0],
        json!({
            "functionCall": {"id": "call_1", "name": "bash", "args": {"cmd": "ls"}, "willContinue": true},
            "thoughtSignature": "sig-1",
        })
    );
}

#[test]
fn a_contents_own_unknown_fields_go_back_on_it() {
    let mut user = Message::user_text("hi");
    user.options = Some(json!({"gemini": {"futureField": {"x": 1}, "role": "model"}}).to_string());
    let body = encode(&ChatRequest::new().with_message(user));

    assert_eq!(
        body["contents"][0],
        json!({"role": "user", "parts": [{"text": "hi"}], "futureField": {"x": 1}})
    );
}
