//! Stories of requests as Gemini clients send them (the Gemini CLI, google-genai in
//! Python), decoded into the IR.

use serde_json::{Value, json};

use super::{decode, decode_count_tokens};
use crate::ir::{
    Dialect, FileData, Part, ReasoningConfig, ResponseFormat, Role, ToolChoice, ToolOutput,
};
use crate::surfaces::{ErrorKind, token_estimate};

fn decoded(body: Value) -> crate::surfaces::Decoded {
    decode(body.to_string().as_bytes(), "gemini-2.5-pro", true).unwrap_or_else(|e| panic!("{e:?}"))
}

fn refused(body: Value) -> crate::surfaces::ClientError {
    decode(body.to_string().as_bytes(), "gemini-2.5-pro", false).expect_err("must be refused")
}

/// A second turn of the Gemini CLI: system instruction, tools with
/// `parametersJsonSchema`, thinking, and the model's call echoed back with its id and
/// signature, answered by a function response.
fn gemini_cli_turn() -> Value {
    json!({
        "contents": [
            {"role": "user", "parts": [{"text": "list the files"}]},
            {"role": "model", "parts": [
                {"text": "I should run ls.", "thought": true, "thoughtSignature": "sig-thought"},
                {"functionCall": {"id": "call-a", "name": "run_shell_command", "args": {"command": "ls"}},
                 "thoughtSignature": "sig-call"}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"id": "call-a", "name": "run_shell_command",
                                      "response": {"output": "Cargo.toml\nsrc"}}}
            ]}
        ],
        "systemInstruction": {"role": "user", "parts": [{"text": "You are an interactive CLI agent."}]},
        "tools": [{"functionDeclarations": [{
            "name": "run_shell_command",
            "description": "Runs a shell command.",
            "parametersJsonSchema": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}
        }]}],
        "generationConfig": {
            "temperature": 1, "topP": 0.95, "topK": 64,
            "thinkingConfig": {"includeThoughts": true, "thinkingLevel": "HIGH"}
        }
    })
}

