//! Classifying Responses API failures for routing (OpenAI's error body and codes, as
//! for Chat Completions).

use plugboard_sdk::classify::{classify_openai_shaped, openai_error_status};
use plugboard_sdk::prelude::*;

/// Classify a non-2xx response. Beyond the status: quota exhaustion arrives as 429
/// `insufficient_quota` (waiting does not help, so it is not rate-limiting), and an
/// over-long prompt as 400 `context_length_exceeded` (or a message saying it "exceeds
/// the context window"); the SDK reads OpenAI's error shape, this names the wording.
pub fn classify(head: &ResponseHead, body: &[u8]) -> UpstreamError {
    classify_openai_shaped(head, body, &["exceeds the context window"])
}

/// Classify an error inside a 2xx stream (an `error` event, or the `error` of a failed
/// response) exactly as the same body in a non-2xx answer, with the status its code
/// stands for ([`openai_error_status`]).
pub fn classify_frame(error: &Value) -> UpstreamError {
    let body = json!({"error": error}).to_string();
    classify(
        &ResponseHead::new(openai_error_status(error), &[]),
        body.as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_carry_the_retry_hint_and_quota_is_told_apart() {
        let limited = br#"{"error":{"message":"Rate limit reached for o4-mini","type":"requests","code":"rate_limit_exceeded"}}"#;
        let classified = classify(
            &ResponseHead::new(429, &[("retry-after-ms", "1500")]),
            limited,
        );
        assert_eq!(classified.class, ErrorClass::RateLimited(Some(1500)));
        assert_eq!(classified.message, "Rate limit reached for o4-mini");
        let quota = br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
        assert_eq!(
            classify(&ResponseHead::new(429, &[]), quota).class,
            ErrorClass::QuotaExhausted(None)
        );
    }

    #[test]
    fn error_events_in_a_stream_are_classed_like_the_same_answers() {
        let limited =
            json!({"type": "error", "code": "rate_limit_exceeded", "message": "Slow down"});
        assert_eq!(
            classify_frame(&limited),
            UpstreamError::new(ErrorClass::RateLimited(None), "Slow down")
        );
        let failed = json!({"code": "server_error", "message": "boom"});
        assert_eq!(classify_frame(&failed).class, ErrorClass::Overloaded(None));
    }

    #[test]
    fn context_length_auth_and_server_failures() {
        let long = br#"{"error":{"message":"Your input exceeds the context window of this model.","type":"invalid_request_error","code":"context_length_exceeded"}}"#;
        assert_eq!(
            classify(&ResponseHead::new(400, &[]), long).class,
            ErrorClass::ContextTooLong
        );
        let bad = br#"{"error":{"message":"Unknown parameter: 'input[0].foo'.","type":"invalid_request_error"}}"#;
        assert_eq!(
            classify(&ResponseHead::new(400, &[]), bad).class,
            ErrorClass::BadRequest
        );
        assert_eq!(
            classify(&ResponseHead::new(401, &[]), b"{}").class,
            ErrorClass::AuthExpired
        );
        assert_eq!(
            classify(&ResponseHead::new(503, &[("retry-after", "2")]), b"").class,
            ErrorClass::Overloaded(Some(2000))
        );
        assert_eq!(
            classify(&ResponseHead::new(409, &[]), b"").class,
            ErrorClass::Other
        );
    }
}
