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

use crate::json::{JsonBody, check_upstream_json, parse_upstream_json};
use crate::provider::Decoder;
use crate::sse::{SseEvent, SseParser};
use crate::types::{AdapterError, DecodeContext, StreamEvent};

/// What a provider's answer has said so far, and how to read more of it.
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
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), AdapterError>;

    /// Read a whole one-document answer.
    fn take_whole_document(
        &mut self,
        document: Value,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), AdapterError>;

    /// The body ended: close whatever is open (into `out`) and give the `finish` event.
    fn end(&mut self, out: &mut Vec<StreamEvent>) -> StreamEvent;
}

/// A [`Decoder`] around a provider's [`ResponseState`]: streamed or one document, and
/// passthrough, as the [`DecodeContext`] says.
pub struct ResponseDecoder<S> {
    /// `Some` when the host expects a stream.
    stream: Option<SseParser>,
    /// The one-document body, collected until `finish`.
    document: JsonBody,
    /// Native passthrough: forward bytes as `raw`, keep only the accounting.
    passthrough: bool,
    state: S,
}

impl<S: ResponseState> ResponseDecoder<S> {
    /// A decoder for a response described by `ctx`.
    pub fn new(ctx: &DecodeContext) -> Self {
        ResponseDecoder {
            stream: ctx.streaming.then(SseParser::new),
            document: JsonBody::new(),
            passthrough: ctx.passthrough.is_some(),
            state: S::default(),
        }
    }

    fn take_events(
        &mut self,
        events: Vec<SseEvent>,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), AdapterError> {
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
            self.state.take_stream_event(&value, out)?;
        }
        Ok(())
    }
}

/// Whether a body collected as a document is really an event stream (it starts with a
/// field or a comment line, which no JSON document does).
fn looks_like_an_event_stream(bytes: &[u8]) -> bool {
    bytes.starts_with(b"data:") || bytes.starts_with(b"event:") || bytes.starts_with(b":")
}

impl<S: ResponseState> Decoder for ResponseDecoder<S> {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        let mut out = Vec::new();
        match &mut self.stream {
            Some(parser) => {
                let events = parser.push(chunk);
                self.take_events(events, &mut out)?;
            }
            None => self.document.push(chunk),
        }
        if self.passthrough {
            return Ok(vec![StreamEvent::Raw(chunk.to_vec())]);
        }
        Ok(out)
    }

    fn finish(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
        let mut out = Vec::new();
        match &mut self.stream {
            Some(parser) => {
                let events = parser.finish();
                self.take_events(events, &mut out)?;
            }
            None => {
                let bytes = self.document.bytes().trim_ascii_start().to_vec();
                if looks_like_an_event_stream(&bytes) {
                    // Streamed although nobody said so: read it as the stream it is.
                    let mut parser = SseParser::new();
                    let mut events = parser.push(&bytes);
                    events.extend(parser.finish());
                    self.take_events(events, &mut out)?;
                } else if !bytes.is_empty() {
                    let document = self.document.finish()?;
                    self.state.take_whole_document(document, &mut out)?;
                }
            }
        }
        let finish = self.state.end(&mut out);
        if self.passthrough {
            return Ok(vec![finish]);
        }
        out.push(finish);
        Ok(out)
    }
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
            event.data.contains("\"usage\"")
        }
        fn take_stream_event(
            &mut self,
            data: &Value,
            out: &mut Vec<StreamEvent>,
        ) -> Result<(), AdapterError> {
            if let Some(text) = data["say"].as_str() {
                out.push(StreamEvent::text_delta("t", text));
            }
            if let Some(tokens) = data["usage"].as_u64() {
                self.output_tokens = Some(tokens);
            }
            Ok(())
        }
        fn take_whole_document(
            &mut self,
            document: Value,
            out: &mut Vec<StreamEvent>,
        ) -> Result<(), AdapterError> {
            self.take_stream_event(&document, out)
        }
        fn end(&mut self, out: &mut Vec<StreamEvent>) -> StreamEvent {
            out.push(StreamEvent::TextEnd("t".into()));
            let usage = Usage {
                output_tokens: self.output_tokens,
                ..Usage::default()
            };
            StreamEvent::finish(FinishReason::Stop, None, usage)
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
            StreamEvent::text_delta("t", "hi"),
            StreamEvent::TextEnd("t".into()),
            finish(Some(3)),
        ]
    }

    #[test]
    fn a_stream_skips_comments_blanks_and_done_however_it_is_cut() {
        assert_every_split_decodes_to(
            || ResponseDecoder::<Echo>::new(&DecodeContext::ok(true)),
            STREAM,
            &said_hi(),
        );
    }

    #[test]
    fn a_document_is_read_at_the_end_and_an_unannounced_stream_as_a_stream() {
        let document = ResponseDecoder::<Echo>::new(&DecodeContext::ok(false));
        assert_eq!(
            decode_fed(document, &[b"{\"say\":", b"\"hi\"}"]),
            vec![
                StreamEvent::text_delta("t", "hi"),
                StreamEvent::TextEnd("t".into()),
                finish(None),
            ]
        );
        let unannounced = ResponseDecoder::<Echo>::new(&DecodeContext::ok(false));
        assert_eq!(decode_fed(unannounced, &[STREAM]), said_hi());
        let empty = ResponseDecoder::<Echo>::new(&DecodeContext::ok(false));
        assert_eq!(
            decode_fed(empty, &[]),
            vec![StreamEvent::TextEnd("t".into()), finish(None)]
        );
    }

    #[test]
    fn passthrough_forwards_every_byte_and_parses_only_accounting() {
        let mut ctx = DecodeContext::ok(true);
        ctx.passthrough = Some(Dialect::OpenaiChat);
        let stream = b"data: {\"say\": \"hi\"}\n\ndata: {\"usage\":5}\n\n";
        let events = decode_fed(
            ResponseDecoder::<Echo>::new(&ctx),
            &[&stream[..9], &stream[9..]],
        );
        let (forwarded, last) = forwarded_and_last(&events);
        assert_eq!(forwarded, stream);
        assert_eq!(last, &finish(Some(5)));
    }

    #[test]
    fn passthrough_still_refuses_an_event_that_is_not_json() {
        let mut ctx = DecodeContext::ok(true);
        ctx.passthrough = Some(Dialect::OpenaiChat);
        let mut decoder = ResponseDecoder::<Echo>::new(&ctx);
        assert!(decoder.push(b"data: {\"say\": \"hi\"}\n\n").is_ok());
        let error = decoder.push(b"data: {say: not json}\n\n").unwrap_err();
        assert_eq!(error.kind, ErrorKind::Upstream);
        assert!(error.message.contains("an echo event"), "{}", error.message);
    }

    #[test]
    fn garbage_is_an_upstream_error_naming_the_event() {
        let mut decoder = ResponseDecoder::<Echo>::new(&DecodeContext::ok(true));
        let error = decoder.push(b"data: {nope\n\n").unwrap_err();
        assert_eq!(error.kind, ErrorKind::Upstream);
        assert!(error.message.contains("an echo event"), "{}", error.message);
        let mut document = ResponseDecoder::<Echo>::new(&DecodeContext::ok(false));
        document.push(b"{nope").unwrap();
        assert_eq!(document.finish().unwrap_err().kind, ErrorKind::Upstream);
    }
}
