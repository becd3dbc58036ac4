//! NDJSON (JSON Lines): one JSON value per line.

use serde_json::Value;

use super::{FrameReader, MAX_FRAME_BYTES, too_big};
use crate::json::parse_upstream_json;
use crate::types::AdapterError;

/// An incremental NDJSON reader, fed chunks split anywhere.
///
/// Lines end in `\n`, optionally preceded by `\r`; a line of only whitespace is
/// skipped; a last line without its `\n` is read at finish. A line that is not one JSON
/// value is an `upstream` error naming its 1-based line number (blank lines count).
#[derive(Debug, Default)]
pub struct NdjsonReader {
    /// Bytes of the current, unfinished line.
    line: Vec<u8>,
    /// Lines ended so far.
    lines: usize,
}

impl NdjsonReader {
    /// A reader at the start of a body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed the next chunk; the values of the lines it completes, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Value>, AdapterError> {
        let mut values = Vec::new();
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&byte| byte == b'\n') {
            self.keep(&rest[..end])?;
            let line = std::mem::take(&mut self.line);
            values.extend(self.read_line(&line)?);
            rest = &rest[end + 1..];
        }
        self.keep(rest)?;
        Ok(values)
    }

    /// The body ended: the value of a last line without its `\n`, if there is one.
    pub fn finish(&mut self) -> Result<Vec<Value>, AdapterError> {
        let line = std::mem::take(&mut self.line);
        Ok(self.read_line(&line)?.into_iter().collect())
    }

    /// Add bytes to the current line, within the frame cap.
    fn keep(&mut self, bytes: &[u8]) -> Result<(), AdapterError> {
        let length = self.line.len() + bytes.len();
        if length > MAX_FRAME_BYTES {
            return Err(too_big(&format!("NDJSON line {}", self.lines + 1), length));
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    /// Count one ended line and parse it unless it is blank.
    fn read_line(&mut self, line: &[u8]) -> Result<Option<Value>, AdapterError> {
        self.lines += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        parse_upstream_json(line, &format!("NDJSON line {}", self.lines)).map(Some)
    }
}

impl FrameReader for NdjsonReader {
    type Frame = Value;
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<Value>, AdapterError> {
        NdjsonReader::push(self, chunk)
    }
    fn finish(&mut self) -> Result<Vec<Value>, AdapterError> {
        NdjsonReader::finish(self)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::types::ErrorKind;
    use serde_json::json;

    const LINES: &str = "{\"a\":\"héllo ✓ 😀\"}\r\n\n  \r\n{\"b\":[1,2]}\n\"text\"\n{\"c\":null}";

    fn expected() -> Vec<Value> {
        vec![
            json!({"a": "héllo ✓ 😀"}),
            json!({"b": [1, 2]}),
            json!("text"),
            json!({"c": null}),
        ]
    }

    #[test]
    fn every_split_of_an_ndjson_body_reads_the_same_values() {
        assert_every_split_reads_to(NdjsonReader::new, LINES.as_bytes(), &expected());
        let ended = format!("{LINES}\n");
        assert_every_split_reads_to(NdjsonReader::new, ended.as_bytes(), &expected());
    }

    #[test]
    fn each_value_is_returned_by_the_chunk_that_ends_its_line() {
        let mut reader = NdjsonReader::new();
        assert!(reader.push(b"{\"a\":").unwrap().is_empty());
        assert_eq!(reader.push(b"1}\r\n{").unwrap(), vec![json!({"a": 1})]);
        assert_eq!(reader.push(b"}\n").unwrap(), vec![json!({})]);
        assert!(reader.finish().unwrap().is_empty());
    }

    #[test]
    fn a_bad_line_is_an_upstream_error_naming_its_number() {
        let body = b"{\"a\":1}\n\n{\"b\":2} trailing\n{\"c\":3}\n";
        let message = error_at_every_split(NdjsonReader::new, body);
        assert!(
            message.starts_with("NDJSON line 3 is not valid JSON"),
            "{message}"
        );
        let error = read_fed(NdjsonReader::new(), &[body]).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Upstream);
    }

    #[test]
    fn a_line_over_the_frame_cap_is_refused_without_buffering_it_all() {
        let mut reader = NdjsonReader::new();
        assert!(reader.push(b"{}\n").unwrap().len() == 1);
        let error = reader.push(&vec![b' '; MAX_FRAME_BYTES + 1]).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Upstream);
        assert!(
            error.message.starts_with("NDJSON line 2 is 16777217 bytes"),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_truncated_last_line_is_an_upstream_error_at_finish() {
        let message = error_at_every_split(NdjsonReader::new, b"{\"a\":1}\n{\"b\":");
        assert!(
            message.starts_with("NDJSON line 2 is not valid JSON"),
            "{message}"
        );
    }
}
