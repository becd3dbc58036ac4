//! The registry in force, swapped whole: a rescan builds the next registry from
//! the directory (reusing compiled components whose bytes did not change), then
//! stores it with one atomic pointer swap. Requests hold the `Arc` they started
//! with, so they finish on the version they began with.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use super::loader::{self, Loaded, Toolchain};
use super::{
    ComponentKind, ComponentSummary, FixupComponent, LoadFailure, ProviderComponent, Registry,
};

/// The current registry, the refusals on record, and the lock that keeps two
/// rescans from interleaving.
#[derive(Default)]
pub struct RegistryCell {
    current: ArcSwap<Registry>,
    failures: Mutex<BTreeMap<PathBuf, LoadFailure>>,
    rescan_lock: tokio::sync::Mutex<()>,
}

impl RegistryCell {
    /// The registry in force now.
    pub fn current(&self) -> Arc<Registry> {
        self.current.load_full()
    }

    /// Refused files, latest reason per path. A file that later loads, or is
    /// removed, leaves the list.
    pub fn failures(&self) -> Vec<LoadFailure> {
        self.failures
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Scan `dir`, validate what is new or changed, swap the result in, and return
    /// the files refused by this scan.
    ///
    /// Rules (see [`assign`]): components are keyed by id per kind; a refused file,
    /// whatever the reason (unreadable, not a component, wrong world, a trap in
    /// `info()`, an id another file already provides), never replaces or removes the
    /// component previously loaded from the same path; among files that newly claim
    /// an id, the first by name wins; a removed file removes its component.
    pub async fn rescan(
        &self,
        tools: &Arc<Toolchain>,
        dir: &Path,
    ) -> anyhow::Result<Vec<LoadFailure>> {
        let _one_at_a_time = self.rescan_lock.lock().await;
        let old = self.current();
        let files = loader::wasm_files(dir).map_err(|error| {
            anyhow::anyhow!("cannot read adapters directory {}: {error}", dir.display())
        })?;

        let mut by_hash: HashMap<&str, Entry> = HashMap::new();
        let mut by_path: HashMap<&Path, Entry> = HashMap::new();
        for provider in old.providers.values() {
            by_hash.insert(&provider.hash, Entry::Provider(provider.clone()));
            by_path.insert(&provider.path, Entry::Provider(provider.clone()));
        }
        for fixup in old.fixups.values() {
            by_hash.insert(&fixup.hash, Entry::Fixup(fixup.clone()));
            by_path.insert(&fixup.path, Entry::Fixup(fixup.clone()));
        }

        let mut offers = Vec::with_capacity(files.len());
        let mut compiled_any = false;
        for path in files {
            let offer = match std::fs::read(&path) {
                Err(error) => Err(format!("cannot read file: {error}")),
                Ok(bytes) => {
                    let hash = loader::content_hash(&bytes);
                    match by_hash.get(hash.as_str()) {
                        Some(unchanged) => Ok(unchanged.at_path(&path)),
                        None => {
                            compiled_any = true;
                            loader::load(tools, &path, bytes, hash)
                                .await
                                .map(Entry::from)
                        }
                    }
                }
            };
            offers.push((path, offer));
        }

        let (next, refused) = assign(&offers, &by_path);
        for failure in &refused {
            match by_path.get(failure.path.as_path()) {
                Some(kept) => {
                    tracing::warn!(path = %failure.path.display(), reason = %failure.reason,
                    still_serving = kept.label(), "adapter file refused; the component previously loaded from it stays")
                }
                None => {
                    tracing::warn!(path = %failure.path.display(), reason = %failure.reason, "adapter file refused")
                }
            }
        }
        log_changes(&old, &next);
        self.record_failures(&next, &refused);
        self.current.store(Arc::new(next));
        if compiled_any {
            loader::release_free_heap();
        }
        Ok(refused)
    }

    fn record_failures(&self, next: &Registry, refused: &[LoadFailure]) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let loaded: Vec<&Path> = next
            .providers
            .values()
            .map(|p| p.path.as_path())
            .chain(next.fixups.values().map(|f| f.path.as_path()))
            .collect();
        failures.retain(|path, _| path.exists() && !loaded.contains(&path.as_path()));
        for failure in refused {
            failures.insert(failure.path.clone(), failure.clone());
        }
    }
}

/// What one file offers a rescan: its component, or why it was refused.
type Offer = (PathBuf, Result<Entry, String>);

