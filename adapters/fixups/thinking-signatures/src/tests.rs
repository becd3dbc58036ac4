use super::*;
use serde_json::json;

/// Shaped like Anthropic's signatures (`EqQBCkYI...`: first byte 0x12).
const CLAUDE_SIG: &str =
    "EqQBCkYIBRgCKkBhWQ3mZ0x8jXbS1c2VwYjR0dXJlLWZyb20tY2xhdWRlLW1vY2stdGVzdA==";
/// Shaped like Gemini's thought signatures (`CiQB...`: first byte 0x0a).
const GEMINI_SIG: &str = "CiQBvj72+6HI8+eJU+HjXyUghM3MM47797x9IOCmyx0odxqx3BsKcQG+Pvb7Y1SK";
/// An OpenAI `encrypted_content` (a Fernet token).
const OPENAI_BLOB: &str = "gAAAAABoZ2VtaW5pLXNpZy1mcm9tLW9wZW5haS1yZXNwb25zZXMtbW9jay10ZXN0";

fn reasoning(text: &str, signature: Option<&str>, redacted: Option<&str>) -> Part {
    Part::Reasoning(ReasoningPart {
        text: text.into(),
        signature: signature.map(str::to_string),
        redacted: redacted.map(str::to_string),
        options: None,
    })
}

fn gemini_signed_call(id: &str, name: &str, args: &str, signature: &str) -> Part {
    let mut call = ToolCallPart::new(id, name, args);
    call.options = Some(json!({"gemini": {"thoughtSignature": signature}}).to_string());
    Part::ToolCall(call)
}

