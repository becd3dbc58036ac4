//! Config hot reload: the config file is read again when it changes (watched, plus a
//! cheap periodic look as a safety net), on SIGHUP, and when the management API asks
//! (reload from the file, or apply a YAML text it was given).
//!
//! Validate, then swap: a new config is parsed and validated whole before anything
//! changes; one that fails is refused with its reason (key and line where the parser or
//! the validator can name them), logged, kept for `status`, and the config in force
//! stays. One that passes becomes the next *generation*: a new [`Gateway`](crate::pipeline::Gateway) built by
//! [`Gateway::next_generation`](crate::pipeline::Gateway::next_generation) (config, model table, account pools, retry settings)
//! over what persists (wasm runtime, upstream client, credential store, cooldowns,
//! background tasks), put in force by one atomic swap of the [`LiveGateway`]. A request
//! holds the generation it started with to its end, so requests in flight finish
//! under their config and new ones use the new one.
//!
//! Settings only a restart can change (the listen address, directories, the log
//! filter, `limits:`) are held back at their running values, and named in the log and
//! in [`ReloadStatus::pending_restart`] instead of being silently ignored.
//!
//! Reloads are serialised; each is cheap (read, parse, build a router) and synchronous,
//! so callers on the async runtime may call it directly or from `spawn_blocking`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use serde::Serialize;

use crate::config::{Config, ConfigErrors, check_against_registry};
use crate::pipeline::LiveGateway;

/// Quiet time after the last file event before the file is read: an editor's save or a
/// copy arrives as several events, and one reload should follow them all.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// How often the file's size, modification time and inode are looked at besides the
/// events (a missed event, a config reached through a symlink that is swapped, a
/// filesystem without events).
pub const POLL: Duration = Duration::from_secs(1);

/// What asked for a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// The file changed.
    File,
    /// SIGHUP.
    Signal,
    /// The management API's `POST config/reload`.
    Api,
    /// The management API's `PUT config` (a text it was given).
    Put,
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Trigger::File => "file change",
            Trigger::Signal => "SIGHUP",
            Trigger::Api => "management API reload",
            Trigger::Put => "management API PUT config",
        })
    }
}

/// A config that was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Refusal {
    /// Why, naming the key and its line where they are known (never a secret value).
    pub reason: String,
    /// Each thing wrong on its own (every wrong key of the config with its line; the
    /// reason alone when it is not about keys).
    pub errors: Vec<String>,
    /// When, RFC 3339 (UTC).
    pub at: String,
    /// What asked for it.
    pub trigger: Trigger,
    /// The generation that stayed in force.
    pub generation_in_force: u64,
}

/// A config that was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Applied {
    /// The generation now in force.
    pub generation: u64,
    /// Provider entries (names) the new config adds.
    pub providers_added: Vec<String>,
    /// Provider entries (names) the new config removes.
    pub providers_removed: Vec<String>,
    /// Changed settings that take effect at the next restart (their running values
    /// stay), as config keys (`listen`, `limits.max-body-bytes`).
    pub pending_restart: Vec<String>,
    /// Things odd but not fatal (an adapter not loaded yet), as at start.
    pub warnings: Vec<String>,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum Outcome {
    /// A new generation is in force.
    Applied(Applied),
    /// The text is the one in force already; nothing changed.
    Unchanged {
        /// The generation in force.
        generation: u64,
    },
    /// Refused; the config in force stays.
    Refused(Refusal),
}

impl Outcome {
    /// The generation in force after this outcome.
    pub fn generation(&self) -> u64 {
        match self {
            Outcome::Applied(applied) => applied.generation,
            Outcome::Unchanged { generation } => *generation,
            Outcome::Refused(refusal) => refusal.generation_in_force,
        }
    }
}

