//! What a running server knows about accounts that their files do not say: which are
//! cooling down, and until when. `plugboard serve` writes it to
//! `<auth-dir>/.plugboard-state.json` (a dotfile: the store never reads it as an
//! account) every few seconds when it changed; `plugboard accounts list` reads it, and
//! ignores it when the server has not written it for a while (it stopped).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

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
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Cooling {
    /// Unix seconds.
    until: u64,
    /// Why, in words.
    reason: String,
}

/// Write the cooldowns of `book` whose accounts are in `ids` (the stored accounts).
/// Returns what was written (`last` when the write failed).
pub fn write(
    dir: &Path,
    book: &CooldownBook,
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
    let key = serde_json::to_string(&cooling).ok()?;
    // Rewritten when it changed, and often enough that readers know it is live.
    let state = State {
        written_at: unix(wall),
        cooling,
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

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
