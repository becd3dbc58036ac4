//! The translation against Kiro's shapes: request bodies, model ids, error classes and
//! event-stream answers (built here byte by byte, CRCs included).

use plugboard_sdk::testing::{assert_every_split_decodes_to, decode_fed};

use super::*;
use crate::model::kiro_model_id;
use crate::request::*;

const ARN: &str = "arn:aws:codewhisperer:us-east-1:111122223333:profile/ABCDEF";

fn ctx(model: &str, arn: Option<&str>) -> CallContext {
    let mut ctx = CallContext::for_tests("https://q.us-east-1.amazonaws.com", model);
    ctx.credential_kind = "kiro-social".into();
    if let Some(arn) = arn {
        ctx.account
            .attributes
            .push((PROFILE_ARN.into(), arn.into()));
    }
    ctx
}

fn encoded(request: ChatRequest) -> (HttpRequest, Value) {
    let mut call = Kiro::call(ctx("claude-sonnet-4-5-20250929", Some(ARN)));
    let http = call.encode(request).unwrap();
    let body: Value = serde_json::from_slice(&http.body).unwrap();
    (http, body)
}

fn state(body: &Value) -> &Value {
    &body["conversationState"]
}

fn weather() -> Tool {
    Tool::new(
        "get_weather",
        r#"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false,"$schema":"http://json-schema.org/draft-07/schema#"}"#,
    )
    .described("Current weather for a city.")
}

#[test]
fn a_first_question_is_the_current_message_with_the_system_prompt_the_model_id_and_the_profile() {
    let (http, body) = encoded(
        ChatRequest::new()
            .with_system("You are terse.")
            .with_message(Message::user_text("Capital of France?")),
    );
    assert_eq!(
        http.url,
        "https://q.us-east-1.amazonaws.com/generateAssistantResponse"
    );
    assert_eq!(http.method, "POST");
    assert_eq!(http.header("content-type"), Some("application/json"));
    assert_eq!(http.header("x-amzn-kiro-agent-mode"), Some("vibe"));
    assert_eq!(http.header("tokentype"), None);
    assert_eq!(body["profileArn"], ARN);
    let state = state(&body);
    assert_eq!(state["chatTriggerType"], "MANUAL");
    assert_eq!(state["agentTaskType"], "vibe");
    assert_eq!(state["conversationId"].as_str().unwrap().len(), 36);
    assert!(state.get("history").is_none());
    let current = &state["currentMessage"]["userInputMessage"];
    assert_eq!(current["content"], "You are terse.\n\nCapital of France?");
    assert_eq!(current["modelId"], "claude-sonnet-4.5");
    assert_eq!(current["origin"], "AI_EDITOR");
    assert!(current.get("userInputMessageContext").is_none());
}

#[test]
fn without_a_profile_arn_attribute_none_is_sent_and_an_api_key_says_its_token_type() {
    let mut ctx = ctx("auto", None);
    ctx.credential_kind = "kiro-api-key".into();
    let mut call = Kiro::call(ctx);
    let http = call
        .encode(ChatRequest::new().with_message(Message::user_text("hi")))
        .unwrap();
    let body: Value = serde_json::from_slice(&http.body).unwrap();
    assert!(body.get("profileArn").is_none());
    assert_eq!(http.header("tokentype"), Some("API_KEY"));
    assert_eq!(
        state(&body)["currentMessage"]["userInputMessage"]["modelId"],
        "auto"
    );
}

