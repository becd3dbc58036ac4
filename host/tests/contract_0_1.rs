//! A contract 0.1 provider and fixup, prebuilt and never rebuilt
//! (`tests/fixtures/contract-0.1`), still load and serve beside 0.2 components: their
//! contract version comes from the world they export, the 0.1 `merge-turns` fixup
//! edits the request, the 0.1 `openai` adapter encodes it with the call's model and
//! base URL and decodes a stream, and its unclassified stream error arrives as class
//! `other`.

mod runtime_fixtures;

use std::path::Path;
use std::sync::Arc;

use plugboard::ir::{ErrorClass, FinishReason, Role, StreamEvent};
use plugboard::runtime::{Placement, Runtime};
use runtime_fixtures::*;

/// A runtime loaded with the two prebuilt 0.1 components.
async fn contract_0_1_runtime() -> (tempfile::TempDir, Arc<Runtime>) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/contract-0.1");
    let dir = tempfile::tempdir().unwrap();
    for name in ["openai.wasm", "merge-turns.wasm"] {
        std::fs::copy(fixtures.join(name), dir.path().join(name)).unwrap();
    }
    let runtime = runtime();
    let refused = runtime.load_dir(dir.path()).await.unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    (dir, runtime)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_0_1_provider_and_fixup_load_converted_up() {
    let (_dir, runtime) = contract_0_1_runtime().await;
    let registry = runtime.registry();
    let openai = registry.provider("openai").expect("openai loaded");
    assert_eq!(openai.info.contract_version, "0.1.0");
    let key = openai.info.default_key_kind().expect("one api-key kind");
    assert_eq!(key.id, "api-key");
    assert_eq!(key.placement, Placement::Bearer);
    assert_eq!(openai.info.credential_kinds.len(), 1);
    assert_eq!(
        openai.info.endpoint("base"),
        Some("https://api.openai.com/v1")
    );
    let merge = registry.fixup("merge-turns").expect("merge-turns loaded");
    assert_eq!(merge.info.contract_version, "0.1.0");
    assert!(merge.info.hooks.request);
    assert!(
        merge
            .info
            .applies_to
            .admits(plugboard::ir::Dialect::Gemini, "anything", "any-model"),
        "a 0.1 fixup applies to every request"
    );
    let listed = runtime.list();
    assert!(listed.iter().all(|c| c.contract_version == "0.1.0"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_0_1_provider_serves_a_request_through_a_0_1_fixup() {
    let (_dir, runtime) = contract_0_1_runtime().await;
    let registry = runtime.registry();
    let openai = registry.provider("openai").unwrap();
    let merge = registry.fixup("merge-turns").unwrap().clone();
    let mut ctx = sandbox_context();
    ctx.call.stream = true;
    let mut sandbox = runtime.sandbox(openai, &[merge], ctx).await.unwrap();

    let mut request = request_with(vec![
        text_message(Role::User, "list files"),
        text_message(Role::User, "in /tmp"),
    ]);
    request.stream = true;
    let fixed = sandbox
        .on_request(request)
        .await
        .expect("merge-turns")
        .into_host();
    assert_eq!(fixed.messages.len(), 1, "the two user turns were merged");

    let http = sandbox.encode(fixed.into()).await.expect("encode");
    assert_eq!(http.url, "http://127.0.0.1:9/chat/completions");
    let body: serde_json::Value = serde_json::from_slice(&http.body).unwrap();
    assert_eq!(body["model"], "test-model", "the call's model reached 0.1");
    assert_eq!(body["messages"].as_array().unwrap().len(), 1);

    sandbox.respond(&sse_head(), true).await.expect("respond");
    let events = decode_in_chunks(&mut sandbox, CHAT_HELLO_STREAM.as_bytes(), 11).await;
    let text: String = text_deltas(&events).concat();
    assert_eq!(text, "Hello");
    assert!(
        matches!(events.last(), Some(StreamEvent::Finish(f)) if f.reason == FinishReason::Stop),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_0_1_stream_error_arrives_as_class_other() {
    let (_dir, runtime) = contract_0_1_runtime().await;
    let registry = runtime.registry();
    let openai = registry.provider("openai").unwrap();
    let mut sandbox = runtime
        .sandbox(openai, &[], sandbox_context())
        .await
        .unwrap();
    sandbox
        .encode(request_with(vec![text_message(Role::User, "hi")]).into())
        .await
        .expect("encode");
    sandbox.respond(&sse_head(), true).await.expect("respond");
    let mut events = sandbox
        .push(b"data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}\n\n")
        .await
        .expect("push");
    events.extend(sandbox.finish().await.expect("finish"));
    let error = error_event(&events);
    assert_eq!(error.class, ErrorClass::Other);
    assert!(error.message.contains("server had an error"), "{error:?}");
}
