//! The config file: YAML with kebab-case keys, strict about unknown keys, every key
//! documented with its default in `config.example.yaml` at the repository root.
//!
//! Defaults live here and only here (one owner per fact). String values may use
//! `${ENV_VAR}` (see [`env`]).

pub mod client_keys;
pub mod env;
pub mod management;
mod model_entry;
mod usage;
mod validate;
mod yaml;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

use crate::credentials::Secret;
use crate::runtime::RuntimeSettings;

pub use model_entry::ModelEntry;
pub use usage::{MetricsSettings, UsageSettings};
pub use validate::{ConfigErrors, KeyError, KeyErrors, Warning, check_against_registry};
pub use yaml::line_of;

/// The whole config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Address to listen on (`host:port`).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Client keys the proxy accepts.
    #[serde(default)]
    pub api_keys: Vec<Secret>,
    /// Named client keys with limits (quotas, rates, allowed models); see
    /// [`client_keys`]. They authenticate like `api-keys`, which stay keys without
    /// limits.
    #[serde(default)]
    pub client_keys: client_keys::ClientKeys,
    /// Serve without client keys. Must be said explicitly: an empty `api-keys`
    /// without it refuses to start.
    #[serde(default)]
    pub allow_unauthenticated: bool,
    /// Directory of adapter and fixup `.wasm` files (watched for hot swap).
    #[serde(default = "default_adapters_dir")]
    pub adapters_dir: PathBuf,
    /// Compiled-component cache; `<adapters-dir>/.cache` when unset.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// Reload this file when it changes (SIGHUP and the management API reload it
    /// either way). Read at start.
    #[serde(default = "default_true")]
    pub watch_config: bool,
    /// Log filter (`info`, `debug`, `plugboard=debug,info`...); `RUST_LOG` overrides it.
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// Resource limits.
    #[serde(default)]
    pub limits: Limits,
    /// Retry, cooldown and failover.
    #[serde(default)]
    pub retry: RetrySettings,
    /// The credential store: one JSON file per account (Plugboard's own, or
    /// CLIProxyAPI's auth directory as it is). `~/.plugboard/auth` when unset.
    #[serde(default)]
    pub auth_dir: Option<PathBuf>,
    /// Provider entries, in routing preference order.
    #[serde(default)]
    pub providers: Vec<ProviderEntry>,
    /// The management API: its key and who may use it.
    #[serde(default)]
    pub management: management::ManagementSettings,
    /// The usage store (see `config/usage.rs`).
    #[serde(default)]
    pub usage: UsageSettings,
    /// Prometheus metrics (see `config/usage.rs`).
    #[serde(default)]
    pub metrics: MetricsSettings,
}

/// Resource limits.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Limits {
    /// Largest client request body, bytes.
    pub max_body_bytes: usize,
    /// Most linear memory one guest may use, MiB.
    pub guest_memory_mb: usize,
    /// Longest one guest call may run, milliseconds.
    pub guest_call_timeout_ms: u64,
    /// Longest wait for a TCP/TLS connection to an upstream, milliseconds.
    pub upstream_connect_timeout_ms: u64,
    /// Longest wait for an upstream's response head (first byte), seconds.
    pub upstream_timeout_s: u64,
    /// Longest silence between two chunks of an upstream's body, seconds: a stream
    /// that stops mid-answer ends with the dialect's error instead of hanging.
    pub upstream_idle_timeout_s: u64,
    /// Most guest instances alive at once.
    pub max_instances: u32,
    /// KiB of each guest memory a freed pool slot keeps resident for its next instance.
    pub guest_keep_resident_kb: usize,
    /// Most requests one guest instance serves (all of one caller); 1: a fresh
    /// instance per request.
    pub guest_instance_requests: u32,

    // Client connections (the front door): what a slow, silent or greedy client may hold.
    /// Longest a client may take to send a request's head (request line and headers),
    /// seconds: counted from the connection's opening, or on a kept-alive connection
    /// from the first byte of the next request.
    pub header_read_timeout_s: u64,
    /// Longest a kept-alive client connection may sit idle between requests, seconds.
    pub client_idle_timeout_s: u64,
    /// Longest a request body may go without a byte arriving, seconds (then 408).
    pub request_body_timeout_s: u64,
    /// Most client connections open at once; over it, new connections wait in the
    /// listen backlog until one closes.
    pub max_connections: u32,
    /// On SIGTERM or SIGINT, longest to let requests in flight finish, seconds; the
    /// connections still open then are cut.
    pub shutdown_grace_s: u64,
}

