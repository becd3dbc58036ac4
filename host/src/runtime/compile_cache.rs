//! The on-disk compile cache: compiled components (`<sha256>-<engine tag>.cwasm`),
//! each sealed with an HMAC-SHA256 under a per-install key, so no entry is handed to
//! wasmtime unless this installation wrote it exactly as it is.
//!
//! Why a seal at all: `Component::deserialize` is `unsafe` because it trusts its
//! bytes to be machine code that wasmtime produced. A flipped bit in an entry's code
//! crashed every start with SIGSEGV and an empty log; one in its data section left the
//! adapter refused on every restart, blaming the good `.wasm`. Every entry is now read
//! into memory and its seal checked (in constant time) before a byte of it reaches
//! wasmtime; an entry that fails is logged by name, removed and recompiled.
//!
//! Why keyed rather than a plain hash: a plain checksum catches corruption (disk,
//! a truncated copy, a careless edit), but anyone who can write the cache could write
//! a matching checksum for code of their choosing, which this process would then run
//! natively. The key ([`KEY_FILE`], 32 random bytes, mode 0600, owned by the serving
//! user) is read only by this process: someone who can write entries (a shared or
//! group-writable cache directory, a restored backup, another account) but cannot
//! read the key cannot forge an entry. A key file that others may read, or that is not
//! a regular file, is replaced (every entry then recompiles once); one owned by another
//! user is neither trusted nor touched (this process then runs without the cache).
//! Against someone running as the serving user it buys nothing: they could replace the
//! executable instead.
//!
//! The seal covers the entry's file name as well as its bytes, so a valid entry
//! renamed to another component's name is refused too.
//!
//! Entry layout: [`MAGIC`] (8 bytes), the HMAC (32 bytes), the serialised component.
//! Entries and the key are written atomically: temp file, fsync, rename (or link).

use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasmtime::Engine;
use wasmtime::component::Component;

/// The key's file name inside the cache directory.
pub const KEY_FILE: &str = "integrity.key";

/// Bytes of the key.
const KEY_LEN: usize = 32;

/// The first bytes of every entry: names the format, so a change of layout reads as
/// "not ours" rather than as garbage.
const MAGIC: &[u8; 8] = b"PBCWASM1";

/// Bytes of the HMAC-SHA256 seal after [`MAGIC`].
const SEAL_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// An open compile cache: its directory and the key that seals its entries.
pub struct CompileCache {
    dir: PathBuf,
    key: [u8; KEY_LEN],
}

