//! Accounts as requests use them: a token valid now, for an account of the store.
//!
//! - **Refresh** runs when a request finds the token expired (or about to), when the
//!   upstream refused it (once, then the same account is retried), in the background
//!   ahead of expiry, and on `plugboard accounts refresh`. It is single-flight per
//!   account: whoever holds the account's lock refreshes; everyone who waited on it
//!   finds the new token in the store and uses it. The new pair is written to the
//!   store (atomically) before the new access token is used, so a rotating refresh
//!   token is never lost.
//! - A refusal for good (`invalid_grant`, a revoked token) disables the account with
//!   the reason, in its file. A transient failure (network, 5xx, 429) backs off (30 s,
//!   doubling, at most 5 min) and the account keeps serving while its current token is
//!   still valid.
//! - **Token exchange** (Copilot: a long-lived token traded for a short-lived one) is
//!   cached per account in memory and redone its lead time before it expires.
//!
//! Every token the store holds, and every exchanged one, is kept in the redactor.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::file::{AccountFile, Tokens};
use super::oauth::{self, FlowEnv, FlowError, Granted};
use super::store::Store;
use crate::credentials::{Redactor, Secret};
use crate::runtime::CredentialKind;

/// A request refreshes first when its token expires within this.
pub const REQUEST_MARGIN: Duration = Duration::from_secs(30);
/// First back-off after a transient refresh failure; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(30);
/// Longest back-off between refresh attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What a request is given.
#[derive(Debug, Clone)]
pub struct Credential {
    /// The secret to place.
    pub secret: Secret,
    /// A base URL that comes with it (a token exchange's API host).
    pub base_url: Option<String>,
}

/// Why an account cannot give a credential now.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CredentialError {
    /// The account is not in the store (removed meanwhile).
    #[error("account `{0}` is no longer in the credential store")]
    Gone(String),
    /// Disabled, with the reason.
    #[error("account `{id}` is disabled: {reason}")]
    Disabled {
        /// The account.
        id: String,
        /// Why.
        reason: String,
    },
    /// Its token expired and could not be renewed now.
    #[error("account `{id}`: {reason}")]
    Unavailable {
        /// The account.
        id: String,
        /// Why (no secret).
        reason: String,
    },
}

/// Why a refresh is made (for logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// A request found the token expiring.
    Expiring,
    /// The background loop, ahead of expiry.
    Ahead,
    /// The upstream refused the token.
    Refused,
    /// Asked for (`plugboard accounts refresh`).
    Asked,
}

/// What a flow of this account may use.
pub struct KindEnv<'a> {
    /// The credential kind the account holds, as its adapter declares it.
    pub kind: &'a CredentialKind,
    /// The adapter's endpoints resolved for the account.
    pub endpoints: &'a [(String, String)],
}

#[derive(Default)]
struct AccountState {
    /// Held while refreshing or exchanging: single flight.
    flight: tokio::sync::Mutex<()>,
    /// After a transient failure: no new attempt before this, and how many in a row.
    backoff: Mutex<Option<(Instant, u32, String)>>,
    /// The exchanged short-lived token.
    exchanged: Mutex<Option<Exchanged>>,
    /// Tokens this account held before its latest refreshes, newest last: an upstream
    /// or a late log line may still quote one, so the redactor keeps them.
    retired: Mutex<Vec<Secret>>,
}

/// How many retired tokens per account the redactor keeps.
const RETIRED_KEPT: usize = 8;

#[derive(Clone)]
struct Exchanged {
    /// Which long-lived secret it was made from (a new login invalidates it).
    from: [u8; 32],
    token: Secret,
    expires_at: Option<SystemTime>,
    base_url: Option<String>,
}

/// The live accounts of one credential store.
pub struct Accounts {
    store: Arc<Store>,
    http: reqwest::Client,
    timeout: Duration,
    redactor: Redactor,
    /// Secrets outside the store (the config's keys), kept in the redactor too; a
    /// config reload replaces them ([`Accounts::set_config_secrets`]).
    config_secrets: Mutex<Vec<Secret>>,
    states: Mutex<HashMap<String, Arc<AccountState>>>,
}

