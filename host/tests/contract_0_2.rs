//! Contract 0.2 components through the sandbox (the SDK-built test components `smoke`
//! and `gemini-only` from `adapters/build.sh --tests`, the production fixups from
//! `adapters/build.sh`): the version comes from the exported world, the provider's
//! per-attempt `call` sees the call context (endpoints, credential kind, model), its
//! stream error frames arrive classified, stateless fixups edit the request, a fixup
//! whose `applies-to` excludes the request is never entered, and 0.1 and 0.2 fixups mix.

mod runtime_fixtures;

use std::path::Path;
use std::sync::Arc;

use plugboard::ir::{ErrorClass, ResponseHead, Role, StreamEvent};
use plugboard::runtime::{GuestError, Placement, Runtime, TrapReason};
use runtime_fixtures::*;

const SMOKE: &str = "test-adapters/test-smoke.wasm";
const GEMINI_ONLY: &str = "test-adapters/test-gemini-only.wasm";
const FIRST_USER_TURN: &str = "adapters/first-user-turn.wasm";
const MERGE_TURNS: &str = "adapters/merge-turns.wasm";

/// A runtime loaded with the built `components` (paths as for [`built`]) and the
/// prebuilt 0.1 `fixtures` (paths under `tests/fixtures`).
async fn runtime_with(components: &[&str], fixtures: &[&str]) -> (tempfile::TempDir, Arc<Runtime>) {
    let dir = adapters_dir(components);
    for fixture in fixtures {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(fixture);
        std::fs::copy(&source, dir.path().join(source.file_name().unwrap())).unwrap();
    }
    let runtime = runtime();
    let refused = runtime.load_dir(dir.path()).await.unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    (dir, runtime)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_0_2_component_reports_its_exported_version_and_declarations() {
    let (_dir, runtime) = runtime_with(&[SMOKE, GEMINI_ONLY], &[]).await;
    let registry = runtime.registry();
    let smoke = registry.provider("smoke").unwrap();
    assert_eq!(smoke.info.contract_version, "0.2.0");
    let key = smoke.info.default_key_kind().expect("a key kind");
    assert_eq!(
        key.placement,
        Placement::Header {
            name: "x-api-key".into(),
            prefix: None
        }
    );
    assert_eq!(key.declared.id, "api-key");
    assert_eq!(
        smoke.info.endpoint("base"),
        Some("https://smoke.example/v1")
    );
    let guarded = registry.fixup("gemini-only").unwrap();
    assert_eq!(guarded.info.contract_version, "0.2.0");
    assert_eq!(guarded.info.applies_to.models, ["gemini-*"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_goes_through_stateless_fixups_and_the_call_resource() {
    let (_dir, runtime) =
        runtime_with(&[SMOKE, FIRST_USER_TURN, MERGE_TURNS, GEMINI_ONLY], &[]).await;
    let registry = runtime.registry();
    let smoke = registry.provider("smoke").unwrap();
    let chain = ["gemini-only", "first-user-turn", "merge-turns"]
        .map(|id| registry.fixup(id).unwrap().clone());
    let mut sandbox = runtime
        .sandbox(smoke, &chain, sandbox_context())
        .await
        .unwrap();

    // gemini-only panics if entered: `test-model` is not `gemini-*`, so it is not.
    let fixed = sandbox
        .on_request(request_with(vec![
            text_message(Role::Assistant, "Hello!"),
            text_message(Role::User, "list files"),
            text_message(Role::User, "in /tmp"),
        ]))
        .await
        .expect("fixups succeed")
        .into_host();
    let roles: Vec<Role> = fixed.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::User]);
    assert_eq!(fixed.messages[2].parts.len(), 2, "user turns merged");

    let http = sandbox.encode(fixed.into()).await.expect("encode");
    assert_eq!(http.url, "http://127.0.0.1:9/chat", "the base endpoint");
    assert!(
        http.headers.contains(&("x-kind".into(), "api-key".into())),
        "the credential kind: {:?}",
        http.headers
    );
    assert_eq!(
        String::from_utf8(http.body).unwrap(),
        r#"{"model":"test-model","messages":3}"#
    );

    sandbox.respond(&sse_head(), true).await.expect("respond");
    let mut events = sandbox.push(b"Hello").await.expect("decode");
    events.extend(sandbox.push(b"throttle").await.expect("decode"));
    events.extend(sandbox.finish().await.expect("decode-end"));
    assert_eq!(text_deltas(&events), ["Hello"], "{events:?}");
    let error = error_event(&events);
    assert_eq!(
        error.class,
        ErrorClass::RateLimited {
            retry_after_ms: Some(3_000)
        }
    );
    assert!(
        matches!(events.last(), Some(StreamEvent::Finish(f)) if f.usage.input_tokens == Some(13)),
        "the call kept its state across decode calls: {events:?}"
    );

    let classified = sandbox
        .classify_error(
            &ResponseHead {
                status: 403,
                headers: vec![],
            },
            b"suspended",
        )
        .await
        .unwrap();
    assert_eq!(classified.class, ErrorClass::AccountDisabled);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fixup_is_entered_only_for_requests_its_guard_admits() {
    let (_dir, runtime) = runtime_with(&[SMOKE, GEMINI_ONLY], &[]).await;
    let registry = runtime.registry();
    let smoke = registry.provider("smoke").unwrap();
    let chain = [registry.fixup("gemini-only").unwrap().clone()];
    let mut ctx = sandbox_context();
    ctx.call.model = "gemini-2.5-pro".into();
    let mut sandbox = runtime.sandbox(smoke, &chain, ctx).await.unwrap();
    let error = sandbox
        .on_request(request_with(vec![text_message(Role::User, "hi")]))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, GuestError::Trap { component, reason: TrapReason::Panic(message) }
            if component == "gemini-only@1.0.0" && message.contains("gemini-2.5-pro")),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn fixups_of_both_contract_versions_share_one_chain() {
    let (_dir, runtime) = runtime_with(
        &[SMOKE, FIRST_USER_TURN],
        &["contract-0.1/merge-turns.wasm"],
    )
    .await;
    let registry = runtime.registry();
    let smoke = registry.provider("smoke").unwrap();
    let merge = registry.fixup("merge-turns").unwrap();
    assert_eq!(merge.info.contract_version, "0.1.0");
    let chain = [
        registry.fixup("first-user-turn").unwrap().clone(),
        merge.clone(),
    ];
    let mut sandbox = runtime
        .sandbox(smoke, &chain, sandbox_context())
        .await
        .unwrap();
    let fixed = sandbox
        .on_request(request_with(vec![
            text_message(Role::Assistant, "Hello!"),
            text_message(Role::User, "a"),
            text_message(Role::User, "b"),
        ]))
        .await
        .expect("fixups succeed")
        .into_host();
    let roles: Vec<Role> = fixed.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::User]);
    let http = sandbox.encode(fixed.into()).await.expect("encode");
    assert_eq!(
        String::from_utf8(http.body).unwrap(),
        r#"{"model":"test-model","messages":3}"#
    );
}
