//! Decoder stories: a real-shaped Messages stream with thinking, text and a tool call,
//! fed whole and split at every byte boundary, and the same answer as one document.

use super::*;
use plugboard_sdk::testing::{
    assert_byte_by_byte_decodes_to, assert_error_frame_ends_the_stream,
    assert_every_split_decodes_to, assert_garbage_is_an_upstream_error,
    assert_passthrough_forwards_every_byte, decode_fed,
};

const STREAM: &str = concat!(
    "event: message_start\n",
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":100,\"cache_read_input_tokens\":2000,\"output_tokens\":1}}}\n\n",
    "event: content_block_start\n",
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n",
    "event: ping\ndata: {\"type\": \"ping\"}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"List files → ls.\"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQBCkYI\"}}\n\n",
    "event: content_block_stop\n",
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "event: content_block_start\n",
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"redacted_thinking\",\"data\":\"EmwKAhgB\"}}\n\n",
    "event: content_block_stop\n",
    "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
    "event: content_block_start\n",
    "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"text_delta\",\"text\":\"Sure — running ✓\"}}\n\n",
    "event: content_block_stop\n",
    "data: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
    "event: content_block_start\n",
    "data: {\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"Bash\",\"input\":{}}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"command\\\": \\\"ls\"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"}\"}}\n\n",
    "event: content_block_stop\n",
    "data: {\"type\":\"content_block_stop\",\"index\":3}\n\n",
    "event: message_delta\n",
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\n\n",
    "event: message_stop\n",
    "data: {\"type\":\"message_stop\"}\n\n",
);

fn usage() -> Usage {
    Usage {
        input_tokens: Some(12 + 100 + 2000),
        output_tokens: Some(89),
        cache_read_tokens: Some(2000),
        cache_write_tokens: Some(100),
        reasoning_tokens: None,
    }
}

fn expected() -> Vec<StreamEvent> {
    vec![
        StreamEvent::ResponseMetadata(ResponseMetadata {
            id: Some("msg_01".into()),
            model: Some("claude-sonnet-4-5".into()),
            created: None,
        }),
        StreamEvent::ReasoningStart("reasoning-0".into()),
        StreamEvent::reasoning_delta("reasoning-0", "List files → ls."),
        StreamEvent::ReasoningEnd(ReasoningEnd {
            id: "reasoning-0".into(),
            signature: Some("EqQBCkYI".into()),
            redacted: None,
        }),
        StreamEvent::ReasoningStart("reasoning-1".into()),
        StreamEvent::ReasoningEnd(ReasoningEnd {
            id: "reasoning-1".into(),
            signature: None,
            redacted: Some("EmwKAhgB".into()),
        }),
        StreamEvent::TextStart("text-2".into()),
        StreamEvent::text_delta("text-2", "Sure — running ✓"),
        StreamEvent::TextEnd("text-2".into()),
        StreamEvent::tool_input_start("toolu_01", "Bash"),
        StreamEvent::tool_input_delta("toolu_01", "{\"command\": \"ls"),
        StreamEvent::tool_input_delta("toolu_01", "\"}"),
        StreamEvent::ToolInputEnd("toolu_01".into()),
        StreamEvent::ToolCall(ToolCallPart::new(
            "toolu_01",
            "Bash",
            "{\"command\": \"ls\"}",
        )),
        StreamEvent::finish(FinishReason::ToolCalls, Some("tool_use".into()), usage()),
    ]
}

fn decode(mode: DecodeMode, pieces: &[&[u8]]) -> Vec<StreamEvent> {
    decode_fed(MessagesDecoder::new(mode), pieces)
}

fn streaming_decoder() -> MessagesDecoder {
    MessagesDecoder::new(DecodeMode::ok(true))
}

#[test]
fn a_streamed_answer_with_thinking_text_and_a_tool_call_decodes_in_order() {
    assert_eq!(
        decode(DecodeMode::ok(true), &[STREAM.as_bytes()]),
        expected()
    );
}

#[test]
fn splitting_the_stream_at_every_byte_gives_the_same_events() {
    assert_every_split_decodes_to(streaming_decoder, STREAM.as_bytes(), &expected());
    assert_byte_by_byte_decodes_to(streaming_decoder, STREAM.as_bytes(), &expected());
}

