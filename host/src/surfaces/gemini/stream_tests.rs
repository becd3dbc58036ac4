//! Stories of upstream event streams told to a Gemini client: the bytes are parsed back
//! in both framings (SSE as the Gemini CLI reads it, the JSON array as a plain
//! `:streamGenerateContent` caller reads it) and the client's view rebuilt.

use serde_json::{Value, json};

use super::{GeminiStreamEncoder, response_json};
use crate::ir::{
    ErrorClass, Finish, FinishReason, ResponseMetadata, StreamEvent, ToolCallPart, UpstreamError,
    Usage,
};
use crate::surfaces::collect::Collector;
use crate::surfaces::{ClientError, ErrorKind, StreamEncoder};

fn encode(events: &[StreamEvent], sse: bool) -> Vec<u8> {
    let mut encoder = GeminiStreamEncoder::new("my-gemini", sse);
    let mut out = Vec::new();
    for event in events {
        encoder.event(event, &mut out);
    }
    encoder.done(&mut out);
    out
}

/// The chunks of an `alt=sse` stream, each frame checked for Gemini's framing.
fn sse_chunks(bytes: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(bytes).unwrap();
    assert!(
        text.ends_with("\r\n\r\n"),
        "frames end with a blank line: {text:?}"
    );
    text.split_terminator("\r\n\r\n")
        .map(|frame| {
            let data = frame
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not a data frame: {frame:?}"));
            serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}"))
        })
        .collect()
}

/// The chunks of a JSON-array stream: the whole body must be one JSON array.
fn array_chunks(bytes: &[u8]) -> Vec<Value> {
    match serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)))
    {
        Value::Array(chunks) => chunks,
        other => panic!("not an array: {other}"),
    }
}

/// All parts of all chunks, in order.
fn parts(chunks: &[Value]) -> Vec<Value> {
    chunks
        .iter()
        .flat_map(|chunk| {
            chunk["candidates"][0]["content"]["parts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

/// The visible answer the way google-genai's `.text` builds it: non-thought text.
fn answer_text(chunks: &[Value]) -> String {
    parts(chunks)
        .iter()
        .filter(|p| p["thought"] != json!(true))
        .filter_map(|p| p["text"].as_str())
        .collect()
}

fn metadata() -> StreamEvent {
    StreamEvent::ResponseMetadata(ResponseMetadata {
        id: Some("resp-1".into()),
        model: Some("upstream-model".into()),
        created: None,
    })
}

fn text(delta: &str) -> StreamEvent {
    StreamEvent::TextDelta {
        id: "0".into(),
        delta: delta.into(),
    }
}

fn finish(reason: FinishReason, raw: Option<&str>) -> StreamEvent {
    StreamEvent::Finish(Finish {
        reason,
        raw_reason: raw.map(str::to_owned),
        usage: Usage {
            input_tokens: Some(100),
            output_tokens: Some(40),
            cache_read_tokens: Some(60),
            reasoning_tokens: Some(25),
            ..Default::default()
        },
        options: None,
    })
}

fn call(id: &str, name: &str, arguments: &str) -> StreamEvent {
    StreamEvent::ToolCall(ToolCallPart {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
        options: None,
    })
}

fn thinking_then_text() -> Vec<StreamEvent> {
    vec![
        metadata(),
        StreamEvent::ReasoningStart("r".into()),
        StreamEvent::ReasoningDelta {
            id: "r".into(),
            delta: "Paris is ".into(),
        },
        StreamEvent::ReasoningDelta {
            id: "r".into(),
            delta: "the capital.".into(),
        },
        StreamEvent::ReasoningEnd {
            id: "r".into(),
            signature: Some("sig-r".into()),
            redacted: None,
        },
        StreamEvent::TextStart("0".into()),
        text("The capital "),
        text(""),
        text("is Paris."),
        StreamEvent::TextEnd("0".into()),
        finish(FinishReason::Stop, Some("end_turn")),
    ]
}

#[test]
fn a_thinking_answer_streams_as_thought_parts_then_text_with_usage_last() {
    let chunks = sse_chunks(&encode(&thinking_then_text(), true));
    assert_eq!(
        chunks.len(),
        6,
        "two thoughts, the signature, two texts, the finish: {chunks:#?}"
    );
    assert_eq!(
        chunks[0],
        json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "Paris is ", "thought": true}]}, "index": 0}],
            "modelVersion": "my-gemini",
            "responseId": "resp-1",
        })
    );
    assert_eq!(
        parts(&chunks)[2],
        json!({"text": "", "thought": true, "thoughtSignature": "sig-r"})
    );
    assert_eq!(answer_text(&chunks), "The capital is Paris.");
    for chunk in &chunks[..5] {
        assert!(
            chunk.get("usageMetadata").is_none()
                && chunk["candidates"][0].get("finishReason").is_none()
        );
        assert_eq!(chunk["responseId"], "resp-1");
    }
    let last = &chunks[5];
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(
        last["usageMetadata"],
        json!({
            "promptTokenCount": 100,
            "candidatesTokenCount": 15,
            "totalTokenCount": 140,
            "cachedContentTokenCount": 60,
            "thoughtsTokenCount": 25,
        })
    );
}

