//! A streamed JSON array: `[{...}\n,\r\n{...}\n]`, each element returned as soon as it
//! closes (Gemini's `:streamGenerateContent` without `alt=sse`).

use serde_json::Value;

use super::{FrameReader, MAX_FRAME_BYTES, too_big};
use crate::json::parse_upstream_json;
use crate::types::AdapterError;

/// Where the reader is in the array's grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// Before the opening `[`.
    #[default]
    BeforeArray,
    /// Just after `[`: an element or `]`.
    FirstElement,
    /// After a `,`: an element must follow.
    NextElement,
    /// Inside an object, array or string element (depth and string state say where).
    Nested,
    /// Inside a bare scalar element (`true`, `12.5`): it ends at whitespace, `,` or `]`.
    Scalar,
    /// After an element: `,` or `]`.
    AfterElement,
    /// After the closing `]`: only whitespace may follow.
    Done,
}

/// An incremental reader of one top-level JSON array, fed chunks split anywhere.
///
/// It scans each byte once, tracking string, escape and nesting state, and buffers only
/// the element being read, which it parses once it closes: a long stream costs no
/// re-parsing of what came before. Whitespace (including `\r\n`) may sit anywhere
/// between tokens. Anything else between elements, after the closing `]`, or before the
/// opening `[` is an `upstream` error naming the byte offset, and so is a body that ends
/// before its `]`.
#[derive(Debug, Default)]
pub struct JsonArrayReader {
    state: State,
    /// The bytes of the element being read.
    element: Vec<u8>,
    /// Open `{`/`[` inside the element being read.
    depth: usize,
    /// Inside a string of the element being read.
    in_string: bool,
    /// The previous byte was a backslash inside that string.
    escaped: bool,
    /// Bytes read before the current chunk (for error offsets).
    offset: usize,
    /// Elements returned so far.
    elements: usize,
}