impl Accounts {
    /// Live accounts over `store`, calling token endpoints with `http` (each call
    /// bounded by `timeout`), keeping `redactor` up to date with every token.
    pub fn new(
        store: Arc<Store>,
        http: reqwest::Client,
        timeout: Duration,
        redactor: Redactor,
        config_secrets: Vec<Secret>,
    ) -> Arc<Self> {
        let accounts = Arc::new(Self {
            store,
            http,
            timeout,
            redactor,
            config_secrets: Mutex::new(config_secrets),
            states: Mutex::new(HashMap::new()),
        });
        accounts.update_redactor();
        accounts
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Replace the secrets the config holds (after a config reload), and update the
    /// redactor.
    pub fn set_config_secrets(&self, secrets: Vec<Secret>) {
        *self
            .config_secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = secrets;
        self.update_redactor();
    }

    /// Put every secret held now (config keys, store tokens, exchanged tokens) in the
    /// redactor. Called after the store changes.
    pub fn update_redactor(&self) {
        let snapshot = self.store.snapshot();
        let mut exchanged: Vec<Secret> = Vec::new();
        for state in self
            .states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
        {
            let held = state.exchanged.lock().unwrap_or_else(|p| p.into_inner());
            exchanged.extend(held.as_ref().map(|e| e.token.clone()));
            let retired = state.retired.lock().unwrap_or_else(|p| p.into_inner());
            exchanged.extend(retired.iter().cloned());
        }
        let stored = snapshot
            .accounts
            .values()
            .flat_map(|file| file.secrets().into_iter().cloned().collect::<Vec<_>>());
        let all: Vec<Secret> = self
            .config_secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .chain(stored)
            .chain(exchanged)
            .collect();
        self.redactor.set(&all);
    }

    fn state(&self, id: &str) -> Arc<AccountState> {
        self.states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id.to_owned())
            .or_default()
            .clone()
    }

    /// The last transient refresh failure of `id` and until when it backs off.
    pub fn backoff(&self, id: &str) -> Option<(Instant, String)> {
        let state = self.state(id);
        let backoff = state.backoff.lock().unwrap_or_else(|p| p.into_inner());
        backoff
            .as_ref()
            .map(|(until, _, reason)| (*until, reason.clone()))
    }

    /// A token of account `id` valid now: refreshed first when it expires within
    /// [`REQUEST_MARGIN`], exchanged when the kind trades it for a short-lived one.
    pub async fn credential(
        &self,
        id: &str,
        env: &KindEnv<'_>,
        lead: Option<Duration>,
    ) -> Result<Credential, CredentialError> {
        let file = self.current(id)?;
        let now = SystemTime::now();
        let expiring = file
            .tokens
            .expires_at
            .is_some_and(|at| at <= now + request_margin(&file.tokens))
            || file.tokens.access.is_none();
        let file = if expiring && self.can_refresh(&file, env) {
            match self.refresh(id, env, Why::Expiring).await {
                Ok(file) => file,
                Err(error @ CredentialError::Disabled { .. }) => return Err(error),
                Err(error) => {
                    // Still valid for a moment: serve with it while refresh backs off.
                    let file = self.current(id)?;
                    if file.tokens.expires_at.is_none_or(|at| at <= now) {
                        return Err(error);
                    }
                    file
                }
            }
        } else {
            file
        };
        let Some(access) = file.tokens.access.clone() else {
            return Err(CredentialError::Unavailable {
                id: id.to_owned(),
                reason: "its file holds no access token; log in again".to_owned(),
            });
        };
        if file
            .tokens
            .expires_at
            .is_some_and(|at| at <= SystemTime::now())
            && !self.can_refresh(&file, env)
        {
            return Err(CredentialError::Unavailable {
                id: id.to_owned(),
                reason: "its token expired and it holds no way to renew it; log in again"
                    .to_owned(),
            });
        }
        match &env.kind.declared.exchange {
            None => Ok(Credential {
                secret: access,
                base_url: None,
            }),
            Some(spec) => self.exchanged(id, env, spec, &access, lead).await,
        }
    }

