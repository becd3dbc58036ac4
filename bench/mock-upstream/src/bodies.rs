//! Every answer the mock can give, serialised once at start-up.
//!
//! Serving is then a refcount bump on a [`Bytes`]: no JSON is written per
//! request. Each dialect has a whole JSON answer and a stream, where a stream is
//! a list of frames (one SSE event each) so the server can pace them and a
//! client sees them as separate chunks, as it would from the real API.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::dialect::Dialect;

/// The model name every canned answer reports.
pub const MODEL: &str = "mock-model";
/// Prompt tokens every canned answer reports.
const PROMPT_TOKENS: u64 = 12;
/// A fixed creation time, so bodies are identical run to run.
const CREATED: u64 = 1_700_000_000;

/// Words the answer text is built from: plain ASCII, nothing JSON must escape,
/// so the text's size is its size on the wire.
const WORDS: &str = "the quick brown fox jumps over the lazy dog while plugboard measures how little a proxy costs ";

/// The shape of the answers: how much text and in how many stream chunks.
#[derive(Clone, Copy, Debug)]
pub struct AnswerShape {
    /// Bytes of answer text (raised to `chunks` so no chunk is empty).
    pub body_size: usize,
    /// Content chunks per stream.
    pub chunks: usize,
}

/// One dialect's canned answers.
#[derive(Debug)]
pub struct DialectBodies {
    /// The non-streaming JSON answer.
    pub json: Bytes,
    /// The streamed answer, one SSE event per frame.
    pub stream: Vec<Bytes>,
    /// Gemini's `streamGenerateContent` without `alt=sse`: one JSON array of the
    /// chunks (empty for other dialects).
    pub json_array: Bytes,
    /// The dialect's server error (500, or 529 for Anthropic).
    pub server_error: Bytes,
}

/// Answers for all four dialects, indexed by [`Dialect::index`].
#[derive(Debug)]
pub struct CannedBodies {
    /// Per-dialect answers, in [`Dialect::ALL`] order.
    pub dialects: [DialectBodies; 4],
}

impl CannedBodies {
    /// Builds every answer for `shape`.
    pub fn build(shape: AnswerShape) -> CannedBodies {
        let pieces = text_pieces(shape);
        CannedBodies {
            dialects: Dialect::ALL.map(|dialect| dialect_bodies(dialect, &pieces)),
        }
    }

    /// The answers for one dialect.
    pub fn of(&self, dialect: Dialect) -> &DialectBodies {
        &self.dialects[dialect.index()]
    }
}

/// The answer text cut into `chunks` non-empty pieces of near-equal size.
pub fn text_pieces(shape: AnswerShape) -> Vec<String> {
    let chunks = shape.chunks.max(1);
    let len = shape.body_size.max(chunks);
    let text: String = WORDS.chars().cycle().take(len).collect();
    (0..chunks)
        .map(|i| text[i * len / chunks..(i + 1) * len / chunks].to_owned())
        .collect()
}

fn dialect_bodies(dialect: Dialect, pieces: &[String]) -> DialectBodies {
    let text: String = pieces.concat();
    let output_tokens = pieces.len() as u64;
    match dialect {
        Dialect::Chat => DialectBodies {
            json: to_bytes(&chat_json(&text, output_tokens)),
            stream: chat_stream(pieces),
            json_array: Bytes::new(),
            server_error: error_bytes(dialect, ErrorKind::Server, "mock upstream injected error"),
        },
        Dialect::Responses => DialectBodies {
            json: to_bytes(&responses_object(&text, output_tokens, "completed")),
            stream: responses_stream(pieces),
            json_array: Bytes::new(),
            server_error: error_bytes(dialect, ErrorKind::Server, "mock upstream injected error"),
        },
        Dialect::Anthropic => DialectBodies {
            json: to_bytes(&anthropic_json(&text, output_tokens)),
            stream: anthropic_stream(pieces),
            json_array: Bytes::new(),
            server_error: error_bytes(dialect, ErrorKind::Server, "Overloaded"),
        },
        Dialect::Gemini => {
            let chunks = gemini_chunks(pieces);
            DialectBodies {
                json: to_bytes(&gemini_chunk(&text, output_tokens, true)),
                stream: chunks.iter().map(|chunk| sse(None, chunk)).collect(),
                json_array: to_bytes(&Value::Array(chunks)),
                server_error: error_bytes(
                    dialect,
                    ErrorKind::Server,
                    "mock upstream injected error",
                ),
            }
        }
    }
}

