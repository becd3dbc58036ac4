use super::*;

fn signed_thinking(text: &str) -> Part {
    Part::Reasoning(ReasoningPart {
        text: text.into(),
        signature: Some("EqQBCkYIBRgCKkBhWQ3m".into()),
        redacted: None,
        options: None,
    })
}

/// A Chat client seeding the start of a JSON answer, as OpenAI-style clients do.
fn seeded_json_answer() -> ChatRequest {
    ChatRequest::new()
        .with_system("Answer in JSON.")
        .with_message(Message::user_text("Give me a user record for Ada."))
        .with_message(Message::assistant_text("{\"name\": \"Ada\","))
}

#[test]
fn claude_versions_are_read_from_model_ids_of_every_shape() {
    assert_eq!(claude_version("claude-sonnet-4-6"), Some((4, 6)));
    assert_eq!(claude_version("claude-opus-4.6-thinking"), Some((4, 6)));
    assert_eq!(claude_version("claude-3-7-sonnet-20250219"), Some((3, 7)));
    assert_eq!(claude_version("claude-opus-4-20250514"), Some((4, 0)));
    assert_eq!(claude_version("anthropic/claude-5"), Some((5, 0)));
    assert_eq!(claude_version("claude-mock-1"), Some((1, 0)));
    assert_eq!(claude_version("gpt-4.1"), None);
}

#[test]
fn on_claude_4_6_a_prefill_becomes_a_final_user_instruction_keeping_its_text() {
    let fixed = move_prefill("claude-sonnet-4-6", seeded_json_answer());

    let expected = ChatRequest::new()
        .with_system("Answer in JSON.")
        .with_message(Message::user_text("Give me a user record for Ada."))
        .with_message(Message::user_text(
            "Begin your reply with exactly the following text, then continue it:\n\n{\"name\": \"Ada\",",
        ));
    assert_eq!(fixed, expected);
}

#[test]
fn with_thinking_on_an_older_model_refuses_a_prefill_without_a_thinking_block() {
    let mut request = seeded_json_answer()
        .with_message(Message::system_text("(late system note)"))
        .with_message(Message::assistant_text(" \"age\":"));
    request.params.reasoning = Some(ReasoningConfig {
        effort: Some("low".into()),
        budget_tokens: None,
    });

    let fixed = move_prefill("claude-sonnet-4-5", request);

    let roles: Vec<Role> = fixed.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::System, Role::User]);
    assert_eq!(
        fixed.messages[2].joined_text(),
        instruction("{\"name\": \"Ada\", \"age\":")
    );
}

#[test]
fn a_prefill_the_upstream_accepts_is_left_alone() {
    // No thinking, a model before 4.6: prefill is an Anthropic feature.
    let request = seeded_json_answer();
    assert_eq!(
        move_prefill("claude-3-7-sonnet-20250219", request.clone()),
        request
    );

    // Thinking on, and the final assistant turn starts with its signed thinking.
    let mut request = ChatRequest::new()
        .with_message(Message::user_text("Think, then answer."))
        .with_message(Message::new(
            Role::Assistant,
            vec![
                signed_thinking("Let me think."),
                Part::text("The answer is"),
            ],
        ));
    request.params.reasoning = Some(ReasoningConfig {
        effort: None,
        budget_tokens: Some(2048),
    });
    assert_eq!(move_prefill("claude-opus-4-5", request.clone()), request);
}

#[test]
fn a_trailing_tool_call_or_a_user_ending_is_not_a_prefill() {
    let awaiting = ChatRequest::new()
        .with_message(Message::user_text("ls"))
        .with_message(Message::new(
            Role::Assistant,
            vec![Part::tool_call("c1", "ls", "{}")],
        ));
    assert_eq!(
        move_prefill("claude-sonnet-4-6", awaiting.clone()),
        awaiting
    );

    let ended_by_user = ChatRequest::new()
        .with_message(Message::assistant_text("Hi!"))
        .with_message(Message::user_text("Hello."));
    assert_eq!(
        move_prefill("claude-sonnet-4-6", ended_by_user.clone()),
        ended_by_user
    );
}

#[test]
fn an_empty_prefill_goes_without_an_instruction() {
    let request = ChatRequest::new()
        .with_message(Message::user_text("Hello."))
        .with_message(Message::assistant_text("  "));
    let fixed = move_prefill("claude-opus-4-6", request);
    assert_eq!(fixed.messages, [Message::user_text("Hello.")]);
}

#[test]
fn info_guards_on_the_anthropic_adapter_and_translated_dialects() {
    let info = plugboard_sdk::fixup::info_of::<Prefill>();
    assert_eq!(info.id, "prefill");
    assert_eq!(info.hooks, Hooks::REQUEST);
    assert_eq!(info.applies_to.adapters, ["anthropic"]);
    assert!(
        !info
            .applies_to
            .dialects
            .contains(&Dialect::AnthropicMessages)
    );

    let mut ctx = FixupContext::for_tests();
    ctx.model = "claude-opus-4-6".into();
    let fixed = Prefill::ON_REQUEST.unwrap()(&ctx, seeded_json_answer()).unwrap();
    assert_eq!(fixed.messages.last().unwrap().role, Role::User);
}