impl Default for Limits {
    fn default() -> Self {
        let runtime = RuntimeSettings::default();
        Self {
            max_body_bytes: 32 << 20,
            guest_memory_mb: runtime.guest_memory_bytes >> 20,
            guest_call_timeout_ms: runtime.guest_call_timeout.as_millis() as u64,
            upstream_connect_timeout_ms: 10_000,
            upstream_timeout_s: 600,
            upstream_idle_timeout_s: 300,
            max_instances: runtime.max_instances,
            guest_keep_resident_kb: runtime.keep_resident_bytes >> 10,
            guest_instance_requests: runtime.instance_requests,

            header_read_timeout_s: 10,
            client_idle_timeout_s: 30,
            request_body_timeout_s: 30,
            max_connections: 4096,
            // Under Kubernetes' default 30 s termination grace, so the log line saying
            // what was cut is written before a SIGKILL could come.
            shutdown_grace_s: 25,
        }
    }
}

/// Retry, cooldown and failover.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct RetrySettings {
    /// Most upstream attempts per client request (accounts and providers together).
    pub max_attempts: u32,
    /// Cooldown for a rate-limited account when the upstream gave no Retry-After, seconds.
    pub cooldown_s: u64,
    /// Cooldown for an account whose quota is exhausted, without Retry-After, seconds.
    pub quota_cooldown_s: u64,
    /// Cooldown for an overloaded upstream, without Retry-After, seconds.
    pub overloaded_cooldown_s: u64,
    /// How long an account whose credential was rejected stays disabled, seconds.
    pub auth_disable_s: u64,
    /// Rest for an account whose upstream timed out, refused the connection or fell
    /// silent mid-answer, seconds.
    pub unreachable_cooldown_s: u64,
    /// Longest rest any upstream can ask for with `Retry-After` (or a reset time),
    /// seconds; longer hints are cut to this and the log says so.
    pub max_retry_after_s: u64,
}

impl RetrySettings {
    /// The rest for `reason` when the upstream gave no hint.
    pub fn default_rest(&self, reason: crate::routing::CooldownReason) -> Duration {
        use crate::routing::CooldownReason;
        Duration::from_secs(match reason {
            CooldownReason::RateLimited => self.cooldown_s,
            CooldownReason::QuotaExhausted => self.quota_cooldown_s,
            CooldownReason::Overloaded => self.overloaded_cooldown_s,
            CooldownReason::AuthRejected | CooldownReason::AccountDisabled => self.auth_disable_s,
            CooldownReason::Unreachable => self.unreachable_cooldown_s,
        })
    }
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            cooldown_s: 60,
            quota_cooldown_s: 3600,
            overloaded_cooldown_s: 5,
            auth_disable_s: 300,
            unreachable_cooldown_s: 30,
            max_retry_after_s: 86_400,
        }
    }
}

