//! Streams as Codex and the openai SDK read them: the exact event order, items for
//! text, reasoning, function and custom calls, the terminal events, and the collected
//! form of the same answer.

use serde_json::{Value, json};

use super::{ResponsesStreamEncoder, decode, response_json, response_json_for_request};
use crate::ir::{
    ErrorClass, Finish, FinishReason, Part, ResponseMetadata, StreamEvent, ToolCallPart,
    UpstreamError, Usage,
};
use crate::surfaces::collect::Collector;
use crate::surfaces::{ClientError, Decoded, StreamEncoder};

/// Frames as (event line, data JSON); asserts the two name the same type.
fn frames(bytes: &[u8]) -> Vec<(String, Value)> {
    let text = std::str::from_utf8(bytes).unwrap();
    assert!(text.ends_with("\n\n"), "frames end with a blank line");
    text.split_terminator("\n\n")
        .map(|frame| {
            let (event, data) = frame.split_once('\n').expect("event and data lines");
            let event = event
                .strip_prefix("event: ")
                .expect("event line")
                .to_owned();
            let data: Value =
                serde_json::from_str(data.strip_prefix("data: ").expect("data line")).unwrap();
            assert_eq!(data["type"], event.as_str());
            (event, data)
        })
        .collect()
}

fn encode(encoder: &mut ResponsesStreamEncoder, events: &[StreamEvent]) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for event in events {
        encoder.event(event, &mut out);
    }
    encoder.done(&mut out);
    let frames = frames(&out);
    for (index, (_, data)) in frames.iter().enumerate() {
        assert_eq!(
            data["sequence_number"], index,
            "sequence numbers run from 0"
        );
    }
    frames
}

fn types(frames: &[(String, Value)]) -> Vec<&str> {
    frames.iter().map(|(event, _)| event.as_str()).collect()
}

fn metadata() -> StreamEvent {
    StreamEvent::ResponseMetadata(ResponseMetadata {
        id: Some("msg_01abc".into()),
        model: Some("claude-sonnet-4".into()),
        created: Some(1_700_000_000),
    })
}

fn finish(reason: FinishReason) -> StreamEvent {
    StreamEvent::Finish(Finish {
        reason,
        raw_reason: None,
        usage: Usage {
            input_tokens: Some(120),
            output_tokens: Some(30),
            cache_read_tokens: Some(100),
            cache_write_tokens: None,
            reasoning_tokens: Some(12),
        },
        options: None,
    })
}

fn text(id: &str, delta: &str) -> StreamEvent {
    StreamEvent::TextDelta {
        id: id.into(),
        delta: delta.into(),
    }
}

fn call(id: &str, name: &str, arguments: &str) -> StreamEvent {
    StreamEvent::ToolCall(ToolCallPart {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
        options: None,
    })
}

