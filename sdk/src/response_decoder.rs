//! The decoder every provider writes, written once: an upstream answer arrives either
//! as an SSE stream (parsed as it comes) or as one JSON document (parsed at the end),
//! and in native passthrough its bytes are forwarded untouched while only the events
//! that carry accounting are parsed. A provider supplies the state machine
//! ([`ResponseState`]); [`ResponseDecoder`] does the plumbing around it.
//!
//! Three things every upstream needs and no adapter should have to remember: a body the
//! host did not expect to stream that turns out to be an event stream is read as one;
//! blank `data:` lines and OpenAI's `[DONE]` sentinel are skipped; and in passthrough,
//! an event that is not JSON ends the stream with an error like any other, although
//! only the accounting events are parsed into values (the others are only checked,
//! which builds nothing).

use serde_json::Value;

use crate::events::EventWriter;
use crate::json::{JsonBody, check_upstream_json, parse_upstream_json};
use crate::sse::{SseEvent, SseParser};
use crate::types::{AdapterError, StreamEvent};

/// What a provider's answer has said so far, and how to read more of it. It writes
/// through an [`EventWriter`], which keeps the stream's rules (block ids, ends, one
/// `finish`).
pub trait ResponseState: Default + 'static {
    /// What one stream event is, for the error when one is not JSON
    /// (e.g. "a Chat Completions stream chunk").
    const STREAM_EVENT: &'static str;

    /// In passthrough, whether this stream event can change the accounting (usage, the
    /// finish reason, an error); the others are forwarded without being parsed.
    fn matters_for_accounting(event: &SseEvent) -> bool;

    /// Read one stream event's `data`, parsed.
    fn take_stream_event(
        &mut self,
        data: &Value,
        out: &mut EventWriter,
    ) -> Result<(), AdapterError>;

    /// Read a whole one-document answer. The default reads it as one stream event.
    fn take_whole_document(
        &mut self,
        document: Value,
        out: &mut EventWriter,
    ) -> Result<(), AdapterError> {
        self.take_stream_event(&document, out)
    }

    /// The body ended: write the `finish` (the writer ends open blocks first). If this
    /// writes none, the writer's fallback finish goes out.
    fn end(&mut self, out: &mut EventWriter);
}

/// How a response body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeMode {
    /// The body is an event stream (as `respond` said), not one document.
    pub streaming: bool,
    /// Native passthrough (the call was `encode-native`): forward the bytes as `raw`
    /// events and emit only the `finish` besides, and a classified `error` in place of
    /// the bytes of a chunk that completes an error frame.
    pub passthrough: bool,
}

impl DecodeMode {
    /// An IR-path answer, streamed or one document.
    pub fn ok(streaming: bool) -> Self {
        DecodeMode {
            streaming,
            passthrough: false,
        }
    }
    /// The same answer on the passthrough path.
    pub fn passthrough(self) -> Self {
        DecodeMode {
            passthrough: true,
            ..self
        }
    }
}

/// A decoder around a provider's [`ResponseState`]: streamed or one document, and
/// passthrough, as the [`DecodeMode`] says.
pub struct ResponseDecoder<S> {
    /// `Some` when the host expects a stream.
    stream: Option<SseParser>,
    /// The one-document body, collected until the end.
    document: JsonBody,
    /// Native passthrough: forward bytes as `raw`, keep only the accounting.
    passthrough: bool,
    out: EventWriter,
    state: S,
}

impl<S: ResponseState> ResponseDecoder<S> {
    /// A decoder with a fresh state.
    pub fn new(mode: DecodeMode) -> Self {
        Self::with_state(mode, S::default())
    }

    /// A decoder starting from `state` (e.g. one that knows what the request asked).
    pub fn with_state(mode: DecodeMode, state: S) -> Self {
        ResponseDecoder {
            stream: mode.streaming.then(SseParser::new),
            document: JsonBody::new(),
            passthrough: mode.passthrough,
            out: EventWriter::new(),
            state,
        }
    }

    /// The provider's state (e.g. for a test that looks inside).
    pub fn state(&self) -> &S {
        &self.state
    }

