//! Decoder stories: real-shaped Chat Completions transcripts, fed whole and split at
//! every byte boundary, must give the same IR events.

use super::*;
use plugboard_sdk::testing::{
    assert_byte_by_byte_decodes_to, assert_error_frame_ends_the_stream,
    assert_every_split_decodes_to, assert_garbage_is_an_upstream_error,
    assert_passthrough_forwards_every_byte, decode_fed,
};

/// A streamed answer with reasoning, text, two parallel tool calls and usage last.
const TOOL_STREAM: &str = concat!(
    "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-2024\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"Need ls.\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Running é✓\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"bash\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"cmd\\\":\"}}]},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"ls\\\"}\"}}]},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"pwd\",\"arguments\":\"{}\"}}]},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
    "data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":30,\"total_tokens\":150,\"prompt_tokens_details\":{\"cached_tokens\":100},\"completion_tokens_details\":{\"reasoning_tokens\":8}}}\n\n",
    "data: [DONE]\n\n",
);

fn usage() -> Usage {
    Usage {
        input_tokens: Some(120),
        output_tokens: Some(30),
        cache_read_tokens: Some(100),
        cache_write_tokens: None,
        reasoning_tokens: Some(8),
    }
}

fn expected_tool_stream_events() -> Vec<StreamEvent> {
    vec![
        StreamEvent::ResponseMetadata(ResponseMetadata {
            id: Some("chatcmpl-1".into()),
            model: Some("gpt-4o-2024".into()),
            created: Some(1_700_000_000),
        }),
        StreamEvent::ReasoningStart("reasoning-0".into()),
        StreamEvent::reasoning_delta("reasoning-0", "Need ls."),
        StreamEvent::ReasoningEnd(ReasoningEnd {
            id: "reasoning-0".into(),
            signature: None,
            redacted: None,
        }),
        StreamEvent::TextStart("text-1".into()),
        StreamEvent::text_delta("text-1", "Running é✓"),
        StreamEvent::TextEnd("text-1".into()),
        StreamEvent::tool_input_start("call_a", "bash"),
        StreamEvent::tool_input_delta("call_a", "{\"cmd\":"),
        StreamEvent::tool_input_delta("call_a", "\"ls\"}"),
        StreamEvent::tool_input_start("call_b", "pwd"),
        StreamEvent::tool_input_delta("call_b", "{}"),
        StreamEvent::ToolInputEnd("call_a".into()),
        StreamEvent::ToolCall(ToolCallPart::new("call_a", "bash", "{\"cmd\":\"ls\"}")),
        StreamEvent::ToolInputEnd("call_b".into()),
        StreamEvent::ToolCall(ToolCallPart::new("call_b", "pwd", "{}")),
        StreamEvent::finish(FinishReason::ToolCalls, Some("tool_calls".into()), usage()),
    ]
}

fn decode(mode: DecodeMode, pieces: &[&[u8]]) -> Vec<StreamEvent> {
    decode_fed(ChatDecoder::new(mode), pieces)
}

fn streaming_decoder() -> ChatDecoder {
    ChatDecoder::new(DecodeMode::ok(true))
}

#[test]
fn a_streamed_tool_call_answer_decodes_to_the_full_event_sequence() {
    assert_eq!(
        decode(DecodeMode::ok(true), &[TOOL_STREAM.as_bytes()]),
        expected_tool_stream_events()
    );
}

#[test]
fn splitting_the_stream_at_every_byte_gives_the_same_events() {
    assert_every_split_decodes_to(
        streaming_decoder,
        TOOL_STREAM.as_bytes(),
        &expected_tool_stream_events(),
    );
}

#[test]
fn byte_by_byte_feeding_still_decodes_every_event() {
    assert_byte_by_byte_decodes_to(
        streaming_decoder,
        TOOL_STREAM.as_bytes(),
        &expected_tool_stream_events(),
    );
}

#[test]
fn a_chat_completion_document_decodes_through_the_same_events() {
    let document = br#"{"id":"chatcmpl-2","object":"chat.completion","created":1700000001,"model":"gpt-4o",
      "choices":[{"index":0,"message":{"role":"assistant","content":"Hello!","tool_calls":[
        {"id":"call_x","type":"function","function":{"name":"bash","arguments":"{\"cmd\":\"ls\"}"}}]},
        "finish_reason":"tool_calls"}],
      "usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}"#;
    let pieces: Vec<&[u8]> = document.chunks(7).collect();
    assert_eq!(
        decode(DecodeMode::ok(false), &pieces),
        vec![
            StreamEvent::ResponseMetadata(ResponseMetadata {
                id: Some("chatcmpl-2".into()),
                model: Some("gpt-4o".into()),
                created: Some(1_700_000_001)
            }),
            StreamEvent::TextStart("text-0".into()),
            StreamEvent::text_delta("text-0", "Hello!"),
            StreamEvent::TextEnd("text-0".into()),
            StreamEvent::tool_input_start("call_x", "bash"),
            StreamEvent::tool_input_delta("call_x", "{\"cmd\":\"ls\"}"),
            StreamEvent::ToolInputEnd("call_x".into()),
            StreamEvent::ToolCall(ToolCallPart::new("call_x", "bash", "{\"cmd\":\"ls\"}")),
            StreamEvent::finish(
                FinishReason::ToolCalls,
                Some("tool_calls".into()),
                Usage {
                    input_tokens: Some(10),
                    output_tokens: Some(5),
                    ..Usage::default()
                }
            ),
        ]
    );
}

