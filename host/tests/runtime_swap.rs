//! Hot swap: a changed file is validated, then swapped in atomically; requests in
//! flight finish on the version they started with; a bad file never replaces a
//! working component; a removed file removes its component.

mod runtime_fixtures;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use plugboard::ir::HttpRequest;
use plugboard::runtime::{RequestSandbox, Runtime};
use runtime_fixtures::*;

fn outgoing() -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        url: "http://127.0.0.1:9/".into(),
        headers: vec![],
        body: vec![],
    }
}

async fn stamp_of(sandbox: &mut RequestSandbox) -> String {
    let stamped = sandbox
        .on_upstream_request(outgoing())
        .await
        .expect("stamp");
    stamped
        .headers
        .iter()
        .find(|(name, _)| name == "x-plugboard-stamp")
        .map(|(_, value)| value.clone())
        .expect("stamped")
}

async fn sandbox_with_stamp(runtime: &Runtime) -> RequestSandbox {
    let registry = runtime.registry();
    let stamp = registry
        .fixup("test-stamp")
        .expect("test-stamp loaded")
        .clone();
    runtime
        .sandbox(
            registry.provider("test-spin").unwrap(),
            &[stamp],
            sandbox_context(),
        )
        .await
        .unwrap()
}

/// Replace `target` the way a careful deployer does: write elsewhere, then rename.
fn replace_atomically(target: &Path, bytes: &[u8]) {
    let temp = target.with_extension("upload");
    std::fs::write(&temp, bytes).unwrap();
    std::fs::rename(&temp, target).unwrap();
}

