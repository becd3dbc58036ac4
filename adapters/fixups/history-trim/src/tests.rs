use std::collections::HashSet;

use super::*;

/// `len` bytes of tool output (`len / 4` estimated tokens).
fn output(len: usize) -> String {
    "cargo: compiling... ".repeat(len / 20)
}

/// A coding agent's session: a system prompt, two tools, the task, then `rounds`
/// rounds of one assistant turn calling tools and their results (round 3 calls two
/// tools at once, answered in two tool messages), a new instruction from the user
/// half-way, and the agent's last words.
fn agent_session(rounds: usize) -> ChatRequest {
    let mut request = ChatRequest::new()
        .with_system("You are a coding agent. Work in the repository; run the tests.")
        .with_message(Message::user_text("Fix the failing build."));
    request.tools = vec![
        Tool::new(
            "bash",
            r#"{"type":"object","properties":{"cmd":{"type":"string"}}}"#,
        ),
        Tool::new(
            "read_file",
            r#"{"type":"object","properties":{"path":{"type":"string"}}}"#,
        ),
    ];
    for round in 1..=rounds {
        if round == rounds / 2 {
            request = request.with_message(Message::user_text("Also run clippy when done."));
        }
        let id = format!("call_{round}");
        if round == 3 {
            request = request
                .with_message(Message::new(
                    Role::Assistant,
                    vec![
                        Part::text("Reading both files."),
                        Part::tool_call("call_3a", "read_file", r#"{"path":"src/a.rs"}"#),
                        Part::tool_call("call_3b", "read_file", r#"{"path":"src/b.rs"}"#),
                    ],
                ))
                .with_message(Message::new(
                    Role::Tool,
                    vec![Part::tool_result_text("call_3a", output(2_000))],
                ))
                .with_message(Message::new(
                    Role::Tool,
                    vec![Part::tool_result_text("call_3b", output(2_000))],
                ));
            continue;
        }
        request = request
            .with_message(Message::new(
                Role::Assistant,
                vec![
                    Part::text(format!("Step {round}: running the build.")),
                    Part::tool_call(id.clone(), "bash", r#"{"cmd":"cargo build"}"#),
                ],
            ))
            .with_message(Message::new(
                Role::Tool,
                vec![Part::tool_result_text(id, output(2_000))],
            ));
    }
    request.with_message(Message::assistant_text("The build passes now."))
}

/// Every tool call is answered in the turn right after it, and every result answers a
/// call of the turn right before it.
fn assert_paired(request: &ChatRequest) {
    let mut pending: HashSet<String> = HashSet::new();
    let mut previous_calls: HashSet<String> = HashSet::new();
    let mut in_assistant = false;
    for message in &request.messages {
        match message.role {
            Role::System => {}
            Role::Assistant => {
                if !in_assistant {
                    assert!(pending.is_empty(), "calls {pending:?} lost their results");
                    previous_calls.clear();
                    in_assistant = true;
                }
                for part in &message.parts {
                    if let Part::ToolCall(call) = part {
                        pending.insert(call.id.clone());
                        previous_calls.insert(call.id.clone());
                    }
                }
            }
            Role::User | Role::Tool => {
                in_assistant = false;
                for part in &message.parts {
                    if let Part::ToolResult(result) = part {
                        assert!(
                            previous_calls.contains(&result.call_id),
                            "result `{}` answers no call of the turn before",
                            result.call_id
                        );
                        pending.remove(&result.call_id);
                    }
                }
            }
        }
    }
}

#[test]
fn a_long_session_is_cut_to_the_budget_keeping_the_start_and_the_latest_turns() {
    let session = agent_session(20);
    let total = estimate_request(&session);
    let (trimmed, trim) = trim_history(session.clone(), Some(4_000));
    assert!(total > 10_000, "{total}");
    assert!(trim.dropped > 0);
    assert!(trim.kept_tokens() <= 4_000, "{trim:?}");
    assert_eq!(estimate_request(&trimmed), trim.kept_tokens());
    assert_eq!(
        trimmed.messages.len(),
        session.messages.len() - trim.dropped
    );
    // The system prompt, the tools, the first user turn and the last turn stay.
    assert_eq!(trimmed.system, session.system);
    assert_eq!(trimmed.tools, session.tools);
    assert_eq!(trimmed.messages[0], session.messages[0]);
    assert_eq!(trimmed.messages.last(), session.messages.last());
    // What stays after the first turn is the session's latest messages, as they were.
    let tail = &trimmed.messages[1..];
    assert_eq!(
        tail,
        &session.messages[session.messages.len() - tail.len()..]
    );
    assert_eq!(tail[0].role, Role::Assistant, "the tail opens on a turn");
    assert_paired(&trimmed);
    // The longest tail that fits: one more turn would not.
    assert!(trim.kept_tokens() + 2 * 500 > 4_000, "{trim:?}");
}

#[test]
fn a_parallel_call_and_its_two_result_messages_go_or_stay_together() {
    let session = agent_session(6);
    for budget in (100..6_000).step_by(50) {
        let (trimmed, _) = trim_history(session.clone(), Some(budget));
        assert_paired(&trimmed);
        let ids: Vec<&str> = trimmed
            .messages
            .iter()
            .flat_map(|m| &m.parts)
            .filter_map(|part| match part {
                Part::ToolCall(call) => Some(call.id.as_str()),
                Part::ToolResult(result) => Some(result.call_id.as_str()),
                _ => None,
            })
            .filter(|id| id.starts_with("call_3"))
            .collect();
        assert!(
            ids.is_empty() || ids == ["call_3a", "call_3b", "call_3a", "call_3b"],
            "budget {budget}: {ids:?}"
        );
    }
}

#[test]
fn nothing_is_dropped_when_the_request_fits() {
    let session = agent_session(4);
    let total = estimate_request(&session);
    let (trimmed, trim) = trim_history(session.clone(), Some(total as u32));
    assert_eq!(trimmed, session);
    assert_eq!(trim.dropped, 0);
    assert_eq!(
        trim.line(),
        format!(
            "history-trim: the request (~{} tokens) fits {}; nothing dropped",
            thousands(total),
            thousands(total)
        )
    );
}

#[test]
fn without_a_budget_it_aims_at_half_the_request() {
    let session = agent_session(12);
    let total = estimate_request(&session);
    let (trimmed, trim) = trim_history(session, None);
    assert_eq!(trim.budget, total / 2);
    assert!(trim.kept_tokens() <= total / 2, "{trim:?}");
    assert_paired(&trimmed);
}

#[test]
fn when_even_the_least_it_keeps_is_too_long_that_is_sent_and_said() {
    let session = agent_session(8);
    let (trimmed, trim) = trim_history(session.clone(), Some(10));
    // System prompt, first user turn, the agent's last words.
    assert_eq!(
        trimmed.messages,
        vec![
            session.messages[0].clone(),
            session.messages.last().unwrap().clone()
        ]
    );
    assert!(trim.kept_tokens() > 10);
    assert!(
        trim.line()
            .ends_with("are the least it keeps and still exceed 10"),
        "{}",
        trim.line()
    );
}

#[test]
fn a_turn_of_results_is_kept_with_the_call_it_answers() {
    // The session ends on tool results: the last turn is the results, and the
    // assistant turn that asked for them stays with them.
    let mut session = agent_session(6);
    session.messages.pop();
    let (trimmed, _) = trim_history(session.clone(), Some(10));
    let n = session.messages.len();
    assert_eq!(trimmed.messages[1..], session.messages[n - 2..]);
    assert_paired(&trimmed);
}

#[test]
fn system_messages_in_the_dropped_run_stay() {
    let mut session = agent_session(8);
    session
        .messages
        .insert(3, Message::system_text("Remember: never push to main."));
    let (trimmed, trim) = trim_history(session, Some(1_000));
    assert!(trim.dropped > 0);
    assert!(
        trimmed
            .messages
            .iter()
            .any(|m| m.role == Role::System && m.joined_text() == "Remember: never push to main.")
    );
    assert_paired(&trimmed);
}

#[test]
fn a_conversation_with_no_user_turn_or_no_place_to_cut_is_left_alone() {
    let lone = ChatRequest::new().with_message(Message::assistant_text(output(4_000)));
    let (trimmed, trim) = trim_history(lone.clone(), Some(10));
    assert_eq!((trimmed, trim.dropped), (lone, 0));
    let two = ChatRequest::new()
        .with_message(Message::user_text(output(4_000)))
        .with_message(Message::assistant_text(output(4_000)));
    let (trimmed, trim) = trim_history(two.clone(), Some(10));
    assert_eq!(trimmed, two);
    assert!(
        trim.line().contains("nothing can be dropped"),
        "{}",
        trim.line()
    );
}

#[test]
fn the_log_line_says_what_was_dropped_to_fit_what() {
    let trim = Trim {
        messages: 31,
        dropped: 14,
        tokens: 98_000,
        dropped_tokens: 52_000,
        budget: 60_000,
    };
    assert_eq!(
        trim.line(),
        "history-trim: dropped 14 of 31 messages (~52,000 of ~98,000 tokens) to fit 60,000"
    );
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1_234_567), "1,234,567");
}

#[test]
fn tokens_are_bytes_over_four_plus_framing_and_a_flat_rate_per_file() {
    let message = Message::new(
        Role::User,
        vec![
            Part::text("12345678"),
            Part::File(FilePart {
                media_type: "image/png".into(),
                data: FileData::Base64("aGVsbG8=".repeat(10_000)),
                filename: None,
                options: None,
            }),
        ],
    );
    assert_eq!(estimate_message(&message), MESSAGE_TOKENS + 2 + FILE_TOKENS);
}

#[test]
fn info_declares_the_request_hook_only_for_any_request() {
    let info = plugboard_sdk::fixup::info_of::<HistoryTrim>();
    assert_eq!(info.id, "history-trim");
    assert_eq!(info.hooks, Hooks::REQUEST);
    assert_eq!(info.applies_to, AppliesTo::any());
}
