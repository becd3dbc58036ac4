//! `bench-floor`: the least a reverse proxy can do on this machine, the floor
//! every proxy in the benchmark is measured against.
//!
//! It forwards method, path, headers and body to the upstream over a pooled
//! keep-alive client and streams the answer back unchanged; `--json` adds a
//! `serde_json::Value` parse and re-serialise of the request body, the cost of
//! a proxy that reads the JSON but translates nothing. See bench/README.md.

mod forward;

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, ensure};
use clap::Parser;
use hyper::Uri;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::forward::Proxy;

/// Command line: the fixed interface the benchmark runner drives.
#[derive(Parser, Debug)]
#[command(about = "Minimal hyper reverse proxy: the benchmark's floor")]
struct Args {
    /// Address to listen on; port 0 picks a free one (printed on start).
    #[arg(long)]
    listen: SocketAddr,
    /// Upstream base, e.g. http://127.0.0.1:9000.
    #[arg(long)]
    upstream: Uri,
    /// Parse and re-serialise each request body as JSON before forwarding.
    #[arg(long)]
    json: bool,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        args.upstream.scheme_str() == Some("http"),
        "--upstream must be an http:// URL"
    );
    let authority = args
        .upstream
        .authority()
        .cloned()
        .context("--upstream needs a host and port")?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
        .context("building the tokio runtime")?
        .block_on(async move {
            let mut connector = HttpConnector::new();
            connector.set_nodelay(true);
            let client = Client::builder(TokioExecutor::new())
                .pool_timer(TokioTimer::new())
                .pool_idle_timeout(Duration::from_secs(90))
                .build(connector);
            let proxy = Box::leak(Box::new(Proxy {
                client,
                scheme: hyper::http::uri::Scheme::HTTP,
                authority,
                json: args.json,
            }));
            serve(args.listen, proxy).await
        })
}

async fn serve(listen: SocketAddr, proxy: &'static Proxy) -> anyhow::Result<()> {
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
            let service = service_fn(move |request| forward::forward(request, proxy));
            // A client hanging up mid-stream is normal under load; nothing to report.
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
