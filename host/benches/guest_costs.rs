//! Criterion micro-benchmarks of what the wasm sandbox costs: one cold instance of
//! each production component, a whole request's guest chain (cold and with ready
//! instances), one SSE event through the decoder, and the openai adapter's
//! translation compiled native against the same code as a component.
//!
//! `cargo bench -p plugboard --bench guest_costs` (after `adapters/build.sh`).

mod fixture;

use std::time::Duration;

use adapter_openai::OpenAi;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use plugboard::runtime::{RequestSandbox, Runtime, RuntimeTuning};
use plugboard_sdk::response_decoder::DecodeMode;
use plugboard_sdk::{Call, Provider, types as sdk};
use tokio::runtime::Runtime as Tokio;

fn tokio() -> Tokio {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio")
}

/// Fresh store + instantiate (+ its teardown) for each production component.
fn instantiation(c: &mut Criterion) {
    let tokio = tokio();
    let runtime = tokio.block_on(fixture::runtime(fixture::cold_tuning()));
    let mut group = c.benchmark_group("instantiate");
    for id in fixture::COMPONENTS {
        group.bench_function(BenchmarkId::from_parameter(id), |b| {
            b.iter(|| {
                tokio
                    .block_on(runtime.instantiate_cold(id))
                    .expect("instantiate")
            })
        });
    }
    group.finish();
}

/// openai + two fixups, the whole chain per request, under both tunings.
fn request_chain(c: &mut Criterion) {
    let tokio = tokio();
    let fresh = fixture::fresh_settings;
    let cold = tokio.block_on(fixture::runtime_with(fresh(), fixture::cold_tuning()));
    let ready = tokio.block_on(fixture::runtime_with(fresh(), RuntimeTuning::default()));
    let reused = tokio.block_on(fixture::runtime(RuntimeTuning::default()));
    let request = fixture::chat_request();
    let mut group = c.benchmark_group("request_chain");
    for (name, runtime) in [
        ("cold", &cold),
        ("ready_instances", &ready),
        ("reused_instances", &reused),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| tokio.block_on(fixture::whole_request(runtime, &request, true)))
        });
    }
    group.finish();
}

/// A sandbox whose openai decoder is started (with or without the fixups).
fn decoding_sandbox(tokio: &Tokio, runtime: &Runtime, with_fixups: bool) -> RequestSandbox {
    tokio.block_on(async {
        let mut sandbox = fixture::sandbox(runtime, "openai", with_fixups).await;
        sandbox
            .respond(&fixture::stream_head(), true)
            .await
            .expect("decoder");
        sandbox
    })
}

/// One ~110 B SSE content event through the decoder (and the fixups' `on-events`
/// over the batch, when a fixup declares that hook; neither production fixup does,
/// so the second case measures the host skipping them).
fn per_chunk(c: &mut Criterion) {
    let tokio = tokio();
    let runtime = tokio.block_on(fixture::runtime(RuntimeTuning::default()));
    let mut group = c.benchmark_group("per_chunk");
    for (name, with_fixups) in [
        ("decoder_push", false),
        ("decoder_push_with_2_fixups", true),
    ] {
        let mut sandbox = decoding_sandbox(&tokio, &runtime, with_fixups);
        group.bench_function(name, |b| {
            b.iter(|| {
                tokio
                    .block_on(sandbox.push(fixture::CHAT_DELTA_EVENT))
                    .expect("push")
            })
        });
    }
    group.finish();
}

fn native_request() -> sdk::ChatRequest {
    sdk::ChatRequest::new()
        .with_message(sdk::Message::user_text(
            "Explain what this function does. ".repeat(12),
        ))
        .with_message(sdk::Message::assistant_text(
            "It reads the config and starts the server.",
        ))
        .with_message(sdk::Message::user_text(
            "Now list the files it touches, one per line.",
        ))
        .streaming(true)
}

/// The openai adapter's `encode-request` and its SSE decoder: native Rust against
/// the component (an instance already made, so only the call and its conversions
/// are compared).
fn native_vs_wasm(c: &mut Criterion) {
    let tokio = tokio();
    let runtime = tokio.block_on(fixture::runtime(RuntimeTuning::default()));
    let mut group = c.benchmark_group("native_vs_wasm");

    let native = native_request();
    let native_ctx = sdk::CallContext::for_tests("http://127.0.0.1:9/v1", "gpt-4o");
    group.bench_function("encode_request/native", |b| {
        b.iter(|| {
            OpenAi::call(native_ctx.clone())
                .encode(native.clone())
                .expect("encode")
        })
    });
    let request = fixture::chat_request();
    let mut sandbox = decoding_sandbox(&tokio, &runtime, false);
    group.bench_function("encode_request/wasm", |b| {
        b.iter(|| {
            tokio
                .block_on(sandbox.encode(request.clone().into()))
                .expect("encode")
        })
    });

    let mut decoder = adapter_openai::decode::ChatDecoder::new(DecodeMode::ok(true));
    group.bench_function("decode_event/native", |b| {
        b.iter(|| decoder.push(fixture::CHAT_DELTA_EVENT).expect("push"))
    });
    group.bench_function("decode_event/wasm", |b| {
        b.iter(|| {
            tokio
                .block_on(sandbox.push(fixture::CHAT_DELTA_EVENT))
                .expect("push")
        })
    });
    group.finish();
}

fn quick() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = guest_costs;
    config = quick();
    targets = instantiation, request_chain, per_chunk, native_vs_wasm
}
criterion_main!(guest_costs);
