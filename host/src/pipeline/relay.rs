//! The response half of an attempt: upstream body chunks through the guest decoder
//! (and fixups' `on-events`) to the client, as a stream or as one body.
//!
//! Until the first byte is ready for the client, a failure is returned as a routing
//! verdict so the pipeline may fail over. After it, the response is committed: a
//! task pumps the rest, and a failure becomes an in-stream error frame. When the
//! client goes away, the task stops and the upstream connection is dropped.

use std::convert::Infallible;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::mpsc;

use super::client_dialect::{ClientDialect, json_response};
use super::guest_errors::GuestErrors;
use crate::ir::StreamEvent;
use crate::routing::failover::judge_transport;
use crate::routing::{TransportFailure, Verdict};
use crate::runtime::RequestSandbox;
use crate::surfaces::collect::{Collector, adapter_client_error};
use crate::surfaces::{ClientError, Decoded, ErrorKind, StreamEncoder};
use crate::upstream::UpstreamResponse;

/// A successful upstream response on its way to the client.
pub(super) struct Relay {
    pub sandbox: RequestSandbox,
    pub response: UpstreamResponse,
    pub errors: GuestErrors,
    pub provider_name: String,
    /// Native passthrough: forward `Raw` bytes, use `Finish` for accounting only.
    pub passthrough: bool,
    pub dialect: ClientDialect,
}

/// An adapter-reported error before anything was sent: upstream trouble may fail
/// over, anything else is the answer.
fn verdict_for(error: ClientError) -> Verdict {
    if error.kind == ErrorKind::Upstream {
        Verdict::TryNext(error)
    } else {
        Verdict::Answer(error)
    }
}

impl Relay {
    /// Read the whole body, then answer with one document naming the model the client
    /// asked for.
    pub async fn collect(mut self, decoded: &Decoded) -> Result<Response, Verdict> {
        let mut collector = Collector::new();
        let mut raw = Vec::new();
        loop {
            let chunk = self.next_chunk().await?;
            let last = chunk.is_none();
            let events = match chunk {
                Some(chunk) => self.sandbox.push(&chunk).await,
                None => self.sandbox.finish().await,
            }
            .map_err(|error| self.errors.verdict(error))?;
            for event in &events {
                if let StreamEvent::Raw(bytes) = event {
                    raw.extend_from_slice(bytes);
                }
                log_usage(event);
                collector.push(event);
            }
            if last {
                break;
            }
        }
        let collected = collector.finish();
        if let Some(error) = &collected.error {
            return Err(verdict_for(adapter_client_error(error)));
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
    ) -> Result<Response, Verdict> {
        let mut first = Vec::new();
        let mut ended = false;
        while first.is_empty() && !ended {
            let chunk = self.next_chunk().await?;
            ended = chunk.is_none();
            let events = match chunk {
                Some(chunk) => self.sandbox.push(&chunk).await,
                None => self.sandbox.finish().await,
            }
            .map_err(|error| self.errors.verdict(error))?;
            if let Some(StreamEvent::Error(error)) =
                events.iter().find(|e| matches!(e, StreamEvent::Error(_)))
            {
                return Err(verdict_for(adapter_client_error(error)));
            }
            self.encode(&events, encoder.as_mut(), &mut first);
            if ended && !self.passthrough {
                encoder.done(&mut first);
            }
        }

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
            let chunk = tokio::select! {
                chunk = self.response.next_chunk() => chunk,
                () = sender.closed() => {
                    tracing::debug!(provider = %self.provider_name, "client went away; upstream read stopped");
                    return;
                }
            };
            let done = match chunk {
                Ok(Some(chunk)) => match self.sandbox.push(&chunk).await {
                    Ok(events) => self.encode(&events, encoder.as_mut(), &mut out),
                    Err(error) => {
                        tracing::warn!(error = %error, "guest failed mid-stream");
                        encoder.error(&self.errors.client_error(&error), &mut out);
                        true
                    }
                },
                Ok(None) => match self.sandbox.finish().await {
                    Ok(events) => {
                        self.encode(&events, encoder.as_mut(), &mut out);
                        if !self.passthrough {
                            encoder.done(&mut out);
                        }
                        true
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, "guest failed at the end of the stream");
                        encoder.error(&self.errors.client_error(&error), &mut out);
                        true
                    }
                },
                Err(detail) => {
                    tracing::warn!(provider = %self.provider_name, %detail, "upstream broke off mid-stream");
                    let error = ClientError::new(
                        ErrorKind::Upstream,
                        format!(
                            "provider `{}` broke off its answer: {detail}",
                            self.provider_name
                        ),
                    );
                    encoder.error(&error, &mut out);
                    true
                }
            };
            if !out.is_empty() && sender.send(Bytes::from(out)).await.is_err() {
                return;
            }
            if done {
                return;
            }
        }
    }

    /// Encode `events` into `out`; true when an error event ended the stream.
    fn encode(
        &self,
        events: &[StreamEvent],
        encoder: &mut dyn StreamEncoder,
        out: &mut Vec<u8>,
    ) -> bool {
        let mut failed = false;
        for event in events {
            log_usage(event);
            match event {
                StreamEvent::Error(error) => {
                    encoder.error(&adapter_client_error(error), out);
                    failed = true;
                }
                StreamEvent::Raw(bytes) if self.passthrough => out.extend_from_slice(bytes),
                _ if self.passthrough => {}
                _ => encoder.event(event, out),
            }
        }
        failed
    }

    /// The next upstream chunk; a broken body before commit may fail over.
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, Verdict> {
        self.response
            .next_chunk()
            .await
            .map_err(|detail| judge_transport(TransportFailure::Body, &self.provider_name, &detail))
    }
}

/// Usage for accounting (a store comes later; the log has it meanwhile).
fn log_usage(event: &StreamEvent) {
    if let StreamEvent::Finish(finish) = event {
        tracing::debug!(usage = ?finish.usage, reason = ?finish.reason, "finish");
    }
}