impl std::fmt::Debug for CompileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("CompileCache")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl CompileCache {
    /// Open (creating it and its key when missing) the cache in `dir`.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let key = load_or_create_key(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            key,
        })
    }

    /// The path of the entry for source hash `hash` compiled by an engine tagged `tag`.
    pub fn entry_path(&self, hash: &str, tag: &str) -> PathBuf {
        self.dir.join(format!("{hash}-{tag}.cwasm"))
    }

    /// The cached component for `hash`, when an entry exists, carries a valid seal and
    /// wasmtime accepts it. A bad entry is logged by name and removed, so the caller
    /// compiles afresh and [`CompileCache::store`] replaces it.
    pub fn lookup(&self, engine: &Engine, hash: &str, tag: &str) -> Option<Component> {
        let path = self.entry_path(hash, tag);
        // Read into memory rather than `deserialize_file` (an mmap): a mapped file that
        // someone truncates or rewrites in place under a running host would kill it
        // with SIGBUS, and the seal must be checked on the very bytes that are used.
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
            Err(error) => {
                tracing::warn!(entry = %path.display(), %error, "cannot read compile cache entry; recompiling");
                return None;
            }
        };
        let artifact = match self.open_sealed(&path, &bytes) {
            Ok(artifact) => artifact,
            Err(why) => {
                tracing::warn!(entry = %path.display(), reason = why,
                    "compile cache entry {} failed its integrity check; recompiling", path.display());
                discard(&path);
                return None;
            }
        };
        // SAFETY: `deserialize` trusts the artifact to be one wasmtime wrote. The seal
        // just checked proves this installation wrote these exact bytes under this name
        // (after compiling them itself), and the name binds them to the source hash and
        // to this engine; wasmtime still checks its header and engine settings.
        match unsafe { Component::deserialize(engine, artifact) } {
            Ok(component) => Some(component),
            Err(error) => {
                // A sealed entry from an engine this one cannot run (settings changed
                // under the same tag): not corruption, but useless all the same.
                tracing::warn!(entry = %path.display(), error = %format!("{error:#}"),
                    "compile cache entry does not load in this engine; recompiling");
                discard(&path);
                None
            }
        }
    }

    /// Seal `component` and write it as the entry for `hash` and `tag`, atomically.
    pub fn store(&self, component: &Component, hash: &str, tag: &str) -> anyhow::Result<()> {
        let artifact = component
            .serialize()
            .map_err(|error| anyhow::anyhow!("{error:#}"))?;
        let path = self.entry_path(hash, tag);
        let mut entry = Vec::with_capacity(MAGIC.len() + SEAL_LEN + artifact.len());
        entry.extend_from_slice(MAGIC);
        entry.extend_from_slice(&self.seal(&path, &artifact));
        entry.extend_from_slice(&artifact);
        write_atomically(&self.dir, &path, &entry, 0o644)
    }

    /// The artifact inside a sealed entry read from `path`, or why it is not one.
    fn open_sealed<'a>(&self, path: &Path, bytes: &'a [u8]) -> Result<&'a [u8], &'static str> {
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or("it does not start with the entry header")?;
        if rest.len() < SEAL_LEN {
            return Err("it is shorter than its header");
        }
        let (seal, artifact) = rest.split_at(SEAL_LEN);
        self.mac(path, artifact)
            .verify_slice(seal)
            .map_err(|_| "its seal does not match its contents")?;
        Ok(artifact)
    }

    /// The seal of `artifact` stored under `path`.
    fn seal(&self, path: &Path, artifact: &[u8]) -> [u8; SEAL_LEN] {
        self.mac(path, artifact).finalize().into_bytes().into()
    }

    /// HMAC-SHA256 over the format, the entry's file name and the artifact. The name
    /// is length-prefixed so no (name, artifact) pair can pose as another.
    fn mac(&self, path: &Path, artifact: &[u8]) -> HmacSha256 {
        let name = path
            .file_name()
            .map(|name| name.as_encoded_bytes())
            .unwrap_or_default();
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(MAGIC);
        mac.update(&(name.len() as u64).to_le_bytes());
        mac.update(name);
        mac.update(artifact);
        mac
    }
}

/// Remove a bad entry; a failure to remove is logged (the entry is rewritten anyway).
fn discard(path: &Path) {
    if let Err(error) = std::fs::remove_file(path)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(entry = %path.display(), %error, "cannot remove compile cache entry");
    }
}

/// The key in `dir/KEY_FILE`, made when missing, replaced when it is not a private
/// regular file holding exactly [`KEY_LEN`] bytes. A key file of another user is an
/// error: the caller then runs without the cache.
fn load_or_create_key(dir: &Path) -> std::io::Result<[u8; KEY_LEN]> {
    let path = dir.join(KEY_FILE);
    // Two tries: another process may replace a bad key between our look and our link.
    for _ in 0..2 {
        match read_private_key(&path)? {
            KeyFile::Valid(key) => return Ok(key),
            KeyFile::Missing => {}
            KeyFile::Unfit(why) => {
                tracing::warn!(key = %path.display(), reason = why,
                    "compile cache key is unfit; replacing it (cached components will recompile once)");
                discard(&path);
            }
        }
        let mut key = [0u8; KEY_LEN];
        getrandom::getrandom(&mut key).map_err(|error| {
            std::io::Error::other(format!("no random bytes for a key: {error}"))
        })?;
        match write_new(dir, &path, &key) {
            Ok(()) => return Ok(key),
            // Another process made one first: use theirs.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
    match read_private_key(&path)? {
        KeyFile::Valid(key) => Ok(key),
        _ => Err(std::io::Error::other(format!(
            "cannot settle on a compile cache key at {}",
            path.display()
        ))),
    }
}

/// What is at the key's path.
enum KeyFile {
    /// A private key of this user.
    Valid([u8; KEY_LEN]),
    /// No file there yet.
    Missing,
    /// Present but not to be trusted, with why.
    Unfit(&'static str),
}

/// Read the key at `path` if it is fit to trust; an error for a key of another user
/// (not ours to trust, nor to replace) or one that cannot be read.
fn read_private_key(path: &Path) -> std::io::Result<KeyFile> {
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(KeyFile::Missing),
        Err(error) => return Err(error),
    };
    if !metadata.file_type().is_file() {
        return Ok(KeyFile::Unfit("it is not a regular file"));
    }
    // SAFETY: `geteuid` takes no arguments and cannot fail.
    if metadata.uid() != unsafe { libc::geteuid() } {
        // Not ours to trust (its owner could forge entries) nor to replace (it may be
        // the key of the server, read here by an operator's command run as another
        // user): this process goes without the cache.
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("the key {} belongs to another user", path.display()),
        ));
    }
    if metadata.mode() & 0o077 != 0 {
        return Ok(KeyFile::Unfit(
            "others may read or write it (mode is not 0600)",
        ));
    }
    let bytes = std::fs::read(path)?;
    Ok(match <[u8; KEY_LEN]>::try_from(bytes.as_slice()) {
        Ok(key) => KeyFile::Valid(key),
        Err(_) => KeyFile::Unfit("it does not hold a 32-byte key"),
    })
}

