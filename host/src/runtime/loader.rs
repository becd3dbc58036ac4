//! Loading one `.wasm` file: read, hash, compile (or reuse the on-disk cache,
//! [`super::compile_cache`]), find its world, instantiate once and check what
//! `info()` says.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use tokio::sync::Semaphore;

use super::compile_cache::CompileCache;
use super::dispatch::{FixupPre, ProviderPre};
use super::pool::ReadyPool;
use super::sandbox::{self, GuestState};
use super::{ComponentKind, FixupComponent, ProviderComponent, RuntimeSettings, RuntimeTuning};

/// The worlds this host serves, by the export-name prefix that identifies them. A
/// patch of a contract version is additive, so any `0.1.x` component binds to the
/// 0.1 bindings and any `0.2.x` to the 0.2 ones. The version a component reports
/// is the one its export names, never what its `info()` says.
const WORLDS: [(&str, ComponentKind, Contract); 4] = [
    (
        "plugboard:adapter/translator@0.2.",
        ComponentKind::Provider,
        Contract::V0_2,
    ),
    (
        "plugboard:adapter/filter@0.2.",
        ComponentKind::Fixup,
        Contract::V0_2,
    ),
    (
        "plugboard:adapter/translator@0.1.",
        ComponentKind::Provider,
        Contract::V0_1,
    ),
    (
        "plugboard:adapter/filter@0.1.",
        ComponentKind::Fixup,
        Contract::V0_1,
    ),
];

/// A supported contract version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contract {
    /// `plugboard:adapter@0.1.x`.
    V0_1,
    /// `plugboard:adapter@0.2.x`.
    V0_2,
}

/// What a component's exports say it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct World {
    /// Provider or fixup.
    pub kind: ComponentKind,
    /// Which bindings drive it.
    pub contract: Contract,
    /// The full version of the exported interface, e.g. `0.2.0`.
    pub version: String,
}

/// The engine and linkers every load and every sandbox uses.
pub struct Toolchain {
    /// The one engine.
    pub engine: Engine,
    /// Linker for the `provider` world.
    pub provider_linker: Linker<GuestState>,
    /// Linker for the `fixup` world.
    pub fixup_linker: Linker<GuestState>,
    /// The runtime's settings.
    pub settings: RuntimeSettings,
    /// How far the runtime prepares work ahead of requests.
    pub tuning: RuntimeTuning,
    /// One permit per pool slot, held by every live instance (waiting or serving):
    /// requests wait for a slot instead of failing inside wasmtime.
    pub slots: Arc<Semaphore>,
    /// File-name part identifying compiled artifacts this engine can run.
    pub cache_tag: String,
    /// The compile cache in `settings.cache_dir`, opened on first use (so a command
    /// that loads nothing creates nothing); `None` inside when there is no cache dir
    /// or it cannot be opened (then every load compiles, with one warning).
    compile_cache: OnceLock<Option<CompileCache>>,
}

impl Toolchain {
    /// Build linkers and the cache tag for `engine`.
    pub fn new(
        engine: Engine,
        settings: RuntimeSettings,
        tuning: RuntimeTuning,
    ) -> wasmtime::Result<Self> {
        let provider_linker = super::engine::build_linker(&engine, ComponentKind::Provider)?;
        let fixup_linker = super::engine::build_linker(&engine, ComponentKind::Fixup)?;
        let cache_tag = cache_tag(&engine);
        let slots = Arc::new(Semaphore::new(settings.max_instances.max(1) as usize));
        Ok(Self {
            engine,
            provider_linker,
            fixup_linker,
            settings,
            tuning,
            slots,
            cache_tag,
            compile_cache: OnceLock::new(),
        })
    }

    /// The compile cache, when one is configured and could be opened.
    pub fn compile_cache(&self) -> Option<&CompileCache> {
        self.compile_cache
            .get_or_init(|| {
                let dir = self.settings.cache_dir.as_ref()?;
                CompileCache::open(dir)
                    .inspect_err(|error| {
                        tracing::warn!(dir = %dir.display(), %error,
                            "cannot open the compile cache; compiling every component at load")
                    })
                    .ok()
            })
            .as_ref()
    }
}

