//! The `management:` section: who may use the management API under `/v0/management/`
//! (and `/metrics` on the main port), from where, and how failed attempts lock an
//! address out.
//!
//! The API is off (every path under it answers 404) unless a key is configured:
//! `management.key`, else the `PLUGBOARD_MANAGEMENT_KEY` environment variable, else
//! `management.key-sha256` (the key's SHA-256 in hex, so the file need not hold the key).

use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::credentials::Secret;

/// The environment variable that holds the management key when the config does not.
pub const KEY_ENV: &str = "PLUGBOARD_MANAGEMENT_KEY";

/// The `management:` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct ManagementSettings {
    /// The management key (`${ENV}` allowed). Takes precedence over
    /// `PLUGBOARD_MANAGEMENT_KEY` and `key-sha256`.
    pub key: Option<Secret>,
    /// The key's SHA-256, 64 hex digits, instead of the key itself.
    #[serde(deserialize_with = "sha256_hex")]
    pub key_sha256: Option<[u8; 32]>,
    /// Accept management calls from peers other than 127.0.0.1 and ::1.
    pub allow_remote: bool,
    /// Failed attempts from one peer address, within `failure-window-s`, that lock it out.
    pub max_failures: u32,
    /// The window failed attempts are counted in, seconds.
    pub failure_window_s: u64,
    /// How long a locked-out address is refused (429), seconds.
    pub lockout_s: u64,
}

impl Default for ManagementSettings {
    fn default() -> Self {
        Self {
            key: None,
            key_sha256: None,
            allow_remote: false,
            max_failures: 5,
            failure_window_s: 600,
            lockout_s: 1800,
        }
    }
}

/// The management key in force: what presented keys are compared with.
#[derive(Clone)]
pub struct ManagementKey {
    /// SHA-256 of the key (the config gives either the key or its hash).
    digest: [u8; 32],
}

impl std::fmt::Debug for ManagementKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ManagementKey(<redacted>)")
    }
}

impl ManagementKey {
    /// Constant-time: whether `presented` is the key (its SHA-256 equals ours).
    pub fn matches(&self, presented: &str) -> bool {
        let theirs = Sha256::digest(presented.as_bytes());
        self.digest.ct_eq(theirs.as_slice()).into()
    }
}

impl ManagementSettings {
    /// The key in force: `key`, else `env_key` (the value of
    /// [`KEY_ENV`], passed in so tests need not touch the process environment), else
    /// `key-sha256`. `None`: the management API is off. An empty key counts as unset.
    pub fn resolve_key(&self, env_key: Option<&str>) -> Option<ManagementKey> {
        let digest = |text: &str| -> [u8; 32] { Sha256::digest(text.as_bytes()).into() };
        if let Some(key) = self.key.as_ref().filter(|key| !key.is_empty()) {
            return Some(ManagementKey {
                digest: digest(key.expose()),
            });
        }
        if let Some(key) = env_key.filter(|key| !key.is_empty()) {
            return Some(ManagementKey {
                digest: digest(key),
            });
        }
        self.key_sha256.map(|digest| ManagementKey { digest })
    }

    /// [`Self::resolve_key`] with the process's `PLUGBOARD_MANAGEMENT_KEY`.
    pub fn key_in_force(&self) -> Option<ManagementKey> {
        self.resolve_key(std::env::var(KEY_ENV).ok().as_deref())
    }

    /// Replace `${ENV}` references in `key`.
    pub(crate) fn expand_env(&mut self) -> anyhow::Result<()> {
        if let Some(key) = &mut self.key {
            let expanded = super::env::expand(key.expose(), "management.key")?;
            *key.expose_mut() = expanded;
        }
        Ok(())
    }
}

/// `key-sha256`: 64 hex digits (either case).
fn sha256_hex<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<[u8; 32]>, D::Error> {
    let Some(text) = Option::<String>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let text = text.trim();
    let bytes = hex::decode(text).ok().filter(|bytes| bytes.len() == 32);
    match bytes {
        Some(bytes) => {
            let mut digest = [0u8; 32];
            digest.copy_from_slice(&bytes);
            Ok(Some(digest))
        }
        None => Err(serde::de::Error::custom(
            "`management.key-sha256` must be 64 hex digits (the SHA-256 of the key, e.g. `printf %s KEY | sha256sum`)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ManagementSettings {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn the_key_the_environment_or_the_hash_in_that_order() {
        let off = parse("{}");
        assert!(off.resolve_key(None).is_none(), "no key: the API is off");
        assert!(
            off.resolve_key(Some("")).is_none(),
            "an empty key is no key"
        );
        assert!(off.resolve_key(Some("env-key")).unwrap().matches("env-key"));

        let keyed = parse("key: file-key");
        let key = keyed.resolve_key(Some("env-key")).unwrap();
        assert!(key.matches("file-key") && !key.matches("env-key"));
        assert!(!format!("{key:?}{keyed:?}").contains("file-key"));

        let hashed = parse(&format!(
            "key-sha256: {}",
            hex::encode(Sha256::digest(b"hashed"))
        ));
        let key = hashed.resolve_key(None).unwrap();
        assert!(key.matches("hashed"));
        assert!(!key.matches("hashed "));
        assert!(!key.matches(""));
    }

    #[test]
    fn a_malformed_hash_is_refused_with_what_is_expected() {
        let error = serde_yaml_ng::from_str::<ManagementSettings>("key-sha256: abc")
            .unwrap_err()
            .to_string();
        assert!(error.contains("64 hex digits"), "{error}");
        let defaults = parse("{}");
        assert_eq!(
            (
                defaults.max_failures,
                defaults.failure_window_s,
                defaults.lockout_s
            ),
            (5, 600, 1800)
        );
        assert!(!defaults.allow_remote);
    }
}
