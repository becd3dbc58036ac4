//! Secrets the host holds and never hands to a guest: client API keys and provider
//! account keys.
//!
//! A [`Secret`] cannot be printed by accident: its `Debug` and `Display` say
//! `<redacted>`, and the only way to the text is the explicit [`Secret::expose`].
//! Comparison with a presented key is constant-time ([`Secret::matches`]).

use std::fmt;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A secret string (an API key or token) with a redacting `Debug`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret text, for the one place that must send it (credential injection).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Mutable access, for `${ENV}` expansion at config load.
    pub(crate) fn expose_mut(&mut self) -> &mut String {
        &mut self.0
    }

    /// True when the secret is the empty string (an unset `${ENV}` with an empty default).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Constant-time check that `presented` equals this secret. Both sides are hashed
    /// first so that neither the content nor the length of the secret leaks through
    /// timing.
    pub fn matches(&self, presented: &str) -> bool {
        let ours = Sha256::digest(self.0.as_bytes());
        let theirs = Sha256::digest(presented.as_bytes());
        ours.ct_eq(&theirs).into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// True when `presented` equals any of `keys`. Every key is compared (no early exit),
/// so the position of the matching key does not leak either.
pub fn any_key_matches(keys: &[Secret], presented: &str) -> bool {
    let mut found = subtle::Choice::from(0u8);
    for key in keys {
        found |= subtle::Choice::from(u8::from(key.matches(presented)));
    }
    found.into()
}

/// Shortest secret the [`Redactor`] looks for: shorter ones (test keys, `k1`) would
/// blank out ordinary words of a message.
const SHORTEST_REDACTED: usize = 8;

/// What a redacted credential is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Removes every credential the host holds from text that came from outside (an
/// upstream's error message that echoes the key, a transport error, a guest's panic)
/// before it reaches a client or a log. Cheap to clone; clones share one list, which
/// [`Redactor::set`] replaces as tokens are refreshed and accounts come and go.
#[derive(Clone, Default)]
pub struct Redactor {
    /// The secrets, longest first, so a key that contains another is replaced whole.
    secrets: std::sync::Arc<arc_swap::ArcSwap<Vec<String>>>,
}

impl Redactor {
    /// A redactor for `secrets` (empty and very short ones are skipped).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Self {
        let redactor = Self::default();
        redactor.set(secrets);
        redactor
    }

    /// Make `secrets` the list this redactor and all its clones look for.
    pub fn set<'a>(&self, secrets: impl IntoIterator<Item = &'a Secret>) {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .filter(|secret| secret.0.len() >= SHORTEST_REDACTED)
            .map(|secret| secret.0.clone())
            .collect();
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.dedup();
        self.secrets.store(std::sync::Arc::new(secrets));
    }

    /// `text` with every secret replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in self.secrets.load().iter() {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), REDACTED);
            }
        }
        text
    }
}

/// The redactor in force for text that reaches the log outside a request's failure
/// path (a guest's `host.log` lines); installed with the config.
static INSTALLED: std::sync::RwLock<Option<Redactor>> = std::sync::RwLock::new(None);

impl Redactor {
    /// Make this the redactor for [`redact_log`].
    pub fn install(&self) {
        *INSTALLED.write().unwrap_or_else(|p| p.into_inner()) = Some(self.clone());
    }
}

/// `text` with every credential of the installed redactor removed (unchanged when
/// none is installed).
pub fn redact_log(text: &str) -> String {
    match &*INSTALLED.read().unwrap_or_else(|p| p.into_inner()) {
        Some(redactor) => redactor.redact(text),
        None => text.to_owned(),
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.load().len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let key = Secret::new("sk-very-secret");
        assert_eq!(format!("{key:?}"), "Secret(<redacted>)");
        assert_eq!(format!("{key}"), "<redacted>");
        let in_a_struct = format!("{:?}", vec![key.clone()]);
        assert!(!in_a_struct.contains("very-secret"));
        assert_eq!(key.expose(), "sk-very-secret");
    }

    #[test]
    fn a_key_matches_only_itself() {
        let keys = vec![Secret::new("sk-one"), Secret::new("sk-two")];
        assert!(any_key_matches(&keys, "sk-two"));
        assert!(!any_key_matches(&keys, "sk-tw"));
        assert!(!any_key_matches(&keys, "sk-two "));
        assert!(!any_key_matches(&keys, ""));
        assert!(!any_key_matches(&[], "sk-one"));
    }

    #[test]
    fn the_redactor_removes_every_held_key_from_upstream_text() {
        let keys = [
            Secret::new("sk-upstream-secret-1"),
            Secret::new("sk-upstream-secret-1-longer"),
            Secret::new("k1"),
        ];
        let redactor = Redactor::new(&keys);
        assert_eq!(
            redactor.redact("Incorrect API key provided: sk-upstream-secret-1-longer (and sk-upstream-secret-1)."),
            "Incorrect API key provided: [redacted] (and [redacted])."
        );
        // Too short to look for: ordinary words stay intact.
        assert_eq!(redactor.redact("k1 is fine"), "k1 is fine");
        assert!(!format!("{redactor:?}").contains("sk-upstream"));

        // A refreshed token replaces the list for every clone.
        let clone = redactor.clone();
        redactor.set(&[Secret::new("oat-refreshed-token")]);
        assert_eq!(
            clone.redact("oat-refreshed-token sk-upstream-secret-1"),
            "[redacted] sk-upstream-secret-1"
        );
    }
}
