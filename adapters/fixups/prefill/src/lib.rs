//! Fixup `prefill`: a conversation that ends with the assistant (a *prefill*) becomes
//! one that ends with the user, where the upstream would refuse the prefill.
//!
//! Anthropic (API key and Claude OAuth alike) refuses a final assistant message:
//!
//! - on Claude 4.6 and later, always: 400 "This model does not support assistant
//!   message prefill. The conversation must end with a user message.";
//! - with thinking enabled, unless it starts with a thinking block: 400 "Expected
//!   `thinking` or `redacted_thinking`, but found `text`. When `thinking` is enabled, a
//!   final `assistant` message must start with a thinking block".
//!
//! Chat Completions, Responses and Gemini clients end a conversation with the assistant
//! without meaning an Anthropic prefill (a half-written answer to continue, a seeded
//! `{`), so the fixup is for those dialects on the `anthropic` adapter: an Anthropic
//! client's prefill is its own business and keeps native passthrough. Only when the
//! model or the thinking setting makes the upstream refuse it (see [`refuses_prefill`])
//! is the trailing assistant turn removed and its text kept, as a final user turn
//! asking the model to begin its reply with that text ([`instruction`]). A trailing
//! turn holding a tool call is not a prefill (it awaits a result) and is left alone.
//! Reasoning parts of the prefill are dropped (logged at debug): a user turn cannot
//! carry them, and the upstream would not take them back unsigned.

use plugboard_sdk::prelude::*;

/// The user turn that replaces prefill `text`.
pub fn instruction(text: &str) -> String {
    format!("Begin your reply with exactly the following text, then continue it:\n\n{text}")
}

/// The Claude version a model id names: `claude-sonnet-4-6` and `claude-opus-4.6` are
/// (4, 6), `claude-3-7-sonnet-20250219` is (3, 7), `claude-opus-4-20250514` is (4, 0)
/// (a date is not a minor version); `None` for a model that is not Claude's.
pub fn claude_version(model: &str) -> Option<(u32, u32)> {
    let model = model.to_ascii_lowercase();
    let rest = &model[model.find("claude")? + "claude".len()..];
    let mut tokens = rest.split(['-', '.', '_', '/']).filter(|t| !t.is_empty());
    let major: u32 = tokens.find_map(|token| token.parse().ok())?;
    let minor = tokens
        .next()
        .filter(|token| token.len() <= 2)
        .and_then(|token| token.parse().ok())
        .unwrap_or(0);
    Some((major, minor))
}

/// Whether thinking is asked for (the anthropic adapter turns any reasoning budget or
/// effort into a thinking budget).
pub fn thinking_enabled(request: &ChatRequest) -> bool {
    request
        .params
        .reasoning
        .as_ref()
        .is_some_and(|reasoning| reasoning.budget_tokens.is_some() || reasoning.effort.is_some())
}

/// Whether an Anthropic upstream serving `model` refuses `request`'s trailing
/// assistant turn `prefill`: always on Claude 4.6 and later; with thinking on, when the
/// turn does not start with signed (or redacted) reasoning.
pub fn refuses_prefill(model: &str, request: &ChatRequest, prefill: &[&Message]) -> bool {
    if claude_version(model).is_some_and(|version| version >= (4, 6)) {
        return true;
    }
    let starts_with_thinking = prefill
        .iter()
        .flat_map(|message| message.parts.iter())
        .next()
        .is_some_and(|part| {
            matches!(part, Part::Reasoning(r) if r.signature.is_some() || r.redacted.is_some())
        });
    thinking_enabled(request) && !starts_with_thinking
}

/// Move a trailing assistant turn that `model`'s upstream would refuse into a final
/// user instruction (see the module docs).
pub fn move_prefill(model: &str, mut request: ChatRequest) -> ChatRequest {
    // The trailing assistant turn: the assistant messages after the last user or tool
    // message (system messages between them do not end it).
    let last_other = request
        .messages
        .iter()
        .rposition(|message| matches!(message.role, Role::User | Role::Tool))
        .map_or(0, |index| index + 1);
    let trailing: Vec<&Message> = request.messages[last_other..]
        .iter()
        .filter(|message| message.role == Role::Assistant)
        .collect();
    if trailing.is_empty()
        || trailing
            .iter()
            .flat_map(|message| message.parts.iter())
            .any(|part| matches!(part, Part::ToolCall(_)))
        || !refuses_prefill(model, &request, &trailing)
    {
        return request;
    }
    let mut text = String::new();
    let mut dropped = 0;
    for message in &trailing {
        for part in &message.parts {
            match part {
                Part::Text(piece) => text.push_str(&piece.text),
                _ => dropped += 1,
            }
        }
    }
    request.messages = request
        .messages
        .drain(..)
        .enumerate()
        .filter(|(index, message)| *index < last_other || message.role != Role::Assistant)
        .map(|(_, message)| message)
        .collect();
    host::debug(&format!(
        "prefill: moved a trailing assistant turn of {} characters into a final user turn for `{model}`; {dropped} non-text part(s) dropped",
        text.chars().count()
    ));
    if !text.trim().is_empty() {
        request
            .messages
            .push(Message::user_text(instruction(&text)));
    }
    request
}

/// The fixup component.
pub struct Prefill;

impl Fixup for Prefill {
    fn info() -> FixupInfo {
        FixupInfo::new(
            "prefill",
            env!("CARGO_PKG_VERSION"),
            "Turns a trailing assistant message an Anthropic upstream would refuse into a final user instruction",
        )
        .applies_to(AppliesTo::adapters(&["anthropic"]).and_dialects(&[
            Dialect::OpenaiChat,
            Dialect::OpenaiResponses,
            Dialect::Gemini,
        ]))
    }
    const ON_REQUEST: Option<RequestHook> =
        Some(|ctx, request| Ok(move_prefill(&ctx.model, request)));
}

export_fixup!(Prefill);

#[cfg(test)]
mod tests;
