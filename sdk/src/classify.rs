//! Reading upstream failures into routing classes, beyond the plain status reading of
//! [`classify_by_status`](crate::classify_by_status).
//!
//! Many upstreams speak OpenAI's error shape (`{"error":{"message","type","code"}}`)
//! with OpenAI's quirks; [`classify_openai_shaped`] reads those once, so each
//! OpenAI-compatible adapter only names the context-length wording its upstream uses.

use crate::json::error_message;
use crate::retry::retry_after_ms;
use crate::types::*;

/// The usual routing class of an HTTP status: 429 rate-limited, 401/403 auth-expired,
/// 402 quota-exhausted, 413 context-too-long, 400/404/422 bad-request,
/// 500/502/503/504/529 overloaded, anything else other. `retry` rides on the classes
/// that can be waited out.
pub fn class_for_status(status: u16, retry: Option<u64>) -> ErrorClass {
    match status {
        429 => ErrorClass::RateLimited(retry),
        401 | 403 => ErrorClass::AuthExpired,
        402 => ErrorClass::QuotaExhausted(retry),
        413 => ErrorClass::ContextTooLong,
        400 | 404 | 422 => ErrorClass::BadRequest,
        500 | 502 | 503 | 504 | 529 => ErrorClass::Overloaded(retry),
        _ => ErrorClass::Other,
    }
}

/// Classify an OpenAI-shaped failure. Beyond [`class_for_status`]: quota exhaustion
/// arrives as 429 `insufficient_quota` (waiting does not help, so it is not
/// rate-limiting), and an over-long prompt as a 400/422 whose body says
/// `context_length_exceeded`, `maximum context length`, or any of
/// `more_context_phrases` (each upstream words it a little differently).
pub fn classify_openai_shaped(
    head: &ResponseHead,
    body: &[u8],
    more_context_phrases: &[&str],
) -> UpstreamError {
    let message = error_message(head.status, body);
    let retry = retry_after_ms(&head.headers);
    let text = String::from_utf8_lossy(body);
    let says = |needle: &str| text.contains(needle);
    let says_too_long = ["context_length_exceeded", "maximum context length"]
        .iter()
        .chain(more_context_phrases)
        .any(|phrase| says(phrase));
    let class = if says("insufficient_quota") || head.status == 402 {
        ErrorClass::QuotaExhausted(retry)
    } else if head.status == 413 || (matches!(head.status, 400 | 422) && says_too_long) {
        ErrorClass::ContextTooLong
    } else {
        class_for_status(head.status, retry)
    };
    UpstreamError::new(class, message)
}

/// The HTTP status an OpenAI-shaped `error` object stands for when it arrives inside a
/// 2xx stream (where no status says it): its numeric `code` when that is one, else the
/// status its `code` or `type` comes with (`rate_limit_exceeded` and
/// `insufficient_quota` 429, `context_length_exceeded` and `invalid_request_error`
/// 400, `server_error` 500), else 0 (no status: `other`). Classify the frame by
/// passing this status and `{"error": error}` to the adapter's own non-2xx classifier,
/// so a frame and an answer of the same shape get the same class.
pub fn openai_error_status(error: &serde_json::Value) -> u16 {
    let named = |key: &str| {
        error
            .get(key)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
    };
    let says = |word: &str| named("code") == word || named("type") == word;
    match error.get("code").and_then(serde_json::Value::as_u64) {
        Some(code @ 400..=599) => code as u16,
        _ if says("rate_limit_exceeded") || says("insufficient_quota") => 429,
        _ if says("context_length_exceeded") || says("invalid_request_error") => 400,
        _ if says("server_error") => 500,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insufficient_quota_is_quota_exhausted_even_as_429_while_other_429s_wait() {
        let quota = br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
        assert_eq!(
            classify_openai_shaped(&ResponseHead::new(429, &[("retry-after", "3")]), quota, &[])
                .class,
            ErrorClass::QuotaExhausted(Some(3000))
        );
        let limited = br#"{"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}}"#;
        let classified = classify_openai_shaped(
            &ResponseHead::new(429, &[("retry-after-ms", "1500")]),
            limited,
            &[],
        );
        assert_eq!(classified.class, ErrorClass::RateLimited(Some(1500)));
        assert_eq!(classified.message, "Rate limit reached");
    }

    #[test]
    fn an_upstreams_own_context_wording_counts_only_when_named_and_only_on_a_bad_request() {
        let worded =
            br#"{"error":{"message":"Your input exceeds the context window of this model."}}"#;
        assert_eq!(
            classify_openai_shaped(&ResponseHead::new(400, &[]), worded, &[]).class,
            ErrorClass::BadRequest
        );
        assert_eq!(
            classify_openai_shaped(
                &ResponseHead::new(400, &[]),
                worded,
                &["exceeds the context window"]
            )
            .class,
            ErrorClass::ContextTooLong
        );
        assert_eq!(
            classify_openai_shaped(
                &ResponseHead::new(500, &[]),
                worded,
                &["exceeds the context window"]
            )
            .class,
            ErrorClass::Overloaded(None)
        );
        let coded = br#"{"error":{"code":"context_length_exceeded"}}"#;
        assert_eq!(
            classify_openai_shaped(&ResponseHead::new(422, &[]), coded, &[]).class,
            ErrorClass::ContextTooLong
        );
    }

    #[test]
    fn an_error_frame_stands_for_the_status_its_code_names() {
        use serde_json::json;
        assert_eq!(openai_error_status(&json!({"code": 503})), 503);
        assert_eq!(
            openai_error_status(&json!({"code": "rate_limit_exceeded"})),
            429
        );
        assert_eq!(
            openai_error_status(&json!({"type": "insufficient_quota"})),
            429
        );
        assert_eq!(
            openai_error_status(&json!({"code": "context_length_exceeded"})),
            400
        );
        assert_eq!(openai_error_status(&json!({"code": "server_error"})), 500);
        assert_eq!(openai_error_status(&json!({"message": "?"})), 0);
    }

    #[test]
    fn statuses_alone_fall_back_to_the_usual_classes() {
        assert_eq!(class_for_status(403, None), ErrorClass::AuthExpired);
        assert_eq!(class_for_status(413, None), ErrorClass::ContextTooLong);
        assert_eq!(
            class_for_status(503, Some(5)),
            ErrorClass::Overloaded(Some(5))
        );
        assert_eq!(class_for_status(409, None), ErrorClass::Other);
    }
}
