//! Stories of upstream event streams told to an OpenAI client: the SSE bytes are parsed
//! back with serde_json, and the client's view (text, tool calls, usage) is rebuilt the
//! way the openai SDKs do it.

use serde_json::{Value, json};

use super::{ChatStreamEncoder, response_json};
use crate::ir::{
    ErrorClass, Finish, FinishReason, ResponseMetadata, StreamEvent, ToolCallPart, UpstreamError,
    Usage,
};
use crate::surfaces::collect::Collector;
use crate::surfaces::{ClientError, ErrorKind, StreamEncoder};

/// What a client reads from the stream.
#[derive(Debug)]
struct Sse {
    chunks: Vec<Value>,
    done: bool,
}

fn encode(encoder: &mut ChatStreamEncoder, events: &[StreamEvent], close: bool) -> Sse {
    let mut out = Vec::new();
    for event in events {
        encoder.event(event, &mut out);
    }
    if close {
        encoder.done(&mut out);
    }
    parse(&out)
}

fn parse(bytes: &[u8]) -> Sse {
    let text = std::str::from_utf8(bytes).unwrap();
    assert!(
        text.is_empty() || text.ends_with("\n\n"),
        "frames end with a blank line: {text:?}"
    );
    let mut sse = Sse {
        chunks: Vec::new(),
        done: false,
    };
    for frame in text.split_terminator("\n\n") {
        let data = frame
            .strip_prefix("data: ")
            .unwrap_or_else(|| panic!("not a data frame: {frame:?}"));
        assert!(!sse.done, "nothing may follow [DONE]");
        if data == "[DONE]" {
            sse.done = true;
        } else {
            sse.chunks
                .push(serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}")));
        }
    }
    sse
}

fn text_delta(delta: &str) -> StreamEvent {
    StreamEvent::TextDelta {
        id: "t".into(),
        delta: delta.into(),
    }
}

fn finish(reason: FinishReason, usage: Usage) -> StreamEvent {
    StreamEvent::Finish(Finish {
        reason,
        raw_reason: None,
        usage,
        options: None,
    })
}

fn metadata(id: &str) -> StreamEvent {
    StreamEvent::ResponseMetadata(ResponseMetadata {
        id: Some(id.into()),
        model: Some("upstream-x".into()),
        created: Some(1_700_000_000),
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

/// The delta of a chunk's only choice.
fn delta(chunk: &Value) -> &Value {
    &chunk["choices"][0]["delta"]
}

/// Tool calls as an SDK accumulates them: by `index`, concatenating arguments.
fn accumulated_tool_calls(chunks: &[Value]) -> Vec<(String, String, String)> {
    let mut calls: Vec<(String, String, String)> = Vec::new();
    for chunk in chunks {
        for call in delta(chunk)["tool_calls"].as_array().into_iter().flatten() {
            let index = call["index"].as_u64().unwrap() as usize;
            if index == calls.len() {
                calls.push(Default::default());
            }
            let entry = &mut calls[index];
            if let Some(id) = call["id"].as_str() {
                entry.0 = id.into();
            }
            if let Some(name) = call["function"]["name"].as_str() {
                entry.1 = name.into();
            }
            entry
                .2
                .push_str(call["function"]["arguments"].as_str().unwrap_or_default());
        }
    }
    calls
}

#[test]
fn a_text_answer_streams_as_openai_chunks() {
    let mut encoder = ChatStreamEncoder::new("my-alias", false);
    let sse = encode(
        &mut encoder,
        &[
            metadata("chatcmpl-up1"),
            StreamEvent::TextStart("t".into()),
            text_delta("Hel"),
            text_delta(""),
            text_delta("lo \"there\"\n✓"),
            StreamEvent::TextEnd("t".into()),
            finish(FinishReason::Stop, Usage::default()),
        ],
        true,
    );

    assert!(sse.done);
    assert_eq!(
        sse.chunks[0],
        json!({
            "id": "chatcmpl-up1", "object": "chat.completion.chunk", "created": 1_700_000_000u64,
            "model": "my-alias", "system_fingerprint": null,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": "", "refusal": null},
                         "logprobs": null, "finish_reason": null}]
        })
    );
    let contents: Vec<_> = sse.chunks[1..3]
        .iter()
        .map(|c| delta(c)["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents,
        ["Hel", "lo \"there\"\n✓"],
        "empty deltas are skipped, strings escaped"
    );
    assert_eq!(
        sse.chunks[3]["choices"][0],
        json!({"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"})
    );
    assert_eq!(sse.chunks.len(), 4);
    for chunk in &sse.chunks {
        assert_eq!(chunk["id"], "chatcmpl-up1");
        assert_eq!(chunk["model"], "my-alias");
        assert!(
            chunk.get("usage").is_none(),
            "no usage field unless the client asked"
        );
    }
}

#[test]
fn parallel_tool_calls_stream_with_increasing_indices() {
    let mut encoder = ChatStreamEncoder::new("m", false);
    let sse = encode(
        &mut encoder,
        &[
            metadata("msg_01"),
            StreamEvent::ToolInputStart {
                id: "toolu_a".into(),
                name: "read".into(),
            },
            StreamEvent::ToolInputDelta {
                id: "toolu_a".into(),
                delta: "{\"path\":".into(),
            },
            StreamEvent::ToolInputStart {
                id: "toolu_b".into(),
                name: "grep".into(),
            },
            StreamEvent::ToolInputDelta {
                id: "toolu_b".into(),
                delta: "{\"q\":\"fn\"}".into(),
            },
            StreamEvent::ToolInputDelta {
                id: "toolu_a".into(),
                delta: "\"a.rs\"}".into(),
            },
            StreamEvent::ToolInputEnd("toolu_a".into()),
            StreamEvent::ToolInputEnd("toolu_b".into()),
            call("toolu_a", "read", "{\"path\":\"a.rs\"}"),
            call("toolu_b", "grep", "{\"q\":\"fn\"}"),
            finish(FinishReason::ToolCalls, Usage::default()),
        ],
        true,
    );

    assert_eq!(sse.chunks[0]["id"], "chatcmpl-msg_01");
    assert_eq!(
        delta(&sse.chunks[1]),
        &json!({"tool_calls": [{"index": 0, "id": "toolu_a", "type": "function", "function": {"name": "read", "arguments": ""}}]})
    );
    assert_eq!(
        delta(&sse.chunks[2]),
        &json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"path\":"}}]})
    );
    assert_eq!(
        accumulated_tool_calls(&sse.chunks),
        vec![
            (
                "toolu_a".into(),
                "read".into(),
                "{\"path\":\"a.rs\"}".into()
            ),
            ("toolu_b".into(), "grep".into(), "{\"q\":\"fn\"}".into()),
        ],
        "the complete calls repeat nothing already streamed"
    );
    assert_eq!(
        sse.chunks.last().unwrap()["choices"][0]["finish_reason"],
        "tool_calls"
    );
}

