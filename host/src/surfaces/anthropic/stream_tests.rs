//! Streams as a Messages client sees them: exact event order, every block kind, usage,
//! errors, and the same answer whether streamed or collected.

use serde_json::{Value, json};

use super::{MessagesStreamEncoder, response_json};
use crate::ir::{
    ErrorClass, Finish, FinishReason, ResponseMetadata, StreamEvent, ToolCallPart, UpstreamError,
    Usage,
};
use crate::surfaces::StreamEncoder;
use crate::surfaces::collect::Collector;

/// Runs `events` through an encoder for `claude-sonnet` and ends the stream.
fn encode(events: &[StreamEvent]) -> Vec<u8> {
    let mut encoder = MessagesStreamEncoder::new("claude-sonnet");
    let mut out = Vec::new();
    for event in events {
        encoder.event(event, &mut out);
    }
    encoder.done(&mut out);
    out
}

/// Parses SSE frames into (event name, data), checking each frame's shape: an `event:`
/// line whose name is the data's `type`, then one `data:` line.
fn frames(bytes: &[u8]) -> Vec<(String, Value)> {
    let text = std::str::from_utf8(bytes).unwrap();
    assert!(text.ends_with("\n\n"), "frames end with a blank line");
    text.trim_end()
        .split("\n\n")
        .map(|frame| {
            let (event, data) = frame.split_once('\n').expect("two lines");
            let name = event
                .strip_prefix("event: ")
                .expect("an event line")
                .to_owned();
            let data: Value =
                serde_json::from_str(data.strip_prefix("data: ").expect("a data line")).unwrap();
            assert_eq!(data["type"], name.as_str(), "event name matches type");
            (name, data)
        })
        .collect()
}

fn names(frames: &[(String, Value)]) -> Vec<&str> {
    frames.iter().map(|(name, _)| name.as_str()).collect()
}

/// Rebuilds the final message from the frames, as the Anthropic SDKs do.
fn accumulate(frames: &[(String, Value)]) -> Value {
    let mut message = Value::Null;
    let mut partial_json: Vec<String> = Vec::new();
    for (name, data) in frames {
        match name.as_str() {
            "message_start" => message = data["message"].clone(),
            "content_block_start" => {
                let index = data["index"].as_u64().unwrap() as usize;
                let content = message["content"].as_array_mut().unwrap();
                assert_eq!(content.len(), index, "indexes increase one by one");
                content.push(data["content_block"].clone());
                partial_json.push(String::new());
            }
            "content_block_delta" => {
                let index = data["index"].as_u64().unwrap() as usize;
                let block = &mut message["content"][index];
                let delta = &data["delta"];
                match delta["type"].as_str().unwrap() {
                    "text_delta" => append(&mut block["text"], &delta["text"]),
                    "thinking_delta" => append(&mut block["thinking"], &delta["thinking"]),
                    "signature_delta" => block["signature"] = delta["signature"].clone(),
                    "input_json_delta" => {
                        partial_json[index].push_str(delta["partial_json"].as_str().unwrap())
                    }
                    other => panic!("unknown delta {other}"),
                }
            }
            "content_block_stop" => {
                let index = data["index"].as_u64().unwrap() as usize;
                if message["content"][index]["type"] == "tool_use"
                    && !partial_json[index].is_empty()
                {
                    message["content"][index]["input"] =
                        serde_json::from_str(&partial_json[index]).unwrap();
                }
            }
            "message_delta" => {
                message["stop_reason"] = data["delta"]["stop_reason"].clone();
                message["stop_sequence"] = data["delta"]["stop_sequence"].clone();
                for (key, value) in data["usage"].as_object().unwrap() {
                    message["usage"][key] = value.clone();
                }
            }
            "ping" | "message_stop" => {}
            other => panic!("unexpected event {other}"),
        }
    }
    message
}

fn append(target: &mut Value, piece: &Value) {
    let joined = format!("{}{}", target.as_str().unwrap(), piece.as_str().unwrap());
    *target = Value::String(joined);
}