/// Build the next registry from what each file offers (in file-name order) and the
/// components the old registry loaded from each path (`previous`).
///
/// A component keeps its id when its path still offers that id (perhaps a new
/// version) or offers nothing usable: a refused file falls back to the component
/// previously loaded from it, so no refusal ever unloads a working adapter (copying
/// `anthropic.wasm` over `openai.wasm` is refused as a duplicate of `anthropic` and
/// `openai` goes on serving). These never collide, since the old registry held each
/// id once. Newcomers (new files, and files that now offer another id) then take
/// the ids still free, first by name first. A newcomer refused as a duplicate falls
/// back to its path's previous component too; that component outranks every
/// newcomer, so the assignment starts over with it placed (at most once per file).
fn assign(offers: &[Offer], previous: &HashMap<&Path, Entry>) -> (Registry, Vec<LoadFailure>) {
    let mut fell_back: HashMap<&Path, String> = HashMap::new();
    'assign: loop {
        let mut next = Registry::default();
        let mut refused = Vec::new();
        let mut newcomers = Vec::new();
        for (path, offer) in offers {
            let kept = previous.get(path.as_path());
            let refusal = match (offer, fell_back.get(path.as_path())) {
                (Err(reason), _) | (Ok(_), Some(reason)) => reason.clone(),
                (Ok(entry), None) if kept.is_some_and(|kept| kept.same_id(entry)) => {
                    if let Err(reason) = entry.clone().insert_into(&mut next) {
                        refused.push(LoadFailure {
                            path: path.clone(),
                            reason,
                        });
                    }
                    continue;
                }
                (Ok(entry), None) => {
                    newcomers.push((path, entry));
                    continue;
                }
            };
            refused.push(LoadFailure {
                path: path.clone(),
                reason: refusal,
            });
            if let Some(kept) = kept
                && let Err(reason) = kept.clone().insert_into(&mut next)
            {
                refused.push(LoadFailure {
                    path: path.clone(),
                    reason,
                });
            }
        }
        for (path, entry) in newcomers {
            if let Err(reason) = entry.clone().insert_into(&mut next) {
                if previous.contains_key(path.as_path()) {
                    fell_back.insert(path, reason);
                    continue 'assign;
                }
                refused.push(LoadFailure {
                    path: path.clone(),
                    reason,
                });
            }
        }
        refused.sort_by(|a, b| a.path.file_name().cmp(&b.path.file_name()));
        return (next, refused);
    }
}

/// A component of either kind, as the rescan handles them.
#[derive(Clone)]
enum Entry {
    Provider(Arc<ProviderComponent>),
    Fixup(Arc<FixupComponent>),
}

impl From<Loaded> for Entry {
    fn from(loaded: Loaded) -> Self {
        match loaded {
            Loaded::Provider(p) => Entry::Provider(Arc::new(p)),
            Loaded::Fixup(f) => Entry::Fixup(Arc::new(f)),
        }
    }
}

impl Entry {
    /// The same compiled component, listed at `path` (a file copied or renamed
    /// keeps its compiled form: the bytes are what was validated).
    fn at_path(&self, path: &Path) -> Entry {
        match self {
            Entry::Provider(p) if p.path != path => Entry::Provider(Arc::new(ProviderComponent {
                info: p.info.clone(),
                hash: p.hash.clone(),
                path: path.to_owned(),
                label: p.label.clone(),
                ready: p.ready.clone(),
            })),
            Entry::Fixup(f) if f.path != path => Entry::Fixup(Arc::new(FixupComponent {
                info: f.info.clone(),
                hash: f.hash.clone(),
                path: path.to_owned(),
                label: f.label.clone(),
                ready: f.ready.clone(),
            })),
            same => same.clone(),
        }
    }

    /// Whether both are of one kind and claim one id.
    fn same_id(&self, other: &Entry) -> bool {
        match (self, other) {
            (Entry::Provider(a), Entry::Provider(b)) => a.info.id == b.info.id,
            (Entry::Fixup(a), Entry::Fixup(b)) => a.info.id == b.info.id,
            _ => false,
        }
    }

    /// `id@version`.
    fn label(&self) -> &str {
        match self {
            Entry::Provider(p) => &p.label,
            Entry::Fixup(f) => &f.label,
        }
    }

    /// Add to `registry` unless its id is taken there; the error is the refusal reason.
    fn insert_into(self, registry: &mut Registry) -> Result<(), String> {
        match self {
            Entry::Provider(p) => match registry.providers.get(&p.info.id) {
                Some(first) => Err(duplicate("provider", &p.info.id, &first.path)),
                None => {
                    registry.providers.insert(p.info.id.clone(), p);
                    Ok(())
                }
            },
            Entry::Fixup(f) => match registry.fixups.get(&f.info.id) {
                Some(first) => Err(duplicate("fixup", &f.info.id, &first.path)),
                None => {
                    registry.fixups.insert(f.info.id.clone(), f);
                    Ok(())
                }
            },
        }
    }
}