/// A Codex request declaring a function, a custom and a namespaced tool.
fn codex_request() -> Decoded {
    decode(
        json!({
            "model": "sonnet",
            "input": "fix it",
            "stream": true,
            "parallel_tool_calls": true,
            "tool_choice": "auto",
            "tools": [
                {"type": "function", "name": "exec_command", "parameters": {"type": "object"}},
                {"type": "custom", "name": "apply_patch", "format": {"type": "text"}},
                {"type": "namespace", "name": "mcp_fs", "tools": [{"type": "function", "name": "read"}]}
            ]
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap()
}

#[test]
fn a_text_answer_streams_the_events_the_sdk_expects() {
    let mut encoder = ResponsesStreamEncoder::new("gpt-5");
    let frames = encode(
        &mut encoder,
        &[
            metadata(),
            StreamEvent::TextStart("0".into()),
            text("0", "Hello"),
            text("0", ", world"),
            StreamEvent::TextEnd("0".into()),
            finish(FinishReason::Stop),
        ],
    );
    assert_eq!(
        types(&frames),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let created = &frames[0].1["response"];
    assert_eq!(created["id"], "resp_msg_01abc");
    assert_eq!(created["object"], "response");
    assert_eq!(created["status"], "in_progress");
    assert_eq!(created["output"], json!([]));
    assert_eq!(created["model"], "gpt-5", "the client's model name");
    assert_eq!(created["created_at"], 1_700_000_000);

    let added = &frames[2].1;
    assert_eq!(added["output_index"], 0);
    assert_eq!(
        added["item"],
        json!({"id": "msg_msg_01abc_0", "type": "message", "status": "in_progress", "content": [], "role": "assistant"})
    );
    assert_eq!(
        frames[3].1["part"],
        json!({"type": "output_text", "annotations": [], "logprobs": [], "text": ""})
    );
    let delta = &frames[4].1;
    assert_eq!(delta["item_id"], "msg_msg_01abc_0");
    assert_eq!(
        (
            delta["output_index"].clone(),
            delta["content_index"].clone()
        ),
        (json!(0), json!(0))
    );
    assert_eq!(delta["delta"], "Hello");
    assert_eq!(delta["logprobs"], json!([]));
    assert_eq!(frames[6].1["text"], "Hello, world");
    assert_eq!(frames[7].1["part"]["text"], "Hello, world");
    assert_eq!(frames[8].1["item"]["status"], "completed");

    let completed = &frames[9].1["response"];
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["incomplete_details"], Value::Null);
    assert_eq!(completed["error"], Value::Null);
    assert_eq!(completed["output"][0]["content"][0]["text"], "Hello, world");
    assert_eq!(
        completed["usage"],
        json!({
            "input_tokens": 120,
            "input_tokens_details": {"cached_tokens": 100},
            "output_tokens": 30,
            "output_tokens_details": {"reasoning_tokens": 12},
            "total_tokens": 150,
        })
    );
    for echo in [
        "parallel_tool_calls",
        "tool_choice",
        "tools",
        "text",
        "reasoning",
        "store",
        "truncation",
    ] {
        assert!(completed.get(echo).is_some(), "{echo} is echoed");
    }
}

#[test]
fn reasoning_streams_as_a_summary_and_its_signature_survives_a_codex_replay() {
    let mut encoder = ResponsesStreamEncoder::new("sonnet");
    let frames = encode(
        &mut encoder,
        &[
            metadata(),
            StreamEvent::ReasoningStart("r".into()),
            StreamEvent::ReasoningDelta {
                id: "r".into(),
                delta: "The user ".into(),
            },
            StreamEvent::ReasoningDelta {
                id: "r".into(),
                delta: "wants ls.".into(),
            },
            StreamEvent::ReasoningEnd {
                id: "r".into(),
                signature: Some("EqQBsig".into()),
                redacted: None,
            },
            StreamEvent::TextStart("t".into()),
            text("t", "Sure."),
            StreamEvent::TextEnd("t".into()),
            finish(FinishReason::Stop),
        ],
    );
    assert_eq!(
        types(&frames)[2..9],
        [
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
        ]
    );
    assert_eq!(
        frames[2].1["item"],
        json!({"id": "rs_msg_01abc_0", "type": "reasoning", "summary": []})
    );
    assert_eq!(frames[4].1["summary_index"], 0);
    assert_eq!(frames[6].1["text"], "The user wants ls.");
    let item = frames[8].1["item"].clone();
    assert_eq!(
        item["summary"],
        json!([{"type": "summary_text", "text": "The user wants ls."}])
    );
    assert_eq!(item["encrypted_content"], "plugboard-signature:EqQBsig");
    // The text item after it is output 1.
    assert_eq!(frames[9].1["output_index"], 1);

    // Codex sends the item back next turn: the IR gets the exact thinking and signature.
    let replay = decode(
        json!({"model": "sonnet", "input": [{"role": "user", "content": "hi"}, item]})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let Part::Reasoning(reasoning) = &replay.request.messages[1].parts[0] else {
        panic!()
    };
    assert_eq!(reasoning.text, "The user wants ls.");
    assert_eq!(reasoning.signature.as_deref(), Some("EqQBsig"));
}

#[test]
fn redacted_reasoning_alone_is_an_item_with_encrypted_content_and_no_summary() {
    let mut encoder = ResponsesStreamEncoder::new("m");
    let frames = encode(
        &mut encoder,
        &[StreamEvent::ReasoningEnd {
            id: "r".into(),
            signature: None,
            redacted: Some("opaque".into()),
        }],
    );
    assert_eq!(
        types(&frames),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(
        frames[3].1["item"],
        json!({"id": frames[3].1["item"]["id"], "type": "reasoning", "summary": [], "encrypted_content": "opaque"})
    );
}

#[test]
fn parallel_function_calls_stream_their_arguments_then_complete() {
    let mut encoder = ResponsesStreamEncoder::new("gpt-5");
    let frames = encode(
        &mut encoder,
        &[
            metadata(),
            StreamEvent::ToolInputStart {
                id: "call_a".into(),
                name: "exec_command".into(),
            },
            StreamEvent::ToolInputDelta {
                id: "call_a".into(),
                delta: "{\"cmd\":".into(),
            },
            StreamEvent::ToolInputDelta {
                id: "call_a".into(),
                delta: "\"ls\"}".into(),
            },
            StreamEvent::ToolInputEnd("call_a".into()),
            call("call_a", "exec_command", "{\"cmd\":\"ls\"}"),
            // The second call arrives whole, without input events.
            call("call_b", "exec_command", "{\"cmd\":\"pwd\"}"),
            finish(FinishReason::ToolCalls),
        ],
    );
    assert_eq!(
        types(&frames),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(
        frames[2].1["item"],
        json!({"id": "fc_msg_01abc_0", "type": "function_call", "status": "in_progress",
               "arguments": "", "call_id": "call_a", "name": "exec_command"})
    );
    assert_eq!(frames[5].1["arguments"], "{\"cmd\":\"ls\"}");
    assert_eq!(frames[7].1["output_index"], 1);
    assert_eq!(frames[8].1["delta"], "{\"cmd\":\"pwd\"}");
    let output = &frames[11].1["response"]["output"];
    assert_eq!(output.as_array().unwrap().len(), 2);
    assert_eq!(output[1]["call_id"], "call_b");
    assert_eq!(output[1]["status"], "completed");
}

#[test]
fn custom_and_namespaced_tools_go_back_as_the_client_declared_them() {
    let request = codex_request();
    let mut encoder = ResponsesStreamEncoder::for_request("sonnet", &request);
    let frames = encode(
        &mut encoder,
        &[
            metadata(),
            StreamEvent::ToolInputStart {
                id: "toolu_1".into(),
                name: "apply_patch".into(),
            },
            StreamEvent::ToolInputDelta {
                id: "toolu_1".into(),
                delta: "{\"input\":\"*** Begin".into(),
            },
            StreamEvent::ToolInputDelta {
                id: "toolu_1".into(),
                delta: " Patch\\n\"}".into(),
            },
            StreamEvent::ToolInputEnd("toolu_1".into()),
            call(
                "toolu_1",
                "apply_patch",
                "{\"input\":\"*** Begin Patch\\n\"}",
            ),
            call("toolu_2", "mcp_fs__read", "{}"),
            finish(FinishReason::ToolCalls),
        ],
    );
    assert_eq!(
        types(&frames)[2..7],
        [
            "response.output_item.added",
            "response.custom_tool_call_input.delta",
            "response.custom_tool_call_input.done",
            "response.output_item.done",
            "response.output_item.added",
        ]
    );
    assert_eq!(
        frames[2].1["item"],
        json!({"id": "ctc_msg_01abc_0", "type": "custom_tool_call", "status": "in_progress",
               "call_id": "toolu_1", "name": "apply_patch", "input": ""})
    );
    assert_eq!(frames[3].1["delta"], "*** Begin Patch\n");
    assert_eq!(frames[4].1["input"], "*** Begin Patch\n");
    assert_eq!(frames[5].1["item"]["input"], "*** Begin Patch\n");
    let read = &frames[6].1["item"];
    assert_eq!(
        (read["name"].as_str(), read["namespace"].as_str()),
        (Some("read"), Some("mcp_fs"))
    );

    let completed = &frames.last().unwrap().1["response"];
    let tools: Vec<&str> = completed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    assert_eq!(tools, ["function", "custom", "function"]);
    assert_eq!(completed["parallel_tool_calls"], true);

    // Codex replays the custom call: it decodes back to the same IR call.
    let replay = decode(
        json!({"model": "sonnet", "input": [frames[5].1["item"].clone(), read.clone()]})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let names: Vec<_> = replay.request.messages[0]
        .parts
        .iter()
        .map(|p| match p {
            Part::ToolCall(call) => (call.name.clone(), call.arguments.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        names,
        [
            (
                "apply_patch".to_owned(),
                "{\"input\":\"*** Begin Patch\\n\"}".to_owned()
            ),
            ("mcp_fs__read".to_owned(), "{}".to_owned()),
        ]
    );
}

#[test]
fn a_length_stop_completes_as_incomplete() {
    let mut encoder = ResponsesStreamEncoder::new("m");
    let frames = encode(
        &mut encoder,
        &[text("0", "Once upon"), finish(FinishReason::Length)],
    );
    let last = &frames.last().unwrap();
    assert_eq!(
        last.0, "response.completed",
        "Codex ends a turn only on response.completed"
    );
    assert_eq!(last.1["response"]["status"], "incomplete");
    assert_eq!(
        last.1["response"]["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    // The open text item was closed before the end.
    assert!(types(&frames).contains(&"response.output_item.done"));
}

#[test]
fn a_mid_stream_error_fails_the_response_and_ends_the_stream() {
    let mut encoder = ResponsesStreamEncoder::new("m");
    let mut out = Vec::new();
    for event in [
        metadata(),
        StreamEvent::TextStart("0".into()),
        text("0", "Part"),
        StreamEvent::Error(UpstreamError {
            class: ErrorClass::Other,
            message: "overloaded_error".into(),
        }),
        text("0", " ignored"),
    ] {
        encoder.event(&event, &mut out);
    }
    encoder.done(&mut out);
    let frames = frames(&out);
    let (event, data) = frames.last().unwrap();
    assert_eq!(event, "response.failed");
    assert_eq!(data["response"]["status"], "failed");
    assert_eq!(
        data["response"]["error"],
        json!({"code": "server_error", "message": "overloaded_error"})
    );
    assert_eq!(
        types(&frames)
            .iter()
            .filter(|t| t.ends_with("delta"))
            .count(),
        1
    );

    // A context overflow keeps the code Codex recognises.
    let mut encoder = ResponsesStreamEncoder::new("m");
    let mut out = Vec::new();
    let error = ClientError::new(crate::surfaces::ErrorKind::InvalidRequest, "too long")
        .code("context_length_exceeded");
    encoder.error(&error, &mut out);
    encoder.error(&error, &mut out);
    let frames = self::frames(&out);
    assert_eq!(
        types(&frames),
        [
            "response.created",
            "response.in_progress",
            "response.failed"
        ]
    );
    assert_eq!(
        frames[2].1["response"]["error"]["code"],
        "context_length_exceeded"
    );
}

#[test]
fn an_upstream_that_never_finishes_still_gets_response_completed() {
    let mut encoder = ResponsesStreamEncoder::new("m");
    let frames = encode(&mut encoder, &[text("0", "hi")]);
    let (event, data) = frames.last().unwrap();
    assert_eq!(event, "response.completed");
    assert_eq!(data["response"]["output"][0]["content"][0]["text"], "hi");
    assert_eq!(data["response"]["usage"]["total_tokens"], 0);
    // Nothing after the end.
    let mut out = Vec::new();
    encoder.event(&text("0", "late"), &mut out);
    encoder.done(&mut out);
    assert!(out.is_empty());
}

#[test]
fn streamed_and_collected_answers_are_the_same_response() {
    let request = codex_request();
    let events = [
        metadata(),
        StreamEvent::ReasoningStart("r".into()),
        StreamEvent::ReasoningDelta {
            id: "r".into(),
            delta: "Plan.".into(),
        },
        StreamEvent::ReasoningEnd {
            id: "r".into(),
            signature: Some("sig".into()),
            redacted: None,
        },
        StreamEvent::TextStart("t".into()),
        text("t", "Patching."),
        StreamEvent::TextEnd("t".into()),
        StreamEvent::ToolInputStart {
            id: "c1".into(),
            name: "apply_patch".into(),
        },
        StreamEvent::ToolInputDelta {
            id: "c1".into(),
            delta: "{\"input\":\"x\"}".into(),
        },
        call("c1", "apply_patch", "{\"input\":\"x\"}"),
        call("c2", "exec_command", "{\"cmd\":\"ls\"}"),
        finish(FinishReason::ToolCalls),
    ];
    let mut encoder = ResponsesStreamEncoder::for_request("sonnet", &request);
    let frames = encode(&mut encoder, &events);
    let streamed = frames.last().unwrap().1["response"].clone();

    let mut collector = Collector::new();
    for event in &events {
        collector.push(event);
    }
    let collected = collector.finish();
    let json: Value =
        serde_json::from_slice(&response_json_for_request(&collected, "sonnet", &request)).unwrap();
    assert_eq!(streamed, json);
    let kinds: Vec<&str> = json["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["reasoning", "message", "custom_tool_call", "function_call"]
    );

    // Without the request, every call is a function call.
    let plain: Value = serde_json::from_slice(&response_json(&collected, "sonnet")).unwrap();
    assert_eq!(plain["output"][2]["type"], "function_call");
    assert_eq!(plain["output"][2]["arguments"], "{\"input\":\"x\"}");
}

#[test]
fn a_collected_error_or_truncation_shows_in_the_object() {
    let mut collector = Collector::new();
    collector.push(&text("0", "cut"));
    collector.push(&finish(FinishReason::Length));
    let json: Value = serde_json::from_slice(&response_json(&collector.finish(), "m")).unwrap();
    assert_eq!(json["status"], "incomplete");
    assert!(json["id"].as_str().unwrap().starts_with("resp_"));

    let mut collector = Collector::new();
    collector.push(&StreamEvent::Error(UpstreamError {
        class: ErrorClass::ContextTooLong,
        message: "no audio".into(),
    }));
    let json: Value = serde_json::from_slice(&response_json(&collector.finish(), "m")).unwrap();
    assert_eq!(json["status"], "failed");
    assert_eq!(json["error"]["code"], "context_length_exceeded");
}
