//! Requests as Codex and the openai SDK send them, and every refusal.

use serde_json::{Value, json};

use super::decode;
use crate::ir::{FileData, Part, ResponseFormat, Role, ToolChoice, ToolOutput};
use crate::surfaces::{ClientError, ErrorKind};

fn decoded(body: Value) -> crate::surfaces::Decoded {
    decode(body.to_string().as_bytes()).unwrap_or_else(|e| panic!("refused: {e:?}"))
}

fn refused(body: Value) -> ClientError {
    let error = decode(body.to_string().as_bytes()).expect_err("should be refused");
    assert_eq!(error.kind, ErrorKind::InvalidRequest);
    error
}

/// A second Codex turn: developer prompt, user turn, reasoning, a shell call and its
/// output, an apply_patch custom call and its output, tools of every kind.
fn codex_turn() -> Value {
    json!({
        "model": "gpt-5-codex",
        "input": [
            {"type": "message", "role": "developer", "id": "msg_dev",
             "content": [{"type": "input_text", "text": "You are Codex."}]},
            {"type": "additional_tools", "tools": [
                {"type": "function", "name": "exec_command", "description": "Run a command",
                 "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}, "strict": false}
            ]},
            {"type": "message", "role": "user", "id": "msg_u1",
             "content": [{"type": "input_text", "text": "<environment_context/>"},
                         {"type": "input_text", "text": "echo hi"}]},
            {"type": "reasoning", "id": "rs_1",
             "summary": [{"type": "summary_text", "text": "Run echo."}],
             "encrypted_content": "gAAAAopaque"},
            {"type": "message", "role": "assistant", "id": "msg_a1",
             "content": [{"type": "output_text", "text": "Running it.", "annotations": []}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1",
             "name": "exec_command", "arguments": "{\"cmd\":\"echo hi\"}"},
            {"type": "function_call", "id": "fc_2", "call_id": "call_2",
             "name": "exec_command", "arguments": "{\"cmd\":\"pwd\"}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "hi\n"},
            {"type": "function_call_output", "call_id": "call_2",
             "output": [{"type": "input_text", "text": "/tmp"}]},
            {"type": "custom_tool_call", "id": "ctc_1", "call_id": "call_3",
             "name": "apply_patch", "input": "*** Begin Patch\n*** End Patch"},
            {"type": "custom_tool_call_output", "call_id": "call_3", "output": "Done!"},
            {"type": "web_search_call", "id": "ws_1", "status": "completed",
             "action": {"type": "search", "query": "rust"}}
        ],
        "tools": [
            {"type": "custom", "name": "apply_patch", "description": "Edit files",
             "format": {"type": "grammar", "syntax": "lark", "definition": "start: begin_patch"}},
            {"type": "namespace", "name": "mcp_fs", "tools": [
                {"type": "function", "name": "read", "parameters": {"type": "object", "properties": {}}}
            ]},
            {"type": "web_search"}
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": false,
        "stream": true,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "0199-session",
        "text": {"verbosity": "low"}
    })
}

#[test]
fn a_codex_turn_becomes_system_then_grouped_turns() {
    let decoded = decoded(codex_turn());
    assert_eq!(decoded.model, "gpt-5-codex");
    assert!(decoded.stream);
    let request = &decoded.request;

    // The leading developer item is the system prompt, its origin remembered.
    assert_eq!(request.system.len(), 1);
    assert_eq!(request.system[0].text, "You are Codex.");
    assert_eq!(
        request.system[0].options,
        Some(json!({"openai": {"id": "msg_dev", "role": "developer"}}))
    );

    let roles: Vec<Role> = request.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            Role::User,
            Role::Assistant,
            Role::Tool,
            Role::Assistant,
            Role::Tool
        ]
    );

    // User parts stay separate; the item id rides on the message.
    let user = &request.messages[0];
    assert_eq!(user.parts.len(), 2);
    assert_eq!(user.options, Some(json!({"openai": {"id": "msg_u1"}})));

    // Reasoning, the assistant text and both calls are one assistant turn, in order.
    let assistant = &request.messages[1];
    let Part::Reasoning(reasoning) = &assistant.parts[0] else {
        panic!("{:?}", assistant.parts[0])
    };
    assert_eq!(reasoning.text, "Run echo.");
    assert_eq!(reasoning.redacted.as_deref(), Some("gAAAAopaque"));
    assert_eq!(reasoning.signature, None);
    assert_eq!(reasoning.options, Some(json!({"openai": {"id": "rs_1"}})));
    let Part::Text(text) = &assistant.parts[1] else {
        panic!()
    };
    assert_eq!(text.text, "Running it.");
    assert_eq!(text.options, Some(json!({"openai": {"id": "msg_a1"}})));
    let calls: Vec<_> = assistant
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall(call) => Some((call.id.as_str(), call.arguments.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("call_1", "{\"cmd\":\"echo hi\"}"),
            ("call_2", "{\"cmd\":\"pwd\"}")
        ]
    );

    // Both outputs answer in one tool turn and know their tool's name.
    let results = &request.messages[2].parts;
    assert_eq!(results.len(), 2);
    let Part::ToolResult(first) = &results[0] else {
        panic!()
    };
    assert_eq!(first.call_id, "call_1");
    assert_eq!(first.name.as_deref(), Some("exec_command"));
    assert_eq!(first.output, [ToolOutput::Text("hi\n".into())]);
    let Part::ToolResult(second) = &results[1] else {
        panic!()
    };
    assert_eq!(second.output, [ToolOutput::Text("/tmp".into())]);

    // The custom call carries its free-form input as {"input": ...}, marked custom.
    let Part::ToolCall(patch) = &request.messages[3].parts[0] else {
        panic!()
    };
    assert_eq!(patch.name, "apply_patch");
    assert_eq!(
        serde_json::from_str::<Value>(&patch.arguments).unwrap(),
        json!({"input": "*** Begin Patch\n*** End Patch"})
    );
    assert_eq!(
        patch.options,
        Some(json!({"openai": {"id": "ctc_1", "type": "custom"}}))
    );
    let Part::ToolResult(patched) = &request.messages[4].parts[0] else {
        panic!()
    };
    assert_eq!(patched.options, Some(json!({"openai": {"type": "custom"}})));
    assert_eq!(patched.name.as_deref(), Some("apply_patch"));
}

#[test]
fn codex_tools_of_every_kind_are_served_or_kept() {
    let request = decoded(codex_turn()).request;
    let names: Vec<&str> = request.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["apply_patch", "mcp_fs__read", "exec_command"]);

    let patch = &request.tools[0];
    assert_eq!(
        serde_json::from_str::<Value>(&patch.input_schema).unwrap(),
        json!({"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]})
    );
    let description = patch.description.as_deref().unwrap();
    assert!(description.starts_with("Edit files\n\n"), "{description}");
    assert!(description.contains("lark grammar:\nstart: begin_patch"));
    assert_eq!(patch.options.as_ref().unwrap()["openai"]["type"], "custom");
    assert_eq!(
        patch.options.as_ref().unwrap()["openai"]["description"],
        "Edit files"
    );

    let read = &request.tools[1].options.as_ref().unwrap()["openai"];
    assert_eq!(read["namespace"], "mcp_fs");
    assert_eq!(read["name"], "read");

    let exec = &request.tools[2];
    assert_eq!(exec.options, Some(json!({"openai": {"strict": false}})));

    assert_eq!(request.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(request.params.parallel_tool_calls, Some(true));
    assert_eq!(
        request.params.reasoning.as_ref().unwrap().effort.as_deref(),
        Some("medium")
    );

    // Chat-compatible fields go where the OpenAI adapter splices them; Responses-only
    // ones are kept apart, so a Chat Completions upstream never sees them.
    let options = request.options.unwrap();
    assert_eq!(
        options["openai"],
        json!({"store": false, "prompt_cache_key": "0199-session"})
    );
    let kept = &options["openai-responses"];
    assert_eq!(kept["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(kept["reasoning"], json!({"summary": "auto"}));
    assert_eq!(kept["text"], json!({"verbosity": "low"}));
    assert_eq!(kept["tools"], json!([{"type": "web_search"}]));
    assert_eq!(kept["input_items"][0]["index"], 11);
    assert_eq!(kept["input_items"][0]["item"]["type"], "web_search_call");
}

#[test]
fn the_sdk_s_simple_form_with_instructions_and_a_json_schema() {
    let decoded = decoded(json!({
        "model": "gpt-4.1",
        "instructions": "Answer in JSON.",
        "input": "Three primes?",
        "max_output_tokens": 200,
        "temperature": 0.2,
        "top_p": 0.9,
        "text": {"format": {"type": "json_schema", "name": "primes", "strict": true,
                            "schema": {"type": "object", "properties": {"p": {"type": "array"}}}}},
        "metadata": {"run": "7"},
        "user": "u-1",
        "x_vendor_flag": true
    }));
    assert!(!decoded.stream);
    let request = decoded.request;
    assert_eq!(request.system[0].text, "Answer in JSON.");
    assert_eq!(request.messages.len(), 1);
    assert_eq!(request.messages[0].role, Role::User);
    assert_eq!(request.params.max_tokens, Some(200));
    assert_eq!(request.params.temperature, Some(0.2));
    let Some(ResponseFormat::JsonSchema(format)) = &request.params.response_format else {
        panic!("{:?}", request.params.response_format)
    };
    assert_eq!(format.name, "primes");
    assert!(format.strict);
    let options = request.options.unwrap();
    assert_eq!(
        options["openai"],
        json!({"metadata": {"run": "7"}, "user": "u-1"})
    );
    assert_eq!(options["openai-responses"], json!({"x_vendor_flag": true}));
}

#[test]
fn easy_messages_images_and_files_decode_inline_or_by_url() {
    let request = decoded(json!({
        "model": "m",
        "input": [
            {"role": "user", "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "high"},
                {"type": "input_image", "image_url": "https://x.test/cat.webp?s=1"},
                {"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBE"},
                {"type": "input_file", "file_url": "https://x.test/report.pdf"}
            ]},
            {"role": "system", "content": "Be brief."}
        ]
    }))
    .request;
    let parts = &request.messages[0].parts;
    let Part::File(png) = &parts[1] else { panic!() };
    assert_eq!(png.media_type, "image/png");
    assert_eq!(png.data, FileData::Base64("iVBOR".into()));
    assert_eq!(png.options, Some(json!({"openai": {"detail": "high"}})));
    let Part::File(webp) = &parts[2] else {
        panic!()
    };
    assert_eq!(webp.media_type, "image/webp");
    assert_eq!(
        webp.data,
        FileData::Url("https://x.test/cat.webp?s=1".into())
    );
    let Part::File(pdf) = &parts[3] else { panic!() };
    assert_eq!(pdf.filename.as_deref(), Some("a.pdf"));
    assert_eq!(pdf.data, FileData::Base64("JVBE".into()));
    let Part::File(remote) = &parts[4] else {
        panic!()
    };
    assert_eq!(remote.media_type, "application/pdf");
    // A system item after the conversation began stays in place.
    assert_eq!(request.messages[1].role, Role::System);
    assert!(request.system.is_empty());
}

#[test]
fn a_replayed_signature_comes_back_as_a_signature() {
    let request = decoded(json!({
        "model": "claude",
        "input": [
            {"role": "user", "content": "hi"},
            {"type": "reasoning", "id": "rs_x", "summary": [{"type": "summary_text", "text": "Thinking."}],
             "encrypted_content": "plugboard-signature:EqQBsig"},
            {"type": "function_call", "call_id": "toolu_1", "name": "exec_command", "arguments": ""}
        ]
    }))
    .request;
    let assistant = &request.messages[1];
    let Part::Reasoning(reasoning) = &assistant.parts[0] else {
        panic!()
    };
    assert_eq!(reasoning.signature.as_deref(), Some("EqQBsig"));
    assert_eq!(reasoning.redacted, None);
    let Part::ToolCall(call) = &assistant.parts[1] else {
        panic!()
    };
    assert_eq!(call.arguments, "{}", "empty arguments are an empty object");
}

#[test]
fn tool_choice_forms() {
    let choice = |value: Value| {
        decoded(json!({"model": "m", "input": "x", "tool_choice": value}))
            .request
            .tool_choice
    };
    assert_eq!(choice(json!("required")), Some(ToolChoice::Required));
    assert_eq!(choice(json!("none")), Some(ToolChoice::None));
    assert_eq!(
        choice(json!({"type": "function", "name": "f"})),
        Some(ToolChoice::Tool("f".into()))
    );
    assert_eq!(
        choice(json!({"type": "custom", "name": "apply_patch"})),
        Some(ToolChoice::Tool("apply_patch".into()))
    );
    let allowed = decoded(json!({"model": "m", "input": "x", "tool_choice":
        {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "f"}]}}))
    .request;
    assert_eq!(allowed.tool_choice, Some(ToolChoice::Required));
    assert_eq!(
        allowed.options.unwrap()["openai-responses"]["tool_choice"]["tools"][0]["name"],
        "f"
    );
}

#[test]
fn state_kept_on_openai_s_servers_is_refused_with_a_way_out() {
    let error = refused(json!({"model": "m", "input": "x", "previous_response_id": "resp_1"}));
    assert_eq!(error.param.as_deref(), Some("previous_response_id"));
    assert!(
        error.message.contains("does not store responses"),
        "{}",
        error.message
    );
    assert!(error.message.contains("send the whole conversation"));

    let error = refused(json!({"model": "m", "input": "x", "conversation": "conv_1"}));
    assert_eq!(error.param.as_deref(), Some("conversation"));
    let error = refused(json!({"model": "m", "input": "x", "background": true}));
    assert_eq!(error.param.as_deref(), Some("background"));
    let error =
        refused(json!({"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]}));
    assert!(error.message.contains("item_reference"));

    // Explicit nulls are not requests for state.
    decoded(json!({"model": "m", "input": "x", "previous_response_id": null, "background": false}));
}

#[test]
fn file_ids_are_refused_naming_the_part() {
    let error = refused(json!({"model": "m", "input": [{"role": "user", "content": [
        {"type": "input_image", "file_id": "file-abc"}]}]}));
    assert_eq!(error.param.as_deref(), Some("input[0].content[0].file_id"));
    assert!(error.message.contains("file-abc"));
    assert!(error.message.contains("inline"));
    let error = refused(json!({"model": "m", "input": [{"role": "user", "content": [
        {"type": "input_file", "file_id": "file-pdf"}]}]}));
    assert_eq!(error.param.as_deref(), Some("input[0].content[0].file_id"));
}

#[test]
fn malformed_requests_name_the_field() {
    let error = decode(b"{not json").unwrap_err();
    assert_eq!(error.code.as_deref(), Some("invalid_json"));
    assert_eq!(
        decode(b"[]").unwrap_err().code.as_deref(),
        Some("invalid_json")
    );

    assert_eq!(
        refused(json!({"input": "x"})).param.as_deref(),
        Some("model")
    );
    assert_eq!(
        refused(json!({"model": "m"})).param.as_deref(),
        Some("input")
    );
    assert_eq!(
        refused(json!({"model": "m", "input": 3})).param.as_deref(),
        Some("input")
    );
    let error = refused(json!({"model": "m", "input": "x", "temperature": "hot"}));
    assert_eq!(
        error.message,
        "Invalid type for 'temperature': expected a number, but got a string instead."
    );
    let error = refused(json!({"model": "m", "input": [{"role": "tool", "content": "x"}]}));
    assert_eq!(error.param.as_deref(), Some("input[0].role"));
    let error = refused(json!({"model": "m", "input": [{"type": "function_call", "name": "f"}]}));
    assert_eq!(error.param.as_deref(), Some("input[0].call_id"));
    let error = refused(json!({"model": "m", "input": [{"content": "no role or type"}]}));
    assert_eq!(error.param.as_deref(), Some("input[0].type"));
    let error =
        refused(json!({"model": "m", "input": "x", "tool_choice": {"type": "web_search_preview"}}));
    assert!(error.message.contains("hosted by OpenAI"));
    let error = refused(json!({"model": "m", "input": "x", "text": {"format": {"type": "yaml"}}}));
    assert_eq!(error.param.as_deref(), Some("text.format.type"));
    let error = refused(json!({"model": "m", "input": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {}}]}]}));
    assert!(error.message.contains("audio"));
    let error = refused(json!({"model": "m", "input": "x", "max_output_tokens": -5}));
    assert_eq!(error.param.as_deref(), Some("max_output_tokens"));
    let error = refused(json!({"model": "m", "input": "x", "tools": [{"type": "function"}]}));
    assert_eq!(error.param.as_deref(), Some("tools[0].name"));
}