#[test]
fn a_tool_round_trip_puts_uses_in_history_and_results_with_the_tools_in_the_current_message() {
    let (_, body) = encoded(
        ChatRequest::new()
            .with_tool(weather())
            .with_message(Message::user_text("Weather in Paris?"))
            .with_message(Message::new(
                Role::Assistant,
                vec![
                    Part::text("Checking."),
                    Part::tool_call("toolu_1", "get_weather", r#"{"city":"Paris"}"#),
                ],
            ))
            .with_message(Message::new(
                Role::Tool,
                vec![Part::tool_result_text("toolu_1", "sunny, 22C")],
            )),
    );
    let state = state(&body);
    let history = state["history"].as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(
        history[0]["userInputMessage"]["content"],
        "Weather in Paris?"
    );
    let assistant = &history[1]["assistantResponseMessage"];
    assert_eq!(assistant["content"], "Checking.");
    assert_eq!(
        assistant["toolUses"],
        json!([{"toolUseId": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}])
    );
    let current = &state["currentMessage"]["userInputMessage"];
    assert_eq!(current["content"], TOOL_RESULTS_TEXT);
    let context = &current["userInputMessageContext"];
    assert_eq!(
        context["toolResults"],
        json!([{"toolUseId": "toolu_1", "content": [{"text": "sunny, 22C"}], "status": "success"}])
    );
    let spec = &context["tools"][0]["toolSpecification"];
    assert_eq!(spec["name"], "get_weather");
    assert_eq!(spec["description"], "Current weather for a city.");
    assert_eq!(
        spec["inputSchema"]["json"],
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
    );
}

#[test]
fn an_assistant_first_conversation_and_consecutive_user_turns_become_alternating_turns() {
    let (_, body) = encoded(
        ChatRequest::new()
            .with_message(Message::assistant_text("Hello! How can I help?"))
            .with_message(Message::user_text("first"))
            .with_message(Message::user_text("second")),
    );
    let history = state(&body)["history"].as_array().unwrap();
    assert_eq!(history[0]["userInputMessage"]["content"], ".");
    assert_eq!(
        history[1]["assistantResponseMessage"]["content"],
        "Hello! How can I help?"
    );
    assert!(
        history[1]["assistantResponseMessage"]
            .get("toolUses")
            .is_none()
    );
    assert_eq!(
        state(&body)["currentMessage"]["userInputMessage"]["content"],
        "first\n\nsecond"
    );
}

#[test]
fn orphaned_results_become_text_missing_results_are_added_and_a_prefill_asks_to_continue() {
    let (_, body) = encoded(
        ChatRequest::new()
            .with_tool(weather())
            .with_message(Message::new(
                Role::User,
                vec![
                    Part::text("hi"),
                    Part::tool_result_text("toolu_gone", "old output"),
                ],
            ))
            .with_message(Message::new(
                Role::Assistant,
                vec![Part::tool_call("toolu_2", "ls", "{}")],
            ))
            .with_message(Message::user_text("never mind"))
            .with_message(Message::assistant_text("")),
    );
    let state = state(&body);
    let history = state["history"].as_array().unwrap();
    let first = &history[0]["userInputMessage"];
    assert_eq!(
        first["content"],
        "hi\n\nOutput of an earlier tool call (call id `toolu_gone`):\nold output"
    );
    assert!(first.get("userInputMessageContext").is_none());
    let answered = &history[2]["userInputMessage"];
    assert_eq!(answered["content"], "never mind");
    assert_eq!(
        answered["userInputMessageContext"]["toolResults"][0],
        json!({"toolUseId": "toolu_2", "content": [{"text": LOST_RESULT_TEXT}], "status": "error"})
    );
    assert_eq!(
        history[3]["assistantResponseMessage"]["content"],
        EMPTY_ASSISTANT_TEXT
    );
    assert_eq!(
        state["currentMessage"]["userInputMessage"]["content"],
        CONTINUE_TEXT
    );
    // `ls` was used in history but not declared: a placeholder spec names it.
    let tools = state["currentMessage"]["userInputMessage"]["userInputMessageContext"]["tools"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = tools
        .iter()
        .map(|t| t["toolSpecification"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["get_weather", "ls"]);
}

#[test]
fn a_long_tool_name_is_shortened_and_restored_in_the_answer_and_descriptions_are_kept_in_bounds() {
    let long = format!(
        "mcp__filesystem__{}",
        "read_a_really_long_file_name_".repeat(3)
    );
    assert!(long.len() > MAX_TOOL_NAME);
    let request = ChatRequest::new()
        .with_tool(Tool::new(long.clone(), r#"{"type":"object"}"#))
        .with_tool(Tool::new("big", "{}").described("x".repeat(20_000)))
        .with_message(Message::user_text("read it"));
    let mut call = Kiro::call(ctx("claude-sonnet-4.5", None));
    let http = call.encode(request).unwrap();
    let body: Value = serde_json::from_slice(&http.body).unwrap();
    let tools =
        &state(&body)["currentMessage"]["userInputMessage"]["userInputMessageContext"]["tools"];
    let sent = tools[0]["toolSpecification"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(sent.len(), MAX_TOOL_NAME);
    assert!(sent.starts_with("mcp__filesystem__read_a"));
    assert_eq!(
        tools[0]["toolSpecification"]["description"],
        format!("Tool: {long}")
    );
    let description = tools[1]["toolSpecification"]["description"]
        .as_str()
        .unwrap();
    assert_eq!(description.chars().count(), MAX_DESCRIPTION);

    call.respond(ResponseHead::new(200, &[]), true);
    let answer = [event(
        "toolUseEvent",
        &json!({"toolUseId": "t1", "name": sent, "input": "{}", "stop": true}),
    )]
    .concat();
    let events = decode_fed(call, &[&answer]);
    let called: Vec<&ToolCallPart> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCall(call) => Some(call),
            _ => None,
        })
        .collect();
    assert_eq!(called[0].name, long);
}

#[test]
fn schemas_lose_the_keys_kiro_refuses_at_every_depth_but_never_a_property_name() {
    let schema = json!({
        "type": "object", "additionalProperties": false, "required": [],
        "properties": {
            "additionalProperties": {"type": "string"},
            "nested": {"type": "object", "additionalProperties": {"type": "string"}, "required": []},
            "list": {"type": "array", "items": {"type": "object", "$schema": "x"}},
        },
    });
    assert_eq!(
        sanitize_schema(schema),
        json!({
            "type": "object",
            "properties": {
                "additionalProperties": {"type": "string"},
                "nested": {"type": "object"},
                "list": {"type": "array", "items": {"type": "object"}},
            },
        })
    );
}

#[test]
fn images_travel_as_raw_base64_with_their_format_and_urls_are_refused() {
    let image = |data: FileData| {
        Part::File(FilePart {
            media_type: "image/png".into(),
            data,
            filename: None,
            options: None,
        })
    };
    let (_, body) = encoded(ChatRequest::new().with_message(Message::new(
        Role::User,
        vec![
            Part::text("what is this?"),
            image(FileData::Base64("iVBORw0KGgo=".into())),
        ],
    )));
    assert_eq!(
        state(&body)["currentMessage"]["userInputMessage"]["images"],
        json!([{"format": "png", "source": {"bytes": "iVBORw0KGgo="}}])
    );
    let mut call = Kiro::call(ctx("auto", None));
    let refused = call
        .encode(ChatRequest::new().with_message(Message::new(
            Role::User,
            vec![image(FileData::Url("https://example.com/a.png".into()))],
        )))
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Unsupported);
}

#[test]
fn thinking_asked_for_is_switched_on_in_band_before_the_system_prompt() {
    let mut request = ChatRequest::new()
        .with_system("Be brief.")
        .with_message(Message::user_text("why?"));
    request.params.reasoning = Some(ReasoningConfig {
        effort: None,
        budget_tokens: Some(8000),
    });
    let (_, body) = encoded(request);
    assert_eq!(
        state(&body)["currentMessage"]["userInputMessage"]["content"],
        "<thinking_mode>enabled</thinking_mode><max_thinking_length>8000</max_thinking_length>\nBe brief.\n\nwhy?"
    );
}

#[test]
fn client_model_names_map_to_kiro_ids() {
    for (client, kiro, thinking) in [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4.5", false),
        ("claude-sonnet-4-5", "claude-sonnet-4.5", false),
        ("claude-sonnet-4.5", "claude-sonnet-4.5", false),
        ("kiro-claude-opus-4-6", "claude-opus-4.6", false),
        ("amazonq-claude-haiku-4-5-latest", "claude-haiku-4.5", false),
        ("claude-sonnet-4-20250514", "claude-sonnet-4", false),
        ("claude-opus-4-5-thinking", "claude-opus-4.5", true),
        (
            "claude-3-7-sonnet-20250219",
            "CLAUDE_3_7_SONNET_20250219_V1_0",
            false,
        ),
        (
            "CLAUDE_SONNET_4_20250514_V1_0",
            "CLAUDE_SONNET_4_20250514_V1_0",
            false,
        ),
        ("auto", "auto", false),
        ("deepseek-3-2", "deepseek-3.2", false),
        ("qwen3-coder-next", "qwen3-coder-next", false),
    ] {
        let mapped = kiro_model_id(client);
        assert_eq!(
            (mapped.id.as_str(), mapped.thinking),
            (kiro, thinking),
            "{client}"
        );
    }
}

#[test]
fn info_declares_the_default_fixups_and_models() {
    let info = Kiro::info();
    assert_eq!(info.id, "kiro");
    assert_eq!(info.default_fixups, DEFAULT_FIXUPS);
    assert!(info.native_dialects.is_empty());
    assert!(info.endpoints.iter().any(|e| e.name == "base"));
    assert!(info.models.iter().any(|m| m.id == "claude-sonnet-4.5"));
}

// ---- errors ----

fn classified(status: u16, body: &str) -> UpstreamError {
    let mut call = Kiro::call(ctx("auto", None));
    call.classify_error(ResponseHead::new(status, &[]), body.as_bytes().to_vec())
}

#[test]
fn every_kiro_failure_gets_its_routing_class() {
    let suspended = classified(
        403,
        r#"{"__type":"com.amazon.aws.codewhisperer#AccessDeniedException","message":"Your User ID (u-1) temporarily is suspended. We've locked your account as a security precaution.","reason":"TEMPORARILY_SUSPENDED"}"#,
    );
    assert_eq!(suspended.class, ErrorClass::AccountDisabled);
    assert!(
        suspended.message.contains("temporarily is suspended"),
        "{}",
        suspended.message
    );
    assert!(suspended.message.contains("TEMPORARILY_SUSPENDED"));

    for (status, body, class) in [
        (
            400,
            r#"{"message":"Input is too long.","reason":"CONTENT_LENGTH_EXCEEDS_THRESHOLD"}"#,
            ErrorClass::ContextTooLong,
        ),
        (
            500,
            "Input is too long for requested model",
            ErrorClass::ContextTooLong,
        ),
        (
            402,
            r#"{"message":"You have reached the limit.","reason":"MONTHLY_REQUEST_COUNT"}"#,
            ErrorClass::QuotaExhausted(None),
        ),
        (
            402,
            r#"{"error":{"message":"limit","reason":"OVERAGE_REQUEST_LIMIT_EXCEEDED"}}"#,
            ErrorClass::QuotaExhausted(None),
        ),
        (
            429,
            r#"{"__type":"com.amazon.aws.codewhisperer#ThrottlingException","message":"I am experiencing high traffic, please try again shortly.","reason":"INSUFFICIENT_MODEL_CAPACITY"}"#,
            ErrorClass::Overloaded(None),
        ),
        (
            400,
            r#"{"message":"Invalid model. Please select a different model to continue.","reason":"INVALID_MODEL_ID"}"#,
            ErrorClass::ModelUnavailable,
        ),
        (
            403,
            r#"{"__type":"com.amazon.aws.codewhisperer#AccessDeniedException","message":"This feature is not supported for your account.","reason":"FEATURE_NOT_SUPPORTED"}"#,
            ErrorClass::ModelUnavailable,
        ),
        (
            403,
            r#"{"message":"The bearer token included in the request is invalid.","reason":null}"#,
            ErrorClass::AuthExpired,
        ),
        (
            401,
            r#"{"message":"Unauthorized"}"#,
            ErrorClass::AuthExpired,
        ),
        (
            400,
            r#"{"message":"profileArn is required for this request."}"#,
            ErrorClass::AuthExpired,
        ),
        (
            400,
            r#"{"message":"Improperly formed request.","reason":null}"#,
            ErrorClass::BadRequest,
        ),
        (
            429,
            r#"{"message":"Due to suspicious activity, we are imposing temporary limits"}"#,
            ErrorClass::RateLimited(None),
        ),
        (
            503,
            r#"{"message":"busy","reason":"MODEL_TEMPORARILY_UNAVAILABLE"}"#,
            ErrorClass::Overloaded(None),
        ),
        (
            500,
            r#"{"message":"Encountered an unexpected error when processing the request, please try again."}"#,
            ErrorClass::Overloaded(None),
        ),
    ] {
        assert_eq!(classified(status, body).class, class, "{status} {body}");
    }
    assert_eq!(
        classified(
            400,
            r#"{"message":"Improperly formed request.","reason":null}"#
        )
        .message,
        "Improperly formed request."
    );
    let mut call = Kiro::call(ctx("auto", None));
    let hinted = call.classify_error(
        ResponseHead::new(429, &[("retry-after", "3")]),
        br#"{"message":"slow"}"#.to_vec(),
    );
    assert_eq!(hinted.class, ErrorClass::RateLimited(Some(3000)));
}

// ---- the event stream ----

/// CRC-32 (IEEE, zlib's), bit by bit: the tests build frames without the SDK's code.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut block = Vec::new();
    for (name, value) in headers {
        block.push(name.len() as u8);
        block.extend_from_slice(name.as_bytes());
        block.push(7);
        block.extend_from_slice(&(value.len() as u16).to_be_bytes());
        block.extend_from_slice(value.as_bytes());
    }
    let total = 12 + block.len() + payload.len() + 4;
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&(total as u32).to_be_bytes());
    bytes.extend_from_slice(&(block.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&crc32(&bytes).to_be_bytes());
    bytes.extend_from_slice(&block);
    bytes.extend_from_slice(payload);
    bytes.extend_from_slice(&crc32(&bytes).to_be_bytes());
    bytes
}

fn event(event_type: &str, payload: &Value) -> Vec<u8> {
    message(
        &[
            (":message-type", "event"),
            (":event-type", event_type),
            (":content-type", "application/json"),
        ],
        payload.to_string().as_bytes(),
    )
}

fn exception(kind: &str, payload: &Value) -> Vec<u8> {
    message(
        &[
            (":message-type", "exception"),
            (":exception-type", kind),
            (":content-type", "application/json"),
        ],
        payload.to_string().as_bytes(),
    )
}

fn started(thinking: bool) -> KiroCall {
    let mut call = Kiro::call(ctx("claude-sonnet-4.5", None));
    let mut request = ChatRequest::new().with_message(Message::user_text("hi"));
    if thinking {
        request.params.reasoning = Some(ReasoningConfig {
            effort: Some("high".into()),
            budget_tokens: None,
        });
    }
    call.encode(request).unwrap();
    call.respond(
        ResponseHead::new(
            200,
            &[("content-type", "application/vnd.amazon.eventstream")],
        ),
        true,
    );
    call
}

/// A Kiro answer: text in deltas, a tool call in fragments, metering, context usage.
fn tool_answer() -> Vec<u8> {
    [
        event(
            "assistantResponseEvent",
            &json!({"content": "Checking ", "modelId": "claude-sonnet-4.5"}),
        ),
        event(
            "assistantResponseEvent",
            &json!({"content": "the weather ✓."}),
        ),
        event(
            "toolUseEvent",
            &json!({"toolUseId": "tu_1", "name": "get_weather"}),
        ),
        event(
            "toolUseEvent",
            &json!({"toolUseId": "tu_1", "name": "get_weather", "input": "{\"city\":"}),
        ),
        event(
            "toolUseEvent",
            &json!({"toolUseId": "tu_1", "name": "get_weather", "input": "\"Paris\"}"}),
        ),
        event(
            "toolUseEvent",
            &json!({"toolUseId": "tu_1", "name": "get_weather", "stop": true}),
        ),
        event(
            "meteringEvent",
            &json!({"unit": "credit", "unitPlural": "credits", "usage": 0.25}),
        ),
        event(
            "contextUsageEvent",
            &json!({"contextUsagePercentage": 12.5}),
        ),
    ]
    .concat()
}

fn tool_answer_events() -> Vec<StreamEvent> {
    let mut finish = Finish::new(
        FinishReason::ToolCalls,
        Some("tool_use".into()),
        Usage {
            input_tokens: Some(25_000),
            ..Usage::default()
        },
    );
    finish.options = Some(r#"{"kiro":{"credits":0.25,"contextUsagePercentage":12.5}}"#.into());
    vec![
        StreamEvent::ResponseMetadata(ResponseMetadata {
            id: None,
            model: Some("claude-sonnet-4.5".into()),
            created: None,
        }),
        StreamEvent::TextStart("text-0".into()),
        StreamEvent::text_delta("text-0", "Checking "),
        StreamEvent::text_delta("text-0", "the weather ✓."),
        StreamEvent::TextEnd("text-0".into()),
        StreamEvent::tool_input_start("tu_1", "get_weather"),
        StreamEvent::tool_input_delta("tu_1", "{\"city\":"),
        StreamEvent::tool_input_delta("tu_1", "\"Paris\"}"),
        StreamEvent::ToolInputEnd("tu_1".into()),
        StreamEvent::ToolCall(ToolCallPart::new(
            "tu_1",
            "get_weather",
            r#"{"city":"Paris"}"#,
        )),
        StreamEvent::Finish(finish),
    ]
}

#[test]
fn an_answer_split_at_every_byte_decodes_to_the_same_events() {
    assert_every_split_decodes_to(|| started(false), &tool_answer(), &tool_answer_events());
    let pieces: Vec<&[u8]> = tool_answer().leak().chunks(1).collect();
    assert_eq!(decode_fed(started(false), &pieces), tool_answer_events());
}

#[test]
fn a_corrupted_crc_is_an_upstream_error() {
    let mut bytes = tool_answer();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF;
    let mut call = started(false);
    let error = call
        .push(&bytes)
        .and_then(|_| call.finish())
        .expect_err("a bad message CRC must not decode");
    assert_eq!(error.kind, ErrorKind::Upstream);
    assert!(
        error.message.contains("checksum") || error.message.contains("CRC"),
        "{}",
        error.message
    );

    let mut bytes = tool_answer();
    bytes[9] ^= 0x01; // inside the first prelude CRC
    let error = started(false).push(&bytes).unwrap_err();
    assert!(
        error.message.contains("bad prelude CRC"),
        "{}",
        error.message
    );
}

#[test]
fn an_exception_frame_mid_stream_is_a_classified_error_then_the_error_finish() {
    let body = [
        event("assistantResponseEvent", &json!({"content": "Half"})),
        exception(
            "ThrottlingException",
            &json!({"message": "I am experiencing high traffic, please try again shortly.", "reason": "INSUFFICIENT_MODEL_CAPACITY"}),
        ),
    ]
    .concat();
    let expected = UpstreamError::new(
        ErrorClass::Overloaded(None),
        "I am experiencing high traffic, please try again shortly. (INSUFFICIENT_MODEL_CAPACITY)",
    );
    plugboard_sdk::testing::assert_error_frame_ends_the_stream(|| started(false), &body, &expected);

    let plain = exception(
        "ThrottlingException",
        &json!({"message": "Too many requests"}),
    );
    let events = decode_fed(started(false), &[&plain]);
    assert!(events.contains(&StreamEvent::Error(UpstreamError::new(
        ErrorClass::RateLimited(None),
        "Too many requests"
    ))));
    let suspended = exception(
        "AccessDeniedException",
        &json!({"message": "Your User ID (u-1) temporarily is suspended.", "reason": "TEMPORARILY_SUSPENDED"}),
    );
    let events = decode_fed(started(false), &[&suspended]);
    assert!(events.iter().any(
        |e| matches!(e, StreamEvent::Error(error) if error.class == ErrorClass::AccountDisabled)
    ));
}

#[test]
fn inline_thinking_tags_are_reasoning_only_when_thinking_was_asked_for() {
    let body = [
        event("assistantResponseEvent", &json!({"content": "<think"})),
        event(
            "assistantResponseEvent",
            &json!({"content": "ing>Weigh `</thinking>` the"}),
        ),
        event(
            "assistantResponseEvent",
            &json!({"content": " options.</thin"}),
        ),
        event(
            "assistantResponseEvent",
            &json!({"content": "king>\n\nParis."}),
        ),
    ]
    .concat();
    let events = decode_fed(started(true), &[&body]);
    let reasoning: String = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ReasoningDelta(d) => Some(d.delta.as_str()),
            _ => None,
        })
        .collect();
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::TextDelta(d) => Some(d.delta.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(reasoning, "Weigh `</thinking>` the options.");
    assert_eq!(text, "Paris.");
    assert_every_split_decodes_to(|| started(true), &body, &events);

    let events = decode_fed(started(false), &[&body]);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, StreamEvent::ReasoningDelta(_)))
    );
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::TextDelta(d) => Some(d.delta.as_str()),
            _ => None,
        })
        .collect();
    assert!(text.starts_with("<thinking>Weigh"));
}

