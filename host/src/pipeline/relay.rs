//! The response half of an attempt: upstream body chunks through the guest decoder
//! (and fixups' `on-events`) to the client, as a stream or as one body.
//!
//! Until the first byte is ready for the client (held until the answer has begun, not
//! only its identity), a failure is returned to routing so the pipeline may fail over.
//! After it, the response is committed: a task pumps the rest, and a failure becomes an
//! in-stream error frame. When the client goes away,
//! the task stops and the upstream connection is dropped.
//!
//! Two things are checked here for every adapter: a 2xx answer with an empty body is
//! an upstream failure, not an empty success; and in passthrough, bytes reach the
//! client only up to the end of the last complete SSE event, so an error frame never
//! lands inside a half-sent one.

use std::convert::Infallible;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::mpsc;

use std::sync::Arc;

use super::client_dialect::{ClientDialect, json_response};
use super::{Gateway, RequestRecord};
use crate::failure::{AttemptFailures, ClientError, Failure, TransportFailure};
use crate::governance::TokenTally;
use crate::ir::StreamEvent;
use crate::routing::Attempt;
use crate::runtime::{GuestError, RequestSandbox};
use crate::surfaces::collect::Collector;
use crate::surfaces::{Decoded, StreamEncoder};
use crate::upstream::{BodyError, UpstreamResponse};

/// How long a stream whose client closed is still read, to tell a client that stopped
/// at the last frame (the upstream ends without another byte) from one that left
/// mid-answer.
const CLIENT_LEFT_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Settles a failure that comes after the client's first byte: nothing can be
/// retried any more, but the account still rests as the failure advises (a
/// throttling frame mid-stream rests it exactly as a 429 would).
pub(super) struct LateSettle {
    gateway: Arc<Gateway>,
    attempt: Attempt,
}

impl LateSettle {
    /// For `attempt`, settled through `gateway`'s router.
    pub fn new(gateway: Arc<Gateway>, attempt: Attempt) -> Self {
        Self { gateway, attempt }
    }

    /// Let routing rest the account; the decision to go on is moot.
    fn settle(&self, failure: Failure) {
        let _committed = self.gateway.router.settle(&self.attempt, failure);
    }
}

/// A successful upstream response on its way to the client.
pub(super) struct Relay {
    sandbox: RequestSandbox,
    response: UpstreamResponse,
    failures: AttemptFailures,
    /// Native passthrough: forward `Raw` bytes, use `Finish` for accounting only.
    passthrough: bool,
    /// Passthrough bytes of an SSE event not yet complete.
    partial: Vec<u8>,
    dialect: ClientDialect,
    /// Settles classified stream errors after the first byte.
    late: LateSettle,
    /// Counts the answer's tokens for the client key's limits.
    tally: TokenTally,
    /// The request's outcome: usage, first bytes, a late failure. Held by the pump
    /// task too, so the row is emitted when the stream ends.
    record: RequestRecord,
}

/// What one read of the upstream body gave: events for the client, and whether the
/// body ended.
type Step = (Vec<StreamEvent>, bool);

impl Relay {
    /// Relay `response`, to which `sandbox` has responded.
    pub fn new(
        sandbox: RequestSandbox,
        response: UpstreamResponse,
        failures: AttemptFailures,
        passthrough: bool,
        dialect: ClientDialect,
        late: LateSettle,
        record: RequestRecord,
    ) -> Self {
        Self {
            sandbox,
            response,
            failures,
            passthrough,
            partial: Vec::new(),
            dialect,
            late,
            tally: TokenTally::default(),
            record,
        }
    }

    /// Count the answer's tokens (each `finish` event's usage) into `tally`.
    pub fn counting(mut self, tally: TokenTally) -> Self {
        self.tally = tally;
        self
    }

    /// Read the whole body, then answer with one document naming the model the client
    /// asked for.
    pub async fn collect(mut self, decoded: &Decoded) -> Result<Response, Failure> {
        let mut collector = Collector::new();
        let mut raw = Vec::new();
        loop {
            let (events, last) = self.step().await?;
            for event in &events {
                if let StreamEvent::Raw(bytes) = event {
                    raw.extend_from_slice(bytes);
                }
                self.account(event);
                collector.push(event);
            }
            if last {
                break;
            }
        }
        let collected = collector.finish();
        if let Some(error) = &collected.error {
            return Err(self.failures.stream_error(error));
        }
        let body = if self.passthrough {
            raw
        } else {
            self.dialect
                .response_body(&collected, &decoded.model, decoded)
        };
        Ok(json_response(StatusCode::OK, body))
    }