    /// Whether the account can renew its token (its kind declares refresh and the
    /// file holds a refresh token).
    pub fn can_refresh(&self, file: &AccountFile, env: &KindEnv<'_>) -> bool {
        env.kind.declared.refresh.is_some() && file.tokens.refresh.is_some()
    }

    /// Whether the upstream's refusal of `id` can be cured by renewing: a refresh token
    /// to use, or an exchanged token to redo.
    pub fn renewable(&self, id: &str, env: &KindEnv<'_>) -> bool {
        match self.store.get(id) {
            Some(file) => self.can_refresh(&file, env) || env.kind.declared.exchange.is_some(),
            None => false,
        }
    }

    /// After the upstream refused the token of `id`: renew it (refresh, or drop the
    /// exchanged token so the next credential exchanges again).
    pub async fn renew_refused(&self, id: &str, env: &KindEnv<'_>) -> Result<(), CredentialError> {
        if env.kind.declared.exchange.is_some() {
            let state = self.state(id);
            *state.exchanged.lock().unwrap_or_else(|p| p.into_inner()) = None;
            return Ok(());
        }
        self.refresh(id, env, Why::Refused).await.map(|_| ())
    }

    fn current(&self, id: &str) -> Result<Arc<AccountFile>, CredentialError> {
        let file = self
            .store
            .get(id)
            .ok_or_else(|| CredentialError::Gone(id.to_owned()))?;
        if let Some(reason) = &file.disabled {
            return Err(CredentialError::Disabled {
                id: id.to_owned(),
                reason: reason.clone(),
            });
        }
        Ok(file)
    }

    /// Refresh `id` now (single flight). When another refresh finished while this one
    /// waited for the lock, its result is used and no second call is made.
    pub async fn refresh(
        &self,
        id: &str,
        env: &KindEnv<'_>,
        why: Why,
    ) -> Result<Arc<AccountFile>, CredentialError> {
        let before = self.current(id)?;
        let state = self.state(id);
        let _flight = state.flight.lock().await;
        let file = self.current(id)?;
        if !same_access(&before.tokens, &file.tokens) {
            return Ok(file);
        }
        if why != Why::Asked {
            let backoff = state.backoff.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((until, _, reason)) = backoff.as_ref()
                && *until > Instant::now()
            {
                return Err(CredentialError::Unavailable {
                    id: id.to_owned(),
                    reason: format!("token refresh is backing off after: {reason}"),
                });
            }
        }
        let (Some(spec), Some(refresh_token)) = (&env.kind.declared.refresh, &file.tokens.refresh)
        else {
            return Err(CredentialError::Unavailable {
                id: id.to_owned(),
                reason: "it holds no refresh token; log in again".to_owned(),
            });
        };
        let flow = self.flow_env(env, &file);
        let started = Instant::now();
        let result = oauth::refresh(
            &flow.env(),
            &env.kind.declared,
            spec,
            file.client.as_ref(),
            refresh_token,
        )
        .await;
        crate::metrics::refresh(&file.kind, result.is_ok());
        match result {
            Ok(granted) => {
                let mut updated = (*file).clone();
                updated.update_tokens(&tokens_of(&granted));
                if let Some(base) = &granted.base_url {
                    updated.set_base_url(Some(base.clone()));
                }
                if !granted.attributes.is_empty() {
                    let mut attributes = updated.attributes.clone();
                    attributes.extend(granted.attributes.clone());
                    updated.set_attributes(attributes);
                }
                // Persisted before use: a rotated refresh token must never be lost.
                if let Err(error) = self.store.save(&updated) {
                    tracing::error!(account = id, error = %format!("{error:#}"),
                        "refreshed, but the new tokens could not be written; the old file stays");
                    return Err(CredentialError::Unavailable {
                        id: id.to_owned(),
                        reason: "the refreshed token could not be stored".to_owned(),
                    });
                }
                *state.backoff.lock().unwrap_or_else(|p| p.into_inner()) = None;
                {
                    let mut retired = state.retired.lock().unwrap_or_else(|p| p.into_inner());
                    retired.extend(file.tokens.access.iter().cloned());
                    if granted.refresh.is_some() {
                        retired.extend(file.tokens.refresh.iter().cloned());
                    }
                    let excess = retired.len().saturating_sub(RETIRED_KEPT);
                    retired.drain(..excess);
                }
                self.update_redactor();
                tracing::info!(account = id, why = ?why, duration_ms = started.elapsed().as_millis() as u64,
                    rotated = granted.refresh.is_some(), "token refreshed");
                self.current(id)
            }
            Err(FlowError::Rejected { code, message }) => {
                let reason = format!(
                    "refresh refused ({code}{}); log in again",
                    if message.is_empty() {
                        String::new()
                    } else {
                        format!(": {message}")
                    }
                );
                Err(self.disable(&file, reason))
            }
            Err(error) => {
                let reason = error.to_string();
                let mut backoff = state.backoff.lock().unwrap_or_else(|p| p.into_inner());
                let failures = backoff.as_ref().map_or(0, |(_, n, _)| *n) + 1;
                let wait = FIRST_BACKOFF
                    .saturating_mul(1 << (failures - 1).min(4))
                    .min(MAX_BACKOFF);
                *backoff = Some((Instant::now() + wait, failures, reason.clone()));
                tracing::warn!(account = id, reason = %reason, retry_in_s = wait.as_secs(), "token refresh failed");
                Err(CredentialError::Unavailable {
                    id: id.to_owned(),
                    reason: format!("token refresh failed: {reason}"),
                })
            }
        }
    }

