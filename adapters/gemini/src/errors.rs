//! Classifying Gemini API failures for routing.
//!
//! Gemini error bodies are `{"error": {"code", "message", "status", "details": [...]}}`
//! (sometimes wrapped in a one-element array); `details` holds typed Google RPC
//! messages: `RetryInfo` (`retryDelay: "12s"`), `QuotaFailure` (`violations[].quotaId`)
//! and `ErrorInfo` (`reason: "API_KEY_INVALID"`).

use plugboard_sdk::json::error_message;
use plugboard_sdk::prelude::*;
use plugboard_sdk::retry::retry_after_ms;

/// Classify a non-2xx response.
///
/// A 429 is rate-limiting unless waiting minutes will not help: a per-day quota
/// (`quotaId` containing `PerDay`), or a message about quota or billing with no retry
/// delay. (Gemini's per-minute 429s also say "exceeded your current quota", but they
/// carry a `RetryInfo` delay of seconds, so the delay tells the two apart.)
pub fn classify(head: &ResponseHead, body: &[u8]) -> UpstreamError {
    let message = error_message(head.status, body);
    let error = serde_json::from_slice::<Value>(body)
        .ok()
        .map(|value| match value {
            Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
            other => other,
        })
        .and_then(|value| value.get("error").cloned())
        .unwrap_or(Value::Null);
    let details = error
        .get("details")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let retry_delay = details
        .iter()
        .filter_map(|detail| detail.get("retryDelay").and_then(Value::as_str))
        .find_map(parse_duration_ms);
    let retry = retry_delay.or_else(|| retry_after_ms(&head.headers));
    let status = error.get("status").and_then(Value::as_str).unwrap_or("");
    let lower = message.to_lowercase();
    let reason_is = |wanted: &str| {
        details
            .iter()
            .any(|detail| detail.get("reason").and_then(Value::as_str) == Some(wanted))
    };
    let per_day = details.iter().any(|detail| {
        detail
            .get("violations")
            .and_then(Value::as_array)
            .is_some_and(|violations| {
                violations.iter().any(|violation| {
                    violation
                        .get("quotaId")
                        .and_then(Value::as_str)
                        .is_some_and(|id| id.contains("PerDay"))
                })
            })
    });

    let class = if reason_is("API_KEY_INVALID")
        || lower.contains("api key not valid")
        || lower.contains("api key expired")
        || matches!(head.status, 401 | 403)
    {
        ErrorClass::AuthExpired
    } else if head.status == 429 || status == "RESOURCE_EXHAUSTED" {
        let says_quota = lower.contains("quota") || lower.contains("billing");
        if per_day || (says_quota && retry_delay.is_none()) {
            ErrorClass::QuotaExhausted(retry)
        } else {
            ErrorClass::RateLimited(retry)
        }
    } else if head.status == 413
        || (head.status == 400
            && (lower.contains("input token count")
                || lower.contains("exceeds the maximum number of tokens")
                || lower.contains("token limit")
                || lower.contains("too many tokens")))
    {
        ErrorClass::ContextTooLong
    } else {
        match head.status {
            400 | 404 | 422 => ErrorClass::BadRequest,
            500 | 502 | 503 | 504 => ErrorClass::Overloaded(retry),
            _ => ErrorClass::Other,
        }
    };
    UpstreamError::new(class, message)
}

/// Classify the `error` object of a chunk inside a 2xx stream as the same body in a
/// non-2xx answer: it carries the HTTP status it stands for in `code` (429 with
/// `RESOURCE_EXHAUSTED` is rate-limited or quota-exhausted exactly as above).
pub fn classify_frame(error: &Value) -> UpstreamError {
    let status = error
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|code| u16::try_from(code).ok())
        .unwrap_or(0);
    let body = json!({"error": error}).to_string();
    classify(&ResponseHead::new(status, &[]), body.as_bytes())
}