/// Write `bytes` to `target` only if nothing is there: a private temp file, fsync,
/// then a hard link (which, unlike rename, never replaces an existing file).
fn write_new(dir: &Path, target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let (temp, mut file) = temp_file_in(dir, 0o600)?;
    let linked = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::hard_link(&temp, target));
    let _ = std::fs::remove_file(&temp);
    linked?;
    sync_dir(dir);
    Ok(())
}

/// Write `bytes` to `target` atomically: temp file in the same directory, fsync,
/// rename over `target`, fsync the directory. Readers see the old or the new file,
/// never a part.
fn write_atomically(dir: &Path, target: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let (temp, mut file) = temp_file_in(dir, mode)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&temp, target));
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(error.into());
    }
    sync_dir(dir);
    Ok(())
}

/// Make a rename or link in `dir` durable. Best effort: a failure only costs a
/// recompile after a power cut.
fn sync_dir(dir: &Path) {
    if let Ok(handle) = std::fs::File::open(dir) {
        let _ = handle.sync_all();
    }
}

/// A uniquely named temp file in `dir` (same file system, so `rename` is atomic),
/// created with `mode`. The name starts with a dot and does not end in `.cwasm`.
fn temp_file_in(dir: &Path, mode: u32) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        ".tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let path = dir.join(name);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&path)?;
    Ok((path, file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_new_cache_gets_a_private_key_that_later_opens_reuse() {
        let dir = tempfile::tempdir().unwrap();
        let first = CompileCache::open(dir.path()).unwrap();
        let metadata = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap();
        assert_eq!(metadata.mode() & 0o777, 0o600);
        assert_eq!(metadata.len(), KEY_LEN as u64);
        let second = CompileCache::open(dir.path()).unwrap();
        assert_eq!(first.key, second.key);
        assert!(
            !format!("{first:?}").contains("key"),
            "Debug never shows the key"
        );
    }

    #[test]
    fn a_key_others_can_read_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let first = CompileCache::open(dir.path()).unwrap();
        let key_path = dir.path().join(KEY_FILE);
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let second = CompileCache::open(dir.path()).unwrap();
        assert_ne!(first.key, second.key);
        let mode = std::fs::metadata(&key_path).unwrap().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_key_of_another_user_is_neither_trusted_nor_replaced() {
        let dir = tempfile::tempdir().unwrap();
        CompileCache::open(dir.path()).unwrap();
        let key_path = dir.path().join(KEY_FILE);
        let key = std::fs::read(&key_path).unwrap();
        // Only root may give a file away; elsewhere there is nothing to test.
        if std::os::unix::fs::chown(&key_path, Some(65534), None).is_err() {
            return;
        }
        let refused = CompileCache::open(dir.path()).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(refused.to_string().contains("another user"), "{refused}");
        assert_eq!(std::fs::read(&key_path).unwrap(), key, "left as it was");
    }

    #[test]
    fn a_seal_binds_the_bytes_the_name_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CompileCache::open(dir.path()).unwrap();
        let path = cache.entry_path("aa", "tag");
        let artifact = b"compiled code".to_vec();
        let mut entry = MAGIC.to_vec();
        entry.extend_from_slice(&cache.seal(&path, &artifact));
        entry.extend_from_slice(&artifact);
        assert_eq!(cache.open_sealed(&path, &entry), Ok(artifact.as_slice()));

        let mut flipped = entry.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(cache.open_sealed(&path, &flipped).is_err());
        let renamed = cache.entry_path("bb", "tag");
        assert!(cache.open_sealed(&renamed, &entry).is_err());
        let other_key = CompileCache {
            dir: dir.path().to_owned(),
            key: [7; KEY_LEN],
        };
        assert!(other_key.open_sealed(&path, &entry).is_err());
        assert!(cache.open_sealed(&path, &artifact).is_err(), "no header");
        assert!(cache.open_sealed(&path, &entry[..20]).is_err(), "cut short");
    }
}