    fn take_events(&mut self, events: Vec<SseEvent>) -> Result<(), AdapterError> {
        for event in events {
            let data = event.data.trim();
            if data.is_empty() || data == "[DONE]" {
                continue;
            }
            if self.passthrough && !S::matters_for_accounting(&event) {
                check_upstream_json(data.as_bytes(), S::STREAM_EVENT)?;
                continue;
            }
            let value = parse_upstream_json(data.as_bytes(), S::STREAM_EVENT)?;
            self.state.take_stream_event(&value, &mut self.out)?;
        }
        Ok(())
    }

    /// What the writer holds, or in passthrough only its `finish` and any classified
    /// `error` (the bytes went out as they came; the host must still see an error
    /// frame's class to rest the account).
    fn written(&mut self) -> Vec<StreamEvent> {
        let events = self.out.take();
        if self.passthrough {
            return events
                .into_iter()
                .filter(|event| matches!(event, StreamEvent::Finish(_) | StreamEvent::Error(_)))
                .collect();
        }
        events
    }

    /// Feed the next chunk; the events it completes (in passthrough, the chunk itself
    /// as one `raw` event, or the classified error of an error frame it completes).
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        match &mut self.stream {
            Some(parser) => {
                let events = parser.push(chunk);
                self.take_events(events)?;
            }
            None => self.document.push(chunk),
        }
        if self.passthrough {
            let written = self.written();
            // A chunk that completes an error frame: its classified error goes out
            // instead of its bytes. The host writes the client's error frame (in the
            // same dialect) and rests the account by the class.
            if written
                .iter()
                .any(|event| matches!(event, StreamEvent::Error(_)))
            {
                return Ok(written);
            }
            let mut out = vec![StreamEvent::Raw(chunk.to_vec())];
            out.extend(written);
            return Ok(out);
        }
        Ok(self.written())
    }

    /// The body ended: the remaining events, ending with the `finish`.
    pub fn finish(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
        match &mut self.stream {
            Some(parser) => {
                let events = parser.finish();
                self.take_events(events)?;
            }
            None => {
                let bytes = self.document.bytes().trim_ascii_start().to_vec();
                if looks_like_an_event_stream(&bytes) {
                    // Streamed although nobody said so: read it as the stream it is.
                    let mut parser = SseParser::new();
                    let mut events = parser.push(&bytes);
                    events.extend(parser.finish());
                    self.take_events(events)?;
                } else if !bytes.is_empty() {
                    let document = self.document.finish()?;
                    self.state.take_whole_document(document, &mut self.out)?;
                }
            }
        }
        self.state.end(&mut self.out);
        self.out.end();
        Ok(self.written())
    }
}

