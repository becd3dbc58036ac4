//! The background refresh: every few seconds, each stored account a provider entry
//! uses whose token expires within its lead time (the adapter's `refresh-spec.lead-s`,
//! or the entry's `refresh-lead-s`) is refreshed, so requests rarely wait for one.
//! Accounts no entry uses are left alone (`plugboard accounts refresh` still works).

use std::collections::HashSet;
use std::sync::Weak;
use std::time::{Duration, SystemTime};

use super::live::{Accounts, KindEnv, Why};
use crate::pipeline::{Gateway, account_endpoints};

/// How often the loop looks.
pub const EVERY: Duration = Duration::from_secs(5);

/// Refresh every due account once; returns how many were tried.
pub async fn refresh_due(gateway: &Gateway, accounts: &Accounts) -> usize {
    let registry = gateway.runtime.registry();
    let pools = gateway.router.pools(&registry);
    let mut seen = HashSet::new();
    let mut tried = 0;
    for (entry, pool) in gateway.config.providers.iter().zip(pools.iter()) {
        let Some(provider) = registry.provider(&entry.adapter) else {
            continue;
        };
        for slot in pool.accounts() {
            let Some(file) = slot.stored.as_ref() else {
                continue;
            };
            if !seen.insert(slot.id.clone()) {
                continue;
            }
            let Some(kind) = provider.info.credential_kind(&file.kind) else {
                continue;
            };
            let Some(spec) = &kind.declared.refresh else {
                continue;
            };
            let lead = Duration::from_secs(u64::from(entry.refresh_lead_s.unwrap_or(spec.lead_s)));
            // The store's current file, not the pool's copy.
            let Some(current) = accounts.store().get(&slot.id) else {
                continue;
            };
            let due = current
                .tokens
                .expires_at
                .is_some_and(|at| at <= SystemTime::now() + lead);
            if !due || current.tokens.refresh.is_none() || current.disabled.is_some() {
                continue;
            }
            if accounts
                .backoff(&slot.id)
                .is_some_and(|(until, _)| until > std::time::Instant::now())
            {
                continue;
            }
            let Ok(endpoints) = account_endpoints(provider, entry, slot) else {
                continue;
            };
            let env = KindEnv {
                kind,
                endpoints: &endpoints,
            };
            tried += 1;
            // Failures are logged and recorded by `refresh` itself.
            let _ = accounts.refresh(&slot.id, &env, Why::Ahead).await;
        }
    }
    tried
}

/// Every [`EVERY`] until the gateway is dropped: [`refresh_due`], then the state file
/// (cooldowns of stored accounts, for `plugboard accounts list`).
pub fn spawn(gateway: Weak<Gateway>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut written: Option<String> = None;
        loop {
            tick.tick().await;
            let Some(gateway) = gateway.upgrade() else {
                return;
            };
            let Some(accounts) = gateway.accounts.clone() else {
                return;
            };
            refresh_due(&gateway, &accounts).await;
            let store = accounts.store();
            let ids: Vec<String> = store.snapshot().accounts.keys().cloned().collect();
            written = super::state::write(store.dir(), gateway.router.book(), &ids, written.take());
        }
    })
}

/// Keep `accounts`' redactor in step with the store after each change.
pub fn on_store_change(
    accounts: Weak<Accounts>,
) -> Box<dyn Fn(&super::store::Snapshot) + Send + Sync> {
    Box::new(move |_| {
        if let Some(accounts) = accounts.upgrade() {
            accounts.update_redactor();
        }
    })
}
