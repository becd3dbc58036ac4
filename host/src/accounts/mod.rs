//! Accounts: the credential store, logins, refresh and token exchange, all run by
//! the host. A token never enters a guest or a log.

pub mod ahead;
pub mod cli;
pub mod file;
pub mod import;
pub mod live;
pub mod oauth;
pub mod reads;
pub mod sessions;
pub mod setup;
pub mod state;
pub mod store;

pub use live::{Accounts, Credential, CredentialError, KindEnv, Why};

use std::sync::Arc;

use crate::config::{AccountSelection, ProviderEntry};
use crate::runtime::ProviderInfo;
use file::AccountFile;
use store::Snapshot;

/// The stored accounts provider entry `entry` uses now, in id order: with
/// `accounts: auth-dir`, every account whose kind the entry's adapter declares; with a
/// list, the listed ids the store holds (of a kind the adapter declares). Disabled
/// accounts serve no request. `adapter` is the entry's adapter as loaded now (`None`:
/// not loaded, so no account can serve).
pub fn serving(
    entry: &ProviderEntry,
    adapter: Option<&ProviderInfo>,
    snapshot: &Snapshot,
) -> Vec<Arc<AccountFile>> {
    let Some(info) = adapter else {
        return Vec::new();
    };
    selected(entry, snapshot)
        .filter(|file| file.disabled.is_none() && info.credential_kind(&file.kind).is_some())
        .cloned()
        .collect()
}

/// The stored accounts provider entry `entry` would use but that are disabled, with
/// their reasons (recorded redacted): what a client is told when no account serves.
pub fn disabled<'a>(
    entry: &'a ProviderEntry,
    snapshot: &'a Snapshot,
) -> impl Iterator<Item = (&'a str, &'a str)> {
    selected(entry, snapshot).filter_map(|file| Some((file.id.as_str(), file.disabled.as_deref()?)))
}

/// The stored accounts `entry` selects (every one with `accounts: auth-dir`, else the
/// listed ids the store holds), in id order.
fn selected<'a>(
    entry: &'a ProviderEntry,
    snapshot: &'a Snapshot,
) -> Box<dyn Iterator<Item = &'a Arc<AccountFile>> + 'a> {
    match &entry.accounts {
        AccountSelection::AuthDir => Box::new(snapshot.accounts.values()),
        selection => Box::new(
            selection
                .stored()
                .filter_map(|id| snapshot.accounts.get(id)),
        ),
    }
}