/// Whether a body collected as a document is really an event stream (it starts with a
/// field or a comment line, which no JSON document does).
fn looks_like_an_event_stream(bytes: &[u8]) -> bool {
    bytes.starts_with(b"data:") || bytes.starts_with(b"event:") || bytes.starts_with(b":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_every_split_decodes_to, decode_fed, forwarded_and_last};
    use crate::types::*;

    /// A toy upstream: each event or document is `{"say": "..."}`, `{"usage": n}` ends.
    #[derive(Default)]
    struct Echo {
        output_tokens: Option<u64>,
    }

    impl ResponseState for Echo {
        const STREAM_EVENT: &'static str = "an echo event";
        fn matters_for_accounting(event: &SseEvent) -> bool {
            event.data.contains("\"usage\"") || event.data.contains("\"error\"")
        }
        fn take_stream_event(
            &mut self,
            data: &Value,
            out: &mut EventWriter,
        ) -> Result<(), AdapterError> {
            if let Some(text) = data["say"].as_str() {
                out.text(text);
            }
            if let Some(tokens) = data["usage"].as_u64() {
                self.output_tokens = Some(tokens);
            }
            if let Some(message) = data["error"].as_str() {
                out.error(UpstreamError::new(ErrorClass::Overloaded(None), message));
            }
            Ok(())
        }
        fn end(&mut self, out: &mut EventWriter) {
            let usage = Usage {
                output_tokens: self.output_tokens,
                ..Usage::default()
            };
            out.finish(Finish::new(FinishReason::Stop, None, usage));
        }
    }

    const STREAM: &[u8] =
        b": hello\n\ndata: {\"say\":\"hi\"}\n\ndata: \n\ndata: {\"usage\":3}\n\ndata: [DONE]\n\n";

    fn finish(output_tokens: Option<u64>) -> StreamEvent {
        let usage = Usage {
            output_tokens,
            ..Usage::default()
        };
        StreamEvent::finish(FinishReason::Stop, None, usage)
    }

    fn said_hi() -> Vec<StreamEvent> {
        vec![
            StreamEvent::TextStart("text-0".into()),
            StreamEvent::text_delta("text-0", "hi"),
            StreamEvent::TextEnd("text-0".into()),
            finish(Some(3)),
        ]
    }

    #[test]
    fn a_stream_skips_comments_blanks_and_done_however_it_is_cut() {
        assert_every_split_decodes_to(
            || ResponseDecoder::<Echo>::new(DecodeMode::ok(true)),
            STREAM,
            &said_hi(),
        );
    }

    #[test]
    fn a_document_is_read_at_the_end_and_an_unannounced_stream_as_a_stream() {
        let document = ResponseDecoder::<Echo>::new(DecodeMode::ok(false));
        assert_eq!(
            decode_fed(document, &[b"{\"say\":", b"\"hi\"}"]),
            vec![
                StreamEvent::TextStart("text-0".into()),
                StreamEvent::text_delta("text-0", "hi"),
                StreamEvent::TextEnd("text-0".into()),
                finish(None),
            ]
        );
        let unannounced = ResponseDecoder::<Echo>::new(DecodeMode::ok(false));
        assert_eq!(decode_fed(unannounced, &[STREAM]), said_hi());
        let empty = ResponseDecoder::<Echo>::new(DecodeMode::ok(false));
        assert_eq!(decode_fed(empty, &[]), vec![finish(None)]);
    }

    #[test]
    fn passthrough_forwards_every_byte_and_parses_only_accounting() {
        let ctx = DecodeMode::ok(true).passthrough();
        let stream = b"data: {\"say\": \"hi\"}\n\ndata: {\"usage\":5}\n\n";
        let events = decode_fed(
            ResponseDecoder::<Echo>::new(ctx),
            &[&stream[..9], &stream[9..]],
        );
        let (forwarded, last) = forwarded_and_last(&events);
        assert_eq!(forwarded, stream);
        assert_eq!(last, &finish(Some(5)));
    }

    #[test]
    fn passthrough_still_refuses_an_event_that_is_not_json() {
        let ctx = DecodeMode::ok(true).passthrough();
        let mut decoder = ResponseDecoder::<Echo>::new(ctx);
        assert!(decoder.push(b"data: {\"say\": \"hi\"}\n\n").is_ok());
        let error = decoder.push(b"data: {say: not json}\n\n").unwrap_err();
        assert_eq!(error.kind, ErrorKind::Upstream);
        assert!(error.message.contains("an echo event"), "{}", error.message);
    }

    #[test]
    fn garbage_is_an_upstream_error_naming_the_event() {
        let mut decoder = ResponseDecoder::<Echo>::new(DecodeMode::ok(true));
        let error = decoder.push(b"data: {nope\n\n").unwrap_err();
        assert_eq!(error.kind, ErrorKind::Upstream);
        assert!(error.message.contains("an echo event"), "{}", error.message);
        let mut document = ResponseDecoder::<Echo>::new(DecodeMode::ok(false));
        document.push(b"{nope").unwrap();
        assert_eq!(document.finish().unwrap_err().kind, ErrorKind::Upstream);
    }

    #[test]
    fn in_passthrough_an_error_frame_goes_out_classified_instead_of_its_bytes() {
        let mut decoder =
            ResponseDecoder::with_state(DecodeMode::ok(true).passthrough(), Echo::default());
        let first = decoder.push(b"data: {\"say\":\"hi\"}\n\n").unwrap();
        assert_eq!(
            first,
            vec![StreamEvent::Raw(b"data: {\"say\":\"hi\"}\n\n".to_vec())]
        );
        let failed = decoder
            .push(b"data: {\"error\":\"overloaded\"}\n\n")
            .unwrap();
        assert!(
            failed
                .iter()
                .all(|event| !matches!(event, StreamEvent::Raw(_))),
            "{failed:?}"
        );
        assert!(
            failed.iter().any(|event| matches!(
                event,
                StreamEvent::Error(UpstreamError {
                    class: ErrorClass::Overloaded { .. },
                    ..
                })
            )),
            "{failed:?}"
        );
    }
}
