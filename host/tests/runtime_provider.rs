//! A real provider adapter (`openai`) through the sandbox: its `host.config` sees the
//! provider entry's config, it encodes, decodes a stream in arbitrary chunks, and
//! classifies errors.

mod runtime_fixtures;

use std::sync::Arc;
use std::time::{Duration, Instant};

use plugboard::ir::{ErrorClass, FinishReason, ResponseHead, Role, StreamEvent};
use plugboard::runtime::Runtime;
use runtime_fixtures::*;

async fn openai_runtime() -> (tempfile::TempDir, Arc<Runtime>) {
    let dir = adapters_dir(&[
        "adapters/openai.wasm",
        "adapters/first-user-turn.wasm",
        "adapters/merge-turns.wasm",
    ]);
    let runtime = runtime();
    let refused = runtime.load_dir(dir.path()).await.unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    (dir, runtime)
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_encodes_with_the_entry_config_and_decodes_a_chunked_stream() {
    let (_dir, runtime) = openai_runtime().await;
    let registry = runtime.registry();
    let openai = registry.provider("openai").unwrap();
    assert!(openai.info.models.iter().any(|m| m.id == "gpt-4o"));
    let mut ctx = sandbox_context();
    ctx.provider_config = r#"{"extra-headers": {"x-title": "plugboard"}}"#.into();
    let mut sandbox = runtime.sandbox(openai, &[], ctx).await.unwrap();

    let mut request = request_with(vec![text_message(Role::User, "hi")]);
    request.stream = true;
    let http = sandbox.encode(request.into()).await.expect("encode");
    assert_eq!(http.method, "POST");
    assert_eq!(http.url, "http://127.0.0.1:9/chat/completions");
    assert!(
        http.headers
            .iter()
            .any(|(n, v)| n == "x-title" && v == "plugboard"),
        "config reached the guest: {:?}",
        http.headers
    );
    let body: serde_json::Value = serde_json::from_slice(&http.body).unwrap();
    assert_eq!(body["model"], "test-model");

    sandbox.respond(&sse_head(), true).await.unwrap();
    let events = decode_in_chunks(&mut sandbox, CHAT_HELLO_STREAM.as_bytes(), 7).await;

    let text: String = text_deltas(&events).concat();
    assert_eq!(text, "Hello");
    let Some(StreamEvent::Finish(finish)) = events.last() else {
        panic!("ends with finish: {events:?}")
    };
    assert_eq!(finish.reason, FinishReason::Stop);
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_classifies_a_rate_limit() {
    let (_dir, runtime) = openai_runtime().await;
    let registry = runtime.registry();
    let mut sandbox = runtime
        .sandbox(registry.provider("openai").unwrap(), &[], sandbox_context())
        .await
        .unwrap();
    let head = ResponseHead {
        status: 429,
        headers: vec![("retry-after".into(), "2".into())],
    };
    let body = br#"{"error":{"message":"Rate limit reached","type":"requests"}}"#;

    let classified = sandbox.classify_error(&head, body).await.unwrap();

    assert!(
        matches!(classified.class, ErrorClass::RateLimited { .. }),
        "{classified:?}"
    );
    assert!(classified.message.contains("Rate limit"));
}

/// Prints the median cost of one request's guest work: a fresh sandbox, two
/// fixups' `on-request`, `encode-request`, a decoder with one pushed chunk and
/// `finish`. Run with `--ignored --nocapture`; debug builds of the host are slower
/// than release, the guests and wasmtime (opt-level 1 in dev) much less so.
#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn measure_request_overhead() {
    let (_dir, runtime) = openai_runtime().await;
    let registry = runtime.registry();
    let openai = registry.provider("openai").unwrap().clone();
    let fixups = [
        registry.fixup("first-user-turn").unwrap().clone(),
        registry.fixup("merge-turns").unwrap().clone(),
    ];
    let request = request_with(vec![
        text_message(Role::User, "hello there"),
        text_message(Role::Assistant, "hi"),
        text_message(Role::User, "list files"),
    ]);
    let chunk = b"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    let mut samples = Vec::new();
    let mut phases = [Duration::ZERO; 6];
    for _ in 0..300 {
        let started = Instant::now();
        let mut lap = Instant::now();
        let mut mark = |phase: usize| {
            phases[phase] += lap.elapsed();
            lap = Instant::now();
        };
        let mut sandbox = runtime
            .sandbox(&openai, &fixups, sandbox_context())
            .await
            .unwrap();
        mark(0);
        let fixed = sandbox.on_request(request.clone()).await.unwrap();
        mark(1);
        sandbox.encode(fixed).await.unwrap();
        mark(2);
        sandbox
            .respond(
                &ResponseHead {
                    status: 200,
                    headers: vec![],
                },
                true,
            )
            .await
            .unwrap();
        mark(3);
        sandbox.push(chunk).await.unwrap();
        sandbox.finish().await.unwrap();
        mark(4);
        drop(sandbox);
        mark(5);
        samples.push(started.elapsed());
    }
    let names = [
        "new store",
        "2 fixups (2 instantiations)",
        "encode (1 instantiation)",
        "start decoder",
        "push + finish",
        "drop store",
    ];
    for (name, total) in names.iter().zip(phases) {
        println!("  {name}: {:?} mean", total / 300);
    }
    samples.sort();
    let median = samples[samples.len() / 2];
    let p90 = samples[samples.len() * 9 / 10];
    println!("guest work per request: median {median:?}, p90 {p90:?}");
}