/// One provider entry: an adapter, where it sends requests and with which keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ProviderEntry {
    /// Unique name; clients may address `name/model`.
    pub name: String,
    /// Adapter id, as the component's `info()` names itself.
    pub adapter: String,
    /// Upstream base URL; the adapter's `base` endpoint when unset. Shorthand for
    /// `endpoints: {base: ...}` (setting both is an error).
    #[serde(default)]
    pub base_url: Option<String>,
    /// The adapter's named endpoints pointed elsewhere (`token: https://...`) for
    /// enterprise hosts, regions and tests; the egress grant follows each override.
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
    /// Account keys; one account per key, of the adapter's first key credential kind.
    #[serde(default)]
    pub api_keys: Vec<Secret>,
    /// Accounts besides `api-keys`: `auth-dir` (every account in the credential store
    /// whose kind the adapter declares), or a list whose items are store account ids
    /// (file stems) or inline named accounts. With `api-keys`, all take turns, keys
    /// first.
    #[serde(default)]
    pub accounts: AccountSelection,
    /// Refresh stored accounts' tokens this many seconds before they expire, instead of
    /// the lead time the adapter declares.
    #[serde(default)]
    pub refresh_lead_s: Option<u32>,
    /// Models served; the adapter's own list when empty.
    #[serde(default)]
    pub models: Vec<ModelEntry>,
    /// Fixup ids applied after the adapter's default fixups, in order.
    #[serde(default)]
    pub fixups: Vec<String>,
    /// A request the upstream refuses as too long is retried once, cut by this reducing
    /// fixup; off when unset.
    #[serde(default)]
    pub context_recovery: Option<ContextRecovery>,
    /// Hosts granted to the adapter besides the base URL's host (exact or `*.suffix`);
    /// only those the adapter also declares are reachable.
    #[serde(default)]
    pub allow_hosts: Vec<String>,
    /// Free-form, non-secret settings handed to the adapter as JSON.
    #[serde(default)]
    pub config: Option<serde_json::Value>,
    /// `config` as JSON text, written once when the file is read (every request hands
    /// it to the sandbox).
    #[serde(skip)]
    config_text: Arc<str>,
    /// The egress policy of this entry's last request (`EgressMemo`).
    #[serde(skip)]
    pub egress: crate::upstream::EgressMemo,
}

impl ProviderEntry {
    /// The `config:` block as JSON object text (`{}` when unset), for the sandbox.
    pub fn config_json(&self) -> Arc<str> {
        if self.config_text.is_empty() {
            return Self::render_config(self.config.as_ref());
        }
        self.config_text.clone()
    }

    fn render_config(config: Option<&serde_json::Value>) -> Arc<str> {
        match config {
            Some(value) => Arc::from(value.to_string()),
            None => Arc::from("{}"),
        }
    }
}

/// A provider entry's `context-recovery`: how a request the upstream refused as too long
/// for the model's context (class `context-too-long`) is retried, once, on the same
/// account.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ContextRecovery {
    /// The reducing fixup's id (`history-trim`): run first in the retry's chain, and
    /// only there (it is not one of the entry's `fixups`).
    pub fixup: String,
    /// The size, in estimated tokens, the conversation is cut to (the fixup's
    /// `fixup-context.token-budget`); the fixup chooses when unset (`history-trim`: half
    /// the request).
    #[serde(default)]
    pub budget_tokens: Option<u32>,
}

/// Which accounts a provider entry uses besides its `api-keys`.
#[derive(Debug, Clone, Default)]
pub enum AccountSelection {
    /// Every account in the credential store whose kind the entry's adapter declares.
    AuthDir,
    /// These, in order.
    List(Vec<AccountRef>),
    /// None (the default).
    #[default]
    Nothing,
}

/// One item of an entry's `accounts:` list.
#[derive(Debug, Clone)]
pub enum AccountRef {
    /// An account of the credential store, by id (its file stem).
    Stored(String),
    /// An account written in the config file.
    Inline(AccountEntry),
}

impl AccountSelection {
    /// The inline accounts, in order.
    pub fn inline(&self) -> impl Iterator<Item = &AccountEntry> {
        self.items().filter_map(|item| match item {
            AccountRef::Inline(entry) => Some(entry),
            AccountRef::Stored(_) => None,
        })
    }

