//! Misbehaving guests: each is stopped within its bound, reported as a typed error
//! naming `id@version`, never entered again, and the host serves the next request.

mod runtime_fixtures;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use plugboard::ir::{ResponseHead, Role, StreamEvent};
use plugboard::runtime::{GuestError, Runtime, TrapReason};
use runtime_fixtures::*;

async fn loaded(components: &[&str]) -> (tempfile::TempDir, Arc<Runtime>) {
    let dir = adapters_dir(components);
    let runtime = runtime();
    let refused = runtime.load_dir(dir.path()).await.unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    (dir, runtime)
}

/// A healthy request through `provider_id` (its decoder works in every test provider)
/// with `merge-turns` on the request path.
async fn healthy_request_succeeds(runtime: &Runtime, provider_id: &str) {
    let registry = runtime.registry();
    let provider = registry.provider(provider_id).unwrap();
    let merge = registry.fixup("merge-turns").unwrap().clone();
    let mut sandbox = runtime
        .sandbox(provider, &[merge], sandbox_context())
        .await
        .unwrap();
    let request = request_with(vec![
        text_message(Role::User, "a"),
        text_message(Role::User, "b"),
    ]);
    let merged = sandbox
        .on_request(request)
        .await
        .expect("fixup works")
        .into_host();
    assert_eq!(merged.messages.len(), 1);
    sandbox
        .respond(
            &ResponseHead {
                status: 200,
                headers: vec![],
            },
            true,
        )
        .await
        .expect("decoder starts");
    assert!(sandbox.push(b"data: {}\n\n").await.unwrap().is_empty());
    let events = sandbox.finish().await.unwrap();
    assert!(matches!(events.last(), Some(StreamEvent::Finish(_))));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_loop_times_out_within_its_bound() {
    let (_dir, runtime) =
        loaded(&["test-adapters/test-spin.wasm", "adapters/merge-turns.wasm"]).await;
    let registry = runtime.registry();
    let spin = registry.provider("test-spin").unwrap();
    let mut sandbox = runtime.sandbox(spin, &[], sandbox_context()).await.unwrap();

    let started = Instant::now();
    let error = sandbox
        .encode(request_with(vec![]).into())
        .await
        .unwrap_err();
    let took = started.elapsed();

    let GuestError::Trap { component, reason } = &error else {
        panic!("expected a trap, got {error:?}")
    };
    assert_eq!(component, &format!("test-spin@{}", spin.info.version));
    assert_eq!(reason, &TrapReason::Timeout);
    // Budget 500 ms: never stopped early. The upper bound only catches a deadline
    // that never fires (a hang); speed belongs to the benchmarks, not this test.
    assert!(
        took >= Duration::from_millis(490) && took < Duration::from_secs(30),
        "took {took:?}"
    );

    // The instance is gone for good: the same error again, without running anything.
    let again = sandbox
        .encode(request_with(vec![]).into())
        .await
        .unwrap_err();
    assert!(
        matches!(
            again,
            GuestError::Trap {
                reason: TrapReason::Timeout,
                ..
            }
        ),
        "{again:?}"
    );
    healthy_request_succeeds(&runtime, "test-spin").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spinning_guest_does_not_pin_the_only_worker() {
    // One worker thread: if the guest kept it for the whole deadline, the ticker
    // task below would not advance until the trap.
    let (_dir, runtime) = loaded(&["test-adapters/test-spin.wasm"]).await;
    let single_worker = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ticks = Arc::new(AtomicU32::new(0));
    let ticks_seen_during_the_spin = ticks.clone();
    std::thread::spawn(move || {
        single_worker.block_on(async move {
            let registry = runtime.registry();
            let spin = registry.provider("test-spin").unwrap();
            let mut sandbox = runtime.sandbox(spin, &[], sandbox_context()).await.unwrap();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    ticks.fetch_add(1, Ordering::Relaxed);
                }
            });
            let error = sandbox
                .encode(request_with(vec![]).into())
                .await
                .unwrap_err();
            assert!(matches!(
                error,
                GuestError::Trap {
                    reason: TrapReason::Timeout,
                    ..
                }
            ));
        })
    })
    .join()
    .unwrap();
    let ticks = ticks_seen_during_the_spin.load(Ordering::Relaxed);
    // Measured: ~16 ticks (each sleep waits for the next driver poll, ~one epoch
    // slice). Pinned, it would be 0 or 1.
    assert!(
        ticks >= 5,
        "the ticker advanced only {ticks} times in 500 ms of spinning"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_memory_hog_is_stopped_at_its_cap() {
    let (_dir, runtime) =
        loaded(&["test-adapters/test-hog.wasm", "adapters/merge-turns.wasm"]).await;
    let registry = runtime.registry();
    let hog = registry.provider("test-hog").unwrap();
    let mut sandbox = runtime.sandbox(hog, &[], sandbox_context()).await.unwrap();

    let error = sandbox
        .encode(request_with(vec![]).into())
        .await
        .unwrap_err();

    let GuestError::Trap { component, reason } = &error else {
        panic!("expected a trap, got {error:?}")
    };
    assert!(component.starts_with("test-hog@"));
    // OutOfMemory, not Timeout: the cap stopped it, not the deadline.
    assert_eq!(reason, &TrapReason::OutOfMemory);
    healthy_request_succeeds(&runtime, "test-hog").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_is_reported_with_its_message() {
    let (_dir, runtime) =
        loaded(&["test-adapters/test-panic.wasm", "adapters/merge-turns.wasm"]).await;
    let registry = runtime.registry();
    let panicky = registry.provider("test-panic").unwrap();
    let mut sandbox = runtime
        .sandbox(panicky, &[], sandbox_context())
        .await
        .unwrap();

    let error = sandbox
        .encode(request_with(vec![]).into())
        .await
        .unwrap_err();

    let GuestError::Trap {
        component,
        reason: TrapReason::Panic(message),
    } = &error
    else {
        panic!("expected a panic trap, got {error:?}")
    };
    assert!(component.starts_with("test-panic@"));
    assert_eq!(message, "test-panic: deliberate");
    assert!(error.to_string().contains("test-panic@"));

    // Later calls on the poisoned instance report the panic again, not CannotEnterComponent.
    let again = sandbox
        .classify_error(&ResponseHead::default(), b"")
        .await
        .unwrap_err();
    assert!(
        matches!(
            again,
            GuestError::Trap {
                reason: TrapReason::Panic(_),
                ..
            }
        ),
        "{again:?}"
    );
    healthy_request_succeeds(&runtime, "test-panic").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exhausted_pool_is_a_host_error_and_frees_up_when_requests_end() {
    let dir = adapters_dir(&[
        "test-adapters/test-spin.wasm",
        "adapters/merge-turns.wasm",
        "adapters/first-user-turn.wasm",
    ]);
    let mut settings = test_settings(None);
    settings.max_instances = 2;
    let runtime = Runtime::new(settings).unwrap();
    assert!(runtime.load_dir(dir.path()).await.unwrap().is_empty());
    let registry = runtime.registry();
    let fixups = [
        registry.fixup("first-user-turn").unwrap().clone(),
        registry.fixup("merge-turns").unwrap().clone(),
    ];
    let spin = registry.provider("test-spin").unwrap();

    // Two fixups take both slots; the provider needs a third.
    let mut greedy = runtime
        .sandbox(spin, &fixups, sandbox_context())
        .await
        .unwrap();
    greedy
        .on_request(request_with(vec![text_message(Role::User, "hi")]))
        .await
        .unwrap();
    let error = greedy
        .respond(&ResponseHead::default(), false)
        .await
        .unwrap_err();

    let GuestError::Host { component, message } = &error else {
        panic!("expected a host error, got {error:?}")
    };
    assert!(component.starts_with("test-spin@"));
    assert!(message.contains("instance pool exhausted"), "{message}");
    drop(greedy);
    let mut next = runtime.sandbox(spin, &[], sandbox_context()).await.unwrap();
    next.respond(&ResponseHead::default(), false)
        .await
        .expect("slots came back when the greedy request ended");
}
