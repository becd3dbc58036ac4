//! AWS event-stream binary framing (`application/vnd.amazon.eventstream`), what Kiro
//! and Amazon Q answer with.
//!
//! A message is a 12-byte prelude (total length, headers length, CRC-32 of those 8
//! bytes, all big-endian), typed headers, a payload, and a CRC-32 of everything before
//! it. Decoding is AWS's own `aws-smithy-eventstream` (`frame::read_message_from`): it
//! checks both CRCs, the lengths and every header's encoding. Version 0.61 is pure Rust
//! (its dependencies are `aws-smithy-types`, `bytes`, `crc32fast` and small `http`,
//! `http-body`, `time` and `base64-simd` crates: no async runtime, no I/O, no build
//! script or C code), builds for `wasm32-wasip2` in the dev and `adapter` profiles, and
//! costs nothing in a component that does not use it (the adapters' sizes moved by
//! under 10 bytes when it was added). Its own streaming
//! `MessageFrameDecoder` waits for however many bytes the prelude claims and checks the
//! prelude CRC only then; this reader checks that CRC (with `crc32fast`, which the crate
//! already uses) and the [`MAX_FRAME_BYTES`] cap as soon as the 12 prelude bytes are
//! there, so a corrupt or absurd length is an error at once instead of a wait for bytes
//! that never come, and buffers the rest itself.

use std::collections::BTreeMap;

use aws_smithy_eventstream::frame::read_message_from;

use super::{FrameReader, MAX_FRAME_BYTES, too_big};
use crate::types::AdapterError;

/// Bytes of the prelude: total length, headers length, prelude CRC.
const PRELUDE_BYTES: usize = 12;
/// The smallest message: a prelude and the message CRC, no headers, no payload.
const MIN_MESSAGE_BYTES: usize = PRELUDE_BYTES + 4;

/// One decoded event-stream message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventStreamFrame {
    /// The string-typed headers, by name (`:message-type`, `:event-type`,
    /// `:content-type`, `:exception-type`, `:error-code`, `:error-message`). Headers of
    /// other types (booleans, integers, timestamps, UUIDs, byte arrays) are left out:
    /// no upstream this SDK serves puts meaning in them.
    pub headers: BTreeMap<String, String>,
    /// The payload bytes (JSON for Kiro: the bare event object).
    pub payload: Vec<u8>,
}

impl EventStreamFrame {
    /// A string header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// `:message-type`: `event`, `exception` or `error`.
    pub fn message_type(&self) -> Option<&str> {
        self.header(":message-type")
    }

    /// `:event-type`, e.g. `assistantResponseEvent` (the event's only name: the payload
    /// is the bare object).
    pub fn event_type(&self) -> Option<&str> {
        self.header(":event-type")
    }

    /// `:exception-type` of an exception frame, e.g. `ThrottlingException`.
    pub fn exception_type(&self) -> Option<&str> {
        self.header(":exception-type")
    }

    /// Whether the upstream reports a failure in this frame (`:message-type` is
    /// `exception` or `error`) rather than an event: the adapter classifies it, by
    /// [`exception_type`](Self::exception_type) or the `:error-code` header.
    pub fn is_failure(&self) -> bool {
        matches!(self.message_type(), Some("exception" | "error"))
    }
}

/// An incremental AWS event-stream reader, fed chunks split anywhere.
///
/// Errors, all `upstream`: a prelude CRC mismatch (reported as soon as the prelude is
/// in), a total length under 16 bytes or over [`MAX_FRAME_BYTES`], a message CRC
/// mismatch or malformed headers (reported when the whole message is in), and a body
/// that ends inside a message (at finish). Each names the message's number and byte
/// offset in the body.
#[derive(Debug, Default)]
pub struct EventStreamReader {
    /// Bytes not yet decoded: the start of the next message.
    buffer: Vec<u8>,
    /// Bytes of the body before `buffer`.
    offset: usize,
    /// Messages decoded so far.
    messages: usize,
    /// The total length of the message in `buffer`, once its prelude checked out.
    pending: Option<usize>,
}

