//! Account reads: facts about a stored account that its file does not hold (its quota,
//! the models it may use), read from the upstream on a schedule and on demand.
//!
//! A credential kind declares its `reads` (`credentials.wit`, `account-read`): a token
//! call, whether it presents the stored secret or the kind's exchanged short-lived
//! token, and how often. The host makes the call, through the egress check, with the
//! secret placed the way the call's `present` says; only the answer's status and body
//! (the secret blanked out, should the upstream echo it) go to the adapter's
//! `read-account`, in a sandbox. What it finds is kept per account
//! in memory ([`Reads`]):
//!
//! - quota windows, shown by `plugboard accounts list` (through the state file the
//!   server writes, see [`super::state`]);
//! - models, which routing adds to the models of each provider entry the account
//!   serves, each with the API routes the upstream serves it on (`call-context.model-info`);
//! - attributes, merged into the account's file when they changed.
//!
//! **When.** A read is due when it never succeeded, when the stored token changed since
//! its last success (a login or a refresh), or when `every-s` elapsed since (`0`: only
//! on demand and after a login). The server looks every [`EVERY`]. `plugboard accounts
//! refresh ID` and [`read_now`] read at once, whatever the schedule.
//!
//! **Failures.** A failed call or an adapter error keeps the previous facts; the error is
//! logged (without secrets) and kept as the read's `error`. The read then backs off (30 s,
//! doubling, at most 10 min) so a failing endpoint is not called every few seconds.
//! Empty lists in what the adapter found also leave the previous facts as they were.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};

use super::file::AccountFile;
use super::live::{Accounts, KindEnv, Why, fingerprint};
use crate::config::ProviderEntry;
use crate::credentials::{Redactor, Secret};
use crate::ir::HttpRequest;
use crate::pipeline::{Gateway, WeakGateway, account_endpoints, apply_exchanged_base};
use crate::routing::AccountSlot;
use crate::runtime::spec::{self, AccountRead, BodyEncoding, ReadContext, TokenValue};
use crate::runtime::{
    Account, CallContext, CredentialKind, ModelInfo, ProviderComponent, Runtime, SandboxContext,
};
use crate::upstream::{EgressPolicy, UpstreamClient, prepare};

/// How often the server looks for due reads.
pub const EVERY: Duration = Duration::from_secs(2);
/// First back-off after a failed read; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(30);
/// Longest back-off between attempts of a failing read.
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// Longest one read may take, refresh or exchange included.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// A stored token expiring within this is refreshed before a read presents it.
const REFRESH_MARGIN: Duration = Duration::from_secs(30);

/// One window of an account's quota, as the upstream reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quota {
    /// What it counts, e.g. `premium_interactions`.
    pub name: String,
    /// Used so far, in `unit`.
    pub used: f64,
    /// The limit; `None` when unlimited.
    pub limit: Option<f64>,
    /// The unit, e.g. `requests`.
    pub unit: String,
    /// When the window resets, Unix seconds, when the upstream says.
    pub resets_at: Option<u64>,
}

impl Quota {
    /// `premium_interactions 120/300 requests, resets 2026-12-31T00:00:00Z`.
    pub fn describe(&self) -> String {
        let limit = self.limit.map_or_else(|| "unlimited".to_owned(), amount);
        let mut text = format!("{} {}/{limit} {}", self.name, amount(self.used), self.unit);
        if let Some(at) = self.resets_at {
            text.push_str(&format!(
                ", resets {}",
                super::file::format_rfc3339(UNIX_EPOCH + Duration::from_secs(at), false)
            ));
        }
        text.trim_end().to_owned()
    }
}

/// A quota amount for people: at most two decimals, no trailing zeros (`146.84`, `300`).
fn amount(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

impl From<spec::QuotaWindow> for Quota {
    fn from(window: spec::QuotaWindow) -> Self {
        Self {
            name: window.name,
            used: window.used,
            limit: window.limit,
            unit: window.unit,
            resets_at: window.resets_at,
        }
    }
}

/// How one read of an account went so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadStatus {
    /// When it last succeeded.
    pub read_at: Option<SystemTime>,
    /// The stored token's fingerprint at that success (a new token reads again).
    pub token: Option<String>,
    /// When it was last attempted.
    pub tried_at: Option<SystemTime>,
    /// Failures in a row since the last success.
    pub failures: u32,
    /// The last failure, in words (no secret).
    pub error: Option<String>,
}