#[test]
fn the_same_answer_as_one_message_document_gives_the_same_blocks() {
    let document = json!({
        "id": "msg_02", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "text", "text": "Hi"},
            {"type": "tool_use", "id": "toolu_9", "name": "Read", "input": {"path": "a"}},
        ],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 5, "output_tokens": 7},
    })
    .to_string();
    let pieces: Vec<&[u8]> = document.as_bytes().chunks(5).collect();
    assert_eq!(
        decode(DecodeMode::ok(false), &pieces),
        vec![
            StreamEvent::ResponseMetadata(ResponseMetadata {
                id: Some("msg_02".into()),
                model: Some("claude-sonnet-4-5".into()),
                created: None
            }),
            StreamEvent::ReasoningStart("reasoning-0".into()),
            StreamEvent::reasoning_delta("reasoning-0", "hmm"),
            StreamEvent::ReasoningEnd(ReasoningEnd {
                id: "reasoning-0".into(),
                signature: Some("sig".into()),
                redacted: None
            }),
            StreamEvent::TextStart("text-1".into()),
            StreamEvent::text_delta("text-1", "Hi"),
            StreamEvent::TextEnd("text-1".into()),
            StreamEvent::tool_input_start("toolu_9", "Read"),
            StreamEvent::tool_input_delta("toolu_9", "{\"path\":\"a\"}"),
            StreamEvent::ToolInputEnd("toolu_9".into()),
            StreamEvent::ToolCall(ToolCallPart::new("toolu_9", "Read", "{\"path\":\"a\"}")),
            StreamEvent::finish(
                FinishReason::Stop,
                Some("end_turn".into()),
                Usage {
                    input_tokens: Some(5),
                    output_tokens: Some(7),
                    ..Usage::default()
                }
            ),
        ]
    );
}

#[test]
fn stop_reasons_map_and_a_stop_sequence_rides_in_options() {
    for (raw, unified) in [
        ("end_turn", FinishReason::Stop),
        ("max_tokens", FinishReason::Length),
        ("refusal", FinishReason::ContentFilter),
        ("stop_sequence", FinishReason::Stop),
    ] {
        let stream = format!(
            "event: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"{raw}\",\"stop_sequence\":{}}},\"usage\":{{\"output_tokens\":3}}}}\n\n",
            if raw == "stop_sequence" {
                "\"STOP\""
            } else {
                "null"
            }
        );
        let events = decode(DecodeMode::ok(true), &[stream.as_bytes()]);
        let Some(StreamEvent::Finish(finish)) = events.last() else {
            panic!("{events:?}")
        };
        assert_eq!(finish.reason, unified, "{raw}");
        assert_eq!(finish.raw_reason.as_deref(), Some(raw));
        if raw == "stop_sequence" {
            assert_eq!(
                finish.options.as_deref(),
                Some(r#"{"anthropic":{"stop_sequence":"STOP"}}"#)
            );
        }
    }
}

#[test]
fn an_overloaded_error_mid_stream_becomes_an_error_event_and_an_error_finish() {
    let stream = b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
    let events = assert_error_frame_ends_the_stream(
        streaming_decoder,
        stream,
        &UpstreamError::new(ErrorClass::Overloaded(None), "Overloaded"),
    );
    assert_eq!(
        events,
        vec![
            StreamEvent::Error(UpstreamError::new(
                ErrorClass::Overloaded(None),
                "Overloaded"
            )),
            StreamEvent::finish(FinishReason::Error, None, Usage::default()),
        ]
    );
}

#[test]
fn a_rate_limit_frame_after_text_rests_the_account_like_a_429() {
    let cut = STREAM
        .find("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}")
        .unwrap();
    let frame = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"Rate limited\"}}\n\n";
    let body = format!("{}{frame}", &STREAM[..cut]);
    assert_error_frame_ends_the_stream(
        streaming_decoder,
        body.as_bytes(),
        &UpstreamError::new(ErrorClass::RateLimited(None), "Rate limited"),
    );
}

#[test]
fn garbage_is_an_upstream_error() {
    assert_garbage_is_an_upstream_error(
        streaming_decoder,
        b"event: message_start\ndata: {oops\n\n",
    );
    assert_garbage_is_an_upstream_error(
        || MessagesDecoder::new(DecodeMode::ok(false)),
        b"{\"content\": [",
    );
}

#[test]
fn a_cut_stream_closes_its_open_blocks() {
    let cut = STREAM
        .find("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}")
        .unwrap();
    let events = decode(DecodeMode::ok(true), &[&STREAM.as_bytes()[..cut]]);
    assert_eq!(
        events[events.len() - 2],
        StreamEvent::TextEnd("text-2".into())
    );
    assert!(matches!(
        events.last(),
        Some(StreamEvent::Finish(Finish {
            reason: FinishReason::Other,
            ..
        }))
    ));
}

#[test]
fn passthrough_forwards_every_byte_and_reports_usage_and_stop_reason() {
    let mut ctx = DecodeMode::ok(true);
    ctx.passthrough = true;
    assert_passthrough_forwards_every_byte(
        || MessagesDecoder::new(ctx),
        STREAM.as_bytes(),
        &StreamEvent::finish(FinishReason::ToolCalls, Some("tool_use".into()), usage()),
    );
}
