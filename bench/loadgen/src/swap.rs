//! `swap`: hot swap under load. While workers send a steady stream of requests through
//! a provider whose chain holds the component being swapped, the new `.wasm` is renamed
//! into the adapters directory (the atomic deploy the docs prescribe). Reported: ms
//! until `/healthz` shows the new hash, ms until a request is served by the new build
//! (the `test-stamp` fixup stamps upstream requests with its version, and this mode is
//! that provider's upstream, so it sees which build served), and every failed request
//! from before the swap to well after it: there must be none.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use clap::Args;
use http_body_util::Full;
use hyper::Method;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::target::{Connection, Target, TargetArgs, excerpt, read_all};

/// Options of the `swap` mode.
#[derive(Args, Debug)]
pub struct SwapArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The system's `/healthz` URL.
    #[arg(long)]
    healthz: String,
    /// Component id to watch in `/healthz` (e.g. `test-stamp`).
    #[arg(long)]
    component: String,
    /// The new build to drop in.
    #[arg(long)]
    new_wasm: PathBuf,
    /// The file it replaces (e.g. `adapters/test-stamp.wasm`).
    #[arg(long)]
    dest: PathBuf,
    /// Address this mode serves as the provider's upstream, recording stamps.
    #[arg(long)]
    upstream_listen: SocketAddr,
    /// Header the swapped fixup stamps, and the value the new build stamps.
    #[arg(long, default_value = "x-plugboard-stamp")]
    stamp_header: String,
    /// The value the new build stamps.
    #[arg(long)]
    expect_stamp: String,
    /// Concurrent sequential request loops keeping the load steady.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Load before the swap and after the new build serves, ms.
    #[arg(long, default_value_t = 1000)]
    settle_ms: u64,
    /// Give up waiting for the new build after this many seconds.
    #[arg(long, default_value_t = 20.0)]
    timeout_s: f64,
}

/// The provider's upstream as this mode plays it: remembers the last stamp it saw.
#[derive(Default)]
struct StampUpstream {
    last_stamp: Mutex<Option<String>>,
}

/// Runs the mode and prints its JSON report.
pub async fn run(args: SwapArgs) -> Result<()> {
    let upstream = Arc::new(StampUpstream::default());
    serve_upstream(
        args.upstream_listen,
        upstream.clone(),
        args.stamp_header.clone(),
    )
    .await?;
    let target = Target::from_args(&args.target)?;
    let health = Target::new(&args.healthz, Method::GET, Bytes::new(), &[])?;

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let first_failure = Arc::new(Mutex::new(None::<String>));
    let mut workers = Vec::new();
    for _ in 0..args.workers {
        let (target, stop, sent, failed) =
            (target.clone(), stop.clone(), sent.clone(), failed.clone());
        let first_failure = first_failure.clone();
        workers.push(tokio::spawn(async move {
            let mut connection = Connection::open(&target).await.ok();
            while !stop.load(Ordering::SeqCst) {
                sent.fetch_add(1, Ordering::SeqCst);
                let outcome = match connection.as_mut() {
                    Some(connection) => serve_once(connection).await,
                    None => Err("could not connect".to_string()),
                };
                if let Err(message) = outcome {
                    failed.fetch_add(1, Ordering::SeqCst);
                    first_failure.lock().unwrap().get_or_insert(message);
                    connection = Connection::open(&target).await.ok();
                }
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
    let old_hash = component_hash(&health, &args.component).await?;
    let before_swap = sent.load(Ordering::SeqCst);

    // Deploy: write beside the target under a name outside the `.wasm` pattern, rename.
    let staging = args.dest.with_extension("wasm.incoming");
    std::fs::copy(&args.new_wasm, &staging)
        .with_context(|| format!("copying {}", args.new_wasm.display()))?;
    std::fs::rename(&staging, &args.dest)?;
    let landed = Instant::now();
    let deadline = landed + Duration::from_secs_f64(args.timeout_s);

    let visible_ms = loop {
        if component_hash(&health, &args.component)
            .await
            .ok()
            .flatten()
            != old_hash
        {
            break ms(landed.elapsed());
        }
        if Instant::now() > deadline {
            stop.store(true, Ordering::SeqCst);
            bail!(
                "{} did not change in /healthz within {}s",
                args.component,
                args.timeout_s
            );
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let serving_ms = loop {
        let mut probe = Connection::open(&target).await?;
        serve_once(&mut probe).await.ok();
        if upstream.last_stamp.lock().unwrap().as_deref() == Some(args.expect_stamp.as_str()) {
            break ms(landed.elapsed());
        }
        if Instant::now() > deadline {
            stop.store(true, Ordering::SeqCst);
            bail!("the new build never served within {}s", args.timeout_s);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };

    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
    stop.store(true, Ordering::SeqCst);
    for worker in workers {
        let _ = worker.await;
    }
    let report = json!({
        "mode": "swap",
        "component": args.component,
        "swap_visible_ms": visible_ms,
        "swap_serving_ms": serving_ms,
        "requests": sent.load(Ordering::SeqCst),
        "requests_before_swap": before_swap,
        "failed": failed.load(Ordering::SeqCst),
        "first_failure": first_failure.lock().unwrap().clone(),
    });
    println!("{report}");
    Ok(())
}

/// One request through the system; anything but a 200 is a failure.
async fn serve_once(connection: &mut Connection) -> std::result::Result<(), String> {
    let response = connection.send().await.map_err(|e| format!("{e:#}"))?;
    let answer = read_all(response).await.map_err(|e| format!("{e:#}"))?;
    if answer.status != 200 {
        return Err(format!(
            "status {}: {}",
            answer.status,
            excerpt(&answer.body)
        ));
    }
    Ok(())
}

/// The `hash` `/healthz` lists for `component`, if it is loaded.
async fn component_hash(health: &Target, component: &str) -> Result<Option<String>> {
    let mut connection = Connection::open(health).await?;
    let answer = read_all(connection.send().await?).await?;
    let document: Value = serde_json::from_slice(&answer.body).context("healthz is not JSON")?;
    let hash = document["components"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["id"] == component)
        .and_then(|c| c["hash"].as_str())
        .map(str::to_string);
    Ok(hash)
}

fn ms(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10_000.0).round() / 10.0
}

/// A Chat Completions answer the `openai` adapter decodes as a normal reply.
const CHAT_ANSWER: &str = r#"{"id":"chatcmpl-swap","object":"chat.completion","created":0,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#;

/// Serves every request with [`CHAT_ANSWER`], remembering the stamp header it carried.
async fn serve_upstream(
    addr: SocketAddr,
    upstream: Arc<StampUpstream>,
    header: String,
) -> Result<()> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let (upstream, header) = (upstream.clone(), header.clone());
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let stamp = request
                        .headers()
                        .get(header.as_str())
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    if stamp.is_some() {
                        *upstream.last_stamp.lock().unwrap() = stamp;
                    }
                    async move {
                        // Read the request to its end so the connection stays reusable.
                        let _ = http_body_util::BodyExt::collect(request.into_body()).await;
                        let mut response = hyper::Response::new(Full::new(Bytes::from_static(
                            CHAT_ANSWER.as_bytes(),
                        )));
                        response.headers_mut().insert(
                            hyper::header::CONTENT_TYPE,
                            "application/json".parse().unwrap(),
                        );
                        Ok::<_, std::convert::Infallible>(response)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(())
}