impl ReadStatus {
    /// Whether the read is due at `now`, reading every `every` (zero: only when never
    /// read or the token changed), the account's stored token being `token`.
    pub fn due(&self, every: Duration, token: Option<&str>, now: SystemTime) -> bool {
        if let Some(until) = self.backing_off_until()
            && until > now
        {
            return false;
        }
        let Some(read_at) = self.read_at else {
            return true;
        };
        if self.token.as_deref() != token {
            return true;
        }
        !every.is_zero() && read_at + every <= now
    }

    /// Until when a failing read waits before its next attempt.
    pub fn backing_off_until(&self) -> Option<SystemTime> {
        if self.failures == 0 {
            return None;
        }
        let wait = FIRST_BACKOFF
            .saturating_mul(1 << (self.failures - 1).min(8))
            .min(MAX_BACKOFF);
        self.tried_at.map(|tried| tried + wait)
    }
}

/// What the reads of one account found (the latest of each kind of fact).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// Its quota windows (the latest read that reported any).
    pub quota: Vec<Quota>,
    /// When the quota was read.
    pub quota_read_at: Option<SystemTime>,
    /// The models it may use (the latest read that listed any).
    pub models: Vec<ModelInfo>,
    /// When the models were read.
    pub models_read_at: Option<SystemTime>,
    /// Attributes reads reported (also merged into the account's file).
    pub attributes: BTreeMap<String, String>,
    /// Each read by name: when it succeeded, its failures.
    pub reads: BTreeMap<String, ReadStatus>,
}

impl Facts {
    /// The facts as JSON (times in RFC 3339), for the management API: `quota`
    /// (`[{name, used, limit, unit, resets_at}]`), `quota_read_at`, `models` (`[{id,
    /// display_name, context_window, max_output_tokens, routes}]`), `models_read_at`,
    /// `attributes`, and `reads` by name (`{read_at, failures, error, retry_at}`).
    pub fn to_json(&self) -> serde_json::Value {
        let time = |t: Option<SystemTime>| t.map(|t| super::file::format_rfc3339(t, false));
        let models: Vec<serde_json::Value> = self
            .models
            .iter()
            .map(|m| {
                serde_json::json!({
                    "id": m.id,
                    "display_name": m.display_name,
                    "context_window": m.context_window,
                    "max_output_tokens": m.max_output_tokens,
                    "routes": m.routes,
                })
            })
            .collect();
        let reads: serde_json::Map<String, serde_json::Value> = self
            .reads
            .iter()
            .map(|(name, status)| {
                (
                    name.clone(),
                    serde_json::json!({
                        "read_at": time(status.read_at),
                        "failures": status.failures,
                        "error": status.error,
                        "retry_at": time(status.backing_off_until()),
                    }),
                )
            })
            .collect();
        serde_json::json!({
            "quota": self.quota,
            "quota_read_at": time(self.quota_read_at),
            "models": models,
            "models_read_at": time(self.models_read_at),
            "attributes": self.attributes,
            "reads": reads,
        })
    }

    /// The last error of any read still failing, `read: error`.
    pub fn errors(&self) -> Vec<String> {
        self.reads
            .iter()
            .filter(|(_, status)| status.failures > 0)
            .filter_map(|(name, status)| status.error.as_ref().map(|e| format!("{name}: {e}")))
            .collect()
    }
}

/// What one read found, in host form.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    /// Quota windows.
    pub quota: Vec<Quota>,
    /// Models.
    pub models: Vec<ModelInfo>,
    /// Attributes.
    pub attributes: BTreeMap<String, String>,
}

impl From<spec::AccountFacts> for Found {
    fn from(facts: spec::AccountFacts) -> Self {
        Self {
            quota: facts.quota.into_iter().map(Quota::from).collect(),
            models: facts.models.into_iter().map(ModelInfo::from).collect(),
            attributes: facts.attributes.into_iter().collect(),
        }
    }
}

/// The models reads found, per account, as routing reads them (one snapshot, swapped
/// whole when a read changes any).
pub type ReadModels = HashMap<String, Arc<Vec<ModelInfo>>>;

/// The facts of every account, kept by the server (routing owns one: see
/// `Router::reads`).
#[derive(Default)]
pub struct Reads {
    facts: Mutex<BTreeMap<String, Facts>>,
    models: ArcSwap<ReadModels>,
    /// Bumped each time `models` changes, so routing knows to rebuild its union.
    generation: AtomicU64,
    /// One read of an account at a time.
    flights: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for Reads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reads").finish_non_exhaustive()
    }
}

