//! Classifying Copilot failures for routing (facts: `shared/providers/copilot-kiro.md`
//! §A10). Copilot's bodies are OpenAI-shaped, `{"error": {"message", "code"}}`, on
//! every route; what it says:
//!
//! | answer | class |
//! | --- | --- |
//! | 402, or code `quota_exceeded` (the premium allowance is spent) | quota exhausted: the account rests |
//! | 429 (`rate_limited`, a model's usage window) | rate limited, `Retry-After` as the hint |
//! | code `model_max_prompt_tokens_exceeded`, or "prompt token count of N exceeds the limit of M" | context too long |
//! | code `model_not_supported` or `model_not_supported_in_version` | model unavailable on this account |
//! | 401 (the Copilot token expired or was revoked) | auth expired: the host exchanges again and retries once |
//! | 466 (the version strings are too old) | bad request, saying where to change them |
//!
//! Anything else is read by the route's own translation (OpenAI's or Anthropic's).

use plugboard_sdk::json::error_message;
use plugboard_sdk::prelude::*;
use plugboard_sdk::retry::retry_after_ms;

use crate::routes::Route;

/// Copilot's "client too old" status.
pub const CLIENT_TOO_OLD: u16 = 466;

/// Classify a non-2xx answer to a request sent on `route`.
pub fn classify(route: Route, head: &ResponseHead, body: &[u8]) -> UpstreamError {
    let document: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = document
        .get("error")
        .filter(|error| error.is_object())
        .unwrap_or(&document);
    let code = |word: &str| {
        ["code", "type"]
            .iter()
            .any(|key| error.get(*key).and_then(Value::as_str) == Some(word))
    };
    let message = error_message(head.status, body);
    let lower = message.to_ascii_lowercase();
    let retry = retry_after_ms(&head.headers);
    let class = if head.status == CLIENT_TOO_OLD {
        return UpstreamError::new(
            ErrorClass::BadRequest,
            format!(
                "Copilot refused the client version (HTTP 466: {message}). The version strings \
                 Plugboard sends are too old: update EDITOR_VERSION, EDITOR_PLUGIN_VERSION or \
                 API_VERSION in adapters/copilot/src/headers.rs, or set newer ones on the \
                 provider entry with `config: {{extra-headers: {{editor-version: ..., \
                 editor-plugin-version: ..., x-github-api-version: ...}}}}`"
            ),
        );
    } else if head.status == 402 || code("quota_exceeded") {
        ErrorClass::QuotaExhausted(retry)
    } else if head.status == 429 {
        ErrorClass::RateLimited(retry)
    } else if code("model_max_prompt_tokens_exceeded")
        || (lower.contains("prompt token count") && lower.contains("exceeds the limit"))
    {
        ErrorClass::ContextTooLong
    } else if code("model_not_supported") || code("model_not_supported_in_version") {
        ErrorClass::ModelUnavailable
    } else if head.status == 401 {
        ErrorClass::AuthExpired
    } else {
        return match route {
            Route::Chat => adapter_openai::errors::classify(head, body),
            Route::Responses => adapter_openai_responses::errors::classify(head, body),
            Route::Messages => adapter_anthropic::errors::classify(head, body),
        };
    };
    UpstreamError::new(class, message)
}