    /// The inline accounts, mutable (for `${ENV}` expansion).
    fn inline_mut(&mut self) -> impl Iterator<Item = &mut AccountEntry> {
        let items: &mut [AccountRef] = match self {
            AccountSelection::List(items) => items,
            _ => &mut [],
        };
        items.iter_mut().filter_map(|item| match item {
            AccountRef::Inline(entry) => Some(entry),
            AccountRef::Stored(_) => None,
        })
    }

    /// The store ids listed by name.
    pub fn stored(&self) -> impl Iterator<Item = &str> {
        self.items().filter_map(|item| match item {
            AccountRef::Stored(id) => Some(id.as_str()),
            AccountRef::Inline(_) => None,
        })
    }

    /// Whether the entry takes accounts from the credential store.
    pub fn uses_store(&self) -> bool {
        matches!(self, AccountSelection::AuthDir) || self.stored().next().is_some()
    }

    fn items(&self) -> std::slice::Iter<'_, AccountRef> {
        match self {
            AccountSelection::List(items) => items.iter(),
            _ => [].iter(),
        }
    }
}

impl<'de> Deserialize<'de> for AccountSelection {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Selection;
        impl<'de> serde::de::Visitor<'de> for Selection {
            type Value = AccountSelection;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`auth-dir`, or a list of account ids and named accounts")
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
                if value == "auth-dir" {
                    Ok(AccountSelection::AuthDir)
                } else {
                    Err(E::custom(format!(
                        "`accounts: {value}`: the one word accepted is `auth-dir`; list store account ids as `[id, ...]`"
                    )))
                }
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(AccountSelection::Nothing)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<AccountRef>()? {
                    items.push(item);
                }
                Ok(AccountSelection::List(items))
            }
        }
        deserializer.deserialize_any(Selection)
    }
}

impl<'de> Deserialize<'de> for AccountRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Item;
        impl<'de> serde::de::Visitor<'de> for Item {
            type Value = AccountRef;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a store account id, or a named account `{name, kind, secret, attributes}`",
                )
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(AccountRef::Stored(value.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                AccountEntry::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(AccountRef::Inline)
            }
        }
        deserializer.deserialize_any(Item)
    }
}

/// One named account of a provider entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AccountEntry {
    /// Unique within the entry; logs and errors say `<entry>:<name>`.
    pub name: String,
    /// One of the adapter's credential kinds (`plugboard adapters show ID` lists them);
    /// the adapter's first key kind when unset.
    #[serde(default)]
    pub kind: Option<String>,
    /// The secret the kind places on requests (a key, an access token).
    #[serde(default)]
    pub secret: Option<Secret>,
    /// Non-secret facts the adapter reads (a project id, an account id, a region).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

impl ProviderEntry {
    /// The configured URL of the endpoint `name`, if the entry overrides it
    /// (`base-url` is the `base` endpoint's).
    pub fn endpoint_override(&self, name: &str) -> Option<&str> {
        if name == "base"
            && let Some(url) = &self.base_url
        {
            return Some(url);
        }
        self.endpoints.get(name).map(String::as_str)
    }

    /// Every upstream secret the entry holds: its `api-keys`, then its accounts'
    /// secrets (what the redactor must know).
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        self.api_keys.iter().chain(
            self.accounts
                .inline()
                .filter_map(|account| account.secret.as_ref()),
        )
    }

    /// Every overridden endpoint, `base-url` included, as (name, URL).
    pub fn endpoint_overrides(&self) -> impl Iterator<Item = (&str, &str)> {
        let base = self.base_url.as_deref().map(|url| ("base", url));
        base.into_iter().chain(
            self.endpoints
                .iter()
                .map(|(name, url)| (name.as_str(), url.as_str())),
        )
    }
}

/// Where the credential store lives when `auth-dir` is unset.
pub const DEFAULT_AUTH_DIR: &str = "~/.plugboard/auth";

