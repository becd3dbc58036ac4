//! What a running server knows about accounts that their files do not say: which are
//! cooling down, and until when; what their quota reads found. `plugboard serve`
//! writes it to `<auth-dir>/.plugboard-state.json` (a dotfile: the store never reads it
//! as an account) every few seconds; `plugboard accounts list` reads it. Cooldowns are
//! ignored when the server has not written the file for a while (it stopped); quotas
//! carry the time they were read and are shown whatever the file's age.
//!
//! Only the server writes the file while it runs. `plugboard accounts refresh` records
//! the quota it read only when no server is writing ([`record_quota_if_idle`]), so the
//! two never race; a server that starts later takes the quotas over.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::reads::{Facts, Quota};
use crate::routing::CooldownBook;

/// The file's name inside the auth directory.
pub const FILE: &str = ".plugboard-state.json";
/// Older than this, the file is from a server that stopped.
const STALE: Duration = Duration::from_secs(30);

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct State {
    /// Unix seconds when written.
    written_at: u64,
    /// Account id → its cooldown.
    cooling: BTreeMap<String, Cooling>,
    /// Account id → its quota, as the latest read found it (absent in older files).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    quota: BTreeMap<String, QuotaRecord>,
}

/// The quota of one account as read at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotaRecord {
    /// Unix seconds when read.
    pub read_at: u64,
    /// Its windows.
    pub windows: Vec<Quota>,
    /// The last error of a read that is still failing (the windows are older).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl QuotaRecord {
    /// The record of what `facts` say about the quota, when they say anything.
    pub fn of(facts: &Facts) -> Option<Self> {
        let errors = facts.errors();
        if facts.quota.is_empty() && errors.is_empty() {
            return None;
        }
        Some(Self {
            read_at: facts.quota_read_at.map_or(0, unix),
            windows: facts.quota.clone(),
            error: (!errors.is_empty()).then(|| errors.join("; ")),
        })
    }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Cooling {
    /// Unix seconds.
    until: u64,
    /// Why, in words.
    reason: String,
}

/// Write the cooldowns of `book` and the quotas of `facts` whose accounts are in
/// `ids` (the stored accounts). Returns what was written (`last` when the write
/// failed).
pub fn write(
    dir: &Path,
    book: &CooldownBook,
    facts: &BTreeMap<String, Facts>,
    ids: &[String],
    last: Option<String>,
) -> Option<String> {
    let now = Instant::now();
    let wall = SystemTime::now();
    let cooling: BTreeMap<String, Cooling> = book
        .all(now)
        .into_iter()
        .filter(|(id, _)| ids.contains(id))
        .map(|(id, cooldown)| {
            let until = wall + cooldown.until.saturating_duration_since(now);
            (
                id,
                Cooling {
                    until: unix(until),
                    reason: cooldown.reason.describe().to_owned(),
                },
            )
        })
        .collect();
    let quota: BTreeMap<String, QuotaRecord> = facts
        .iter()
        .filter(|(id, _)| ids.contains(id))
        .filter_map(|(id, facts)| QuotaRecord::of(facts).map(|record| (id.clone(), record)))
        .collect();
    let key = serde_json::to_string(&(&cooling, &quota)).ok()?;
    // Rewritten every time, so readers know it is live.
    let state = State {
        written_at: unix(wall),
        cooling,
        quota,
    };
    let bytes = serde_json::to_vec_pretty(&state).ok()?;
    if let Err(error) = super::store::write_atomically(dir, FILE, &bytes) {
        tracing::warn!(error = %format!("{error:#}"), "cannot write the account state file");
        return last;
    }
    Some(key)
}

/// The cooldowns a live server wrote: account id → (until, reason). Empty when there
/// is no file, it does not parse, or it is stale.
pub fn read(dir: &Path) -> BTreeMap<String, (SystemTime, String)> {
    let Ok(bytes) = std::fs::read(dir.join(FILE)) else {
        return BTreeMap::new();
    };
    let Ok(state) = serde_json::from_slice::<State>(&bytes) else {
        return BTreeMap::new();
    };
    let written = UNIX_EPOCH + Duration::from_secs(state.written_at);
    if SystemTime::now()
        .duration_since(written)
        .is_ok_and(|age| age > STALE)
    {
        return BTreeMap::new();
    }
    state
        .cooling
        .into_iter()
        .map(|(id, c)| (id, (UNIX_EPOCH + Duration::from_secs(c.until), c.reason)))
        .collect()
}

