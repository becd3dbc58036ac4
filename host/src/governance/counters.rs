//! One client key's counters: sliding 60 s windows (requests admitted, tokens of
//! finished requests), requests in flight, and UTC day and month totals.
//!
//! Pure bookkeeping over an explicit [`Moment`], so the windows and the 00:00 UTC
//! resets are tested without waiting for the clock.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use time::{Date, Month, OffsetDateTime, Time};

use crate::config::client_keys::KeyLimits;

/// The length of the `rpm` and `tpm` windows.
pub const WINDOW: Duration = Duration::from_secs(60);

/// A point in time, as the windows (monotonic) and the quotas (UTC calendar) see it.
#[derive(Debug, Clone, Copy)]
pub struct Moment {
    /// For the sliding windows.
    pub instant: Instant,
    /// For the day and month quotas.
    pub utc: OffsetDateTime,
}

impl Moment {
    /// Now.
    pub fn now() -> Self {
        Self {
            instant: Instant::now(),
            utc: OffsetDateTime::now_utc(),
        }
    }

    /// `by` later, on both clocks.
    pub fn later(self, by: Duration) -> Self {
        Self {
            instant: self.instant + by,
            utc: self.utc + by,
        }
    }
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `rpm`.
    Rpm,
    /// `tpm`.
    Tpm,
    /// `concurrency`.
    Concurrency,
    /// `requests-per-day`.
    RequestsPerDay,
    /// `tokens-per-day`.
    TokensPerDay,
    /// `requests-per-month`.
    RequestsPerMonth,
    /// `tokens-per-month`.
    TokensPerMonth,
}

impl Limit {
    /// The config key.
    pub fn key(self) -> &'static str {
        match self {
            Limit::Rpm => "rpm",
            Limit::Tpm => "tpm",
            Limit::Concurrency => "concurrency",
            Limit::RequestsPerDay => "requests-per-day",
            Limit::TokensPerDay => "tokens-per-day",
            Limit::RequestsPerMonth => "requests-per-month",
            Limit::TokensPerMonth => "tokens-per-month",
        }
    }

    /// Whether it is a day or month quota (rather than a rate).
    pub fn is_quota(self) -> bool {
        !matches!(self, Limit::Rpm | Limit::Tpm | Limit::Concurrency)
    }
}

/// A refusal: the limit, its value, and how long until it frees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Over {
    /// Which limit.
    pub limit: Limit,
    /// Its configured value.
    pub value: u64,
    /// Time until a request would be admitted again by this limit (1 s for
    /// concurrency, which frees when a request ends).
    pub retry_after: Duration,
}

/// Requests and tokens in one calendar period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Requests admitted.
    pub requests: u64,
    /// Tokens of finished requests.
    pub tokens: u64,
}

/// A calendar period's totals, with the period they belong to.
#[derive(Debug, Clone, Copy, Default)]
struct Period {
    /// Which period (a day number, or `year * 12 + month`); totals of another one are
    /// stale.
    id: i64,
    totals: Totals,
}

impl Period {
    fn at(&mut self, id: i64) -> &mut Totals {
        if self.id != id {
            *self = Period {
                id,
                totals: Totals::default(),
            };
        }
        &mut self.totals
    }
}

/// The UTC day `utc` falls in, as a number.
fn day_id(utc: OffsetDateTime) -> i64 {
    utc.unix_timestamp().div_euclid(86_400)
}

/// The UTC month `utc` falls in, as a number.
fn month_id(utc: OffsetDateTime) -> i64 {
    i64::from(utc.year()) * 12 + i64::from(u8::from(utc.month())) - 1
}

/// 00:00 UTC of the day `utc` falls in.
pub fn day_start(utc: OffsetDateTime) -> OffsetDateTime {
    utc.replace_time(Time::MIDNIGHT)
}

/// 00:00 UTC of the first day of the month `utc` falls in.
pub fn month_start(utc: OffsetDateTime) -> OffsetDateTime {
    day_start(utc)
        .replace_day(1)
        .expect("every month has a day 1")
}

