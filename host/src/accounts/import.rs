//! `plugboard accounts import`: the credential files other tools leave (CLIProxyAPI's
//! auth directory, Codex CLI, Claude Code, Gemini CLI, the Kiro IDE, Copilot editors),
//! read leniently and turned into account files. Import copies, never links, never
//! writes to the source.
//!
//! OWNER: the store helper. This is the API the rest of the host codes against.

use std::path::Path;

use super::file::AccountFile;

/// What one source path held.
#[derive(Debug)]
pub struct Imported {
    /// Which tool's format it was (`CLIProxyAPI`, `Codex CLI`...).
    pub format: &'static str,
    /// The accounts in it (ids are proposals; the store de-duplicates).
    pub accounts: Vec<AccountFile>,
}

/// Read `path` (a file, or a directory of CLIProxyAPI files) in whichever format it is.
pub fn read(path: &Path) -> anyhow::Result<Vec<Imported>> {
    let _ = path;
    todo!("store helper")
}
