//! Client keys with governance: who the caller is, and whether its limits let this
//! request through.
//!
//! Every named client key (config `client-keys:`, and keys created through the
//! management API, kept in `client-keys.json` beside the config file) has limits:
//! allowed models, `rpm` and `tpm` (sliding 60 s windows; `tpm` counts the tokens of
//! finished requests), `concurrency`, and requests and tokens per UTC day and month.
//! The pipeline asks [`Governance::admit`] right after decoding the request and before
//! routing; a refusal is the client's 429 with `Retry-After` (403 for a model the key
//! may not use). An admitted request holds an [`Admission`] until its answer ends (a
//! stream until its last byte or the client's disconnect); dropping it frees the
//! concurrency slot and records the request's tokens.
//!
//! Keys of the plain `api-keys` list are callers without a name and without limits.
//! Only SHA-256 digests of keys are kept in memory and on disk (a config `key:` is
//! hashed when read); a presented key is compared with every digest in constant time.

pub mod counters;
mod file;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::client_keys::{ClientKeyEntry, KeyLimits, valid_name};
use crate::credentials::Secret;
use crate::failure::{ClientError, ErrorKind};
use crate::ir::Usage;

pub use counters::{Limit, Moment, Over, Totals, UsageNow};

/// Who made a request, as authentication found it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The client key's name; empty for a key of the plain `api-keys` list (or an
    /// unauthenticated server).
    pub client_key: String,
}

impl Caller {
    /// A caller of a named client key.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            client_key: name.into(),
        }
    }

    /// A caller of the plain `api-keys` list (no name, no limits).
    pub fn plain() -> Self {
        Self::default()
    }
}

/// Where a key is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// The config file's `client-keys:`; changed there, not through the API.
    Config,
    /// Created through the management API; kept in `client-keys.json`.
    Api,
}

/// One known key.
#[derive(Debug, Clone)]
struct Key {
    name: String,
    digest: [u8; 32],
    limits: KeyLimits,
    origin: Origin,
    /// RFC 3339, for keys created through the API.
    created: Option<String>,
}

#[derive(Default)]
struct State {
    /// Every named key, by name.
    keys: BTreeMap<String, Key>,
    /// Counters by key name; kept across config reloads and limit changes.
    counters: BTreeMap<String, counters::Counters>,
}

struct Shared {
    state: Mutex<State>,
    /// `client-keys.json`, once attached; created keys are written there.
    file: Mutex<Option<PathBuf>>,
}

/// The client keys and their counters; cheap to clone (clones share everything).
#[derive(Clone)]
pub struct Governance {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Governance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Governance({} keys)", self.lock().keys.len())
    }
}

/// What the management API lists for a key: never the key itself.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct KeyView {
    /// The key's name.
    pub name: String,
    /// The first 8 hex digits of the key's SHA-256.
    pub fingerprint: String,
    /// Where it is defined.
    pub origin: Origin,
    /// When it was created through the API (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Its limits (absent ones are unlimited).
    pub limits: KeyLimits,
    /// Its counters now.
    pub usage: UsageNow,
}

/// A key just created: the only moment its secret is known.
#[derive(Debug)]
pub struct CreatedKey {
    /// What is listed for it from now on.
    pub view: KeyView,
    /// The key; shown once, never stored (only its SHA-256 is).
    pub key: Secret,
}

/// The body of `POST client-keys`: `{"name": "ci", "limits": {"rpm": 60}}` (the same
/// `limits` object the list shows; left out, the key is unlimited).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NewKey {
    /// The new key's name.
    pub name: String,
    /// Its limits.
    #[serde(default)]
    pub limits: KeyLimits,
}

