//! The usage store: one row per request that passed client authentication, kept in
//! SQLite (compiled in through `rusqlite`'s `bundled`, so nothing is installed).
//!
//! Why this shape: the request path must never wait on a disk. A finished request
//! hands its [`Row`] to [`record`], which only tries to put it on a bounded channel
//! (a full channel drops the row and counts it, see [`dropped`]); one writer thread
//! takes rows off it and commits them in batches. A batch is committed at most
//! [`BATCH_WINDOW`] after its first row arrived, so a SIGKILL loses at most that
//! window; a clean stop ([`UsageWriter::close`]) commits what is pending. The
//! database is in WAL mode, so `plugboard usage` and the management API read while
//! the server writes. Rows older than `usage.retention-days` are pruned at start and
//! hourly.
//!
//! The writer is process-wide ([`install`]): it outlives config reloads, and the
//! management API reads through the same [`UsageReader`] ([`reader`]).

mod query;
mod seed;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use arc_swap::ArcSwapOption;
use rusqlite::Connection;
use serde::Serialize;

pub use query::{
    Bucket, Group, GroupKey, Query, Report, Totals, parse_instant, parse_since, rows_to_csv,
    summary_table,
};
pub use writer::UsageWriter;

/// Longest a row waits in the writer before its batch is committed.
pub const BATCH_WINDOW: Duration = Duration::from_secs(1);

/// Rows the channel holds before new ones are dropped (and counted).
pub const CHANNEL_CAPACITY: usize = 16_384;

/// One finished request, as the store keeps it and the metrics count it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Row {
    /// When the request arrived, Unix milliseconds.
    pub time_ms: i64,
    /// The client key's name; empty for the keys of the plain `api-keys` list (and
    /// when serving without keys).
    pub client_key: String,
    /// The provider entry of the last attempt; empty when none was tried.
    pub provider: String,
    /// The adapter id of that entry.
    pub adapter: String,
    /// The account of the last attempt.
    pub account: String,
    /// The model the client asked for.
    pub model: String,
    /// The model asked of the upstream on the last attempt.
    pub upstream_model: String,
    /// The client's dialect: `openai-chat`, `openai-responses`, `anthropic`, `gemini`.
    pub dialect: String,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// The HTTP status the client got (200 for a stream that began, even if it then
    /// failed: see `error`).
    pub status: u16,
    /// What went wrong, when something did: the error's code (`model_not_found`,
    /// `rate_limited`...), or its kind; `client_disconnected` for a stream the client
    /// left. Empty on success.
    pub error: String,
    /// Upstream attempts made.
    pub attempts: u32,
    /// From arrival to the last byte (for a stream, its end or the client leaving),
    /// milliseconds.
    pub latency_ms: u64,
    /// From arrival to the first bytes of a stream's answer, milliseconds; `None` for
    /// a document or a stream that never began.
    pub ttft_ms: Option<u64>,
    /// Prompt tokens as the upstream reported them (cached included).
    pub input_tokens: Option<u64>,
    /// Generated tokens (reasoning included).
    pub output_tokens: Option<u64>,
    /// Prompt tokens read from cache.
    pub cache_read_tokens: Option<u64>,
    /// Prompt tokens written to cache.
    pub cache_write_tokens: Option<u64>,
    /// Reasoning tokens.
    pub reasoning_tokens: Option<u64>,
}

impl Row {
    /// Add the upstream's usage report: each count it gives replaces the one held
    /// (a later report of one response is cumulative), so the last report wins.
    pub fn take_usage(&mut self, usage: &crate::ir::Usage) {
        let fields = [
            (&mut self.input_tokens, usage.input_tokens),
            (&mut self.output_tokens, usage.output_tokens),
            (&mut self.cache_read_tokens, usage.cache_read_tokens),
            (&mut self.cache_write_tokens, usage.cache_write_tokens),
            (&mut self.reasoning_tokens, usage.reasoning_tokens),
        ];
        for (held, reported) in fields {
            if reported.is_some() {
                *held = reported;
            }
        }
    }
}

/// The process's writer, once [`install`]ed.
static SINK: ArcSwapOption<writer::Sink> = ArcSwapOption::const_empty();
/// The process's reader, once [`install`]ed.
static READER: OnceLock<UsageReader> = OnceLock::new();
/// Rows dropped because the channel was full (the disk stalled).
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Hand a finished request's row to the store, if one is installed. Never blocks: a
/// full channel drops the row and counts it.
pub fn record(row: Row) {
    if let Some(sink) = SINK.load().as_ref()
        && !sink.try_send(row)
    {
        crate::metrics::usage_row_dropped();
        let total = DROPPED.fetch_add(1, Ordering::Relaxed) + 1;
        if total.is_power_of_two() {
            tracing::warn!(dropped = total, "usage store is behind; rows dropped");
        }
    }
}