    async fn exchanged(
        &self,
        id: &str,
        env: &KindEnv<'_>,
        spec: &crate::runtime::spec::ExchangeSpec,
        long_lived: &Secret,
        lead: Option<Duration>,
    ) -> Result<Credential, CredentialError> {
        let lead = lead.unwrap_or(Duration::from_secs(u64::from(spec.lead_s)));
        let from = fingerprint_bytes(long_lived);
        let fresh = |held: &Option<Exchanged>| {
            held.as_ref()
                .filter(|e| {
                    e.from == from && e.expires_at.is_none_or(|at| at > SystemTime::now() + lead)
                })
                .map(|e| Credential {
                    secret: e.token.clone(),
                    base_url: e.base_url.clone(),
                })
        };
        let state = self.state(id);
        if let Some(credential) = fresh(&state.exchanged.lock().unwrap_or_else(|p| p.into_inner()))
        {
            return Ok(credential);
        }
        let _flight = state.flight.lock().await;
        if let Some(credential) = fresh(&state.exchanged.lock().unwrap_or_else(|p| p.into_inner()))
        {
            return Ok(credential);
        }
        let file = self.current(id)?;
        let flow = self.flow_env(env, &file);
        match oauth::exchange(&flow.env(), spec, long_lived).await {
            Ok(granted) => {
                let exchanged = Exchanged {
                    from,
                    token: granted.access.clone(),
                    expires_at: granted.expires_at,
                    base_url: granted.base_url.clone(),
                };
                *state.exchanged.lock().unwrap_or_else(|p| p.into_inner()) = Some(exchanged);
                self.update_redactor();
                tracing::info!(account = id, "token exchanged");
                Ok(Credential {
                    secret: granted.access,
                    base_url: granted.base_url,
                })
            }
            Err(FlowError::Rejected { code, message }) => {
                let reason = format!("token exchange refused ({code}: {message}); log in again");
                Err(self.disable(&file, reason))
            }
            Err(error) => Err(CredentialError::Unavailable {
                id: id.to_owned(),
                reason: format!("token exchange failed: {error}"),
            }),
        }
    }

