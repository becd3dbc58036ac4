//! `client-keys:`: named client keys, each with its own limits (allowed models, rates,
//! concurrency, daily and monthly quotas).
//!
//! Why named keys beside the plain `api-keys` list: a team shares one Plugboard, and
//! the operator wants to know who spent what and to cap each person or tool. An entry
//! holds the key itself (`key`, which may be `${ENV}`) or only its SHA-256
//! (`key-sha256`, so the config file need not hold the secret). Every limit left out
//! is unlimited; `models` left out allows every model.
//!
//! Entries are checked while the YAML is read, so a wrong entry is refused naming its
//! line. The governance that enforces the limits is [`crate::governance`]; keys created
//! through the management API live beside the config file (`client-keys.json`) and
//! are merged with these.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::credentials::Secret;

/// The limits of one client key; `None` is unlimited (for `models`: every model).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KeyLimits {
    /// Client model names this key may ask for (as the client sends them; a trailing
    /// `*` matches any suffix). `None`: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    /// Requests admitted in any sliding 60 s window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u64>,
    /// Tokens (input + output, as the upstream reported them) of requests that
    /// finished in any sliding 60 s window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
    /// Requests in flight at once (a stream counts until it ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u64>,
    /// Requests per UTC day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_day: Option<u64>,
    /// Tokens per UTC day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_day: Option<u64>,
    /// Requests per UTC calendar month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_month: Option<u64>,
    /// Tokens per UTC calendar month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_month: Option<u64>,
}

impl KeyLimits {
    /// Each numeric limit with its config key, for checks and messages.
    pub fn numeric(&self) -> [(&'static str, Option<u64>); 7] {
        [
            ("rpm", self.rpm),
            ("tpm", self.tpm),
            ("concurrency", self.concurrency),
            ("requests-per-day", self.requests_per_day),
            ("tokens-per-day", self.tokens_per_day),
            ("requests-per-month", self.requests_per_month),
            ("tokens-per-month", self.tokens_per_month),
        ]
    }

    /// Refuse a zero limit (write nothing for unlimited) and an empty model name.
    pub fn check(&self) -> Result<(), String> {
        for (key, value) in self.numeric() {
            if value == Some(0) {
                return Err(format!(
                    "`{key}` must be at least 1 (leave it out for no limit)"
                ));
            }
        }
        if let Some(models) = &self.models
            && models.iter().any(|model| model.trim().is_empty())
        {
            return Err("`models` has an empty model name".to_owned());
        }
        Ok(())
    }

    /// Whether this key may ask for `model` (exact name, or a pattern with a trailing
    /// `*`).
    pub fn allows_model(&self, model: &str) -> bool {
        match &self.models {
            None => true,
            Some(models) => models
                .iter()
                .any(|allowed| match allowed.strip_suffix('*') {
                    Some(prefix) => model.starts_with(prefix),
                    None => allowed == model,
                }),
        }
    }

    /// Whether any limit is set.
    pub fn is_unlimited(&self) -> bool {
        self.models.is_none() && self.numeric().iter().all(|(_, value)| value.is_none())
    }
}

/// One `client-keys:` entry as written in the file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawEntry {
    name: String,
    #[serde(default)]
    key: Option<Secret>,
    #[serde(default)]
    key_sha256: Option<String>,
    #[serde(default)]
    models: Option<Vec<String>>,
    #[serde(default)]
    rpm: Option<u64>,
    #[serde(default)]
    tpm: Option<u64>,
    #[serde(default)]
    concurrency: Option<u64>,
    #[serde(default)]
    requests_per_day: Option<u64>,
    #[serde(default)]
    tokens_per_day: Option<u64>,
    #[serde(default)]
    requests_per_month: Option<u64>,
    #[serde(default)]
    tokens_per_month: Option<u64>,
}

/// One named client key of the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawEntry")]
pub struct ClientKeyEntry {
    /// Unique; logs, usage rows and the management API name the key by it.
    pub name: String,
    /// The key itself, or only its SHA-256.
    pub key: KeyMaterial,
    /// Its limits.
    pub limits: KeyLimits,
}

/// How an entry holds its key.
#[derive(Debug, Clone)]
pub enum KeyMaterial {
    /// The key (`key:`), possibly from `${ENV}`.
    Plain(Secret),
    /// Only its SHA-256 (`key-sha256:`), lowercase hex.
    Sha256(String),
}