/// A change of limits (`PATCH client-keys/{name}`): a field left out keeps its value,
/// `null` removes the limit, a value sets it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LimitsPatch {
    /// `models`.
    #[serde(default, deserialize_with = "present")]
    pub models: Option<Option<Vec<String>>>,
    /// `rpm`.
    #[serde(default, deserialize_with = "present")]
    pub rpm: Option<Option<u64>>,
    /// `tpm`.
    #[serde(default, deserialize_with = "present")]
    pub tpm: Option<Option<u64>>,
    /// `concurrency`.
    #[serde(default, deserialize_with = "present")]
    pub concurrency: Option<Option<u64>>,
    /// `requests-per-day`.
    #[serde(default, deserialize_with = "present")]
    pub requests_per_day: Option<Option<u64>>,
    /// `tokens-per-day`.
    #[serde(default, deserialize_with = "present")]
    pub tokens_per_day: Option<Option<u64>>,
    /// `requests-per-month`.
    #[serde(default, deserialize_with = "present")]
    pub requests_per_month: Option<Option<u64>>,
    /// `tokens-per-month`.
    #[serde(default, deserialize_with = "present")]
    pub tokens_per_month: Option<Option<u64>>,
}

/// A field that is present: `Some(None)` for `null`, `Some(Some(v))` for a value.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

impl LimitsPatch {
    /// `limits` with this patch applied.
    pub fn apply(&self, limits: &KeyLimits) -> KeyLimits {
        fn pick<T: Clone>(patch: &Option<Option<T>>, old: &Option<T>) -> Option<T> {
            match patch {
                Some(new) => new.clone(),
                None => old.clone(),
            }
        }
        KeyLimits {
            models: pick(&self.models, &limits.models),
            rpm: pick(&self.rpm, &limits.rpm),
            tpm: pick(&self.tpm, &limits.tpm),
            concurrency: pick(&self.concurrency, &limits.concurrency),
            requests_per_day: pick(&self.requests_per_day, &limits.requests_per_day),
            tokens_per_day: pick(&self.tokens_per_day, &limits.tokens_per_day),
            requests_per_month: pick(&self.requests_per_month, &limits.requests_per_month),
            tokens_per_month: pick(&self.tokens_per_month, &limits.tokens_per_month),
        }
    }
}

/// Why a management call on keys was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// 400: a bad name or limit.
    #[error("{0}")]
    Invalid(String),
    /// 409: the name is taken.
    #[error("a client key named `{0}` exists already")]
    NameTaken(String),
    /// 404: no such key.
    #[error("no client key named `{0}`")]
    NotFound(String),
    /// 409: the key is defined in the config file; change it there.
    #[error(
        "client key `{0}` is defined in the config file's `client-keys:`; change it there (or with PUT config)"
    )]
    ConfigOwned(String),
    /// 500: `client-keys.json` could not be written; nothing changed.
    #[error("cannot save the client keys: {0:#}")]
    Persist(anyhow::Error),
}

impl KeyError {
    /// The HTTP status the management API answers with.
    pub fn status(&self) -> u16 {
        match self {
            KeyError::Invalid(_) => 400,
            KeyError::NotFound(_) => 404,
            KeyError::NameTaken(_) | KeyError::ConfigOwned(_) => 409,
            KeyError::Persist(_) => 500,
        }
    }
}

/// Requests and tokens per client key since a moment, read back from the usage store
/// at start so day and month quotas survive a restart.
pub trait QuotaSeed {
    /// `(client key name, requests, tokens)` of every request since `since`.
    fn totals_since(&self, since: time::OffsetDateTime) -> anyhow::Result<Vec<(String, Totals)>>;
}

/// The file name of the API-created keys, beside the config file.
pub const KEYS_FILE: &str = "client-keys.json";

/// Where the API-created keys of the config at `config_path` are kept.
pub fn keys_file_for(config_path: &Path) -> PathBuf {
    match config_path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(KEYS_FILE),
        _ => PathBuf::from(KEYS_FILE),
    }
}

