//! Classifying Chat Completions failures for routing.

use plugboard_sdk::classify::{classify_openai_shaped, openai_error_status};
use plugboard_sdk::prelude::*;

/// Classify a non-2xx response. Beyond the status: OpenAI sends quota exhaustion as
/// 429 `insufficient_quota` (waiting does not help, so it is not rate-limiting), and an
/// over-long prompt as 400 `context_length_exceeded` (or, from some deployments, "too
/// many tokens"); the SDK reads OpenAI's error shape, this names the wording.
pub fn classify(head: &ResponseHead, body: &[u8]) -> UpstreamError {
    classify_openai_shaped(head, body, &["too many tokens"])
}

/// Classify the `error` object of an error chunk inside a 2xx stream exactly as the
/// same body in a non-2xx answer, with the status its code stands for
/// ([`openai_error_status`]).
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
    fn rate_limits_carry_the_retry_hint_from_either_header() {
        let body = br#"{"error":{"message":"Rate limit reached for gpt-4o","type":"requests","code":"rate_limit_exceeded"}}"#;
        let classified = classify(&ResponseHead::new(429, &[("retry-after-ms", "1500")]), body);
        assert_eq!(classified.class, ErrorClass::RateLimited(Some(1500)));
        assert_eq!(classified.message, "Rate limit reached for gpt-4o");
        assert_eq!(
            classify(&ResponseHead::new(429, &[("retry-after", "3")]), body).class,
            ErrorClass::RateLimited(Some(3000))
        );
    }

    #[test]
    fn insufficient_quota_is_quota_exhausted_even_as_429() {
        let body = br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
        assert_eq!(
            classify(&ResponseHead::new(429, &[]), body).class,
            ErrorClass::QuotaExhausted(None)
        );
        assert_eq!(
            classify(&ResponseHead::new(402, &[]), b"{}").class,
            ErrorClass::QuotaExhausted(None)
        );
    }

    #[test]
    fn context_length_is_told_apart_from_other_bad_requests() {
        let long = br#"{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}"#;
        assert_eq!(
            classify(&ResponseHead::new(400, &[]), long).class,
            ErrorClass::ContextTooLong
        );
        let bad =
            br#"{"error":{"message":"Invalid value for 'role'","type":"invalid_request_error"}}"#;
        assert_eq!(
            classify(&ResponseHead::new(400, &[]), bad).class,
            ErrorClass::BadRequest
        );
        assert_eq!(
            classify(&ResponseHead::new(404, &[]), b"{}").class,
            ErrorClass::BadRequest
        );
    }

    #[test]
    fn a_throttling_frame_in_a_stream_is_classed_like_the_same_429() {
        let limited = json!({"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"});
        assert_eq!(
            classify_frame(&limited),
            UpstreamError::new(ErrorClass::RateLimited(None), "Rate limit reached")
        );
        let quota = json!({"message": "quota", "code": "insufficient_quota"});
        assert_eq!(
            classify_frame(&quota).class,
            ErrorClass::QuotaExhausted(None)
        );
        assert_eq!(
            classify_frame(&json!({"message": "busy", "code": 502})).class,
            ErrorClass::Overloaded(None)
        );
        assert_eq!(
            classify_frame(&json!({"message": "?"})).class,
            ErrorClass::Other
        );
    }

    #[test]
    fn auth_and_server_failures() {
        assert_eq!(
            classify(
                &ResponseHead::new(401, &[]),
                br#"{"error":{"message":"Incorrect API key"}}"#
            )
            .class,
            ErrorClass::AuthExpired
        );
        assert_eq!(
            classify(&ResponseHead::new(403, &[]), b"").class,
            ErrorClass::AuthExpired
        );
        for status in [500, 502, 503, 504, 529] {
            assert_eq!(
                classify(&ResponseHead::new(status, &[]), b"").class,
                ErrorClass::Overloaded(None),
                "{status}"
            );
        }
        assert_eq!(
            classify(&ResponseHead::new(409, &[]), b"").class,
            ErrorClass::Other
        );
    }
}
