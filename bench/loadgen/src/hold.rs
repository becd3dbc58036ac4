//! `hold`: open N connections and keep them open, so the orchestrator can read the
//! system's memory with them in place.
//!
//! `--kind stream` sends a streaming request on each and holds it open mid-stream (the
//! mock runs with a long chunk interval), draining whatever arrives; `--kind idle`
//! sends one whole request on each and leaves the keep-alive connection idle.
//! When all are open the mode prints a `ready` JSON line, then holds until its stdin
//! closes or `--hold-seconds` pass, and prints a `done` line.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Args, ValueEnum};
use http_body_util::BodyExt;
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::sync::{Semaphore, watch};

use crate::target::{Target, TargetArgs, handshake};

/// What each held connection carries.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq)]
pub enum HoldKind {
    /// A streaming request, held open mid-stream.
    Stream,
    /// One whole request, then an idle keep-alive connection.
    Idle,
}

/// Options of the `hold` mode.
#[derive(Args, Debug)]
pub struct HoldArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// How many connections to hold.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Stream or idle.
    #[arg(long, value_enum, default_value_t = HoldKind::Stream)]
    kind: HoldKind,
    /// Most connections being opened at once (a listen backlog is finite).
    #[arg(long, default_value_t = 64)]
    open_parallelism: usize,
    /// Give up waiting for all to open after this many seconds.
    #[arg(long, default_value_t = 30.0)]
    open_timeout_s: f64,
    /// Longest hold; closing stdin ends it sooner.
    #[arg(long, default_value_t = 60.0)]
    hold_seconds: f64,
}

/// Runs the mode, printing the `ready` then the `done` JSON line.
pub async fn run(args: HoldArgs) -> Result<()> {
    let target = Arc::new(Target::from_args(&args.target)?);
    let opened = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let ended_early = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(args.open_parallelism.max(1)));
    let (release, released) = watch::channel(false);
    let started = Instant::now();
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));

    let mut tasks = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        let target = target.clone();
        let (opened, failed, ended_early) = (opened.clone(), failed.clone(), ended_early.clone());
        let gate = gate.clone();
        let mut released = released.clone();
        let first_error = first_error.clone();
        let kind = args.kind;
        tasks.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await.expect("semaphore open");
            let outcome = open_one(&target, kind).await;
            drop(permit);
            let held = match outcome {
                Ok(held) => {
                    opened.fetch_add(1, Ordering::SeqCst);
                    held
                }
                Err(message) => {
                    failed.fetch_add(1, Ordering::SeqCst);
                    first_error.lock().unwrap().get_or_insert(message);
                    return;
                }
            };
            let ended = hold_until_released(held, &mut released).await;
            if ended {
                ended_early.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }

    let open_deadline = started + Duration::from_secs_f64(args.open_timeout_s);
    while opened.load(Ordering::SeqCst) + failed.load(Ordering::SeqCst) < args.connections
        && Instant::now() < open_deadline
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!(
        "{}",
        json!({
            "mode": "hold", "event": "ready", "kind": format!("{:?}", args.kind).to_lowercase(),
            "requested": args.connections, "open": opened.load(Ordering::SeqCst),
            "failed": failed.load(Ordering::SeqCst), "open_ms": started.elapsed().as_millis() as u64,
            "first_error": first_error.lock().unwrap().clone(),
        })
    );

    // Hold until stdin closes (the orchestrator is done reading memory) or time runs out.
    let mut stdin = tokio::io::stdin();
    let mut sink = [0u8; 64];
    let _ = tokio::time::timeout(Duration::from_secs_f64(args.hold_seconds), async {
        while let Ok(n) = stdin.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    let still_open = opened.load(Ordering::SeqCst) - ended_early.load(Ordering::SeqCst);
    let _ = release.send(true);
    for task in tasks {
        task.abort();
    }
    println!(
        "{}",
        json!({
            "mode": "hold", "event": "done", "open": opened.load(Ordering::SeqCst),
            "failed": failed.load(Ordering::SeqCst), "ended_early": ended_early.load(Ordering::SeqCst),
            "still_open_at_release": still_open,
        })
    );
    Ok(())
}

/// A connection being held: for streams, the body still arriving; for idle, the sender
/// whose drop would close the connection.
enum Held {
    Stream(hyper::body::Incoming),
    Idle(hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>),
}

/// Opens one connection and gets it to the held state.
async fn open_one(target: &Target, kind: HoldKind) -> std::result::Result<Held, String> {
    let mut sender = handshake(&target.authority)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let response = sender
        .send_request(target.request())
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status();
    let mut body = response.into_body();
    if status != 200 {
        return Err(format!("status {status}"));
    }
    match kind {
        HoldKind::Stream => {
            // Held means the first bytes came through: the stream is live end to end.
            loop {
                match body.frame().await {
                    Some(Ok(frame)) if frame.data_ref().is_some_and(|d| !d.is_empty()) => break,
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(format!("stream broke: {e}")),
                    None => return Err("stream ended before it could be held".into()),
                }
            }
            Ok(Held::Stream(body))
        }
        HoldKind::Idle => {
            body.collect()
                .await
                .map_err(|e| format!("reading body: {e}"))?;
            Ok(Held::Idle(sender))
        }
    }
}

/// Keeps a connection until release; true when it ended on its own first.
async fn hold_until_released(held: Held, released: &mut watch::Receiver<bool>) -> bool {
    match held {
        Held::Stream(mut body) => loop {
            tokio::select! {
                _ = released.changed() => return false,
                frame = body.frame() => match frame {
                    Some(Ok(_)) => continue,
                    _ => return true,
                },
            }
        },
        Held::Idle(sender) => {
            let _ = released.changed().await;
            drop(sender);
            false
        }
    }
}
