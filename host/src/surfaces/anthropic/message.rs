//! The `message` object of a non-streaming answer, and what the stream shares with it:
//! the message id, the stop reason and the usage object.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::fields::ANTHROPIC;
use crate::ir::{Finish, FinishReason, Part, Usage};
use crate::surfaces::collect::Collected;
use crate::surfaces::opaque_reasoning;

/// A message id in Anthropic's shape: the upstream id when it is already one, the
/// upstream id behind `msg_` otherwise (so logs still match it), else a fresh one.
pub(super) fn message_id(upstream: Option<&str>) -> String {
    match upstream {
        Some(id) if id.starts_with("msg_") => id.to_owned(),
        Some(id) if !id.is_empty() => format!("msg_{id}"),
        _ => format!("msg_{}", unique_suffix()),
    }
}

/// 24 hex digits, unique within this process and unlikely to repeat across restarts.
/// Not a secret, so no CSPRNG is needed.
fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mixed = splitmix64(nanos ^ splitmix64(COUNTER.fetch_add(1, Ordering::Relaxed)));
    format!("{:016x}{:08x}", mixed, splitmix64(mixed) as u32)
}

/// One round of SplitMix64: spreads nearby inputs over the whole range.
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `stop_reason` and `stop_sequence` for how the answer ended.
///
/// An Anthropic upstream's own reason is kept when it is one clients know (so
/// `pause_turn` and `model_context_window_exceeded` survive the IR path); otherwise the
/// unified reason decides. A response that called tools says `tool_use` whatever the
/// upstream said when it said it simply stopped (Gemini says STOP): clients loop on that value.
pub(super) fn stop_reason(
    finish: Option<&Finish>,
    called_tools: bool,
) -> (&'static str, Option<String>) {
    let Some(finish) = finish else {
        return (if called_tools { "tool_use" } else { "end_turn" }, None);
    };
    let sequence = finish
        .options
        .as_ref()
        .and_then(|options| options.get(ANTHROPIC)?.get("stop_sequence")?.as_str())
        .map(str::to_owned);
    let native = match finish.raw_reason.as_deref() {
        Some("end_turn") => Some("end_turn"),
        Some("max_tokens") => Some("max_tokens"),
        Some("stop_sequence") => Some("stop_sequence"),
        Some("tool_use") => Some("tool_use"),
        Some("pause_turn") => Some("pause_turn"),
        Some("refusal") => Some("refusal"),
        Some("model_context_window_exceeded") => Some("model_context_window_exceeded"),
        _ => None,
    };
    let reason = match (native, finish.reason) {
        (Some(native), _) => native,
        (None, _) if sequence.is_some() => "stop_sequence",
        (None, FinishReason::Length) => "max_tokens",
        (None, FinishReason::ContentFilter) => "refusal",
        (None, FinishReason::ToolCalls) => "tool_use",
        (None, FinishReason::Stop | FinishReason::Error | FinishReason::Other) => "end_turn",
    };
    let reason = if called_tools && reason == "end_turn" {
        "tool_use"
    } else {
        reason
    };
    let sequence = if reason == "stop_sequence" {
        sequence
    } else {
        None
    };
    (reason, sequence)
}

/// The usage object. Anthropic's `input_tokens` excludes cached tokens while the IR's
/// includes both cache reads and writes, so those are subtracted.
pub(super) fn usage_json(usage: &Usage) -> Value {
    let cache_read = usage.cache_read_tokens.unwrap_or(0);
    let cache_write = usage.cache_write_tokens.unwrap_or(0);
    let input = usage
        .input_tokens
        .unwrap_or(0)
        .saturating_sub(cache_read + cache_write);
    json!({
        "input_tokens": input,
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
        "output_tokens": usage.output_tokens.unwrap_or(0),
    })
}

/// A tool call's arguments as the `input` object; unparseable arguments (a truncated
/// stream) become `{}` rather than an invalid block.
pub(super) fn tool_input(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(input @ Value::Object(_)) => input,
        _ => json!({}),
    }
}

/// A `message` object for a collected response, named after the client's `model`. The
/// caller answers `collected.error` with an error body instead.
///
/// Empty text blocks are left out: the API never sends them, and clients that send the
/// message back would be refused for one.
pub fn response_json(collected: &Collected, model: &str) -> Vec<u8> {
    let mut content = Vec::with_capacity(collected.parts.len());
    for part in &collected.parts {
        match part {
            Part::Text(text) if !text.text.is_empty() => {
                content.push(json!({"type": "text", "text": text.text}))
            }
            Part::Reasoning(reasoning) => match (&reasoning.redacted, reasoning.text.is_empty()) {
                (Some(data), true) => {
                    content.push(json!({"type": "redacted_thinking", "data": data}))
                }
                _ => content.push(json!({
                    "type": "thinking",
                    "thinking": reasoning.text,
                    "signature": opaque_reasoning::as_signature(
                        reasoning.signature.as_deref(),
                        reasoning.redacted.as_deref(),
                    )
                    .unwrap_or_default(),
                })),
            },
            Part::ToolCall(call) => content.push(json!({
                "type": "tool_use",
                "id": call.id,
                "name": call.name,
                "input": tool_input(&call.arguments),
            })),
            _ => {}
        }
    }
    let called_tools = collected.tool_calls().next().is_some();
    let (reason, sequence) = stop_reason(collected.finish.as_ref(), called_tools);
    let usage = collected
        .finish
        .as_ref()
        .map(|f| f.usage)
        .unwrap_or_default();
    let message = json!({
        "id": message_id(collected.metadata.id.as_deref()),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reason,
        "stop_sequence": sequence,
        "usage": usage_json(&usage),
    });
    serde_json::to_vec(&message).expect("a JSON value always serialises")
}
