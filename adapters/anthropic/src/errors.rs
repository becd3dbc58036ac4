//! Classifying Messages API failures for routing.
//!
//! Anthropic's error body is `{"type":"error","error":{"type":"...","message":"..."}}`;
//! the `error.type` (`rate_limit_error`, `overloaded_error`, `authentication_error`,
//! `invalid_request_error`...) backs up the status where the status alone is vague.
//!
//! A Claude Pro/Max subscription also says *which* usage window refused a request, in
//! the `anthropic-ratelimit-unified-*` headers (status `allowed`/`rejected` of the 5 h,
//! 7 d and 7 d "other" windows, each with its reset). A 429 with a rejected window is
//! **quota exhausted** until the latest reset among the rejected windows: waiting a few
//! seconds does not help, so the host rests the whole account until then (capped by its
//! `retry.max-retry-after-s`). No random fuzz is added: we do not guess. A rejection of
//! the `7d_oi` window alone rests the whole account too: the host has no per-model
//! cooldown, and resting only the account's other models is not something it can say.
//! An ordinary 429 (`rate_limit_error`, no unified rejection) stays rate-limited with
//! its `Retry-After`.

use std::time::{SystemTime, UNIX_EPOCH};

use plugboard_sdk::json::error_message;
use plugboard_sdk::prelude::*;
use plugboard_sdk::retry::retry_after_ms;
use plugboard_sdk::types::find_header;

/// The unified usage windows of a subscription, as named in their headers
/// (`anthropic-ratelimit-unified-<window>-status` / `-reset`).
pub const UNIFIED_WINDOWS: [&str; 3] = ["5h", "7d", "7d_oi"];

/// What the unified headers say about a refused request.
#[derive(Debug, Clone, PartialEq)]
pub struct UnifiedRejection {
    /// The rejected windows, in [`UNIFIED_WINDOWS`] order (empty when only the
    /// overall `anthropic-ratelimit-unified-status` says `rejected`).
    pub windows: Vec<&'static str>,
    /// The latest reset among the rejected windows as Unix seconds; the overall
    /// `anthropic-ratelimit-unified-reset` when no rejected window gives one.
    pub reset_unix_s: Option<f64>,
}

/// Read the unified headers: `None` when nothing is rejected (or no unified header).
pub fn unified_rejection(headers: &[(String, String)]) -> Option<UnifiedRejection> {
    let header = |name: &str| find_header(headers, &format!("anthropic-ratelimit-unified-{name}"));
    let rejected =
        |name: &str| header(name).is_some_and(|v| v.trim().eq_ignore_ascii_case("rejected"));
    let windows: Vec<&'static str> = UNIFIED_WINDOWS
        .into_iter()
        .filter(|window| rejected(&format!("{window}-status")))
        .collect();
    if windows.is_empty() && !rejected("status") {
        return None;
    }
    let latest = windows
        .iter()
        .filter_map(|window| header(&format!("{window}-reset")).and_then(parse_reset))
        .fold(None, |latest: Option<f64>, at| {
            Some(latest.map_or(at, |l| l.max(at)))
        });
    let reset_unix_s = latest.or_else(|| header("reset").and_then(parse_reset));
    Some(UnifiedRejection {
        windows,
        reset_unix_s,
    })
}

/// A reset instant: Unix seconds (fractions accepted) or RFC 3339.
pub fn parse_reset(value: &str) -> Option<f64> {
    plugboard_sdk::retry::parse_instant(value)
}

/// Classify a non-2xx response.
pub fn classify(head: &ResponseHead, body: &[u8]) -> UpstreamError {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    classify_at(head, body, now)
}

