//! The request handler: route, check the dialect, then answer from the canned
//! bodies (or with an injected error), counting everything for `GET /stats`.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use crate::bodies::{CannedBodies, ErrorKind, error_bytes};
use crate::dialect::{self, Dialect, GeminiFraming};
use crate::paced_body::PacedBody;

/// What the mock answers with: a whole body, or a paced stream.
pub type Reply = Either<Full<Bytes>, PacedBody>;

/// Everything the handler needs, built once and leaked for the process's life
/// (so a request borrows it without touching a refcount).
pub struct MockState {
    /// The pre-serialised answers.
    pub bodies: CannedBodies,
    /// Delay before the response head.
    pub first_byte_delay: Duration,
    /// Spacing between content chunks of a stream.
    pub chunk_interval: Duration,
    /// Fraction of valid requests answered with the dialect's server error.
    pub error_rate: f64,
    /// The counters behind `GET /stats`.
    pub stats: Stats,
    /// Content chunks per stream (locates the text frames inside each stream).
    pub chunks: usize,
}

/// Request counters, read by `GET /stats`.
#[derive(Default)]
pub struct Stats {
    /// Requests to a dialect endpoint, valid or not.
    pub requests: AtomicU64,
    /// Requests answered 400 because the body was not the endpoint's dialect.
    pub rejected: AtomicU64,
    /// Valid requests answered with an injected server error.
    pub errors_injected: AtomicU64,
    /// Valid requests seen, the clock the error injection runs on.
    valid: AtomicU64,
}

impl Stats {
    /// The `/stats` JSON.
    pub fn to_json(&self) -> String {
        format!(
            r#"{{"requests":{},"rejected":{},"errors_injected":{}}}"#,
            self.requests.load(Relaxed),
            self.rejected.load(Relaxed),
            self.errors_injected.load(Relaxed)
        )
    }
}

/// Whether the `n`th valid request (from 0) gets an error at `rate`: exactly
/// `floor(n × rate)` of the first `n` do, spread evenly, with no randomness.
pub fn injects_error(n: u64, rate: f64) -> bool {
    rate > 0.0 && ((n + 1) as f64 * rate).floor() > (n as f64 * rate).floor()
}

/// Where a dialect's text chunks sit in its stream: the framing events that
/// precede the first one.
fn leading_frames(dialect: Dialect) -> usize {
    match dialect {
        Dialect::Chat => 1,      // role delta
        Dialect::Responses => 4, // created, in_progress, output_item.added, content_part.added
        Dialect::Anthropic => 3, // message_start, content_block_start, ping
        Dialect::Gemini => 0,
    }
}

/// Answers one request.
pub async fn handle(
    request: Request<Incoming>,
    state: &'static MockState,
) -> Result<Response<Reply>, Infallible> {
    let Some(route) = dialect::route(request.uri().path(), request.uri().query()) else {
        if request.method() == Method::GET && request.uri().path() == "/stats" {
            return Ok(whole(
                StatusCode::OK,
                JSON,
                Bytes::from(state.stats.to_json()),
            ));
        }
        return Ok(whole(
            StatusCode::NOT_FOUND,
            JSON,
            Bytes::from_static(br#"{"error":"not found"}"#),
        ));
    };
    state.stats.requests.fetch_add(1, Relaxed);
    if request.method() != Method::POST {
        let body = error_bytes(route.dialect, ErrorKind::BadRequest, "method not allowed");
        return Ok(whole(StatusCode::METHOD_NOT_ALLOWED, JSON, body));
    }
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(reject(
                state,
                route.dialect,
                "request body could not be read".into(),
            ));
        }
    };
    let checked = match dialect::check(route.dialect, &body) {
        Ok(checked) => checked,
        Err(reason) => return Ok(reject(state, route.dialect, reason)),
    };
    if !state.first_byte_delay.is_zero() {
        tokio::time::sleep(state.first_byte_delay).await;
    }
    let canned = state.bodies.of(route.dialect);
    if injects_error(state.stats.valid.fetch_add(1, Relaxed), state.error_rate) {
        state.stats.errors_injected.fetch_add(1, Relaxed);
        let status =
            StatusCode::from_u16(ErrorKind::Server.status(route.dialect)).expect("valid status");
        return Ok(whole(status, JSON, canned.server_error.clone()));
    }
    let stream = match route.dialect {
        Dialect::Gemini => route.gemini_stream,
        _ => checked.stream.then_some(GeminiFraming::Sse),
    };
    Ok(match stream {
        None => whole(StatusCode::OK, JSON, canned.json.clone()),
        Some(GeminiFraming::JsonArray) => whole(StatusCode::OK, JSON, canned.json_array.clone()),
        Some(GeminiFraming::Sse) => {
            let lead = leading_frames(route.dialect);
            let body = PacedBody::new(
                &canned.stream,
                lead..lead + state.chunks,
                state.chunk_interval,
            );
            let mut response = Response::new(Either::Right(body));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
            response
                .headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            response
        }
    })
}

const JSON: &str = "application/json";

fn whole(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Reply> {
    let mut response = Response::new(Either::Left(Full::new(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn reject(state: &MockState, dialect: Dialect, reason: String) -> Response<Reply> {
    state.stats.rejected.fetch_add(1, Relaxed);
    whole(
        StatusCode::BAD_REQUEST,
        JSON,
        error_bytes(dialect, ErrorKind::BadRequest, &reason),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_injection_hits_the_exact_fraction_spread_evenly() {
        let hits = |rate: f64, n: u64| (0..n).filter(|&i| injects_error(i, rate)).count();
        assert_eq!(hits(0.0, 10_000), 0);
        assert_eq!(hits(0.001, 10_000), 10);
        assert_eq!(hits(0.25, 100), 25);
        assert_eq!(hits(1.0, 50), 50);
        let quarter: Vec<bool> = (0..8).map(|i| injects_error(i, 0.25)).collect();
        assert_eq!(
            quarter,
            [false, false, false, true, false, false, false, true]
        );
    }

    #[test]
    fn stats_serialise_as_the_runner_reads_them() {
        let stats = Stats::default();
        stats.requests.fetch_add(3, Relaxed);
        stats.rejected.fetch_add(1, Relaxed);
        assert_eq!(
            stats.to_json(),
            r#"{"requests":3,"rejected":1,"errors_injected":0}"#
        );
    }
}
