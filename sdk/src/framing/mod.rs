//! Framing: how an upstream's response body splits into messages, one reader per
//! wire format, each fed arbitrary chunks and never re-reading what it already read.
//!
//! | wire format | reader | frame |
//! |---|---|---|
//! | server-sent events (`text/event-stream`) | [`SseParser`] | [`SseEvent`] |
//! | one JSON document | [`JsonBody`] | one `Value` at finish |
//! | a streamed JSON array (Gemini's `:streamGenerateContent` without `alt=sse`) | [`JsonArrayReader`] | each element as a `Value` |
//! | NDJSON, one JSON value per line | [`NdjsonReader`] | each line as a `Value` |
//! | AWS event-stream (`application/vnd.amazon.eventstream`, Kiro, Amazon Q) | [`EventStreamReader`] | [`EventStreamFrame`] |
//!
//! Every reader has the same shape as [`SseParser`]: `push(chunk)` returns the frames
//! that chunk completes, in order, and `finish()` the ones the end of the body completes. The three readers here can meet malformed input, so theirs return
//! `Result`; every error is an `upstream` [`AdapterError`] saying what was wrong and
//! where. After an error the reader's state is unspecified: stop feeding it.
//! [`FrameReader`] is that shape as a trait (the SSE parser and the JSON collector
//! implement it too), for a decoder that picks its framing at run time.
//!
//! No reader buffers more than [`MAX_FRAME_BYTES`] for one frame: a body that claims or
//! builds a bigger one is an error, not an allocation.

mod event_stream;
mod json_array;
mod ndjson;

pub use event_stream::{EventStreamFrame, EventStreamReader};
pub use json_array::JsonArrayReader;
pub use ndjson::NdjsonReader;

use crate::json::JsonBody;
use crate::sse::{SseEvent, SseParser};
use crate::types::AdapterError;
use serde_json::Value;

/// The most bytes one frame (an array element, an NDJSON line, an event-stream
/// message) may take: 16 MiB, the cap the event-stream decoders of other Kiro clients
/// use. Generation events are a few hundred bytes; anything near this is a broken or
/// hostile upstream.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// An incremental reader of one wire format: fed chunks split anywhere, it returns each
/// frame once, as soon as the frame is complete.
pub trait FrameReader {
    /// What one complete frame reads as.
    type Frame;
    /// Feed the next chunk; the frames it completes, in order.
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<Self::Frame>, AdapterError>;
    /// The body ended: the frames its end completes, or an error if it ended mid-frame.
    fn finish(&mut self) -> Result<Vec<Self::Frame>, AdapterError>;
}

impl FrameReader for SseParser {
    type Frame = SseEvent;
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, AdapterError> {
        Ok(SseParser::push(self, chunk))
    }
    fn finish(&mut self) -> Result<Vec<SseEvent>, AdapterError> {
        Ok(SseParser::finish(self))
    }
}

/// The whole body is one frame, parsed at finish.
impl FrameReader for JsonBody {
    type Frame = Value;
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<Value>, AdapterError> {
        JsonBody::push(self, chunk);
        Ok(Vec::new())
    }
    fn finish(&mut self) -> Result<Vec<Value>, AdapterError> {
        JsonBody::finish(self).map(|value| vec![value])
    }
}

/// The upstream error for a frame bigger than [`MAX_FRAME_BYTES`]; `what` names it.
fn too_big(what: &str, bytes: usize) -> AdapterError {
    AdapterError::upstream(format!(
        "{what} is {bytes} bytes, more than the {MAX_FRAME_BYTES}-byte cap on one frame"
    ))
}

/// Split-everywhere assertions for the readers, the framing counterpart of
/// [`crate::testing`]'s decoder helpers.
#[cfg(test)]
pub(crate) mod test_support {
    use super::FrameReader;
    use crate::types::AdapterError;

    /// Feed `pieces` in order, then finish; every frame, or the first error.
    pub fn read_fed<R: FrameReader>(
        mut reader: R,
        pieces: &[&[u8]],
    ) -> Result<Vec<R::Frame>, AdapterError> {
        let mut frames = Vec::new();
        for piece in pieces {
            frames.extend(reader.push(piece)?);
        }
        frames.extend(reader.finish()?);
        Ok(frames)
    }

    /// Cut `body` in two at every byte (whole included) and one byte at a time: each
    /// fresh reader must give exactly `expected`.
    pub fn assert_every_split_reads_to<R: FrameReader>(
        new_reader: impl Fn() -> R,
        body: &[u8],
        expected: &[R::Frame],
    ) where
        R::Frame: PartialEq + std::fmt::Debug,
    {
        for cut in 0..=body.len() {
            let (head, tail) = body.split_at(cut);
            let frames = read_fed(new_reader(), &[head, tail])
                .unwrap_or_else(|error| panic!("cut at {cut}: {error:?}"));
            assert_eq!(frames, expected, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        let frames = read_fed(new_reader(), &bytes).expect("byte by byte");
        assert_eq!(frames, expected, "byte by byte");
    }

    /// The error `body` gives however it is cut in two: the same message at every cut.
    pub fn error_at_every_split<R: FrameReader>(new_reader: impl Fn() -> R, body: &[u8]) -> String
    where
        R::Frame: std::fmt::Debug,
    {
        let whole = read_fed(new_reader(), &[body])
            .expect_err("the whole body should be refused")
            .message;
        for cut in 0..=body.len() {
            let (head, tail) = body.split_at(cut);
            let error = read_fed(new_reader(), &[head, tail])
                .expect_err("a cut body should be refused")
                .message;
            assert_eq!(error, whole, "cut at {cut}");
        }
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn the_sse_parser_and_the_json_collector_read_through_the_same_trait() {
        let events = read_fed(SseParser::new(), &[b"data: a\n\nda", b"ta: b\n\n"]).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].data, "b");
        assert_eq!(
            read_fed(JsonBody::new(), &[b"{\"a\":", b"1}"]).unwrap(),
            vec![json!({"a": 1})]
        );
    }
}
