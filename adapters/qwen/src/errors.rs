//! Classifying Qwen failures for routing. Qwen speaks OpenAI's error shape
//! (`{"error":{"code","type","message"}}`), so `adapter-openai` classifies it, except
//! for a spent quota: a 403 or 429 whose `error.code` or `error.type` is
//! `insufficient_quota` or `quota_exceeded`, or whose message says the free allocated
//! quota is exceeded (a Qwen Code account's daily allowance), is quota exhausted and
//! rests the account (for `Retry-After` when given, else the host's quota cooldown).
//! Any other 429 is rate limited.

use adapter_openai::errors as openai;
use plugboard_sdk::json::error_message;
use plugboard_sdk::prelude::*;
use plugboard_sdk::retry::retry_after_ms;

/// `error.code` / `error.type` values that mean the account's quota is spent.
pub const QUOTA_CODES: [&str; 2] = ["insufficient_quota", "quota_exceeded"];
/// Wording of a spent free-tier (daily) quota, lower case.
pub const FREE_QUOTA_WORDING: &str = "free allocated quota exceeded";

/// Classify a non-2xx response.
pub fn classify(head: &ResponseHead, body: &[u8]) -> UpstreamError {
    if matches!(head.status, 403 | 429) && quota_spent(body) {
        return UpstreamError::new(
            ErrorClass::QuotaExhausted(retry_after_ms(&head.headers)),
            error_message(head.status, body),
        );
    }
    openai::classify(head, body)
}

/// Whether an error body says the account's quota is spent.
fn quota_spent(body: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    let error = value.get("error").unwrap_or(&value);
    let says = |key: &str| {
        error
            .get(key)
            .and_then(Value::as_str)
            .is_some_and(|v| QUOTA_CODES.contains(&v))
    };
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    says("code") || says("type") || message.contains(FREE_QUOTA_WORDING)
}