/// What `GET status` shows about the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ReloadStatus {
    /// The generation in force (1 at start; one more per config applied).
    pub generation: u64,
    /// The config file.
    pub path: PathBuf,
    /// When the generation in force was applied, RFC 3339 (UTC).
    pub applied_at: String,
    /// The last config refused since start, if any (it may predate the generation in
    /// force).
    pub last_refused: Option<Refusal>,
    /// Settings of the config in force that differ from the running values and wait
    /// for a restart.
    pub pending_restart: Vec<String>,
}

/// The config file's reloads for one running server.
pub struct Reloader {
    live: LiveGateway,
    path: PathBuf,
    /// `serve --adapters DIR`, which wins over the file's `adapters-dir` at every load.
    adapters_override: Option<PathBuf>,
    /// The config the process started with: the running values of restart-only keys.
    started: Arc<Config>,
    state: Mutex<State>,
}

struct State {
    /// The text of the generation in force (a touch or a rewrite of the same text is
    /// no change).
    applied_text: String,
    applied_at: SystemTime,
    refused: Option<Refusal>,
    pending_restart: Vec<String>,
}

impl Reloader {
    /// Reloads of `path` for `live`, whose generation in force was read from `text`
    /// (the start). `adapters_override` is `serve --adapters`.
    pub fn new(
        live: LiveGateway,
        path: PathBuf,
        text: String,
        adapters_override: Option<PathBuf>,
    ) -> Arc<Self> {
        let started = live.current().config.clone();
        Arc::new(Self {
            live,
            path,
            adapters_override,
            started,
            state: Mutex::new(State {
                applied_text: text,
                applied_at: SystemTime::now(),
                refused: None,
                pending_restart: Vec::new(),
            }),
        })
    }

    /// The gateway this reloader swaps.
    pub fn live(&self) -> &LiveGateway {
        &self.live
    }

    /// The config file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The generation in force.
    pub fn generation(&self) -> u64 {
        self.live.current().generation
    }

    /// The last config refused since start, with its reason and time.
    pub fn last_refused(&self) -> Option<Refusal> {
        self.lock().refused.clone()
    }

    /// Generation, last refusal and pending-restart keys, for `GET status`.
    pub fn status(&self) -> ReloadStatus {
        let state = self.lock();
        ReloadStatus {
            generation: self.generation(),
            path: self.path.clone(),
            applied_at: rfc3339(state.applied_at),
            last_refused: state.refused.clone(),
            pending_restart: state.pending_restart.clone(),
        }
    }

