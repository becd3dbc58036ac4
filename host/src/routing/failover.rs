//! What a failed attempt means for this request and for the account: answer the client
//! now, or rest the account and try the next one. The one place that decides; the
//! failure itself says only who caused it and what it advises ([`Failure`]).

use std::time::{Duration, Instant};

use super::cooldown::{CooldownBook, CooldownReason};
use crate::config::RetrySettings;
use crate::failure::{ClientError, ErrorKind, Failure, Retry};

/// The decision after one failed attempt.
#[derive(Debug, Clone)]
pub enum Next {
    /// Give the client this error now; no other account would do better.
    Answer(ClientError),
    /// Try the next account or provider; if none is left, give the client this error.
    TryNext(ClientError),
}

/// Decide `failure` of an attempt on `account`: rest the account as the advice asks
/// (an upstream's hint capped at `retry.max-retry-after-s`), and say whether to go on.
pub fn settle(
    failure: Failure,
    account: &str,
    retry: &RetrySettings,
    book: &CooldownBook,
    now: Instant,
) -> Next {
    let Failure {
        mut error,
        retry: advice,
        ..
    } = failure;
    match advice {
        Retry::Never => Next::Answer(error),
        Retry::NextAccount => Next::TryNext(error),
        // No refresh yet (the accounts issue brings it): the account rests as disabled.
        Retry::SameAccountAfterRefresh => {
            rest(
                account,
                CooldownReason::AuthRejected,
                None,
                retry,
                book,
                now,
            );
            Next::TryNext(error)
        }
        Retry::AfterDelay { reason, delay } => {
            let rested = rest(account, reason, delay, retry, book, now);
            if matches!(error.kind, ErrorKind::RateLimited | ErrorKind::Overloaded) {
                error.retry_after = Some(rested);
            }
            Next::TryNext(error)
        }
    }
}

