//! `plugboard login` and `plugboard accounts …`: the credential store from the terminal.
//!
//! Each command loads the config (for `auth-dir` and the provider entries) and the
//! adapters directory (for the credential kinds and their login and refresh specs).
//! Output never holds a secret: a token is shown as a short fingerprint.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, bail};

use super::file::{AccountFile, kind_for_type};
use super::live::{Accounts, KindEnv, Why, fingerprint, tokens_of};
use super::oauth::{self, BrowserMode, FlowEnv};
use super::setup;
use super::store::{Snapshot, Store};
use crate::config::{AccountSelection, Config, ProviderEntry};
use crate::credentials::Redactor;
use crate::pipeline::login_endpoints;
use crate::runtime::spec::Obtain;
use crate::runtime::{CredentialKind, ProviderComponent, Registry, Runtime};
use crate::upstream::UpstreamClient;

/// Longest one call to a login or token endpoint may take.
const TOKEN_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// What every command works with.
pub struct CliContext {
    /// The config.
    pub config: Config,
    /// The wasm runtime, with the config's adapters loaded (for account setups).
    pub runtime: Arc<Runtime>,
    /// The adapters loaded from its directory.
    pub registry: Arc<Registry>,
    /// The one HTTP client (token endpoints and account setups).
    pub upstream: UpstreamClient,
    /// Its `reqwest` handle, for the token endpoints.
    pub http: reqwest::Client,
}

impl CliContext {
    /// Open the credential store the config names (creating it when absent).
    pub fn store(&self) -> anyhow::Result<Arc<Store>> {
        let dir = self.config.auth_dir();
        Store::open(&dir)
            .with_context(|| format!("cannot open the credential store {}", dir.display()))
    }
}

/// What `plugboard login` was asked.
#[derive(Debug, Default)]
pub struct LoginArgs {
    /// A provider entry name.
    pub entry: Option<String>,
    /// A credential kind id or account type (`claude`, `claude-oauth`, `codex`…).
    pub kind: Option<String>,
    /// Paste the redirect instead of opening a browser and listening.
    pub no_browser: bool,
    /// Login inputs given as `NAME=VALUE`.
    pub inputs: Vec<(String, String)>,
}

/// How a login reaches the person logging in.
pub enum LoginIo {
    /// The terminal: the URL or device code printed, a browser opened (unless
    /// `no-browser`), a redirect pasted on stdin, missing inputs asked.
    Terminal,
    /// A server (the management API): the URL or device code handed to `prompt`, the
    /// redirect taken by the loopback listener or from `pasted`; nothing asked.
    Served {
        /// Called once with what the person must open.
        prompt: Box<dyn FnOnce(oauth::LoginPrompt) + Send>,
        /// Pasted redirect URLs.
        pasted: tokio::sync::mpsc::Receiver<oauth::Pasted>,
    },
}

/// What a login stored.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    /// The account id.
    pub id: String,
    /// `added` or `updated`.
    pub verb: &'static str,
    /// The line `plugboard login` prints.
    pub line: String,
}

/// `plugboard login`: run the kind's login flow and store the account (updating the
/// same account's file when it is already there). Returns the line to print.
pub async fn login(ctx: &CliContext, args: &LoginArgs) -> anyhow::Result<String> {
    let store = ctx.store()?;
    Ok(login_with(ctx, args, &store, LoginIo::Terminal).await?.line)
}