impl Reads {
    /// Nothing read yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// What the reads of account `id` found so far.
    pub fn facts(&self, id: &str) -> Option<Facts> {
        self.lock().get(id).cloned()
    }

    /// The facts of every account read so far, by id.
    pub fn all(&self) -> BTreeMap<String, Facts> {
        self.lock().clone()
    }

    /// The models reads found, per account.
    pub fn models(&self) -> Arc<ReadModels> {
        self.models.load_full()
    }

    /// Changes each time [`Self::models`] does.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Start from quotas a previous run recorded (the state file), so a restart does
    /// not blank `accounts list` until the first read.
    pub fn seed_quota(&self, recorded: BTreeMap<String, (SystemTime, Vec<Quota>)>) {
        let mut facts = self.lock();
        for (id, (read_at, quota)) in recorded {
            let entry = facts.entry(id).or_default();
            if entry.quota_read_at.is_none() {
                entry.quota = quota;
                entry.quota_read_at = Some(read_at);
            }
        }
    }

    /// Whether read `name` of account `id` is due at `now` (its token being `token`).
    pub fn due(&self, id: &str, read: &AccountRead, token: Option<&str>, now: SystemTime) -> bool {
        let every = Duration::from_secs(u64::from(read.every_s));
        self.lock()
            .get(id)
            .and_then(|facts| facts.reads.get(&read.name))
            .is_none_or(|status| status.due(every, token, now))
    }