impl EventStreamReader {
    /// A reader at the start of a body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed the next chunk; the messages it completes, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<EventStreamFrame>, AdapterError> {
        self.buffer.extend_from_slice(chunk);
        let mut frames = Vec::new();
        let mut start = 0;
        loop {
            let available = self.buffer.len() - start;
            let total = match self.pending {
                Some(total) => total,
                None if available < PRELUDE_BYTES => break,
                None => {
                    let total = self.check_prelude(&self.buffer[start..], self.offset + start)?;
                    self.pending = Some(total);
                    total
                }
            };
            if available < total {
                break;
            }
            let message =
                read_message_from(&self.buffer[start..start + total]).map_err(|error| {
                    self.error(self.offset + start, format_args!("is invalid: {error}"))
                })?;
            frames.push(EventStreamFrame {
                headers: message
                    .headers()
                    .iter()
                    .filter_map(|header| {
                        let value = header.value().as_string().ok()?;
                        Some((
                            header.name().as_str().to_string(),
                            value.as_str().to_string(),
                        ))
                    })
                    .collect(),
                payload: message.payload().to_vec(),
            });
            self.messages += 1;
            self.pending = None;
            start += total;
        }
        self.buffer.drain(..start);
        self.offset += start;
        Ok(frames)
    }

    /// The body ended: an error if it ended inside a message.
    pub fn finish(&mut self) -> Result<Vec<EventStreamFrame>, AdapterError> {
        if self.buffer.is_empty() {
            return Ok(Vec::new());
        }
        let have = self.buffer.len();
        let claimed = match self.pending {
            Some(total) => format!("of its {total}"),
            None => format!("of its {PRELUDE_BYTES}-byte prelude"),
        };
        Err(self.error(
            self.offset,
            format_args!("was truncated: the body ended after {have} byte(s) {claimed}"),
        ))
    }

    /// Check a prelude (its CRC, then its total length); the total length.
    fn check_prelude(&self, bytes: &[u8], offset: usize) -> Result<usize, AdapterError> {
        let word = |at: usize| {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let (total, claimed_crc) = (word(0) as usize, word(8));
        let crc = crc32fast::hash(&bytes[..8]);
        if crc != claimed_crc {
            return Err(self.error(
                offset,
                format_args!(
                    "has a bad prelude CRC: the prelude says 0x{claimed_crc:08X}, its bytes \
                     hash to 0x{crc:08X}"
                ),
            ));
        }
        if total < MIN_MESSAGE_BYTES {
            return Err(self.error(
                offset,
                format_args!(
                    "claims a total length of {total} bytes, less than the \
                     {MIN_MESSAGE_BYTES}-byte minimum"
                ),
            ));
        }
        if total > MAX_FRAME_BYTES {
            let what = format!(
                "AWS event-stream message {} (at byte {offset})",
                self.messages + 1
            );
            return Err(too_big(&what, total));
        }
        Ok(total)
    }

    /// An upstream error about the message starting at `offset`.
    fn error(&self, offset: usize, what: std::fmt::Arguments<'_>) -> AdapterError {
        AdapterError::upstream(format!(
            "AWS event-stream message {} (at byte {offset}) {what}",
            self.messages + 1
        ))
    }
}

impl FrameReader for EventStreamReader {
    type Frame = EventStreamFrame;
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<EventStreamFrame>, AdapterError> {
        EventStreamReader::push(self, chunk)
    }
    fn finish(&mut self) -> Result<Vec<EventStreamFrame>, AdapterError> {
        EventStreamReader::finish(self)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::types::ErrorKind;

    /// One message built by hand from the documented byte layout, with correct CRCs:
    /// string headers (type 7) plus one boolean header, which frames leave out.
    fn message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
        let mut block = Vec::new();
        for (name, value) in headers {
            block.push(name.len() as u8);
            block.extend_from_slice(name.as_bytes());
            block.push(7);
            block.extend_from_slice(&(value.len() as u16).to_be_bytes());
            block.extend_from_slice(value.as_bytes());
        }
        block.extend_from_slice(&[5, b'f', b'l', b'a', b'g', b's', 0]);
        let total = 12 + block.len() + payload.len() + 4;
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(total as u32).to_be_bytes());
        bytes.extend_from_slice(&(block.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&crc32fast::hash(&bytes).to_be_bytes());
        bytes.extend_from_slice(&block);
        bytes.extend_from_slice(payload);
        bytes.extend_from_slice(&crc32fast::hash(&bytes).to_be_bytes());
        bytes
    }

    fn event(event_type: &str, payload: &str) -> Vec<u8> {
        message(
            &[
                (":message-type", "event"),
                (":event-type", event_type),
                (":content-type", "application/json"),
            ],
            payload.as_bytes(),
        )
    }

    fn frame(headers: &[(&str, &str)], payload: &str) -> EventStreamFrame {
        EventStreamFrame {
            headers: headers
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
            payload: payload.as_bytes().to_vec(),
        }
    }

    fn event_frame(event_type: &str, payload: &str) -> EventStreamFrame {
        frame(
            &[
                (":message-type", "event"),
                (":event-type", event_type),
                (":content-type", "application/json"),
            ],
            payload,
        )
    }