/// Claude Code with Claude: signed thinking, a tool call, its result; then the user
/// switches to a Gemini model and asks on.
fn claude_conversation_continued() -> ChatRequest {
    ChatRequest::new()
        .with_system("You are a coding agent.")
        .with_message(Message::user_text("What is in this directory?"))
        .with_message(Message::new(
            Role::Assistant,
            vec![
                reasoning("I should run ls.", Some(CLAUDE_SIG), None),
                Part::text("Listing the files."),
                Part::tool_call("toolu_01", "bash", r#"{"cmd":"ls"}"#),
            ],
        ))
        .with_message(Message::new(
            Role::User,
            vec![Part::tool_result_text("toolu_01", "Cargo.toml\nsrc")],
        ))
        .with_message(Message::user_text("Now count the lines of src/lib.rs."))
}

#[test]
fn signatures_are_placed_by_shape_and_unknown_ones_stay_unknown() {
    assert_eq!(issuer_of(CLAUDE_SIG), Issuer::Anthropic);
    assert_eq!(issuer_of(GEMINI_SIG), Issuer::Google);
    assert_eq!(issuer_of(SKIP_SIGNATURE), Issuer::Google);
    assert_eq!(issuer_of(OPENAI_BLOB), Issuer::OpenAi);
    // URL-safe alphabet, no padding: still Google's.
    assert_eq!(issuer_of(&GEMINI_SIG.replace('+', "-")), Issuer::Google);
    // Too short to tell, not base64, or a first byte nobody uses: unknown.
    assert_eq!(issuer_of("EqQBCkYI"), Issuer::Unknown);
    assert_eq!(issuer_of("sig-mock-0001"), Issuer::Unknown);
    assert_eq!(issuer_of(&format!("{CLAUDE_SIG}!")), Issuer::Unknown);
    assert_eq!(
        issuer_of(&format!("c2ln{}", &GEMINI_SIG[4..])),
        Issuer::Unknown
    );
}

#[test]
fn claude_thinking_loses_its_signature_on_the_way_to_gemini_and_the_call_survives() {
    let fixed = strip_foreign_signatures("gemini", claude_conversation_continued());

    let mut expected = claude_conversation_continued();
    expected.messages[1].parts[0] = reasoning("I should run ls.", None, None);
    assert_eq!(fixed, expected);
}

#[test]
fn after_the_switch_geminis_own_signatures_stay_and_claudes_go() {
    // The conversation went on with Gemini for a turn: its thought and its call are signed.
    let request = claude_conversation_continued()
        .with_message(Message::new(
            Role::Assistant,
            vec![
                reasoning("Count with wc.", Some(GEMINI_SIG), None),
                gemini_signed_call(
                    "call_2",
                    "bash",
                    r#"{"cmd":"wc -l src/lib.rs"}"#,
                    GEMINI_SIG,
                ),
            ],
        ))
        .with_message(Message::new(
            Role::Tool,
            vec![Part::tool_result_text("call_2", "96 src/lib.rs")],
        ));

    let fixed = strip_foreign_signatures("gemini", request.clone());

    let mut expected = request;
    expected.messages[1].parts[0] = reasoning("I should run ls.", None, None);
    assert_eq!(fixed, expected);
}

#[test]
fn a_gemini_client_replaying_claudes_signature_on_a_call_gets_the_sentinel() {
    // A Gemini-dialect client that talked to Claude: Claude's signature rode on the
    // function call part.
    let mut text = TextPart::new("Checking.");
    text.options = Some(json!({"gemini": {"thoughtSignature": CLAUDE_SIG}}).to_string());
    let request = ChatRequest::new()
        .with_message(Message::user_text("ls please"))
        .with_message(Message::new(
            Role::Assistant,
            vec![
                Part::Text(text),
                gemini_signed_call("c1", "bash", r#"{"cmd":"ls"}"#, CLAUDE_SIG),
            ],
        ))
        .with_message(Message::new(
            Role::Tool,
            vec![Part::tool_result_text("c1", "a.txt")],
        ));

    let fixed = strip_foreign_signatures("gemini", request);

    let assistant = &fixed.messages[1].parts;
    assert_eq!(
        assistant[0],
        Part::Text(TextPart {
            text: "Checking.".into(),
            options: Some(json!({"gemini": {}}).to_string()),
        })
    );
    assert_eq!(
        assistant[1],
        gemini_signed_call("c1", "bash", r#"{"cmd":"ls"}"#, SKIP_SIGNATURE)
    );
}

#[test]
fn gemini_thoughts_and_openai_payloads_are_dropped_whole_on_the_way_to_anthropic() {
    let request = ChatRequest::new()
        .with_message(Message::user_text("Pick a number."))
        .with_message(Message::new(
            Role::Assistant,
            vec![
                reasoning("Gemini thought about it.", Some(GEMINI_SIG), None),
                reasoning("", None, Some(OPENAI_BLOB)),
                Part::text("42."),
            ],
        ))
        .with_message(Message::user_text("Doubled?"))
        .with_message(Message::new(
            Role::Assistant,
            vec![
                reasoning("Claude doubles it.", Some(CLAUDE_SIG), None),
                Part::text("84."),
            ],
        ))
        .with_message(Message::user_text("Halved?"));

    let fixed = strip_foreign_signatures("anthropic", request.clone());

    let mut expected = request;
    expected.messages[1].parts = vec![Part::text("42.")];
    assert_eq!(fixed, expected);
}

#[test]
fn a_claude_to_claude_conversation_keeps_its_thinking_intact() {
    let request = claude_conversation_continued().with_message(Message::new(
        Role::Assistant,
        vec![
            reasoning(
                "",
                None,
                Some("EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"),
            ),
            reasoning("Unknown shape, kept.", Some("sig-mock-0001"), None),
        ],
    ));
    assert_eq!(
        strip_foreign_signatures("anthropic", request.clone()),
        request
    );
}

#[test]
fn adapters_without_signature_checks_get_the_request_unchanged() {
    let request = claude_conversation_continued();
    assert_eq!(strip_foreign_signatures("openai", request.clone()), request);
}

#[test]
fn the_hook_reads_the_target_from_the_context_and_info_names_its_guards() {
    let mut ctx = FixupContext::for_tests();
    ctx.adapter = "gemini".into();
    let hook = ThinkingSignatures::ON_REQUEST.unwrap();
    let fixed = hook(&ctx, claude_conversation_continued()).unwrap();
    assert_eq!(
        fixed.messages[1].parts[0],
        reasoning("I should run ls.", None, None)
    );

    let info = plugboard_sdk::fixup::info_of::<ThinkingSignatures>();
    assert_eq!(info.id, "thinking-signatures");
    assert_eq!(info.hooks, Hooks::REQUEST);
    assert_eq!(info.applies_to.adapters, ["anthropic", "gemini"]);
    assert!(!info.applies_to.dialects.contains(&Dialect::OpenaiChat));
}
