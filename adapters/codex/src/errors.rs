//! Classifying Codex backend failures for routing, both non-2xx answers and the error
//! frames it sends inside a 200 stream (facts: §1.9 of
//! `shared/providers/mainline-subscriptions.md`).
//!
//! The body is OpenAI-shaped, `{"error": {"type" | "code", "message", ...}}`, with the
//! backend's own codes:
//! - `usage_limit_reached` (whatever the status): the plan's window is used up; the
//!   account rests until `resets_at` (Unix seconds) when that is in the future, else
//!   for `resets_in_seconds`;
//! - `rate_limit_exceeded` / `rate_limit_error`: rate-limited (waited out briefly);
//! - `server_is_overloaded`, `service_unavailable_error`, "model is at capacity":
//!   overloaded, another account may serve;
//! - `context_length_exceeded` (or "context window" wording): too long, no retry;
//! - `invalid_api_key`, `authentication_error`, status 401: the token is expired (the
//!   host refreshes and retries once);
//! - a 404 (or `model_not_found`) naming the model: this account cannot serve it.
//!
//! Anything else is read as the Responses adapter reads OpenAI's errors.

use std::time::{SystemTime, UNIX_EPOCH};

use plugboard_sdk::json::error_message;
use plugboard_sdk::prelude::*;

/// Classify a non-2xx answer.
pub fn classify(head: &ResponseHead, body: &[u8]) -> UpstreamError {
    classify_at(head, body, now_s())
}

/// [`classify`] at Unix time `now_s` (tests pin the clock).
pub fn classify_at(head: &ResponseHead, body: &[u8], now_s: u64) -> UpstreamError {
    let document: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = document
        .get("error")
        .filter(|error| error.is_object())
        .unwrap_or(&document);
    let message = error_message(head.status, body);
    let said = |word: &str| says(error, word);
    let lower = message.to_ascii_lowercase();
    let class = if said("usage_limit_reached") {
        ErrorClass::QuotaExhausted(reset_ms(error, now_s))
    } else if said("server_is_overloaded")
        || said("service_unavailable_error")
        || lower.contains("model is at capacity")
    {
        let retry = plugboard_sdk::retry::retry_after_ms(&head.headers);
        ErrorClass::Overloaded(retry)
    } else if said("rate_limit_exceeded") || said("rate_limit_error") {
        let retry = plugboard_sdk::retry::retry_after_ms(&head.headers).or(reset_ms(error, now_s));
        ErrorClass::RateLimited(retry)
    } else if said("context_length_exceeded") || lower.contains("context window") {
        ErrorClass::ContextTooLong
    } else if head.status == 401 || said("invalid_api_key") || said("authentication_error") {
        ErrorClass::AuthExpired
    } else if said("model_not_found") || (head.status == 404 && lower.contains("model")) {
        ErrorClass::ModelUnavailable
    } else {
        return adapter_openai_responses::errors::classify(head, body);
    };
    UpstreamError::new(class, message)
}

/// Classify an error frame inside a 200 stream: an `error` event (its fields at the
/// top, or under `error`) or the `error` object of a `response.failed`. The frame is
/// classified as the same body in an answer with the status it stands for.
pub fn classify_frame(frame: &Value) -> UpstreamError {
    let error = frame
        .get("error")
        .filter(|error| error.is_object())
        .unwrap_or(frame);
    let mut error = error.clone();
    if let Some(object) = error.as_object_mut()
        && object.get("type").and_then(Value::as_str) == Some("error")
    {
        // The event's own `type`, not an error type.
        object.remove("type");
    }
    let body = json!({"error": error}).to_string();
    classify(
        &ResponseHead::new(frame_status(&error), &[]),
        body.as_bytes(),
    )
}

/// The status an in-stream error stands for: its own `status_code`/`status` when
/// numeric, else the one its type or code comes with; an unnamed failure counts as a
/// bad gateway (another account may do better), as Codex's peers read it.
fn frame_status(error: &Value) -> u16 {
    let numeric = ["status_code", "status"]
        .iter()
        .find_map(|key| error.get(*key).and_then(Value::as_u64))
        .filter(|status| (400..=599).contains(status));
    if let Some(status) = numeric {
        return status as u16;
    }
    let said = |words: &[&str]| words.iter().any(|word| says(error, word));
    if said(&[
        "usage_limit_reached",
        "rate_limit_error",
        "rate_limit_exceeded",
    ]) {
        429
    } else if said(&["authentication_error", "invalid_api_key", "unauthorized"]) {
        401
    } else if said(&["permission_error", "forbidden"]) {
        403
    } else if said(&["not_found_error", "model_not_found"]) {
        404
    } else if said(&[
        "context_length_exceeded",
        "invalid_request_error",
        "bad_request_error",
        "cyber_policy",
    ]) {
        400
    } else if said(&["server_is_overloaded", "service_unavailable_error"]) {
        503
    } else {
        502
    }
}

/// Whether the error's `type` or `code` is `word`.
fn says(error: &Value, word: &str) -> bool {
    ["type", "code"]
        .iter()
        .any(|key| error.get(*key).and_then(Value::as_str) == Some(word))
}

/// How long until the usage window resets, in ms: `resets_at` (Unix seconds) when in
/// the future, else `resets_in_seconds`.
fn reset_ms(error: &Value, now_s: u64) -> Option<u64> {
    let number = |key: &str| {
        error.get(key).and_then(|value| {
            value
                .as_u64()
                .or_else(|| value.as_f64().filter(|v| *v >= 0.0).map(|v| v as u64))
                .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
        })
    };
    number("resets_at")
        .filter(|at| *at > now_s)
        .map(|at| (at - now_s) * 1000)
        .or_else(|| number("resets_in_seconds").map(|seconds| seconds * 1000))
}

/// The wall clock in Unix seconds (guests have one through WASI).
fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}
