//! Fixup `history-trim`: cuts a conversation an upstream refused as too long down to a
//! token budget, for the host's one retry of that request.
//!
//! It is not a fixup to list in a provider entry's `fixups`: the host runs it only when
//! an upstream classified a request as `context-too-long` and the entry configures
//! `context-recovery: {fixup: history-trim, budget-tokens: N}`; the retry carries the
//! budget in `fixup-context.token-budget`. Without a budget it aims at half its own
//! estimate of the request.
//!
//! What is kept, whatever the budget:
//!
//! - the system prompt (`chat-request.system`) and every system message, in place;
//! - the tool declarations;
//! - the first user turn (the first user message and the plain user messages right
//!   after it), and anything before it;
//! - the last turn.
//!
//! Between the first user turn and the end, it keeps the most recent turns that fit and
//! drops the older ones, in one contiguous run. A cut falls only where a turn starts (an
//! assistant message after a user or tool message, or a user message without tool
//! results after an assistant one) and where no tool call before it has its result after
//! it: an assistant turn's calls and the results answering them go or stay together, so
//! the trim never leaves a call without its result or a result without its call. When
//! even that minimum exceeds the budget, the minimum is sent and the upstream decides.
//!
//! Tokens are estimated, not counted (each upstream tokenises its own way): a text's
//! UTF-8 bytes / 4, rounded up, for every text a message carries (text, reasoning text
//! and opaque reasoning, a tool call's name and JSON arguments, a tool result's name and
//! text output); [`FILE_TOKENS`] per file (image, document) whatever its size; and
//! [`MESSAGE_TOKENS`] per message for its framing. The request's estimate adds the
//! system prompt and the tool declarations (name, description, JSON schema) the same
//! way. English text runs at about 4 bytes per token, so the estimate is close for
//! prose and generous for code and JSON.
//!
//! Every run logs one line at info, e.g. `history-trim: dropped 14 of 31 messages
//! (~52,000 of ~98,000 tokens) to fit 60,000`.

use std::collections::HashMap;

use plugboard_sdk::prelude::*;

/// Tokens a file (image, document) counts for, whatever its size.
pub const FILE_TOKENS: u64 = 1_000;
/// Tokens each message counts for besides its content (role and framing).
pub const MESSAGE_TOKENS: u64 = 4;

/// What one trim did: the numbers its log line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trim {
    /// Messages in the request as it came.
    pub messages: usize,
    /// Messages dropped.
    pub dropped: usize,
    /// Estimated tokens of the request as it came.
    pub tokens: u64,
    /// Estimated tokens of the dropped messages.
    pub dropped_tokens: u64,
    /// The budget aimed at.
    pub budget: u64,
}

impl Trim {
    /// Estimated tokens of the request as it leaves.
    pub fn kept_tokens(&self) -> u64 {
        self.tokens - self.dropped_tokens
    }

    /// The log line saying what was dropped and why.
    pub fn line(&self) -> String {
        let (tokens, budget) = (thousands(self.tokens), thousands(self.budget));
        if self.dropped == 0 {
            if self.tokens <= self.budget {
                return format!(
                    "history-trim: the request (~{tokens} tokens) fits {budget}; nothing dropped"
                );
            }
            return format!(
                "history-trim: nothing can be dropped from the request (~{tokens} tokens) without losing the first user turn, the last turn or a tool call's result; sent over {budget}"
            );
        }
        let head = format!(
            "history-trim: dropped {} of {} messages (~{} of ~{tokens} tokens)",
            self.dropped,
            self.messages,
            thousands(self.dropped_tokens)
        );
        if self.kept_tokens() <= self.budget {
            format!("{head} to fit {budget}")
        } else {
            format!(
                "{head}; the ~{} left are the least it keeps and still exceed {budget}",
                thousands(self.kept_tokens())
            )
        }
    }
}

/// `request` cut to `budget` estimated tokens (half the request's estimate when `None`),
/// with what was done (see the module docs for what is kept).
pub fn trim_history(mut request: ChatRequest, budget: Option<u32>) -> (ChatRequest, Trim) {
    let tokens = estimate_request(&request);
    let budget = budget.map_or(tokens / 2, u64::from);
    let messages = std::mem::take(&mut request.messages);
    let mut trim = Trim {
        messages: messages.len(),
        dropped: 0,
        tokens,
        dropped_tokens: 0,
        budget,
    };
    let cut = if tokens <= budget {
        None
    } else {
        choose_cut(&request, &messages, budget)
    };
    request.messages = match cut {
        None => messages,
        Some(Cut { from, to }) => {
            let mut kept = Vec::with_capacity(messages.len());
            for (index, message) in messages.into_iter().enumerate() {
                if (from..to).contains(&index) && message.role != Role::System {
                    trim.dropped += 1;
                    trim.dropped_tokens += estimate_message(&message);
                } else {
                    kept.push(message);
                }
            }
            kept
        }
    };
    (request, trim)
}

/// The run of messages to drop: `from..to` (system messages in it stay).
struct Cut {
    from: usize,
    to: usize,
}

