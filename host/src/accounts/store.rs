//! The credential store: a directory of account files, written atomically, watched.
//!
//! Each top-level `<id>.json` is one account ([`AccountFile`]); anything that does not
//! parse, or names a type Plugboard does not know, is listed as [`Refused`] and left
//! exactly as it is (never rewritten, never deleted). The directory is kept 0700 and
//! every file Plugboard writes is 0600, written to a dot-temporary file, synced and
//! renamed into place, so a process killed at any instant leaves the old file or the
//! new one.
//!
//! Readers take a [`Snapshot`] (swapped whole, lock-free). Changes made outside
//! Plugboard (an editor, CLIProxyAPI itself, a copy) are picked up by [`Store::watch`]:
//! file events from `notify` plus a periodic rescan, since events can be lost (network
//! file systems, overflowing queues). The store remembers each file's size, mtime and
//! content hash, so its own writes are not mistaken for outside changes.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, bail};
use arc_swap::ArcSwap;
use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecursiveMode, Watcher as _};
use sha2::{Digest as _, Sha256};

use super::file::AccountFile;

/// A file of the directory that is not an account, and why.
#[derive(Debug, Clone)]
pub struct Refused {
    /// The file.
    pub path: PathBuf,
    /// Why (never a secret).
    pub reason: String,
}

/// The store as loaded at one instant.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Accounts by id (file stem).
    pub accounts: BTreeMap<String, Arc<AccountFile>>,
    /// Files refused.
    pub refused: Vec<Refused>,
}

/// What the store knows of one file, to tell a change from the same bytes.
#[derive(Debug, Clone)]
struct Seen {
    modified: Option<SystemTime>,
    len: u64,
    hash: [u8; 32],
    outcome: Outcome,
}

#[derive(Debug, Clone)]
enum Outcome {
    Account(Arc<AccountFile>),
    Refused(String),
}

/// The credential store.
pub struct Store {
    dir: PathBuf,
    current: ArcSwap<Snapshot>,
    /// Every top-level `*.json` file by file name. Held while scanning or writing, so
    /// a save and a rescan never interleave.
    files: Mutex<BTreeMap<String, Seen>>,
}

/// Stops watching when dropped.
pub struct StoreWatch {
    _watcher: Option<notify::RecommendedWatcher>,
    stop: Arc<AtomicBool>,
}

impl Drop for StoreWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Quiet time after the last file event before rescanning (an editor's save or a
/// copy arrives as several events).
pub const DEBOUNCE: Duration = Duration::from_millis(100);

/// How often the watch rescans without an event (cheap: size and mtime first), the
/// safety net where file events are lost.
pub const POLL: Duration = Duration::from_secs(1);

/// Longest account id (a file stem).
const MAX_ID_LEN: usize = 200;

/// Whether `id` may name a file of the store: not empty, at most 200 bytes, no path
/// separator, no `..`, no NUL, not hidden.
pub fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && !id.starts_with('.')
        && !id.contains(['/', '\\', '\0'])
        && !id.contains("..")
}

/// `<kind>-<label>` made safe as a file stem: characters outside `[A-Za-z0-9@._+-]`
/// become `_`, all lower-cased; `<kind>-<8 random hex>` without a label. The naming
/// rule of new accounts (the store adds `-2`, `-3`... when it is taken).
pub fn proposed_id(kind: &str, label: Option<&str>) -> String {
    let tail = match label.map(str::trim).filter(|label| !label.is_empty()) {
        Some(label) => label.to_owned(),
        None => {
            let mut bytes = [0u8; 4];
            getrandom::getrandom(&mut bytes).expect("the OS random source");
            hex::encode(bytes)
        }
    };
    let raw = format!("{kind}-{tail}").to_lowercase();
    let mut id: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    while id.contains("..") {
        id = id.replace("..", "._");
    }
    if id.starts_with('.') {
        id.replace_range(0..1, "_");
    }
    // Room for a `-NN` suffix.
    let mut end = id.len().min(MAX_ID_LEN - 8);
    while !id.is_char_boundary(end) {
        end -= 1;
    }
    id.truncate(end);
    id
}