#[test]
fn a_gemini_cli_tool_round_trip_becomes_ir_turns() {
    let decoded = decoded(gemini_cli_turn());
    assert_eq!(decoded.dialect, Dialect::Gemini);
    assert_eq!(decoded.model, "gemini-2.5-pro");
    assert!(decoded.stream && decoded.request.stream);
    let request = &decoded.request;
    assert_eq!(request.system[0].text, "You are an interactive CLI agent.");

    let roles: Vec<Role> = request.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::Tool]);
    let Part::Reasoning(thought) = &request.messages[1].parts[0] else {
        panic!()
    };
    assert_eq!(thought.text, "I should run ls.");
    assert_eq!(thought.signature.as_deref(), Some("sig-thought"));
    let Part::ToolCall(call) = &request.messages[1].parts[1] else {
        panic!()
    };
    assert_eq!(
        (call.id.as_str(), call.name.as_str()),
        ("call-a", "run_shell_command")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&call.arguments).unwrap(),
        json!({"command": "ls"})
    );
    assert_eq!(
        call.options,
        Some(json!({"gemini": {"thoughtSignature": "sig-call"}}))
    );
    let Part::ToolResult(result) = &request.messages[2].parts[0] else {
        panic!()
    };
    assert_eq!(result.call_id, "call-a");
    assert_eq!(result.name.as_deref(), Some("run_shell_command"));
    assert!(!result.is_error);
    let ToolOutput::Text(output) = &result.output[0] else {
        panic!()
    };
    assert_eq!(
        serde_json::from_str::<Value>(output).unwrap(),
        json!({"output": "Cargo.toml\nsrc"})
    );

    let tool = &request.tools[0];
    assert_eq!(tool.description.as_deref(), Some("Runs a shell command."));
    assert_eq!(
        serde_json::from_str::<Value>(&tool.input_schema).unwrap(),
        json!({"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]})
    );
    let params = &request.params;
    assert_eq!(
        (params.temperature, params.top_p, params.top_k),
        (Some(1.0), Some(0.95), Some(64))
    );
    assert_eq!(
        params.reasoning,
        Some(ReasoningConfig {
            effort: Some("high".into()),
            budget_tokens: None
        })
    );
    assert_eq!(
        request.options,
        Some(json!({"gemini": {"generationConfig": {
            "thinkingConfig": {"includeThoughts": true, "thinkingLevel": "HIGH"}
        }}})),
        "the thinking config is kept whole for a Gemini upstream"
    );
}

#[test]
fn google_genai_snake_case_fields_are_read_like_camel_case_ones() {
    let decoded = decode(
        json!({
            "contents": [
                {"role": "user", "parts": [
                    {"text": "What is in this picture?"},
                    {"inline_data": {"mime_type": "image/png", "data": "iVBORw0KGgo="}},
                    {"file_data": {"mime_type": "application/pdf", "file_uri": "gs://bucket/doc.pdf"}}
                ]}
            ],
            "system_instruction": {"parts": [{"text": "Be terse."}]},
            "tools": [{"functionDeclarations": [{
                "name": "lookup",
                "parameters_json_schema": {"type": "OBJECT", "properties": {"q": {"type": "STRING"}}}
            }]}],
            "tool_config": {"function_calling_config": {"mode": "ANY", "allowed_function_names": ["lookup"]}},
            "generation_config": {"max_output_tokens": 256, "stop_sequences": ["END"], "seed": 3,
                                  "candidate_count": 1, "response_modalities": ["TEXT"]},
            "safety_settings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
        })
        .to_string()
        .as_bytes(),
        "models/gemini-2.5-flash",
        false,
    )
    .unwrap();
    assert_eq!(
        decoded.model, "gemini-2.5-flash",
        "the models/ prefix is not part of the name"
    );
    assert!(!decoded.stream);
    let request = &decoded.request;
    assert_eq!(request.system[0].text, "Be terse.");
    let parts = &request.messages[0].parts;
    assert!(
        matches!(&parts[1], Part::File(f) if f.media_type == "image/png" && f.data == FileData::Base64("iVBORw0KGgo=".into()))
    );
    assert!(
        matches!(&parts[2], Part::File(f) if f.data == FileData::Url("gs://bucket/doc.pdf".into()))
    );
    assert_eq!(
        serde_json::from_str::<Value>(&request.tools[0].input_schema).unwrap(),
        json!({"type": "object", "properties": {"q": {"type": "string"}}})
    );
    assert_eq!(request.tool_choice, Some(ToolChoice::Tool("lookup".into())));
    assert_eq!(request.params.max_tokens, Some(256));
    assert_eq!(request.params.stop, ["END"]);
    assert_eq!(request.params.seed, Some(3));
    assert_eq!(
        request.options,
        Some(json!({"gemini": {
            "generationConfig": {"responseModalities": ["TEXT"]},
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
        }})),
        "leftovers are kept under their camelCase names"
    );
}

#[test]
fn calls_without_ids_get_deterministic_ids_and_responses_pair_by_name_and_order() {
    let decoded = decoded(json!({
        "contents": [
            {"role": "user", "parts": [{"text": "weather in Paris and Rome, then the time"}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "weather", "args": {"city": "Paris"}}},
                {"functionCall": {"name": "weather", "args": {"city": "Rome"}}},
                {"functionCall": {"name": "clock"}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "clock", "response": {"time": "12:00"}}},
                {"functionResponse": {"name": "weather", "response": {"sky": "sunny"}}},
                {"functionResponse": {"name": "weather", "response": {"error": "no station"}}},
                {"text": "thanks"}
            ]}
        ]
    }));
    let messages = &decoded.request.messages;
    let call_ids: Vec<&str> = messages[1]
        .parts
        .iter()
        .map(|p| match p {
            Part::ToolCall(c) => c.id.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(call_ids, ["call_0", "call_1", "call_2"]);
    let Part::ToolCall(clock) = &messages[1].parts[2] else {
        panic!()
    };
    assert_eq!(clock.arguments, "{}", "a call without args takes none");

    assert_eq!(messages[2].role, Role::Tool);
    let answers: Vec<(&str, bool)> = messages[2]
        .parts
        .iter()
        .map(|p| match p {
            Part::ToolResult(r) => (r.call_id.as_str(), r.is_error),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        answers,
        [("call_2", false), ("call_0", false), ("call_1", true)]
    );
    assert_eq!(
        messages[3].role,
        Role::User,
        "text after the responses is the user's"
    );
    assert!(matches!(&messages[3].parts[0], Part::Text(t) if t.text == "thanks"));
}

#[test]
fn gemini_schemas_in_parameters_become_json_schema() {
    let decoded = decoded(json!({
        "contents": [{"parts": [{"text": "hi"}]}],
        "tools": [
            {"function_declarations": [{
                "name": "edit",
                "parameters": {"type": "OBJECT", "properties": {
                    "path": {"type": "STRING"},
                    "lines": {"type": "ARRAY", "items": {"type": "INTEGER"}, "nullable": true}
                }, "required": ["path"]},
                "behavior": "NON_BLOCKING"
            }, {"name": "ping"}]},
            {"googleSearch": {}},
            {"code_execution": {}}
        ]
    }));
    let tools = &decoded.request.tools;
    assert_eq!(
        decoded.request.messages[0].role,
        Role::User,
        "a missing role is the user's"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&tools[0].input_schema).unwrap(),
        json!({"type": "object", "properties": {
            "path": {"type": "string"},
            "lines": {"type": ["array", "null"], "items": {"type": "integer"}}
        }, "required": ["path"]})
    );
    assert_eq!(
        tools[0].options,
        Some(json!({"gemini": {"behavior": "NON_BLOCKING"}}))
    );
    assert_eq!(
        tools[1].input_schema,
        r#"{"type":"object","properties":{}}"#
    );
    assert_eq!(
        decoded.request.options,
        Some(json!({"gemini": {"tools": [{"googleSearch": {}}, {"codeExecution": {}}]}})),
        "built-in tools ride in options for a Gemini upstream"
    );
}

#[test]
fn the_gemini_cli_router_asks_for_json_with_an_upper_case_schema() {
    let decoded = decoded(json!({
        "contents": [{"role": "user", "parts": [{"text": "pick a model"}]}],
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseJsonSchema": {"type": "OBJECT", "properties": {"model_choice": {"type": "STRING", "enum": ["flash", "pro"]}}},
            "thinkingConfig": {"thinkingBudget": 0}
        }
    }));
    let Some(ResponseFormat::JsonSchema(format)) = &decoded.request.params.response_format else {
        panic!("{:?}", decoded.request.params.response_format)
    };
    assert!(format.strict);
    assert_eq!(
        serde_json::from_str::<Value>(&format.schema).unwrap(),
        json!({"type": "object", "properties": {"model_choice": {"type": "string", "enum": ["flash", "pro"]}}})
    );
    assert_eq!(
        decoded.request.params.reasoning, None,
        "a zero budget turns thinking off"
    );
}

