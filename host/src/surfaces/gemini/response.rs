//! The `GenerateContentResponse` object, whole (for `:generateContent`) and the pieces
//! each stream chunk shares with it: parts, finish reason, usage and response id.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::fields::gemini_extras;
use crate::ir::{Finish, FinishReason, Options, Part, Usage};
use crate::surfaces::collect::Collected;
use crate::surfaces::opaque_reasoning;

/// Gemini's own finish reasons: an upstream that already speaks Gemini keeps its exact
/// reason (`RECITATION`, `MALFORMED_FUNCTION_CALL`, ...).
const GEMINI_REASONS: &[&str] = &[
    "STOP",
    "MAX_TOKENS",
    "SAFETY",
    "RECITATION",
    "LANGUAGE",
    "OTHER",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "MALFORMED_FUNCTION_CALL",
    "IMAGE_SAFETY",
    "UNEXPECTED_TOOL_CALL",
    "TOO_MANY_TOOL_CALLS",
];

/// `finishReason` for how a response ended. Tool calls end with `STOP`, as at Gemini:
/// clients look for `functionCall` parts, not for a reason.
pub(super) fn finish_reason(finish: &Finish) -> String {
    if let Some(raw) = finish.raw_reason.as_deref()
        && GEMINI_REASONS.contains(&raw)
    {
        return raw.to_owned();
    }
    match finish.reason {
        FinishReason::Stop | FinishReason::ToolCalls => "STOP",
        FinishReason::Length => "MAX_TOKENS",
        FinishReason::ContentFilter => "SAFETY",
        FinishReason::Error | FinishReason::Other => "OTHER",
    }
    .to_owned()
}

/// `usageMetadata`. Gemini counts thoughts apart from candidates and the IR counts
/// them inside output, so candidates are output minus reasoning; the total is
/// prompt plus output, as Gemini's is prompt plus candidates plus thoughts. Counts the
/// upstream did not report are left out, as Gemini leaves out zero counts.
pub(super) fn usage_json(usage: &Usage) -> Value {
    let prompt = usage.input_tokens.unwrap_or(0);
    let output = usage.output_tokens.unwrap_or(0);
    let thoughts = usage.reasoning_tokens.unwrap_or(0);
    let mut metadata = Map::new();
    metadata.insert("promptTokenCount".into(), json!(prompt));
    metadata.insert(
        "candidatesTokenCount".into(),
        json!(output.saturating_sub(thoughts)),
    );
    metadata.insert("totalTokenCount".into(), json!(prompt + output));
    if let Some(cached) = usage.cache_read_tokens {
        metadata.insert("cachedContentTokenCount".into(), json!(cached));
    }
    if let Some(thoughts) = usage.reasoning_tokens {
        metadata.insert("thoughtsTokenCount".into(), json!(thoughts));
    }
    Value::Object(metadata)
}

/// A function call's `args`: the IR's serialised arguments as the object they are.
/// Arguments that are not JSON (a broken upstream) are passed as a string rather than
/// lost.
pub(super) fn args_value(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return Value::Object(Map::new());
    }
    serde_json::from_str(arguments).unwrap_or_else(|_| Value::String(arguments.to_owned()))
}

/// The thought signature kept in a part's options (`options.gemini.thoughtSignature`).
fn kept_signature(options: &Options) -> Option<&Value> {
    gemini_extras(options)?.get("thoughtSignature")
}

/// A `functionCall` part.
pub(super) fn call_part(id: &str, name: &str, arguments: &str, options: &Options) -> Value {
    let mut part = json!({"functionCall": {"id": id, "name": name, "args": args_value(arguments)}});
    if let Some(signature) = kept_signature(options) {
        part["thoughtSignature"] = signature.clone();
    }
    part
}

/// A `{text, thought: true}` part, with its signature when it has one.
pub(super) fn thought_part(text: &str, signature: Option<&str>) -> Value {
    let mut part = json!({"text": text, "thought": true});
    if let Some(signature) = signature {
        part["thoughtSignature"] = json!(signature);
    }
    part
}

/// A collected part as a Gemini part; redacted reasoning has no Gemini form and is
/// left out, as are empty thoughts with nothing to sign.
fn response_part(part: &Part) -> Option<Value> {
    match part {
        Part::Text(text) => {
            let mut part = json!({"text": text.text});
            if let Some(signature) = kept_signature(&text.options) {
                part["thoughtSignature"] = signature.clone();
            }
            Some(part)
        }
        Part::Reasoning(reasoning)
            if !reasoning.text.is_empty()
                || reasoning.signature.is_some()
                || reasoning.redacted.is_some() =>
        {
            let carried = opaque_reasoning::as_signature(
                reasoning.signature.as_deref(),
                reasoning.redacted.as_deref(),
            );
            Some(thought_part(&reasoning.text, carried.as_deref()))
        }
        Part::ToolCall(call) => Some(call_part(
            &call.id,
            &call.name,
            &call.arguments,
            &call.options,
        )),
        Part::Reasoning(_) | Part::File(_) | Part::ToolResult(_) => None,
    }
}

/// One `GenerateContentResponse` with a single candidate. `finish` adds the finish
/// reason and usage, which Gemini sends on the last chunk only.
pub(super) fn response_object(
    parts: Vec<Value>,
    finish: Option<&Finish>,
    model: &str,
    response_id: &str,
) -> Value {
    let mut candidate = json!({"content": {"role": "model", "parts": parts}, "index": 0});
    let mut response = Map::new();
    if let Some(finish) = finish {
        candidate["finishReason"] = Value::String(finish_reason(finish));
    }
    response.insert("candidates".into(), Value::Array(vec![candidate]));
    if let Some(finish) = finish {
        response.insert("usageMetadata".into(), usage_json(&finish.usage));
    }
    response.insert("modelVersion".into(), Value::String(model.to_owned()));
    response.insert("responseId".into(), Value::String(response_id.to_owned()));
    Value::Object(response)
}

/// The response id: the upstream's, else a fresh one in Gemini's shape (22 URL-safe
/// characters).
pub(super) fn response_id(upstream: Option<&str>) -> String {
    match upstream {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => fresh_id(),
    }
}

/// Unique within this process and unlikely to repeat across restarts; not a secret.
fn fresh_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut state = splitmix64(nanos ^ splitmix64(COUNTER.fetch_add(1, Ordering::Relaxed)));
    (0..22)
        .map(|_| {
            state = splitmix64(state);
            ALPHABET[(state >> 58) as usize] as char
        })
        .collect()
}

/// One round of SplitMix64: spreads nearby inputs over the whole range.
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A complete `GenerateContentResponse` for a collected response, its `modelVersion`
/// the client's `model`. The caller answers `collected.error` with an error body
/// instead. A response that never finished reports `STOP`, as a stream's end would.
pub fn response_json(collected: &Collected, model: &str) -> Vec<u8> {
    let parts: Vec<Value> = collected.parts.iter().filter_map(response_part).collect();
    let finish = collected.finish.clone().unwrap_or(Finish {
        reason: FinishReason::Stop,
        raw_reason: None,
        usage: Usage::default(),
        options: None,
    });
    let id = response_id(collected.metadata.id.as_deref());
    let body = response_object(parts, Some(&finish), model, &id);
    serde_json::to_vec(&body).expect("a JSON value always serialises")
}