#[test]
fn complete_calls_without_input_events_go_out_whole_and_turn_stop_into_tool_calls() {
    let mut encoder = ChatStreamEncoder::new("gemini-pro", false);
    let sse = encode(
        &mut encoder,
        &[
            text_delta("Checking both."),
            call("c1", "weather", "{\"city\":\"Oslo\"}"),
            call("c2", "weather", "{\"city\":\"Rome\"}"),
            finish(FinishReason::Stop, Usage::default()),
        ],
        true,
    );
    let id = sse.chunks[0]["id"].as_str().unwrap();
    assert!(
        id.starts_with("chatcmpl-"),
        "a generated id when the upstream gave none: {id}"
    );
    assert!(
        sse.chunks.iter().all(|c| c["id"] == id),
        "one id for the whole stream"
    );
    assert_eq!(
        delta(&sse.chunks[0])["role"],
        "assistant",
        "the role chunk comes first even without metadata"
    );
    assert_eq!(
        delta(&sse.chunks[2]),
        &json!({"tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}}]})
    );
    assert_eq!(delta(&sse.chunks[3])["tool_calls"][0]["index"], 1);
    assert_eq!(
        sse.chunks.last().unwrap()["choices"][0]["finish_reason"],
        "tool_calls"
    );
}

#[test]
fn with_include_usage_every_chunk_has_null_usage_and_a_last_chunk_carries_it() {
    let mut encoder = ChatStreamEncoder::new("m", true);
    let usage = Usage {
        input_tokens: Some(120),
        output_tokens: Some(30),
        cache_read_tokens: Some(100),
        cache_write_tokens: Some(5),
        reasoning_tokens: Some(12),
    };
    let sse = encode(
        &mut encoder,
        &[
            metadata("chatcmpl-u"),
            StreamEvent::ReasoningDelta {
                id: "r".into(),
                delta: "thinking".into(),
            },
            text_delta("ok"),
            finish(FinishReason::Length, usage),
        ],
        true,
    );

    assert!(sse.done);
    let (last, rest) = sse.chunks.split_last().unwrap();
    for chunk in rest {
        assert_eq!(chunk["usage"], Value::Null);
        assert!(chunk.get("usage").is_some());
    }
    assert_eq!(delta(&rest[1]), &json!({"reasoning_content": "thinking"}));
    assert_eq!(
        rest.last().unwrap()["choices"][0]["finish_reason"],
        "length"
    );
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["id"], "chatcmpl-u");
    assert_eq!(
        last["usage"],
        json!({
            "prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150,
            "prompt_tokens_details": {"cached_tokens": 100, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 12, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
        })
    );
}

#[test]
fn a_mid_stream_error_is_the_last_frame() {
    let mut encoder = ChatStreamEncoder::new("m", true);
    let sse = encode(
        &mut encoder,
        &[
            text_delta("partial"),
            StreamEvent::Error(UpstreamError {
                class: ErrorClass::Other,
                message: "upstream overloaded".into(),
            }),
            text_delta("never seen"),
        ],
        true,
    );
    assert!(!sse.done, "the stream ends at the error");
    assert_eq!(sse.chunks.len(), 3);
    assert_eq!(
        sse.chunks[2],
        json!({"error": {"message": "upstream overloaded", "type": "server_error", "param": null, "code": null}})
    );

    let mut encoder = ChatStreamEncoder::new("m", false);
    let mut out = Vec::new();
    encoder.error(
        &ClientError::new(ErrorKind::RateLimited, "every account is cooling down"),
        &mut out,
    );
    encoder.done(&mut out);
    let sse = parse(&out);
    assert_eq!(
        sse.chunks,
        [
            json!({"error": {"message": "every account is cooling down", "type": "requests", "param": null, "code": "rate_limit_exceeded"}})
        ]
    );
}

#[test]
fn a_stream_cut_short_still_tells_the_client_it_finished() {
    let mut encoder = ChatStreamEncoder::new("m", true);
    let sse = encode(&mut encoder, &[text_delta("half an ans")], true);
    let finish_chunk = &sse.chunks[sse.chunks.len() - 2];
    assert_eq!(finish_chunk["choices"][0]["finish_reason"], "stop");
    assert_eq!(sse.chunks.last().unwrap()["usage"]["total_tokens"], 0);
    assert!(sse.done);

    let mut out = Vec::new();
    encoder.done(&mut out);
    assert!(out.is_empty(), "done is idempotent");
}

#[test]
fn streamed_and_collected_answers_tell_the_same_story() {
    let events = [
        metadata("chatcmpl-same"),
        StreamEvent::ReasoningStart("r".into()),
        StreamEvent::ReasoningDelta {
            id: "r".into(),
            delta: "Need a file.".into(),
        },
        StreamEvent::ReasoningEnd {
            id: "r".into(),
            signature: Some("sig".into()),
            redacted: None,
        },
        StreamEvent::TextStart("t".into()),
        text_delta("Reading "),
        text_delta("it."),
        StreamEvent::TextEnd("t".into()),
        StreamEvent::ToolInputStart {
            id: "call_7".into(),
            name: "read".into(),
        },
        StreamEvent::ToolInputDelta {
            id: "call_7".into(),
            delta: "{\"path\":\"README\"}".into(),
        },
        StreamEvent::ToolInputEnd("call_7".into()),
        call("call_7", "read", "{\"path\":\"README\"}"),
        finish(
            FinishReason::ToolCalls,
            Usage {
                input_tokens: Some(9),
                output_tokens: Some(4),
                ..Default::default()
            },
        ),
    ];

    let sse = encode(&mut ChatStreamEncoder::new("alias", true), &events, true);
    let streamed_text: String = sse
        .chunks
        .iter()
        .filter_map(|c| delta(c)["content"].as_str())
        .collect();
    let streamed_reasoning: String = sse
        .chunks
        .iter()
        .filter_map(|c| delta(c)["reasoning_content"].as_str())
        .collect();

    let mut collector = Collector::new();
    events.iter().for_each(|event| collector.push(event));
    let body: Value = serde_json::from_slice(&response_json(&collector.finish(), "alias")).unwrap();
    let message = &body["choices"][0]["message"];

    assert_eq!(body["id"], sse.chunks[0]["id"]);
    assert_eq!(body["created"], sse.chunks[0]["created"]);
    assert_eq!(message["content"].as_str().unwrap(), streamed_text);
    assert_eq!(
        message["reasoning_content"].as_str().unwrap(),
        streamed_reasoning
    );
    let (id, name, arguments) = accumulated_tool_calls(&sse.chunks).remove(0);
    assert_eq!(
        message["tool_calls"],
        json!([{"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}])
    );
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(body["usage"], sse.chunks.last().unwrap()["usage"]);
}