/// [`login`] into `store`, reaching the person through `io`.
pub async fn login_with(
    ctx: &CliContext,
    args: &LoginArgs,
    store: &Arc<Store>,
    io: LoginIo,
) -> anyhow::Result<LoggedIn> {
    let (entry, provider, kind) = login_target(ctx, args)?;
    let inputs = login_inputs(kind, &args.inputs, matches!(io, LoginIo::Terminal))?;
    let endpoints = login_endpoints(&provider.info, entry, &inputs)
        .map_err(|error| anyhow::anyhow!("adapter `{}`: {error}", provider.info.id))?;
    let input_map: BTreeMap<String, String> = inputs.iter().cloned().collect();
    let none = BTreeMap::new();
    let env = FlowEnv {
        http: &ctx.http,
        endpoints: &endpoints,
        inputs: &input_map,
        attributes: &none,
        timeout: TOKEN_CALL_TIMEOUT,
    };
    let outcome = match (&kind.declared.obtain, io) {
        (Obtain::AuthorizationCode(spec), LoginIo::Terminal) => {
            let mode = if args.no_browser {
                BrowserMode::Paste
            } else {
                BrowserMode::Open
            };
            oauth::authorization_code(&env, spec, mode).await
        }
        (Obtain::AuthorizationCode(spec), LoginIo::Served { prompt, pasted }) => {
            oauth::authorization_code_served(&env, spec, prompt, pasted).await
        }
        (Obtain::DeviceCode(spec), LoginIo::Terminal) => oauth::device_code(&env, spec).await,
        (Obtain::DeviceCode(spec), LoginIo::Served { prompt, .. }) => {
            oauth::device_code_with_prompt(&env, spec, prompt).await
        }
        (Obtain::Key, _) => bail!(
            "credential kind `{}` of adapter `{}` is a key you supply: put it in the config (`api-keys:`) instead of logging in",
            kind.id,
            provider.info.id
        ),
    }
    .map_err(|error| anyhow::anyhow!("login failed: {error}"))?;

    let mut attributes = input_map.clone();
    attributes.extend(outcome.granted.attributes.clone());
    // What a spec cannot say (an account id in the claims, a project to discover),
    // the adapter's account setup finds, with the new token on its requests.
    if kind.declared.setup {
        let granted: &[String] = entry.map_or(&[], |entry| &entry.allow_hosts);
        let env = setup::SetupEnv {
            runtime: &ctx.runtime,
            provider: &provider,
            kind,
            endpoints: &endpoints,
            granted,
            upstream: &ctx.upstream,
        };
        attributes = setup::run(
            &env,
            &outcome.granted.access,
            &attributes,
            outcome.id_token_claims.as_ref(),
        )
        .await
        .context("logged in, but the account setup failed; nothing was stored")?;
    }
    let label = outcome
        .id_token_claims
        .as_ref()
        .and_then(|claims| claims.get("email"))
        .and_then(|email| email.as_str())
        .map(str::to_owned)
        .or_else(|| attributes.get("email").cloned());
    let tokens = tokens_of(&outcome.granted);

    let mut file = AccountFile::new(
        "",
        &kind.id,
        label.clone(),
        tokens.clone(),
        attributes.clone(),
    );
    if let Some(client) = &outcome.client {
        file.set_client(Some(client.clone()));
    }
    if let Some(base) = &outcome.granted.base_url {
        file.set_base_url(Some(base.clone()));
    }
    let (file, verb) = match store.find_same(&file) {
        Some(existing) => {
            let mut updated = (*existing).clone();
            updated.update_tokens(&tokens);
            let mut merged = updated.attributes.clone();
            merged.extend(attributes);
            updated.set_attributes(merged);
            updated.set_disabled(None);
            if let Some(client) = &outcome.client {
                updated.set_client(Some(client.clone()));
            }
            if let Some(base) = &outcome.granted.base_url {
                updated.set_base_url(Some(base.clone()));
            }
            (updated, "updated")
        }
        None => {
            file.id = store.new_id(&kind.id, label.as_deref());
            (file, "added")
        }
    };
    store.save(&file)?;
    let line = format!(
        "logged in: account `{}` {verb} ({}{}), expires {}; stored in {}",
        file.id,
        kind.id,
        label.map(|l| format!(", {l}")).unwrap_or_default(),
        file.tokens.expires_at.map_or("never".to_owned(), rfc3339),
        store.dir().display()
    );
    Ok(LoggedIn {
        id: file.id,
        verb,
        line,
    })
}