    /// Record the outcome of read `name` of account `id`, tried at `at` with the stored
    /// token `token`: what it found is merged in (empty lists keep what was there), a
    /// failure counts towards the back-off and keeps every previous fact.
    pub fn record(
        &self,
        id: &str,
        name: &str,
        token: Option<&str>,
        at: SystemTime,
        outcome: &Result<Found, String>,
    ) {
        let mut models_changed = false;
        {
            let mut all = self.lock();
            let facts = all.entry(id.to_owned()).or_default();
            let status = facts.reads.entry(name.to_owned()).or_default();
            status.tried_at = Some(at);
            match outcome {
                Ok(found) => {
                    status.read_at = Some(at);
                    status.token = token.map(str::to_owned);
                    status.failures = 0;
                    status.error = None;
                    if !found.quota.is_empty() {
                        facts.quota.clone_from(&found.quota);
                        facts.quota_read_at = Some(at);
                    }
                    if !found.models.is_empty() {
                        models_changed = facts.models != found.models;
                        facts.models.clone_from(&found.models);
                        facts.models_read_at = Some(at);
                    }
                    facts
                        .attributes
                        .extend(found.attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                Err(error) => {
                    status.failures = status.failures.saturating_add(1);
                    status.error = Some(error.clone());
                }
            }
        }
        if models_changed {
            self.publish_models();
        }
    }

    /// Forget accounts that are no longer stored.
    pub fn retain(&self, ids: &[String]) {
        let removed = {
            let mut all = self.lock();
            let before = all.len();
            all.retain(|id, _| ids.contains(id));
            before != all.len()
        };
        if removed {
            self.publish_models();
        }
    }

    fn publish_models(&self) {
        let models: ReadModels = self
            .lock()
            .iter()
            .filter(|(_, facts)| !facts.models.is_empty())
            .map(|(id, facts)| (id.clone(), Arc::new(facts.models.clone())))
            .collect();
        self.models.store(Arc::new(models));
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn flight(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.flights
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id.to_owned())
            .or_default()
            .clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Facts>> {
        self.facts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What a read works with.
pub struct ReadEnv<'a> {
    /// The wasm runtime.
    pub runtime: &'a Runtime,
    /// The adapter.
    pub provider: &'a Arc<ProviderComponent>,
    /// The provider entry the account is read for (its overrides and grants), if any.
    pub entry: Option<&'a ProviderEntry>,
    /// The kind the account holds.
    pub kind: &'a CredentialKind,
    /// The adapter's endpoints resolved for the account.
    pub endpoints: &'a [(String, String)],
    /// The HTTP client.
    pub upstream: &'a UpstreamClient,
    /// The live accounts (refresh, exchange cache).
    pub accounts: &'a Accounts,
}

/// Run `read` for the stored account `id`: the call with the right secret, then the
/// adapter's `read-account` on its answer. The error is in words, without a secret.
pub async fn run_read(env: &ReadEnv<'_>, id: &str, read: &AccountRead) -> Result<Found, String> {
    let kind_env = KindEnv {
        kind: env.kind,
        endpoints: env.endpoints,
    };
    let mut endpoints = env.endpoints.to_vec();
    let secret = if read.exchanged {
        if env.kind.declared.exchange.is_none() {
            return Err(format!(
                "read `{}` presents the exchanged token, but kind `{}` declares no exchange",
                read.name, env.kind.id
            ));
        }
        let lead = env
            .entry
            .and_then(|entry| entry.refresh_lead_s)
            .map(|s| Duration::from_secs(u64::from(s)));
        let credential = env
            .accounts
            .credential(id, &kind_env, lead)
            .await
            .map_err(|error| error.to_string())?;
        apply_exchanged_base(env.provider, env.entry, &mut endpoints, credential.base_url)?;
        credential.secret
    } else {
        stored_secret(env, &kind_env, id).await?
    };
    let file = env
        .accounts
        .store()
        .get(id)
        .ok_or_else(|| format!("account `{id}` is no longer in the credential store"))?;
    let redactor = Redactor::new([&secret]);
    let (status, body) = call(env, &endpoints, &file, read, &secret)
        .await
        .map_err(|error| redactor.redact(&error))?;
    // A refused exchanged token is exchanged again next time (requests do the same).
    if read.exchanged && status == 401 {
        let _ = env.accounts.renew_refused(id, &kind_env).await;
    }
    // An upstream that echoes the credential must not hand it to the adapter.
    let body = match String::from_utf8(body) {
        Ok(text) if text.contains(secret.expose()) => redactor.redact(&text).into_bytes(),
        Ok(text) => text.into_bytes(),
        Err(bytes) => bytes.into_bytes(),
    };
    let context = ReadContext {
        credential_kind: env.kind.id.clone(),
        read: read.name.clone(),
        attributes: file
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        status,
        body,
    };
    let mut sandbox = env
        .runtime
        .sandbox(env.provider, &[], sandbox_context(env, &endpoints, &file))
        .await
        .map_err(|error| format!("adapter `{}`: {error}", env.provider.info.id))?;
    let facts = sandbox
        .read_account(&context)
        .await
        .map_err(|error| redactor.redact(&format!("read-account answered: {error}")))?;
    Ok(facts.into())
}

/// The account's stored secret, refreshed first when it expires within
/// [`REFRESH_MARGIN`] and the kind can refresh it.
async fn stored_secret(
    env: &ReadEnv<'_>,
    kind_env: &KindEnv<'_>,
    id: &str,
) -> Result<Secret, String> {
    let file = env
        .accounts
        .store()
        .get(id)
        .ok_or_else(|| format!("account `{id}` is no longer in the credential store"))?;
    if let Some(reason) = &file.disabled {
        return Err(format!("account `{id}` is disabled: {reason}"));
    }
    let now = SystemTime::now();
    let expiring = file
        .tokens
        .expires_at
        .is_some_and(|at| at <= now + REFRESH_MARGIN);
    let file = if (expiring || file.tokens.access.is_none())
        && env.accounts.can_refresh(&file, kind_env)
    {
        env.accounts
            .refresh(id, kind_env, Why::Ahead)
            .await
            .map_err(|error| error.to_string())?
    } else {
        file
    };
    if file.tokens.expires_at.is_some_and(|at| at <= now)
        && !env.accounts.can_refresh(&file, kind_env)
    {
        return Err("its token expired and it holds no way to renew it".into());
    }
    file.tokens
        .access
        .clone()
        .ok_or_else(|| "its file holds no access token".to_owned())
}

/// Make the read's call: its URL (endpoint `name`, or `name/path` for a path under
/// it), fields, headers and the secret placed as `present` says, through the egress
/// check. Returns the answer's status and body (at most 1 MiB).
async fn call(
    env: &ReadEnv<'_>,
    endpoints: &[(String, String)],
    file: &AccountFile,
    read: &AccountRead,
    secret: &Secret,
) -> Result<(u16, Vec<u8>), String> {
    let call = &read.call;
    let mut url = reqwest::Url::parse(&endpoint_url(endpoints, &call.endpoint)?)
        .map_err(|_| format!("endpoint `{}` is not an absolute URL", call.endpoint))?;
    let mut fields: Vec<(String, serde_json::Value)> = Vec::new();
    for (name, value) in &call.fields {
        let value = match value {
            TokenValue::Text(text) => serde_json::Value::String(text.clone()),
            TokenValue::Json(json) => serde_json::from_str(json)
                .map_err(|_| format!("read `{}`: field `{name}` is not valid JSON", read.name))?,
            TokenValue::Attribute(attribute) => file
                .attributes
                .get(attribute)
                .map(|value| serde_json::Value::String(value.clone()))
                .ok_or_else(|| {
                    format!(
                        "read `{}`: field `{name}` needs account attribute `{attribute}`, which it lacks",
                        read.name
                    )
                })?,
            _ => {
                return Err(format!(
                    "read `{}`: field `{name}` asks for a value reads do not have (only text, json and attributes)",
                    read.name
                ));
            }
        };
        fields.push((name.clone(), value));
    }
    let text = |value: serde_json::Value| match value {
        serde_json::Value::String(text) => text,
        other => other.to_string(),
    };
    let mut headers: Vec<(String, String)> = vec![(
        "user-agent".into(),
        format!("plugboard/{}", env!("CARGO_PKG_VERSION")),
    )];
    if !call
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("accept"))
    {
        headers.push(("accept".into(), "application/json".into()));
    }
    headers.extend(
        call.headers
            .iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("user-agent"))
            .cloned(),
    );
    let body = match call.encoding {
        BodyEncoding::None => {
            if !fields.is_empty() {
                url.query_pairs_mut()
                    .extend_pairs(fields.into_iter().map(|(n, v)| (n, text(v))));
            }
            Vec::new()
        }
        BodyEncoding::Form => {
            let mut form = reqwest::Url::parse("http://form.invalid/").expect("a fixed URL");
            form.query_pairs_mut()
                .extend_pairs(fields.into_iter().map(|(n, v)| (n, text(v))));
            headers.push((
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
            form.query().unwrap_or("").as_bytes().to_vec()
        }
        BodyEncoding::Json => {
            headers.push(("content-type".into(), "application/json".into()));
            let object: serde_json::Map<String, serde_json::Value> = fields.into_iter().collect();
            serde_json::to_vec(&object).expect("JSON serialises")
        }
    };
    let placement = crate::runtime::convert::placement_from_spec(&call.present);
    let base = endpoints
        .iter()
        .find(|(name, _)| name == "base")
        .map(|(_, url)| url.as_str())
        .unwrap_or_default();
    let granted: &[String] = env.entry.map_or(&[], |entry| &entry.allow_hosts);
    let policy = EgressPolicy::new(base, &env.provider.info.hosts, granted)
        .with_overridden_endpoints(endpoints.iter().map(|(_, url)| url.as_str()));
    let request = HttpRequest {
        method: call.method.to_ascii_uppercase(),
        url: url.to_string(),
        headers,
        body,
    };
    let outgoing = prepare(request, &placement, Some(secret), &policy)
        .map_err(|error| format!("read `{}`: {error}", read.name))?;
    let response = env
        .upstream
        .send(outgoing)
        .await
        .map_err(|error| format!("read `{}`: the call failed: {error}", read.name))?;
    let status = response.head.status;
    Ok((status, response.read_error_body().await))
}

/// The URL a read calls: endpoint `name`, or for `name/rest` endpoint `name` with
/// `/rest` appended (`base/models`: the account's base URL, the exchange's when the
/// read presents the exchanged token).
fn endpoint_url(endpoints: &[(String, String)], name: &str) -> Result<String, String> {
    let find = |name: &str| {
        endpoints
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, url)| url.clone())
    };
    if let Some(url) = find(name) {
        return Ok(url);
    }
    if let Some((endpoint, rest)) = name.split_once('/')
        && let Some(url) = find(endpoint)
    {
        return Ok(format!("{}/{rest}", url.trim_end_matches('/')));
    }
    Err(format!("the adapter declares no endpoint `{name}`"))
}

/// A call context for the read's sandbox (the provider's `call` is not built).
fn sandbox_context(
    env: &ReadEnv<'_>,
    endpoints: &[(String, String)],
    file: &AccountFile,
) -> SandboxContext {
    SandboxContext {
        provider_config: Arc::from("{}"),
        provider_name: format!("read:{}", env.provider.info.id),
        call: CallContext {
            account: Account {
                id: file.id.clone(),
                attributes: file
                    .attributes
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            },
            credential_kind: env.kind.id.clone(),
            model: String::new(),
            client_dialect: crate::ir::Dialect::OpenaiChat,
            stream: false,
            client_headers: Vec::new(),
            endpoints: endpoints.to_vec(),
            model_info: None,
        },
        reuse_for: None,
    }
}

/// The fingerprint of the stored token of `file` (a new token reads again).
fn token_of(file: &AccountFile) -> Option<String> {
    file.tokens.access.as_ref().map(fingerprint)
}

/// Run the reads of account `id` whose turn it is (`force`: all of them, now), record
/// what they found in `reads`, and merge new attributes into its file. Returns how many
/// reads ran.
pub async fn read_account(env: &ReadEnv<'_>, reads: &Reads, id: &str, force: bool) -> usize {
    let flight = reads.flight(id);
    let _flight = flight.lock().await;
    let mut ran = 0;
    for read in &env.kind.declared.reads {
        let Some(file) = env.accounts.store().get(id) else {
            return ran;
        };
        if file.disabled.is_some() {
            return ran;
        }
        let token = token_of(&file);
        let now = SystemTime::now();
        if !force && !reads.due(id, read, token.as_deref(), now) {
            continue;
        }
        ran += 1;
        let outcome = match tokio::time::timeout(READ_TIMEOUT, run_read(env, id, read)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!(
                "read `{}` took longer than {} s",
                read.name,
                READ_TIMEOUT.as_secs()
            )),
        };
        // The token the read went out with may have been refreshed on the way.
        let token = env.accounts.store().get(id).as_deref().and_then(token_of);
        match &outcome {
            Ok(found) => {
                tracing::info!(account = id, read = %read.name, quota = found.quota.len(),
                    models = found.models.len(), "account read");
                merge_attributes(env.accounts, id, &found.attributes);
            }
            Err(error) => {
                tracing::warn!(account = id, read = %read.name, error = %error,
                    "account read failed; its previous facts stay");
            }
        }
        reads.record(id, &read.name, token.as_deref(), now, &outcome);
    }
    ran
}

/// Merge `found` into account `id`'s attributes, writing its file only when one changed.
fn merge_attributes(accounts: &Accounts, id: &str, found: &BTreeMap<String, String>) {
    if found.is_empty() {
        return;
    }
    let Some(file) = accounts.store().get(id) else {
        return;
    };
    if found
        .iter()
        .all(|(name, value)| file.attributes.get(name) == Some(value))
    {
        return;
    }
    let mut updated = (*file).clone();
    let mut attributes = updated.attributes.clone();
    attributes.extend(found.iter().map(|(k, v)| (k.clone(), v.clone())));
    updated.set_attributes(attributes);
    if let Err(error) = accounts.store().save(&updated) {
        tracing::warn!(account = id, error = %format!("{error:#}"), "cannot store the attributes an account read found");
    }
}

/// A stored account to read: the entry that uses it, its adapter, its slot and its
/// endpoints resolved.
struct Target {
    entry: usize,
    provider: Arc<ProviderComponent>,
    slot: Arc<AccountSlot>,
    endpoints: Vec<(String, String)>,
}

impl Target {
    /// The environment of its reads.
    fn env<'a>(&'a self, gateway: &'a Gateway, accounts: &'a Accounts) -> Option<ReadEnv<'a>> {
        let kind = self
            .slot
            .kind
            .as_deref()
            .and_then(|kind| self.provider.info.credential_kind(kind))?;
        Some(ReadEnv {
            runtime: &gateway.runtime,
            provider: &self.provider,
            entry: gateway.config.providers.get(self.entry),
            kind,
            endpoints: &self.endpoints,
            upstream: &gateway.upstream,
            accounts,
        })
    }
}

