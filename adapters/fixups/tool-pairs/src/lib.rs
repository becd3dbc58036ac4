//! Fixup `tool-pairs`: every tool call has its result, every tool result its call.
//!
//! Clients that compact a long history (summarising or cutting old turns) break the
//! pairs, and strict upstreams refuse the whole request:
//!
//! - Anthropic: 400 `invalid_request_error` "tool_use ids were found without
//!   tool_result blocks immediately after" and "unexpected tool_use_id found in
//!   tool_result blocks". Each `tool_use` must be answered in the very next user turn,
//!   each `tool_result` must answer a `tool_use` of the turn before.
//! - Gemini: 400 `INVALID_ARGUMENT` "Please ensure that the number of function response
//!   parts is equal to the number of function call parts of the function call turn."
//! - OpenAI Chat refuses a `tool` message that answers no `tool_calls` of the turn before.
//!
//! A *turn* is a run of assistant messages, or a run of user and tool messages (the way
//! the adapters merge them); system messages are transparent. Repairs, nothing dropped:
//!
//! - A call its next turn does not answer gets a synthetic failed result,
//!   [`LOST_RESULT`], naming the tool, at the start of that turn (in its first tool
//!   message, or a new tool message). A call in the conversation's last turn awaits
//!   its result and is left alone.
//! - A result that answers no call of the turn before (its call was cut, or it answers
//!   an older turn, or answers a call twice) becomes plain user text naming the tool
//!   and the call id, output kept (files a tool returned stay as file parts). Plain
//!   text is accepted everywhere; an invented call would claim the model asked for
//!   arguments nobody knows.
//!
//! Every repair is logged at debug with the call id and tool name (never the output).

use std::collections::HashSet;

use plugboard_sdk::prelude::*;

/// The output of the result added for a call whose result was lost.
pub const LOST_RESULT: &str =
    "The result of this tool call was lost when the conversation history was shortened.";

/// The text an orphaned result becomes, before its output.
pub fn orphan_heading(name: Option<&str>, call_id: &str, is_error: bool) -> String {
    let tool = name.map_or(String::new(), |name| format!(" `{name}`"));
    let failed = if is_error { " (it failed)" } else { "" };
    format!("Output of an earlier call to tool{tool} (call id `{call_id}`){failed}:\n")
}

/// Repair the tool call/result pairs of `request` (see the module docs).
pub fn repair_tool_pairs(mut request: ChatRequest) -> ChatRequest {
    let messages = std::mem::take(&mut request.messages);
    let mut out: Vec<Message> = Vec::with_capacity(messages.len() + 2);
    // Calls of the assistant turn just before the current user turn.
    let mut pending: Vec<ToolCallPart> = Vec::new();
    // Index in `out` where the current user turn starts (None: not in a user turn).
    let mut user_turn_start: Option<usize> = None;
    let mut answered: HashSet<String> = HashSet::new();
    let mut in_assistant_turn = false;

    for message in messages {
        match message.role {
            Role::System => out.push(message),
            Role::Assistant => {
                if let Some(start) = user_turn_start.take() {
                    answer_lost_calls(&mut out, start, &pending, &answered);
                    pending.clear();
                }
                if !in_assistant_turn {
                    pending.clear();
                    in_assistant_turn = true;
                }
                pending.extend(message.parts.iter().filter_map(|part| match part {
                    Part::ToolCall(call) => Some(call.clone()),
                    _ => None,
                }));
                out.push(message);
            }
            Role::User | Role::Tool => {
                if user_turn_start.is_none() {
                    user_turn_start = Some(out.len());
                    answered.clear();
                    in_assistant_turn = false;
                }
                let calls: HashSet<&str> = pending.iter().map(|call| call.id.as_str()).collect();
                out.extend(pair_results(message, &calls, &mut answered));
            }
        }
    }
    if let Some(start) = user_turn_start {
        answer_lost_calls(&mut out, start, &pending, &answered);
    }
    request.messages = out;
    request
}

/// `message` with results that answer no call in `calls` (or answer one again) turned
/// into user text; a tool message's converted text follows it as a user message.
fn pair_results(
    mut message: Message,
    calls: &HashSet<&str>,
    answered: &mut HashSet<String>,
) -> Vec<Message> {
    let mut converted = Vec::new();
    let mut kept = Vec::with_capacity(message.parts.len());
    for part in std::mem::take(&mut message.parts) {
        match part {
            Part::ToolResult(result)
                if !calls.contains(result.call_id.as_str())
                    || !answered.insert(result.call_id.clone()) =>
            {
                host::debug(&format!(
                    "tool-pairs: the result for call `{}` (tool `{}`) answers no call of the turn before; sent as user text",
                    result.call_id,
                    result.name.as_deref().unwrap_or("unnamed")
                ));
                converted.extend(as_user_parts(result));
            }
            other => kept.push(other),
        }
    }
    if message.role == Role::Tool {
        message.parts = kept;
        let mut out = Vec::new();
        if !message.parts.is_empty() {
            out.push(message);
        }
        if !converted.is_empty() {
            out.push(Message::new(Role::User, converted));
        }
        out
    } else {
        // A user message: the text takes the result's place.
        message.parts = kept;
        message.parts.extend(converted);
        vec![message]
    }
}

/// An orphaned result as plain user content: a text naming the tool, with its text
/// output, then any files it returned.
fn as_user_parts(result: ToolResultPart) -> Vec<Part> {
    let mut text = orphan_heading(result.name.as_deref(), &result.call_id, result.is_error);
    let mut files = Vec::new();
    for output in result.output {
        match output {
            ToolOutput::Text(piece) => text.push_str(&piece),
            ToolOutput::File(file) => files.push(Part::File(file)),
        }
    }
    let mut parts = vec![Part::text(text)];
    parts.extend(files);
    parts
}

/// Give each call in `calls` that `answered` lacks a synthetic failed result, at the
/// start of the user turn beginning at `out[start]`.
fn answer_lost_calls(
    out: &mut Vec<Message>,
    start: usize,
    calls: &[ToolCallPart],
    answered: &HashSet<String>,
) {
    let lost: Vec<Part> = calls
        .iter()
        .filter(|call| !answered.contains(&call.id))
        .map(|call| {
            host::debug(&format!(
                "tool-pairs: call `{}` (tool `{}`) had no result; added one saying it was lost",
                call.id, call.name
            ));
            Part::ToolResult(ToolResultPart {
                call_id: call.id.clone(),
                name: Some(call.name.clone()),
                output: vec![ToolOutput::Text(LOST_RESULT.into())],
                is_error: true,
                options: None,
            })
        })
        .collect();
    if lost.is_empty() {
        return;
    }
    match out.get_mut(start) {
        Some(first) if first.role == Role::Tool => first.parts.extend(lost),
        _ => out.insert(start, Message::new(Role::Tool, lost)),
    }
}

// Any adapter: every upstream that takes tool calls pairs them with results (Anthropic
// and Gemini refuse a broken pair, OpenAI Chat an orphaned tool message); a request
// whose pairs are whole is returned unchanged.
plugboard_sdk::request_fixup!(
    ToolPairs,
    id = "tool-pairs",
    description = "Gives every tool call a result and every tool result its call, after a client compacted the history",
    applies_to = AppliesTo::any(),
    repair_tool_pairs
);

#[cfg(test)]
mod tests;