/// 00:00 UTC of the first day of the next month.
fn next_month_start(utc: OffsetDateTime) -> OffsetDateTime {
    let (year, month) = match utc.month() {
        Month::December => (utc.year() + 1, Month::January),
        month => (utc.year(), month.next()),
    };
    let date = Date::from_calendar_date(year, month, 1).expect("day 1 exists");
    date.midnight().assume_utc()
}

/// Time from `now` until `then` (zero if past).
fn until(now: OffsetDateTime, then: OffsetDateTime) -> Duration {
    Duration::try_from(then - now).unwrap_or(Duration::ZERO)
}

/// One key's counters.
#[derive(Debug, Default)]
pub struct Counters {
    /// When each request of the last 60 s was admitted, oldest first.
    requests: VecDeque<Instant>,
    /// When each request of the last 60 s finished, with its tokens, oldest first.
    tokens: VecDeque<(Instant, u64)>,
    /// The sum of `tokens`.
    tokens_in_window: u64,
    /// Requests admitted and not yet ended.
    in_flight: u64,
    day: Period,
    month: Period,
}

/// A snapshot of a key's counters, for the management API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct UsageNow {
    /// Requests in flight.
    pub in_flight: u64,
    /// Requests admitted in the last 60 s.
    pub requests_last_minute: u64,
    /// Tokens of requests finished in the last 60 s.
    pub tokens_last_minute: u64,
    /// Requests admitted today (UTC).
    pub requests_today: u64,
    /// Tokens of requests finished today (UTC).
    pub tokens_today: u64,
    /// Requests admitted this month (UTC).
    pub requests_this_month: u64,
    /// Tokens of requests finished this month (UTC).
    pub tokens_this_month: u64,
}

impl Counters {
    /// Drop what has left the 60 s windows.
    fn age(&mut self, now: Instant) {
        while let Some(&at) = self.requests.front() {
            if now.saturating_duration_since(at) >= WINDOW {
                self.requests.pop_front();
            } else {
                break;
            }
        }
        while let Some(&(at, tokens)) = self.tokens.front() {
            if now.saturating_duration_since(at) >= WINDOW {
                self.tokens.pop_front();
                self.tokens_in_window -= tokens;
            } else {
                break;
            }
        }
    }

    /// Admit one request under `limits` at `now`, counting it; or say which limit
    /// refuses it. Concurrency is checked first (it frees soonest), then the rates,
    /// then the quotas.
    pub fn admit(&mut self, limits: &KeyLimits, now: Moment) -> Result<(), Over> {
        self.age(now.instant);
        let day = day_id(now.utc);
        let month = month_id(now.utc);
        let today = *self.day.at(day);
        let this_month = *self.month.at(month);
        let over = |limit, value: Option<u64>, used: u64, retry_after: &dyn Fn() -> Duration| {
            match value {
                Some(value) if used >= value => Err(Over {
                    limit,
                    value,
                    retry_after: retry_after(),
                }),
                _ => Ok(()),
            }
        };
        over(
            Limit::Concurrency,
            limits.concurrency,
            self.in_flight,
            &|| Duration::from_secs(1),
        )?;
        over(Limit::Rpm, limits.rpm, self.requests.len() as u64, &|| {
            // The oldest request leaves the window first; with it gone there is room.
            let excess = self.requests.len() + 1 - limits.rpm.unwrap_or(0) as usize;
            let freeing = self.requests[excess.saturating_sub(1)];
            WINDOW.saturating_sub(now.instant.saturating_duration_since(freeing))
        })?;
        over(Limit::Tpm, limits.tpm, self.tokens_in_window, &|| {
            // Tokens age out oldest first, until the window is under the limit.
            let limit = limits.tpm.unwrap_or(0);
            let mut left = self.tokens_in_window;
            for &(at, tokens) in &self.tokens {
                left -= tokens;
                if left < limit {
                    return WINDOW.saturating_sub(now.instant.saturating_duration_since(at));
                }
            }
            WINDOW
        })?;
        let to_tomorrow = || until(now.utc, day_start(now.utc) + time::Duration::DAY);
        let to_next_month = || until(now.utc, next_month_start(now.utc));
        over(
            Limit::RequestsPerDay,
            limits.requests_per_day,
            today.requests,
            &to_tomorrow,
        )?;
        over(
            Limit::TokensPerDay,
            limits.tokens_per_day,
            today.tokens,
            &to_tomorrow,
        )?;
        over(
            Limit::RequestsPerMonth,
            limits.requests_per_month,
            this_month.requests,
            &to_next_month,
        )?;
        over(
            Limit::TokensPerMonth,
            limits.tokens_per_month,
            this_month.tokens,
            &to_next_month,
        )?;
        self.requests.push_back(now.instant);
        self.in_flight += 1;
        self.day.at(day).requests += 1;
        self.month.at(month).requests += 1;
        Ok(())
    }

