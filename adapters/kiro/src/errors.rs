//! Kiro's failures, read the same way whether they come as an HTTP answer
//! (`{"message":…,"reason":…,"__type":…}`) or as an exception frame inside the 200
//! event stream (`:exception-type` header, `{"message":…}` payload).
//!
//! The `reason` enum decides first, then the wording, then the status:
//!
//! | what Kiro says | class |
//! |---|---|
//! | `TEMPORARILY_SUSPENDED`, "… temporarily is suspended …" | `account-disabled`, the message kept |
//! | `CONTENT_LENGTH_EXCEEDS_THRESHOLD`, `PROMPT_TOO_LONG`, "Input is too long" | `context-too-long` |
//! | `MONTHLY_REQUEST_COUNT`, `OVERAGE_REQUEST_LIMIT_EXCEEDED`, `DAILY_REQUEST_COUNT`, `CONVERSATION_LIMIT_EXCEEDED`, any 402 | `quota-exhausted` |
//! | `INSUFFICIENT_MODEL_CAPACITY`, `MODEL_TEMPORARILY_UNAVAILABLE`, "unexpectedly high load", 5xx | `overloaded` |
//! | `INVALID_MODEL_ID`, `FEATURE_NOT_SUPPORTED` | `model-unavailable` |
//! | 401/403 (the bearer token is invalid), "profileArn is required" | `auth-expired` (refresh, retry once) |
//! | other 429 / `ThrottlingException` | `rate-limited` |
//! | "Improperly formed request" and other 400s | `bad-request` |

use plugboard_sdk::prelude::*;
use plugboard_sdk::retry::retry_after_ms;

/// Classify a non-2xx answer.
pub fn classify(head: &ResponseHead, body: &[u8]) -> UpstreamError {
    let retry = retry_after_ms(&head.headers);
    let value: Option<Value> = serde_json::from_slice(body).ok();
    let fields = Fields::read(value.as_ref(), body, head.status);
    classify_fields(head.status, &fields, retry)
}

/// Classify an exception (or error) frame of the 200 stream: its `:exception-type`
/// (or `:error-code`) and its payload.
pub fn classify_exception(kind: &str, payload: &[u8]) -> UpstreamError {
    let value: Option<Value> = serde_json::from_slice(payload).ok();
    let mut fields = Fields::read(value.as_ref(), payload, 200);
    if fields.kind.is_empty() {
        fields.kind = kind.to_string();
    }
    let status = match kind.to_ascii_lowercase().as_str() {
        "throttlingexception" => 429,
        "validationexception" => 400,
        "accessdeniedexception" => 403,
        "servicequotaexceededexception" => 402,
        "serviceunavailableexception" => 503,
        "internalserverexception" | "internalservererror" => 500,
        _ => 500,
    };
    classify_fields(status, &fields, None)
}

/// What an error body says: its reason enum, message and exception name.
struct Fields {
    reason: String,
    message: String,
    kind: String,
}

impl Fields {
    fn read(value: Option<&Value>, raw: &[u8], status: u16) -> Fields {
        let text = |pointer: &str| {
            value
                .and_then(|v| v.pointer(pointer))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let reason = [text("/reason"), text("/error/reason")]
            .into_iter()
            .find(|r| !r.is_empty())
            .unwrap_or_default();
        let message = match value {
            Some(_) => {
                let found = [text("/message"), text("/Message"), text("/error/message")]
                    .into_iter()
                    .find(|m| !m.is_empty());
                found.unwrap_or_else(|| plugboard_sdk::json::error_message(status, raw))
            }
            None => plugboard_sdk::json::error_message(status, raw),
        };
        let kind = text("/__type")
            .rsplit('#')
            .next()
            .unwrap_or_default()
            .to_string();
        Fields {
            reason,
            message,
            kind,
        }
    }
}

fn classify_fields(status: u16, fields: &Fields, retry: Option<u64>) -> UpstreamError {
    let reason = fields.reason.as_str();
    let lower = fields.message.to_ascii_lowercase();
    let message = if reason.is_empty() {
        fields.message.clone()
    } else {
        format!("{} ({reason})", fields.message)
    };
    let class = if reason == "TEMPORARILY_SUSPENDED"
        || (lower.contains("suspended") && (status == 403 || lower.contains("user id")))
    {
        ErrorClass::AccountDisabled
    } else if matches!(
        reason,
        "CONTENT_LENGTH_EXCEEDS_THRESHOLD" | "PROMPT_TOO_LONG"
    ) || lower.contains("input is too long")
        || lower.contains("content length exceeds threshold")
    {
        ErrorClass::ContextTooLong
    } else if matches!(
        reason,
        "MONTHLY_REQUEST_COUNT"
            | "OVERAGE_REQUEST_LIMIT_EXCEEDED"
            | "DAILY_REQUEST_COUNT"
            | "CONVERSATION_LIMIT_EXCEEDED"
    ) || status == 402
    {
        ErrorClass::QuotaExhausted(retry)
    } else if matches!(
        reason,
        "INSUFFICIENT_MODEL_CAPACITY" | "MODEL_TEMPORARILY_UNAVAILABLE"
    ) || lower.contains("unexpectedly high load")
        || lower.contains("high traffic")
    {
        ErrorClass::Overloaded(retry)
    } else if matches!(reason, "INVALID_MODEL_ID" | "FEATURE_NOT_SUPPORTED") {
        ErrorClass::ModelUnavailable
    } else if lower.contains("profilearn is required") || lower.contains("at 'profilearn'") {
        ErrorClass::AuthExpired
    } else {
        match status {
            401 | 403 => ErrorClass::AuthExpired,
            429 => ErrorClass::RateLimited(retry),
            400 | 404 | 413 | 422 => ErrorClass::BadRequest,
            500..=599 => ErrorClass::Overloaded(retry),
            _ => plugboard_sdk::classify::class_for_status(status, retry),
        }
    };
    let message = if class == ErrorClass::AccountDisabled {
        format!("Kiro suspended this account: {message}")
    } else {
        message
    };
    UpstreamError::new(class, message)
}
