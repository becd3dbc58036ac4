//! Fixup `first-user-turn`: a conversation must open with a user turn.
//!
//! Kiro (and some other Bedrock-backed upstreams) reject a conversation whose first
//! non-system turn is the assistant's with 400 "Improperly formed request". Clients
//! produce such conversations after compaction or when they seed an assistant greeting.
//! We prepend a minimal user turn whose text is "." : it must be non-empty (empty text
//! blocks are rejected too), and a single punctuation mark carries no instruction the
//! model could act on, costs one token, and is recognisable in logs.

use plugboard_sdk::prelude::*;

/// The text of the user turn we insert.
pub const PLACEHOLDER_TEXT: &str = ".";

/// Prepend a minimal user turn when the first non-system message is the assistant's.
pub fn ensure_first_user_turn(mut request: ChatRequest) -> ChatRequest {
    let first_turn = request
        .messages
        .iter()
        .position(|message| message.role != Role::System);
    if let Some(index) = first_turn
        && request.messages[index].role == Role::Assistant
    {
        request
            .messages
            .insert(index, Message::user_text(PLACEHOLDER_TEXT));
    }
    request
}

// Any adapter: whichever upstream refuses an assistant-first conversation (Kiro, other
// Bedrock-backed ones) is named by the operator listing this fixup for its provider.
plugboard_sdk::request_fixup!(
    FirstUserTurn,
    id = "first-user-turn",
    description = "Prepends a minimal user turn when a conversation opens with the assistant",
    applies_to = AppliesTo::any(),
    ensure_first_user_turn
);

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(request: &ChatRequest) -> Vec<Role> {
        request
            .messages
            .iter()
            .map(|message| message.role)
            .collect()
    }

    #[test]
    fn a_conversation_opening_with_the_assistant_gets_a_dot_user_turn_first() {
        let request = ChatRequest::new()
            .with_message(Message::assistant_text("Hello! How can I help?"))
            .with_message(Message::user_text("list files"));
        let fixed = ensure_first_user_turn(request);
        assert_eq!(roles(&fixed), [Role::User, Role::Assistant, Role::User]);
        assert_eq!(fixed.messages[0].joined_text(), ".");
    }

    #[test]
    fn system_turns_stay_ahead_of_the_inserted_user_turn() {
        let request = ChatRequest::new()
            .with_message(Message::system_text("be brief"))
            .with_message(Message::assistant_text("hi"));
        assert_eq!(
            roles(&ensure_first_user_turn(request)),
            [Role::System, Role::User, Role::Assistant]
        );
    }

    #[test]
    fn a_conversation_opening_with_the_user_is_left_alone() {
        let request = ChatRequest::new()
            .with_system("sys")
            .with_message(Message::user_text("hi"))
            .with_message(Message::assistant_text("hello"));
        assert_eq!(ensure_first_user_turn(request.clone()), request);
    }

    #[test]
    fn an_empty_conversation_is_left_alone() {
        let request = ChatRequest::new();
        assert_eq!(ensure_first_user_turn(request.clone()), request);
    }

    #[test]
    fn info_names_the_request_hook_only() {
        let info = plugboard_sdk::fixup::info_of::<FirstUserTurn>();
        assert_eq!(info.id, "first-user-turn");
        assert_eq!(info.hooks, Hooks::REQUEST);
        assert_eq!(info.applies_to, AppliesTo::any());
    }
}