    /// A request admitted earlier ended at `now` having used `tokens`.
    pub fn finish(&mut self, tokens: u64, now: Moment) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.age(now.instant);
        if tokens > 0 {
            self.tokens.push_back((now.instant, tokens));
            self.tokens_in_window += tokens;
            self.day.at(day_id(now.utc)).tokens += tokens;
            self.month.at(month_id(now.utc)).tokens += tokens;
        }
    }

    /// Add totals recorded before this process started (from the usage store) to the
    /// day's and the month's counts.
    pub fn seed(&mut self, today: Totals, this_month: Totals, now: Moment) {
        let day = self.day.at(day_id(now.utc));
        day.requests += today.requests;
        day.tokens += today.tokens;
        let month = self.month.at(month_id(now.utc));
        month.requests += this_month.requests;
        month.tokens += this_month.tokens;
    }

    /// What the counters hold at `now`.
    pub fn usage(&mut self, now: Moment) -> UsageNow {
        self.age(now.instant);
        let today = *self.day.at(day_id(now.utc));
        let this_month = *self.month.at(month_id(now.utc));
        UsageNow {
            in_flight: self.in_flight,
            requests_last_minute: self.requests.len() as u64,
            tokens_last_minute: self.tokens_in_window,
            requests_today: today.requests,
            tokens_today: today.tokens,
            requests_this_month: this_month.requests,
            tokens_this_month: this_month.tokens,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn at(utc: OffsetDateTime) -> Moment {
        Moment {
            instant: Instant::now(),
            utc,
        }
    }

    #[test]
    fn rpm_is_a_sliding_window_that_frees_as_the_oldest_request_ages_out() {
        let limits = KeyLimits {
            rpm: Some(2),
            ..KeyLimits::default()
        };
        let mut counters = Counters::default();
        let start = at(datetime!(2026-12-07 10:00:00 UTC));
        counters.admit(&limits, start).unwrap();
        counters.finish(0, start);
        let second = start.later(Duration::from_secs(20));
        counters.admit(&limits, second).unwrap();
        counters.finish(0, second);
        let over = counters
            .admit(&limits, start.later(Duration::from_secs(30)))
            .unwrap_err();
        assert_eq!(over.limit, Limit::Rpm);
        assert_eq!(over.value, 2);
        // The first request leaves the window 60 s after it came: 30 s from now.
        assert_eq!(over.retry_after, Duration::from_secs(30));
        // Still full a moment before; free once it has aged out.
        assert!(
            counters
                .admit(&limits, start.later(Duration::from_millis(59_900)))
                .is_err()
        );
        counters
            .admit(&limits, start.later(Duration::from_secs(60)))
            .unwrap();
    }

    #[test]
    fn tpm_counts_finished_tokens_and_frees_when_enough_have_aged_out() {
        let limits = KeyLimits {
            tpm: Some(100),
            ..KeyLimits::default()
        };
        let mut counters = Counters::default();
        let start = at(datetime!(2026-12-07 10:00:00 UTC));
        // A request in flight has no tokens yet: the next one is admitted.
        counters.admit(&limits, start).unwrap();
        counters.admit(&limits, start).unwrap();
        counters.finish(60, start.later(Duration::from_secs(1)));
        counters.finish(50, start.later(Duration::from_secs(10)));
        let over = counters
            .admit(&limits, start.later(Duration::from_secs(15)))
            .unwrap_err();
        assert_eq!(over.limit, Limit::Tpm);
        // 110 tokens: the 60 finished at 1 s must age out (at 61 s), 46 s from now.
        assert_eq!(over.retry_after, Duration::from_secs(46));
        counters
            .admit(&limits, start.later(Duration::from_secs(61)))
            .unwrap();
        assert_eq!(
            counters
                .usage(start.later(Duration::from_secs(61)))
                .tokens_last_minute,
            50
        );
    }

    #[test]
    fn concurrency_frees_when_a_request_ends_and_says_one_second() {
        let limits = KeyLimits {
            concurrency: Some(1),
            ..KeyLimits::default()
        };
        let mut counters = Counters::default();
        let now = at(datetime!(2026-12-07 10:00:00 UTC));
        counters.admit(&limits, now).unwrap();
        let over = counters.admit(&limits, now).unwrap_err();
        assert_eq!(
            (over.limit, over.retry_after),
            (Limit::Concurrency, Duration::from_secs(1))
        );
        counters.finish(0, now);
        counters.admit(&limits, now).unwrap();
    }

    #[test]
    fn day_quotas_reset_at_midnight_utc_and_say_how_long_until_then() {
        let limits = KeyLimits {
            requests_per_day: Some(2),
            tokens_per_day: Some(1_000),
            ..KeyLimits::default()
        };
        let mut counters = Counters::default();
        let evening = at(datetime!(2026-12-07 23:00:00 UTC));
        counters.admit(&limits, evening).unwrap();
        counters.finish(10, evening);
        counters.admit(&limits, evening).unwrap();
        counters.finish(10, evening);
        let over = counters.admit(&limits, evening).unwrap_err();
        assert_eq!(over.limit, Limit::RequestsPerDay);
        assert_eq!(over.retry_after, Duration::from_secs(3600));
        // Just after midnight UTC the day is new.
        let morning = Moment {
            instant: evening.instant + Duration::from_secs(3601),
            utc: datetime!(2026-12-08 00:00:01 UTC),
        };
        counters.admit(&limits, morning).unwrap();
        counters.finish(1_000, morning);
        let over = counters.admit(&limits, morning).unwrap_err();
        assert_eq!(over.limit, Limit::TokensPerDay);
        assert_eq!(over.retry_after, Duration::from_secs(86_399));
    }

    #[test]
    fn month_quotas_reset_on_the_first_at_midnight_utc_across_a_year_end() {
        let limits = KeyLimits {
            requests_per_month: Some(1),
            ..KeyLimits::default()
        };
        let mut counters = Counters::default();
        let late = at(datetime!(2026-12-31 23:59:30 UTC));
        counters.admit(&limits, late).unwrap();
        let over = counters.admit(&limits, late).unwrap_err();
        assert_eq!(over.limit, Limit::RequestsPerMonth);
        assert_eq!(over.retry_after, Duration::from_secs(30));
        let new_year = Moment {
            instant: late.instant + Duration::from_secs(31),
            utc: datetime!(2027-01-01 00:00:01 UTC),
        };
        counters.admit(&limits, new_year).unwrap();
        assert_eq!(
            month_start(datetime!(2027-02-14 13:00:00 UTC)),
            datetime!(2027-02-01 00:00:00 UTC)
        );
    }

    #[test]
    fn seeded_totals_count_toward_the_quotas() {
        let limits = KeyLimits {
            tokens_per_month: Some(500),
            ..KeyLimits::default()
        };
        let mut counters = Counters::default();
        let now = at(datetime!(2026-12-07 12:00:00 UTC));
        counters.seed(
            Totals {
                requests: 3,
                tokens: 200,
            },
            Totals {
                requests: 9,
                tokens: 500,
            },
            now,
        );
        let over = counters.admit(&limits, now).unwrap_err();
        assert_eq!(over.limit, Limit::TokensPerMonth);
        assert_eq!(counters.usage(now).requests_today, 3);
    }
}