/// The quotas recorded in the file, whatever its age: account id → (read at, windows).
pub fn read_quota(dir: &Path) -> BTreeMap<String, (SystemTime, Vec<Quota>)> {
    quota_records(dir)
        .into_iter()
        .filter(|(_, record)| record.read_at > 0)
        .map(|(id, record)| {
            (
                id,
                (
                    UNIX_EPOCH + Duration::from_secs(record.read_at),
                    record.windows,
                ),
            )
        })
        .collect()
}

/// The quota records in the file, whatever its age (empty without a file).
pub fn quota_records(dir: &Path) -> BTreeMap<String, QuotaRecord> {
    std::fs::read(dir.join(FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<State>(&bytes).ok())
        .map(|state| state.quota)
        .unwrap_or_default()
}

/// Record `record` as account `id`'s quota in the file, unless a server is writing it
/// (it was written within the last 30 s): then the server's own reads are the truth
/// and it would overwrite this anyway. The file's age is kept, so a stopped server's
/// cooldowns stay ignored. Returns whether it was written.
pub fn record_quota_if_idle(dir: &Path, id: &str, record: QuotaRecord) -> anyhow::Result<bool> {
    let mut state = match std::fs::read(dir.join(FILE)) {
        Ok(bytes) => serde_json::from_slice::<State>(&bytes).unwrap_or_default(),
        Err(_) => State::default(),
    };
    let written = UNIX_EPOCH + Duration::from_secs(state.written_at);
    let live = SystemTime::now()
        .duration_since(written)
        .is_ok_and(|age| age <= STALE)
        || written > SystemTime::now();
    if live && state.written_at > 0 {
        return Ok(false);
    }
    state.quota.insert(id.to_owned(), record);
    let bytes = serde_json::to_vec_pretty(&state)?;
    super::store::write_atomically(dir, FILE, &bytes)?;
    Ok(true)
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(used: f64) -> QuotaRecord {
        QuotaRecord {
            read_at: 1_700_000_000,
            windows: vec![Quota {
                name: "chat".into(),
                used,
                limit: Some(50.0),
                unit: "requests".into(),
                resets_at: None,
            }],
            error: None,
        }
    }

    #[test]
    fn a_file_from_before_quotas_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let now = unix(SystemTime::now());
        std::fs::write(
            dir.path().join(FILE),
            format!(r#"{{"written_at": {now}, "cooling": {{"a": {{"until": {}, "reason": "rate limited"}}}}}}"#, now + 60),
        )
        .unwrap();
        assert_eq!(read(dir.path())["a"].1, "rate limited");
        assert!(quota_records(dir.path()).is_empty());
    }

    #[test]
    fn the_cli_records_a_quota_only_when_no_server_writes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        // No file: recorded, and the file's age says no server wrote it.
        assert!(record_quota_if_idle(dir.path(), "a", record(1.0)).unwrap());
        assert_eq!(quota_records(dir.path())["a"], record(1.0));
        assert!(read(dir.path()).is_empty());
        // A live server's file: left to the server.
        let facts = BTreeMap::from([(
            "b".to_owned(),
            Facts {
                quota: record(2.0).windows,
                quota_read_at: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
                ..Facts::default()
            },
        )]);
        let ids = ["a".to_owned(), "b".to_owned()];
        write(dir.path(), &CooldownBook::new(), &facts, &ids, None).unwrap();
        assert!(!record_quota_if_idle(dir.path(), "a", record(3.0)).unwrap());
        let records = quota_records(dir.path());
        assert_eq!(records.get("b"), Some(&record(2.0)));
        assert_eq!(records.get("a"), None, "the server's file is the truth");
    }
}
