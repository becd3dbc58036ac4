//! Classifying Messages API failures for routing.
//!
//! Anthropic's error body is `{"type":"error","error":{"type":"...","message":"..."}}`;
//! the `error.type` (`rate_limit_error`, `overloaded_error`, `authentication_error`,
//! `invalid_request_error`...) backs up the status where the status alone is vague.

use plugboard_sdk::json::error_message;
use plugboard_sdk::prelude::*;
use plugboard_sdk::retry::retry_after_ms;

/// Classify a non-2xx response.
pub fn classify(head: &ResponseHead, body: &[u8]) -> UpstreamError {
    let message = error_message(head.status, body);
    let retry = retry_after_ms(&head.headers);
    let error_type = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|value| {
            value
                .pointer("/error/type")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default();
    let lower = message.to_ascii_lowercase();
    let class = if head.status == 402
        || lower.contains("credit balance is too low")
        || error_type == "billing_error"
    {
        ErrorClass::QuotaExhausted(retry)
    } else if head.status == 413
        || lower.contains("prompt is too long")
        || error_type == "request_too_large"
    {
        ErrorClass::ContextTooLong
    } else {
        match (head.status, error_type.as_str()) {
            (429, _) | (_, "rate_limit_error") => ErrorClass::RateLimited(retry),
            (401 | 403, _) | (_, "authentication_error" | "permission_error") => {
                ErrorClass::AuthExpired
            }
            (500 | 502 | 503 | 504 | 529, _) | (_, "overloaded_error" | "api_error") => {
                ErrorClass::Overloaded(retry)
            }
            (400 | 404 | 422, _) | (_, "invalid_request_error" | "not_found_error") => {
                ErrorClass::BadRequest
            }
            _ => ErrorClass::Other,
        }
    };
    UpstreamError::new(class, message)
}

/// Classify an `error` event inside a 2xx stream (`{"type":"error","error":{...}}`,
/// the same body a non-2xx answer carries) as that answer would be: by its
/// `error.type`, the only thing a frame says (`overloaded_error` is overloaded,
/// `rate_limit_error` rate-limited).
pub fn classify_frame(event: &Value) -> UpstreamError {
    classify(&ResponseHead::new(200, &[]), event.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(kind: &str, message: &str) -> Vec<u8> {
        json!({"type": "error", "error": {"type": kind, "message": message}})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn rate_limits_and_overload_carry_retry_hints() {
        let limited = classify(
            &ResponseHead::new(429, &[("retry-after", "12")]),
            &body(
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit",
            ),
        );
        assert_eq!(limited.class, ErrorClass::RateLimited(Some(12_000)));
        assert_eq!(
            limited.message,
            "Number of request tokens has exceeded your per-minute rate limit"
        );
        assert_eq!(
            classify(
                &ResponseHead::new(529, &[]),
                &body("overloaded_error", "Overloaded")
            )
            .class,
            ErrorClass::Overloaded(None)
        );
        assert_eq!(
            classify(&ResponseHead::new(500, &[]), &body("api_error", "Internal")).class,
            ErrorClass::Overloaded(None)
        );
        assert_eq!(
            classify(&ResponseHead::new(503, &[]), b"").class,
            ErrorClass::Overloaded(None)
        );
    }

    #[test]
    fn throttling_frames_in_a_stream_are_classed_like_the_same_answers() {
        let frame = |kind: &str| serde_json::from_slice::<Value>(&body(kind, "m")).unwrap();
        assert_eq!(
            classify_frame(&frame("overloaded_error")),
            UpstreamError::new(ErrorClass::Overloaded(None), "m")
        );
        assert_eq!(
            classify_frame(&frame("rate_limit_error")).class,
            ErrorClass::RateLimited(None)
        );
        assert_eq!(
            classify_frame(&frame("billing_error")).class,
            ErrorClass::QuotaExhausted(None)
        );
        assert_eq!(classify_frame(&frame("mystery")).class, ErrorClass::Other);
    }

    #[test]
    fn a_too_long_prompt_is_not_an_ordinary_bad_request() {
        let long = body(
            "invalid_request_error",
            "prompt is too long: 215000 tokens > 200000 maximum",
        );
        assert_eq!(
            classify(&ResponseHead::new(400, &[]), &long).class,
            ErrorClass::ContextTooLong
        );
        let bad = body(
            "invalid_request_error",
            "messages.1.content: Field required",
        );
        let classified = classify(&ResponseHead::new(400, &[]), &bad);
        assert_eq!(classified.class, ErrorClass::BadRequest);
        assert_eq!(classified.message, "messages.1.content: Field required");
    }

    #[test]
    fn auth_and_billing() {
        assert_eq!(
            classify(
                &ResponseHead::new(401, &[]),
                &body("authentication_error", "invalid x-api-key")
            )
            .class,
            ErrorClass::AuthExpired
        );
        assert_eq!(
            classify(
                &ResponseHead::new(403, &[]),
                &body("permission_error", "no")
            )
            .class,
            ErrorClass::AuthExpired
        );
        let broke = body(
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API.",
        );
        assert_eq!(
            classify(&ResponseHead::new(400, &[]), &broke).class,
            ErrorClass::QuotaExhausted(None)
        );
    }
}
