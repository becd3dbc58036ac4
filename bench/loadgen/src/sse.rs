//! `sse`: sequential streaming requests, timing the stream itself.
//!
//! Per stream: time to the response head (TTFB), time to the first body bytes (first
//! token: the first SSE event a client can act on), every gap between body frames as
//! they arrive, and the stream's per-event cost: (last byte - first byte) / (events - 1).
//! With the mock sending its chunks back to back, the body's duration (first to last
//! byte, `body`) divided by the chunk count is what the system spends on each chunk
//! (the orchestrator divides, since dialects frame a chunk in different event counts);
//! the gaps show its jitter.

use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use http_body_util::BodyExt;
use serde::Serialize;

use crate::summary::{Summary, round};
use crate::target::{Connection, Target, TargetArgs, excerpt, read_all};

/// Options of the `sse` mode.
#[derive(Args, Debug)]
pub struct SseArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Streams measured (after the warm-up).
    #[arg(long, default_value_t = 300)]
    requests: usize,
    /// Streams sent first and not measured.
    #[arg(long, default_value_t = 30)]
    warmup: usize,
    /// Stop measuring after this many seconds even if fewer streams were read.
    #[arg(long, default_value_t = 30.0)]
    max_seconds: f64,
}

/// Timings of one stream.
struct StreamTiming {
    ttfb_us: f64,
    ttft_us: f64,
    total_us: f64,
    body_us: f64,
    per_event_us: Option<f64>,
    events: usize,
    gaps_us: Vec<f64>,
}

/// What `sse` prints.
#[derive(Serialize)]
struct SseReport {
    mode: &'static str,
    url: String,
    streams: usize,
    errors: usize,
    first_error: Option<String>,
    events_per_stream_mean: f64,
    ttfb: Summary,
    ttft: Summary,
    total: Summary,
    body: Summary,
    per_event: Summary,
    gap: Summary,
}

/// Runs the mode and prints its JSON report.
pub async fn run(args: SseArgs) -> Result<()> {
    let target = Target::from_args(&args.target)?;
    let mut connection = Connection::open(&target).await?;
    let mut errors = 0;
    let mut first_error = None;

    for _ in 0..args.warmup {
        if let Err(message) = one_stream(&mut connection).await {
            first_error.get_or_insert(message);
            errors += 1;
        }
    }
    let warmup_errors = errors;

    let started = Instant::now();
    let limit = Duration::from_secs_f64(args.max_seconds);
    let mut timings = Vec::with_capacity(args.requests);
    for _ in 0..args.requests {
        if started.elapsed() > limit {
            break;
        }
        match one_stream(&mut connection).await {
            Ok(timing) => timings.push(timing),
            Err(message) => {
                first_error.get_or_insert(message);
                errors += 1;
            }
        }
    }

    let pick = |f: fn(&StreamTiming) -> f64| timings.iter().map(f).collect::<Vec<_>>();
    let gaps: Vec<f64> = timings
        .iter()
        .flat_map(|t| t.gaps_us.iter().copied())
        .collect();
    let per_event: Vec<f64> = timings.iter().filter_map(|t| t.per_event_us).collect();
    let events_total: usize = timings.iter().map(|t| t.events).sum();
    let report = SseReport {
        mode: "sse",
        url: args.target.url.clone(),
        streams: timings.len(),
        errors: errors - warmup_errors,
        first_error,
        events_per_stream_mean: round(events_total as f64 / timings.len().max(1) as f64),
        ttfb: Summary::of(&pick(|t| t.ttfb_us)),
        ttft: Summary::of(&pick(|t| t.ttft_us)),
        total: Summary::of(&pick(|t| t.total_us)),
        body: Summary::of(&pick(|t| t.body_us)),
        per_event: Summary::of(&per_event),
        gap: Summary::of(&gaps),
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Reads one stream to its end, timing every frame.
async fn one_stream(connection: &mut Connection) -> std::result::Result<StreamTiming, String> {
    let sent = Instant::now();
    let response = connection.send().await.map_err(|e| format!("{e:#}"))?;
    let head = Instant::now();
    if response.status() != 200 {
        let answer = read_all(response).await.map_err(|e| format!("{e:#}"))?;
        return Err(format!(
            "status {}: {}",
            answer.status,
            excerpt(&answer.body)
        ));
    }
    let mut body = response.into_body();
    let mut counter = EventCounter::default();
    let mut first: Option<Instant> = None;
    let mut last = head;
    let mut gaps_us = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("stream broke: {e}"))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        let now = Instant::now();
        if first.is_some() {
            gaps_us.push(micros(now - last));
        }
        first.get_or_insert(now);
        last = now;
        counter.feed(&data);
    }
    let first = first.ok_or_else(|| "stream had no body".to_string())?;
    let events = counter.events;
    if events == 0 {
        return Err("stream carried no SSE event".into());
    }
    Ok(StreamTiming {
        ttfb_us: micros(head - sent),
        ttft_us: micros(first - sent),
        total_us: micros(last - sent),
        body_us: micros(last - first),
        per_event_us: (events > 1).then(|| round(micros(last - first) / (events - 1) as f64)),
        events,
        gaps_us,
    })
}

fn micros(duration: Duration) -> f64 {
    round(duration.as_secs_f64() * 1e6)
}

/// Counts SSE events (blank-line terminated) across frame boundaries, for either
/// `\n\n` or `\r\n\r\n` framing.
#[derive(Default)]
pub struct EventCounter {
    /// Events seen so far.
    pub events: usize,
    /// Bytes since the last line break that were not `\r`, so a line break ends an
    /// event exactly when the line it closes was empty.
    line_len: usize,
    /// Whether any line has been seen (an empty line before any content is not an event).
    in_event: bool,
}

impl EventCounter {
    /// Feeds the next bytes of the stream.
    pub fn feed(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            match byte {
                b'\n' => {
                    if self.line_len == 0 {
                        if self.in_event {
                            self.events += 1;
                            self.in_event = false;
                        }
                    } else {
                        self.in_event = true;
                    }
                    self.line_len = 0;
                }
                b'\r' => {}
                _ => self.line_len += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EventCounter;

    #[test]
    fn events_split_across_frames_are_counted_once_each() {
        let mut counter = EventCounter::default();
        counter.feed(b"event: a\ndata: {\"x\":1}\n");
        counter.feed(b"\ndata: {\"y\"");
        counter.feed(b":2}\n\ndata: [DONE]\n\n");
        assert_eq!(counter.events, 3);
    }

    #[test]
    fn crlf_framing_counts_like_lf_framing() {
        let mut counter = EventCounter::default();
        counter.feed(b"data: {}\r\n\r\ndata: {}\r\n\r");
        counter.feed(b"\n");
        assert_eq!(counter.events, 2);
    }
}