    /// Read the file and apply it (the file watcher, SIGHUP, `POST config/reload`).
    pub fn reload(&self, trigger: Trigger) -> Outcome {
        let mut state = self.lock();
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) => {
                let reason = format!("cannot read config file {}: {error}", self.path.display());
                return self.refuse(&mut state, reason, trigger);
            }
        };
        if text == state.applied_text {
            let generation = self.generation();
            if trigger != Trigger::File {
                tracing::info!(generation, trigger = %trigger, "config file unchanged; nothing to reload");
            }
            return Outcome::Unchanged { generation };
        }
        match self.prepare(&text) {
            Ok(prepared) => self.apply(&mut state, text, prepared, trigger),
            Err(reason) => self.refuse(&mut state, reason, trigger),
        }
    }

    /// Validate `text` and, when it passes, write it to the config file atomically
    /// (a temporary file beside it, renamed over it, with the old file's permissions)
    /// and put it in force (`PUT config`). A text that fails validation, or that
    /// cannot be written, is refused and changes nothing but the refusal `status`
    /// shows; the file is untouched.
    pub fn apply_text(&self, text: &str) -> Outcome {
        let mut state = self.lock();
        let prepared = match self.prepare(text) {
            Ok(prepared) => prepared,
            Err(reason) => return self.refuse(&mut state, reason, Trigger::Put),
        };
        if let Err(error) = write_atomically(&self.path, text) {
            let reason = format!("{error:#}");
            return self.refuse(&mut state, reason, Trigger::Put);
        }
        if text == state.applied_text {
            return Outcome::Unchanged {
                generation: self.generation(),
            };
        }
        self.apply(&mut state, text.to_owned(), prepared, Trigger::Put)
    }

    /// Validate `text` without applying or writing anything (a dry run); the reason
    /// when it would be refused.
    pub fn check_text(&self, text: &str) -> Result<(), String> {
        self.prepare(text).map(|_| ()).map_err(|why| why.reason)
    }

    /// Parse and validate; hold the restart-only settings at their running values.
    fn prepare(&self, text: &str) -> Result<Prepared, Why> {
        let (mut config, warnings) = Config::parse(text).map_err(|error| {
            let clean = |text: &str| self.live.current().redactor.redact(&hide_values(text));
            let reason = clean(&format!(
                "invalid config file {}: {error:#}",
                self.path.display()
            ));
            let errors = match error.downcast_ref::<ConfigErrors>() {
                Some(ConfigErrors(each)) => each.iter().map(|e| clean(e)).collect(),
                None => vec![reason.clone()],
            };
            Why { reason, errors }
        })?;
        if let Some(dir) = &self.adapters_override {
            config.adapters_dir = dir.clone();
        }
        let mut pending_restart = restart_only_changes(&self.started, &config);
        hold_restart_only(&mut config, &self.started);
        let running = self.live.current();
        // Named client keys: a name both in the config and made through the API.
        running
            .governance
            .check_config(&config.client_keys)
            .map_err(|error| Why::from(format!("client-keys: {error:#}")))?;
        if running.accounts.is_none() {
            for (i, entry) in config.providers.iter().enumerate() {
                if entry.accounts.uses_store() {
                    pending_restart.push(format!(
                        "providers[{i}].accounts (entry `{}`: the credential store is opened at start, when an entry uses it)",
                        entry.name
                    ));
                }
            }
        }
        Ok(Prepared {
            config,
            warnings: warnings.into_iter().map(|w| w.0).collect(),
            pending_restart,
        })
    }

    fn apply(
        &self,
        state: &mut State,
        text: String,
        prepared: Prepared,
        trigger: Trigger,
    ) -> Outcome {
        let Prepared {
            config,
            mut warnings,
            pending_restart,
        } = prepared;
        let current = self.live.current();
        let names = |config: &Config| -> Vec<String> {
            config.providers.iter().map(|p| p.name.clone()).collect()
        };
        let (before, after) = (names(&current.config), names(&config));
        let providers_added: Vec<String> = after
            .iter()
            .filter(|name| !before.contains(name))
            .cloned()
            .collect();
        let providers_removed: Vec<String> = before
            .iter()
            .filter(|name| !after.contains(name))
            .cloned()
            .collect();
        let next = current.next_generation(Arc::new(config));
        warnings.extend(
            check_against_registry(&next.config, &next.runtime.registry())
                .into_iter()
                .map(|w| w.0),
        );
        let generation = next.generation;
        self.live.swap(next);
        state.applied_text = text;
        state.applied_at = SystemTime::now();
        state.pending_restart = pending_restart.clone();
        tracing::info!(
            generation,
            trigger = %trigger,
            providers_added = %providers_added.join(", "),
            providers_removed = %providers_removed.join(", "),
            path = %self.path.display(),
            "config reloaded; requests in flight finish under the config they started with"
        );
        for warning in &warnings {
            tracing::warn!("config: {warning}");
        }
        if !pending_restart.is_empty() {
            tracing::warn!(
                generation,
                keys = %pending_restart.join("; "),
                "config: these settings changed but take effect only at a restart; their running values stay"
            );
        }
        Outcome::Applied(Applied {
            generation,
            providers_added,
            providers_removed,
            pending_restart,
            warnings,
        })
    }

    fn refuse(&self, state: &mut State, why: impl Into<Why>, trigger: Trigger) -> Outcome {
        let Why { reason, errors } = why.into();
        let generation_in_force = self.generation();
        tracing::warn!(
            generation = generation_in_force,
            trigger = %trigger,
            reason = %reason,
            "config refused; the config in force stays"
        );
        let refusal = Refusal {
            reason,
            errors,
            at: rfc3339(SystemTime::now()),
            trigger,
            generation_in_force,
        };
        state.refused = Some(refusal.clone());
        Outcome::Refused(refusal)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Watch the config file: a change (an event, then [`DEBOUNCE`] of quiet, or a
    /// different size, modification time or inode seen every [`POLL`]) reloads it.
    /// Must be called inside a tokio runtime. Dropping the handle stops the watch.
    pub fn watch(self: &Arc<Self>) -> anyhow::Result<ConfigWatch> {
        let file = self
            .path
            .canonicalize()
            .unwrap_or_else(|_| self.path.clone());
        let dir = file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let name = file.file_name().map(|n| n.to_os_string());
        let (events, received) = mpsc::channel::<()>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
                Ok(event)
                    if !matches!(event.kind, notify::EventKind::Access(_))
                        && event
                            .paths
                            .iter()
                            .any(|path| path.file_name().map(|n| n.to_os_string()) == name) =>
                {
                    let _ = events.send(());
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "config file watch error"),
            })
            .context("cannot create a file watcher")?;
        use notify::Watcher as _;
        watcher
            .watch(&dir, notify::RecursiveMode::NonRecursive)
            .with_context(|| format!("cannot watch {}", dir.display()))?;
        let reloader = Arc::downgrade(self);
        let path = self.path.clone();
        std::thread::Builder::new()
            .name("plugboard-config-watch".into())
            .spawn(move || watch_loop(&reloader, &path, &received))
            .context("cannot start the config watch thread")?;
        Ok(ConfigWatch { _watcher: watcher })
    }

    /// Reload on SIGHUP. The handler is installed when this is called.
    #[cfg(unix)]
    pub fn reload_on_hangup(self: &Arc<Self>) -> anyhow::Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangup =
            signal(SignalKind::hangup()).context("cannot install the SIGHUP handler")?;
        let reloader = Arc::downgrade(self);
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                let Some(reloader) = reloader.upgrade() else {
                    return;
                };
                tracing::info!("SIGHUP received; reloading the config file");
                let _ = tokio::task::spawn_blocking(move || reloader.reload(Trigger::Signal)).await;
            }
        });
        Ok(())
    }
}