fn default_listen() -> String {
    "127.0.0.1:8317".to_owned()
}

fn default_adapters_dir() -> PathBuf {
    PathBuf::from("adapters")
}

fn default_true() -> bool {
    true
}

fn default_log_level() -> String {
    "info".to_owned()
}

impl Config {
    /// Read, parse, expand `${ENV}` and validate the file at `path`. Errors name the
    /// file, and for syntax errors, unknown or duplicate keys, the line.
    pub fn load(path: &Path) -> anyhow::Result<(Config, Vec<Warning>)> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid config file {}", path.display()))
    }

    /// Parse, expand and validate config text.
    pub fn parse(text: &str) -> anyhow::Result<(Config, Vec<Warning>)> {
        // An empty file is a valid (all-defaults) config; serde_yaml_ng sees it as null.
        let mut config: Config = if text.trim().is_empty() {
            serde_yaml_ng::from_str("{}")?
        } else {
            // The parser stops at the first wrong key; when there are more, name them all.
            yaml::from_str(text).map_err(|first| {
                let every = yaml::every_wrong_key::<Config>(text);
                if every.len() < 2 {
                    return first;
                }
                placed_all(
                    text,
                    every
                        .iter()
                        .map(|(key, message)| (key.as_str(), message.as_str())),
                )
                .into()
            })?
        };
        config.expand_env().map_err(|error| placed(text, error))?;
        let warnings = validate::validate(&config).map_err(|error| placed(text, error))?;
        Ok((config, warnings))
    }

    /// The listen address, parsed.
    pub fn listen_addr(&self) -> anyhow::Result<SocketAddr> {
        self.listen
            .parse()
            .with_context(|| format!("`listen: {}` is not a host:port address", self.listen))
    }

    /// Where compiled components are cached.
    pub fn cache_dir(&self) -> PathBuf {
        self.cache_dir
            .clone()
            .unwrap_or_else(|| self.adapters_dir.join(".cache"))
    }

    /// The credential store's directory: `auth-dir`, else `~/.plugboard/auth` (a
    /// leading `~/` is the home directory).
    pub fn auth_dir(&self) -> PathBuf {
        let dir = self
            .auth_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_AUTH_DIR));
        match dir.strip_prefix("~") {
            Ok(rest) => match std::env::var_os("HOME") {
                Some(home) => PathBuf::from(home).join(rest),
                None => dir,
            },
            Err(_) => dir,
        }
    }

    /// Runtime knobs derived from `limits` and `cache-dir`.
    pub fn runtime_settings(&self) -> RuntimeSettings {
        RuntimeSettings {
            cache_dir: Some(self.cache_dir()),
            guest_memory_bytes: self.limits.guest_memory_mb << 20,
            guest_call_timeout: Duration::from_millis(self.limits.guest_call_timeout_ms),
            max_instances: self.limits.max_instances,
            keep_resident_bytes: self.limits.guest_keep_resident_kb << 10,
            instance_requests: self.limits.guest_instance_requests,
            compiler: None,
        }
    }

    /// Replace `${ENV}` references in every string value.
    fn expand_env(&mut self) -> anyhow::Result<()> {
        self.listen = env::expand(&self.listen, "listen")?;
        expand_secrets(&mut self.api_keys, "api-keys")?;
        self.client_keys.expand_env()?;
        expand_path(&mut self.adapters_dir, "adapters-dir")?;
        if let Some(dir) = &mut self.cache_dir {
            expand_path(dir, "cache-dir")?;
        }
        if let Some(dir) = &mut self.auth_dir {
            expand_path(dir, "auth-dir")?;
        }
        self.log_level = env::expand(&self.log_level, "log-level")?;
        self.management.expand_env()?;
        for (i, provider) in self.providers.iter_mut().enumerate() {
            let at = format!("providers[{i}]");
            provider.name = env::expand(&provider.name, &format!("{at}.name"))?;
            provider.adapter = env::expand(&provider.adapter, &format!("{at}.adapter"))?;
            if let Some(url) = &mut provider.base_url {
                *url = env::expand(url, &format!("{at}.base-url"))?;
            }
            expand_secrets(&mut provider.api_keys, &format!("{at}.api-keys"))?;
            for (name, url) in provider.endpoints.iter_mut() {
                *url = env::expand(url, &format!("{at}.endpoints.{name}"))?;
            }
            for (j, account) in provider.accounts.inline_mut().enumerate() {
                let at = format!("{at}.accounts[{j}]");
                account.name = env::expand(&account.name, &format!("{at}.name"))?;
                if let Some(secret) = &mut account.secret {
                    expand_secrets(std::slice::from_mut(secret), &format!("{at}.secret"))?;
                }
                for (name, value) in account.attributes.iter_mut() {
                    *value = env::expand(value, &format!("{at}.attributes.{name}"))?;
                }
            }
            for model in &mut provider.models {
                model.name = env::expand(&model.name, &format!("{at}.models"))?;
                if let Some(alias) = &mut model.alias {
                    *alias = env::expand(alias, &format!("{at}.models"))?;
                }
            }
            for host in &mut provider.allow_hosts {
                *host = env::expand(host, &format!("{at}.allow-hosts"))?;
            }
            if let Some(block) = &mut provider.config {
                expand_json(block, &format!("{at}.config"))?;
            }
            provider.config_text = ProviderEntry::render_config(provider.config.as_ref());
        }
        Ok(())
    }
}