/// A hex tag of everything that makes a compiled artifact usable by this engine
/// (wasmtime version, target, compiler settings). `DefaultHasher::new()` has fixed
/// keys, so the tag is stable across runs of the same binary.
fn cache_tag(engine: &Engine) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// A validated component, ready for a registry.
pub enum Loaded {
    /// World `provider`.
    Provider(ProviderComponent),
    /// World `fixup`.
    Fixup(FixupComponent),
}

/// The `.wasm` files at the top level of `dir`, sorted by file name (so which of
/// two files claiming the same id wins is deterministic). Subdirectories, such as
/// a cache directory kept inside, and other files are ignored.
pub fn wasm_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "wasm") && entry.file_type()?.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// sha256 of `bytes`, lower-case hex.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Compile, find the world, instantiate once and validate `info()`. The error is a
/// reason fit for logs and the management API.
pub async fn load(
    tools: &Arc<Toolchain>,
    path: &Path,
    bytes: Vec<u8>,
    hash: String,
) -> Result<Loaded, String> {
    let component = {
        let tools = tools.clone();
        let hash = hash.clone();
        // Compiling takes ~150 ms of CPU: keep it off the async workers.
        tokio::task::spawn_blocking(move || compile_or_reuse(&tools, &bytes, &hash))
            .await
            .map_err(|error| format!("compile task failed: {error}"))??
    };
    let world = world_of(&component, &tools.engine)?;
    let version = world.version.as_str();
    match world.kind {
        ComponentKind::Provider => {
            let link = match world.contract {
                Contract::V0_1 => ProviderPre::v0_1,
                Contract::V0_2 => ProviderPre::v0_2,
            };
            let pre = tools
                .provider_linker
                .instantiate_pre(&component)
                .and_then(link)
                .map_err(|error| format!("cannot link as a provider: {error:#}"))?;
            let info = validation_call(tools, path, async |store| {
                pre.instantiate(store).await?.info(store, version).await
            })
            .await?;
            check_identity(&info.id)?;
            let label: Arc<str> = Arc::from(format!("{}@{}", info.id, info.version));
            let ready = ReadyPool::new(pre, label.clone(), tools.clone());
            ready.refill().await;
            Ok(Loaded::Provider(ProviderComponent {
                info,
                hash,
                path: path.to_owned(),
                label,
                ready,
            }))
        }
        ComponentKind::Fixup => {
            let link = match world.contract {
                Contract::V0_1 => FixupPre::v0_1,
                Contract::V0_2 => FixupPre::v0_2,
            };
            let pre = tools
                .fixup_linker
                .instantiate_pre(&component)
                .and_then(link)
                .map_err(|error| format!("cannot link as a fixup: {error:#}"))?;
            let info =
                validation_call(tools, path, async |store| pre.info(store, version).await).await?;
            check_identity(&info.id)?;
            let label: Arc<str> = Arc::from(format!("{}@{}", info.id, info.version));
            let ready = ReadyPool::new(pre, label.clone(), tools.clone());
            ready.refill().await;
            Ok(Loaded::Fixup(FixupComponent {
                info,
                hash,
                path: path.to_owned(),
                label,
                ready,
            }))
        }
    }
}

/// Run the load-time `info()` call in a throwaway store, bounded like any call.
async fn validation_call<T>(
    tools: &Toolchain,
    path: &Path,
    call: impl AsyncFnOnce(&mut wasmtime::Store<GuestState>) -> wasmtime::Result<T>,
) -> Result<T, String> {
    let settings = &tools.settings;
    let mut store = sandbox::new_store(
        &tools.engine,
        settings.guest_memory_bytes,
        settings.guest_call_timeout,
        Arc::from("{}"),
    );
    let caller: Arc<str> = Arc::from(path.display().to_string());
    sandbox::guarded(&mut store, &caller, call)
        .await
        .map_err(|failure| match failure {
            sandbox::Failure::Trap(reason) => format!("info() failed: {reason:?}"),
            sandbox::Failure::Host(message) => message,
        })
}

fn check_identity(id: &str) -> Result<(), String> {
    if id.trim().is_empty() {
        return Err("info() returned an empty id".into());
    }
    Ok(())
}