/// A validated config, ready to be the next generation.
struct Prepared {
    config: Config,
    warnings: Vec<String>,
    pending_restart: Vec<String>,
}

/// The live config file watch; dropping it ends the watch thread.
pub struct ConfigWatch {
    _watcher: notify::RecommendedWatcher,
}

fn watch_loop(reloader: &Weak<Reloader>, path: &Path, events: &mpsc::Receiver<()>) {
    let mut seen = stamp(path);
    loop {
        match events.recv_timeout(POLL) {
            Ok(()) => loop {
                match events.recv_timeout(DEBOUNCE) {
                    Ok(()) => {}
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            },
            Err(RecvTimeoutError::Timeout) => {
                if stamp(path) == seen {
                    continue;
                }
                // Changed without an event: let a writer finish first.
                std::thread::sleep(DEBOUNCE);
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
        seen = stamp(path);
        let Some(reloader) = reloader.upgrade() else {
            return;
        };
        reloader.reload(Trigger::File);
    }
}

/// What tells a changed file from the same one: size, modification time, inode.
fn stamp(path: &Path) -> Option<(u64, Option<SystemTime>, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.len(), meta.modified().ok(), inode))
}

/// The settings that only a restart changes, as config keys, where `next` differs from
/// `running`.
pub fn restart_only_changes(running: &Config, next: &Config) -> Vec<String> {
    let mut changed = Vec::new();
    let mut check = |key: &str, differs: bool| {
        if differs {
            changed.push(key.to_owned());
        }
    };
    check("listen", running.listen != next.listen);
    check("adapters-dir", running.adapters_dir != next.adapters_dir);
    check("cache-dir", running.cache_dir() != next.cache_dir());
    check("auth-dir", running.auth_dir() != next.auth_dir());
    check("log-level", running.log_level != next.log_level);
    check("watch-config", running.watch_config != next.watch_config);
    let (a, b) = (&running.limits, &next.limits);
    for (key, differs) in [
        ("max-body-bytes", a.max_body_bytes != b.max_body_bytes),
        ("guest-memory-mb", a.guest_memory_mb != b.guest_memory_mb),
        (
            "guest-call-timeout-ms",
            a.guest_call_timeout_ms != b.guest_call_timeout_ms,
        ),
        (
            "upstream-connect-timeout-ms",
            a.upstream_connect_timeout_ms != b.upstream_connect_timeout_ms,
        ),
        (
            "upstream-timeout-s",
            a.upstream_timeout_s != b.upstream_timeout_s,
        ),
        (
            "upstream-idle-timeout-s",
            a.upstream_idle_timeout_s != b.upstream_idle_timeout_s,
        ),
        ("max-instances", a.max_instances != b.max_instances),
        (
            "guest-keep-resident-kb",
            a.guest_keep_resident_kb != b.guest_keep_resident_kb,
        ),
        (
            "guest-instance-requests",
            a.guest_instance_requests != b.guest_instance_requests,
        ),
        (
            "header-read-timeout-s",
            a.header_read_timeout_s != b.header_read_timeout_s,
        ),
        (
            "client-idle-timeout-s",
            a.client_idle_timeout_s != b.client_idle_timeout_s,
        ),
        (
            "request-body-timeout-s",
            a.request_body_timeout_s != b.request_body_timeout_s,
        ),
        ("max-connections", a.max_connections != b.max_connections),
        ("shutdown-grace-s", a.shutdown_grace_s != b.shutdown_grace_s),
    ] {
        check(&format!("limits.{key}"), differs);
    }
    changed
}

/// Put `running`'s values of the restart-only settings into `next`, so the generation
/// says what is really in force (a guest's deadline named in an error is the engine's).
pub fn hold_restart_only(next: &mut Config, running: &Config) {
    next.listen = running.listen.clone();
    next.adapters_dir = running.adapters_dir.clone();
    next.cache_dir = running.cache_dir.clone();
    next.auth_dir = running.auth_dir.clone();
    next.log_level = running.log_level.clone();
    next.watch_config = running.watch_config;
    next.limits = running.limits.clone();
}

/// Why a config is refused: the whole reason, and each error in it.
struct Why {
    reason: String,
    errors: Vec<String>,
}

impl From<String> for Why {
    fn from(reason: String) -> Self {
        Why {
            errors: vec![reason.clone()],
            reason,
        }
    }
}

/// `reason` without the string values a parser quotes (`invalid type: string "..."`):
/// a key pasted into the wrong place must not reach the log.
fn hide_values(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut rest = reason;
    while let Some(at) = rest.find("string \"") {
        out.push_str(&rest[..at]);
        out.push_str("a string");
        let tail = &rest[at + "string \"".len()..];
        let mut end = tail.len();
        let mut escaped = false;
        for (i, c) in tail.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = i + 1;
                    break;
                }
                _ => escaped = false,
            }
        }
        rest = &tail[end.min(tail.len())..];
    }
    out.push_str(rest);
    out
}

/// Write `text` to `path` atomically: a temporary file beside it (the old file's
/// permissions, else 0600: a config holds keys), flushed to disk, renamed over it.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config.yaml".into());
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> anyhow::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
            let mode = std::fs::metadata(path)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0o600);
            options.mode(mode);
        }
        let mut file = options
            .open(&temp)
            .with_context(|| format!("cannot write {}", temp.display()))?;
        #[cfg(unix)]
        if let Ok(meta) = std::fs::metadata(path) {
            use std::os::unix::fs::PermissionsExt as _;
            let _ = file.set_permissions(std::fs::Permissions::from_mode(
                meta.permissions().mode() & 0o777,
            ));
        }
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", temp.display()))?;
        std::fs::rename(&temp, path)
            .with_context(|| format!("cannot replace config file {}", path.display()))?;
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn rfc3339(at: SystemTime) -> String {
    time::OffsetDateTime::from(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
