use super::*;

fn call(id: &str, name: &str, args: &str) -> Part {
    Part::tool_call(id, name, args)
}

fn named_result(id: &str, name: &str, output: &str) -> Part {
    Part::ToolResult(ToolResultPart {
        call_id: id.into(),
        name: Some(name.into()),
        output: vec![ToolOutput::Text(output.into())],
        is_error: false,
        options: None,
    })
}

fn lost(id: &str, name: &str) -> Part {
    Part::ToolResult(ToolResultPart {
        call_id: id.into(),
        name: Some(name.into()),
        output: vec![ToolOutput::Text(LOST_RESULT.into())],
        is_error: true,
        options: None,
    })
}

/// An agent session after the client compacted it: the summary replaced the turn that
/// made call `toolu_01` (its result survived), and the result of `toolu_03` was cut.
fn compacted_history() -> ChatRequest {
    ChatRequest::new()
        .with_system("You are a coding agent.")
        .with_message(Message::user_text(
            "Summary of the earlier conversation: we are fixing the build.",
        ))
        .with_message(Message::new(
            Role::User,
            vec![Part::tool_result_text(
                "toolu_01",
                "error[E0425]: cannot find value `x`",
            )],
        ))
        .with_message(Message::new(
            Role::Assistant,
            vec![
                Part::text("Let me look at the file and the tests."),
                call("toolu_02", "read_file", r#"{"path":"src/lib.rs"}"#),
                call("toolu_03", "bash", r#"{"cmd":"cargo test"}"#),
            ],
        ))
        .with_message(Message::new(
            Role::User,
            vec![Part::tool_result_text("toolu_02", "fn main() { x }")],
        ))
        .with_message(Message::user_text("Go on."))
}

#[test]
fn a_compacted_history_gets_its_lost_result_and_its_orphaned_result_as_text() {
    let fixed = repair_tool_pairs(compacted_history());

    let expected = ChatRequest::new()
        .with_system("You are a coding agent.")
        .with_message(Message::user_text("Summary of the earlier conversation: we are fixing the build."))
        .with_message(Message::new(
            Role::User,
            vec![Part::text(
                "Output of an earlier call to tool (call id `toolu_01`):\nerror[E0425]: cannot find value `x`",
            )],
        ))
        .with_message(Message::new(
            Role::Assistant,
            vec![
                Part::text("Let me look at the file and the tests."),
                call("toolu_02", "read_file", r#"{"path":"src/lib.rs"}"#),
                call("toolu_03", "bash", r#"{"cmd":"cargo test"}"#),
            ],
        ))
        .with_message(Message::new(Role::Tool, vec![lost("toolu_03", "bash")]))
        .with_message(Message::new(
            Role::User,
            vec![Part::tool_result_text("toolu_02", "fn main() { x }")],
        ))
        .with_message(Message::user_text("Go on."));
    assert_eq!(fixed, expected);
}

#[test]
fn openai_style_tool_messages_keep_their_paired_results_and_shed_the_orphans() {
    // One tool message per result, as Chat clients send them; the second answers a
    // call of an older turn, the third repeats the first.
    let request = ChatRequest::new()
        .with_message(Message::user_text("run ls"))
        .with_message(Message::new(Role::Assistant, vec![call("c1", "ls", "{}")]))
        .with_message(Message::new(
            Role::Tool,
            vec![named_result("c1", "ls", "a.txt")],
        ))
        .with_message(Message::new(
            Role::Tool,
            vec![named_result("c0", "pwd", "/home")],
        ))
        .with_message(Message::new(
            Role::Tool,
            vec![named_result("c1", "ls", "a.txt")],
        ));

    let fixed = repair_tool_pairs(request);

    let roles: Vec<Role> = fixed.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            Role::User,
            Role::Assistant,
            Role::Tool,
            Role::User,
            Role::User
        ]
    );
    assert_eq!(fixed.messages[2].parts, [named_result("c1", "ls", "a.txt")]);
    assert_eq!(
        fixed.messages[3].parts,
        [Part::text(
            "Output of an earlier call to tool `pwd` (call id `c0`):\n/home"
        )]
    );
    assert_eq!(
        fixed.messages[4].parts,
        [Part::text(
            "Output of an earlier call to tool `ls` (call id `c1`):\na.txt"
        )]
    );
}

#[test]
fn parallel_calls_missing_results_join_the_turns_tool_message_and_files_are_kept() {
    let screenshot = FilePart {
        media_type: "image/png".into(),
        data: FileData::Base64("iVBORw0KGgo=".into()),
        filename: None,
        options: None,
    };
    let request = ChatRequest::new()
        .with_message(Message::user_text("check both"))
        .with_message(Message::new(
            Role::Assistant,
            vec![call("c1", "ls", "{}"), call("c2", "screenshot", "{}")],
        ))
        .with_message(Message::new(
            Role::Tool,
            vec![named_result("c1", "ls", "a.txt")],
        ))
        .with_message(Message::new(Role::Assistant, vec![Part::text("And now?")]))
        .with_message(Message::new(
            Role::User,
            vec![
                Part::ToolResult(ToolResultPart {
                    call_id: "c2".into(),
                    name: None,
                    output: vec![
                        ToolOutput::Text("taken".into()),
                        ToolOutput::File(screenshot.clone()),
                    ],
                    is_error: true,
                    options: None,
                }),
                Part::text("Here it is."),
            ],
        ));

    let fixed = repair_tool_pairs(request);

    assert_eq!(
        fixed.messages[2].parts,
        [named_result("c1", "ls", "a.txt"), lost("c2", "screenshot")]
    );
    assert_eq!(
        fixed.messages[4].parts,
        [
            Part::text("Here it is."),
            Part::text("Output of an earlier call to tool (call id `c2`) (it failed):\ntaken"),
            Part::File(screenshot),
        ]
    );
}

#[test]
fn whole_pairs_and_a_call_awaiting_its_result_are_left_alone() {
    let request = ChatRequest::new()
        .with_system("sys")
        .with_message(Message::user_text("ls then pwd"))
        .with_message(Message::new(Role::Assistant, vec![call("c1", "ls", "{}")]))
        .with_message(Message::new(
            Role::Tool,
            vec![named_result("c1", "ls", "a.txt")],
        ))
        .with_message(Message::system_text("(the user is back)"))
        .with_message(Message::new(Role::Assistant, vec![call("c2", "pwd", "{}")]));
    assert_eq!(repair_tool_pairs(request.clone()), request);
}

#[test]
fn info_names_the_request_hook_for_any_adapter() {
    let info = plugboard_sdk::fixup::info_of::<ToolPairs>();
    assert_eq!(info.id, "tool-pairs");
    assert_eq!(info.hooks, Hooks::REQUEST);
    assert_eq!(info.applies_to, AppliesTo::any());
}
