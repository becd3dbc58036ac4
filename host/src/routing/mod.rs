//! Routing: model name -> ordered candidates (provider entry, account), account
//! rotation and cooldown, and the retry/failover decision after a failure.
//!
//! The pipeline asks for a [`Plan`] per request and pulls [`Attempt`]s from it until
//! one succeeds, a verdict says to answer, or the plan runs dry.

pub mod accounts;
pub mod cooldown;
pub mod failover;
pub mod model_table;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use crate::accounts::store::{Snapshot, Store};
use crate::config::{Config, ProviderEntry, RetrySettings};
use crate::credentials::Secret;
use crate::failure::{ClientError, ErrorKind, Failure, Retry, whole_seconds};
use crate::runtime::Registry;
use crate::surfaces::ListedModel;

pub use accounts::{AccountSlot, Pick};
pub use cooldown::{CooldownBook, CooldownReason};
pub use failover::Next;
pub use model_table::{Candidate, ModelTable, ReadModels};

use crate::accounts::reads::Reads;
use crate::runtime::ModelInfo;

/// Model table, account pools and cooldowns for the whole config.
pub struct Router {
    table: ModelTable,
    entries: Vec<ProviderEntry>,
    /// One pool per entry. Entries on the credential store are rebuilt when the store
    /// or the loaded adapters change (see [`Router::plan`]).
    pools: ArcSwap<Vec<accounts::AccountPool>>,
    store: Option<Arc<Store>>,
    /// The store snapshot and registry the pools were built for.
    built_for: Mutex<Option<(Arc<Snapshot>, Arc<Registry>)>>,
    names: Vec<String>,
    /// Shared with the routers of later config generations, so a reload forgets no rest.
    book: Arc<CooldownBook>,
    retry: RetrySettings,
    /// What the stored accounts' reads found (quota, models).
    reads: Arc<Reads>,
    /// The models each entry serves from its accounts' reads, and the pools and reads
    /// generation it was built for.
    read_models: ArcSwap<(Arc<Vec<accounts::AccountPool>>, u64, Arc<ReadModels>)>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("entries", &self.names)
            .finish_non_exhaustive()
    }
}

impl Router {
    /// Build from config (provider order is preference order), without a credential
    /// store: entries that take accounts from it have none.
    pub fn new(config: &Config) -> Self {
        Self::with_store(config, None)
    }

    /// Build from config, taking stored accounts from `store`.
    pub fn with_store(config: &Config, store: Option<Arc<Store>>) -> Self {
        Self::build(config, store, Arc::default(), Arc::new(Reads::new()))
    }

    /// The router of the next config generation: built from `config` like
    /// [`Router::with_store`], over the same credential store, sharing this router's
    /// cooldown book and account reads. Rests are kept by account id, so an account
    /// that still exists (a stored account, or `<entry>#<n>` of an entry kept under
    /// its name) rests on; the rests of accounts that are gone lapse unused.
    pub fn next_generation(&self, config: &Config) -> Self {
        Self::build(
            config,
            self.store.clone(),
            self.book.clone(),
            self.reads.clone(),
        )
    }

    fn build(
        config: &Config,
        store: Option<Arc<Store>>,
        book: Arc<CooldownBook>,
        reads: Arc<Reads>,
    ) -> Self {
        Self {
            table: ModelTable::new(&config.providers),
            entries: config.providers.clone(),
            pools: ArcSwap::from_pointee(
                config
                    .providers
                    .iter()
                    .map(|entry| accounts::AccountPool::new(entry, &[]))
                    .collect(),
            ),
            store,
            built_for: Mutex::new(None),
            names: config.providers.iter().map(|p| p.name.clone()).collect(),
            book,
            retry: config.retry.clone(),
            reads,
            read_models: ArcSwap::from_pointee((Arc::default(), u64::MAX, Arc::default())),
        }
    }

    /// The facts the stored accounts' reads found.
    pub fn reads(&self) -> &Arc<Reads> {
        &self.reads
    }

