//! Test support for decoders, native targets only: the "feed the transcript whole,
//! split at every byte, one byte at a time, and compare the events" machinery every
//! provider's decoder tests need, written once.
//!
//! A decoder is fed arbitrary chunks by the host (network reads split anywhere, even
//! inside a UTF-8 character), so a transcript must decode to the same events however it
//! is cut. These helpers panic with the cut that broke, so they read as assertions:
//!
//! ```ignore
//! use plugboard_sdk::testing::assert_every_split_decodes_to;
//! assert_every_split_decodes_to(|| MyDecoder::new(DecodeMode::ok(true)), STREAM, &expected());
//! ```
//!
//! The conformance helpers check what every decoder owes the host, whatever its
//! upstream: [`assert_garbage_is_an_upstream_error`],
//! [`assert_error_frame_ends_the_stream`] and [`assert_passthrough_forwards_every_byte`].

use crate::provider::Decoder;
use crate::types::{ErrorKind, FinishReason, StreamEvent, UpstreamError};

/// Feed `pieces` to `decoder` in order, then finish it; the events of all calls, in
/// order. Panics if the decoder errs: a test that expects an error calls `push` itself.
pub fn decode_fed(mut decoder: impl Decoder, pieces: &[&[u8]]) -> Vec<StreamEvent> {
    let mut events = Vec::new();
    for piece in pieces {
        events.extend(decoder.push(piece).expect("the decoder refused a chunk"));
    }
    events.extend(decoder.finish().expect("the decoder refused to finish"));
    events
}

/// Cut `body` in two at every byte (the ends included, so whole as well) and assert
/// each fresh decoder from `new_decoder` gives exactly `expected`.
pub fn assert_every_split_decodes_to<D: Decoder>(
    new_decoder: impl Fn() -> D,
    body: &[u8],
    expected: &[StreamEvent],
) {
    for cut in 0..=body.len() {
        let (head, tail) = body.split_at(cut);
        assert_eq!(
            decode_fed(new_decoder(), &[head, tail]),
            expected,
            "cut at {cut}"
        );
    }
}

/// Feed `body` one byte at a time and assert the decoder gives exactly `expected`.
pub fn assert_byte_by_byte_decodes_to<D: Decoder>(
    new_decoder: impl Fn() -> D,
    body: &[u8],
    expected: &[StreamEvent],
) {
    let pieces: Vec<&[u8]> = body.chunks(1).collect();
    assert_eq!(decode_fed(new_decoder(), &pieces), expected);
}

/// Take passthrough output apart: the bytes forwarded as `raw` events, joined, and the
/// last event (the finish). Panics if the output is empty or anything but `raw` comes
/// before the last event: passthrough forwards bytes and adds only its accounting.
pub fn forwarded_and_last(events: &[StreamEvent]) -> (Vec<u8>, &StreamEvent) {
    let (last, forwarded) = events.split_last().expect("passthrough emitted nothing");
    let bytes = forwarded
        .iter()
        .flat_map(|event| match event {
            StreamEvent::Raw(bytes) => bytes.clone(),
            other => panic!("passthrough emitted {other:?}"),
        })
        .collect();
    (bytes, last)
}

/// Passthrough, cut in two at every byte (the ends included): each fresh decoder from
/// `new_decoder` must forward every byte of `body` unchanged as `raw` events and end
/// with exactly `finish` (the accounting it read on the way).
pub fn assert_passthrough_forwards_every_byte<D: Decoder>(
    new_decoder: impl Fn() -> D,
    body: &[u8],
    finish: &StreamEvent,
) {
    for cut in 0..=body.len() {
        let (head, tail) = body.split_at(cut);
        let events = decode_fed(new_decoder(), &[head, tail]);
        let (forwarded, last) = forwarded_and_last(&events);
        assert_eq!(forwarded, body, "cut at {cut}");
        assert_eq!(last, finish, "cut at {cut}");
    }
}

/// What feeding `pieces` then finishing gives: the events, or the first error.
fn decode_result(
    mut decoder: impl Decoder,
    pieces: &[&[u8]],
) -> Result<Vec<StreamEvent>, crate::types::AdapterError> {
    let mut events = Vec::new();
    for piece in pieces {
        events.extend(decoder.push(piece)?);
    }
    events.extend(decoder.finish()?);
    Ok(events)
}