/// Which world (and contract version) a component implements, from what it exports.
fn world_of(component: &Component, engine: &Engine) -> Result<World, String> {
    let component_type = component.component_type();
    let exports: Vec<&str> = component_type
        .exports(engine)
        .map(|(name, _)| name)
        .collect();
    world_from_exports(&exports)
}

/// [`world_of`] on the export names: the first supported world (newest first) one
/// of them names, with a numeric patch.
fn world_from_exports(exports: &[&str]) -> Result<World, String> {
    for (prefix, kind, contract) in WORLDS {
        let found = exports.iter().find_map(|name| {
            let patch = name.strip_prefix(prefix)?;
            (!patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit())).then_some(name)
        });
        if let Some(name) = found {
            let version = name.rsplit_once('@').map(|(_, v)| v).unwrap_or_default();
            return Ok(World {
                kind,
                contract,
                version: version.to_owned(),
            });
        }
    }
    let listed = if exports.is_empty() {
        "nothing".to_owned()
    } else {
        exports.join(", ")
    };
    let expected: Vec<String> = WORLDS.iter().map(|(p, ..)| format!("{p}x")).collect();
    Err(format!(
        "not a Plugboard adapter: exports {listed} (expected one of {})",
        expected.join(", ")
    ))
}

/// The compiled component: from the compile cache when it holds a sound entry for
/// `hash`, else compiled now and stored there (see [`super::compile_cache`]).
fn compile_or_reuse(tools: &Toolchain, bytes: &[u8], hash: &str) -> Result<Component, String> {
    let Some(cache) = tools.compile_cache() else {
        return compile(tools, bytes);
    };
    if let Some(component) = cache.lookup(&tools.engine, hash, &tools.cache_tag) {
        return Ok(component);
    }
    let component = compile(tools, bytes)?;
    if let Err(error) = cache.store(&component, hash, &tools.cache_tag) {
        let entry = cache.entry_path(hash, &tools.cache_tag);
        tracing::warn!(entry = %entry.display(), error = %format!("{error:#}"), "could not write compile cache entry");
    }
    Ok(component)
}

/// Give the heap's free memory back to the OS. Compiling a component with Cranelift
/// allocates tens of MB that are freed afterwards, and the allocator keeps freed
/// memory for reuse: without this, a start with an empty compile cache (or a hot swap
/// of a new build) leaves ~30 MB more resident than a start from the cache.
pub fn release_free_heap() {
    #[cfg(all(target_os = "linux", not(miri)))]
    // SAFETY: `arena.<MALLCTL_ARENAS_ALL>.purge` takes no input and writes no output;
    // the name is a NUL-terminated constant.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            c"arena.4096.purge".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
    }
}

/// Compile `bytes` for this runtime's engine: in a child process when
/// [`RuntimeSettings::compiler`] names one, else here.
///
/// Why a child: Cranelift needs tens of MB of heap and pages in a large part of the
/// binary to compile one component; in the serving process that memory stays
/// resident long after (a start with an empty cache sat at ~50 MB against ~22 MB
/// from the cache). A child returns all of it when it exits, and a compiler crash
/// on a hostile file cannot take the server down with it. It costs one process
/// start (a few ms) next to ~150 ms of compiling.
fn compile(tools: &Toolchain, bytes: &[u8]) -> Result<Component, String> {
    let Some(compiler) = &tools.settings.compiler else {
        return Component::new(&tools.engine, bytes)
            .map_err(|error| format!("not a valid component: {error:#}"));
    };
    let unusable = match compile_in_child(compiler, &tools.settings, bytes) {
        Err(ChildCompile::Refused(reason)) => return Err(reason),
        Err(ChildCompile::NotStarted(reason)) => reason,
        // SAFETY: the artifact comes from this same executable's `compile-component`,
        // built for an engine with these very settings; wasmtime still checks its
        // header and the engine's compatibility before using it.
        Ok(artifact) => match unsafe { Component::deserialize(&tools.engine, &artifact) } {
            Ok(component) => return Ok(component),
            // The executable on disk is no longer this one (upgraded in place).
            Err(error) => format!("its artifact does not load here: {error:#}"),
        },
    };
    tracing::warn!(compiler = %compiler.display(), reason = %unusable,
        "cannot compile in a child process; compiling in this one");
    Component::new(&tools.engine, bytes)
        .map_err(|error| format!("not a valid component: {error:#}"))
}

