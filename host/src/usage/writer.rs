//! The one writer: a thread that commits rows in batches, and prunes old ones.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, params};

use super::{BATCH_WINDOW, CHANNEL_CAPACITY, Row};

/// How often old rows are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Most rows in one transaction.
const MAX_BATCH: usize = 4096;

/// The sending half, shared by every request.
#[derive(Debug)]
pub(crate) struct Sink {
    sender: SyncSender<Row>,
}

impl Sink {
    /// Queue `row`; false when the channel is full or the writer gone.
    pub(crate) fn try_send(&self, row: Row) -> bool {
        match self.sender.try_send(row) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }
}

/// The running writer. [`UsageWriter::close`] commits what is pending and stops it.
#[derive(Debug)]
pub struct UsageWriter {
    sink: Arc<Sink>,
    thread: Option<JoinHandle<()>>,
}

impl UsageWriter {
    /// Open the database at `path` (creating it and its directory), prune rows older
    /// than `retention_days`, and start the writer thread.
    pub fn start(path: &Path, retention_days: u32) -> anyhow::Result<Self> {
        let conn = super::open_for_writing(path)?;
        let (sender, receiver) = sync_channel(CHANNEL_CAPACITY);
        let retention = Duration::from_secs(u64::from(retention_days.max(1)) * 86_400);
        prune(&conn, retention);
        let thread = std::thread::Builder::new()
            .name("usage-writer".into())
            .spawn(move || run(conn, receiver, retention))?;
        Ok(Self {
            sink: Arc::new(Sink { sender }),
            thread: Some(thread),
        })
    }

    /// The sending half ([`super::record`] holds it once installed).
    pub(crate) fn sink(&self) -> Arc<Sink> {
        self.sink.clone()
    }

    /// Queue one row directly (tests and tools; requests go through
    /// [`super::record`]). False when it was dropped.
    pub fn send(&self, row: Row) -> bool {
        self.sink.try_send(row)
    }

    /// Stop taking rows, commit what is pending, and wait for the writer (bounded by
    /// the disk: a batch is one transaction).
    pub fn close(mut self) {
        let installed = super::SINK
            .load()
            .as_ref()
            .is_some_and(|sink| Arc::ptr_eq(sink, &self.sink));
        if installed {
            super::SINK.store(None);
        }
        let Some(thread) = self.thread.take() else {
            return;
        };
        // The thread ends when every sender is gone: ours, and the installed copy
        // just taken down (a request still holding a loaded copy lets go at once).
        drop(std::mem::replace(
            &mut self.sink,
            Arc::new(Sink {
                sender: sync_channel(0).0,
            }),
        ));
        thread.thread().unpark();
        let _ = thread.join();
    }
}

/// The writer loop: every [`TICK`], take every row queued since and commit them.
///
/// The writer is never woken by a row: a request's `try_send` finds no receiver
/// waiting, so it costs the request a queue push and nothing else (no wake-up, no
/// context switch on the request's core). A row waits at most one tick plus the
/// commit, within [`BATCH_WINDOW`]. [`UsageWriter::close`] unparks it to finish.
fn run(mut conn: Connection, receiver: Receiver<Row>, retention: Duration) {
    yield_to_requests();
    let mut pruned = Instant::now();
    let mut batch = Vec::new();
    loop {
        std::thread::park_timeout(TICK);
        let ended = loop {
            match receiver.try_recv() {
                Ok(row) => {
                    batch.push(row);
                    if batch.len() == MAX_BATCH {
                        commit(&mut conn, &mut batch);
                    }
                }
                Err(TryRecvError::Empty) => break false,
                Err(TryRecvError::Disconnected) => break true,
            }
        };
        commit(&mut conn, &mut batch);
        if pruned.elapsed() >= PRUNE_EVERY {
            prune(&conn, retention);
            pruned = Instant::now();
        }
        if ended {
            return;
        }
    }
}