fn metadata(id: &str) -> StreamEvent {
    StreamEvent::ResponseMetadata(ResponseMetadata {
        id: Some(id.into()),
        model: Some("gpt-5-upstream".into()),
        created: Some(1),
    })
}

fn text(id: &str, delta: &str) -> StreamEvent {
    StreamEvent::TextDelta {
        id: id.into(),
        delta: delta.into(),
    }
}

fn finish(reason: FinishReason, raw: Option<&str>, usage: Usage) -> StreamEvent {
    StreamEvent::Finish(Finish {
        reason,
        raw_reason: raw.map(Into::into),
        usage,
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

#[test]
fn a_text_answer_streams_in_exactly_anthropic_s_order() {
    let frames = frames(&encode(&[
        metadata("chatcmpl-abc"),
        StreamEvent::TextStart("0".into()),
        text("0", "Hello"),
        text("0", ", world"),
        StreamEvent::TextEnd("0".into()),
        finish(
            FinishReason::Stop,
            Some("stop"),
            Usage {
                input_tokens: Some(12),
                output_tokens: Some(3),
                ..Default::default()
            },
        ),
    ]));
    assert_eq!(
        names(&frames),
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    assert_eq!(
        frames[0].1["message"],
        json!({
            "id": "msg_chatcmpl-abc", "type": "message", "role": "assistant",
            "model": "claude-sonnet", "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 0, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": 0},
        })
    );
    assert_eq!(
        frames[2].1,
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    );
    assert_eq!(
        frames[3].1,
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}})
    );
    assert_eq!(
        frames[5].1,
        json!({"type": "content_block_stop", "index": 0})
    );
    assert_eq!(
        frames[6].1,
        json!({
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": null},
            "usage": {"input_tokens": 12, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": 3},
        })
    );
}

#[test]
fn thinking_streams_its_text_then_its_signature_before_the_block_stops() {
    let frames = frames(&encode(&[
        metadata("msg_01"),
        StreamEvent::ReasoningStart("r".into()),
        StreamEvent::ReasoningDelta {
            id: "r".into(),
            delta: "Let me think".into(),
        },
        StreamEvent::ReasoningEnd {
            id: "r".into(),
            signature: Some("EqQBCkYI".into()),
            redacted: None,
        },
        StreamEvent::ReasoningEnd {
            id: "x".into(),
            signature: None,
            redacted: Some("EmwKAhgB".into()),
        },
        StreamEvent::TextStart("t".into()),
        text("t", "Answer."),
        StreamEvent::TextEnd("t".into()),
        finish(FinishReason::Stop, Some("end_turn"), Usage::default()),
    ]));
    assert_eq!(
        frames[0].1["message"]["id"], "msg_01",
        "an Anthropic id is kept"
    );
    let deltas: Vec<_> = frames
        .iter()
        .filter(|(name, _)| name == "content_block_delta")
        .map(|(_, data)| {
            (
                data["index"].as_u64().unwrap(),
                data["delta"]["type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        deltas,
        [
            (0, "thinking_delta"),
            (0, "signature_delta"),
            (2, "text_delta")
        ]
    );
    assert_eq!(
        frames[2].1["content_block"],
        json!({"type": "thinking", "thinking": "", "signature": ""})
    );
    assert_eq!(
        frames[5].1,
        json!({"type": "content_block_stop", "index": 0})
    );
    assert_eq!(
        frames[6].1["content_block"],
        json!({"type": "redacted_thinking", "data": "EmwKAhgB"})
    );
    let message = accumulate(&frames);
    assert_eq!(
        message["content"],
        json!([
            {"type": "thinking", "thinking": "Let me think", "signature": "EqQBCkYI"},
            {"type": "redacted_thinking", "data": "EmwKAhgB"},
            {"type": "text", "text": "Answer."},
        ])
    );
}

#[test]
fn parallel_tool_calls_get_one_block_each_with_streamed_arguments() {
    let frames = frames(&encode(&[
        metadata("msg_02"),
        text("t", "Checking both."),
        StreamEvent::ToolInputStart {
            id: "call_1".into(),
            name: "get_weather".into(),
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
        call("call_1", "get_weather", "{\"city\":\"Paris\"}"),
        // A second call that arrives whole, as Gemini sends them.
        call("call_2", "get_weather", "{\"city\":\"Rome\"}"),
        finish(
            FinishReason::ToolCalls,
            Some("tool_calls"),
            Usage::default(),
        ),
    ]));
    let starts: Vec<_> = frames
        .iter()
        .filter(|(name, _)| name == "content_block_start")
        .map(|(_, data)| data["content_block"].clone())
        .collect();
    assert_eq!(
        starts,
        [
            json!({"type": "text", "text": ""}),
            json!({"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {}}),
            json!({"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {}}),
        ]
    );
    let partial: Vec<_> = frames
        .iter()
        .filter(|(_, data)| data["delta"]["type"] == "input_json_delta")
        .map(|(_, data)| {
            (
                data["index"].as_u64().unwrap(),
                data["delta"]["partial_json"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        partial,
        [
            (1, "{\"city\":"),
            (1, "\"Paris\"}"),
            (2, "{\"city\":\"Rome\"}")
        ],
        "the complete call adds nothing to arguments already streamed"
    );
    let message = accumulate(&frames);
    assert_eq!(message["stop_reason"], "tool_use");
    assert_eq!(message["content"][1]["input"], json!({"city": "Paris"}));
    assert_eq!(message["content"][2]["input"], json!({"city": "Rome"}));
}

#[test]
fn usage_reports_input_without_cached_tokens_and_the_cache_separately() {
    let frames = frames(&encode(&[
        text("0", "ok"),
        finish(
            FinishReason::Stop,
            None,
            Usage {
                input_tokens: Some(10_000),
                output_tokens: Some(42),
                cache_read_tokens: Some(8_000),
                cache_write_tokens: Some(1_500),
                reasoning_tokens: Some(10),
            },
        ),
    ]));
    let (_, delta) = frames
        .iter()
        .find(|(name, _)| name == "message_delta")
        .unwrap();
    assert_eq!(
        delta["usage"],
        json!({"input_tokens": 500, "cache_creation_input_tokens": 1500,
               "cache_read_input_tokens": 8000, "output_tokens": 42})
    );
    assert_eq!(
        names(&frames)[..2],
        ["message_start", "ping"],
        "a stream without metadata still starts properly"
    );
    assert!(
        frames[0].1["message"]["id"]
            .as_str()
            .unwrap()
            .starts_with("msg_")
    );
}

#[test]
fn length_stops_and_stop_sequences_get_anthropic_s_reasons() {
    let reason_of = |event: StreamEvent| {
        let frames = frames(&encode(&[text("0", "x"), event]));
        let (_, delta) = frames
            .into_iter()
            .find(|(name, _)| name == "message_delta")
            .unwrap();
        (
            delta["delta"]["stop_reason"].clone(),
            delta["delta"]["stop_sequence"].clone(),
        )
    };
    assert_eq!(
        reason_of(finish(
            FinishReason::Length,
            Some("length"),
            Usage::default()
        )),
        (json!("max_tokens"), Value::Null)
    );
    assert_eq!(
        reason_of(finish(
            FinishReason::ContentFilter,
            Some("content_filter"),
            Usage::default()
        )),
        (json!("refusal"), Value::Null)
    );
    assert_eq!(
        reason_of(StreamEvent::Finish(Finish {
            reason: FinishReason::Stop,
            raw_reason: Some("stop_sequence".into()),
            usage: Usage::default(),
            options: Some(json!({"anthropic": {"stop_sequence": "END"}})),
        })),
        (json!("stop_sequence"), json!("END"))
    );
    assert_eq!(
        reason_of(finish(
            FinishReason::Other,
            Some("pause_turn"),
            Usage::default()
        )),
        (json!("pause_turn"), Value::Null)
    );
}

#[test]
fn an_upstream_that_ends_without_finishing_still_gets_a_stop_reason_and_message_stop() {
    let frames = frames(&encode(&[metadata("m"), text("0", "partial")]));
    assert_eq!(
        names(&frames)[4..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    assert_eq!(frames[5].1["delta"]["stop_reason"], "end_turn");
}

#[test]
fn a_mid_stream_error_is_an_error_event_and_nothing_follows() {
    let mut encoder = MessagesStreamEncoder::new("claude-sonnet");
    let mut out = Vec::new();
    encoder.event(&metadata("m"), &mut out);
    encoder.event(&text("0", "Hel"), &mut out);
    encoder.event(
        &StreamEvent::Error(UpstreamError {
            class: ErrorClass::Other,
            message: "connection reset".into(),
        }),
        &mut out,
    );
    encoder.event(&text("0", "lo"), &mut out);
    encoder.done(&mut out);
    let frames = frames(&out);
    assert_eq!(
        names(&frames),
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "error"
        ]
    );
    assert_eq!(
        frames[4].1,
        json!({"type": "error", "error": {"type": "api_error", "message": "connection reset"}})
    );
}

#[test]
fn an_overloaded_upstream_mid_stream_is_an_overloaded_error_clients_retry() {
    let frames = frames(&encode(&[StreamEvent::Error(UpstreamError {
        class: ErrorClass::Other,
        message: "Overloaded".into(),
    })]));
    assert_eq!(names(&frames), ["error"]);
    assert_eq!(frames[0].1["error"]["type"], "overloaded_error");
}

#[test]
fn streamed_and_collected_answers_are_the_same_message() {
    let events = [
        metadata("msg_same"),
        StreamEvent::ReasoningStart("r".into()),
        StreamEvent::ReasoningDelta {
            id: "r".into(),
            delta: "Plan: call the tool.".into(),
        },
        StreamEvent::ReasoningEnd {
            id: "r".into(),
            signature: Some("sig".into()),
            redacted: None,
        },
        StreamEvent::TextStart("t".into()),
        text("t", "Let me "),
        text("t", "check."),
        StreamEvent::TextEnd("t".into()),
        StreamEvent::ToolInputStart {
            id: "toolu_1".into(),
            name: "Bash".into(),
        },
        StreamEvent::ToolInputDelta {
            id: "toolu_1".into(),
            delta: "{\"command\":\"ls\"}".into(),
        },
        StreamEvent::ToolInputEnd("toolu_1".into()),
        call("toolu_1", "Bash", "{\"command\":\"ls\"}"),
        finish(
            FinishReason::ToolCalls,
            Some("tool_use"),
            Usage {
                input_tokens: Some(100),
                output_tokens: Some(20),
                cache_read_tokens: Some(60),
                ..Default::default()
            },
        ),
    ];
    let streamed = accumulate(&frames(&encode(&events)));

    let mut collector = Collector::new();
    for event in &events {
        collector.push(event);
    }
    let collected: Value =
        serde_json::from_slice(&response_json(&collector.finish(), "claude-sonnet")).unwrap();

    assert_eq!(streamed, collected);
    assert_eq!(
        collected,
        json!({
            "id": "msg_same", "type": "message", "role": "assistant", "model": "claude-sonnet",
            "content": [
                {"type": "thinking", "thinking": "Plan: call the tool.", "signature": "sig"},
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}},
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 40, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 60, "output_tokens": 20},
        })
    );
}

#[test]
fn a_collected_answer_from_a_stop_happy_upstream_that_called_tools_says_tool_use() {
    let mut collector = Collector::new();
    collector.push(&call("c1", "f", ""));
    collector.push(&finish(FinishReason::Stop, Some("STOP"), Usage::default()));
    let message: Value = serde_json::from_slice(&response_json(&collector.finish(), "m")).unwrap();
    assert_eq!(message["stop_reason"], "tool_use");
    assert_eq!(
        message["content"][0]["input"],
        json!({}),
        "empty arguments are an empty input"
    );
}
