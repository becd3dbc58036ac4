//! `latency`: concurrency-1 sequential requests on one keep-alive connection.
//!
//! Each sample is send-to-last-byte of one whole (non-streaming) answer. Sequential
//! requests with nothing else in flight measure what a proxy adds to one call, which
//! throughput tools (queueing under load) cannot.

use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use serde::Serialize;

use crate::summary::{Summary, round};
use crate::target::{Connection, Target, TargetArgs, excerpt, read_all};

/// Options of the `latency` mode.
#[derive(Args, Debug)]
pub struct LatencyArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Requests measured (after the warm-up).
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Requests sent first and not measured (connection set-up, caches, JIT).
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// Stop measuring after this many seconds even if fewer requests were sent
    /// (slow peers); the report says how many were measured.
    #[arg(long, default_value_t = 30.0)]
    max_seconds: f64,
}

/// What `latency` prints.
#[derive(Serialize)]
struct LatencyReport {
    mode: &'static str,
    url: String,
    #[serde(flatten)]
    summary: Summary,
    errors: usize,
    first_error: Option<String>,
    elapsed_s: f64,
}

/// Runs the mode and prints its JSON report.
pub async fn run(args: LatencyArgs) -> Result<()> {
    let target = Target::from_args(&args.target)?;
    let mut connection = Connection::open(&target).await?;
    // Warm-up failures are reported (first_error) but not counted against the run.
    let mut first_error = None;
    for _ in 0..args.warmup {
        if let Err(message) = one_request(&mut connection).await {
            first_error.get_or_insert(message);
        }
    }
    let mut measured_errors = 0;

    let started = Instant::now();
    let limit = Duration::from_secs_f64(args.max_seconds);
    let mut samples = Vec::with_capacity(args.requests);
    for _ in 0..args.requests {
        if started.elapsed() > limit {
            break;
        }
        match one_request(&mut connection).await {
            Ok(us) => samples.push(us),
            Err(message) => {
                measured_errors += 1;
                first_error.get_or_insert(message);
            }
        }
    }
    let report = LatencyReport {
        mode: "latency",
        url: args.target.url.clone(),
        summary: Summary::of(&samples),
        errors: measured_errors,
        first_error,
        elapsed_s: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// One request, timed from send to last body byte; an error says what went wrong.
async fn one_request(connection: &mut Connection) -> std::result::Result<f64, String> {
    let sent = Instant::now();
    let response = connection.send().await.map_err(|e| format!("{e:#}"))?;
    let answer = read_all(response).await.map_err(|e| format!("{e:#}"))?;
    if answer.status != 200 {
        return Err(format!(
            "status {}: {}",
            answer.status,
            excerpt(&answer.body)
        ));
    }
    Ok(round(answer.done.duration_since(sent).as_secs_f64() * 1e6))
}