#[test]
fn thinking_budgets_tool_modes_and_json_without_schema() {
    let request = decoded(json!({
        "contents": [{"role": "user", "parts": [{"text": "x"}]}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["a", "b"]}},
        "generationConfig": {"thinkingConfig": {"thinkingBudget": 8192}, "responseMimeType": "application/json"}
    }))
    .request;
    assert_eq!(request.tool_choice, Some(ToolChoice::Required));
    assert_eq!(
        request.params.reasoning,
        Some(ReasoningConfig {
            effort: None,
            budget_tokens: Some(8192)
        })
    );
    assert_eq!(
        request.params.response_format,
        Some(ResponseFormat::JsonObject)
    );
    assert_eq!(
        request.options.as_ref().unwrap()["gemini"]["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["a", "b"]}}),
        "two allowed names do not fit a tool choice, so the config is kept"
    );

    for (mode, choice) in [
        ("NONE", ToolChoice::None),
        ("AUTO", ToolChoice::Auto),
        ("VALIDATED", ToolChoice::Auto),
    ] {
        let request = decoded(json!({
            "contents": [{"parts": [{"text": "x"}]}],
            "toolConfig": {"functionCallingConfig": {"mode": mode}},
            "generationConfig": {"thinkingConfig": {"thinkingBudget": -1, "includeThoughts": true}}
        }))
        .request;
        assert_eq!(request.tool_choice, Some(choice), "{mode}");
        assert_eq!(
            request.params.reasoning.unwrap().effort.as_deref(),
            Some("medium"),
            "dynamic thinking"
        );
        assert_eq!(
            request.options.unwrap()["gemini"]
                .get("toolConfig")
                .is_some(),
            mode == "VALIDATED",
            "{mode}"
        );
    }
}

