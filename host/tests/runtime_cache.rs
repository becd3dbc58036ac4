//! The compile cache: a restart loads compiled components from it instead of
//! compiling; an entry whose bytes are not exactly what this installation wrote
//! (flipped bits in its code or its data, another component's entry under its
//! name) is never handed to wasmtime: it is logged by name, and the component is
//! recompiled from its good `.wasm` and served.

mod runtime_fixtures;

use std::ops::Range;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use plugboard::ir::HttpRequest;
use plugboard::runtime::Runtime;
use plugboard::runtime::compile_cache::KEY_FILE;
use runtime_fixtures::*;

/// The components every story loads: a provider, and a fixup whose work is visible.
const COMPONENTS: [&str; 2] = [
    "test-adapters/test-spin.wasm",
    "test-adapters/test-stamp.wasm",
];

/// A runtime caching in `cache`, with `adapters` loaded (nothing refused) and its
/// warnings captured.
async fn start(adapters: &Path, cache: &Path) -> Arc<Runtime> {
    capture_warnings();
    let runtime = Runtime::new(test_settings(Some(cache.to_owned()))).unwrap();
    let refused = runtime.load_dir(adapters).await.unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    runtime
}

/// What test-stamp stamps on an upstream request: proof its compiled code runs.
async fn stamp(runtime: &Runtime) -> String {
    let registry = runtime.registry();
    let fixup = registry
        .fixup("test-stamp")
        .expect("test-stamp loaded")
        .clone();
    let mut sandbox = runtime
        .sandbox(
            registry.provider("test-spin").expect("test-spin loaded"),
            &[fixup],
            sandbox_context(),
        )
        .await
        .unwrap();
    let stamped = sandbox
        .on_upstream_request(HttpRequest {
            method: "POST".into(),
            url: "http://127.0.0.1:9/".into(),
            headers: vec![],
            body: vec![],
        })
        .await
        .expect("the stamp hook runs");
    stamped
        .headers
        .into_iter()
        .find(|(name, _)| name == "x-plugboard-stamp")
        .map(|(_, value)| value)
        .expect("stamped")
}

/// The cache entry of the component loaded as fixup `id`.
fn entry_of(runtime: &Runtime, cache: &Path, id: &str) -> PathBuf {
    let hash = runtime.registry().fixup(id).unwrap().hash.clone();
    let entries: Vec<PathBuf> = std::fs::read_dir(cache)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{hash}-"))
        })
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries[0].clone()
}

/// The byte range of ELF section `name` in a cache entry: wasmtime's artifact is an
/// ELF image (code in `.text`, the wasm data segments in `.rodata.wasm`), wherever
/// it starts inside the entry.
fn elf_section(entry: &[u8], name: &str) -> Range<usize> {
    let start = entry
        .windows(4)
        .position(|window| window == b"\x7fELF")
        .expect("an ELF image inside the entry");
    let elf = &entry[start..];
    let u16_at = |at: usize| u16::from_le_bytes(elf[at..at + 2].try_into().unwrap()) as usize;
    let u32_at = |at: usize| u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) as usize;
    let u64_at = |at: usize| u64::from_le_bytes(elf[at..at + 8].try_into().unwrap()) as usize;
    let (table, header_size, count, names_index) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let header = |index: usize| table + index * header_size;
    let names = u64_at(header(names_index) + 0x18);
    let mut seen = Vec::new();
    for index in 0..count {
        let at = header(index);
        let name_at = names + u32_at(at);
        let length = elf[name_at..].iter().position(|&b| b == 0).unwrap();
        let section = String::from_utf8_lossy(&elf[name_at..name_at + length]).into_owned();
        let (offset, size) = (u64_at(at + 0x18), u64_at(at + 0x20));
        if section == name && size > 0 {
            return start + offset..start + offset + size;
        }
        seen.push(section);
    }
    panic!("no section {name} in the entry; sections: {seen:?}")
}

