//! One request's guest work (openai + two fixups: sandbox, `on-request`, encode,
//! respond, two pushes, finish, drop), timed per request under each runtime
//! tuning, interleaved round by round so machine drift hits every tuning alike.
//! Prints median, p90 and p99 per tuning, and what the two fixups add at the
//! median (the default tuning against the same without fixups).
//!
//! `cargo bench -p plugboard --bench request_overhead` (after `adapters/build.sh`).
//! Between requests the loop sleeps 1 ms, as a client at concurrency 1 would leave
//! a gap: background teardown and refills run there, not inside the timed span.
//! With `REQUEST_OVERHEAD_JSON=path` set, the same figures are also written there as
//! JSON (`just bench` does this and copies them into its results).

mod fixture;

use std::time::{Duration, Instant};

use plugboard::runtime::{RuntimeSettings, RuntimeTuning};

/// Rounds; each runs `PER_ROUND` requests on every tuning in turn.
const ROUNDS: usize = 12;
const PER_ROUND: usize = 50;

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported here.
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    tokio.block_on(compare());
}

async fn compare() {
    let madvise = fixture::madvise_settings;
    let tunings = [
        (
            "cold: instantiate on the path, drop inline, madvise",
            madvise(),
            fixture::cold_tuning(),
            true,
        ),
        (
            "ready, warmed by info() + bg teardown, madvise",
            madvise(),
            RuntimeTuning {
                pagemap_scan: false,
                ..RuntimeTuning::default()
            },
            true,
        ),
        (
            "the same + keep 1 MiB by memset (no pagemap scan)",
            fixture::fresh_settings(),
            RuntimeTuning {
                pagemap_scan: false,
                ..RuntimeTuning::default()
            },
            true,
        ),
        (
            "the same + pagemap scan, keep 1 MiB",
            fixture::fresh_settings(),
            RuntimeTuning::default(),
            true,
        ),
        (
            "default: + instances reused within the caller",
            fixture::settings(),
            RuntimeTuning::default(),
            true,
        ),
        (
            "default, no fixups",
            fixture::settings(),
            RuntimeTuning::default(),
            false,
        ),
        (
            "default, teardown inline",
            fixture::settings(),
            RuntimeTuning {
                background_teardown: false,
                ..RuntimeTuning::default()
            },
            true,
        ),
        (
            "default, no instances made ahead",
            fixture::settings(),
            RuntimeTuning {
                ready_instances: 0,
                ..RuntimeTuning::default()
            },
            true,
        ),
        (
            "default with keep 16 MiB",
            RuntimeSettings {
                keep_resident_bytes: 16 << 20,
                ..fixture::settings()
            },
            RuntimeTuning::default(),
            true,
        ),
    ];
    let mut runtimes = Vec::new();
    for (_, settings, tuning, _) in &tunings {
        runtimes.push(fixture::runtime_with(settings.clone(), tuning.clone()).await);
    }
    let request = fixture::chat_request();
    // Warm every runtime (first calls touch code pages, caches).
    for (runtime, (.., with_fixups)) in runtimes.iter().zip(&tunings) {
        for _ in 0..20 {
            fixture::whole_request(runtime, &request, *with_fixups).await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); tunings.len()];
    let mut phases: Vec<[Vec<Duration>; PHASES.len()]> = vec![Default::default(); tunings.len()];
    for _ in 0..ROUNDS {
        for (index, runtime) in runtimes.iter().enumerate() {
            let with_fixups = tunings[index].3;
            for _ in 0..PER_ROUND {
                let started = Instant::now();
                let laps = phased_request(runtime, &request, with_fixups).await;
                samples[index].push(started.elapsed());
                for (phase, lap) in laps.into_iter().enumerate() {
                    phases[index][phase].push(lap);
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
    println!(
        "guest work per request, openai + first-user-turn + merge-turns (contract {}), {} requests per tuning:",
        fixups_contract(&runtimes[0]),
        ROUNDS * PER_ROUND
    );
    println!("{:<52} {:>9} {:>9} {:>9}", "tuning", "median", "p90", "p99");
    for ((name, ..), times) in tunings.iter().zip(&samples) {
        println!(
            "{name:<52} {:>7.1}µs {:>7.1}µs {:>7.1}µs",
            micros(quantile(times, 0.5)),
            micros(quantile(times, 0.9)),
            micros(quantile(times, 0.99))
        );
    }
    // What the two fixups add over none at the median: over the whole request (what
    // a client waits, noisy on a busy machine: the fixups' extra teardown and refills
    // run between requests) and in the fixups phase alone (their hops).
    let index_of = |wanted: &str| {
        tunings
            .iter()
            .position(|(name, ..)| *name == wanted)
            .expect("a tuning of that name")
    };
    let (with, without) = (
        index_of("default: + instances reused within the caller"),
        index_of("default, no fixups"),
    );
    let fixups_phase = PHASES.iter().position(|p| *p == "fixups").expect("a phase");
    let added = |of: &[Duration], over: &[Duration]| {
        micros(quantile(of, 0.5)) - micros(quantile(over, 0.5))
    };
    println!(
        "\nthe two fixups add, at the median over none: {:.1}µs per request, {:.1}µs in \
         the fixups phase (target for two stateless 0.2 fixups: <= 15µs)",
        added(&samples[with], &samples[without]),
        added(&phases[with][fixups_phase], &phases[without][fixups_phase]),
    );
    if let Ok(path) = std::env::var("REQUEST_OVERHEAD_JSON") {
        write_json(&path, &tunings, &samples, &phases);
    }
    println!("\nmedian per phase (µs):");
    println!(
        "{:<52} {}",
        "tuning",
        PHASES.map(|p| format!("{p:>11}")).join("")
    );
    for ((name, ..), laps) in tunings.iter().zip(&phases) {
        let cells: Vec<String> = laps
            .iter()
            .map(|times| format!("{:>11.1}", micros(quantile(times, 0.5))))
            .collect();
        println!("{name:<52} {}", cells.join(""));
    }
}

/// `{tuning: {median_us, p90_us, p99_us, phases_median_us: {phase: µs}}}` at `path`.
fn write_json<S, T>(
    path: &str,
    tunings: &[(&str, S, T, bool)],
    samples: &[Vec<Duration>],
    phases: &[[Vec<Duration>; PHASES.len()]],
) {
    let round = |d: Duration| (micros(d) * 10.0).round() / 10.0;
    let mut out = serde_json::Map::new();
    for (((name, ..), times), laps) in tunings.iter().zip(samples).zip(phases) {
        let per_phase: serde_json::Map<String, serde_json::Value> = PHASES
            .iter()
            .zip(laps)
            .map(|(phase, times)| (phase.to_string(), round(quantile(times, 0.5)).into()))
            .collect();
        out.insert(
            name.to_string(),
            serde_json::json!({
                "median_us": round(quantile(times, 0.5)),
                "p90_us": round(quantile(times, 0.9)),
                "p99_us": round(quantile(times, 0.99)),
                "phases_median_us": per_phase,
            }),
        );
    }
    let text = serde_json::to_string_pretty(&out).expect("JSON of numbers");
    if let Err(error) = std::fs::write(path, text + "\n") {
        eprintln!("could not write {path}: {error}");
    }
}

/// The phases of [`phased_request`], in order.
const PHASES: [&str; 5] = ["sandbox", "fixups", "encode", "decode", "drop"];

/// [`fixture::whole_request`], lapped per phase.
async fn phased_request(
    runtime: &plugboard::runtime::Runtime,
    request: &plugboard::ir::ChatRequest,
    with_fixups: bool,
) -> [Duration; PHASES.len()] {
    let mut laps = [Duration::ZERO; PHASES.len()];
    let mut lap = Instant::now();
    let mut mark = |phase: usize| {
        laps[phase] = lap.elapsed();
        lap = Instant::now();
    };
    let mut sandbox = fixture::sandbox(runtime, "openai", with_fixups).await;
    mark(0);
    let fixed = sandbox
        .on_request(request.clone())
        .await
        .expect("on-request");
    mark(1);
    sandbox.encode(fixed).await.expect("encode");
    mark(2);
    sandbox
        .respond(&fixture::stream_head(), true)
        .await
        .expect("decoder");
    sandbox.push(fixture::CHAT_DELTA_EVENT).await.expect("push");
    sandbox.push(fixture::CHAT_STREAM_END).await.expect("push");
    sandbox.finish().await.expect("finish");
    // As the relay does once the body is decoded: the instance can go straight back.
    sandbox.end().await;
    mark(3);
    drop(sandbox);
    mark(4);
    laps
}

/// The contract version the benchmarked fixups were built against.
fn fixups_contract(runtime: &plugboard::runtime::Runtime) -> String {
    let registry = runtime.registry();
    let versions: Vec<&str> = fixture::FIXUPS
        .iter()
        .map(|id| {
            registry
                .fixup(id)
                .expect("fixup loaded")
                .info
                .contract_version
                .as_str()
        })
        .collect();
    versions.join(", ")
}

fn quantile(times: &[Duration], q: f64) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}