impl JsonArrayReader {
    /// A reader at the start of a body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed the next chunk; the elements it completes, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Value>, AdapterError> {
        let mut values = Vec::new();
        let mut at = 0;
        while at < chunk.len() {
            match self.state {
                State::Nested => {
                    // Copy the run up to the element's end (or the chunk's) in one go.
                    let end = self.scan_nested(&chunk[at..]);
                    self.keep(&chunk[at..at + end.unwrap_or(chunk.len() - at)])?;
                    match end {
                        Some(length) => {
                            at += length;
                            values.push(self.take_element()?);
                        }
                        None => at = chunk.len(),
                    }
                }
                State::Scalar => {
                    let rest = &chunk[at..];
                    match rest.iter().position(|&byte| ends_scalar(byte)) {
                        Some(length) => {
                            self.keep(&rest[..length])?;
                            at += length;
                            values.push(self.take_element()?);
                        }
                        None => {
                            self.keep(rest)?;
                            at = chunk.len();
                        }
                    }
                }
                _ => {
                    self.between(chunk[at], self.offset + at)?;
                    at += 1;
                }
            }
        }
        self.offset += chunk.len();
        Ok(values)
    }

    /// The body ended: nothing is left to return, and an error unless the array closed.
    pub fn finish(&mut self) -> Result<Vec<Value>, AdapterError> {
        match self.state {
            State::Done => Ok(Vec::new()),
            State::BeforeArray => Err(AdapterError::upstream(
                "the upstream response body ended before its JSON array began",
            )),
            _ => Err(AdapterError::upstream(format!(
                "the upstream JSON array was truncated: the body ended after {} complete \
                 element(s), before the closing ']'",
                self.elements
            ))),
        }
    }

    /// One byte outside any element: whitespace, punctuation, or an element's first byte.
    fn between(&mut self, byte: u8, offset: usize) -> Result<(), AdapterError> {
        if byte.is_ascii_whitespace() {
            return Ok(());
        }
        self.state = match (self.state, byte) {
            (State::BeforeArray, b'[') => State::FirstElement,
            (State::FirstElement, b']') | (State::AfterElement, b']') => State::Done,
            (State::AfterElement, b',') => State::NextElement,
            (State::FirstElement | State::NextElement, b'{' | b'[' | b'"') => {
                self.element.push(byte);
                self.in_string = byte == b'"';
                self.depth = usize::from(byte != b'"');
                State::Nested
            }
            (State::FirstElement | State::NextElement, b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
                self.element.push(byte);
                State::Scalar
            }
            (state, byte) => return Err(self.unexpected(state, byte, offset)),
        };
        Ok(())
    }

    /// Scan an object, array or string element; the length of `bytes` up to and
    /// including the byte that closes it, or `None` if it is still open at the end.
    fn scan_nested(&mut self, bytes: &[u8]) -> Option<usize> {
        for (index, &byte) in bytes.iter().enumerate() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if byte == b'\\' {
                    self.escaped = true;
                } else if byte == b'"' {
                    self.in_string = false;
                    if self.depth == 0 {
                        return Some(index + 1);
                    }
                }
                continue;
            }
            match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return Some(index + 1);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Add bytes to the element being read, within the frame cap.
    fn keep(&mut self, bytes: &[u8]) -> Result<(), AdapterError> {
        if self.element.len() + bytes.len() > MAX_FRAME_BYTES {
            let what = format!("JSON array element {}", self.elements + 1);
            return Err(too_big(&what, self.element.len() + bytes.len()));
        }
        self.element.extend_from_slice(bytes);
        Ok(())
    }

    /// Parse the element just closed and move past it.
    fn take_element(&mut self) -> Result<Value, AdapterError> {
        let bytes = std::mem::take(&mut self.element);
        self.state = State::AfterElement;
        self.elements += 1;
        parse_upstream_json(
            &bytes,
            &format!("element {} of the upstream JSON array", self.elements),
        )
    }

    /// The error for `byte` where the grammar allows no such byte.
    fn unexpected(&self, state: State, byte: u8, offset: usize) -> AdapterError {
        let expected = match state {
            State::BeforeArray => "the opening '['",
            State::FirstElement => "an element or ']'",
            State::NextElement => "an element after ','",
            State::AfterElement => "',' or ']'",
            State::Done => "nothing after the closing ']'",
            State::Nested | State::Scalar => "more of the element",
        };
        AdapterError::upstream(format!(
            "the upstream JSON array has {} at byte {offset} (after {} element(s)) where it \
             should have {expected}",
            describe(byte),
            self.elements
        ))
    }
}

impl FrameReader for JsonArrayReader {
    type Frame = Value;
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<Value>, AdapterError> {
        JsonArrayReader::push(self, chunk)
    }
    fn finish(&mut self) -> Result<Vec<Value>, AdapterError> {
        JsonArrayReader::finish(self)
    }
}

/// Whether `byte` ends a bare scalar element.
fn ends_scalar(byte: u8) -> bool {
    byte.is_ascii_whitespace() || byte == b',' || byte == b']'
}

