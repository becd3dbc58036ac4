//! Decoder stories: real-shaped Gemini transcripts, fed whole and split at every byte
//! boundary, must give the same IR events.

use super::*;
use plugboard_sdk::testing::{
    assert_error_frame_ends_the_stream, assert_every_split_decodes_to,
    assert_garbage_is_an_upstream_error, assert_passthrough_forwards_every_byte, decode_fed,
};

/// `streamGenerateContent?alt=sse`: thoughts, an answer, then a signed function call.
const TOOL_STREAM: &str = concat!(
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Thinking about \u{e9}\u{2713}\",\"thought\": true}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 50,\"totalTokenCount\": 50},\"modelVersion\": \"gemini-2.5-pro\",\"responseId\": \"resp-1\"}\r\n\r\n",
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" files.\",\"thought\": true}],\"role\": \"model\"},\"index\": 0}],\"modelVersion\": \"gemini-2.5-pro\",\"responseId\": \"resp-1\"}\r\n\r\n",
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Let me look.\"}],\"role\": \"model\"},\"index\": 0}],\"modelVersion\": \"gemini-2.5-pro\",\"responseId\": \"resp-1\"}\r\n\r\n",
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"bash\",\"args\": {\"cmd\": \"ls\"}},\"thoughtSignature\": \"c2lnLWNhbGw=\"},{\"functionCall\": {\"name\": \"pwd\",\"args\": {}}}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 50,\"candidatesTokenCount\": 20,\"totalTokenCount\": 100,\"cachedContentTokenCount\": 32,\"thoughtsTokenCount\": 30},\"modelVersion\": \"gemini-2.5-pro\",\"responseId\": \"resp-1\"}\r\n\r\n",
);

fn usage() -> Usage {
    Usage {
        input_tokens: Some(50),
        output_tokens: Some(50),
        cache_read_tokens: Some(32),
        cache_write_tokens: None,
        reasoning_tokens: Some(30),
    }
}

fn signed(mut call: ToolCallPart, signature: &str) -> ToolCallPart {
    call.options = Some(json!({"gemini": {"thoughtSignature": signature}}).to_string());
    call
}

fn expected_tool_stream_events() -> Vec<StreamEvent> {
    vec![
        StreamEvent::ResponseMetadata(ResponseMetadata {
            id: Some("resp-1".into()),
            model: Some("gemini-2.5-pro".into()),
            created: None,
        }),
        StreamEvent::ReasoningStart("reasoning-0".into()),
        StreamEvent::reasoning_delta("reasoning-0", "Thinking about é✓"),
        StreamEvent::reasoning_delta("reasoning-0", " files."),
        StreamEvent::ReasoningEnd(ReasoningEnd {
            id: "reasoning-0".into(),
            signature: None,
            redacted: None,
        }),
        StreamEvent::TextStart("text-1".into()),
        StreamEvent::text_delta("text-1", "Let me look."),
        StreamEvent::TextEnd("text-1".into()),
        StreamEvent::tool_input_start("call_0", "bash"),
        StreamEvent::tool_input_delta("call_0", "{\"cmd\":\"ls\"}"),
        StreamEvent::ToolInputEnd("call_0".into()),
        StreamEvent::ToolCall(signed(
            ToolCallPart::new("call_0", "bash", "{\"cmd\":\"ls\"}"),
            "c2lnLWNhbGw=",
        )),
        StreamEvent::tool_input_start("call_1", "pwd"),
        StreamEvent::tool_input_delta("call_1", "{}"),
        StreamEvent::ToolInputEnd("call_1".into()),
        StreamEvent::ToolCall(ToolCallPart::new("call_1", "pwd", "{}")),
        StreamEvent::finish(FinishReason::ToolCalls, Some("STOP".into()), usage()),
    ]
}

fn decode(ctx: DecodeMode, pieces: &[&[u8]]) -> Vec<StreamEvent> {
    decode_fed(GeminiDecoder::new(ctx), pieces)
}