    /// Stream the answer. Reads until the client has its first bytes (failing over on
    /// trouble), then hands the rest to a task and returns the streaming response.
    pub async fn stream(
        mut self,
        mut encoder: Box<dyn StreamEncoder>,
        content_type: &'static str,
    ) -> Result<Response, Failure> {
        let mut first = Vec::new();
        let mut ended = false;
        // The first bytes wait until the answer has begun (an event beyond the
        // response's identity): an upstream that sends its opening frame and then an
        // error frame (Anthropic's `message_start`, then `overloaded_error`) still fails
        // over, as a refusal would. Passthrough bytes begin the answer at once.
        let mut begun = false;
        while (!begun || first.is_empty()) && !ended {
            let (events, last) = self.step().await?;
            ended = last;
            if let Some(StreamEvent::Error(error)) =
                events.iter().find(|e| matches!(e, StreamEvent::Error(_)))
            {
                return Err(self.failures.stream_error(error));
            }
            begun |= events
                .iter()
                .any(|event| !matches!(event, StreamEvent::ResponseMetadata(_)));
            self.encode(&events, encoder.as_mut(), &mut first);
            if ended {
                self.end(encoder.as_mut(), &mut first);
            }
        }

        self.record.first_bytes();
        let (sender, mut receiver) = mpsc::channel::<Bytes>(16);
        sender
            .try_send(Bytes::from(first))
            .expect("a fresh channel has room");
        if !ended {
            tokio::spawn(self.pump(encoder, sender));
        }
        let body = futures_util::stream::poll_fn(move |cx| {
            receiver.poll_recv(cx).map(|b| b.map(Ok::<_, Infallible>))
        });
        let mut response = Response::new(Body::from_stream(body));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        Ok(response)
    }

    /// The committed rest of a stream. Ends on the upstream's end, on any failure
    /// (after an error frame), or when the client goes away.
    async fn pump(mut self, mut encoder: Box<dyn StreamEncoder>, sender: mpsc::Sender<Bytes>) {
        loop {
            let mut out = Vec::new();
            let step = tokio::select! {
                step = self.step() => step,
                () = sender.closed() => {
                    self.client_left().await;
                    return;
                }
            };
            let done = match step {
                Ok((events, last)) => {
                    let failed = self.encode(&events, encoder.as_mut(), &mut out);
                    if last && !failed {
                        self.end(encoder.as_mut(), &mut out);
                    }
                    last || failed
                }
                Err(failure) => {
                    tracing::warn!(provider = self.failures.provider(), source = ?failure.source,
                        reason = %failure.error.message, "stream failed after the client's first bytes");
                    self.record.failed(&failure.error);
                    self.fail(&failure.error, encoder.as_mut(), &mut out);
                    true
                }
            };
            if !out.is_empty() && sender.send(Bytes::from(out)).await.is_err() {
                if !done {
                    self.record
                        .update(|row| row.error = "client_disconnected".to_owned());
                }
                return;
            }
            if done {
                return;
            }
        }
    }

    /// The client closed its side while the upstream was still open. A client may stop
    /// at the dialect's last frame (OpenAI's `[DONE]`, forwarded as it came) before the
    /// upstream's connection ends: when the upstream then ends within
    /// [`CLIENT_LEFT_GRACE`] without another byte, the client had the whole answer, and
    /// the request is complete (its last events accounted). Otherwise the client left
    /// mid-answer: the read stops (so the upstream stops generating) and the request is
    /// recorded as `client_disconnected`.
    async fn client_left(&mut self) {
        let before = self.response.received();
        let ended = tokio::time::timeout(CLIENT_LEFT_GRACE, async {
            loop {
                match self.step().await {
                    Ok((events, last)) => {
                        events.iter().for_each(|event| self.account(event));
                        if last {
                            return true;
                        }
                    }
                    Err(_) => return false,
                }
            }
        })
        .await
        .unwrap_or(false);
        if ended && self.response.received() == before {
            tracing::debug!(
                provider = self.failures.provider(),
                "client closed after the whole answer"
            );
            return;
        }
        tracing::debug!(
            provider = self.failures.provider(),
            "client went away; upstream read stopped"
        );
        self.record
            .update(|row| row.error = "client_disconnected".to_owned());
    }