#[test]
fn signatures_unknown_parts_and_extras_are_kept_not_dropped() {
    let decoded = decoded(json!({
        "contents": [
            {"role": "user", "parts": [{"text": "run it"}]},
            {"role": "model", "parts": [
                {"text": "Done.", "thoughtSignature": "sig-text"},
                {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
                {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1"}}
            ]}
        ],
        "cachedContent": "cachedContents/abc",
        "labels": {"team": "x"}
    }));
    let model = &decoded.request.messages[1];
    assert!(
        matches!(&model.parts[0], Part::Text(t) if t.options == Some(json!({"gemini": {"thoughtSignature": "sig-text"}})))
    );
    assert_eq!(model.parts.len(), 1);
    assert_eq!(
        model.options,
        Some(json!({"gemini": {"unknownParts": [
            {"index": 1, "part": {"executableCode": {"language": "PYTHON", "code": "print(1)"}}},
            {"index": 2, "part": {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1"}}}
        ]}}))
    );
    assert_eq!(
        decoded.request.options,
        Some(json!({"gemini": {"cachedContent": "cachedContents/abc", "labels": {"team": "x"}}}))
    );
}

#[test]
fn count_tokens_accepts_a_wrapped_request_or_bare_contents() {
    let wrapped = json!({"generateContentRequest": {
        "model": "models/gemini-2.5-pro",
        "contents": [{"role": "user", "parts": [{"text": "hello world!"}]}],
        "systemInstruction": {"parts": [{"text": "be brief"}]}
    }});
    let decoded = decode_count_tokens(wrapped.to_string().as_bytes(), "").unwrap();
    assert_eq!(
        decoded.model, "gemini-2.5-pro",
        "the inner model stands in for the URL's"
    );
    // system 8 bytes -> 2; message 4 + 12 bytes -> 3.
    assert_eq!(token_estimate::estimate(&decoded.request), 2 + 4 + 3);

    let bare = json!({"contents": [{"parts": [{"text": "hello world!"}]}]});
    let decoded =
        decode_count_tokens(bare.to_string().as_bytes(), "models/gemini-2.5-flash").unwrap();
    assert_eq!(decoded.model, "gemini-2.5-flash");
    assert_eq!(token_estimate::estimate(&decoded.request), 4 + 3);
}

#[test]
fn malformed_requests_are_refused_with_the_field_named() {
    let cases = [
        (json!({}), "contents"),
        (json!({"contents": []}), "contents"),
        (json!({"contents": "hi"}), "contents"),
        (
            json!({"contents": [{"role": "user", "parts": []}]}),
            "contents[0].parts",
        ),
        (
            json!({"contents": [{"role": "system", "parts": [{"text": "x"}]}]}),
            "contents[0].role",
        ),
        (
            json!({"contents": [{"parts": [{"functionCall": {"args": {}}}]}]}),
            "contents[0].parts[0].functionCall.name",
        ),
        (
            json!({"contents": [{"parts": [{"functionCall": {"name": "f", "args": "x"}}]}]}),
            "contents[0].parts[0].functionCall.args",
        ),
        (
            json!({"contents": [{"parts": [{"inlineData": {"data": "AA=="}}]}]}),
            "contents[0].parts[0].inlineData.mimeType",
        ),
        (
            json!({"contents": [{"parts": [{"text": 5}]}]}),
            "contents[0].parts[0].text",
        ),
        (
            json!({"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"candidateCount": 2}}),
            "generationConfig.candidateCount",
        ),
        (
            json!({"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"temperature": "hot"}}),
            "generationConfig.temperature",
        ),
        (
            json!({"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"maxOutputTokens": -5}}),
            "generationConfig.maxOutputTokens",
        ),
        (
            json!({"contents": [{"parts": [{"text": "x"}]}], "toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}}}),
            "toolConfig.functionCallingConfig.mode",
        ),
        (
            json!({"contents": [{"parts": [{"text": "x"}]}], "tools": [{"functionDeclarations": [{"description": "no name"}]}]}),
            "tools[0].functionDeclarations[0].name",
        ),
        (
            json!({"contents": [{"parts": [{"text": "x"}]}], "systemInstruction": {"parts": [{"inlineData": {}}]}}),
            "systemInstruction.parts[0]",
        ),
    ];
    for (body, param) in cases {
        let error = refused(body.clone());
        assert_eq!(error.kind, ErrorKind::InvalidRequest, "{body}");
        assert_eq!(
            error.param.as_deref(),
            Some(param),
            "{body}: {}",
            error.message
        );
        assert!(error.message.contains(param), "{}", error.message);
    }
    let error = refused(
        json!({"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"candidateCount": 2}}),
    );
    assert!(
        error.message.contains("exactly one candidate"),
        "{}",
        error.message
    );

    let not_json = decode(b"{\"contents\": [", "m", false).unwrap_err();
    assert_eq!(
        (not_json.kind, not_json.code.as_deref()),
        (ErrorKind::InvalidRequest, Some("invalid_json"))
    );
    let array = decode(b"[]", "m", false).unwrap_err();
    assert_eq!(array.code.as_deref(), Some("invalid_json"));
    let no_model = decode(br#"{"contents":[{"parts":[{"text":"x"}]}]}"#, "", false).unwrap_err();
    assert_eq!(no_model.param.as_deref(), Some("model"));
}

#[test]
fn explicit_nulls_from_sdks_read_as_absent() {
    let request = decoded(json!({
        "contents": [{"role": "user", "parts": [{"text": "x", "thought": null, "inline_data": null}]}],
        "systemInstruction": null,
        "tools": null,
        "generationConfig": {"temperature": null, "thinkingConfig": null},
        "safetySettings": null
    }))
    .request;
    assert!(request.system.is_empty() && request.tools.is_empty());
    assert_eq!(request.params, Default::default());
    assert_eq!(request.options, None);
    assert!(
        matches!(&request.messages[0].parts[0], Part::Text(t) if t.text == "x" && t.options.is_none())
    );
}