/// Where to cut `messages` so the request fits `budget`: the longest tail that fits,
/// else the shortest one there is; `None` when no cut is possible.
fn choose_cut(request: &ChatRequest, messages: &[Message], budget: u64) -> Option<Cut> {
    let n = messages.len();
    let first_user = messages.iter().position(|m| m.role == Role::User)?;
    let paired = paired_spans(messages);
    // The kept head: through the first user turn, and on past any pair it opened.
    let mut from = first_user + 1;
    while from < n && (paired[from] || is_plain_user(&messages[from])) {
        from += 1;
    }
    let starts: Vec<usize> = (from + 1..n)
        .filter(|&i| !paired[i] && starts_turn(messages, i))
        .collect();
    let last_start = *starts.last()?;

    // Estimated tokens of what is always kept, and of each tail.
    let fixed = estimate_preamble(request)
        + messages[..from].iter().map(estimate_message).sum::<u64>()
        + messages[from..]
            .iter()
            .filter(|m| m.role == Role::System)
            .map(estimate_message)
            .sum::<u64>();
    let mut tail = vec![0u64; n + 1];
    for i in (from..n).rev() {
        let own = match messages[i].role {
            Role::System => 0,
            _ => estimate_message(&messages[i]),
        };
        tail[i] = tail[i + 1] + own;
    }
    let to = starts
        .iter()
        .copied()
        .find(|&i| fixed + tail[i] <= budget)
        .unwrap_or(last_start);
    Some(Cut { from, to })
}

/// For each index `i` (0..=n), whether a tool call before `i` has its result at or after
/// `i`: a cut there would split the pair.
fn paired_spans(messages: &[Message]) -> Vec<bool> {
    let n = messages.len();
    let mut depth = vec![0i64; n + 2];
    let mut calls: HashMap<&str, usize> = HashMap::new();
    for (index, message) in messages.iter().enumerate() {
        for part in &message.parts {
            match part {
                Part::ToolCall(call) => {
                    calls.insert(call.id.as_str(), index);
                }
                Part::ToolResult(result) => {
                    if let Some(&call) = calls.get(result.call_id.as_str())
                        && call < index
                    {
                        depth[call + 1] += 1;
                        depth[index + 1] -= 1;
                    }
                }
                _ => {}
            }
        }
    }
    let mut open = 0;
    (0..=n)
        .map(|i| {
            open += depth[i];
            open > 0
        })
        .collect()
}

/// A user message that carries no tool result (a person speaking).
fn is_plain_user(message: &Message) -> bool {
    message.role == Role::User
        && !message
            .parts
            .iter()
            .any(|part| matches!(part, Part::ToolResult(_)))
}

/// Whether `messages[i]` can open the kept tail: an assistant message after a user or
/// tool message, or a plain user message after an assistant one (system messages in
/// between do not count).
fn starts_turn(messages: &[Message], i: usize) -> bool {
    let message = &messages[i];
    let opens = match message.role {
        Role::Assistant => true,
        Role::User => is_plain_user(message),
        Role::System | Role::Tool => false,
    };
    let previous = messages[..i].iter().rev().find(|m| m.role != Role::System);
    opens
        && previous.is_some_and(|previous| {
            (previous.role == Role::Assistant) != (message.role == Role::Assistant)
        })
}

/// Estimated tokens of the whole request (see the module docs).
pub fn estimate_request(request: &ChatRequest) -> u64 {
    estimate_preamble(request) + request.messages.iter().map(estimate_message).sum::<u64>()
}

/// Estimated tokens of the system prompt and the tool declarations.
fn estimate_preamble(request: &ChatRequest) -> u64 {
    let system: usize = request.system.iter().map(|part| part.text.len()).sum();
    let tools: usize = request
        .tools
        .iter()
        .map(|tool| {
            tool.name.len()
                + tool.description.as_ref().map_or(0, String::len)
                + tool.input_schema.len()
        })
        .sum();
    (system + tools).div_ceil(4) as u64
}

/// Estimated tokens of one message (see the module docs).
pub fn estimate_message(message: &Message) -> u64 {
    let mut bytes = 0usize;
    let mut files = 0u64;
    for part in &message.parts {
        match part {
            Part::Text(text) => bytes += text.text.len(),
            Part::Reasoning(reasoning) => {
                bytes += reasoning.text.len() + reasoning.redacted.as_ref().map_or(0, String::len);
            }
            Part::File(_) => files += 1,
            Part::ToolCall(call) => bytes += call.name.len() + call.arguments.len(),
            Part::ToolResult(result) => {
                bytes += result.name.as_ref().map_or(0, String::len);
                for output in &result.output {
                    match output {
                        ToolOutput::Text(text) => bytes += text.len(),
                        ToolOutput::File(_) => files += 1,
                    }
                }
            }
        }
    }
    MESSAGE_TOKENS + bytes.div_ceil(4) as u64 + files * FILE_TOKENS
}

/// `n` with a comma every three digits (`98,000`).
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The component: `on-request` trims to the context's budget and logs what it did.
pub struct HistoryTrim;

impl Fixup for HistoryTrim {
    fn info() -> FixupInfo {
        // Any request: the host decides when it runs (only on a context-recovery retry).
        FixupInfo::new(
            "history-trim",
            env!("CARGO_PKG_VERSION"),
            "Cuts a conversation refused as too long to a token budget: keeps the system prompt, the first user turn and the latest turns, never splits a tool call from its result",
        )
        .applies_to(AppliesTo::any())
    }

    const ON_REQUEST: Option<RequestHook> = Some(|ctx, request| {
        let (request, trim) = trim_history(request, ctx.token_budget);
        host::log(LogLevel::Info, &trim.line());
        Ok(request)
    });
}

plugboard_sdk::export_fixup!(HistoryTrim);

#[cfg(test)]
mod tests;