/// Every stored account some provider entry uses whose kind declares reads, each
/// account once (with the first entry that uses it).
fn targets(gateway: &Gateway) -> Vec<Target> {
    let registry = gateway.runtime.registry();
    let pools = gateway.router.pools(&registry);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (index, (entry, pool)) in gateway
        .config
        .providers
        .iter()
        .zip(pools.iter())
        .enumerate()
    {
        let Some(provider) = registry.provider(&entry.adapter) else {
            continue;
        };
        for slot in pool.accounts() {
            let Some(file) = slot.stored.as_ref() else {
                continue;
            };
            let has_reads = provider
                .info
                .credential_kind(&file.kind)
                .is_some_and(|kind| !kind.declared.reads.is_empty());
            if !has_reads || !seen.insert(slot.id.clone()) {
                continue;
            }
            match account_endpoints(provider, entry, slot) {
                Ok(endpoints) => out.push(Target {
                    entry: index,
                    provider: provider.clone(),
                    slot: slot.clone(),
                    endpoints,
                }),
                Err(error) => {
                    tracing::debug!(account = %slot.id, error = %error, "account not read: its endpoints do not resolve")
                }
            }
        }
    }
    out
}

/// Run every due read of every stored account an entry uses; returns how many ran.
pub async fn read_due(gateway: &Gateway) -> usize {
    let Some(accounts) = gateway.accounts.clone() else {
        return 0;
    };
    let reads = gateway.router.reads();
    let mut ran = 0;
    for target in targets(gateway) {
        if let Some(env) = target.env(gateway, &accounts) {
            ran += read_account(&env, reads, &target.slot.id, false).await;
        }
    }
    let ids: Vec<String> = accounts
        .store()
        .snapshot()
        .accounts
        .keys()
        .cloned()
        .collect();
    reads.retain(&ids);
    ran
}