async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rescan_swaps_in_v2_while_an_old_sandbox_finishes_on_v1() {
    let dir = adapters_dir(&[
        "test-adapters/test-stamp.wasm",
        "test-adapters/test-spin.wasm",
    ]);
    let runtime = runtime();
    runtime.load_dir(dir.path()).await.unwrap();
    let provider_before = runtime.registry().provider("test-spin").unwrap().clone();
    let mut in_flight = sandbox_with_stamp(&runtime).await;
    assert_eq!(stamp_of(&mut in_flight).await, "v1");

    replace_atomically(
        &dir.path().join("test-stamp.wasm"),
        &std::fs::read(built("test-adapters/test-stamp-v2.wasm")).unwrap(),
    );
    let refused = runtime.load_dir(dir.path()).await.unwrap();

    assert!(refused.is_empty(), "{refused:?}");
    let registry = runtime.registry();
    assert_eq!(registry.fixup("test-stamp").unwrap().info.version, "2.0.0");
    assert!(
        Arc::ptr_eq(registry.provider("test-spin").unwrap(), &provider_before),
        "unchanged file reused, not recompiled"
    );
    assert_eq!(
        stamp_of(&mut in_flight).await,
        "v1",
        "the request in flight keeps its version"
    );
    assert_eq!(
        stamp_of(&mut sandbox_with_stamp(&runtime).await).await,
        "v2"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_half_written_file_keeps_the_working_version_until_the_write_completes() {
    let dir = adapters_dir(&[
        "test-adapters/test-stamp.wasm",
        "test-adapters/test-spin.wasm",
    ]);
    let runtime = runtime();
    runtime.load_dir(dir.path()).await.unwrap();
    let target = dir.path().join("test-stamp.wasm");
    let v2 = std::fs::read(built("test-adapters/test-stamp-v2.wasm")).unwrap();

    std::fs::write(&target, &v2[..v2.len() / 2]).unwrap();
    let refused = runtime.load_dir(dir.path()).await.unwrap();

    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(
        runtime.registry().fixup("test-stamp").unwrap().info.version,
        "1.0.0"
    );
    assert_eq!(
        stamp_of(&mut sandbox_with_stamp(&runtime).await).await,
        "v1"
    );
    assert_eq!(runtime.failures().len(), 1);

    std::fs::write(&target, &v2).unwrap();
    assert!(runtime.load_dir(dir.path()).await.unwrap().is_empty());

    assert_eq!(
        runtime.registry().fixup("test-stamp").unwrap().info.version,
        "2.0.0"
    );
    assert!(
        runtime.failures().is_empty(),
        "a file that loads leaves the failure list"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_watcher_swaps_changed_files_and_drops_removed_ones() {
    let dir = adapters_dir(&[
        "test-adapters/test-stamp.wasm",
        "test-adapters/test-spin.wasm",
    ]);
    let runtime = runtime();
    runtime.load_dir(dir.path()).await.unwrap();
    let _watch = runtime.watch(dir.path().to_owned()).unwrap();
    let mut in_flight = sandbox_with_stamp(&runtime).await;

    replace_atomically(
        &dir.path().join("test-stamp.wasm"),
        &std::fs::read(built("test-adapters/test-stamp-v2.wasm")).unwrap(),
    );
    wait_for("v2 to be swapped in", || {
        runtime
            .registry()
            .fixup("test-stamp")
            .is_some_and(|f| f.info.version == "2.0.0")
    })
    .await;
    assert_eq!(stamp_of(&mut in_flight).await, "v1");
    assert_eq!(
        stamp_of(&mut sandbox_with_stamp(&runtime).await).await,
        "v2"
    );

    std::fs::copy(
        built("adapters/merge-turns.wasm"),
        dir.path().join("merge-turns.wasm"),
    )
    .unwrap();
    wait_for("a new file to load", || {
        runtime.registry().fixup("merge-turns").is_some()
    })
    .await;

    std::fs::remove_file(dir.path().join("test-stamp.wasm")).unwrap();
    wait_for("the removed file's component to go", || {
        runtime.registry().fixup("test-stamp").is_none()
    })
    .await;
    assert!(runtime.registry().fixup("merge-turns").is_some());
    assert_eq!(
        stamp_of(&mut in_flight).await,
        "v1",
        "still served by the snapshot it started with"
    );
}

/// Copying one provider's file over another's (here test-hog's over test-spin's)
/// offers an id another file already provides: the copy is refused, and the
/// component that was loaded from that path goes on serving, the same instance.
#[tokio::test(flavor = "multi_thread")]
async fn a_provider_copied_over_another_is_refused_and_the_old_one_keeps_serving() {
    let dir = adapters_dir(&[
        "test-adapters/test-hog.wasm",
        "test-adapters/test-spin.wasm",
        "test-adapters/test-stamp.wasm",
    ]);
    let runtime = runtime();
    runtime.load_dir(dir.path()).await.unwrap();
    let spin_before = runtime.registry().provider("test-spin").unwrap().clone();
    let target = dir.path().join("test-spin.wasm");

    std::fs::copy(built("test-adapters/test-hog.wasm"), &target).unwrap();
    let refused = runtime.load_dir(dir.path()).await.unwrap();

    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].path, target);
    assert!(
        refused[0]
            .reason
            .contains("\"test-hog\" is already provided by")
            && refused[0].reason.contains("test-hog.wasm"),
        "{}",
        refused[0].reason
    );
    let registry = runtime.registry();
    assert!(
        Arc::ptr_eq(registry.provider("test-spin").unwrap(), &spin_before),
        "the component previously loaded from test-spin.wasm stays"
    );
    assert!(
        registry
            .provider("test-hog")
            .unwrap()
            .path()
            .ends_with("test-hog.wasm")
    );
    assert_eq!(
        stamp_of(&mut sandbox_with_stamp(&runtime).await).await,
        "v1"
    );
    let failures = runtime.failures();
    assert_eq!(failures.len(), 1, "listed as refused: {failures:?}");
    assert_eq!(failures[0].path, target);

    // Another rescan (any file event) keeps it so; restoring the file clears the refusal.
    assert_eq!(runtime.load_dir(dir.path()).await.unwrap().len(), 1);
    assert!(Arc::ptr_eq(
        runtime.registry().provider("test-spin").unwrap(),
        &spin_before
    ));
    std::fs::copy(built("test-adapters/test-spin.wasm"), &target).unwrap();
    assert!(runtime.load_dir(dir.path()).await.unwrap().is_empty());
    assert!(runtime.failures().is_empty());
    assert!(Arc::ptr_eq(
        runtime.registry().provider("test-spin").unwrap(),
        &spin_before
    ));
}

/// The other way round: a file earlier by name (test-hog.wasm) now claims the id of
/// a file later by name (test-spin). First-by-name never lets a changed file take
/// an id from the file already serving it: the change is refused and test-hog stays.
#[tokio::test(flavor = "multi_thread")]
async fn a_file_that_now_claims_a_served_id_never_takes_it_from_its_file() {
    let dir = adapters_dir(&[
        "test-adapters/test-hog.wasm",
        "test-adapters/test-spin.wasm",
    ]);
    let runtime = runtime();
    runtime.load_dir(dir.path()).await.unwrap();
    let before = runtime.registry();
    let target = dir.path().join("test-hog.wasm");

    std::fs::copy(built("test-adapters/test-spin.wasm"), &target).unwrap();
    let refused = runtime.load_dir(dir.path()).await.unwrap();

    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].path, target);
    assert!(
        refused[0]
            .reason
            .contains("\"test-spin\" is already provided by")
    );
    let after = runtime.registry();
    for id in ["test-hog", "test-spin"] {
        assert!(
            Arc::ptr_eq(after.provider(id).unwrap(), before.provider(id).unwrap()),
            "{id} is served by the same component as before"
        );
    }
}

/// Whatever the reason for a refusal (here: not a component, the wrong world, a
/// duplicate id), the component previously loaded from that path is kept.
#[tokio::test(flavor = "multi_thread")]
async fn no_reason_for_a_refusal_unloads_the_component_at_its_path() {
    let dir = adapters_dir(&[
        "test-adapters/test-hog.wasm",
        "test-adapters/test-spin.wasm",
    ]);
    let runtime = runtime();
    runtime.load_dir(dir.path()).await.unwrap();
    let spin = runtime.registry().provider("test-spin").unwrap().clone();
    let target = dir.path().join("test-spin.wasm");
    let replacements: [(&str, Vec<u8>); 3] = [
        ("not a valid component", b"\0asm not a component".to_vec()),
        (
            "not a Plugboard adapter",
            std::fs::read(built("test-adapters/test-wrong-world.wasm")).unwrap(),
        ),
        (
            "already provided by",
            std::fs::read(built("test-adapters/test-hog.wasm")).unwrap(),
        ),
    ];
    for (reason, bytes) in replacements {
        replace_atomically(&target, &bytes);
        let refused = runtime.load_dir(dir.path()).await.unwrap();
        assert_eq!(refused.len(), 1, "{reason}: {refused:?}");
        assert!(refused[0].reason.contains(reason), "{}", refused[0].reason);
        assert!(
            Arc::ptr_eq(runtime.registry().provider("test-spin").unwrap(), &spin),
            "refused for {reason:?}, test-spin stays"
        );
    }
}
