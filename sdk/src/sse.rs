//! Server-sent events: an incremental parser fed arbitrary byte chunks, and a frame writer.
//!
//! Follows the WHATWG event-stream rules: lines end in `\n`, `\r\n` or `\r`; `data:`
//! lines of one event are joined with `\n`; a blank line dispatches; lines starting
//! with `:` are comments. Chunks may split anywhere, even inside a UTF-8 sequence or
//! between `\r` and `\n`: bytes are buffered until a whole line is there, and line
//! ends are ASCII, so a whole line is always whole UTF-8.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` name, when the stream gave one.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The `id:` field, when the stream gave one.
    pub id: Option<String>,
}

/// An incremental event-stream parser.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the current, unfinished line.
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` starting the next one is the same line end.
    after_cr: bool,
    /// No byte seen yet (a leading BOM is dropped).
    started: bool,
    /// The event being built.
    pending: SseEvent,
    /// Whether any field of `pending` was set (an event with empty data is still one).
    has_data: bool,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed the next chunk; returns the events it completes, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        let mut bytes = chunk;
        if !self.started && !bytes.is_empty() {
            self.started = true;
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        while !bytes.is_empty() {
            if self.after_cr {
                self.after_cr = false;
                if bytes[0] == b'\n' {
                    // The `\n` of a `\r\n` split across chunks.
                    bytes = &bytes[1..];
                    continue;
                }
            }
            match bytes
                .iter()
                .position(|&byte| byte == b'\n' || byte == b'\r')
            {
                Some(end) => {
                    self.line.extend_from_slice(&bytes[..end]);
                    self.after_cr = bytes[end] == b'\r';
                    let line = std::mem::take(&mut self.line);
                    self.take_line(&line, &mut events);
                    bytes = &bytes[end + 1..];
                }
                None => {
                    self.line.extend_from_slice(bytes);
                    break;
                }
            }
        }
        events
    }

    /// The stream ended: dispatch what an unterminated last line or event holds.
    /// Upstreams sometimes close without the final blank line; losing that event
    /// (the strict reading of the spec) would lose the usage report.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let mut events = Vec::new();
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.take_line(&line, &mut events);
        }
        self.dispatch(&mut events);
        events
    }

    fn take_line(&mut self, line: &[u8], events: &mut Vec<SseEvent>) {
        if line.is_empty() {
            self.dispatch(events);
            return;
        }
        if line[0] == b':' {
            return;
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.pending.data.push('\n');
                }
                self.pending.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.pending.event = Some(value.to_string()),
            "id" => self.pending.id = Some(value.to_string()),
            _ => {}
        }
    }

    fn dispatch(&mut self, events: &mut Vec<SseEvent>) {
        if self.has_data {
            events.push(std::mem::take(&mut self.pending));
        } else {
            // An event name without data dispatches nothing, per spec.
            self.pending = SseEvent::default();
        }
        self.has_data = false;
    }
}

/// One SSE frame: `event: <name>` when given, a `data:` line per line of `data`, a blank line.
pub fn sse_frame(event: Option<&str>, data: &str) -> Vec<u8> {
    let mut frame = String::with_capacity(data.len() + 32);
    if let Some(event) = event {
        frame.push_str("event: ");
        frame.push_str(event);
        frame.push('\n');
    }
    for line in data.split('\n') {
        frame.push_str("data: ");
        frame.push_str(line);
        frame.push('\n');
    }
    frame.push('\n');
    frame.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRANSCRIPT: &str = "event: message_start\ndata: {\"a\":\"héllo ✓ 😀\"}\n\n: keep-alive comment\n\nevent: delta\r\ndata: line one\r\ndata: line two\r\nid: 7\r\n\r\ndata: plain\r\rdata: [DONE]\n\n";

    fn expected() -> Vec<SseEvent> {
        vec![
            SseEvent {
                event: Some("message_start".into()),
                data: "{\"a\":\"héllo ✓ 😀\"}".into(),
                id: None,
            },
            SseEvent {
                event: Some("delta".into()),
                data: "line one\nline two".into(),
                id: Some("7".into()),
            },
            SseEvent {
                event: None,
                data: "plain".into(),
                id: None,
            },
            SseEvent {
                event: None,
                data: "[DONE]".into(),
                id: None,
            },
        ]
    }

    fn parse_in_pieces(pieces: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = SseParser::new();
        let mut events = Vec::new();
        for piece in pieces {
            events.extend(parser.push(piece));
        }
        events.extend(parser.finish());
        events
    }

    #[test]
    fn a_whole_transcript_in_one_chunk_yields_every_event() {
        assert_eq!(parse_in_pieces(&[TRANSCRIPT.as_bytes()]), expected());
    }

    #[test]
    fn splitting_at_every_byte_boundary_changes_nothing() {
        let bytes = TRANSCRIPT.as_bytes();
        for cut in 0..=bytes.len() {
            let (head, tail) = bytes.split_at(cut);
            assert_eq!(
                parse_in_pieces(&[head, tail]),
                expected(),
                "split at byte {cut}"
            );
        }
    }

    #[test]
    fn one_byte_at_a_time_even_inside_utf8_sequences() {
        let pieces: Vec<&[u8]> = TRANSCRIPT.as_bytes().chunks(1).collect();
        assert_eq!(parse_in_pieces(&pieces), expected());
    }

    #[test]
    fn three_way_splits_around_crlf_keep_line_ends_right() {
        let bytes = TRANSCRIPT.as_bytes();
        for first in 0..bytes.len() {
            for second in first..bytes.len().min(first + 4) {
                let pieces = [&bytes[..first], &bytes[first..second], &bytes[second..]];
                assert_eq!(
                    parse_in_pieces(&pieces),
                    expected(),
                    "cuts at {first}, {second}"
                );
            }
        }
    }

    #[test]
    fn a_stream_closed_without_the_final_blank_line_still_dispatches() {
        assert_eq!(
            parse_in_pieces(&[b"data: {\"usage\":1}"]),
            vec![SseEvent {
                event: None,
                data: "{\"usage\":1}".into(),
                id: None
            }]
        );
    }

    #[test]
    fn a_leading_bom_is_dropped() {
        assert_eq!(parse_in_pieces(&[b"\xEF\xBB\xBFdata: x\n\n"])[0].data, "x");
    }

    #[test]
    fn frames_round_trip_through_the_parser() {
        let mut bytes = sse_frame(Some("ping"), "{}");
        bytes.extend(sse_frame(None, "a\nb"));
        assert_eq!(
            String::from_utf8(sse_frame(Some("ping"), "{}")).unwrap(),
            "event: ping\ndata: {}\n\n"
        );
        assert_eq!(
            parse_in_pieces(&[&bytes]),
            vec![
                SseEvent {
                    event: Some("ping".into()),
                    data: "{}".into(),
                    id: None
                },
                SseEvent {
                    event: None,
                    data: "a\nb".into(),
                    id: None
                },
            ]
        );
    }
}