/// Read account `id` now (every read its kind declares, whatever the schedule and
/// back-off) and return what is known about it afterwards. For the management API and
/// anyone else with the running gateway.
pub async fn read_now(gateway: &Gateway, id: &str) -> anyhow::Result<Facts> {
    let Some(accounts) = gateway.accounts.clone() else {
        anyhow::bail!("no credential store is open");
    };
    let target = targets(gateway).into_iter().find(|t| t.slot.id == id);
    let Some(env) = target.as_ref().and_then(|t| t.env(gateway, &accounts)) else {
        anyhow::bail!(
            "account `{id}` is not read: it is not stored, no provider entry uses it, or its kind declares no reads"
        );
    };
    let reads = gateway.router.reads();
    read_account(&env, reads, id, true).await;
    Ok(reads.facts(id).unwrap_or_default())
}

/// What the reads found about account `id` so far (for the management API).
pub fn facts(gateway: &Gateway, id: &str) -> Option<Facts> {
    gateway.router.reads().facts(id)
}

/// Every [`EVERY`] until the gateway is dropped: [`read_due`]. Starts from the quotas
/// the state file recorded.
pub fn spawn(gateway: WeakGateway) -> tokio::task::JoinHandle<()> {
    if let Some(gateway) = gateway.upgrade()
        && let Some(accounts) = &gateway.accounts
    {
        gateway
            .router
            .reads()
            .seed_quota(super::state::read_quota(accounts.store().dir()));
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(gateway) = gateway.upgrade() else {
                return;
            };
            if gateway.accounts.is_none() {
                return;
            }
            read_due(&gateway).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_000_000 + s)
    }

    fn read(every_s: u32) -> AccountRead {
        AccountRead {
            name: "quota".into(),
            call: spec::TokenCall {
                endpoint: "quota".into(),
                method: "GET".into(),
                encoding: BodyEncoding::None,
                fields: Vec::new(),
                headers: Vec::new(),
                present: spec::Placement::Bearer,
            },
            exchanged: false,
            every_s,
        }
    }

    fn window(used: f64) -> Found {
        Found {
            quota: vec![Quota {
                name: "chat".into(),
                used,
                limit: Some(300.0),
                unit: "requests".into(),
                resets_at: None,
            }],
            ..Found::default()
        }
    }

    #[test]
    fn a_read_is_due_when_never_read_when_its_period_elapsed_or_the_token_changed() {
        let reads = Reads::new();
        let quota = read(300);
        assert!(reads.due("a", &quota, Some("t1"), at(0)), "never read");
        reads.record("a", "quota", Some("t1"), at(0), &Ok(window(1.0)));
        assert!(!reads.due("a", &quota, Some("t1"), at(299)));
        assert!(
            reads.due("a", &quota, Some("t1"), at(300)),
            "period elapsed"
        );
        assert!(reads.due("a", &quota, Some("t2"), at(10)), "a new token");
        // every-s 0: only when never read or after a new token.
        let once = read(0);
        assert!(!reads.due("a", &once, Some("t1"), at(100_000)));
        assert!(reads.due("a", &once, Some("t2"), at(100_000)));
    }

    #[test]
    fn a_failing_read_backs_off_doubling_and_keeps_the_previous_facts() {
        let reads = Reads::new();
        let quota = read(1);
        reads.record("a", "quota", Some("t"), at(0), &Ok(window(7.0)));
        reads.record("a", "quota", Some("t"), at(5), &Err("500".into()));
        let facts = reads.facts("a").unwrap();
        assert_eq!(facts.quota, window(7.0).quota, "previous facts kept");
        assert_eq!(facts.quota_read_at, Some(at(0)));
        assert_eq!(facts.errors(), ["quota: 500"]);
        // Not every tick: 30 s after the first failure, then 60 s after the second.
        assert!(!reads.due("a", &quota, Some("t"), at(34)));
        assert!(reads.due("a", &quota, Some("t"), at(35)));
        reads.record("a", "quota", Some("t"), at(35), &Err("500".into()));
        assert!(!reads.due("a", &quota, Some("t"), at(94)));
        assert!(reads.due("a", &quota, Some("t"), at(95)));
        // Capped at 10 min.
        let status = ReadStatus {
            tried_at: Some(at(0)),
            failures: 30,
            ..ReadStatus::default()
        };
        assert_eq!(status.backing_off_until(), Some(at(600)));
        // A success clears it.
        reads.record("a", "quota", Some("t"), at(95), &Ok(window(9.0)));
        let facts = reads.facts("a").unwrap();
        assert!(facts.errors().is_empty());
        assert_eq!(facts.quota[0].used, 9.0);
    }

    #[test]
    fn models_found_are_published_for_routing_and_empty_lists_keep_them() {
        let reads = Reads::new();
        let before = reads.generation();
        let found = Found {
            models: vec![ModelInfo {
                id: "read-only-model".into(),
                display_name: None,
                context_window: None,
                max_output_tokens: None,
                routes: vec!["/responses".into()],
            }],
            ..Found::default()
        };
        reads.record("a", "models", None, at(0), &Ok(found.clone()));
        assert_ne!(reads.generation(), before);
        assert_eq!(reads.models()["a"].as_slice(), found.models.as_slice());
        reads.record("a", "quota", None, at(1), &Ok(window(1.0)));
        assert_eq!(reads.facts("a").unwrap().models, found.models);
        reads.retain(&[]);
        assert!(
            reads.models().is_empty(),
            "a removed account serves no model"
        );
    }

    #[test]
    fn facts_read_as_json_for_the_management_api() {
        let reads = Reads::new();
        reads.record("a", "quota", Some("t"), at(0), &Ok(window(7.0)));
        reads.record("a", "models", Some("t"), at(0), &Err("HTTP 500".into()));
        let json = reads.facts("a").unwrap().to_json();
        assert_eq!(json["quota"][0]["used"], 7.0);
        assert_eq!(json["quota_read_at"], "1970-01-12T13:46:40Z");
        assert_eq!(json["reads"]["models"]["failures"], 1);
        assert_eq!(json["reads"]["models"]["error"], "HTTP 500");
        assert_eq!(json["reads"]["models"]["retry_at"], "1970-01-12T13:47:10Z");
        assert!(json["models"].as_array().unwrap().is_empty());
    }

    #[test]
    fn a_read_endpoint_may_name_a_path_under_an_endpoint() {
        let endpoints = vec![
            ("base".to_owned(), "https://api.example.test/v1".to_owned()),
            (
                "quota".to_owned(),
                "https://gh.example.test/user".to_owned(),
            ),
        ];
        assert_eq!(
            endpoint_url(&endpoints, "quota").unwrap(),
            "https://gh.example.test/user"
        );
        assert_eq!(
            endpoint_url(&endpoints, "base/models").unwrap(),
            "https://api.example.test/v1/models"
        );
        assert!(endpoint_url(&endpoints, "nope/x").is_err());
    }

    #[test]
    fn a_quota_window_reads_as_used_over_limit_with_its_reset() {
        let window = Quota {
            name: "premium_interactions".into(),
            used: 120.0,
            limit: Some(300.0),
            unit: "requests".into(),
            resets_at: Some(1_798_675_200),
        };
        assert_eq!(
            window.describe(),
            "premium_interactions 120/300 requests, resets 2026-12-31T00:00:00Z"
        );
        let unlimited = Quota {
            limit: None,
            resets_at: None,
            ..window
        };
        assert_eq!(
            unlimited.describe(),
            "premium_interactions 120/unlimited requests"
        );
    }
}