#[test]
fn reasoning_events_carry_text_and_signature_and_exact_token_usage_wins_over_the_estimate() {
    let body = [
        event("reasoningContentEvent", &json!({"text": "Let me think.", "signature": "sig-1"})),
        event("assistantResponseEvent", &json!({"content": "Done."})),
        event("contextUsageEvent", &json!({"contextUsagePercentage": 50.0})),
        event("metadataEvent", &json!({"tokenUsage": {"uncachedInputTokens": 90, "cacheReadInputTokens": 10, "outputTokens": 7, "totalTokens": 107}})),
    ]
    .concat();
    let events = decode_fed(started(true), &[&body]);
    assert_eq!(events[0], StreamEvent::ReasoningStart("reasoning-0".into()));
    assert_eq!(
        events[1],
        StreamEvent::reasoning_delta("reasoning-0", "Let me think.")
    );
    assert_eq!(
        events[2],
        StreamEvent::ReasoningEnd(ReasoningEnd {
            id: "reasoning-0".into(),
            signature: Some("sig-1".into()),
            redacted: None,
        })
    );
    let Some(StreamEvent::Finish(finish)) = events.last() else {
        panic!("no finish: {events:?}")
    };
    assert_eq!(finish.reason, FinishReason::Stop);
    assert_eq!(finish.usage.input_tokens, Some(100));
    assert_eq!(finish.usage.output_tokens, Some(7));
    assert_eq!(finish.usage.cache_read_tokens, Some(10));
}

