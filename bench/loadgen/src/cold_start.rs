//! `cold-start`: spawn the system, time until its first 200 to a real request, then read
//! its resident memory once it has settled.
//!
//! The clock starts just before the spawn and stops when a proxied request (not merely
//! an open port) answers 200: that is when a client could first be served.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::json;
use tokio::process::Command;

use crate::target::{Connection, Target, TargetArgs, read_all};

/// Options of the `cold-start` mode.
#[derive(Args, Debug)]
pub struct ColdStartArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Give up after this many seconds without a 200.
    #[arg(long, default_value_t = 60.0)]
    timeout_s: f64,
    /// After the first 200, wait this long and read the idle RSS.
    #[arg(long, default_value_t = 1000)]
    settle_ms: u64,
    /// Where the system's stderr goes (discarded when unset).
    #[arg(long)]
    log: Option<std::path::PathBuf>,
    /// The program and its arguments, after `--`.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

/// Runs the mode and prints its JSON report; the spawned system is killed at the end.
pub async fn run(args: ColdStartArgs) -> Result<()> {
    let target = Target::from_args(&args.target)?;
    let stderr = match &args.log {
        Some(path) => Stdio::from(std::fs::File::create(path)?),
        None => Stdio::null(),
    };
    let started = Instant::now();
    let mut child = Command::new(&args.command[0])
        .args(&args.command[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("spawning {}", args.command[0]))?;
    let pid = child.id().context("child has no pid")?;
    let deadline = started + Duration::from_secs_f64(args.timeout_s);

    let mut attempts = 0u64;
    let mut last_status = None;
    let first_200_ms = loop {
        attempts += 1;
        if let Ok(mut connection) = Connection::open(&target).await
            && let Ok(response) = connection.send().await
            && let Ok(answer) = read_all(response).await
        {
            if answer.status == 200 {
                break started.elapsed().as_secs_f64() * 1000.0;
            }
            last_status = Some(answer.status);
        }
        if let Some(status) = child.try_wait()? {
            bail!("the system exited before serving: {status}");
        }
        if Instant::now() > deadline {
            let _ = child.kill().await;
            bail!(
                "no 200 within {}s (last status {:?})",
                args.timeout_s,
                last_status
            );
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    };
    let rss_first_200_kb = rss_kb(pid);
    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
    let rss_idle_kb = rss_kb(pid);
    let _ = child.kill().await;
    let report = json!({
        "mode": "cold-start",
        "cold_start_ms": (first_200_ms * 10.0).round() / 10.0,
        "attempts": attempts,
        "rss_first_200_kb": rss_first_200_kb,
        "rss_idle_kb": rss_idle_kb,
    });
    println!("{report}");
    Ok(())
}

/// VmRSS of a process, from /proc (Linux only), in KiB.
pub fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
}