/// A byte as an error message shows it: printable ASCII quoted, anything else in hex.
fn describe(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("'{}'", byte as char)
    } else {
        format!("byte 0x{byte:02X}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::types::ErrorKind;
    use serde_json::json;

    /// Gemini's layout (`\n,\r\n` between elements), with strings holding every
    /// character the scanner must not mistake for structure.
    const ARRAY: &str = "[{\"candidates\": [{\"text\": \"a ] } [ { , \\\" \\\\\"}]}\n,\r\n{\"text\": \"héllo ✓ 😀\", \"n\": [1, [2]]}\n,\r\n\"a string\" , 12.5,true,null\n]\n";

    fn expected() -> Vec<Value> {
        vec![
            json!({"candidates": [{"text": "a ] } [ { , \" \\"}]}),
            json!({"text": "héllo ✓ 😀", "n": [1, [2]]}),
            json!("a string"),
            json!(12.5),
            json!(true),
            json!(null),
        ]
    }

    #[test]
    fn every_split_of_a_streamed_array_reads_the_same_elements() {
        assert_every_split_reads_to(JsonArrayReader::new, ARRAY.as_bytes(), &expected());
    }

    #[test]
    fn each_element_is_returned_by_the_chunk_that_closes_it() {
        let mut reader = JsonArrayReader::new();
        assert_eq!(reader.push(b"[{\"a\":1}").unwrap(), vec![json!({"a": 1})]);
        assert!(reader.push(b"\n,{\"b\":").unwrap().is_empty());
        assert_eq!(reader.push(b"2}").unwrap(), vec![json!({"b": 2})]);
        assert!(reader.push(b"]").unwrap().is_empty());
        assert!(reader.finish().unwrap().is_empty());
    }

    #[test]
    fn an_empty_array_reads_as_no_elements() {
        assert!(
            read_fed(JsonArrayReader::new(), &[b" [ \r\n] "])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn garbage_between_elements_is_an_upstream_error_naming_the_offset() {
        let error = read_fed(JsonArrayReader::new(), &[b"[{\"a\":1}\nx,{\"b\":2}]"]).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Upstream);
        assert_eq!(
            error.message,
            "the upstream JSON array has 'x' at byte 9 (after 1 element(s)) where it should \
             have ',' or ']'"
        );
        let message = error_at_every_split(JsonArrayReader::new, b"[{\"a\":1}\nx,{\"b\":2}]");
        assert_eq!(message, error.message);
    }

    #[test]
    fn a_body_that_is_not_an_array_or_goes_on_after_it_is_refused() {
        let error = error_at_every_split(JsonArrayReader::new, b"{\"error\": 1}");
        assert!(
            error.contains("where it should have the opening '['"),
            "{error}"
        );
        let error = error_at_every_split(JsonArrayReader::new, b"[1] [2]");
        assert!(error.contains("'[' at byte 4"), "{error}");
        let error = error_at_every_split(JsonArrayReader::new, b"[1,]");
        assert!(error.contains("an element after ','"), "{error}");
    }

    #[test]
    fn a_truncated_array_is_an_upstream_error_at_finish() {
        for body in [
            &b"[{\"a\":1},{\"b\":"[..],
            b"[{\"a\":1}\n",
            b"[{\"a\":1},",
            b"[12",
        ] {
            let error = error_at_every_split(JsonArrayReader::new, body);
            assert!(error.contains("was truncated"), "{error}");
        }
        let error = read_fed(JsonArrayReader::new(), &[b"[{\"a\":1},{\"b\":"]).unwrap_err();
        assert!(error.message.contains("after 1 complete element(s)"));
        let error = read_fed(JsonArrayReader::new(), &[b"  "]).unwrap_err();
        assert!(error.message.contains("ended before its JSON array began"));
    }

    #[test]
    fn a_malformed_element_is_an_upstream_error_naming_its_number() {
        let error = error_at_every_split(JsonArrayReader::new, b"[{\"a\":1},{\"b\":}]");
        assert!(
            error.starts_with("element 2 of the upstream JSON array is not valid JSON"),
            "{error}"
        );
        let error = error_at_every_split(JsonArrayReader::new, b"[tru]");
        assert!(error.starts_with("element 1 of"), "{error}");
        let error = error_at_every_split(JsonArrayReader::new, b"[{\"a\":1},xyz]");
        assert!(error.contains("'x' at byte 9"), "{error}");
    }

    #[test]
    fn an_element_over_the_frame_cap_is_refused_without_buffering_it_all() {
        let mut body = b"[\"".to_vec();
        body.resize(MAX_FRAME_BYTES + 2, b'a');
        let error = JsonArrayReader::new().push(&body).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Upstream);
        assert!(
            error
                .message
                .starts_with("JSON array element 1 is 16777217 bytes"),
            "{}",
            error.message
        );
    }
}
