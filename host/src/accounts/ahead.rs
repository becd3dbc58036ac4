//! The background refresh: every few seconds, each stored account a provider entry
//! uses whose token expires within its lead time (the adapter's `refresh-spec.lead-s`,
//! or the entry's `refresh-lead-s`) is refreshed, so requests rarely wait for one.
//! Accounts no entry uses are left alone (`plugboard accounts refresh` still works).
//!
//! A token that lives shorter than the lead time would be due again the moment it was
//! refreshed; such a token is refreshed at half its life instead.

use std::collections::HashSet;
use std::sync::Weak;
use std::time::{Duration, SystemTime};

use super::live::{Accounts, KindEnv, Why};
use crate::pipeline::{Gateway, WeakGateway, account_endpoints};

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
            let due = current.tokens.expires_at.is_some_and(|expires| {
                due_at(expires, current.tokens.last_refresh, lead) <= SystemTime::now()
            });
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

/// When a token that expires at `expires` (issued at `issued`, when known) is due for
/// its refresh ahead: `lead` before it expires, or at half its life when it lives
/// shorter than `lead`.
pub fn due_at(expires: SystemTime, issued: Option<SystemTime>, lead: Duration) -> SystemTime {
    let ahead = expires.checked_sub(lead).unwrap_or(SystemTime::UNIX_EPOCH);
    match issued.and_then(|issued| expires.duration_since(issued).ok()) {
        Some(life) if life <= lead => issued.map_or(ahead, |issued| issued + life / 2),
        _ => ahead,
    }
}

/// Every [`EVERY`] until the gateway is dropped: [`refresh_due`], then the state file
/// (cooldowns and quotas of stored accounts, for `plugboard accounts list`). The
/// account reads run in a task of their own beside it ([`super::reads::spawn`]), so a
/// slow read never delays a refresh.
pub fn spawn(gateway: WeakGateway) -> tokio::task::JoinHandle<()> {
    let reads = super::reads::spawn(gateway.clone());
    tokio::spawn(async move {
        // The reads end with the gateway; this makes sure they do when we end first.
        let _reads = AbortOnDrop(reads);
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
            written = super::state::write(
                store.dir(),
                gateway.router.book(),
                &gateway.router.reads().all(),
                &ids,
                written.take(),
            );
        }
    })
}

/// Aborts its task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_due_its_lead_before_expiry_or_at_half_life_when_it_lives_shorter() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let hour = Duration::from_secs(3600);
        // Lives 8 h, lead 4 h: due 4 h after issue.
        assert_eq!(due_at(t0 + 8 * hour, Some(t0), 4 * hour), t0 + 4 * hour);
        // Lives 30 s, lead 60 s: due at 15 s, not at once (and not every tick).
        let s = Duration::from_secs(1);
        assert_eq!(due_at(t0 + 30 * s, Some(t0), 60 * s), t0 + 15 * s);
        // Issue time unknown: the lead alone.
        assert_eq!(due_at(t0 + 30 * s, None, 60 * s), t0 - 30 * s);
    }
}