fn streaming_decoder() -> GeminiDecoder {
    GeminiDecoder::new(DecodeMode::ok(true))
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
fn a_json_array_of_responses_decodes_like_the_stream() {
    let array = format!(
        "[{}]",
        TOOL_STREAM
            .split("\r\n\r\n")
            .filter(|frame| !frame.is_empty())
            .map(|frame| frame.trim_start_matches("data: "))
            .collect::<Vec<_>>()
            .join(",\n")
    );
    let pieces: Vec<&[u8]> = array.as_bytes().chunks(5).collect();
    assert_eq!(
        decode(DecodeMode::ok(false), &pieces),
        expected_tool_stream_events()
    );
}

#[test]
fn a_signed_answer_document_keeps_its_signature_on_a_reasoning_block() {
    let document = br#"{"candidates":[{"content":{"role":"model","parts":[
        {"text":"Paris.","thoughtSignature":"c2ln"}]},"finishReason":"STOP","index":0}],
        "usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":2,"totalTokenCount":10},
        "modelVersion":"gemini-3-pro-preview","responseId":"r2"}"#;
    assert_eq!(
        decode(DecodeMode::ok(false), &[document]),
        vec![
            StreamEvent::ResponseMetadata(ResponseMetadata {
                id: Some("r2".into()),
                model: Some("gemini-3-pro-preview".into()),
                created: None,
            }),
            StreamEvent::ReasoningStart("reasoning-0".into()),
            StreamEvent::ReasoningEnd(ReasoningEnd {
                id: "reasoning-0".into(),
                signature: Some("c2ln".into()),
                redacted: None,
            }),
            StreamEvent::TextStart("text-1".into()),
            StreamEvent::text_delta("text-1", "Paris."),
            StreamEvent::TextEnd("text-1".into()),
            StreamEvent::finish(
                FinishReason::Stop,
                Some("STOP".into()),
                Usage {
                    input_tokens: Some(8),
                    output_tokens: Some(2),
                    ..Usage::default()
                }
            ),
        ]
    );
}

#[test]
fn a_signed_thought_part_ends_the_reasoning_block_with_its_signature() {
    let stream = b"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hm\",\"thought\":true}]}}]}\n\ndata: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\",\"thought\":true,\"thoughtSignature\":\"abc\"}]},\"finishReason\":\"MAX_TOKENS\"}]}\n\n";
    assert_eq!(
        decode(DecodeMode::ok(true), &[stream]),
        vec![
            StreamEvent::ReasoningStart("reasoning-0".into()),
            StreamEvent::reasoning_delta("reasoning-0", "hm"),
            StreamEvent::ReasoningEnd(ReasoningEnd {
                id: "reasoning-0".into(),
                signature: Some("abc".into()),
                redacted: None,
            }),
            StreamEvent::finish(
                FinishReason::Length,
                Some("MAX_TOKENS".into()),
                Usage::default()
            ),
        ]
    );
}

#[test]
fn finish_reasons_map_to_the_unified_ones() {
    for (raw, unified) in [
        ("STOP", FinishReason::Stop),
        ("MAX_TOKENS", FinishReason::Length),
        ("SAFETY", FinishReason::ContentFilter),
        ("RECITATION", FinishReason::ContentFilter),
        ("PROHIBITED_CONTENT", FinishReason::ContentFilter),
        ("MALFORMED_FUNCTION_CALL", FinishReason::Other),
    ] {
        let stream = format!(
            "data: {{\"candidates\":[{{\"content\":{{\"parts\":[{{\"text\":\"x\"}}]}},\"finishReason\":\"{raw}\"}}]}}\n\n"
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
fn a_blocked_prompt_finishes_as_content_filter() {
    let document =
        br#"{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":5}}"#;
    assert_eq!(
        decode(DecodeMode::ok(false), &[document]).last(),
        Some(&StreamEvent::finish(
            FinishReason::ContentFilter,
            Some("SAFETY".into()),
            Usage {
                input_tokens: Some(5),
                ..Usage::default()
            }
        ))
    );
}

#[test]
fn an_error_object_mid_stream_becomes_an_error_event_and_an_error_finish() {
    let stream = b"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"par\"}]}}]}\n\ndata: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}\n\n";
    let events = assert_error_frame_ends_the_stream(
        streaming_decoder,
        stream,
        &UpstreamError::new(ErrorClass::Overloaded(None), "The model is overloaded."),
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
fn a_resource_exhausted_chunk_mid_stream_rests_the_account_like_a_429() {
    let stream = b"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"par\"}]}}]}\n\ndata: {\"error\":{\"code\":429,\"message\":\"Resource has been exhausted (e.g. check quota).\",\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{\"retryDelay\":\"7s\"}]}}\n\n";
    assert_error_frame_ends_the_stream(
        streaming_decoder,
        stream,
        &UpstreamError::new(
            ErrorClass::RateLimited(Some(7_000)),
            "Resource has been exhausted (e.g. check quota).",
        ),
    );
}

#[test]
fn garbage_in_a_stream_or_a_document_is_an_upstream_error() {
    assert_garbage_is_an_upstream_error(streaming_decoder, b"data: {not json\n\n");
    assert_garbage_is_an_upstream_error(
        || GeminiDecoder::new(DecodeMode::ok(false)),
        b"[{\"candidates\": ",
    );
}

#[test]
fn passthrough_forwards_bytes_unchanged_and_ends_with_usage() {
    assert_passthrough_forwards_every_byte(
        || GeminiDecoder::new(DecodeMode::ok(true).passthrough()),
        TOOL_STREAM.as_bytes(),
        &StreamEvent::finish(FinishReason::ToolCalls, Some("STOP".into()), usage()),
    );
}
