//! Classifying Code Assist failures for routing (shared with `antigravity`).
//!
//! The bodies are Google's (`{"error": {"code", "message", "status", "details"}}`),
//! so `adapter-gemini`'s classifier reads them, with what Code Assist adds on a 429
//! `RESOURCE_EXHAUSTED`:
//! - the delay comes from `RetryInfo.retryDelay` (`"0.847655010s"`), else from
//!   `ErrorInfo.metadata.quotaResetDelay` (a Go duration, `"373.801628ms"`, `"1h2m3s"`);
//! - `ErrorInfo.reason` `QUOTA_EXHAUSTED` (or a message saying "quota exhausted") is the
//!   account's quota spent: quota-exhausted, resting the account for the delay;
//! - `RATE_LIMIT_EXCEEDED` is rate-limited, unless the delay is 5 minutes or more (then
//!   waiting in place will not help: quota-exhausted).
//!
//! 401 is auth-expired (the host refreshes and retries), 503 "no capacity available"
//! is overloaded, both as `adapter-gemini` classifies them.

use adapter_gemini::errors as gemini;
use plugboard_sdk::json::error_message;
use plugboard_sdk::prelude::*;

/// `ErrorInfo.reason` of a spent quota.
pub const QUOTA_EXHAUSTED: &str = "QUOTA_EXHAUSTED";
/// `ErrorInfo.reason` of a short-term rate limit.
pub const RATE_LIMIT_EXCEEDED: &str = "RATE_LIMIT_EXCEEDED";
/// A rate limit whose delay is at least this long is treated as a spent quota.
pub const LONG_DELAY_MS: u64 = 5 * 60 * 1000;

/// Classify a non-2xx response.
pub fn classify(head: &ResponseHead, body: &[u8]) -> UpstreamError {
    let base = gemini::classify(head, body);
    if !matches!(
        base.class,
        ErrorClass::RateLimited(_) | ErrorClass::QuotaExhausted(_)
    ) {
        return base;
    }
    let error = serde_json::from_slice::<Value>(body)
        .ok()
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
        .find_map(gemini::parse_duration_ms);
    let reset_delay = details
        .iter()
        .filter_map(|detail| detail.pointer("/metadata/quotaResetDelay"))
        .filter_map(Value::as_str)
        .find_map(parse_go_duration_ms);
    let delay = retry_delay.or(reset_delay);
    let reason = details
        .iter()
        .filter_map(|detail| detail.get("reason").and_then(Value::as_str))
        .next();
    let message = error_message(head.status, body);
    let lower = message.to_lowercase();
    let hint = |class_hint: Option<u64>| delay.or(class_hint);
    let class = match (reason, base.class) {
        (Some(QUOTA_EXHAUSTED), ErrorClass::RateLimited(h) | ErrorClass::QuotaExhausted(h)) => {
            ErrorClass::QuotaExhausted(hint(h))
        }
        (_, ErrorClass::RateLimited(h) | ErrorClass::QuotaExhausted(h))
            if lower.contains("quota exhausted") || lower.contains("quota_exhausted") =>
        {
            ErrorClass::QuotaExhausted(hint(h))
        }
        (Some(RATE_LIMIT_EXCEEDED), ErrorClass::RateLimited(h) | ErrorClass::QuotaExhausted(h)) => {
            match hint(h) {
                Some(ms) if ms >= LONG_DELAY_MS => ErrorClass::QuotaExhausted(Some(ms)),
                other => ErrorClass::RateLimited(other),
            }
        }
        (_, ErrorClass::RateLimited(h)) => ErrorClass::RateLimited(hint(h)),
        (_, ErrorClass::QuotaExhausted(h)) => ErrorClass::QuotaExhausted(hint(h)),
        (_, other) => other,
    };
    UpstreamError::new(class, message)
}

/// A Go duration (`"373.801628ms"`, `"0.5s"`, `"1h2m3s"`, `"250us"`) in milliseconds,
/// rounded up so a sub-millisecond wait is not zero.
pub fn parse_go_duration_ms(text: &str) -> Option<u64> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total_ms = 0.0_f64;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|&end| end > 0)?;
        let value: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "h" => 3_600_000.0,
            "m" => 60_000.0,
            "s" => 1000.0,
            "ms" => 1.0,
            "us" | "µs" => 0.001,
            "ns" => 0.000_001,
            _ => return None,
        };
        total_ms += value * scale;
        rest = &rest[unit_end..];
    }
    (total_ms.is_finite() && total_ms >= 0.0).then(|| total_ms.ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exhausted(reason: &str, retry: Option<&str>, reset: Option<&str>) -> Vec<u8> {
        let mut details = vec![json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason,
            "domain": "cloudcode-pa.googleapis.com",
            "metadata": {"model": "gemini-2.5-pro", "uiMessage": "true"},
        })];
        if let Some(reset) = reset {
            details[0]["metadata"]["quotaResetDelay"] = json!(reset);
        }
        if let Some(retry) = retry {
            details.push(
                json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry}),
            );
        }
        json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": details,
            "message": "You have exhausted your capacity on this model. Your quota will reset after 0s."}})
        .to_string()
        .into_bytes()
    }

    fn class(status: u16, body: &[u8]) -> ErrorClass {
        classify(&ResponseHead::new(status, &[]), body).class
    }

    #[test]
    fn a_rate_limit_waits_the_retry_info_delay_and_a_spent_quota_rests_the_account() {
        let rate = exhausted(RATE_LIMIT_EXCEEDED, Some("0.847655010s"), None);
        assert_eq!(class(429, &rate), ErrorClass::RateLimited(Some(848)));
        let reset_only = exhausted(RATE_LIMIT_EXCEEDED, None, Some("373.801628ms"));
        assert_eq!(class(429, &reset_only), ErrorClass::RateLimited(Some(374)));
        let quota = exhausted(QUOTA_EXHAUSTED, Some("3600s"), None);
        assert_eq!(
            class(429, &quota),
            ErrorClass::QuotaExhausted(Some(3_600_000))
        );
        let long_rate = exhausted(RATE_LIMIT_EXCEEDED, None, Some("1h2m3s"));
        assert_eq!(
            class(429, &long_rate),
            ErrorClass::QuotaExhausted(Some(3_723_000))
        );
        let classified = classify(&ResponseHead::new(429, &[]), &quota);
        assert!(
            classified
                .message
                .starts_with("You have exhausted your capacity")
        );
    }

    #[test]
    fn auth_capacity_and_bad_requests_keep_the_gemini_classes() {
        let unauthenticated = br#"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#;
        assert_eq!(class(401, unauthenticated), ErrorClass::AuthExpired);
        let capacity = br#"{"error":{"code":503,"message":"No capacity available for model gemini-2.5-pro on the server","status":"UNAVAILABLE"}}"#;
        assert_eq!(class(503, capacity), ErrorClass::Overloaded(None));
        let bad = br#"{"error":{"code":400,"message":"Invalid JSON payload received. Unknown name \"contents\": Cannot find field.","status":"INVALID_ARGUMENT"}}"#;
        assert_eq!(class(400, bad), ErrorClass::BadRequest);
    }

    #[test]
    fn go_durations_parse_in_every_unit_go_writes() {
        assert_eq!(parse_go_duration_ms("479.417207ms"), Some(480));
        assert_eq!(parse_go_duration_ms("2m0.5s"), Some(120_500));
        assert_eq!(parse_go_duration_ms("0s"), Some(0));
        assert_eq!(parse_go_duration_ms("12"), None);
        assert_eq!(parse_go_duration_ms("5 days"), None);
    }
}