/// Rest `account` for `hint` (or the default for `reason`), never longer than the cap.
/// Returns the rest applied.
fn rest(
    account: &str,
    reason: CooldownReason,
    hint: Option<Duration>,
    retry: &RetrySettings,
    book: &CooldownBook,
    now: Instant,
) -> Duration {
    let wanted = hint.unwrap_or_else(|| retry.default_rest(reason));
    let cap = Duration::from_secs(retry.max_retry_after_s);
    if wanted > cap {
        tracing::warn!(
            account,
            reason = reason.describe(),
            rest_s = cap.as_secs_f64(),
            capped_from_s = wanted.as_secs_f64(),
            cap_s = retry.max_retry_after_s,
            "account resting; the upstream asked for longer than retry.max-retry-after-s"
        );
    } else {
        tracing::info!(
            account,
            reason = reason.describe(),
            rest_s = wanted.as_secs_f64(),
            "account resting"
        );
    }
    let duration = wanted.min(cap);
    book.rest(account, duration, reason, now);
    duration
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::{Redactor, Secret};
    use crate::failure::{AttemptFailures, Failure, TransportFailure};
    use crate::ir::{ErrorClass, UpstreamError};

    const ACCOUNT: &str = "claude-main#1";

    fn failures() -> AttemptFailures {
        AttemptFailures::new(
            "claude-main",
            "anthropic@0.1.0",
            2000,
            Redactor::new(&[Secret::new("sk-operator-secret-key")]),
        )
    }

    fn judge(status: u16, class: ErrorClass, book: &CooldownBook, now: Instant) -> Next {
        judge_with(status, class, &RetrySettings::default(), book, now)
    }

    fn judge_with(
        status: u16,
        class: ErrorClass,
        retry: &RetrySettings,
        book: &CooldownBook,
        now: Instant,
    ) -> Next {
        let error = UpstreamError {
            class,
            message: "upstream says no".into(),
        };
        let failure = failures().upstream_answer(status, &error);
        settle(failure, ACCOUNT, retry, book, now)
    }

    #[test]
    fn a_rate_limit_rests_the_account_for_retry_after_and_moves_on() {
        let (book, now) = (CooldownBook::new(), Instant::now());
        let next = judge(
            429,
            ErrorClass::RateLimited {
                retry_after_ms: Some(7_000),
            },
            &book,
            now,
        );
        let Next::TryNext(fallback) = next else {
            panic!("{next:?}")
        };
        assert_eq!(fallback.kind, ErrorKind::RateLimited);
        assert!(fallback.message.contains("claude-main"));
        assert_eq!(
            fallback.retry_after_secs(),
            Some(7),
            "the client hears it too"
        );
        let rest = book.current(ACCOUNT, now).unwrap();
        assert_eq!(rest.until - now, Duration::from_secs(7));
    }

    #[test]
    fn without_retry_after_the_configured_cooldown_applies() {
        let (book, now) = (CooldownBook::new(), Instant::now());
        judge(
            429,
            ErrorClass::RateLimited {
                retry_after_ms: None,
            },
            &book,
            now,
        );
        assert_eq!(
            book.current(ACCOUNT, now).unwrap().until - now,
            Duration::from_secs(60)
        );
        let (book, now) = (CooldownBook::new(), Instant::now());
        judge(
            529,
            ErrorClass::Overloaded {
                retry_after_ms: None,
            },
            &book,
            now,
        );
        assert_eq!(
            book.current(ACCOUNT, now).unwrap().until - now,
            Duration::from_secs(5)
        );
    }

    #[test]
    fn an_absurd_retry_after_is_capped() {
        let (book, now) = (CooldownBook::new(), Instant::now());
        let next = judge(
            429,
            ErrorClass::RateLimited {
                retry_after_ms: Some(99_999_999_999_000),
            },
            &book,
            now,
        );
        let cap = Duration::from_secs(RetrySettings::default().max_retry_after_s);
        assert_eq!(book.current(ACCOUNT, now).unwrap().until - now, cap);
        let Next::TryNext(error) = next else {
            panic!("{next:?}")
        };
        assert_eq!(error.retry_after, Some(cap));

        let retry = RetrySettings {
            max_retry_after_s: 120,
            ..RetrySettings::default()
        };
        let (book, now) = (CooldownBook::new(), Instant::now());
        judge_with(
            429,
            ErrorClass::QuotaExhausted {
                retry_after_ms: Some(3_600_000),
            },
            &retry,
            &book,
            now,
        );
        assert_eq!(
            book.current(ACCOUNT, now).unwrap().until - now,
            Duration::from_secs(120)
        );
    }

    #[test]
    fn a_timeout_or_refused_connection_rests_the_account() {
        for failure in [
            TransportFailure::Timeout,
            TransportFailure::Connect,
            TransportFailure::Idle,
        ] {
            let (book, now) = (CooldownBook::new(), Instant::now());
            let next = settle(
                failures().transport(failure, "connection refused"),
                ACCOUNT,
                &RetrySettings::default(),
                &book,
                now,
            );
            assert!(matches!(next, Next::TryNext(_)), "{failure:?}: {next:?}");
            let rest = book.current(ACCOUNT, now).expect("the account rests");
            assert_eq!(rest.reason, CooldownReason::Unreachable);
            assert_eq!(rest.until - now, Duration::from_secs(30));
        }
    }

    #[test]
    fn a_too_long_prompt_goes_straight_back_to_the_client() {
        let (book, now) = (CooldownBook::new(), Instant::now());
        let next = judge(400, ErrorClass::ContextTooLong, &book, now);
        let Next::Answer(error) = next else {
            panic!("{next:?}")
        };
        assert_eq!(error.kind.status(), 400);
        assert_eq!(error.message, "upstream says no");
        assert!(
            book.current(ACCOUNT, now).is_none(),
            "nothing rests for a client mistake"
        );
    }

    #[test]
    fn a_rejected_credential_disables_the_account() {
        let (book, now) = (CooldownBook::new(), Instant::now());
        let next = judge(401, ErrorClass::AuthExpired, &book, now);
        assert!(matches!(next, Next::TryNext(ref e) if e.kind.status() == 502));
        assert_eq!(
            book.current(ACCOUNT, now).unwrap().reason,
            CooldownReason::AuthRejected
        );
    }

    #[test]
    fn unclassified_server_errors_fail_over_and_client_errors_do_not() {
        let (book, now) = (CooldownBook::new(), Instant::now());
        assert!(matches!(
            judge(502, ErrorClass::Other, &book, now),
            Next::TryNext(_)
        ));
        assert!(
            matches!(judge(404, ErrorClass::Other, &book, now), Next::Answer(ref e) if e.kind.status() == 404)
        );
    }

    #[test]
    fn an_upstream_that_echoes_the_key_is_redacted() {
        let error = UpstreamError {
            class: ErrorClass::AuthExpired,
            message: "Incorrect API key provided: sk-operator-secret-key".into(),
        };
        let failure = failures().upstream_answer(401, &error);
        assert!(!failure.error.message.contains("sk-operator-secret-key"));
        assert!(
            failure.error.message.contains("[redacted]"),
            "{}",
            failure.error.message
        );
        let transport = failures().transport(
            TransportFailure::Body,
            "error decoding body for key=sk-operator-secret-key",
        );
        assert!(!transport.error.message.contains("sk-operator-secret-key"));
    }

    fn stream_error(class: ErrorClass) -> Failure {
        failures().stream_error(&UpstreamError {
            class,
            message: "throttled mid-stream".into(),
        })
    }

    #[test]
    fn a_throttling_frame_mid_stream_rests_the_account_for_its_class_cooldown() {
        // After the first byte the relay settles the frame only for its effect on the
        // account: the same failure as before it, whose decision is moot then.
        let (book, now) = (CooldownBook::new(), Instant::now());
        let retry = RetrySettings::default();
        settle(
            stream_error(ErrorClass::RateLimited {
                retry_after_ms: None,
            }),
            ACCOUNT,
            &retry,
            &book,
            now,
        );
        let rest = book.current(ACCOUNT, now).expect("the account rests");
        assert_eq!(rest.reason, CooldownReason::RateLimited);
        assert_eq!(rest.until - now, Duration::from_secs(retry.cooldown_s));

        let (book, now) = (CooldownBook::new(), Instant::now());
        settle(
            stream_error(ErrorClass::Overloaded {
                retry_after_ms: Some(9_000),
            }),
            ACCOUNT,
            &retry,
            &book,
            now,
        );
        assert_eq!(
            book.current(ACCOUNT, now).unwrap().until - now,
            Duration::from_secs(9)
        );
    }

    #[test]
    fn a_throttling_frame_before_the_first_byte_fails_over() {
        let (book, now) = (CooldownBook::new(), Instant::now());
        let next = settle(
            stream_error(ErrorClass::QuotaExhausted {
                retry_after_ms: None,
            }),
            ACCOUNT,
            &RetrySettings::default(),
            &book,
            now,
        );
        let Next::TryNext(fallback) = next else {
            panic!("{next:?}")
        };
        assert_eq!(fallback.kind, ErrorKind::RateLimited);
        assert!(book.current(ACCOUNT, now).is_some());
    }

    #[test]
    fn an_unclassified_frame_fails_over_without_resting_and_a_bad_request_answers() {
        let (book, now) = (CooldownBook::new(), Instant::now());
        let retry = RetrySettings::default();
        let next = settle(stream_error(ErrorClass::Other), ACCOUNT, &retry, &book, now);
        assert!(matches!(next, Next::TryNext(ref e) if e.kind.status() == 502));
        assert!(book.current(ACCOUNT, now).is_none());
        let next = settle(
            stream_error(ErrorClass::BadRequest),
            ACCOUNT,
            &retry,
            &book,
            now,
        );
        assert!(matches!(next, Next::Answer(ref e) if e.kind.status() == 400));
    }

    #[test]
    fn a_disabled_account_rests_like_a_rejected_credential() {
        let (book, now) = (CooldownBook::new(), Instant::now());
        let retry = RetrySettings::default();
        let next = judge(403, ErrorClass::AccountDisabled, &book, now);
        assert!(
            matches!(next, Next::TryNext(ref e) if e.code.as_deref() == Some("account_disabled"))
        );
        let rest = book.current(ACCOUNT, now).unwrap();
        assert_eq!(rest.reason, CooldownReason::AccountDisabled);
        assert_eq!(rest.until - now, Duration::from_secs(retry.auth_disable_s));
    }

    #[test]
    fn an_unavailable_model_tries_the_next_account_without_resting_this_one() {
        let (book, now) = (CooldownBook::new(), Instant::now());
        let next = judge(403, ErrorClass::ModelUnavailable, &book, now);
        assert!(matches!(next, Next::TryNext(ref e) if e.kind.status() == 404));
        assert!(book.current(ACCOUNT, now).is_none());
    }
}