    /// The models each entry serves from its accounts' reads, for `pools`: rebuilt only
    /// when the pools or the read models changed since.
    fn read_models(&self, pools: &Arc<Vec<accounts::AccountPool>>) -> Arc<ReadModels> {
        let generation = self.reads.generation();
        let held = self.read_models.load();
        if Arc::ptr_eq(&held.0, pools) && held.1 == generation {
            return held.2.clone();
        }
        let built = Arc::new(ReadModels::build(
            pools.iter().map(|pool| {
                pool.accounts()
                    .iter()
                    .filter(|slot| slot.stored.is_some())
                    .map(|slot| slot.id.as_str())
                    .collect()
            }),
            self.reads.models(),
        ));
        self.read_models
            .store(Arc::new((pools.clone(), generation, built.clone())));
        built
    }

    /// The cooldowns.
    pub fn book(&self) -> &CooldownBook {
        &self.book
    }

    /// The pools now, rebuilt first when the store or the registry changed since.
    pub fn pools(&self, registry: &Arc<Registry>) -> Arc<Vec<accounts::AccountPool>> {
        let Some(store) = &self.store else {
            return self.pools.load_full();
        };
        let snapshot = store.snapshot();
        let mut built_for = self.built_for.lock().unwrap_or_else(|p| p.into_inner());
        let current = built_for.as_ref().is_some_and(|(built, with)| {
            Arc::ptr_eq(built, &snapshot) && Arc::ptr_eq(with, registry)
        });
        if !current {
            let old = self.pools.load_full();
            if let Some((before, _)) = built_for.as_ref() {
                self.forgive_new_credentials(before, &snapshot);
            }
            let pools: Vec<accounts::AccountPool> = self
                .entries
                .iter()
                .enumerate()
                .map(|(i, entry)| {
                    let adapter = registry.provider(&entry.adapter).map(|p| &p.info);
                    let stored = crate::accounts::serving(entry, adapter, &snapshot);
                    let cursor = old.get(i).map_or(0, accounts::AccountPool::cursor);
                    accounts::AccountPool::new(entry, &stored).with_cursor(cursor)
                })
                .collect();
            self.pools.store(Arc::new(pools));
            *built_for = Some((snapshot, registry.clone()));
        }
        self.pools.load_full()
    }

    /// The models clients may ask for.
    pub fn list_models(&self, registry: &Arc<Registry>) -> Vec<ListedModel> {
        let read = self.read_models(&self.pools(registry));
        self.table.list(registry, &read)
    }

    /// A stored account that was disabled and whose file is enabled again (a new
    /// login clears the flag) serves again at once, whatever rest its refusal left; one
    /// resting as disabled whose file holds a new access token does too. A token the
    /// host refreshed after a refusal does not count: if the upstream still refuses it,
    /// its rest stands.
    fn forgive_new_credentials(&self, before: &Snapshot, snapshot: &Snapshot) {
        for (id, now) in &snapshot.accounts {
            let Some(before) = before.accounts.get(id) else {
                continue;
            };
            if now.disabled.is_some() {
                continue;
            }
            if before.disabled.is_some() {
                self.book.clear(
                    id,
                    &[
                        CooldownReason::AuthRejected,
                        CooldownReason::AccountDisabled,
                    ],
                );
            } else if before.tokens.access.as_ref().map(Secret::expose)
                != now.tokens.access.as_ref().map(Secret::expose)
            {
                self.book.clear(id, &[CooldownReason::AccountDisabled]);
            }
        }
    }