fn duplicate(kind: &str, id: &str, first: &Path) -> String {
    format!(
        "{kind} id {id:?} is already provided by {}",
        first.display()
    )
}

/// Log every addition, replacement and removal between two registries.
fn log_changes(old: &Registry, next: &Registry) {
    let pairs = |registry: &Registry| -> BTreeMap<(u8, String), (String, String)> {
        let providers = registry.providers.values().map(|p| {
            (
                (0, p.info.id.clone()),
                (p.info.version.clone(), p.hash.clone()),
            )
        });
        let fixups = registry.fixups.values().map(|f| {
            (
                (1, f.info.id.clone()),
                (f.info.version.clone(), f.hash.clone()),
            )
        });
        providers.chain(fixups).collect()
    };
    let (before, after) = (pairs(old), pairs(next));
    let kind = |k: u8| if k == 0 { "provider" } else { "fixup" };
    for ((k, id), (version, hash)) in &after {
        match before.get(&(*k, id.clone())) {
            None => {
                tracing::info!(kind = kind(*k), %id, %version, hash = short(hash), "adapter loaded")
            }
            Some((old_version, old_hash)) if old_hash != hash => tracing::info!(
                kind = kind(*k),
                %id,
                "adapter swapped: {old_version} -> {version} ({} -> {})",
                short(old_hash),
                short(hash)
            ),
            Some(_) => {}
        }
    }
    for ((k, id), (version, hash)) in &before {
        if !after.contains_key(&(*k, id.clone())) {
            tracing::info!(kind = kind(*k), %id, %version, hash = short(hash), "adapter removed");
        }
    }
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// Every component of `registry`, sorted by kind (providers first) then id.
pub fn summaries(registry: &Registry) -> Vec<ComponentSummary> {
    let providers = registry.providers.values().map(|p| ComponentSummary {
        kind: ComponentKind::Provider,
        id: p.info.id.clone(),
        version: p.info.version.clone(),
        contract_version: p.info.contract_version.clone(),
        hash: p.hash.clone(),
        path: p.path.clone(),
        description: p.info.description.clone(),
    });
    let fixups = registry.fixups.values().map(|f| ComponentSummary {
        kind: ComponentKind::Fixup,
        id: f.info.id.clone(),
        version: f.info.version.clone(),
        contract_version: f.info.contract_version.clone(),
        hash: f.hash.clone(),
        path: f.path.clone(),
        description: f.info.description.clone(),
    });
    let mut all: Vec<ComponentSummary> = providers.chain(fixups).collect();
    all.sort_by(|a, b| (kind_rank(a.kind), &a.id).cmp(&(kind_rank(b.kind), &b.id)));
    all
}

fn kind_rank(kind: ComponentKind) -> u8 {
    match kind {
        ComponentKind::Provider => 0,
        ComponentKind::Fixup => 1,
    }
}

/// A plain-text table of components for `plugboard adapters list`: one row each,
/// columns aligned, hash cut to 12 characters.
pub fn summary_table(components: &[ComponentSummary]) -> String {
    let header = [
        "KIND",
        "ID",
        "VERSION",
        "CONTRACT",
        "HASH",
        "FILE",
        "DESCRIPTION",
    ]
    .map(String::from);
    let rows: Vec<[String; 7]> = components
        .iter()
        .map(|c| {
            let kind = match c.kind {
                ComponentKind::Provider => "provider",
                ComponentKind::Fixup => "fixup",
            };
            let file = c
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            [
                kind.into(),
                c.id.clone(),
                c.version.clone(),
                c.contract_version.clone(),
                short(&c.hash).into(),
                file,
                c.description.clone(),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_aligns_columns_and_cuts_hashes() {
        let rows = [
            ComponentSummary {
                kind: ComponentKind::Provider,
                id: "anthropic".into(),
                version: "0.1.0".into(),
                contract_version: "0.1.0".into(),
                hash: "0123456789abcdef0123".into(),
                path: "/a/anthropic.wasm".into(),
                description: "Anthropic Messages".into(),
            },
            ComponentSummary {
                kind: ComponentKind::Fixup,
                id: "merge-turns".into(),
                version: "1.2.3".into(),
                contract_version: "0.1.0".into(),
                hash: "fedcba9876543210".into(),
                path: "/a/merge-turns.wasm".into(),
                description: "Merge consecutive turns".into(),
            },
        ];
        let table = summary_table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("KIND      ID           VERSION"));
        assert!(lines[1].contains("0123456789ab ") && !lines[1].contains("0123456789abc"));
        assert!(lines[2].starts_with("fixup     merge-turns  1.2.3"));
        assert_eq!(
            lines[1].find("anthropic.wasm"),
            lines[2].find("merge-turns.wasm")
        );
    }
}