/// Which error a dialect body describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request was malformed for the dialect (400).
    BadRequest,
    /// An injected upstream failure (500; Anthropic's 529 overload).
    Server,
}

impl ErrorKind {
    /// The HTTP status the dialect uses for this kind.
    pub fn status(self, dialect: Dialect) -> u16 {
        match (self, dialect) {
            (ErrorKind::BadRequest, _) => 400,
            (ErrorKind::Server, Dialect::Anthropic) => 529,
            (ErrorKind::Server, _) => 500,
        }
    }
}

/// The dialect's error body for `kind`, carrying `message`.
pub fn error_bytes(dialect: Dialect, kind: ErrorKind, message: &str) -> Bytes {
    let body = match dialect {
        Dialect::Chat | Dialect::Responses => {
            let kind = if kind == ErrorKind::BadRequest {
                "invalid_request_error"
            } else {
                "server_error"
            };
            json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
        }
        Dialect::Anthropic => {
            let kind = if kind == ErrorKind::BadRequest {
                "invalid_request_error"
            } else {
                "overloaded_error"
            };
            json!({"type": "error", "error": {"type": kind, "message": message}})
        }
        Dialect::Gemini => {
            let status = if kind == ErrorKind::BadRequest {
                "INVALID_ARGUMENT"
            } else {
                "INTERNAL"
            };
            json!({"error": {"code": kind.status(dialect), "message": message, "status": status}})
        }
    };
    to_bytes(&body)
}

fn to_bytes(value: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(value).expect("canned bodies serialise"))
}

/// One SSE event: an optional `event:` line, one `data:` line, a blank line.
fn sse(event: Option<&str>, data: &Value) -> Bytes {
    let data = serde_json::to_string(data).expect("canned bodies serialise");
    match event {
        Some(event) => Bytes::from(format!("event: {event}\ndata: {data}\n\n")),
        None => Bytes::from(format!("data: {data}\n\n")),
    }
}

fn chat_json(text: &str, output_tokens: u64) -> Value {
    json!({
        "id": "chatcmpl-mock", "object": "chat.completion", "created": CREATED, "model": MODEL,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text, "refusal": null},
            "logprobs": null, "finish_reason": "stop",
        }],
        "usage": chat_usage(output_tokens),
    })
}

fn chat_usage(output_tokens: u64) -> Value {
    json!({"prompt_tokens": PROMPT_TOKENS, "completion_tokens": output_tokens, "total_tokens": PROMPT_TOKENS + output_tokens})
}