/// The entry (if named), its adapter and the credential kind a login is for.
fn login_target<'c>(
    ctx: &'c CliContext,
    args: &LoginArgs,
) -> anyhow::Result<(
    Option<&'c ProviderEntry>,
    Arc<ProviderComponent>,
    &'c CredentialKind,
)> {
    let wanted = args
        .kind
        .as_deref()
        .map(|kind| kind_for_type(kind).unwrap_or(kind).to_owned());
    let loaded: Vec<&str> = ctx.registry.providers.keys().map(String::as_str).collect();
    let (entry, provider) = match &args.entry {
        Some(name) => {
            let entry = ctx
                .config
                .providers
                .iter()
                .find(|entry| &entry.name == name)
                .with_context(|| {
                    let names: Vec<&str> = ctx
                        .config
                        .providers
                        .iter()
                        .map(|e| e.name.as_str())
                        .collect();
                    format!(
                        "no provider entry `{name}` in the config (entries: {})",
                        list_or_none(&names)
                    )
                })?;
            let provider = ctx.registry.provider(&entry.adapter).with_context(|| {
                format!(
                    "provider `{name}`: adapter `{}` is not loaded (loaded: {})",
                    entry.adapter,
                    list_or_none(&loaded)
                )
            })?;
            (Some(entry), provider.clone())
        }
        None => {
            let Some(kind) = &wanted else {
                bail!(
                    "say what to log in to: `plugboard login ENTRY`, or `--type TYPE` (e.g. claude, codex)"
                );
            };
            // An entry whose adapter declares the kind lends its endpoint overrides.
            let entry = ctx.config.providers.iter().find(|entry| {
                ctx.registry
                    .provider(&entry.adapter)
                    .is_some_and(|p| p.info.credential_kind(kind).is_some())
            });
            let provider = match entry {
                Some(entry) => ctx.registry.provider(&entry.adapter).cloned(),
                None => {
                    let mut all: Vec<&Arc<ProviderComponent>> =
                        ctx.registry.providers.values().collect();
                    all.sort_by(|a, b| a.info.id.cmp(&b.info.id));
                    all.into_iter()
                        .find(|p| p.info.credential_kind(kind).is_some())
                        .cloned()
                }
            }
            .with_context(|| {
                format!(
                    "no loaded adapter declares credential kind `{kind}` (loaded: {})",
                    list_or_none(&loaded)
                )
            })?;
            (entry, provider)
        }
    };
    // The kind lives as long as the registry; find it there again for the lifetime.
    let info = &ctx
        .registry
        .provider(&provider.info.id)
        .context("adapter vanished")?
        .info;
    let logins: Vec<&CredentialKind> = info
        .credential_kinds
        .iter()
        .filter(|kind| !kind.is_key())
        .collect();
    let kind = match &wanted {
        Some(id) => info.credential_kind(id).with_context(|| {
            format!(
                "adapter `{}` declares no credential kind `{id}` (it declares: {})",
                info.id,
                info.kind_ids()
            )
        })?,
        None => match logins.as_slice() {
            [one] => one,
            [] => bail!(
                "adapter `{}` has no login: its accounts are keys you put in the config",
                info.id
            ),
            many => bail!(
                "adapter `{}` has several logins; choose one with --type ({})",
                info.id,
                many.iter()
                    .map(|k| k.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    };
    Ok((entry, provider, kind))
}

/// The kind's login inputs: given, else the default, else asked at the terminal (when
/// `ask`).
fn login_inputs(
    kind: &CredentialKind,
    given: &[(String, String)],
    ask: bool,
) -> anyhow::Result<Vec<(String, String)>> {
    for (name, _) in given {
        if !kind.declared.inputs.iter().any(|input| &input.name == name) {
            let names: Vec<&str> = kind
                .declared
                .inputs
                .iter()
                .map(|i| i.name.as_str())
                .collect();
            bail!(
                "credential kind `{}` takes no input `{name}` (it takes: {})",
                kind.id,
                list_or_none(&names)
            );
        }
    }
    let mut inputs = Vec::new();
    for input in &kind.declared.inputs {
        let value = match given.iter().find(|(name, _)| name == &input.name) {
            Some((_, value)) => value.clone(),
            None => match &input.default {
                Some(default) => default.clone(),
                None if ask && std::io::stdin().is_terminal() => {
                    eprint!("{} ({}): ", input.name, input.description);
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim().to_owned()
                }
                None => bail!(
                    "credential kind `{}` needs the input `{}` (`--input {}=VALUE`: {})",
                    kind.id,
                    input.name,
                    input.name,
                    input.description
                ),
            },
        };
        inputs.push((input.name.clone(), value));
    }
    Ok(inputs)
}

/// One row of `accounts list`.
#[derive(Debug, serde::Serialize)]
pub struct Row {
    /// Account id (file stem).
    pub id: String,
    /// The file's `type`.
    #[serde(rename = "type")]
    pub file_type: String,
    /// The credential kind.
    pub kind: String,
    /// Email or label.
    pub label: Option<String>,
    /// Provider entries that use it.
    pub entries: Vec<String>,
    /// When its token expires (RFC 3339).
    pub expires_at: Option<String>,
    /// `ok`, `cooling`, `disabled`, `waiting-for-adapter`, `expired`.
    pub state: &'static str,
    /// Why, for every state but `ok`.
    pub reason: Option<String>,
    /// Until when it cools (RFC 3339), from the running server.
    pub cooling_until: Option<String>,
    /// The first 8 hex digits of the access token's SHA-256.
    pub fingerprint: Option<String>,
    /// Its quota windows as the latest read found them (from the state file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaRow>,
}

/// An account's quota in `accounts list`.
#[derive(Debug, serde::Serialize)]
pub struct QuotaRow {
    /// When it was read (RFC 3339); absent when no read succeeded yet.
    pub read_at: Option<String>,
    /// Its windows.
    pub windows: Vec<super::reads::Quota>,
    /// The error of a read still failing (the windows are from before it).
    pub error: Option<String>,
}

impl QuotaRow {
    fn of(record: &super::state::QuotaRecord) -> Self {
        Self {
            read_at: (record.read_at > 0)
                .then(|| rfc3339(std::time::UNIX_EPOCH + Duration::from_secs(record.read_at))),
            windows: record.windows.clone(),
            error: record.error.clone(),
        }
    }

    /// The lines `accounts list` prints under the account.
    fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .windows
            .iter()
            .map(|window| {
                format!(
                    "  quota {}{}",
                    window.describe(),
                    self.read_at
                        .as_deref()
                        .map(|at| format!(" (read {at})"))
                        .unwrap_or_default()
                )
            })
            .collect();
        if let Some(error) = &self.error {
            lines.push(format!("  quota read failing: {error}"));
        }
        lines
    }
}

/// The rows of `accounts list`, and the files refused.
pub fn rows(
    config: &Config,
    registry: &Registry,
    snapshot: &Snapshot,
    cooling: &BTreeMap<String, (SystemTime, String)>,
    quota: &BTreeMap<String, super::state::QuotaRecord>,
) -> Vec<Row> {
    let now = SystemTime::now();
    snapshot
        .accounts
        .values()
        .map(|file| {
            let declaring: Vec<&Arc<ProviderComponent>> = registry
                .providers
                .values()
                .filter(|p| p.info.credential_kind(&file.kind).is_some())
                .collect();
            let entries: Vec<String> = config
                .providers
                .iter()
                .filter(|entry| uses(entry, file, registry))
                .map(|entry| entry.name.clone())
                .collect();
            let refreshable = file.tokens.refresh.is_some()
                && declaring.iter().any(|p| {
                    p.info
                        .credential_kind(&file.kind)
                        .is_some_and(|k| k.declared.refresh.is_some())
                });
            let (state, reason, cooling_until) = if let Some(reason) = &file.disabled {
                ("disabled", Some(reason.clone()), None)
            } else if declaring.is_empty() {
                (
                    "waiting-for-adapter",
                    Some(format!(
                        "no loaded adapter declares credential kind `{}`",
                        file.kind
                    )),
                    None,
                )
            } else if let Some((until, why)) =
                cooling.get(&file.id).filter(|(until, _)| *until > now)
            {
                ("cooling", Some(why.clone()), Some(rfc3339(*until)))
            } else if file.tokens.expires_at.is_some_and(|at| at <= now) && !refreshable {
                (
                    "expired",
                    Some("its token expired and cannot be refreshed; log in again".to_owned()),
                    None,
                )
            } else {
                let note = file
                    .tokens
                    .expires_at
                    .filter(|at| *at <= now)
                    .map(|_| "token expired; refreshed on first use".to_owned());
                ("ok", note, None)
            };
            Row {
                id: file.id.clone(),
                file_type: file.file_type.clone(),
                kind: file.kind.clone(),
                label: file.label.clone(),
                entries,
                expires_at: file.tokens.expires_at.map(rfc3339),
                state,
                reason,
                cooling_until,
                fingerprint: file.tokens.access.as_ref().map(fingerprint),
                quota: quota.get(&file.id).map(QuotaRow::of),
            }
        })
        .collect()
}

/// Whether provider `entry` uses the stored account `file`.
fn uses(entry: &ProviderEntry, file: &AccountFile, registry: &Registry) -> bool {
    let declared = registry
        .provider(&entry.adapter)
        .is_some_and(|p| p.info.credential_kind(&file.kind).is_some());
    match &entry.accounts {
        AccountSelection::AuthDir => declared,
        selection => selection.stored().any(|id| id == file.id),
    }
}

/// `plugboard accounts list`: a table, or JSON with `json`.
pub fn list(ctx: &CliContext, json: bool) -> anyhow::Result<String> {
    let store = ctx.store()?;
    let snapshot = store.snapshot();
    let cooling = super::state::read(store.dir());
    let quota = super::state::quota_records(store.dir());
    let rows = rows(&ctx.config, &ctx.registry, &snapshot, &cooling, &quota);
    if json {
        let refused: Vec<serde_json::Value> = snapshot
            .refused
            .iter()
            .map(|r| serde_json::json!({"path": r.path.display().to_string(), "reason": r.reason}))
            .collect();
        return Ok(serde_json::to_string_pretty(&serde_json::json!({
            "auth_dir": store.dir().display().to_string(),
            "accounts": rows,
            "refused": refused,
        }))?);
    }
    let mut out = format!(
        "{}: {} account(s), {} refused\n",
        store.dir().display(),
        rows.len(),
        snapshot.refused.len()
    );
    let table: Vec<[String; 7]> = rows
        .iter()
        .map(|row| {
            let state = match (&row.state, &row.reason, &row.cooling_until) {
                (&"cooling", Some(why), Some(until)) => format!("cooling until {until} ({why})"),
                (&"ok", None, _) => "ok".to_owned(),
                (state, Some(reason), _) => format!("{state}: {reason}"),
                (state, None, _) => (*state).to_owned(),
            };
            [
                row.id.clone(),
                row.kind.clone(),
                row.label.clone().unwrap_or_else(|| "-".to_owned()),
                if row.entries.is_empty() {
                    "-".to_owned()
                } else {
                    row.entries.join(",")
                },
                row.expires_at.clone().unwrap_or_else(|| "-".to_owned()),
                row.fingerprint
                    .clone()
                    .map_or("-".to_owned(), |f| format!("sha256:{f}")),
                state,
            ]
        })
        .collect();
    let header = [
        "ID", "KIND", "LABEL", "USED BY", "EXPIRES", "TOKEN", "STATE",
    ]
    .map(str::to_owned);
    let mut widths = [0usize; 7];
    for row in std::iter::once(&header).chain(table.iter()) {
        for (width, cell) in widths.iter_mut().zip(row.iter()) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let quota_lines = std::iter::once(Vec::new()).chain(
        rows.iter()
            .map(|row| row.quota.as_ref().map(QuotaRow::lines).unwrap_or_default()),
    );
    for (row, quota) in std::iter::once(&header)
        .chain(table.iter())
        .zip(quota_lines)
    {
        let mut line = String::new();
        for (i, (width, cell)) in widths.iter().zip(row.iter()).enumerate() {
            if i == 6 {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
        for line in quota {
            out.push_str(&line);
            out.push('\n');
        }
    }
    for refused in &snapshot.refused {
        // The store's reason may already start with the path; say it once.
        let path = refused.path.display().to_string();
        let reason = refused
            .reason
            .strip_prefix(&format!("{path}: "))
            .unwrap_or(&refused.reason);
        out.push_str(&format!("refused {path}: {reason}\n"));
    }
    Ok(out)
}

/// `plugboard accounts import PATH…`: copy each account found into the store; the
/// same account again updates its file.
pub fn import(ctx: &CliContext, paths: &[PathBuf]) -> anyhow::Result<String> {
    let store = ctx.store()?;
    let mut out = String::new();
    for path in paths {
        let found = super::import::read(path)
            .with_context(|| format!("cannot import {}", path.display()))?;
        for imported in found {
            for account in imported.accounts {
                let same = store
                    .find_same(&account)
                    .or_else(|| same_tokens(&store.snapshot(), &account));
                let (saved, verb) = match same {
                    Some(existing) => {
                        let mut updated = (*existing).clone();
                        updated.update_tokens(&account.tokens);
                        let mut merged = updated.attributes.clone();
                        merged.extend(account.attributes.clone());
                        updated.set_attributes(merged);
                        (updated, "updated")
                    }
                    None => {
                        let mut new = account.clone();
                        if new.id.is_empty()
                            || store.get(&new.id).is_some()
                            || store.dir().join(format!("{}.json", new.id)).exists()
                        {
                            new.id = store.new_id(&new.kind, new.label.as_deref());
                        }
                        (new, "added")
                    }
                };
                store.save(&saved)?;
                out.push_str(&format!(
                    "{verb} `{}` ({}{}) from {} ({})\n",
                    saved.id,
                    saved.kind,
                    saved
                        .label
                        .as_deref()
                        .map(|l| format!(", {l}"))
                        .unwrap_or_default(),
                    path.display(),
                    imported.format
                ));
            }
        }
    }
    if out.is_empty() {
        out.push_str("no account found\n");
    }
    Ok(out)
}

/// The stored account of `file`'s kind holding the same refresh token (else the same
/// access token): the same account again when its file names no identity (Claude
/// Code's and Kiro's files carry no email), so importing it twice updates one file.
fn same_tokens(snapshot: &Snapshot, file: &AccountFile) -> Option<Arc<AccountFile>> {
    let same = |a: Option<&crate::credentials::Secret>, b: Option<&crate::credentials::Secret>| matches!((a, b), (Some(a), Some(b)) if a.expose() == b.expose());
    let candidates = || snapshot.accounts.values().filter(|a| a.kind == file.kind);
    candidates()
        .find(|a| same(a.tokens.refresh.as_ref(), file.tokens.refresh.as_ref()))
        .or_else(|| {
            candidates().find(|a| same(a.tokens.access.as_ref(), file.tokens.access.as_ref()))
        })
        .cloned()
}

/// `plugboard accounts remove ID`.
pub fn remove(ctx: &CliContext, id: &str) -> anyhow::Result<String> {
    let store = ctx.store()?;
    if store.remove(id)? {
        Ok(format!("removed `{id}` from {}", store.dir().display()))
    } else {
        bail!("no account `{id}` in {}", store.dir().display())
    }
}

/// What refreshing a stored account works with: the entry that uses it (if any), the
/// adapter declaring its kind, the kind, and its endpoints.
pub struct RefreshTarget<'a> {
    /// The first provider entry that uses the account.
    pub entry: Option<&'a ProviderEntry>,
    /// The adapter declaring the account's kind (the entry's, when there is one).
    pub provider: &'a Arc<ProviderComponent>,
    /// The account's credential kind.
    pub kind: &'a CredentialKind,
    /// Its endpoints, the entry's overrides applied.
    pub endpoints: Vec<(String, String)>,
}

/// The [`RefreshTarget`] of stored account `file` under `config` and `registry`.
pub fn refresh_target<'a>(
    config: &'a Config,
    registry: &'a Registry,
    file: &Arc<AccountFile>,
) -> anyhow::Result<RefreshTarget<'a>> {
    let entry = config
        .providers
        .iter()
        .find(|entry| uses(entry, file, registry));
    let provider = match entry {
        Some(entry) => registry.provider(&entry.adapter),
        None => registry
            .providers
            .values()
            .find(|p| p.info.credential_kind(&file.kind).is_some()),
    }
    .with_context(|| format!("no loaded adapter declares credential kind `{}`", file.kind))?;
    let kind = provider
        .info
        .credential_kind(&file.kind)
        .context("kind vanished")?;
    let slot = crate::routing::AccountSlot::stored(file);
    let endpoints = match entry {
        Some(entry) => crate::pipeline::account_endpoints(provider, entry, &slot),
        None => login_endpoints(&provider.info, None, &slot.attributes),
    }
    .map_err(|error| anyhow::anyhow!("{error}"))?;
    Ok(RefreshTarget {
        entry,
        provider,
        kind,
        endpoints,
    })
}

/// `plugboard accounts refresh ID`: refresh now, whatever the expiry (when its kind
/// can), then run the account's reads once and say what they found. The quota found is
/// recorded for `accounts list` when no server is running (a running server keeps the
/// state file and reads on its own schedule).
pub async fn refresh(ctx: &CliContext, id: &str) -> anyhow::Result<String> {
    let store = ctx.store()?;
    let file = store
        .get(id)
        .with_context(|| format!("no account `{id}` in {}", store.dir().display()))?;
    let RefreshTarget {
        entry,
        provider,
        kind,
        endpoints,
    } = refresh_target(&ctx.config, &ctx.registry, &file)?;
    let accounts = Accounts::new(
        store.clone(),
        ctx.http.clone(),
        TOKEN_CALL_TIMEOUT,
        Redactor::default(),
        Vec::new(),
    );
    let env = KindEnv {
        kind,
        endpoints: &endpoints,
    };
    let has_reads = !kind.declared.reads.is_empty();
    let mut out = String::new();
    if !has_reads || accounts.can_refresh(&file, &env) {
        let refreshed = accounts
            .refresh(id, &env, Why::Asked)
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        out.push_str(&format!(
            "refreshed `{id}`: expires {}",
            refreshed
                .tokens
                .expires_at
                .map_or("never".to_owned(), rfc3339)
        ));
    } else {
        out.push_str(&format!("`{id}` holds no refresh token; not refreshed"));
    }
    if !has_reads {
        return Ok(out);
    }
    let reads = super::reads::Reads::new();
    let read_env = super::reads::ReadEnv {
        runtime: &ctx.runtime,
        provider,
        entry,
        kind,
        endpoints: &endpoints,
        upstream: &ctx.upstream,
        accounts: &accounts,
    };
    super::reads::read_account(&read_env, &reads, id, true).await;
    let facts = reads.facts(id).unwrap_or_default();
    out.push('\n');
    out.push_str(&describe_facts(&facts));
    if let Some(record) = super::state::QuotaRecord::of(&facts)
        && !facts.quota.is_empty()
    {
        match super::state::record_quota_if_idle(store.dir(), id, record) {
            Ok(true) => out.push_str("quota recorded for `plugboard accounts list`\n"),
            Ok(false) => out.push_str(
                "a running server keeps the account state; `plugboard accounts list` shows its own next read\n",
            ),
            Err(error) => out.push_str(&format!("cannot record the quota: {error:#}\n")),
        }
    }
    Ok(out.trim_end().to_owned())
}

/// What `refresh` prints about an account's reads.
fn describe_facts(facts: &super::reads::Facts) -> String {
    let mut out = String::new();
    for (name, status) in &facts.reads {
        match (&status.error, status.failures) {
            (Some(error), 1..) => out.push_str(&format!("read `{name}` failed: {error}\n")),
            _ => out.push_str(&format!("read `{name}`: ok\n")),
        }
    }
    for window in &facts.quota {
        out.push_str(&format!("quota {}\n", window.describe()));
    }
    if !facts.models.is_empty() {
        let ids: Vec<String> = facts
            .models
            .iter()
            .map(|model| {
                if model.routes.is_empty() {
                    model.id.clone()
                } else {
                    format!("{} ({})", model.id, model.routes.join(" "))
                }
            })
            .collect();
        out.push_str(&format!("models {}\n", ids.join(", ")));
    }
    for (name, value) in &facts.attributes {
        out.push_str(&format!("attribute {name} = {value}\n"));
    }
    out
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        let mut names = names.to_vec();
        names.sort_unstable();
        names.join(", ")
    }
}

/// `t` as RFC 3339 UTC, to the second.
fn rfc3339(t: SystemTime) -> String {
    super::file::format_rfc3339(t, false)
}