/// [`classify`] at a given wall-clock time (Unix seconds), which the unified resets
/// are measured from.
pub fn classify_at(head: &ResponseHead, body: &[u8], now_unix_s: f64) -> UpstreamError {
    let message = error_message(head.status, body);
    let retry = retry_after_ms(&head.headers);
    if head.status == 429
        && let Some(rejection) = unified_rejection(&head.headers)
    {
        let until_reset = rejection
            .reset_unix_s
            .map(|at| ((at - now_unix_s).max(0.0) * 1000.0).ceil() as u64);
        return UpstreamError::new(ErrorClass::QuotaExhausted(until_reset.or(retry)), message);
    }
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

    /// 2026-03-01T12:00:00Z, the wall clock of the subscription stories.
    const NOW: f64 = 1_772_366_400.0;

    fn limited() -> Vec<u8> {
        body(
            "rate_limit_error",
            "This request would exceed your account's rate limit.",
        )
    }

    #[test]
    fn rfc3339_and_unix_resets_name_the_same_instant() {
        assert_eq!(parse_reset("2026-03-01T12:00:00Z"), Some(NOW));
        assert_eq!(parse_reset("2026-03-01T14:00:00+02:00"), Some(NOW));
        assert_eq!(parse_reset("2026-03-01T12:00:00.5Z"), Some(NOW + 0.5));
        assert_eq!(parse_reset("1772366400"), Some(NOW));
        assert_eq!(parse_reset("1772366400.25"), Some(NOW + 0.25));
        assert_eq!(parse_reset("tomorrow"), None);
        assert_eq!(parse_reset("2026-13-01T00:00:00Z"), None);
    }

    #[test]
    fn a_rejected_five_hour_window_exhausts_the_account_until_its_reset() {
        // The full header set a Max account answers with when its 5 h window is spent
        // (resets as unix seconds, floats included), with a short Retry-After that
        // must not win over the reset.
        let reset = NOW + 2.0 * 3600.0 + 0.5;
        let head = ResponseHead::new(
            429,
            &[
                ("anthropic-ratelimit-unified-status", "rejected"),
                ("anthropic-ratelimit-unified-5h-status", "rejected"),
                ("anthropic-ratelimit-unified-5h-reset", &reset.to_string()),
                ("anthropic-ratelimit-unified-7d-status", "allowed"),
                ("anthropic-ratelimit-unified-7d-reset", "1772798400"),
                ("anthropic-ratelimit-unified-7d_oi-status", "allowed"),
                ("anthropic-ratelimit-unified-7d_oi-reset", "1772798400"),
                ("anthropic-ratelimit-unified-reset", &reset.to_string()),
                (
                    "anthropic-ratelimit-unified-representative-claim",
                    "five_hour",
                ),
                ("retry-after", "30"),
            ],
        );
        let error = classify_at(&head, &limited(), NOW);
        assert_eq!(error.class, ErrorClass::QuotaExhausted(Some(7_200_500)));
        assert_eq!(
            error.message,
            "This request would exceed your account's rate limit."
        );
        assert_eq!(
            unified_rejection(&head.headers).unwrap().windows,
            vec!["5h"]
        );
    }

    #[test]
    fn the_latest_reset_among_rejected_windows_wins_in_rfc3339_too() {
        let head = ResponseHead::new(
            429,
            &[
                ("Anthropic-Ratelimit-Unified-Status", "rejected"),
                ("Anthropic-Ratelimit-Unified-5h-Status", "rejected"),
                (
                    "Anthropic-Ratelimit-Unified-5h-Reset",
                    "2026-03-01T13:00:00Z",
                ),
                ("Anthropic-Ratelimit-Unified-7d-Status", "rejected"),
                (
                    "Anthropic-Ratelimit-Unified-7d-Reset",
                    "2026-03-03T12:00:00Z",
                ),
                ("Anthropic-Ratelimit-Unified-7d_oi-Status", "allowed"),
                (
                    "Anthropic-Ratelimit-Unified-7d_oi-Reset",
                    "2026-03-09T12:00:00Z",
                ),
                (
                    "Anthropic-Ratelimit-Unified-Representative-Claim",
                    "seven_day",
                ),
            ],
        );
        assert_eq!(
            classify_at(&head, &limited(), NOW).class,
            ErrorClass::QuotaExhausted(Some(2 * 86_400 * 1000))
        );
    }

    #[test]
    fn a_7d_oi_rejection_alone_still_rests_the_whole_account() {
        // Peers rest only the affected models; the host has no per-model cooldown.
        let head = ResponseHead::new(
            429,
            &[
                ("anthropic-ratelimit-unified-status", "rejected"),
                ("anthropic-ratelimit-unified-5h-status", "allowed"),
                ("anthropic-ratelimit-unified-5h-reset", "1772370000"),
                ("anthropic-ratelimit-unified-7d-status", "allowed"),
                ("anthropic-ratelimit-unified-7d-reset", "1772798400"),
                ("anthropic-ratelimit-unified-7d_oi-status", "rejected"),
                ("anthropic-ratelimit-unified-7d_oi-reset", "1772452800"),
                (
                    "anthropic-ratelimit-unified-representative-claim",
                    "seven_day_opus",
                ),
            ],
        );
        let error = classify_at(&head, &limited(), NOW);
        assert_eq!(error.class, ErrorClass::QuotaExhausted(Some(86_400_000)));
        assert!(error.class.rests_the_account());
    }

    #[test]
    fn without_a_unified_reset_the_retry_after_is_the_rest() {
        let head = ResponseHead::new(
            429,
            &[
                ("anthropic-ratelimit-unified-status", "rejected"),
                ("anthropic-ratelimit-unified-5h-status", "rejected"),
                ("retry-after", "600"),
            ],
        );
        assert_eq!(
            classify_at(&head, &limited(), NOW).class,
            ErrorClass::QuotaExhausted(Some(600_000))
        );
        // Only the overall status and reset: the overall reset is the rest.
        let overall = ResponseHead::new(
            429,
            &[
                ("anthropic-ratelimit-unified-status", "rejected"),
                ("anthropic-ratelimit-unified-reset", "2026-03-01T12:30:00Z"),
            ],
        );
        assert_eq!(
            classify_at(&overall, &limited(), NOW).class,
            ErrorClass::QuotaExhausted(Some(1_800_000))
        );
        // A reset already past rests for nothing more.
        let past = ResponseHead::new(
            429,
            &[
                ("anthropic-ratelimit-unified-5h-status", "rejected"),
                ("anthropic-ratelimit-unified-5h-reset", "1772360000"),
            ],
        );
        assert_eq!(
            classify_at(&past, &limited(), NOW).class,
            ErrorClass::QuotaExhausted(Some(0))
        );
    }

    #[test]
    fn an_ordinary_429_with_allowed_windows_stays_rate_limited() {
        let head = ResponseHead::new(
            429,
            &[
                ("anthropic-ratelimit-unified-status", "allowed"),
                ("anthropic-ratelimit-unified-5h-status", "allowed"),
                ("anthropic-ratelimit-unified-5h-reset", "1772370000"),
                ("anthropic-ratelimit-unified-7d-status", "allowed"),
                ("anthropic-ratelimit-unified-7d-reset", "1772798400"),
                ("retry-after", "7"),
            ],
        );
        assert_eq!(
            classify_at(&head, &limited(), NOW).class,
            ErrorClass::RateLimited(Some(7_000))
        );
        // A rejection header on a non-429 answer does not turn it into a quota.
        let overloaded =
            ResponseHead::new(529, &[("anthropic-ratelimit-unified-status", "rejected")]);
        assert_eq!(
            classify_at(&overloaded, &body("overloaded_error", "Overloaded"), NOW).class,
            ErrorClass::Overloaded(None)
        );
    }
}