/// Errors about keys ([`KeyError`], [`KeyErrors`]) as [`ConfigErrors`], each with its
/// key's line in `text`; other errors as they are.
fn placed(text: &str, error: anyhow::Error) -> anyhow::Error {
    let errors = match error.downcast::<KeyErrors>() {
        Ok(KeyErrors(errors)) => errors,
        Err(error) => match error.downcast::<KeyError>() {
            Ok(one) => vec![one],
            Err(error) => return error,
        },
    };
    placed_all(
        text,
        errors.iter().map(|e| (e.key.as_str(), e.message.as_str())),
    )
    .into()
}

/// Each `(key, message)` as `` `providers[1].name` at line 7: message `` (without the
/// line when the key is not in the text), in the order of their lines, unplaced last.
fn placed_all<'a>(text: &str, errors: impl Iterator<Item = (&'a str, &'a str)>) -> ConfigErrors {
    let mut placed: Vec<(Option<usize>, String)> = errors
        .map(|(key, message)| match yaml::line_of(text, key) {
            Some(line) => (Some(line), format!("`{key}` at line {line}: {message}")),
            None => (None, format!("`{key}`: {message}")),
        })
        .collect();
    placed.sort_by_key(|(line, _)| line.unwrap_or(usize::MAX));
    ConfigErrors(placed.into_iter().map(|(_, text)| text).collect())
}

fn expand_secrets(keys: &mut [Secret], key: &str) -> anyhow::Result<()> {
    for secret in keys {
        let expanded = env::expand(secret.expose(), key)?;
        *secret.expose_mut() = expanded;
    }
    Ok(())
}

fn expand_path(path: &mut PathBuf, key: &str) -> anyhow::Result<()> {
    if let Some(text) = path.to_str() {
        *path = PathBuf::from(env::expand(text, key)?);
    }
    Ok(())
}

fn expand_json(value: &mut serde_json::Value, key: &str) -> anyhow::Result<()> {
    match value {
        serde_json::Value::String(text) => *text = env::expand(text, key)?,
        serde_json::Value::Array(items) => {
            for item in items {
                expand_json(item, key)?;
            }
        }
        serde_json::Value::Object(map) => {
            for (name, item) in map.iter_mut() {
                expand_json(item, &format!("{key}.{name}"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests;