/// Conformance: `garbage` (bytes that are not the upstream's format, e.g.
/// `data: {not json` for an SSE upstream), cut in two at every byte, must become an
/// upstream error: an `upstream` [`AdapterError`](crate::types::AdapterError) from
/// `push` or `finish`, or an `error` event; never silence (a plain finish).
pub fn assert_garbage_is_an_upstream_error<D: Decoder>(
    new_decoder: impl Fn() -> D,
    garbage: &[u8],
) {
    for cut in 0..=garbage.len() {
        let (head, tail) = garbage.split_at(cut);
        match decode_result(new_decoder(), &[head, tail]) {
            Err(error) => assert_eq!(error.kind, ErrorKind::Upstream, "cut at {cut}: {error:?}"),
            Ok(events) => assert!(
                events
                    .iter()
                    .any(|event| matches!(event, StreamEvent::Error(_))),
                "cut at {cut}: garbage decoded silently to {events:?}"
            ),
        }
    }
}

/// Conformance: `body` carries an upstream error frame mid-stream; cut in two at every
/// byte, it must decode to events holding `error(expected)` followed by exactly one
/// more event, the `finish` with reason `error`. Returns the events of the whole body.
pub fn assert_error_frame_ends_the_stream<D: Decoder>(
    new_decoder: impl Fn() -> D,
    body: &[u8],
    expected: &UpstreamError,
) -> Vec<StreamEvent> {
    for cut in 0..=body.len() {
        let (head, tail) = body.split_at(cut);
        let events = decode_fed(new_decoder(), &[head, tail]);
        let error = StreamEvent::Error(expected.clone());
        let at = events
            .iter()
            .position(|event| *event == error)
            .unwrap_or_else(|| panic!("cut at {cut}: no {error:?} in {events:?}"));
        match &events[at + 1..] {
            [StreamEvent::Finish(finish)] => {
                assert_eq!(finish.reason, FinishReason::Error, "cut at {cut}")
            }
            rest => panic!("cut at {cut}: after the error came {rest:?}, not one error finish"),
        }
    }
    decode_fed(new_decoder(), &[body])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::*;

    /// Splits its input into lines; `finish` flushes an unended last line. Errs on `!`.
    #[derive(Default)]
    struct Lines(Vec<u8>);

    impl Decoder for Lines {
        fn push(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
            if chunk.contains(&b'!') {
                return Err(AdapterError::upstream("bang"));
            }
            self.0.extend_from_slice(chunk);
            let mut events = Vec::new();
            while let Some(end) = self.0.iter().position(|byte| *byte == b'\n') {
                let line: Vec<u8> = self.0.drain(..=end).collect();
                events.push(StreamEvent::Raw(line[..end].to_vec()));
            }
            Ok(events)
        }
        fn finish(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
            let mut events = Vec::new();
            if !self.0.is_empty() {
                events.push(StreamEvent::Raw(std::mem::take(&mut self.0)));
            }
            events.push(StreamEvent::finish(
                FinishReason::Stop,
                None,
                Usage::default(),
            ));
            Ok(events)
        }
    }

    fn expected() -> Vec<StreamEvent> {
        vec![
            StreamEvent::Raw(b"one".to_vec()),
            StreamEvent::Raw(b"two".to_vec()),
            StreamEvent::finish(FinishReason::Stop, None, Usage::default()),
        ]
    }

    #[test]
    fn a_decoder_that_buffers_correctly_passes_every_split_and_byte_by_byte() {
        assert_eq!(
            decode_fed(Lines::default(), &[b"one\ntw", b"o"]),
            expected()
        );
        assert_every_split_decodes_to(Lines::default, b"one\ntwo", &expected());
        assert_byte_by_byte_decodes_to(Lines::default, b"one\ntwo", &expected());
    }

    /// Forgets a partial line at every chunk end: fine whole, wrong once cut.
    #[derive(Default)]
    struct Forgetful(Lines);

    impl Decoder for Forgetful {
        fn push(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
            let events = self.0.push(chunk)?;
            self.0.0.clear();
            Ok(events)
        }
        fn finish(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
            self.0.finish()
        }
    }

    #[test]
    #[should_panic(expected = "cut at 1")]
    fn a_decoder_that_drops_a_cut_line_fails_at_the_first_cut_that_shows_it() {
        assert_every_split_decodes_to(Forgetful::default, b"one\ntwo\n", &expected());
    }

    #[test]
    #[should_panic(expected = "refused a chunk")]
    fn a_decoder_error_is_a_test_failure() {
        decode_fed(Lines::default(), &[b"one!"]);
    }

    #[test]
    fn passthrough_output_comes_apart_into_the_forwarded_bytes_and_the_finish() {
        let events = decode_fed(Lines::default(), &[b"one\ntwo\n"]);
        let (forwarded, last) = forwarded_and_last(&events);
        assert_eq!(forwarded, b"onetwo");
        assert_eq!(
            last,
            &StreamEvent::finish(FinishReason::Stop, None, Usage::default())
        );
    }

    #[test]
    fn a_forwarding_decoder_passes_at_every_cut() {
        /// Forwards each chunk as `raw` and finishes with a fixed event.
        struct Forward;
        impl Decoder for Forward {
            fn push(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
                Ok(vec![StreamEvent::Raw(chunk.to_vec())])
            }
            fn finish(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
                Ok(vec![StreamEvent::finish(
                    FinishReason::Stop,
                    None,
                    Usage::default(),
                )])
            }
        }
        let finish = StreamEvent::finish(FinishReason::Stop, None, Usage::default());
        assert_passthrough_forwards_every_byte(|| Forward, b"data: x\n\n", &finish);
    }

    #[test]
    #[should_panic(expected = "cut at 0")]
    fn a_decoder_that_parses_instead_of_forwarding_fails_passthrough() {
        let finish = StreamEvent::finish(FinishReason::Stop, None, Usage::default());
        assert_passthrough_forwards_every_byte(Lines::default, b"one\n", &finish);
    }

    #[test]
    #[should_panic(expected = "passthrough emitted")]
    fn anything_but_raw_before_the_finish_is_a_test_failure() {
        forwarded_and_last(&[
            StreamEvent::TextStart("t".into()),
            StreamEvent::finish(FinishReason::Stop, None, Usage::default()),
        ]);
    }

    /// An SSE-ish toy on the SDK's own decoder: `{"say"}` is text, `{"error"}` an
    /// overload frame.
    #[derive(Default)]
    struct Toy;
    impl crate::response_decoder::ResponseState for Toy {
        const STREAM_EVENT: &'static str = "a toy event";
        fn matters_for_accounting(_: &crate::sse::SseEvent) -> bool {
            false
        }
        fn take_stream_event(
            &mut self,
            data: &serde_json::Value,
            out: &mut crate::events::EventWriter,
        ) -> Result<(), AdapterError> {
            if let Some(message) = data["error"].as_str() {
                out.error(UpstreamError::new(ErrorClass::Overloaded(None), message));
            }
            out.text(data["say"].as_str().unwrap_or(""));
            Ok(())
        }
        fn end(&mut self, out: &mut crate::events::EventWriter) {
            out.finish(Finish::new(FinishReason::Stop, None, Usage::default()));
        }
    }

    fn toy() -> crate::response_decoder::ResponseDecoder<Toy> {
        crate::response_decoder::ResponseDecoder::new(crate::response_decoder::DecodeMode::ok(true))
    }

    #[test]
    fn the_conformance_helpers_pass_a_decoder_that_keeps_the_rules() {
        assert_garbage_is_an_upstream_error(toy, b"data: {not json\n\n");
        let events = assert_error_frame_ends_the_stream(
            toy,
            b"data: {\"say\":\"par\"}\n\ndata: {\"error\":\"busy\"}\n\n",
            &UpstreamError::new(ErrorClass::Overloaded(None), "busy"),
        );
        assert_eq!(events.len(), 5);
    }

    #[test]
    #[should_panic(expected = "decoded silently")]
    fn a_decoder_that_swallows_garbage_fails_conformance() {
        assert_garbage_is_an_upstream_error(Lines::default, b"junk");
    }

    #[test]
    #[should_panic(expected = "no StreamEvent::Error")]
    fn a_decoder_that_drops_an_error_frame_fails_conformance() {
        assert_error_frame_ends_the_stream(
            Lines::default,
            b"x\n",
            &UpstreamError::new(ErrorClass::Other, "x"),
        );
    }
}
