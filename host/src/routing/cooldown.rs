//! Which accounts are resting, and until when.
//!
//! An account that was rate limited, ran out of quota, found its upstream overloaded
//! or unreachable, or had its credential rejected is taken out of rotation for a while. The book is
//! in-process; shared state across instances is a later step.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why an account is resting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CooldownReason {
    /// The upstream said too many requests.
    RateLimited,
    /// Quota or credit exhausted.
    QuotaExhausted,
    /// The upstream was overloaded.
    Overloaded,
    /// The credential was rejected; the account is disabled for a while.
    AuthRejected,
    /// The upstream refused the account itself (suspended, not entitled); it is
    /// disabled for as long as a rejected credential.
    AccountDisabled,
    /// The upstream could not be reached, timed out or fell silent mid-answer.
    Unreachable,
}

impl CooldownReason {
    /// Words for logs and client messages.
    pub fn describe(self) -> &'static str {
        match self {
            CooldownReason::RateLimited => "rate limited",
            CooldownReason::QuotaExhausted => "out of quota",
            CooldownReason::Overloaded => "overloaded",
            CooldownReason::AuthRejected => "credential rejected",
            CooldownReason::AccountDisabled => "account disabled",
            CooldownReason::Unreachable => "unreachable",
        }
    }
}

/// One resting account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cooldown {
    /// When it may serve again.
    pub until: Instant,
    /// Why it rests.
    pub reason: CooldownReason,
}

/// Resting accounts by account id.
#[derive(Debug, Default)]
pub struct CooldownBook {
    resting: Mutex<HashMap<String, Cooldown>>,
}

impl CooldownBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rest `account` for `duration` from `now`. A longer rest already recorded wins,
    /// so a short "overloaded" never cuts a long "out of quota" short.
    pub fn rest(&self, account: &str, duration: Duration, reason: CooldownReason, now: Instant) {
        let until = now + duration;
        let mut resting = self
            .resting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match resting.get(account) {
            Some(existing) if existing.until >= until => {}
            _ => {
                resting.insert(account.to_owned(), Cooldown { until, reason });
            }
        }
    }

    /// End `account`'s rest when it rests for `reasons` (a credential that was
    /// refused or disabled, after a new login).
    pub fn clear(&self, account: &str, reasons: &[CooldownReason]) {
        let mut resting = self
            .resting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if resting
            .get(account)
            .is_some_and(|cooldown| reasons.contains(&cooldown.reason))
        {
            resting.remove(account);
        }
    }

    /// Every cooldown in force at `now`, by account id.
    pub fn all(&self, now: Instant) -> Vec<(String, Cooldown)> {
        let resting = self
            .resting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut all: Vec<(String, Cooldown)> = resting
            .iter()
            .filter(|(_, cooldown)| cooldown.until > now)
            .map(|(id, cooldown)| (id.clone(), *cooldown))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// The cooldown in force for `account` at `now`, if any. Expired entries are dropped.
    pub fn current(&self, account: &str, now: Instant) -> Option<Cooldown> {
        let mut resting = self
            .resting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match resting.get(account) {
            Some(cooldown) if cooldown.until > now => Some(*cooldown),
            Some(_) => {
                resting.remove(account);
                None
            }
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rested_account_comes_back_when_its_time_is_up() {
        let book = CooldownBook::new();
        let t0 = Instant::now();
        book.rest(
            "p#1",
            Duration::from_secs(30),
            CooldownReason::RateLimited,
            t0,
        );
        let during = book.current("p#1", t0 + Duration::from_secs(10)).unwrap();
        assert_eq!(during.reason, CooldownReason::RateLimited);
        assert!(
            book.current("p#2", t0).is_none(),
            "other accounts are unaffected"
        );
        assert!(book.current("p#1", t0 + Duration::from_secs(31)).is_none());
    }

    #[test]
    fn a_short_rest_never_shortens_a_long_one() {
        let book = CooldownBook::new();
        let t0 = Instant::now();
        book.rest(
            "p#1",
            Duration::from_secs(3600),
            CooldownReason::QuotaExhausted,
            t0,
        );
        book.rest(
            "p#1",
            Duration::from_secs(5),
            CooldownReason::Overloaded,
            t0,
        );
        let cooldown = book.current("p#1", t0 + Duration::from_secs(60)).unwrap();
        assert_eq!(cooldown.reason, CooldownReason::QuotaExhausted);
    }
}
