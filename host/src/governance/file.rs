//! `client-keys.json`: the keys created through the management API, beside the config
//! file. Only each key's SHA-256 is stored, never the key; the file is written 0600,
//! atomically (temporary file, fsync, rename), so a crash leaves the old list or the
//! new one.
//!
//! ```json
//! {"keys": [{"name": "ci", "key-sha256": "…64 hex…", "created": "2026-12-07T01:00:00Z",
//!            "limits": {"rpm": 60, "models": ["gpt-4o"]}}]}
//! ```

use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::{Key, Origin};
use crate::config::client_keys::{KeyLimits, parse_sha256, valid_name};

/// The file as a whole.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    keys: Vec<StoredKey>,
}

/// One stored key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct StoredKey {
    pub name: String,
    key_sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    #[serde(default)]
    limits: KeyLimits,
}

impl StoredKey {
    pub fn from_key(key: &Key) -> Self {
        Self {
            name: key.name.clone(),
            key_sha256: hex::encode(key.digest),
            created: key.created.clone(),
            limits: key.limits.clone(),
        }
    }

    pub fn into_key(self) -> Key {
        Key {
            digest: parse_sha256(&self.key_sha256).expect("checked when read"),
            name: self.name,
            limits: self.limits,
            origin: Origin::Api,
            created: self.created,
        }
    }
}

/// The keys in `path`; none when it does not exist. A file that does not parse, or
/// holds a bad entry, is an error naming the file (it is never overwritten then).
pub(super) fn read(path: &Path) -> anyhow::Result<Vec<StoredKey>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot read {}", path.display()));
        }
    };
    let file: KeysFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a client keys file", path.display()))?;
    let mut names = std::collections::HashSet::new();
    for key in &file.keys {
        let problem = if !valid_name(&key.name) {
            Some("its name is not 1 to 64 letters, digits, `-`, `_`, `.` or `@`".to_owned())
        } else if parse_sha256(&key.key_sha256).is_none() {
            Some("`key-sha256` is not 64 hex digits".to_owned())
        } else if !names.insert(key.name.as_str()) {
            Some("its name is used twice".to_owned())
        } else {
            key.limits.check().err()
        };
        if let Some(problem) = problem {
            anyhow::bail!("{}: client key `{}`: {problem}", path.display(), key.name);
        }
    }
    Ok(file.keys)
}

/// Write `keys` to `path` (0600, atomically).
pub(super) fn write(path: &Path, keys: &[StoredKey]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .context("the client keys file has no file name")?;
    let mut text = serde_json::to_vec_pretty(&KeysFile {
        keys: keys.to_vec(),
    })?;
    text.push(b'\n');
    crate::accounts::store::write_atomically(dir, name, &text)
}