fn chat_stream(pieces: &[String]) -> Vec<Bytes> {
    let chunk = |delta: Value, finish: Value| {
        json!({
            "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": CREATED, "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        })
    };
    let mut frames = vec![sse(
        None,
        &chunk(json!({"role": "assistant", "content": ""}), Value::Null),
    )];
    frames.extend(
        pieces
            .iter()
            .map(|piece| sse(None, &chunk(json!({"content": piece}), Value::Null))),
    );
    frames.push(sse(None, &chunk(json!({}), json!("stop"))));
    // The usage chunk OpenAI sends for `stream_options.include_usage`; clients
    // that did not ask for it skip a chunk with no choices.
    let usage = json!({
        "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": CREATED, "model": MODEL,
        "choices": [], "usage": chat_usage(pieces.len() as u64),
    });
    frames.push(sse(None, &usage));
    frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
    frames
}

fn responses_message(text: &str, status: &str) -> Value {
    let content = if status == "completed" {
        json!([{"type": "output_text", "text": text, "annotations": []}])
    } else {
        json!([])
    };
    json!({"type": "message", "id": "msg_mock", "status": status, "role": "assistant", "content": content})
}

fn responses_object(text: &str, output_tokens: u64, status: &str) -> Value {
    let completed = status == "completed";
    json!({
        "id": "resp_mock", "object": "response", "created_at": CREATED, "status": status,
        "error": null, "incomplete_details": null, "model": MODEL,
        "output": if completed { json!([responses_message(text, status)]) } else { json!([]) },
        "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
        "usage": if completed {
            json!({
                "input_tokens": PROMPT_TOKENS, "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": PROMPT_TOKENS + output_tokens,
            })
        } else {
            Value::Null
        },
    })
}

fn responses_stream(pieces: &[String]) -> Vec<Bytes> {
    let text: String = pieces.concat();
    let mut sequence = 0u64;
    // `type` first, as OpenAI writes it; then the fields, then the sequence number.
    let mut event = |kind: &str, fields: Value| {
        let mut data = serde_json::Map::new();
        data.insert("type".into(), json!(kind));
        data.extend(fields.as_object().expect("object").clone());
        data.insert("sequence_number".into(), json!(sequence));
        sequence += 1;
        sse(Some(kind), &Value::Object(data))
    };
    let part_address = json!({"item_id": "msg_mock", "output_index": 0, "content_index": 0});
    let with_address = |extra: Value| {
        let mut data = part_address.clone();
        for (key, value) in extra.as_object().expect("object").clone() {
            data[key] = value;
        }
        data
    };
    let mut frames = vec![
        event(
            "response.created",
            json!({"response": responses_object("", 0, "in_progress")}),
        ),
        event(
            "response.in_progress",
            json!({"response": responses_object("", 0, "in_progress")}),
        ),
        event(
            "response.output_item.added",
            json!({"output_index": 0, "item": responses_message("", "in_progress")}),
        ),
        event(
            "response.content_part.added",
            with_address(json!({"part": {"type": "output_text", "text": "", "annotations": []}})),
        ),
    ];
    for piece in pieces {
        frames.push(event(
            "response.output_text.delta",
            with_address(json!({"delta": piece, "logprobs": []})),
        ));
    }
    frames.push(event(
        "response.output_text.done",
        with_address(json!({"text": text, "logprobs": []})),
    ));
    frames.push(event(
        "response.content_part.done",
        with_address(json!({"part": {"type": "output_text", "text": text, "annotations": []}})),
    ));
    frames.push(event(
        "response.output_item.done",
        json!({"output_index": 0, "item": responses_message(&text, "completed")}),
    ));
    let completed = responses_object(&text, pieces.len() as u64, "completed");
    frames.push(event("response.completed", json!({"response": completed})));
    frames
}

fn anthropic_json(text: &str, output_tokens: u64) -> Value {
    json!({
        "id": "msg_mock", "type": "message", "role": "assistant", "model": MODEL,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": PROMPT_TOKENS, "output_tokens": output_tokens},
    })
}

fn anthropic_stream(pieces: &[String]) -> Vec<Bytes> {
    let start = json!({
        "type": "message_start",
        "message": {
            "id": "msg_mock", "type": "message", "role": "assistant", "model": MODEL, "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": PROMPT_TOKENS, "output_tokens": 1},
        },
    });
    let mut frames = vec![
        sse(Some("message_start"), &start),
        sse(
            Some("content_block_start"),
            &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        sse(Some("ping"), &json!({"type": "ping"})),
    ];
    frames.extend(pieces.iter().map(|piece| {
        let delta = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}});
        sse(Some("content_block_delta"), &delta)
    }));
    frames.push(sse(
        Some("content_block_stop"),
        &json!({"type": "content_block_stop", "index": 0}),
    ));
    let end = json!({
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": null},
        "usage": {"output_tokens": pieces.len()},
    });
    frames.push(sse(Some("message_delta"), &end));
    frames.push(sse(Some("message_stop"), &json!({"type": "message_stop"})));
    frames
}

/// A Gemini answer chunk; the last (or the whole answer) carries `finishReason`.
fn gemini_chunk(text: &str, output_tokens: u64, last: bool) -> Value {
    let mut candidate =
        json!({"content": {"parts": [{"text": text}], "role": "model"}, "index": 0});
    if last {
        candidate["finishReason"] = json!("STOP");
    }
    json!({
        "candidates": [candidate],
        "usageMetadata": {
            "promptTokenCount": PROMPT_TOKENS, "candidatesTokenCount": output_tokens,
            "totalTokenCount": PROMPT_TOKENS + output_tokens,
        },
        "modelVersion": MODEL, "responseId": "mock",
    })
}

fn gemini_chunks(pieces: &[String]) -> Vec<Value> {
    let last = pieces.len() - 1;
    pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| gemini_chunk(piece, i as u64 + 1, i == last))
        .collect()
}

#[cfg(test)]
#[path = "bodies_tests.rs"]
mod tests;