#[test]
fn a_new_tool_id_closes_the_open_call_a_repeated_one_is_ignored_and_broken_input_is_kept_raw() {
    let body = [
        event(
            "toolUseEvent",
            &json!({"toolUseId": "a", "name": "ls", "input": "{\"path\":"}),
        ),
        event(
            "toolUseEvent",
            &json!({"toolUseId": "b", "name": "cat", "input": {"file": "x"}}),
        ),
        event(
            "toolUseEvent",
            &json!({"toolUseId": "b", "name": "cat", "stop": true}),
        ),
        event(
            "toolUseEvent",
            &json!({"toolUseId": "b", "name": "cat", "input": "{}", "stop": true}),
        ),
        event(
            "contextUsageEvent",
            &json!({"contextUsagePercentage": 100.0}),
        ),
    ]
    .concat();
    let events = decode_fed(started(false), &[&body]);
    let calls: Vec<&ToolCallPart> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCall(call) => Some(call),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].arguments, json!({"raw": "{\"path\":"}).to_string());
    assert_eq!(
        (calls[1].name.as_str(), calls[1].arguments.as_str()),
        ("cat", r#"{"file":"x"}"#)
    );
    let Some(StreamEvent::Finish(finish)) = events.last() else {
        panic!("no finish")
    };
    assert_eq!(finish.reason, FinishReason::ToolCalls);
}

