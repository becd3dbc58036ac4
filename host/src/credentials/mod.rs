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
}