#[test]
fn a_body_that_streams_although_json_was_expected_is_read_as_a_stream() {
    assert_eq!(
        decode(DecodeMode::ok(false), &[TOOL_STREAM.as_bytes()]),
        expected_tool_stream_events()
    );
}

#[test]
fn finish_reasons_map_to_the_unified_ones() {
    for (raw, unified) in [
        ("stop", FinishReason::Stop),
        ("length", FinishReason::Length),
        ("content_filter", FinishReason::ContentFilter),
        ("weird", FinishReason::Other),
    ] {
        let stream = format!(
            "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"x\"}},\"finish_reason\":\"{raw}\"}}]}}\n\ndata: [DONE]\n\n"
        );
        let events = decode(DecodeMode::ok(true), &[stream.as_bytes()]);
        assert_eq!(
            events.last(),
            Some(&StreamEvent::finish(
                unified,
                Some(raw.into()),
                Usage::default()
            )),
            "{raw}"
        );
    }
}

#[test]
fn a_stream_without_done_or_usage_still_finishes() {
    let stream = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"hmm\"}}]}\n\n";
    let events = decode(DecodeMode::ok(true), &[stream]);
    assert_eq!(
        events,
        vec![
            StreamEvent::ReasoningStart("reasoning-0".into()),
            StreamEvent::reasoning_delta("reasoning-0", "hmm"),
            StreamEvent::ReasoningEnd(ReasoningEnd {
                id: "reasoning-0".into(),
                signature: None,
                redacted: None
            }),
            StreamEvent::finish(FinishReason::Other, None, Usage::default()),
        ]
    );
}

#[test]
fn an_error_chunk_mid_stream_becomes_an_error_event_and_an_error_finish() {
    let stream = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"}}]}\n\ndata: {\"error\":{\"message\":\"upstream overloaded\",\"code\":502}}\n\n";
    let events = assert_error_frame_ends_the_stream(
        streaming_decoder,
        stream,
        &UpstreamError::new(ErrorClass::Overloaded(None), "upstream overloaded"),
    );
    assert_eq!(
        events.last(),
        Some(&StreamEvent::finish(
            FinishReason::Error,
            None,
            Usage::default()
        ))
    );
}

#[test]
fn a_rate_limit_chunk_mid_stream_rests_the_account_like_a_429() {
    let stream = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"}}]}\n\ndata: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}\n\n";
    assert_error_frame_ends_the_stream(
        streaming_decoder,
        stream,
        &UpstreamError::new(ErrorClass::RateLimited(None), "Rate limit reached"),
    );
}

#[test]
fn garbage_in_a_stream_or_a_document_is_an_upstream_error() {
    assert_garbage_is_an_upstream_error(streaming_decoder, b"data: {not json\n\n");
    assert_garbage_is_an_upstream_error(
        || ChatDecoder::new(DecodeMode::ok(false)),
        b"{\"choices\": [",
    );
}

#[test]
fn passthrough_forwards_bytes_unchanged_and_ends_with_usage() {
    let mut ctx = DecodeMode::ok(true);
    ctx.passthrough = true;
    assert_passthrough_forwards_every_byte(
        || ChatDecoder::new(ctx),
        TOOL_STREAM.as_bytes(),
        &StreamEvent::finish(FinishReason::ToolCalls, Some("tool_calls".into()), usage()),
    );
}

#[test]
fn passthrough_of_a_document_reports_its_usage() {
    let mut ctx = DecodeMode::ok(false);
    ctx.passthrough = true;
    let document = br#"{"id":"c","choices":[{"index":0,"message":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#;
    let events = decode(ctx, &[document]);
    assert_eq!(events[0], StreamEvent::Raw(document.to_vec()));
    assert_eq!(
        events[1],
        StreamEvent::finish(
            FinishReason::Stop,
            Some("stop".into()),
            Usage {
                input_tokens: Some(3),
                output_tokens: Some(1),
                ..Usage::default()
            }
        )
    );
    assert_eq!(events.len(), 2);
}

#[test]
fn only_chunks_that_can_carry_accounting_are_parsed_in_passthrough() {
    assert!(!matters_for_accounting(
        r#"{"choices":[{"delta":{"content":"x"},"finish_reason":null}]}"#
    ));
    assert!(matters_for_accounting(
        r#"{"choices":[{"delta":{},"finish_reason": "stop"}]}"#
    ));
    assert!(matters_for_accounting(
        r#"{"choices":[],"usage":{"prompt_tokens":1}}"#
    ));
}