    /// Read one upstream chunk (or the end) through the decoder. A body that breaks or
    /// falls silent, a guest that fails, and a 2xx body that ended empty are failures.
    async fn step(&mut self) -> Result<Step, Failure> {
        let chunk = self.response.next_chunk().await.map_err(|error| {
            let failure = match &error {
                BodyError::Idle(_) => TransportFailure::Idle,
                BodyError::Broken(_) => TransportFailure::Body,
            };
            self.failures.transport(failure, &error.to_string())
        })?;
        let guest = |error: GuestError| self.failures.guest(&error);
        match chunk {
            Some(chunk) => {
                let events = self.sandbox.push(&chunk).await.map_err(guest)?;
                Ok((events, false))
            }
            None if self.response.received() == 0 => {
                Err(self.failures.empty_answer(self.response.head.status))
            }
            None => {
                let events = self.sandbox.finish().await.map_err(guest)?;
                self.sandbox.end().await;
                Ok((events, true))
            }
        }
    }

    /// Encode `events` into `out`; true when an error event ended the stream. Runs
    /// only once the client has bytes (an error before that fails the attempt over),
    /// so an error event here is settled late: the account rests, the client gets the
    /// dialect's in-stream error.
    fn encode(
        &mut self,
        events: &[StreamEvent],
        encoder: &mut dyn StreamEncoder,
        out: &mut Vec<u8>,
    ) -> bool {
        for event in events {
            self.account(event);
            match event {
                StreamEvent::Error(error) => {
                    let failure = self.failures.stream_error(error);
                    self.record.failed(&failure.error);
                    tracing::info!(provider = self.failures.provider(), class = ?error.class,
                        retry = ?failure.retry, "upstream error frame after the client's first bytes");
                    self.fail(&failure.error, encoder, out);
                    self.late.settle(failure);
                    return true;
                }
                StreamEvent::Raw(bytes) if self.passthrough => self.forward(bytes, out),
                _ if self.passthrough => {}
                _ => encoder.event(event, out),
            }
        }
        false
    }

    /// A `finish` event's usage goes to the request's record (store and metrics).
    fn account(&self, event: &StreamEvent) {
        if let StreamEvent::Finish(finish) = event {
            tracing::debug!(usage = ?finish.usage, reason = ?finish.reason, "finish");
            self.record.usage(&finish.usage);
            self.tally.add(&finish.usage);
        }
    }

    /// Passthrough bytes: out up to the end of the last complete event, the rest held.
    fn forward(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if self.partial.is_empty() && end_of_last_event(bytes) == Some(bytes.len()) {
            out.extend_from_slice(bytes);
            return;
        }
        self.partial.extend_from_slice(bytes);
        if let Some(end) = end_of_last_event(&self.partial) {
            out.extend_from_slice(&self.partial[..end]);
            self.partial.drain(..end);
        }
    }

    /// The upstream ended cleanly: what it sent last goes out as it is, then the
    /// dialect's closing frames (a passthrough stream has its own).
    fn end(&mut self, encoder: &mut dyn StreamEncoder, out: &mut Vec<u8>) {
        if self.passthrough {
            out.append(&mut self.partial);
        } else {
            encoder.done(out);
        }
    }

    /// End the stream with `error`. A passthrough event cut off mid-way is dropped, so
    /// the error frame starts on a clean line.
    fn fail(&mut self, error: &ClientError, encoder: &mut dyn StreamEncoder, out: &mut Vec<u8>) {
        if !self.partial.is_empty() {
            tracing::debug!(
                bytes = self.partial.len(),
                "dropped the incomplete event before the error frame"
            );
            self.partial.clear();
        }
        encoder.error(error, out);
    }
}

/// Where the last complete SSE event in `bytes` ends (just past its blank line), if
/// any. An event ends at a blank line: a line terminator (`\n`, `\r\n` or `\r`)
/// followed by another.
fn end_of_last_event(bytes: &[u8]) -> Option<usize> {
    let mut i = bytes.len();
    while i >= 2 {
        match (bytes[i - 2], bytes[i - 1]) {
            (b'\n', b'\n') | (b'\r', b'\r') => return Some(i),
            (b'\r', b'\n') if i >= 3 && bytes[i - 3] == b'\n' => return Some(i),
            _ => i -= 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::end_of_last_event;

    #[test]
    fn an_event_ends_at_a_blank_line_whatever_the_line_terminator() {
        assert_eq!(end_of_last_event(b"data: a\n\n"), Some(9));
        assert_eq!(end_of_last_event(b"data: a\n\ndata: b"), Some(9));
        assert_eq!(end_of_last_event(b"data: a\r\n\r\ndata: b\r\n"), Some(11));
        assert_eq!(end_of_last_event(b"data: a\r\rdata"), Some(9));
        assert_eq!(end_of_last_event(b"data: {\"partial\": tr"), None);
        assert_eq!(end_of_last_event(b"data: a\n"), None);
        assert_eq!(end_of_last_event(b""), None);
    }
}