/// Flip every bit of section `section` of test-stamp's cache entry (a single flipped
/// byte may land in code or data the stamp never touches), then start again on the
/// same cache. Trusted, corrupt code crashes the process (SIGSEGV, SIGILL) and
/// corrupt data makes `info()` fail, refusing the good `.wasm`; checked, the start
/// logs the entry by name, recompiles test-stamp, runs it, and leaves a sound entry.
async fn corruption_is_caught_in(section: &str) {
    let adapters = adapters_dir(&COMPONENTS);
    let cache = tempfile::tempdir().unwrap();
    let first = start(adapters.path(), cache.path()).await;
    let entry = entry_of(&first, cache.path(), "test-stamp");
    drop(first);
    let mut bytes = std::fs::read(&entry).unwrap();
    let range = elf_section(&bytes, section);
    for byte in &mut bytes[range] {
        *byte ^= 0xff;
    }
    std::fs::write(&entry, &bytes).unwrap();

    let restarted = start(adapters.path(), cache.path()).await;

    assert_eq!(
        stamp(&restarted).await,
        "v1",
        "test-stamp recompiled and runs"
    );
    let warning = format!(
        "compile cache entry {} failed its integrity check; recompiling",
        entry.display()
    );
    assert!(
        captured_warnings().contains(&warning),
        "the log names the bad entry: {warning}"
    );
    let rewritten = std::fs::read(&entry).unwrap();
    assert_ne!(rewritten, bytes, "the bad entry was replaced");
    let inode = std::fs::metadata(&entry).unwrap().ino();
    drop(restarted);
    let again = start(adapters.path(), cache.path()).await;
    assert_eq!(stamp(&again).await, "v1");
    assert_eq!(
        std::fs::metadata(&entry).unwrap().ino(),
        inode,
        "the rewritten entry is sound: the next start uses it as it is"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_loads_from_the_cache_without_rewriting_it() {
    let adapters = adapters_dir(&COMPONENTS);
    let cache = tempfile::tempdir().unwrap();
    let first = start(adapters.path(), cache.path()).await;
    let entry = entry_of(&first, cache.path(), "test-stamp");
    let mut names: Vec<String> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names.len(),
        3,
        "two entries and the key, no temp files: {names:?}"
    );
    assert!(names.iter().filter(|n| n.ends_with(".cwasm")).count() == 2);
    let key = std::fs::metadata(cache.path().join(KEY_FILE)).unwrap();
    assert_eq!(key.mode() & 0o777, 0o600, "the key is private");
    let written = std::fs::metadata(&entry).unwrap();
    drop(first);

    let second = start(adapters.path(), cache.path()).await;

    assert_eq!(stamp(&second).await, "v1");
    let reread = std::fs::metadata(&entry).unwrap();
    assert_eq!(
        (reread.ino(), reread.mtime_nsec()),
        (written.ino(), written.mtime_nsec()),
        "the entry was used, not recompiled and rewritten"
    );
    assert!(!captured_warnings().contains(&entry.display().to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupt_code_in_a_cache_entry_is_caught_and_the_component_recompiled() {
    corruption_is_caught_in(".text").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn corrupt_data_in_a_cache_entry_is_caught_and_the_component_recompiled() {
    corruption_is_caught_in(".rodata.wasm").await;
}

/// Someone who can write the cache but cannot read its key cannot make the host
/// run code of their choosing: here, a sound entry of another component (merge-turns)
/// put under test-stamp's name.
#[tokio::test(flavor = "multi_thread")]
async fn another_components_entry_under_a_components_name_is_refused() {
    let adapters = adapters_dir(&COMPONENTS);
    let other = adapters_dir(&["adapters/merge-turns.wasm"]);
    let cache = tempfile::tempdir().unwrap();
    let first = start(adapters.path(), cache.path()).await;
    let entry = entry_of(&first, cache.path(), "test-stamp");
    drop(first);
    let merge = start(other.path(), cache.path()).await;
    let foreign = entry_of(&merge, cache.path(), "merge-turns");
    drop(merge);
    std::fs::copy(&foreign, &entry).unwrap();

    let restarted = start(adapters.path(), cache.path()).await;

    let registry = restarted.registry();
    assert!(
        registry.fixup("merge-turns").is_none(),
        "the foreign entry never ran"
    );
    assert_eq!(stamp(&restarted).await, "v1");
    assert!(captured_warnings().contains(&format!(
        "compile cache entry {} failed its integrity check",
        entry.display()
    )));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_entry_that_is_not_an_entry_at_all_is_replaced_by_a_fresh_compile() {
    let adapters = adapters_dir(&COMPONENTS);
    let cache = tempfile::tempdir().unwrap();
    let first = start(adapters.path(), cache.path()).await;
    let entry = entry_of(&first, cache.path(), "test-stamp");
    drop(first);
    std::fs::write(&entry, b"corrupted").unwrap();

    let second = start(adapters.path(), cache.path()).await;

    assert_eq!(stamp(&second).await, "v1");
    assert!(
        std::fs::metadata(&entry).unwrap().len() > 1000,
        "the entry was rewritten"
    );
}