impl KeyMaterial {
    /// The SHA-256 of the key. `None` for a plain key that is empty (an unset
    /// `${ENV}`), which validation refuses.
    pub fn digest(&self) -> Option<[u8; 32]> {
        match self {
            KeyMaterial::Plain(secret) if secret.is_empty() => None,
            KeyMaterial::Plain(secret) => Some(Sha256::digest(secret.expose().as_bytes()).into()),
            KeyMaterial::Sha256(text) => parse_sha256(text),
        }
    }
}

/// A SHA-256 written as 64 hex digits.
pub fn parse_sha256(text: &str) -> Option<[u8; 32]> {
    let mut digest = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut digest).ok()?;
    Some(digest)
}

/// Whether `name` is acceptable as a client key's name: 1 to 64 characters of
/// letters, digits, `-`, `_`, `.` and `@` (it appears in URLs of the management API,
/// log lines and usage exports).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
}

impl TryFrom<RawEntry> for ClientKeyEntry {
    type Error = String;

    fn try_from(raw: RawEntry) -> Result<Self, String> {
        let name = raw.name;
        if !valid_name(&name) {
            return Err(format!(
                "client key name `{name}` must be 1 to 64 letters, digits, `-`, `_`, `.` or `@`"
            ));
        }
        let key = match (raw.key, raw.key_sha256) {
            (Some(key), None) => KeyMaterial::Plain(key),
            (None, Some(digest)) => {
                if parse_sha256(&digest).is_none() {
                    return Err(format!(
                        "client key `{name}`: `key-sha256` must be 64 hex digits (the SHA-256 of the key)"
                    ));
                }
                KeyMaterial::Sha256(digest.trim().to_ascii_lowercase())
            }
            (Some(_), Some(_)) => {
                return Err(format!(
                    "client key `{name}`: set `key` or `key-sha256`, not both"
                ));
            }
            (None, None) => {
                return Err(format!("client key `{name}`: needs `key` or `key-sha256`"));
            }
        };
        let limits = KeyLimits {
            models: raw.models,
            rpm: raw.rpm,
            tpm: raw.tpm,
            concurrency: raw.concurrency,
            requests_per_day: raw.requests_per_day,
            tokens_per_day: raw.tokens_per_day,
            requests_per_month: raw.requests_per_month,
            tokens_per_month: raw.tokens_per_month,
        };
        limits
            .check()
            .map_err(|reason| format!("client key `{name}`: {reason}"))?;
        Ok(Self { name, key, limits })
    }
}

/// The `client-keys:` list: entries with unique names.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "Vec<ClientKeyEntry>")]
pub struct ClientKeys(pub Vec<ClientKeyEntry>);

impl TryFrom<Vec<ClientKeyEntry>> for ClientKeys {
    type Error = String;

    fn try_from(entries: Vec<ClientKeyEntry>) -> Result<Self, String> {
        let mut names = std::collections::HashSet::new();
        for entry in &entries {
            if !names.insert(entry.name.as_str()) {
                return Err(format!(
                    "client key name `{}` is used twice; names must be unique",
                    entry.name
                ));
            }
        }
        Ok(Self(entries))
    }
}

impl std::ops::Deref for ClientKeys {
    type Target = [ClientKeyEntry];
    fn deref(&self) -> &[ClientKeyEntry] {
        &self.0
    }
}

impl ClientKeys {
    /// Expand `${ENV}` in names and keys.
    pub(super) fn expand_env(&mut self) -> anyhow::Result<()> {
        for (i, entry) in self.0.iter_mut().enumerate() {
            let at = format!("client-keys[{i}]");
            entry.name = super::env::expand(&entry.name, &format!("{at}.name"))?;
            if let KeyMaterial::Plain(secret) = &mut entry.key {
                let expanded = super::env::expand(secret.expose(), &format!("{at}.key"))?;
                *secret.expose_mut() = expanded;
            }
        }
        Ok(())
    }