impl Governance {
    /// The keys of the config's `client-keys:` (validated already), no file attached.
    pub fn new(entries: &[ClientKeyEntry]) -> Self {
        let governance = Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                file: Mutex::new(None),
            }),
        };
        governance
            .reconfigure(entries)
            .expect("a fresh governance has no API keys to clash with");
        governance
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Load the API-created keys from `path` (none if it does not exist) and keep
    /// future changes there. A name also in the config is refused, naming both.
    pub fn attach_file(&self, path: &Path) -> anyhow::Result<usize> {
        let stored = file::read(path)?;
        let mut state = self.lock();
        for entry in &stored {
            if let Some(known) = state.keys.get(&entry.name) {
                anyhow::bail!(
                    "client key `{}` is in {} and in the config's `client-keys:` ({:?}); remove one",
                    entry.name,
                    path.display(),
                    known.origin
                );
            }
        }
        let count = stored.len();
        for entry in stored {
            state.keys.insert(entry.name.clone(), entry.into_key());
        }
        *self
            .shared
            .file
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = Some(path.to_path_buf());
        Ok(count)
    }

    /// Whether `entries` could replace the config's keys: no name of an API-created
    /// key. For a config reload's validation.
    pub fn check_config(&self, entries: &[ClientKeyEntry]) -> anyhow::Result<()> {
        clash_with_api_keys(&self.lock(), entries)
    }

    /// Make `entries` the config's keys (a config reload): keys removed from the
    /// config stop authenticating, kept ones keep their counters, API-created keys
    /// stay. Refused, changing nothing, as [`Governance::check_config`] refuses.
    pub fn reconfigure(&self, entries: &[ClientKeyEntry]) -> anyhow::Result<()> {
        let mut state = self.lock();
        clash_with_api_keys(&state, entries)?;
        state.keys.retain(|_, key| key.origin == Origin::Api);
        for entry in entries {
            let Some(digest) = entry.key.digest() else {
                continue;
            };
            state.keys.insert(
                entry.name.clone(),
                Key {
                    name: entry.name.clone(),
                    digest,
                    limits: entry.limits.clone(),
                    origin: Origin::Config,
                    created: None,
                },
            );
        }
        let State { keys, counters } = &mut *state;
        counters.retain(|name, _| keys.contains_key(name));
        Ok(())
    }

    /// Whether any named key exists (then a key is required even on a server that
    /// allows unauthenticated use).
    pub fn has_keys(&self) -> bool {
        !self.lock().keys.is_empty()
    }

    /// The name of the key among `presented` that is a named client key. Every
    /// digest is compared with every presented key, in constant time each, without an
    /// early exit.
    pub fn identify(&self, presented: &[String]) -> Option<String> {
        let digests: Vec<[u8; 32]> = presented
            .iter()
            .map(|key| Sha256::digest(key.as_bytes()).into())
            .collect();
        let state = self.lock();
        let mut found = None;
        for key in state.keys.values() {
            let mut matched = subtle::Choice::from(0u8);
            for digest in &digests {
                matched |= key.digest.ct_eq(digest);
            }
            if bool::from(matched) && found.is_none() {
                found = Some(key.name.clone());
            }
        }
        found
    }

    /// Admit a request of `caller` for the client model `model`, or refuse it in the
    /// terms every dialect renders: 403 for a model the key may not use, 429 with
    /// `Retry-After` for a limit. A plain caller is always admitted.
    pub fn admit(&self, caller: &Caller, model: &str) -> Result<Admission, ClientError> {
        self.admit_at(caller, model, Moment::now())
    }

    /// [`Governance::admit`] at `now`.
    pub fn admit_at(
        &self,
        caller: &Caller,
        model: &str,
        now: Moment,
    ) -> Result<Admission, ClientError> {
        let name = &caller.client_key;
        if name.is_empty() {
            return Ok(Admission::unlimited());
        }
        let mut state = self.lock();
        let Some(key) = state.keys.get(name) else {
            // Deleted between authentication and now: refuse as a bad key would be.
            return Err(
                ClientError::new(ErrorKind::Authentication, "Incorrect API key provided")
                    .code("invalid_api_key"),
            );
        };
        let limits = key.limits.clone();
        if !limits.allows_model(model) {
            tracing::info!(client_key = %name, model, status = 403,
                "request refused: the client key may not use this model");
            return Err(ClientError::new(
                ErrorKind::Permission,
                format!("client key `{name}` may not use model `{model}`"),
            )
            .code("model_not_allowed")
            .param("model")
            .usage_class(REFUSED_MODEL));
        }
        let counters = state.counters.entry(name.clone()).or_default();
        match counters.admit(&limits, now) {
            Ok(()) => Ok(Admission {
                held: Some(Held {
                    governance: self.clone(),
                    name: name.clone(),
                    tokens: TokenTally(Some(Arc::new(AtomicU64::new(0)))),
                }),
            }),
            Err(over) => {
                let error = refusal(name, &over);
                tracing::info!(client_key = %name, limit = over.limit.key(), value = over.value,
                    retry_after_s = error.retry_after_secs().unwrap_or(1), status = 429,
                    "request refused: over the client key's limit");
                Err(error)
            }
        }
    }

    fn finish(&self, name: &str, tokens: u64) {
        let mut state = self.lock();
        if let Some(counters) = state.counters.get_mut(name) {
            counters.finish(tokens, Moment::now());
        }
    }

    /// Add the day's and the month's totals from the usage store to the counters
    /// (once, at start).
    pub fn seed_from(&self, source: &dyn QuotaSeed) -> anyhow::Result<()> {
        let now = Moment::now();
        let today = source.totals_since(counters::day_start(now.utc))?;
        let this_month = source.totals_since(counters::month_start(now.utc))?;
        let mut state = self.lock();
        let State { keys, counters } = &mut *state;
        for (name, month) in this_month {
            if !keys.contains_key(&name) {
                continue;
            }
            let day = today
                .iter()
                .find(|(other, _)| *other == name)
                .map(|(_, totals)| *totals)
                .unwrap_or_default();
            counters.entry(name).or_default().seed(day, month, now);
        }
        Ok(())
    }

    /// Every key, by name: what the management API lists.
    pub fn list(&self) -> Vec<KeyView> {
        let now = Moment::now();
        let mut state = self.lock();
        let State { keys, counters } = &mut *state;
        keys.values()
            .map(|key| view(key, counters.entry(key.name.clone()).or_default(), now))
            .collect()
    }

    /// One key, as listed.
    pub fn get(&self, name: &str) -> Option<KeyView> {
        self.list().into_iter().find(|key| key.name == name)
    }

    /// Create a key named `name` with `limits`: a random key, returned once; only its
    /// SHA-256 is kept, in `client-keys.json` when a file is attached (written before
    /// the key works, so a key that was shown survives a restart).
    pub fn create(&self, name: &str, limits: KeyLimits) -> Result<CreatedKey, KeyError> {
        if !valid_name(name) {
            return Err(KeyError::Invalid(format!(
                "client key name `{name}` must be 1 to 64 letters, digits, `-`, `_`, `.` or `@`"
            )));
        }
        limits.check().map_err(KeyError::Invalid)?;
        let mut random = [0u8; 24];
        getrandom::getrandom(&mut random)
            .map_err(|error| KeyError::Persist(anyhow::anyhow!("random source: {error}")))?;
        let secret = Secret::new(format!("sk-pb-{}", hex::encode(random)));
        let created = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let key = Key {
            name: name.to_owned(),
            digest: Sha256::digest(secret.expose().as_bytes()).into(),
            limits,
            origin: Origin::Api,
            created: Some(created),
        };
        let mut state = self.lock();
        if state.keys.contains_key(name) {
            return Err(KeyError::NameTaken(name.to_owned()));
        }
        state.keys.insert(name.to_owned(), key.clone());
        if let Err(error) = self.save(&state) {
            state.keys.remove(name);
            return Err(KeyError::Persist(error));
        }
        tracing::info!(client_key = name, fingerprint = %fingerprint(&key.digest), "client key created");
        let view = view(
            &key,
            state.counters.entry(key.name.clone()).or_default(),
            Moment::now(),
        );
        Ok(CreatedKey { view, key: secret })
    }

    /// Change an API-created key's limits.
    pub fn update(&self, name: &str, patch: &LimitsPatch) -> Result<KeyView, KeyError> {
        let mut state = self.lock();
        let Some(key) = state.keys.get(name) else {
            return Err(KeyError::NotFound(name.to_owned()));
        };
        if key.origin == Origin::Config {
            return Err(KeyError::ConfigOwned(name.to_owned()));
        }
        let old = key.limits.clone();
        let new = patch.apply(&old);
        new.check().map_err(KeyError::Invalid)?;
        state.keys.get_mut(name).expect("checked above").limits = new.clone();
        if let Err(error) = self.save(&state) {
            state.keys.get_mut(name).expect("checked above").limits = old;
            return Err(KeyError::Persist(error));
        }
        tracing::info!(client_key = name, limits = ?new, "client key limits changed");
        let State { keys, counters } = &mut *state;
        let key = &keys[name];
        Ok(view(
            key,
            counters.entry(name.to_owned()).or_default(),
            Moment::now(),
        ))
    }

    /// Delete an API-created key: it stops authenticating at once (requests in flight
    /// finish).
    pub fn delete(&self, name: &str) -> Result<(), KeyError> {
        let mut state = self.lock();
        let Some(key) = state.keys.get(name) else {
            return Err(KeyError::NotFound(name.to_owned()));
        };
        if key.origin == Origin::Config {
            return Err(KeyError::ConfigOwned(name.to_owned()));
        }
        let removed = state.keys.remove(name).expect("checked above");
        if let Err(error) = self.save(&state) {
            state.keys.insert(name.to_owned(), removed);
            return Err(KeyError::Persist(error));
        }
        state.counters.remove(name);
        tracing::info!(client_key = name, "client key deleted");
        Ok(())
    }

    /// Write the API-created keys to the attached file (nothing without one).
    fn save(&self, state: &State) -> anyhow::Result<()> {
        let file = self
            .shared
            .file
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone();
        let Some(path) = file else {
            return Ok(());
        };
        let stored: Vec<file::StoredKey> = state
            .keys
            .values()
            .filter(|key| key.origin == Origin::Api)
            .map(file::StoredKey::from_key)
            .collect();
        file::write(&path, &stored)
    }
}