    /// The attempts that may serve `requested`, or 404 `model_not_found`.
    pub fn plan(&self, requested: &str, registry: &Arc<Registry>) -> Result<Plan<'_>, ClientError> {
        let pools = self.pools(registry);
        let read = self.read_models(&pools);
        let candidates = self.table.resolve(requested, registry, &read);
        if candidates.is_empty() {
            return Err(ClientError::new(
                ErrorKind::NotFound,
                format!("The model `{requested}` does not exist or is not served here; GET /v1/models lists the models"),
            )
            .code("model_not_found")
            .param("model"));
        }
        Ok(Plan {
            pools,
            read,
            router: self,
            requested: requested.to_owned(),
            candidates,
            current: 0,
            tried: HashSet::new(),
            attempts: 0,
            resting: None,
        })
    }

    /// Decide a failed attempt: rest its account as the failure advises, and say
    /// whether to answer the client or try the next candidate. An upstream that says
    /// the account may not use it (suspended, not entitled) disables a stored account
    /// in its file, with the upstream's words as the reason, until an operator acts.
    pub fn settle(&self, attempt: &Attempt, failure: Failure) -> Next {
        if let Retry::AfterDelay {
            reason: CooldownReason::AccountDisabled,
            ..
        } = failure.retry
        {
            self.disable_stored(&attempt.account.id, &failure.error.message);
        }
        failover::settle(
            failure,
            &attempt.account.id,
            &self.retry,
            &self.book,
            Instant::now(),
        )
    }
}

impl Router {
    /// Why the entries of `candidates` have no account, when stored accounts they
    /// would use are disabled: `; disabled: ID (reason), …; log in again or enable
    /// them`; else empty.
    fn why_none(&self, candidates: &[Candidate]) -> String {
        let Some(store) = &self.store else {
            return String::new();
        };
        let snapshot = store.snapshot();
        let mut seen = HashSet::new();
        let disabled: Vec<String> = candidates
            .iter()
            .filter(|candidate| seen.insert(candidate.provider))
            .flat_map(|candidate| {
                crate::accounts::disabled(&self.entries[candidate.provider], &snapshot)
            })
            .map(|(id, reason)| format!("`{id}` ({reason})"))
            .collect();
        if disabled.is_empty() {
            return String::new();
        }
        format!(
            "; disabled: {}; log in again or enable them",
            disabled.join(", ")
        )
    }

    /// Record stored account `id` as disabled for `reason` (already redacted), unless
    /// it is not a stored account or is disabled already.
    fn disable_stored(&self, id: &str, reason: &str) {
        let Some(store) = &self.store else { return };
        let Some(file) = store.get(id) else { return };
        if file.disabled.is_some() {
            return;
        }
        let mut disabled = (*file).clone();
        disabled.set_disabled(Some(reason));
        match store.save(&disabled) {
            Ok(()) => {
                tracing::warn!(account = %id, reason, "upstream refused the account; disabled")
            }
            Err(error) => tracing::error!(account = %id, error = %format!("{error:#}"),
                "cannot record the account as disabled"),
        }
    }
}

/// One try: a provider entry, the upstream model, an account.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// Which entry and model.
    pub candidate: Candidate,
    /// Which account.
    pub account: Arc<AccountSlot>,
    /// 1 for the first attempt of the request.
    pub number: u32,
    /// What the account reads say of the model: the serving account's read entry,
    /// else any of its entry's accounts' (`None`: the adapter's own list decides).
    pub model_info: Option<ModelInfo>,
}

/// The remaining attempts of one request.
#[derive(Debug)]
pub struct Plan<'a> {
    router: &'a Router,
    pools: Arc<Vec<accounts::AccountPool>>,
    read: Arc<ReadModels>,
    requested: String,
    candidates: Vec<Candidate>,
    current: usize,
    tried: HashSet<String>,
    attempts: u32,
    resting: Option<(usize, Duration, CooldownReason)>,
}