    /// Record `file`'s account as disabled for `reason` (in its file, so it survives a
    /// restart and `accounts list` shows it); the error to answer with.
    fn disable(&self, file: &AccountFile, reason: String) -> CredentialError {
        let mut disabled = file.clone();
        disabled.set_disabled(Some(&reason));
        if let Err(error) = self.store.save(&disabled) {
            tracing::error!(account = %file.id, error = %format!("{error:#}"), "cannot record the account as disabled");
        }
        tracing::warn!(account = %file.id, reason = %reason, "account disabled");
        CredentialError::Disabled {
            id: file.id.clone(),
            reason,
        }
    }

    fn flow_env(&self, env: &KindEnv<'_>, file: &AccountFile) -> OwnedFlowEnv<'_> {
        OwnedFlowEnv {
            http: &self.http,
            endpoints: env.endpoints.to_vec(),
            attributes: file.attributes.clone(),
            inputs: Default::default(),
            timeout: self.timeout,
        }
    }
}

/// A [`FlowEnv`]'s owned parts.
struct OwnedFlowEnv<'a> {
    http: &'a reqwest::Client,
    endpoints: Vec<(String, String)>,
    attributes: std::collections::BTreeMap<String, String>,
    inputs: std::collections::BTreeMap<String, String>,
    timeout: Duration,
}

impl OwnedFlowEnv<'_> {
    fn env(&self) -> FlowEnv<'_> {
        FlowEnv {
            http: self.http,
            endpoints: &self.endpoints,
            inputs: &self.inputs,
            attributes: &self.attributes,
            timeout: self.timeout,
        }
    }
}

/// How close to its expiry a request refreshes a token first: [`REQUEST_MARGIN`], or a
/// quarter of its life when it lives shorter (a token just issued is never "expiring").
fn request_margin(tokens: &Tokens) -> Duration {
    let life = match (tokens.last_refresh, tokens.expires_at) {
        (Some(issued), Some(expires)) => expires.duration_since(issued).ok(),
        _ => None,
    };
    life.map_or(REQUEST_MARGIN, |life| REQUEST_MARGIN.min(life / 4))
}

/// The tokens a grant gives, stamped now.
pub fn tokens_of(granted: &Granted) -> Tokens {
    Tokens {
        access: Some(granted.access.clone()),
        refresh: granted.refresh.clone(),
        id_token: granted.id_token.clone(),
        expires_at: granted.expires_at,
        last_refresh: Some(SystemTime::now()),
    }
}

fn same_access(a: &Tokens, b: &Tokens) -> bool {
    match (&a.access, &b.access) {
        (Some(a), Some(b)) => a.expose() == b.expose(),
        (None, None) => true,
        _ => false,
    }
}

fn fingerprint_bytes(secret: &Secret) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(secret.expose().as_bytes()).into()
}

/// A short fingerprint of a secret for humans (`accounts list`): the first 8 hex
/// digits of its SHA-256, never the secret.
pub fn fingerprint(secret: &Secret) -> String {
    hex::encode(&fingerprint_bytes(secret)[..4])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_token_is_in_the_redactor() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("one.json"),
            r#"{"plugboard": 1, "type": "pkce", "access_token": "at-stored-0123456789", "refresh_token": "rt-stored-0123456789"}"#,
        )
        .unwrap();
        let store = Store::open(dir.path()).unwrap();
        let redactor = Redactor::new(&[Secret::new("sk-config-key-0123")]);
        let _accounts = Accounts::new(
            store,
            reqwest::Client::new(),
            Duration::from_secs(1),
            redactor.clone(),
            vec![Secret::new("sk-config-key-0123")],
        );
        assert_eq!(
            redactor.redact("at-stored-0123456789 rt-stored-0123456789 sk-config-key-0123"),
            "[redacted] [redacted] [redacted]"
        );
    }
}