/// Refuse config entries named like an API-created key.
fn clash_with_api_keys(state: &State, entries: &[ClientKeyEntry]) -> anyhow::Result<()> {
    for entry in entries {
        if let Some(key) = state.keys.get(&entry.name)
            && key.origin == Origin::Api
        {
            anyhow::bail!(
                "client key `{}` exists already (created through the management API); choose another name or delete that key",
                entry.name
            );
        }
    }
    Ok(())
}

/// The first 8 hex digits of a key's SHA-256 (as `accounts list` shows secrets).
fn fingerprint(digest: &[u8; 32]) -> String {
    hex::encode(&digest[..4])
}

fn view(key: &Key, counters: &mut counters::Counters, now: Moment) -> KeyView {
    KeyView {
        name: key.name.clone(),
        fingerprint: fingerprint(&key.digest),
        origin: key.origin,
        created: key.created.clone(),
        limits: key.limits.clone(),
        usage: counters.usage(now),
    }
}

/// The usage store's error class of a request refused by its client key's rate or
/// concurrency limits (the client sees `rate_limit_exceeded`).
pub const REFUSED_RATE: &str = "client_key_rate";
/// ... by its key's day or month quota (the client sees `insufficient_quota`).
pub const REFUSED_QUOTA: &str = "client_key_quota";
/// ... because its key may not use the model (the client sees `model_not_allowed`).
pub const REFUSED_MODEL: &str = "client_key_model";
/// Every class of a request its client key refused: not counted against the key's
/// quotas (the restart seed leaves them out, as the counters never counted them).
pub const REFUSED_BY_THE_KEY: [&str; 3] = [REFUSED_RATE, REFUSED_QUOTA, REFUSED_MODEL];

