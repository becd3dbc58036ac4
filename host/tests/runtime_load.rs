//! Loading an adapters directory: what loads, what is refused and why, and what the
//! listing shows. The compile cache has its own stories (`runtime_cache.rs`).

mod runtime_fixtures;

use plugboard::runtime::{ComponentKind, Runtime, RuntimeSettings, summary_table};
use runtime_fixtures::*;

const FIXUPS: [&str; 2] = ["adapters/first-user-turn.wasm", "adapters/merge-turns.wasm"];
const TEST_PROVIDERS: [&str; 3] = [
    "test-adapters/test-spin.wasm",
    "test-adapters/test-hog.wasm",
    "test-adapters/test-panic.wasm",
];

#[tokio::test(flavor = "multi_thread")]
async fn every_built_component_loads_and_describes_itself() {
    let components: Vec<&str> = FIXUPS
        .iter()
        .chain(&TEST_PROVIDERS)
        .chain(&["test-adapters/test-stamp.wasm"])
        .copied()
        .collect();
    let dir = adapters_dir(&components);
    let runtime = runtime();

    let refused = runtime.load_dir(dir.path()).await.expect("load");
    assert!(refused.is_empty(), "unexpected refusals: {refused:?}");

    let registry = runtime.registry();
    let merge = registry.fixup("merge-turns").expect("merge-turns loaded");
    assert!(merge.info.hooks.request && !merge.info.hooks.events);
    assert!(
        ["0.1.", "0.2."]
            .iter()
            .any(|v| merge.info.contract_version.starts_with(v)),
        "the contract version comes from the exported world: {}",
        merge.info.contract_version
    );
    assert_eq!(merge.hash.len(), 64);
    let stamp = registry.fixup("test-stamp").expect("test-stamp loaded");
    assert_eq!(stamp.info.version, "1.0.0");
    assert!(stamp.info.hooks.upstream_request && !stamp.info.hooks.request);
    let spin = registry.provider("test-spin").expect("test-spin loaded");
    assert_eq!(spin.info.endpoint("base"), Some("http://127.0.0.1:9"));

    let listed = runtime.list();
    let ids: Vec<(ComponentKind, &str)> = listed.iter().map(|c| (c.kind, c.id.as_str())).collect();
    assert_eq!(
        ids,
        [
            (ComponentKind::Provider, "test-hog"),
            (ComponentKind::Provider, "test-panic"),
            (ComponentKind::Provider, "test-spin"),
            (ComponentKind::Fixup, "first-user-turn"),
            (ComponentKind::Fixup, "merge-turns"),
            (ComponentKind::Fixup, "test-stamp"),
        ]
    );
    let table = summary_table(&listed);
    assert!(table.starts_with("KIND"));
    assert!(table.lines().any(|line| line.starts_with("fixup")
        && line.contains("test-stamp")
        && line.contains("1.0.0")));
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_and_foreign_components_are_refused_with_reasons_while_the_rest_load() {
    let dir = adapters_dir(&[
        "adapters/merge-turns.wasm",
        "test-adapters/test-wrong-world.wasm",
    ]);
    std::fs::write(dir.path().join("garbage.wasm"), b"this is not wasm").unwrap();
    std::fs::write(dir.path().join("README.txt"), b"ignored").unwrap();
    let runtime = runtime();

    let refused = runtime.load_dir(dir.path()).await.expect("load");

    let reason_for = |name: &str| {
        refused
            .iter()
            .find(|f| f.path.file_name().unwrap() == name)
            .map(|f| f.reason.clone())
            .unwrap_or_else(|| panic!("{name} should be refused; refused: {refused:?}"))
    };
    assert!(reason_for("garbage.wasm").contains("not a valid component"));
    let wrong_world = reason_for("test-wrong-world.wasm");
    assert!(
        wrong_world.contains("not a Plugboard adapter: exports") && wrong_world.contains("hello"),
        "{wrong_world}"
    );
    assert_eq!(
        refused.len(),
        2,
        "README.txt is not a candidate: {refused:?}"
    );
    assert!(runtime.registry().fixup("merge-turns").is_some());
    assert_eq!(runtime.failures().len(), 2);
}

/// `serve` compiles in a child process (`plugboard compile-component`): the same
/// components load, the same files are refused with the same reasons.
#[tokio::test(flavor = "multi_thread")]
async fn compiling_in_a_child_process_loads_and_refuses_like_in_process() {
    let dir = adapters_dir(&["adapters/merge-turns.wasm", "test-adapters/test-spin.wasm"]);
    std::fs::write(dir.path().join("garbage.wasm"), b"this is not wasm").unwrap();
    let cache = tempfile::tempdir().unwrap();
    let settings = RuntimeSettings {
        compiler: Some(env!("CARGO_BIN_EXE_plugboard").into()),
        ..test_settings(Some(cache.path().to_owned()))
    };
    let runtime = Runtime::new(settings).unwrap();

    let refused = runtime.load_dir(dir.path()).await.expect("load");

    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].reason.starts_with("not a valid component"),
        "{}",
        refused[0].reason
    );
    assert!(runtime.registry().fixup("merge-turns").is_some());
    assert!(runtime.registry().provider("test-spin").is_some());
    let cached = std::fs::read_dir(cache.path())
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().extension() == Some("cwasm".as_ref()))
        .count();
    assert_eq!(cached, 2, "both artifacts cached for the next start");
}

/// A compiler that cannot run (an executable replaced or removed under a running
/// host) is not the file's fault: the component compiles in-process instead.
#[tokio::test(flavor = "multi_thread")]
async fn a_compiler_that_cannot_run_falls_back_to_compiling_in_process() {
    let dir = adapters_dir(&["adapters/merge-turns.wasm"]);
    let settings = RuntimeSettings {
        compiler: Some(dir.path().join("no-such-plugboard")),
        ..test_settings(None)
    };
    let runtime = Runtime::new(settings).unwrap();

    let refused = runtime.load_dir(dir.path()).await.expect("load");

    assert!(refused.is_empty(), "{refused:?}");
    assert!(runtime.registry().fixup("merge-turns").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_file_claiming_a_loaded_id_is_refused() {
    let dir = adapters_dir(&["adapters/merge-turns.wasm"]);
    std::fs::copy(
        built("adapters/merge-turns.wasm"),
        dir.path().join("zz-merge-turns-copy.wasm"),
    )
    .unwrap();
    let runtime = runtime();

    let refused = runtime.load_dir(dir.path()).await.expect("load");

    assert_eq!(refused.len(), 1);
    assert!(refused[0].path.ends_with("zz-merge-turns-copy.wasm"));
    assert!(
        refused[0].reason.contains("already provided by")
            && refused[0].reason.contains("merge-turns.wasm")
    );
    assert!(
        runtime
            .registry()
            .fixup("merge-turns")
            .unwrap()
            .path()
            .ends_with("merge-turns.wasm")
    );
}
