//! `bench-loadgen`: the benchmark's own small client, for what throughput tools do not
//! measure: concurrency-1 latency, stream timing, held connections, hot swap under load
//! and cold start. Every mode prints one JSON object per line on stdout.

mod cold_start;
mod hold;
mod latency;
mod sse;
mod summary;
mod swap;
mod target;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Plugboard benchmark load client.
#[derive(Parser)]
#[command(name = "bench-loadgen", about)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
    /// Tokio worker threads (1 keeps the client's own footprint off the second core).
    #[arg(long, global = true, default_value_t = 1)]
    threads: usize,
}

#[derive(Subcommand)]
enum Mode {
    /// Concurrency-1 sequential requests: p50/p99/mean of send-to-last-byte, µs.
    Latency(latency::LatencyArgs),
    /// Sequential streams: time to first byte and first token, gaps, per-event cost.
    Sse(sse::SseArgs),
    /// Open N streams (or idle keep-alive connections) and hold them open.
    Hold(hold::HoldArgs),
    /// Hot swap under load: ms until the new component serves, failed requests.
    Swap(swap::SwapArgs),
    /// Spawn the system and time its first 200; then its idle RSS.
    ColdStart(cold_start::ColdStartArgs),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.max(1))
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.mode {
            Mode::Latency(args) => latency::run(args).await,
            Mode::Sse(args) => sse::run(args).await,
            Mode::Hold(args) => hold::run(args).await,
            Mode::Swap(args) => swap::run(args).await,
            Mode::ColdStart(args) => cold_start::run(args).await,
        }
    })
}
