//! The accounts of one provider entry (one per configured key), rotated round-robin.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::cooldown::{Cooldown, CooldownBook};
use crate::credentials::Secret;

/// One account: an id safe to log, and its secret.
#[derive(Debug)]
pub struct AccountSlot {
    /// `<entry-name>#<n>` (1-based), never derived from the key.
    pub id: String,
    /// The key, or `None` for an entry without keys (e.g. a local server).
    pub secret: Option<Secret>,
}

/// Result of asking a pool for an account.
#[derive(Debug)]
pub enum Pick {
    /// Use this one.
    Account(Arc<AccountSlot>),
    /// Every untried account is resting; the soonest is back after this long.
    AllResting { soonest: Duration, reason: Cooldown },
    /// Every account was tried already in this request.
    Exhausted,
}

/// The accounts of one provider entry.
#[derive(Debug)]
pub struct AccountPool {
    accounts: Vec<Arc<AccountSlot>>,
    cursor: AtomicUsize,
}

impl AccountPool {
    /// One account per key; a single keyless account when there are none.
    pub fn new(entry_name: &str, keys: &[Secret]) -> Self {
        let accounts = if keys.is_empty() {
            vec![Arc::new(AccountSlot {
                id: format!("{entry_name}#1"),
                secret: None,
            })]
        } else {
            keys.iter()
                .enumerate()
                .map(|(i, key)| {
                    Arc::new(AccountSlot {
                        id: format!("{entry_name}#{}", i + 1),
                        secret: Some(key.clone()),
                    })
                })
                .collect()
        };
        Self {
            accounts,
            cursor: AtomicUsize::new(0),
        }
    }

    /// How many accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// True when the pool has no account (never, by construction).
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// The next account in rotation that is neither resting nor in `tried`.
    pub fn pick(&self, book: &CooldownBook, tried: &HashSet<String>, now: Instant) -> Pick {
        let start = self.cursor.fetch_add(1, Ordering::Relaxed);
        let mut soonest: Option<Cooldown> = None;
        for offset in 0..self.accounts.len() {
            let account = &self.accounts[(start + offset) % self.accounts.len()];
            if tried.contains(&account.id) {
                continue;
            }
            match book.current(&account.id, now) {
                None => return Pick::Account(account.clone()),
                Some(cooldown) => {
                    if soonest.is_none_or(|s| cooldown.until < s.until) {
                        soonest = Some(cooldown);
                    }
                }
            }
        }
        match soonest {
            Some(reason) => Pick::AllResting {
                soonest: reason.until.saturating_duration_since(now),
                reason,
            },
            None => Pick::Exhausted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::cooldown::CooldownReason;

    fn pool() -> AccountPool {
        AccountPool::new("p", &[Secret::new("a"), Secret::new("b"), Secret::new("c")])
    }

    fn picked(pick: Pick) -> String {
        match pick {
            Pick::Account(account) => account.id.clone(),
            other => panic!("expected an account, got {other:?}"),
        }
    }

    #[test]
    fn accounts_take_turns() {
        let (pool, book, now) = (pool(), CooldownBook::new(), Instant::now());
        let none = HashSet::new();
        let order: Vec<_> = (0..4)
            .map(|_| picked(pool.pick(&book, &none, now)))
            .collect();
        assert_eq!(order, ["p#1", "p#2", "p#3", "p#1"]);
    }

    #[test]
    fn resting_and_tried_accounts_are_skipped() {
        let (pool, book, now) = (pool(), CooldownBook::new(), Instant::now());
        book.rest(
            "p#1",
            Duration::from_secs(60),
            CooldownReason::RateLimited,
            now,
        );
        let tried: HashSet<String> = ["p#2".to_owned()].into();
        assert_eq!(picked(pool.pick(&book, &tried, now)), "p#3");
        assert_eq!(picked(pool.pick(&book, &tried, now)), "p#3");
    }

    #[test]
    fn when_all_rest_the_pool_says_how_long() {
        let (pool, book, now) = (pool(), CooldownBook::new(), Instant::now());
        for (id, secs) in [("p#1", 60), ("p#2", 20), ("p#3", 40)] {
            book.rest(
                id,
                Duration::from_secs(secs),
                CooldownReason::RateLimited,
                now,
            );
        }
        match pool.pick(&book, &HashSet::new(), now) {
            Pick::AllResting { soonest, .. } => assert_eq!(soonest, Duration::from_secs(20)),
            other => panic!("{other:?}"),
        }
        let all: HashSet<String> = ["p#1", "p#2", "p#3"].map(String::from).into();
        assert!(matches!(
            pool.pick(&CooldownBook::new(), &all, now),
            Pick::Exhausted
        ));
    }

    #[test]
    fn an_entry_without_keys_has_one_keyless_account() {
        let pool = AccountPool::new("local", &[]);
        assert_eq!(pool.len(), 1);
        match pool.pick(&CooldownBook::new(), &HashSet::new(), Instant::now()) {
            Pick::Account(account) => assert!(account.secret.is_none()),
            other => panic!("{other:?}"),
        }
    }
}