    /// The plain keys (what the redactor must know).
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        self.0.iter().filter_map(|entry| match &entry.key {
            KeyMaterial::Plain(secret) => Some(secret),
            KeyMaterial::Sha256(_) => None,
        })
    }

    /// Checks after `${ENV}` expansion, against the plain `api-keys` too: no empty
    /// key, no key used twice (a presented key names one caller).
    pub(super) fn validate(&self, api_keys: &[Secret]) -> anyhow::Result<()> {
        let mut seen: Vec<([u8; 32], String)> = api_keys
            .iter()
            .map(|key| {
                (
                    Sha256::digest(key.expose().as_bytes()).into(),
                    "an `api-keys` entry".to_owned(),
                )
            })
            .collect();
        for entry in &self.0 {
            if !valid_name(&entry.name) {
                anyhow::bail!(
                    "client key name `{}` must be 1 to 64 letters, digits, `-`, `_`, `.` or `@`",
                    entry.name
                );
            }
            let Some(digest) = entry.key.digest() else {
                anyhow::bail!(
                    "client key `{}`: `key` is empty (is its ${{ENV_VAR}} set?)",
                    entry.name
                );
            };
            if let Some((_, other)) = seen.iter().find(|(known, _)| *known == digest) {
                anyhow::bail!(
                    "client key `{}` has the same key as {other}; each key must be distinct",
                    entry.name
                );
            }
            seen.push((digest, format!("client key `{}`", entry.name)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn parse(yaml: &str) -> anyhow::Result<Config> {
        Config::parse(yaml).map(|(config, _)| config)
    }

    #[test]
    fn an_entry_reads_its_key_or_digest_and_limits() {
        let digest = hex::encode(Sha256::digest(b"sk-bob"));
        let config = parse(&format!(
            "api-keys: [sk-plain]\nclient-keys:\n  - name: alice\n    key: sk-alice\n    models: [gpt-4o, 'claude-*']\n    rpm: 10\n    tokens-per-month: 1000000\n  - name: bob\n    key-sha256: {}\n",
            digest.to_uppercase()
        ))
        .unwrap();
        let alice = &config.client_keys[0];
        assert_eq!(alice.name, "alice");
        assert_eq!(alice.limits.rpm, Some(10));
        assert_eq!(alice.limits.tokens_per_month, Some(1_000_000));
        assert_eq!(alice.limits.tpm, None);
        assert!(alice.limits.allows_model("gpt-4o"));
        assert!(alice.limits.allows_model("claude-sonnet-4"));
        assert!(!alice.limits.allows_model("gpt-4o-mini"));
        let bob = &config.client_keys[1];
        assert!(bob.limits.is_unlimited());
        assert_eq!(
            bob.key.digest(),
            Some(<[u8; 32]>::from(Sha256::digest(b"sk-bob")))
        );
        assert!(!format!("{config:?}").contains("sk-alice"));
    }

    #[test]
    fn a_wrong_entry_is_refused_naming_the_key_and_its_line() {
        let cases = [
            (
                "client-keys:\n  - name: a\n    key: k1\n  - name: a\n    key: k2\n",
                "used twice",
            ),
            (
                "client-keys:\n  - name: a\n    key: k1\n    key-sha256: 00\n",
                "not both",
            ),
            ("client-keys:\n  - name: a\n", "needs `key` or `key-sha256`"),
            (
                "client-keys:\n  - name: a\n    key-sha256: abc\n",
                "64 hex digits",
            ),
            (
                "client-keys:\n  - name: a\n    key: k1\n    rpm: 0\n",
                "`rpm` must be at least 1",
            ),
            (
                "client-keys:\n  - name: a\n    key: k1\n    tpm: -5\n",
                "tpm",
            ),
            (
                "client-keys:\n  - name: a\n    key: k1\n    rmp: 5\n",
                "unknown field `rmp`",
            ),
            (
                "client-keys:\n  - name: a b\n    key: k1\n",
                "must be 1 to 64",
            ),
        ];
        for (yaml, expected) in cases {
            let error = format!(
                "{:#}",
                parse(&format!("api-keys: [x]\n{yaml}")).unwrap_err()
            );
            assert!(error.contains(expected), "{yaml}: {error}");
            assert!(error.contains("line "), "{yaml}: {error}");
        }
    }

    #[test]
    fn keys_must_be_distinct_and_non_empty_after_expansion() {
        let error = format!(
            "{:#}",
            parse("api-keys: [sk-same]\nclient-keys:\n  - {name: a, key: sk-same}\n").unwrap_err()
        );
        assert!(error.contains("client key `a` has the same key as an `api-keys` entry"));
        assert!(!error.contains("sk-same"), "{error}");
        let error = format!(
            "{:#}",
            parse("api-keys: [x]\nclient-keys:\n  - {name: a, key: '${PLUGBOARD_UNSET_CLIENT_KEY_FOR_TEST:-}'}\n")
                .unwrap_err()
        );
        assert!(error.contains("`key` is empty"), "{error}");
    }

    #[test]
    fn client_keys_alone_authenticate_so_api_keys_may_be_empty() {
        let config = parse("client-keys:\n  - {name: a, key: sk-a}\n").unwrap();
        assert_eq!(config.client_keys.len(), 1);
    }
}