impl Plan<'_> {
    /// The next attempt: the next free account of the current entry, then the next
    /// entry; `None` when entries or `retry.max-attempts` run out.
    pub fn next_attempt(&mut self) -> Option<Attempt> {
        if self.attempts >= self.router.retry.max_attempts {
            return None;
        }
        let now = Instant::now();
        while let Some(candidate) = self.candidates.get(self.current) {
            match self.pools[candidate.provider].pick(&self.router.book, &self.tried, now) {
                Pick::Account(account) => {
                    self.tried.insert(account.id.clone());
                    self.attempts += 1;
                    let model_info =
                        self.read
                            .info(candidate.provider, &account.id, &candidate.upstream_model);
                    return Some(Attempt {
                        candidate: candidate.clone(),
                        account,
                        number: self.attempts,
                        model_info,
                    });
                }
                Pick::AllResting { soonest, reason } => {
                    if self.resting.is_none_or(|(_, s, _)| soonest < s) {
                        self.resting = Some((candidate.provider, soonest, reason.reason));
                    }
                    self.current += 1;
                }
                Pick::Exhausted => self.current += 1,
            }
        }
        None
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The error when no attempt could even start (every account resting).
    pub fn nothing_available(&self) -> ClientError {
        match self.resting {
            Some((provider, soonest, reason)) => {
                let kind = match reason {
                    CooldownReason::RateLimited | CooldownReason::QuotaExhausted => {
                        ErrorKind::RateLimited
                    }
                    CooldownReason::Overloaded
                    | CooldownReason::AuthRejected
                    | CooldownReason::AccountDisabled
                    | CooldownReason::Unreachable => ErrorKind::Overloaded,
                };
                ClientError::new(
                    kind,
                    format!(
                        "every account serving `{}` is resting (provider `{}`: {}); retry in {} s",
                        self.requested,
                        self.router.names[provider],
                        reason.describe(),
                        whole_seconds(soonest)
                    ),
                )
                .code("rate_limit_exceeded")
                .retry_after(soonest)
            }
            None => ClientError::new(
                ErrorKind::Overloaded,
                format!(
                    "no account can serve `{}`{}",
                    self.requested,
                    self.router.why_none(&self.candidates)
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Redactor;
    use crate::failure::AttemptFailures;
    use crate::ir::{ErrorClass, UpstreamError};

    fn router(retry: &str) -> Router {
        let text = format!(
            "api-keys: [k]\nretry: {retry}\nproviders:\n  - {{name: a, adapter: x, api-keys: [k1, k2], models: [m]}}\n  - {{name: b, adapter: x, api-keys: [k3], models: [m]}}\n"
        );
        Router::new(&Config::parse(&text).unwrap().0)
    }

    fn rate_limited() -> Failure {
        let classified = UpstreamError {
            class: ErrorClass::RateLimited {
                retry_after_ms: Some(30_000),
            },
            message: "slow down".into(),
        };
        AttemptFailures::new("a", "x@0.1.0", 2000, Redactor::default())
            .upstream_answer(429, &classified)
    }

    #[test]
    fn a_rate_limited_account_fails_over_to_the_next_account_then_the_next_entry() {
        let router = router("{max-attempts: 5}");
        let registry = Arc::new(Registry::default());
        let mut plan = router.plan("m", &registry).unwrap();
        let mut seen = Vec::new();
        while let Some(attempt) = plan.next_attempt() {
            seen.push(attempt.account.id.clone());
            assert!(matches!(
                router.settle(&attempt, rate_limited()),
                Next::TryNext(_)
            ));
        }
        assert_eq!(seen, ["a#1", "a#2", "b#1"]);

        // The next request finds everyone resting and says so without calling upstream.
        let mut plan = router.plan("m", &registry).unwrap();
        assert!(plan.next_attempt().is_none());
        let error = plan.nothing_available();
        assert_eq!(error.kind.status(), 429);
        assert!(error.message.contains("retry in"), "{}", error.message);
        let after = error
            .retry_after_secs()
            .expect("a Retry-After for the client");
        assert!((29..=30).contains(&after), "{after}");
    }

    #[test]
    fn attempts_stop_at_max_attempts() {
        let router = router("{max-attempts: 2}");
        let registry = Arc::new(Registry::default());
        let mut plan = router.plan("m", &registry).unwrap();
        assert!(plan.next_attempt().is_some());
        assert!(plan.next_attempt().is_some());
        assert!(plan.next_attempt().is_none());
        assert_eq!(plan.attempts(), 2);
    }

    #[test]
    fn an_unknown_model_is_a_404_naming_only_the_model() {
        let error = router("{}")
            .plan("nope", &Arc::new(Registry::default()))
            .unwrap_err();
        assert_eq!(error.kind.status(), 404);
        assert_eq!(error.code.as_deref(), Some("model_not_found"));
        assert!(error.message.contains("`nope`"));
        assert!(!error.message.contains("k1"));
    }
}