/// The client's error for a request over a limit: 429 with `Retry-After`; quotas say
/// `insufficient_quota` (OpenAI's code for it), rates `rate_limit_exceeded`.
fn refusal(name: &str, over: &Over) -> ClientError {
    let wait = crate::failure::whole_seconds(over.retry_after);
    let what = match over.limit {
        Limit::Rpm => format!("{} requests per minute", over.value),
        Limit::Tpm => format!("{} tokens per minute", over.value),
        Limit::Concurrency => format!("{} requests at once", over.value),
        Limit::RequestsPerDay => format!("{} requests per day", over.value),
        Limit::TokensPerDay => format!("{} tokens per day", over.value),
        Limit::RequestsPerMonth => format!("{} requests per month", over.value),
        Limit::TokensPerMonth => format!("{} tokens per month", over.value),
    };
    let (code, class) = if over.limit.is_quota() {
        ("insufficient_quota", REFUSED_QUOTA)
    } else {
        ("rate_limit_exceeded", REFUSED_RATE)
    };
    ClientError::new(
        ErrorKind::RateLimited,
        format!(
            "client key `{name}` is over its limit of {what} (`{}`); retry in {wait} s",
            over.limit.key()
        ),
    )
    .code(code)
    .usage_class(class)
    .retry_after(over.retry_after)
}