#[test]
fn the_json_array_framing_is_one_array_written_as_it_grows() {
    let bytes = encode(&thinking_then_text(), false);
    let body = std::str::from_utf8(&bytes).unwrap();
    assert!(body.starts_with("[{") && body.ends_with("}]"), "{body}");
    assert_eq!(body.matches(",\r\n{").count(), 5);
    assert_eq!(
        array_chunks(&bytes),
        sse_chunks(&encode(&thinking_then_text(), true))
    );

    let mut encoder = GeminiStreamEncoder::new("m", false);
    let mut out = Vec::new();
    encoder.event(&text("partial"), &mut out);
    assert!(
        out.starts_with(b"[{") && !out.ends_with(b"]"),
        "the array stays open between events"
    );
}

#[test]
fn parallel_tool_calls_arrive_whole_with_ids_and_the_finish_is_stop() {
    let events = [
        metadata(),
        text("Checking both."),
        StreamEvent::ToolInputStart {
            id: "call_1".into(),
            name: "weather".into(),
        },
        StreamEvent::ToolInputDelta {
            id: "call_1".into(),
            delta: "{\"city\":".into(),
        },
        StreamEvent::ToolInputDelta {
            id: "call_1".into(),
            delta: "\"Paris\"}".into(),
        },
        StreamEvent::ToolInputEnd("call_1".into()),
        call("call_1", "weather", "{\"city\":\"Paris\"}"),
        call("call_2", "weather", "{\"city\":\"Rome\"}"),
        call("call_2", "weather", "{\"city\":\"Rome\"}"),
        finish(FinishReason::ToolCalls, Some("tool_calls")),
    ];
    let chunks = sse_chunks(&encode(&events, true));
    let calls: Vec<Value> = parts(&chunks)
        .into_iter()
        .filter(|p| p.get("functionCall").is_some())
        .collect();
    assert_eq!(
        calls,
        [
            json!({"functionCall": {"id": "call_1", "name": "weather", "args": {"city": "Paris"}}}),
            json!({"functionCall": {"id": "call_2", "name": "weather", "args": {"city": "Rome"}}}),
        ],
        "no partial arguments, no call twice"
    );
    assert_eq!(
        chunks.last().unwrap()["candidates"][0]["finishReason"],
        "STOP"
    );
}

#[test]
fn a_call_keeps_its_signature_and_a_call_without_complete_event_still_goes_out() {
    let signed = StreamEvent::ToolCall(ToolCallPart {
        id: "c1".into(),
        name: "bash".into(),
        arguments: "{\"cmd\":\"ls\"}".into(),
        options: Some(json!({"gemini": {"thoughtSignature": "sig-call"}})),
    });
    let events = [
        signed,
        StreamEvent::ToolInputStart {
            id: "c2".into(),
            name: "pwd".into(),
        },
        StreamEvent::ToolInputDelta {
            id: "c2".into(),
            delta: "{}".into(),
        },
        finish(FinishReason::ToolCalls, None),
    ];
    let calls = parts(&sse_chunks(&encode(&events, true)));
    assert_eq!(calls[0]["thoughtSignature"], "sig-call");
    assert_eq!(
        calls[1],
        json!({"functionCall": {"id": "c2", "name": "pwd", "args": {}}})
    );
}

#[test]
fn finish_reasons_speak_gemini() {
    let reason = |event: StreamEvent| {
        let chunks = sse_chunks(&encode(&[event], true));
        chunks.last().unwrap()["candidates"][0]["finishReason"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        reason(finish(FinishReason::Length, Some("max_tokens"))),
        "MAX_TOKENS"
    );
    assert_eq!(
        reason(finish(FinishReason::ContentFilter, Some("refusal"))),
        "SAFETY"
    );
    assert_eq!(
        reason(finish(FinishReason::Other, Some("RECITATION"))),
        "RECITATION",
        "a Gemini upstream's own reason is kept"
    );
    assert_eq!(reason(finish(FinishReason::Error, None)), "OTHER");
}

#[test]
fn an_upstream_that_ends_without_a_finish_still_gives_clients_a_finish_reason() {
    let chunks = sse_chunks(&encode(&[text("cut")], true));
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[1]["candidates"][0]["finishReason"], "STOP");
    assert_eq!(
        chunks[0]["responseId"], chunks[1]["responseId"],
        "one id for the whole stream"
    );
    assert_eq!(chunks[0]["responseId"].as_str().unwrap().len(), 22);

    let empty = array_chunks(&encode(&[], false));
    assert_eq!(
        empty.len(),
        1,
        "an empty upstream still closes the array with a finish"
    );
}