    /// A Kiro-like answer: text deltas, a tool-use fragment, metering.
    fn stream() -> (Vec<u8>, Vec<EventStreamFrame>) {
        let events = [
            ("assistantResponseEvent", r#"{"content":"héllo ✓ 😀"}"#),
            (
                "toolUseEvent",
                r#"{"toolUseId":"t1","name":"ls","input":"{\"a\"","stop":false}"#,
            ),
            (
                "meteringEvent",
                r#"{"unit":"credit","unitPlural":"credits","usage":0.17}"#,
            ),
        ];
        let bytes = events
            .iter()
            .flat_map(|(name, payload)| event(name, payload))
            .collect();
        let frames = events
            .iter()
            .map(|(name, payload)| event_frame(name, payload))
            .collect();
        (bytes, frames)
    }

    #[test]
    fn the_test_encoder_matches_the_documented_crc() {
        // CRC-32/ISO-HDLC, the check value the layout notes quote.
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn every_split_of_a_multi_message_stream_reads_the_same_frames() {
        let (bytes, frames) = stream();
        assert_every_split_reads_to(EventStreamReader::new, &bytes, &frames);
    }

    #[test]
    fn an_exception_message_is_a_frame_the_adapter_can_classify() {
        let mut bytes = event("assistantResponseEvent", r#"{"content":"hi"}"#);
        bytes.extend(message(
            &[
                (":message-type", "exception"),
                (":exception-type", "ThrottlingException"),
                (":content-type", "application/json"),
            ],
            br#"{"message":"Too many requests"}"#,
        ));
        let frames = read_fed(EventStreamReader::new(), &[&bytes]).unwrap();
        assert_eq!(frames.len(), 2);
        assert!(!frames[0].is_failure());
        assert_eq!(frames[0].event_type(), Some("assistantResponseEvent"));
        let exception = &frames[1];
        assert!(exception.is_failure());
        assert_eq!(exception.message_type(), Some("exception"));
        assert_eq!(exception.exception_type(), Some("ThrottlingException"));
        assert_eq!(exception.payload, br#"{"message":"Too many requests"}"#);
        assert_eq!(
            exception.header("flags"),
            None,
            "non-string headers are left out"
        );
    }

    #[test]
    fn a_flipped_byte_in_the_prelude_is_a_prelude_crc_error_as_soon_as_the_prelude_is_in() {
        let (mut bytes, _) = stream();
        let second = event("assistantResponseEvent", r#"{"content":"héllo ✓ 😀"}"#).len();
        bytes[second + 5] ^= 0x01;
        let message = error_at_every_split(EventStreamReader::new, &bytes);
        assert!(
            message.starts_with(&format!(
                "AWS event-stream message 2 (at byte {second}) has a bad prelude CRC"
            )),
            "{message}"
        );
        let mut reader = EventStreamReader::new();
        let error = reader.push(&bytes[..second + 12]).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Upstream);
    }

    #[test]
    fn a_flipped_byte_in_the_payload_is_a_message_crc_error() {
        let (mut bytes, _) = stream();
        let first = event("assistantResponseEvent", r#"{"content":"héllo ✓ 😀"}"#).len();
        bytes[first - 6] ^= 0x20;
        let message = error_at_every_split(EventStreamReader::new, &bytes);
        assert!(
            message
                .starts_with("AWS event-stream message 1 (at byte 0) is invalid: message checksum"),
            "{message}"
        );
    }

    #[test]
    fn a_truncated_message_is_an_upstream_error_at_finish() {
        let (bytes, frames) = stream();
        let cut = &bytes[..bytes.len() - 3];
        let message = error_at_every_split(EventStreamReader::new, cut);
        assert!(
            message.starts_with("AWS event-stream message 3 (at byte"),
            "{message}"
        );
        assert!(message.contains("was truncated"), "{message}");
        // The complete messages before it were returned.
        let mut reader = EventStreamReader::new();
        assert_eq!(reader.push(cut).unwrap(), frames[..2]);
        assert_eq!(reader.finish().unwrap_err().kind, ErrorKind::Upstream);
        let message = error_at_every_split(EventStreamReader::new, &bytes[..5]);
        assert!(message.contains("of its 12-byte prelude"), "{message}");
    }

    #[test]
    fn an_absurd_total_length_is_refused_before_buffering_it() {
        let mut prelude = Vec::new();
        prelude.extend_from_slice(&(MAX_FRAME_BYTES as u32 + 1).to_be_bytes());
        prelude.extend_from_slice(&0u32.to_be_bytes());
        prelude.extend_from_slice(&crc32fast::hash(&prelude).to_be_bytes());
        let error = EventStreamReader::new().push(&prelude).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Upstream);
        assert!(
            error.message.contains("more than the 16777216-byte cap"),
            "{}",
            error.message
        );

        let mut tiny = Vec::new();
        tiny.extend_from_slice(&8u32.to_be_bytes());
        tiny.extend_from_slice(&0u32.to_be_bytes());
        tiny.extend_from_slice(&crc32fast::hash(&tiny).to_be_bytes());
        let message = error_at_every_split(EventStreamReader::new, &tiny);
        assert!(
            message.contains("less than the 16-byte minimum"),
            "{message}"
        );
    }
}
