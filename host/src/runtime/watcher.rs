//! Watching the adapters directory: file events are debounced, then the whole
//! directory is rescanned and the new registry swapped in (`registry::rescan`).

use std::path::{Path, PathBuf};
use std::sync::Weak;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use anyhow::Context as _;
use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{Event, EventKind, RecursiveMode, Watcher};

use super::Runtime;

/// Quiet time after the last event before rescanning while a file may still be being
/// written (created, or data written and not yet closed): a copy or an editor's save
/// arrives as several events; one rescan should follow them all.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// Quiet time after an event that says a file is complete (renamed into place,
/// closed after writing, removed): only long enough to gather the rest of a burst,
/// so an atomic deploy is served within milliseconds.
pub const SETTLE: Duration = Duration::from_millis(15);

/// The live watcher; dropping it stops the events, which ends the rescan thread.
pub struct DirectoryWatch {
    _watcher: notify::RecommendedWatcher,
}

/// Start watching `dir` for `runtime`. Must be called inside a tokio runtime: the
/// rescans run on it (validation calls guests asynchronously).
pub fn watch(runtime: Weak<Runtime>, dir: PathBuf) -> anyhow::Result<DirectoryWatch> {
    let tokio = tokio::runtime::Handle::try_current()
        .context("Runtime::watch must be called inside a tokio runtime")?;
    // Events name paths as the watch was given; one canonical form keeps the
    // "top-level file of this directory" test exact.
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot watch {}", dir.display()))?;
    // Each relevant event says whether it leaves its file complete.
    let (events, received) = mpsc::channel::<bool>();
    let watched_dir = dir.clone();
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<Event>| match event {
            Ok(event) if is_relevant(&event, &watched_dir) => {
                let _ = events.send(settles(&event));
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "adapters directory watch error"),
        })
        .context("cannot create a file watcher")?;
    watcher
        .watch(&dir, RecursiveMode::NonRecursive)
        .with_context(|| format!("cannot watch {}", dir.display()))?;

    // A plain thread: it blocks on the channel and runs compiles, neither of which
    // belongs on a tokio worker.
    std::thread::Builder::new()
        .name("plugboard-adapters-watch".into())
        .spawn(move || {
            while let Ok(mut settled) = received.recv() {
                loop {
                    let quiet = if settled { SETTLE } else { DEBOUNCE };
                    match received.recv_timeout(quiet) {
                        Ok(latest) => settled = latest,
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                let Some(runtime) = runtime.upgrade() else {
                    return;
                };
                if let Err(error) = tokio.block_on(runtime.load_dir(&dir)) {
                    tracing::warn!(error = %format!("{error:#}"), "adapters rescan failed");
                }
            }
        })
        .context("cannot start the watch thread")?;
    Ok(DirectoryWatch { _watcher: watcher })
}

/// A change to a top-level `.wasm` file. Opens and read-only closes are ignored
/// (the rescan itself opens every file); a close after writing is kept, since it is
/// the moment a slow upload becomes complete.
fn is_relevant(event: &Event, dir: &Path) -> bool {
    let kind_matters = match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    };
    kind_matters
        && event.paths.iter().any(|path| {
            path.extension().is_some_and(|ext| ext == "wasm") && path.parent() == Some(dir)
        })
}

/// Whether `event` leaves its file complete: moved into place (the atomic deploy),
/// closed after writing, or removed. A create or a write may be followed by more.
fn settles(event: &Event) -> bool {
    matches!(
        event.kind,
        EventKind::Access(AccessKind::Close(AccessMode::Write))
            | EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both))
            | EventKind::Remove(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, RemoveKind};

    fn event(kind: EventKind, path: &str) -> Event {
        Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn changes_to_top_level_wasm_files_trigger_a_rescan() {
        let dir = Path::new("/adapters");
        assert!(is_relevant(
            &event(EventKind::Create(CreateKind::File), "/adapters/a.wasm"),
            dir
        ));
        assert!(is_relevant(
            &event(EventKind::Modify(ModifyKind::Any), "/adapters/a.wasm"),
            dir
        ));
        assert!(is_relevant(
            &event(EventKind::Remove(RemoveKind::File), "/adapters/a.wasm"),
            dir
        ));
        assert!(is_relevant(
            &event(
                EventKind::Access(AccessKind::Close(AccessMode::Write)),
                "/adapters/a.wasm"
            ),
            dir
        ));
    }

    #[test]
    fn a_rename_into_place_a_close_after_writing_or_a_removal_settles_a_file() {
        let settling = [
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Remove(RemoveKind::File),
        ];
        for kind in settling {
            assert!(settles(&event(kind, "/adapters/a.wasm")), "{kind:?}");
        }
        let unfinished = [
            EventKind::Create(CreateKind::File),
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            EventKind::Modify(ModifyKind::Any),
        ];
        for kind in unfinished {
            assert!(!settles(&event(kind, "/adapters/a.wasm")), "{kind:?}");
        }
    }

    #[test]
    fn reads_other_files_and_subdirectories_do_not() {
        let dir = Path::new("/adapters");
        assert!(!is_relevant(
            &event(
                EventKind::Access(AccessKind::Open(AccessMode::Any)),
                "/adapters/a.wasm"
            ),
            dir
        ));
        assert!(!is_relevant(
            &event(
                EventKind::Access(AccessKind::Close(AccessMode::Read)),
                "/adapters/a.wasm"
            ),
            dir
        ));
        assert!(!is_relevant(
            &event(EventKind::Create(CreateKind::File), "/adapters/notes.txt"),
            dir
        ));
        assert!(!is_relevant(
            &event(
                EventKind::Create(CreateKind::File),
                "/adapters/cache/x.wasm"
            ),
            dir
        ));
    }
}
