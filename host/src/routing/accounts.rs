//! The accounts of one provider entry (one per configured key, then one per named
//! account, then the credential store's accounts it uses), rotated round-robin.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::cooldown::{Cooldown, CooldownBook};
use crate::accounts::file::AccountFile;
use crate::config::ProviderEntry;
use crate::credentials::Secret;

/// One account: an id safe to log, the credential kind it holds, its secret and its
/// non-secret attributes.
#[derive(Debug)]
pub struct AccountSlot {
    /// `<entry-name>#<n>` (1-based) for a key of `api-keys`, `<entry-name>:<name>` for
    /// a named account, the file stem for a stored account; never derived from the
    /// secret.
    pub id: String,
    /// The adapter's credential kind this account holds; `None`: the adapter's first
    /// key kind.
    pub kind: Option<String>,
    /// The key or token, or `None` for an entry without keys (e.g. a local server).
    pub secret: Option<Secret>,
    /// Non-secret facts handed to the adapter (project id, account id, region).
    pub attributes: Vec<(String, String)>,
    /// For an account of the credential store: its file as the pool was built (the
    /// secret is taken from the store when a request needs it, refreshed if due).
    pub stored: Option<Arc<AccountFile>>,
}

impl AccountSlot {
    /// The slot of a stored account.
    pub fn stored(file: &Arc<AccountFile>) -> Self {
        Self {
            id: file.id.clone(),
            kind: Some(file.kind.clone()),
            secret: None,
            attributes: file
                .attributes
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            stored: Some(file.clone()),
        }
    }

    fn configured(id: String, kind: Option<String>, secret: Option<Secret>) -> Self {
        Self {
            id,
            kind,
            secret,
            attributes: Vec::new(),
            stored: None,
        }
    }
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
    /// One account per key of `api-keys`, then one per named account, then one per
    /// stored account in `stored`; a single keyless account when the entry names no
    /// account at all. An entry that takes its accounts from the store but finds none
    /// usable has none (its requests go to the next entry).
    pub fn new(entry: &ProviderEntry, stored: &[Arc<AccountFile>]) -> Self {
        let keys = entry.api_keys.iter().enumerate().map(|(i, key)| {
            AccountSlot::configured(format!("{}#{}", entry.name, i + 1), None, Some(key.clone()))
        });
        let named = entry.accounts.inline().map(|account| AccountSlot {
            attributes: account
                .attributes
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            ..AccountSlot::configured(
                format!("{}:{}", entry.name, account.name),
                account.kind.clone(),
                account.secret.clone(),
            )
        });
        let from_store = stored.iter().map(AccountSlot::stored);
        let mut accounts: Vec<Arc<AccountSlot>> =
            keys.chain(named).chain(from_store).map(Arc::new).collect();
        if accounts.is_empty() && !entry.accounts.uses_store() {
            accounts.push(Arc::new(AccountSlot::configured(
                format!("{}#1", entry.name),
                None,
                None,
            )));
        }
        Self {
            accounts,
            cursor: AtomicUsize::new(0),
        }
    }

    /// The rotation position, to carry over when the pool is rebuilt.
    pub fn cursor(&self) -> usize {
        self.cursor.load(Ordering::Relaxed)
    }

    /// Continue the rotation from `cursor`.
    pub fn with_cursor(self, cursor: usize) -> Self {
        self.cursor.store(cursor, Ordering::Relaxed);
        self
    }

    /// How many accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// True when the pool has no account (an entry on the store that finds none usable).
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// The accounts, in rotation order.
    pub fn accounts(&self) -> &[Arc<AccountSlot>] {
        &self.accounts
    }

    /// The next account in rotation that is neither resting nor in `tried`.
    pub fn pick(&self, book: &CooldownBook, tried: &HashSet<String>, now: Instant) -> Pick {
        if self.accounts.is_empty() {
            return Pick::Exhausted;
        }
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

    fn entry(yaml: &str) -> ProviderEntry {
        let text = format!("api-keys: [k]\nproviders:\n  - {yaml}\n");
        let (mut config, _) = crate::config::Config::parse(&text).unwrap();
        config.providers.remove(0)
    }

    fn pool() -> AccountPool {
        AccountPool::new(&entry("{name: p, adapter: x, api-keys: [a, b, c]}"), &[])
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
    fn an_entry_on_the_store_without_usable_accounts_has_none() {
        let pool = AccountPool::new(&entry("{name: s, adapter: x, accounts: auth-dir}"), &[]);
        assert!(pool.is_empty());
        assert!(matches!(
            pool.pick(&CooldownBook::new(), &HashSet::new(), Instant::now()),
            Pick::Exhausted
        ));
    }

    #[test]
    fn an_entry_without_keys_has_one_keyless_account() {
        let pool = AccountPool::new(&entry("{name: local, adapter: x}"), &[]);
        assert_eq!(pool.len(), 1);
        match pool.pick(&CooldownBook::new(), &HashSet::new(), Instant::now()) {
            Pick::Account(account) => assert!(account.secret.is_none()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn named_accounts_follow_the_keys_with_their_kind_and_attributes() {
        let pool = AccountPool::new(
            &entry(
                "{name: c, adapter: x, api-keys: [k1], accounts: [{name: max, kind: oauth, secret: t, attributes: {org: o1}}]}",
            ),
            &[],
        );
        let (book, none, now) = (CooldownBook::new(), HashSet::new(), Instant::now());
        let Pick::Account(first) = pool.pick(&book, &none, now) else {
            panic!()
        };
        let Pick::Account(second) = pool.pick(&book, &none, now) else {
            panic!()
        };
        assert_eq!((first.id.as_str(), first.kind.as_deref()), ("c#1", None));
        assert_eq!(second.id, "c:max");
        assert_eq!(second.kind.as_deref(), Some("oauth"));
        assert_eq!(second.secret.as_ref().unwrap().expose(), "t");
        assert_eq!(second.attributes, vec![("org".to_owned(), "o1".to_owned())]);
    }
}
