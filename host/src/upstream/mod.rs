//! The one HTTP client every upstream request goes through, and the egress policy.
//!
//! One `reqwest::Client` (rustls, HTTP/2, pooled connections) for the whole process:
//! connection reuse is most of an upstream round trip's cost. Redirects are followed
//! only within the same host: a redirect elsewhere would carry the credential past the
//! egress policy.

pub mod egress;
pub mod outgoing;

use std::time::Duration;

use bytes::Bytes;

use crate::ir::ResponseHead;
pub use egress::{EgressMemo, EgressPolicy, EgressRefused};
pub use outgoing::{OutgoingRequest, PrepareError, prepare};

/// Most bytes of an error body read for classification; the rest is dropped.
const ERROR_BODY_LIMIT: usize = 1 << 20;

/// The process-wide upstream client.
#[derive(Clone)]
pub struct UpstreamClient {
    client: reqwest::Client,
    first_byte_timeout: Duration,
    idle_timeout: Duration,
}

/// Why a response body could not be read on.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// No byte arrived for this long.
    #[error("no data for {} s", .0.as_secs_f64())]
    Idle(Duration),
    /// The connection broke or the framing was invalid.
    #[error("{0}")]
    Broken(String),
}

/// Why nothing came back.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No response head in time.
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// Connect, TLS or protocol failure before the head.
    #[error("{0}")]
    Connect(String),
}

impl UpstreamClient {
    /// Build the client. `connect_timeout` bounds TCP+TLS; `first_byte_timeout` bounds
    /// the wait for the response head; `idle_timeout` bounds the silence between two
    /// body chunks (a stream may run as long as it keeps talking).
    pub fn new(
        connect_timeout: Duration,
        first_byte_timeout: Duration,
        idle_timeout: Duration,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(connect_timeout)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(90))
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                let same_host = attempt.previous().first().map(|first| first.host_str())
                    == Some(attempt.url().host_str());
                if same_host && attempt.previous().len() < 5 {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .build()?;
        Ok(Self {
            client,
            first_byte_timeout,
            idle_timeout,
        })
    }

    /// The process's one HTTP client (token endpoints use it too).
    pub fn http(&self) -> &reqwest::Client {
        &self.client
    }

    /// Send `request`; wait for the response head.
    pub async fn send(&self, request: OutgoingRequest) -> Result<UpstreamResponse, SendError> {
        let pending = self
            .client
            .request(request.method, request.url)
            .headers(request.headers)
            .body(request.body)
            .send();
        let response = match tokio::time::timeout(self.first_byte_timeout, pending).await {
            Err(_) => return Err(SendError::Timeout(self.first_byte_timeout)),
            Ok(Err(err)) if err.is_timeout() => {
                return Err(SendError::Timeout(self.first_byte_timeout));
            }
            // `without_url`: the URL may carry a query-parameter credential.
            Ok(Err(err)) => return Err(SendError::Connect(describe(&err.without_url()))),
            Ok(Ok(response)) => response,
        };
        let head = ResponseHead {
            status: response.status().as_u16(),
            headers: response
                .headers()
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
        };
        Ok(UpstreamResponse {
            head,
            response,
            idle_timeout: self.idle_timeout,
            received: 0,
        })
    }
}

/// An upstream response whose head has arrived; the body is read chunk by chunk.
pub struct UpstreamResponse {
    /// Status and headers (names lower-case).
    pub head: ResponseHead,
    response: reqwest::Response,
    idle_timeout: Duration,
    received: u64,
}

impl UpstreamResponse {
    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.head.status)
    }

    /// True when the body is an event stream (SSE, or AWS event stream).
    pub fn is_streaming(&self) -> bool {
        self.head.headers.iter().any(|(name, value)| {
            name == "content-type" && {
                let value = value.to_ascii_lowercase();
                value.starts_with("text/event-stream")
                    || value.starts_with("application/vnd.amazon.eventstream")
            }
        })
    }

    /// The next body chunk, `None` at the end; an error when the body breaks or falls
    /// silent for the idle timeout.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, BodyError> {
        let chunk = tokio::time::timeout(self.idle_timeout, self.response.chunk())
            .await
            .map_err(|_| BodyError::Idle(self.idle_timeout))?
            .map_err(|err| BodyError::Broken(describe(&err.without_url())))?;
        if let Some(chunk) = &chunk {
            self.received += chunk.len() as u64;
        }
        Ok(chunk)
    }

    /// Body bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The whole body, up to 1 MiB (error bodies, for classification).
    pub async fn read_error_body(mut self) -> Vec<u8> {
        let mut body = Vec::new();
        while let Ok(Some(chunk)) = self.next_chunk().await {
            let room = ERROR_BODY_LIMIT.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if room <= chunk.len() {
                break;
            }
        }
        body
    }
}

/// An error with its causes, on one line.
fn describe(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