/// Where a request's tokens are added up as the answer passes (the relay adds each
/// `finish` event's usage). A no-op for callers without limits.
#[derive(Debug, Clone, Default)]
pub struct TokenTally(Option<Arc<AtomicU64>>);

impl TokenTally {
    /// Add `usage`'s input and output tokens.
    pub fn add(&self, usage: &Usage) {
        if let Some(total) = &self.0 {
            let tokens = usage.input_tokens.unwrap_or(0) + usage.output_tokens.unwrap_or(0);
            total.fetch_add(tokens, Ordering::Relaxed);
        }
    }
}

/// An admitted request: holds the key's concurrency slot until dropped, then records
/// the request's tokens. Keep it for as long as the answer flows
/// ([`Admission::hold_until_body_ends`]).
#[derive(Debug, Default)]
pub struct Admission {
    held: Option<Held>,
}

#[derive(Debug)]
struct Held {
    governance: Governance,
    name: String,
    tokens: TokenTally,
}

impl Admission {
    /// An admission without a key (plain `api-keys`).
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// Where the request's tokens are to be added.
    pub fn tally(&self) -> TokenTally {
        self.held
            .as_ref()
            .map(|held| held.tokens.clone())
            .unwrap_or_default()
    }

    /// `response`, holding this admission until its body is finished or dropped (the
    /// stream's end, or the client's disconnect).
    pub fn hold_until_body_ends(self, response: Response) -> Response {
        if self.held.is_none() {
            return response;
        }
        response.map(|body| {
            Body::new(HeldBody {
                body,
                _admission: self,
            })
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let tokens = self
            .tokens
            .0
            .as_ref()
            .map_or(0, |total| total.load(Ordering::Relaxed));
        self.governance.finish(&self.name, tokens);
    }
}

/// A response body that holds an [`Admission`] while it is read.
struct HeldBody {
    body: Body,
    _admission: Admission,
}

impl hyper::body::Body for HeldBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        hyper::body::Body::is_end_stream(&self.body)
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::Body::size_hint(&self.body)
    }
}

#[cfg(test)]
mod tests;