/// A protobuf JSON duration (`"12s"`, `"0.5s"`, `"1.250s"`) in milliseconds.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    let seconds: f64 = text.trim().strip_suffix('s')?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| (seconds * 1000.0).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PER_MINUTE: &[u8] = br#"{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.","status":"RESOURCE_EXHAUSTED","details":[
        {"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
        {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"12s"}]}}"#;

    #[test]
    fn a_resource_exhausted_frame_in_a_stream_is_classed_like_the_same_429() {
        let body: Value = serde_json::from_slice(PER_MINUTE).unwrap();
        assert_eq!(
            classify_frame(&body["error"]),
            classify(&ResponseHead::new(429, &[]), PER_MINUTE)
        );
        assert_eq!(
            classify_frame(&body["error"]).class,
            ErrorClass::RateLimited(Some(12_000))
        );
        let daily = json!({"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota",
            "details": [{"violations": [{"quotaId": "GenerateRequestsPerDayPerProject"}]}]});
        assert_eq!(
            classify_frame(&daily).class,
            ErrorClass::QuotaExhausted(None)
        );
        assert_eq!(
            classify_frame(&json!({"code": 503, "message": "busy", "status": "UNAVAILABLE"})).class,
            ErrorClass::Overloaded(None)
        );
    }

    #[test]
    fn a_per_minute_429_is_rate_limited_with_the_retry_delay_from_the_body() {
        let classified = classify(
            &ResponseHead::new(429, &[("retry-after", "99")]),
            PER_MINUTE,
        );
        assert_eq!(classified.class, ErrorClass::RateLimited(Some(12_000)));
        assert!(
            classified
                .message
                .starts_with("You exceeded your current quota")
        );
    }

    #[test]
    fn a_per_day_quota_or_a_billing_message_without_delay_is_quota_exhausted() {
        let per_day = String::from_utf8_lossy(PER_MINUTE).replace("PerMinute", "PerDay");
        assert_eq!(
            classify(&ResponseHead::new(429, &[]), per_day.as_bytes()).class,
            ErrorClass::QuotaExhausted(Some(12_000))
        );
        let billing = br#"{"error":{"code":429,"message":"Quota exceeded; check billing.","status":"RESOURCE_EXHAUSTED"}}"#;
        assert_eq!(
            classify(&ResponseHead::new(429, &[]), billing).class,
            ErrorClass::QuotaExhausted(None)
        );
        let plain = br#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check rate limits).","status":"RESOURCE_EXHAUSTED"}}"#;
        assert_eq!(
            classify(&ResponseHead::new(429, &[("retry-after", "2")]), plain).class,
            ErrorClass::RateLimited(Some(2_000))
        );
    }

    #[test]
    fn an_invalid_api_key_is_auth_expired_although_gemini_says_400() {
        let body = br#"[{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}]"#;
        let classified = classify(&ResponseHead::new(400, &[]), body);
        assert_eq!(classified.class, ErrorClass::AuthExpired);
        assert_eq!(
            classified.message,
            "API key not valid. Please pass a valid API key."
        );
        assert_eq!(
            classify(&ResponseHead::new(403, &[]), br#"{"error":{"code":403,"message":"Permission denied","status":"PERMISSION_DENIED"}}"#).class,
            ErrorClass::AuthExpired
        );
    }

    #[test]
    fn token_limits_are_context_too_long_and_other_400s_bad_requests() {
        let long = br#"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#;
        assert_eq!(
            classify(&ResponseHead::new(400, &[]), long).class,
            ErrorClass::ContextTooLong
        );
        let bad = br#"{"error":{"code":400,"message":"* GenerateContentRequest.contents: contents is not specified","status":"INVALID_ARGUMENT"}}"#;
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
    fn server_failures_are_overloaded() {
        for status in [500, 503, 504] {
            assert_eq!(
                classify(&ResponseHead::new(status, &[]), br#"{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}"#).class,
                ErrorClass::Overloaded(None),
                "{status}"
            );
        }
        assert_eq!(
            classify(&ResponseHead::new(409, &[]), b"").class,
            ErrorClass::Other
        );
    }

    #[test]
    fn durations_parse_as_protobuf_json_writes_them() {
        assert_eq!(parse_duration_ms("12s"), Some(12_000));
        assert_eq!(parse_duration_ms("0.5s"), Some(500));
        assert_eq!(parse_duration_ms("12"), None);
    }
}
