//! Fixup `merge-turns`: consecutive messages of one role become one message.
//!
//! Gemini-style APIs reject non-alternating turns with INVALID_ARGUMENT; clients send
//! them anyway (two user messages in a row after an interrupted turn, one tool message
//! per tool result in OpenAI Chat). Parts keep their order; the merged message keeps the
//! first message's `options` (a later message's options have no single place to go,
//! and the first message's are the ones that describe where the turn starts).

use plugboard_sdk::prelude::*;

/// Merge runs of same-role messages, keeping parts in order.
pub fn merge_consecutive_turns(mut request: ChatRequest) -> ChatRequest {
    let mut merged: Vec<Message> = Vec::with_capacity(request.messages.len());
    for message in request.messages.drain(..) {
        match merged.last_mut() {
            Some(previous) if previous.role == message.role => previous.parts.extend(message.parts),
            _ => merged.push(message),
        }
    }
    request.messages = merged;
    request
}

// Any adapter: merging same-role turns is harmless everywhere and needed by every
// upstream that insists on alternation (Gemini-style APIs), whatever its adapter id.
plugboard_sdk::request_fixup!(
    MergeTurns,
    id = "merge-turns",
    description = "Merges consecutive messages of the same role into one, parts in order",
    applies_to = AppliesTo::any(),
    merge_consecutive_turns
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_names_the_request_hook_only() {
        let info = plugboard_sdk::fixup::info_of::<MergeTurns>();
        assert_eq!(info.id, "merge-turns");
        assert_eq!(info.hooks, Hooks::REQUEST);
    }

    #[test]
    fn two_user_messages_in_a_row_become_one_with_both_parts_in_order() {
        let request = ChatRequest::new()
            .with_message(Message::user_text("first"))
            .with_message(Message::user_text("second"))
            .with_message(Message::assistant_text("answer"));
        let merged = merge_consecutive_turns(request);
        assert_eq!(merged.messages.len(), 2);
        assert_eq!(
            merged.messages[0].parts,
            vec![Part::text("first"), Part::text("second")]
        );
        assert_eq!(merged.messages[1].role, Role::Assistant);
    }

    #[test]
    fn one_tool_message_per_result_merges_into_one_tool_turn() {
        let request = ChatRequest::new()
            .with_message(Message::user_text("run both"))
            .with_message(Message::new(
                Role::Assistant,
                vec![
                    Part::tool_call("c1", "ls", "{}"),
                    Part::tool_call("c2", "pwd", "{}"),
                ],
            ))
            .with_message(Message::new(
                Role::Tool,
                vec![Part::tool_result_text("c1", "a.txt")],
            ))
            .with_message(Message::new(
                Role::Tool,
                vec![Part::tool_result_text("c2", "/home")],
            ));
        let merged = merge_consecutive_turns(request);
        let roles: Vec<Role> = merged.messages.iter().map(|m| m.role).collect();
        assert_eq!(roles, [Role::User, Role::Assistant, Role::Tool]);
        assert_eq!(
            merged.messages[2].parts,
            vec![
                Part::tool_result_text("c1", "a.txt"),
                Part::tool_result_text("c2", "/home")
            ]
        );
    }

    #[test]
    fn alternating_turns_are_unchanged_and_the_first_options_survive() {
        let mut first = Message::user_text("a");
        first.options = Some(r#"{"x":{"y":1}}"#.into());
        let request = ChatRequest::new()
            .with_message(first.clone())
            .with_message(Message::assistant_text("b"))
            .with_message(Message::user_text("c"));
        assert_eq!(merge_consecutive_turns(request.clone()), request);

        let merged = merge_consecutive_turns(
            ChatRequest::new()
                .with_message(first)
                .with_message(Message::user_text("d")),
        );
        assert_eq!(
            merged.messages[0].options.as_deref(),
            Some(r#"{"x":{"y":1}}"#)
        );
    }
}