/// Why a child compile gave no artifact.
enum ChildCompile {
    /// The compiler ran and refused the file (or died on it): the file's verdict.
    Refused(String),
    /// The compiler could not be run at all: compile in-process instead.
    NotStarted(String),
}

/// Run `<compiler> compile-component` with the settings that shape compiled code,
/// the component on its stdin; its stdout is the artifact, its stderr the reason.
fn compile_in_child(
    compiler: &Path,
    settings: &RuntimeSettings,
    bytes: &[u8],
) -> Result<Vec<u8>, ChildCompile> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(compiler)
        .arg("compile-component")
        .arg("--guest-memory-bytes")
        .arg(settings.guest_memory_bytes.to_string())
        .arg("--max-instances")
        .arg(settings.max_instances.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| ChildCompile::NotStarted(format!("cannot start it: {error}")))?;
    // The child reads all of stdin before it writes anything, so writing first and
    // reading after cannot deadlock.
    let written = child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(bytes))
        .transpose();
    let output = child
        .wait_with_output()
        .map_err(|error| ChildCompile::NotStarted(format!("cannot wait for it: {error}")))?;
    if output.status.success() {
        return match written {
            Ok(_) => Ok(output.stdout),
            Err(error) => Err(ChildCompile::NotStarted(format!(
                "cannot hand it the component: {error}"
            ))),
        };
    }
    let reason = String::from_utf8_lossy(&output.stderr);
    let reason = reason.trim().trim_start_matches("plugboard: ").to_owned();
    Err(match output.status.code() {
        Some(REFUSED_EXIT_CODE) => ChildCompile::Refused(reason),
        // Killed by a signal: the compiler died on this file; never retry it here.
        None => ChildCompile::Refused(format!(
            "the compiler died on this file ({})",
            output.status
        )),
        // Some other failure of the compiler itself (e.g. an executable of another
        // version that lacks the subcommand): not the file's fault.
        Some(_) => ChildCompile::NotStarted(format!("it failed ({}): {reason}", output.status)),
    })
}

/// The exit code of `plugboard compile-component` for "this file is not a component
/// this runtime can compile" (the refusal reason is on its stderr).
pub const REFUSED_EXIT_CODE: i32 = 3;

/// What `plugboard compile-component` does: compile `bytes` for the engine that
/// `settings` build and serialise it. The error is the load's refusal reason.
pub fn compile_to_artifact(settings: &RuntimeSettings, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let engine = super::engine::build_engine(settings, &RuntimeTuning::default())
        .map_err(|error| format!("cannot build the wasm engine: {error:#}"))?;
    let component = Component::new(&engine, bytes)
        .map_err(|error| format!("not a valid component: {error:#}"))?;
    component
        .serialize()
        .map_err(|error| format!("cannot serialise the compiled component: {error:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_version_comes_from_the_exported_world() {
        let world =
            world_from_exports(&["wasi:cli/run@0.2.0", "plugboard:adapter/translator@0.1.0"])
                .unwrap();
        assert_eq!(
            (world.kind, world.contract, world.version.as_str()),
            (ComponentKind::Provider, Contract::V0_1, "0.1.0")
        );
        let world = world_from_exports(&["plugboard:adapter/filter@0.2.3"]).unwrap();
        assert_eq!(
            (world.kind, world.contract, world.version.as_str()),
            (ComponentKind::Fixup, Contract::V0_2, "0.2.3")
        );
        for unsupported in [
            "plugboard:adapter/translator@0.3.0",
            "plugboard:adapter/translator@0.1",
            "plugboard:adapter/translator@0.1.x",
            "plugboard:adapter/translator@1.0.0",
        ] {
            let refused = world_from_exports(&[unsupported]).unwrap_err();
            assert!(refused.contains("not a Plugboard adapter"), "{refused}");
        }
    }

    #[test]
    fn only_top_level_wasm_files_are_listed_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.wasm"), b"").unwrap();
        std::fs::write(dir.path().join("a.wasm"), b"").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"").unwrap();
        std::fs::create_dir(dir.path().join("cache.wasm")).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/c.wasm"), b"").unwrap();
        let names: Vec<_> = wasm_files(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["a.wasm", "b.wasm"]);
    }
}
