//! The canned answers are what each API would send: valid JSON of the right
//! shape, streams whose text reassembles to the whole answer, and sizes that
//! follow the knobs.

use super::*;

fn shape(body_size: usize, chunks: usize) -> AnswerShape {
    AnswerShape { body_size, chunks }
}

fn parse(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

/// The `data:` payload of every frame, and the `event:` name when there is one.
fn events(frames: &[Bytes]) -> Vec<(Option<String>, String)> {
    frames
        .iter()
        .map(|frame| {
            let text = std::str::from_utf8(frame).unwrap();
            assert!(
                text.ends_with("\n\n"),
                "each frame is one whole SSE event: {text:?}"
            );
            let mut event = None;
            let mut data = String::new();
            for line in text.trim_end().lines() {
                if let Some(name) = line.strip_prefix("event: ") {
                    event = Some(name.to_owned());
                } else {
                    data = line.strip_prefix("data: ").expect("data line").to_owned();
                }
            }
            (event, data)
        })
        .collect()
}

#[test]
fn text_is_cut_into_the_requested_chunks_and_size() {
    let pieces = text_pieces(shape(1024, 64));
    assert_eq!(pieces.len(), 64);
    assert_eq!(pieces.concat().len(), 1024);
    assert!(pieces.iter().all(|p| p.len() == 16));
    let uneven = text_pieces(shape(10_240, 7));
    assert_eq!(uneven.concat().len(), 10_240);
    let tiny = text_pieces(shape(3, 8));
    assert!(
        tiny.iter().all(|p| !p.is_empty()),
        "a chunk never arrives empty: {tiny:?}"
    );
}

#[test]
fn chat_answers_whole_and_streamed() {
    let bodies = CannedBodies::build(shape(1024, 64));
    let chat = bodies.of(Dialect::Chat);
    let whole = parse(&chat.json);
    assert_eq!(whole["object"], "chat.completion");
    assert_eq!(
        whole["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .len(),
        1024
    );
    assert_eq!(whole["usage"]["completion_tokens"], 64);

    let events = events(&chat.stream);
    assert_eq!(events.last().unwrap().1, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|(_, data)| parse(data.as_bytes()))
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, whole["choices"][0]["message"]["content"]);
    let content_chunks = chunks.iter().filter(|c| {
        c["choices"][0]["delta"]["content"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    });
    assert_eq!(content_chunks.count(), 64);
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "stop")
    );
    assert_eq!(chunks.last().unwrap()["usage"]["total_tokens"], 76);
}

#[test]
fn responses_stream_is_the_event_sequence_the_sdk_expects() {
    let bodies = CannedBodies::build(shape(100, 4));
    let responses = bodies.of(Dialect::Responses);
    assert_eq!(
        parse(&responses.json)["output"][0]["content"][0]["text"]
            .as_str()
            .unwrap()
            .len(),
        100
    );
    let events = events(&responses.stream);
    let names: Vec<&str> = events
        .iter()
        .map(|(event, _)| event.as_deref().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    for (i, (name, data)) in events.iter().enumerate() {
        let data = parse(data.as_bytes());
        assert_eq!(
            data["type"],
            name.as_deref().unwrap(),
            "the data repeats its event name"
        );
        assert_eq!(data["sequence_number"], i as u64);
    }
    let completed = parse(events.last().unwrap().1.as_bytes());
    assert_eq!(completed["response"]["status"], "completed");
    assert_eq!(completed["response"]["usage"]["output_tokens"], 4);
}

#[test]
fn anthropic_stream_opens_pings_deltas_and_stops() {
    let bodies = CannedBodies::build(shape(64, 8));
    let anthropic = bodies.of(Dialect::Anthropic);
    assert_eq!(parse(&anthropic.json)["stop_reason"], "end_turn");
    let events = events(&anthropic.stream);
    let names: Vec<&str> = events
        .iter()
        .map(|(event, _)| event.as_deref().unwrap())
        .collect();
    assert_eq!(
        &names[..3],
        ["message_start", "content_block_start", "ping"]
    );
    assert_eq!(
        names
            .iter()
            .filter(|n| **n == "content_block_delta")
            .count(),
        8
    );
    assert_eq!(
        &names[names.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    let text: String = events
        .iter()
        .map(|(_, data)| parse(data.as_bytes()))
        .filter_map(|d| d["delta"]["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(text.len(), 64);
}

#[test]
fn gemini_streams_as_sse_or_one_array_and_finishes_on_the_last_chunk() {
    let bodies = CannedBodies::build(shape(90, 3));
    let gemini = bodies.of(Dialect::Gemini);
    assert_eq!(parse(&gemini.json)["candidates"][0]["finishReason"], "STOP");
    let array = parse(&gemini.json_array);
    assert_eq!(array.as_array().unwrap().len(), 3);
    let sse: Vec<Value> = events(&gemini.stream)
        .iter()
        .map(|(_, data)| parse(data.as_bytes()))
        .collect();
    assert_eq!(
        Value::Array(sse.clone()),
        array,
        "both framings carry the same chunks"
    );
    assert!(
        sse[..2]
            .iter()
            .all(|c| c["candidates"][0].get("finishReason").is_none())
    );
    assert_eq!(sse[2]["candidates"][0]["finishReason"], "STOP");
}

#[test]
fn errors_use_each_dialects_status_and_shape() {
    assert_eq!(ErrorKind::Server.status(Dialect::Anthropic), 529);
    assert_eq!(ErrorKind::Server.status(Dialect::Chat), 500);
    assert_eq!(ErrorKind::BadRequest.status(Dialect::Gemini), 400);
    let anthropic = parse(&error_bytes(
        Dialect::Anthropic,
        ErrorKind::Server,
        "Overloaded",
    ));
    assert_eq!(anthropic["error"]["type"], "overloaded_error");
    let chat = parse(&error_bytes(Dialect::Chat, ErrorKind::BadRequest, "bad"));
    assert_eq!(chat["error"]["type"], "invalid_request_error");
    let gemini = parse(&error_bytes(Dialect::Gemini, ErrorKind::BadRequest, "bad"));
    assert_eq!(
        (
            gemini["error"]["code"].as_u64(),
            gemini["error"]["status"].as_str()
        ),
        (Some(400), Some("INVALID_ARGUMENT"))
    );
}
