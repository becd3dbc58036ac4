//! `bench-mock-upstream`: the fastest honest imitation of the OpenAI Chat and
//! Responses, Anthropic Messages and Gemini APIs this machine can serve, the
//! ceiling every proxy in the benchmark is measured under.
//!
//! Answers are serialised once at start-up; a request costs a body read, a
//! borrowed-serde dialect check and a refcounted `Bytes` clone. A body in the
//! wrong dialect gets that dialect's 400, so a broken translation cannot look
//! fast. See bench/README.md.

mod bodies;
mod dialect;
mod paced_body;
mod serve;

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::bodies::{AnswerShape, CannedBodies};
use crate::serve::{MockState, Stats};

/// Command line: the fixed interface the benchmark runner drives.
#[derive(Parser, Debug)]
#[command(about = "Mock LLM upstream (OpenAI Chat/Responses, Anthropic, Gemini) for benchmarks")]
struct Args {
    /// Address to listen on; port 0 picks a free one (printed on start).
    #[arg(long)]
    listen: SocketAddr,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Microseconds to wait before sending the response head.
    #[arg(long, default_value_t = 0)]
    first_byte_delay_us: u64,
    /// Content chunks per streamed answer.
    #[arg(long, default_value_t = 64)]
    chunks: usize,
    /// Microseconds between content chunks of a stream.
    #[arg(long, default_value_t = 0)]
    chunk_interval_us: u64,
    /// Bytes of generated answer text.
    #[arg(long, default_value_t = 1024)]
    body_size: usize,
    /// Fraction of valid requests answered with the dialect's 500 (529 for Anthropic).
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.error_rate),
        "--error-rate must be between 0 and 1"
    );
    let chunks = args.chunks.max(1);
    let state: &'static MockState = Box::leak(Box::new(MockState {
        bodies: CannedBodies::build(AnswerShape {
            body_size: args.body_size,
            chunks,
        }),
        first_byte_delay: Duration::from_micros(args.first_byte_delay_us),
        chunk_interval: Duration::from_micros(args.chunk_interval_us),
        error_rate: args.error_rate,
        stats: Stats::default(),
        chunks,
    }));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
        .context("building the tokio runtime")?
        .block_on(serve(args.listen, state))
}

async fn serve(listen: SocketAddr, state: &'static MockState) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let local = listener.local_addr()?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {local}")?;
    stdout.flush()?;
    drop(stdout);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: keep serving the open ones.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(move |request| serve::handle(request, state));
            // A client hanging up mid-stream is normal under load; nothing to report.
            let _ = http1::Builder::new()
                .keep_alive(true)
                // Copy frames into one write buffer instead of queueing them
                // for writev: a 64-chunk stream then leaves in a few large
                // writes (measured ~1.5x the streams/s of the default here).
                .writev(false)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