#[test]
fn a_mid_stream_error_is_the_last_element_in_both_framings() {
    let events = [
        metadata(),
        text("Hello"),
        StreamEvent::Error(UpstreamError {
            class: ErrorClass::Other,
            message: "overloaded".into(),
        }),
        text("never sent"),
    ];
    let expected_error =
        json!({"error": {"code": 502, "message": "overloaded", "status": "UNAVAILABLE"}});
    let chunks = sse_chunks(&encode(&events, true));
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[1], expected_error);
    let chunks = array_chunks(&encode(&events, false));
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[1], expected_error);

    let mut encoder = GeminiStreamEncoder::new("m", false);
    let mut out = Vec::new();
    encoder.error(&ClientError::new(ErrorKind::RateLimited, "quota"), &mut out);
    encoder.done(&mut out);
    assert_eq!(
        array_chunks(&out),
        [json!({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}})]
    );
}

#[test]
fn streamed_and_collected_answers_say_the_same() {
    let events = [
        thinking_then_text(),
        vec![call("call_9", "bash", "{\"cmd\":\"echo hi\"}")],
    ]
    .concat();
    // Move the finish to the end, after the call.
    let mut events: Vec<StreamEvent> = events
        .into_iter()
        .filter(|e| !matches!(e, StreamEvent::Finish(_)))
        .collect();
    events.push(finish(FinishReason::ToolCalls, None));

    let chunks = sse_chunks(&encode(&events, true));
    let mut collector = Collector::new();
    for event in &events {
        collector.push(event);
    }
    let whole: Value =
        serde_json::from_slice(&response_json(&collector.finish(), "my-gemini")).unwrap();

    let last = chunks.last().unwrap();
    assert_eq!(whole["usageMetadata"], last["usageMetadata"]);
    assert_eq!(
        whole["candidates"][0]["finishReason"],
        last["candidates"][0]["finishReason"]
    );
    assert_eq!(
        (&whole["modelVersion"], &whole["responseId"]),
        (&last["modelVersion"], &last["responseId"])
    );
    let whole_parts = whole["candidates"][0]["content"]["parts"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        whole_parts,
        [
            json!({"text": "Paris is the capital.", "thought": true, "thoughtSignature": "sig-r"}),
            json!({"text": "The capital is Paris."}),
            json!({"functionCall": {"id": "call_9", "name": "bash", "args": {"cmd": "echo hi"}}}),
        ]
    );
    let whole_chunks = [whole.clone()];
    assert_eq!(answer_text(&whole_chunks), answer_text(&chunks));
    let streamed_thoughts: String = parts(&chunks)
        .iter()
        .filter(|p| p["thought"] == json!(true))
        .filter_map(|p| p["text"].as_str())
        .collect();
    assert_eq!(streamed_thoughts, whole_parts[0]["text"].as_str().unwrap());
}

#[test]
fn the_collected_answer_round_trips_through_decode_as_the_next_turn() {
    // A client appends the model's content to its history and sends it back: the
    // decoder must read our own output, signatures and call ids included.
    let mut collector = Collector::new();
    for event in [
        StreamEvent::ReasoningEnd {
            id: "r".into(),
            signature: Some("sig".into()),
            redacted: None,
        },
        call("call_9", "bash", "{\"cmd\":\"ls\"}"),
    ] {
        collector.push(&event);
    }
    let whole: Value = serde_json::from_slice(&response_json(&collector.finish(), "m")).unwrap();
    let content = whole["candidates"][0]["content"].clone();
    let body = json!({"contents": [
        {"role": "user", "parts": [{"text": "ls"}]},
        content,
        {"role": "user", "parts": [{"functionResponse": {"id": "call_9", "name": "bash", "response": {"output": "a"}}}]}
    ]});
    let request = super::decode(body.to_string().as_bytes(), "m", false)
        .unwrap()
        .request;
    assert!(
        matches!(&request.messages[1].parts[0], crate::ir::Part::Reasoning(r) if r.signature.as_deref() == Some("sig"))
    );
    assert!(
        matches!(&request.messages[1].parts[1], crate::ir::Part::ToolCall(c) if c.id == "call_9")
    );
    assert!(
        matches!(&request.messages[2].parts[0], crate::ir::Part::ToolResult(r) if r.call_id == "call_9")
    );
}