/// Rows dropped since start because the writer fell behind.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Open the store at `path` (creating it), start its writer, and make it the one
/// [`record`] writes to and [`reader`] reads from. The returned writer commits what
/// is pending when closed; dropping it without closing loses at most one batch.
pub fn install(path: &Path, retention_days: u32) -> anyhow::Result<UsageWriter> {
    let writer = UsageWriter::start(path, retention_days)?;
    SINK.store(Some(writer.sink()));
    let _ = READER.set(UsageReader::new(path));
    Ok(writer)
}

/// The installed store's reader (for the management API's `usage` and
/// `usage/export`); `None` when the store is off.
pub fn reader() -> Option<&'static UsageReader> {
    READER.get()
}

/// The schema, created on first open. `time_ms` is indexed: every query is a range.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    client_key TEXT NOT NULL,
    provider TEXT NOT NULL,
    adapter TEXT NOT NULL,
    account TEXT NOT NULL,
    model TEXT NOT NULL,
    upstream_model TEXT NOT NULL,
    dialect TEXT NOT NULL,
    stream INTEGER NOT NULL,
    status INTEGER NOT NULL,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    latency_ms INTEGER NOT NULL,
    ttft_ms INTEGER,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cache_read_tokens INTEGER,
    cache_write_tokens INTEGER,
    reasoning_tokens INTEGER
);
CREATE INDEX IF NOT EXISTS requests_time ON requests (time_ms);
";

/// Open (creating when missing) the database at `path`, in WAL mode, with the schema.
fn open_for_writing(path: &Path) -> anyhow::Result<Connection> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| {
            format!(
                "cannot create the usage store's directory {}",
                parent.display()
            )
        })?;
    }
    let conn = Connection::open(path)
        .with_context(|| format!("cannot open the usage store {}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .with_context(|| format!("cannot put the usage store {} in WAL mode", path.display()))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(SCHEMA).with_context(|| {
        format!(
            "cannot create the usage store's table in {}",
            path.display()
        )
    })?;
    Ok(conn)
}

/// Reads the store: reports and rows. Each call opens its own read-only connection
/// (WAL: readers never block the writer), so it is safe from any thread; call it off
/// the async runtime (`spawn_blocking`) on a server.
#[derive(Debug, Clone)]
pub struct UsageReader {
    path: PathBuf,
}

impl UsageReader {
    /// A reader of the database at `path`.
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open(&self) -> anyhow::Result<Connection> {
        if !self.path.exists() {
            anyhow::bail!(
                "no usage store at {} (is `usage.enabled` off, or has the server never run?)",
                self.path.display()
            );
        }
        let conn = Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("cannot open the usage store {}", self.path.display()))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        Ok(conn)
    }

    /// Totals over `query`'s range, and per group (and per time bucket) when it asks.
    pub fn report(&self, query: &Query) -> anyhow::Result<Report> {
        query::report(&self.open()?, query)
    }

    /// Every row in `query`'s range, oldest first (its grouping is ignored): what the
    /// CSV and JSON exports hold.
    pub fn rows(&self, query: &Query) -> anyhow::Result<Vec<Row>> {
        query::rows(&self.open()?, query)
    }
}

#[cfg(test)]
mod tests;

/// Start the store `config` asks for (`usage:`) and install it; `None` when
/// `usage.enabled` is false. For `serve`, once at start.
pub fn start(config: &crate::config::Config) -> anyhow::Result<Option<UsageWriter>> {
    if !config.usage.enabled {
        tracing::info!("usage store off (usage.enabled: false)");
        return Ok(None);
    }
    let path = config.usage_path();
    let writer = install(&path, config.usage.retention_days)?;
    tracing::info!(path = %path.display(), retention_days = config.usage.retention_days, "usage store open");
    Ok(Some(writer))
}

/// How `plugboard usage` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A table for a person.
    Table,
    /// The report as JSON.
    Json,
    /// The rows as CSV.
    Csv,
}

/// `plugboard usage`: the store of `config` read for `since` / `until` (ages like
/// `24h`, RFC 3339 or Unix seconds), grouped `by` (comma-separated keys) and
/// bucketed, printed as `format`.
pub fn cli(
    config: &crate::config::Config,
    since: Option<&str>,
    until: Option<&str>,
    by: Option<&str>,
    bucket: Option<&str>,
    format: Format,
) -> anyhow::Result<String> {
    let query = Query {
        from_ms: since
            .map(parse_since)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--since: {e}"))?,
        to_ms: until
            .map(parse_since)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--until: {e}"))?,
        group_by: by
            .map(GroupKey::parse_list)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--by: {e}"))?
            .unwrap_or_default(),
        bucket: bucket
            .map(Bucket::parse)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--bucket: {e}"))?,
    };
    let reader = UsageReader::new(&config.usage_path());
    Ok(match format {
        Format::Table => summary_table(&reader.report(&query)?),
        Format::Json => serde_json::to_string_pretty(&reader.report(&query)?)?,
        Format::Csv => rows_to_csv(&reader.rows(&query)?),
    })
}