#[test]
fn a_full_context_window_finishes_as_length_and_a_truncated_body_is_an_error() {
    let body = [
        event("assistantResponseEvent", &json!({"content": "cut"})),
        event(
            "contextUsageEvent",
            &json!({"contextUsagePercentage": 100.0}),
        ),
    ]
    .concat();
    let events = decode_fed(started(false), &[&body]);
    let Some(StreamEvent::Finish(finish)) = events.last() else {
        panic!("no finish")
    };
    assert_eq!(
        (finish.reason, finish.raw_reason.as_deref()),
        (FinishReason::Length, Some("model_context_window_exceeded"))
    );
    let mut call = started(false);
    call.push(&body[..body.len() - 2]).unwrap();
    assert_eq!(call.finish().unwrap_err().kind, ErrorKind::Upstream);
}

#[test]
fn bytes_that_are_not_an_event_stream_are_an_upstream_error_and_an_error_frame_is_classified() {
    plugboard_sdk::testing::assert_garbage_is_an_upstream_error(
        || started(false),
        b"data: {\"not\": \"an event stream\"}\n\n",
    );
    let error_frame = message(
        &[
            (":message-type", "error"),
            (":error-code", "InternalServerException"),
            (
                ":error-message",
                "Encountered an unexpected error when processing the request, please try again.",
            ),
        ],
        b"",
    );
    let events = decode_fed(started(false), &[&error_frame]);
    assert_eq!(
        events[0],
        StreamEvent::Error(UpstreamError::new(
            ErrorClass::Overloaded(None),
            "Encountered an unexpected error when processing the request, please try again."
        ))
    );
}