/// A top-level file the store reads: `*.json`, not hidden.
fn is_account_file_name(name: &str) -> bool {
    name.ends_with(".json") && !name.starts_with('.') && name.len() > ".json".len()
}

impl Store {
    /// Open (creating it 0700 when absent) and load `dir`.
    ///
    /// An existing directory that group or others may read is made 0700 (with a
    /// warning). Files that are not accounts are listed in [`Snapshot::refused`],
    /// each with a warning naming it; opening never fails because of one file.
    pub fn open(dir: &Path) -> anyhow::Result<Arc<Store>> {
        match fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).with_context(
                        || {
                            format!(
                                "cannot make the account directory {} private",
                                dir.display()
                            )
                        },
                    )?;
                    tracing::warn!(
                        dir = %dir.display(),
                        was = format!("{mode:o}"),
                        "the account directory was open to other users; made it 0700"
                    );
                }
            }
            Ok(_) => bail!("{} is not a directory", dir.display()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .with_context(|| {
                        format!("cannot create the account directory {}", dir.display())
                    })?;
                // The umask may have taken bits away, never added any; make it exact.
                fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                    .with_context(|| format!("cannot set the mode of {}", dir.display()))?;
            }
            Err(error) => {
                return Err(error).with_context(|| {
                    format!("cannot open the account directory {}", dir.display())
                });
            }
        }
        let store = Arc::new(Store {
            dir: dir.to_owned(),
            current: ArcSwap::from_pointee(Snapshot::default()),
            files: Mutex::new(BTreeMap::new()),
        });
        store
            .scan(true)
            .with_context(|| format!("cannot read the account directory {}", dir.display()))?;
        Ok(store)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The accounts now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// One account now.
    pub fn get(&self, id: &str) -> Option<Arc<AccountFile>> {
        self.current.load().accounts.get(id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Seen>> {
        self.files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Write `file` as `<dir>/<id>.json` atomically (0600) and make it current.
    ///
    /// Refused: an id that is not a safe file stem, and the name of a file the store
    /// refused (a broken file stays as the person left it).
    pub fn save(&self, file: &AccountFile) -> anyhow::Result<()> {
        let id = &file.id;
        if !is_safe_id(id) {
            bail!(
                "`{id}` cannot name an account file (path characters, a leading dot or too long)"
            );
        }
        let bytes = file.to_bytes();
        let reread = AccountFile::parse(id, &bytes)
            .map_err(|error| anyhow::anyhow!("account `{id}` would not read back: {error}"))?;
        let name = format!("{id}.json");
        let path = self.dir.join(&name);
        let mut files = self.lock();
        if let Some(Seen {
            outcome: Outcome::Refused(_),
            ..
        }) = files.get(&name)
        {
            bail!(
                "will not overwrite {}: it is not a readable account file (fix or move it first)",
                path.display()
            );
        }
        write_atomically(&self.dir, &name, &bytes)?;
        let meta =
            fs::metadata(&path).with_context(|| format!("cannot stat {}", path.display()))?;
        let account = Arc::new(reread);
        files.insert(
            name,
            Seen {
                modified: meta.modified().ok(),
                len: meta.len(),
                hash: Sha256::digest(&bytes).into(),
                outcome: Outcome::Account(account),
            },
        );
        self.publish(&files);
        Ok(())
    }

    /// Delete an account's file; false when there was none. A refused file is not an
    /// account and is never deleted here.
    pub fn remove(&self, id: &str) -> anyhow::Result<bool> {
        if !is_safe_id(id) {
            bail!("`{id}` cannot name an account file");
        }
        let name = format!("{id}.json");
        let path = self.dir.join(&name);
        let mut files = self.lock();
        if let Some(Seen {
            outcome: Outcome::Refused(_),
            ..
        }) = files.get(&name)
        {
            return Ok(false);
        }
        let removed = match fs::remove_file(&path) {
            Ok(()) => true,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => false,
            Err(error) => {
                return Err(error).with_context(|| format!("cannot delete {}", path.display()));
            }
        };
        if removed {
            sync_dir(&self.dir)?;
        }
        let known = files.remove(&name).is_some();
        self.publish(&files);
        Ok(removed || known)
    }

    /// Re-read the directory; true when anything changed. Every file is read and
    /// compared by content.
    pub fn rescan(&self) -> bool {
        match self.scan(true) {
            Ok(changed) => changed,
            Err(error) => {
                tracing::warn!(dir = %self.dir.display(), error = %format!("{error:#}"), "cannot rescan the account directory");
                false
            }
        }
    }

    /// Rescan: `thorough` reads every file; otherwise only files whose size or mtime
    /// changed. True when an account or a refusal changed.
    fn scan(&self, thorough: bool) -> anyhow::Result<bool> {
        let mut files = self.lock();
        let mut next = BTreeMap::new();
        let mut changed = false;
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !is_account_file_name(&name) {
                continue;
            }
            let path = entry.path();
            let Ok(meta) = fs::metadata(&path) else {
                continue; // vanished meanwhile
            };
            if !meta.is_file() {
                continue;
            }
            let modified = meta.modified().ok();
            let before = files.get(&name);
            if !thorough
                && let Some(seen) = before
                && seen.modified == modified
                && seen.len == meta.len()
            {
                next.insert(name, seen.clone());
                continue;
            }
            let bytes = match fs::read(&path) {
                Ok(bytes) => bytes,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(error) => {
                    // Unreadable now (permissions, a race): keep what we had.
                    tracing::warn!(file = %path.display(), %error, "cannot read an account file");
                    if let Some(seen) = before {
                        next.insert(name, seen.clone());
                    }
                    continue;
                }
            };
            let hash: [u8; 32] = Sha256::digest(&bytes).into();
            if let Some(seen) = before.filter(|seen| seen.hash == hash) {
                next.insert(
                    name,
                    Seen {
                        modified,
                        len: meta.len(),
                        ..seen.clone()
                    },
                );
                continue;
            }
            changed = true;
            let id = &name[..name.len() - ".json".len()];
            let outcome = match AccountFile::parse(id, &bytes) {
                Ok(account) => Outcome::Account(Arc::new(account)),
                Err(error) => {
                    let reason = format!("{}: {error}", path.display());
                    tracing::warn!(file = %path.display(), %error, "not an account file; left as it is");
                    Outcome::Refused(reason)
                }
            };
            next.insert(
                name,
                Seen {
                    modified,
                    len: meta.len(),
                    hash,
                    outcome,
                },
            );
        }
        if files.keys().any(|name| !next.contains_key(name)) {
            changed = true;
        }
        *files = next;
        if changed {
            self.publish(&files);
        }
        Ok(changed)
    }

    /// Swap in the snapshot `files` describe.
    fn publish(&self, files: &BTreeMap<String, Seen>) {
        let mut snapshot = Snapshot::default();
        for (name, seen) in files {
            match &seen.outcome {
                Outcome::Account(account) => {
                    snapshot
                        .accounts
                        .insert(account.id.clone(), account.clone());
                }
                Outcome::Refused(reason) => snapshot.refused.push(Refused {
                    path: self.dir.join(name),
                    reason: reason.clone(),
                }),
            }
        }
        self.current.store(Arc::new(snapshot));
    }

    /// Watch the directory: a file added, changed or removed is live within 2 s;
    /// `on_change` runs after each change with the new snapshot.
    ///
    /// The work runs on a plain thread (`plugboard-accounts-watch`), not on a tokio
    /// worker: it blocks on file events and reads files. So `on_change` runs on that
    /// thread and should be quick (swap a pointer, send on a channel). Where a file
    /// watcher cannot be made, polling alone keeps the promise.
    pub fn watch(
        self: &Arc<Self>,
        on_change: Box<dyn Fn(&Snapshot) + Send + Sync>,
    ) -> anyhow::Result<StoreWatch> {
        let (events, received) = mpsc::channel::<()>();
        let watcher = match notify::recommended_watcher(move |event: notify::Result<Event>| {
            match event {
                Ok(event) if is_relevant(&event) => {
                    let _ = events.send(());
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "account directory watch error"),
            }
        }) {
            Ok(mut watcher) => match watcher.watch(&self.dir, RecursiveMode::NonRecursive) {
                Ok(()) => Some(watcher),
                Err(error) => {
                    tracing::warn!(dir = %self.dir.display(), %error, "cannot watch the account directory; polling it");
                    None
                }
            },
            Err(error) => {
                tracing::warn!(%error, "cannot create a file watcher; polling the account directory");
                None
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let store: Weak<Store> = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("plugboard-accounts-watch".into())
            .spawn(move || {
                loop {
                    let thorough = match received.recv_timeout(POLL) {
                        Ok(()) => {
                            // Let the burst finish.
                            while received.recv_timeout(DEBOUNCE).is_ok() {}
                            true
                        }
                        Err(RecvTimeoutError::Timeout) => false,
                        // No watcher (polling only), or it is gone.
                        Err(RecvTimeoutError::Disconnected) => {
                            std::thread::sleep(POLL);
                            false
                        }
                    };
                    if stopped.load(Ordering::Relaxed) {
                        return;
                    }
                    let Some(store) = store.upgrade() else {
                        return;
                    };
                    match store.scan(thorough) {
                        Ok(true) => on_change(&store.snapshot()),
                        Ok(false) => {}
                        Err(error) => tracing::warn!(
                            dir = %store.dir.display(),
                            error = %format!("{error:#}"),
                            "cannot rescan the account directory"
                        ),
                    }
                }
            })
            .context("cannot start the account watch thread")?;
        Ok(StoreWatch {
            _watcher: watcher,
            stop,
        })
    }

    /// The stored account that is the same as `file` (same [`AccountFile::identity`]).
    pub fn find_same(&self, file: &AccountFile) -> Option<Arc<AccountFile>> {
        let identity = file.identity()?;
        self.current
            .load()
            .accounts
            .values()
            .find(|account| account.identity().as_deref() == Some(identity.as_str()))
            .cloned()
    }

    /// A free id for a new account of `kind` labelled `label` (`<kind>-<label>`, made
    /// safe as a file stem, suffixed when taken).
    pub fn new_id(&self, kind: &str, label: Option<&str>) -> String {
        let base = proposed_id(kind, label);
        let files = self.lock();
        let taken = |id: &str| {
            let name = format!("{id}.json");
            files.contains_key(&name) || self.dir.join(&name).exists()
        };
        if !taken(&base) {
            return base;
        }
        (2..)
            .map(|n| format!("{base}-{n}"))
            .find(|id| !taken(id))
            .expect("some suffix is free")
    }
}

/// An event that may change a file of the directory. Opens and read-only closes are
/// ignored (the rescan itself opens every file).
fn is_relevant(event: &Event) -> bool {
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// `bytes` into `<dir>/<name>`: a 0600 temporary `.<name>.<random>.tmp` is written,
/// synced and renamed over the target, then the directory is synced. A process killed
/// at any instant leaves the old file or the new one.
pub fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let mut random = [0u8; 6];
    getrandom::getrandom(&mut random)
        .map_err(|error| anyhow::anyhow!("the OS random source failed: {error}"))?;
    let temporary = dir.join(format!(".{name}.{}.tmp", hex::encode(random)));
    let target = dir.join(name);
    let written = (|| -> std::io::Result<()> {
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        out.write_all(bytes)?;
        out.sync_all()?;
        drop(out);
        fs::rename(&temporary, &target)
    })();
    if let Err(error) = written {
        let _ = fs::remove_file(&temporary);
        return Err(error).with_context(|| format!("cannot write {}", target.display()));
    }
    sync_dir(dir)
}

/// Make a rename or removal in `dir` durable.
fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    fs::File::open(dir)
        .and_then(|handle| handle.sync_all())
        .with_context(|| format!("cannot sync the directory {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_safe_stems_from_kind_and_label() {
        assert_eq!(
            proposed_id("claude-oauth", Some("Me@Example.com")),
            "claude-oauth-me@example.com"
        );
        assert_eq!(
            proposed_id("copilot", Some("octo cat/../x")),
            "copilot-octo_cat_.__x"
        );
        let random = proposed_id("kiro", None);
        assert!(
            random.starts_with("kiro-") && random.len() == "kiro-".len() + 8,
            "{random}"
        );
        for id in ["", ".hidden", "a/b", "a\\b", "..", "a..b", "nul\0"] {
            assert!(!is_safe_id(id), "{id:?}");
        }
        assert!(is_safe_id(&proposed_id("x", Some(&"y".repeat(500)))));
    }
}