/// The writer's niceness: it gives way to the request threads.
///
/// A commit is a few milliseconds of CPU every [`TICK`] (about 700 rows at 2,800
/// requests a second), and the WAL checkpoint every thousand pages is more. At the
/// default niceness the kernel shares a core evenly between the writer and a request
/// thread that wakes meanwhile, so a request in flight during a commit can wait for
/// it. At nice 10 (about a ninth of a request thread's weight) a waking request
/// thread runs first; the writer still gets about a ninth of a contended core, many
/// times what it needs, so rows are not held back past [`BATCH_WINDOW`] nor dropped.
pub(crate) const WRITER_NICE: i32 = 10;

/// Lower the calling thread's priority to [`WRITER_NICE`] (Linux: niceness is per
/// thread), never raise it: a process started at a higher niceness keeps it, since
/// raising a priority needs a privilege the server should not have. Failing only
/// costs the tail, so it is logged, not fatal.
fn yield_to_requests() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `gettid`, `getpriority` and `setpriority` take plain integers and
        // touch no memory; the id is this thread's own.
        let (now, changed) = unsafe {
            let thread = libc::gettid() as libc::id_t;
            let now = libc::getpriority(libc::PRIO_PROCESS, thread);
            let changed = if now < WRITER_NICE {
                libc::setpriority(libc::PRIO_PROCESS, thread, WRITER_NICE)
            } else {
                0
            };
            (now, changed)
        };
        if changed != 0 {
            tracing::debug!(niceness = now, error = %std::io::Error::last_os_error(),
                "usage store: cannot lower the writer's priority");
        }
    }
}

/// How often the writer takes what is queued.
const TICK: Duration = Duration::from_millis(250);
const _: () = assert!(TICK.as_millis() * 2 <= BATCH_WINDOW.as_millis());

/// Insert and empty `batch` (nothing to do when it is empty).
fn commit(conn: &mut Connection, batch: &mut Vec<Row>) {
    if batch.is_empty() {
        return;
    }
    if let Err(error) = insert(conn, batch) {
        tracing::warn!(rows = batch.len(), %error, "usage store: cannot write a batch; rows lost");
    }
    batch.clear();
}

/// Commit `batch` in one transaction.
fn insert(conn: &mut Connection, batch: &[Row]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut statement = tx.prepare_cached(
            "INSERT INTO requests (time_ms, client_key, provider, adapter, account, model,
                upstream_model, dialect, stream, status, error, attempts, latency_ms, ttft_ms,
                input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
                reasoning_tokens)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                ?17, ?18, ?19)",
        )?;
        for row in batch {
            statement.execute(params![
                row.time_ms,
                row.client_key,
                row.provider,
                row.adapter,
                row.account,
                row.model,
                row.upstream_model,
                row.dialect,
                row.stream,
                row.status,
                row.error,
                row.attempts,
                clamp(row.latency_ms),
                row.ttft_ms.map(clamp),
                row.input_tokens.map(clamp),
                row.output_tokens.map(clamp),
                row.cache_read_tokens.map(clamp),
                row.cache_write_tokens.map(clamp),
                row.reasoning_tokens.map(clamp),
            ])?;
        }
    }
    tx.commit()
}

/// SQLite integers are signed 64-bit.
fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Delete rows older than `retention`.
fn prune(conn: &Connection, retention: Duration) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let cutoff = now.saturating_sub(retention).as_millis() as i64;
    match conn.execute("DELETE FROM requests WHERE time_ms < ?1", params![cutoff]) {
        Ok(0) => {}
        Ok(removed) => tracing::info!(removed, "usage store: pruned rows past retention"),
        Err(error) => tracing::warn!(%error, "usage store: cannot prune old rows"),
    }
}

/// Prune now (tests: retention without waiting an hour).
#[cfg(test)]
pub(crate) fn prune_now(path: &Path, retention: Duration) {
    let conn = super::open_for_writing(path).expect("open");
    prune(&conn, retention);
}
