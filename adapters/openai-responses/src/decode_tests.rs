//! Decoder stories: real-shaped Responses transcripts, fed whole and split at every
//! byte boundary, must give the same IR events.

use super::*;
use plugboard_sdk::testing::{
    assert_error_frame_ends_the_stream, assert_every_split_decodes_to,
    assert_garbage_is_an_upstream_error, assert_passthrough_forwards_every_byte, decode_fed,
};

/// Reasoning with two summary parts, text, a function call and a custom tool call.
const TOOL_STREAM: &str = concat!(
    "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"created_at\":1741290958,\"status\":\"in_progress\",\"model\":\"gpt-5-2025-08-07\",\"output\":[],\"usage\":null}}\n\n",
    "event: response.in_progress\ndata: {\"type\":\"response.in_progress\",\"sequence_number\":1,\"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\",\"model\":\"gpt-5-2025-08-07\"}}\n\n",
    "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":\"reasoning\",\"summary\":[]}}\n\n",
    "event: response.reasoning_summary_part.added\ndata: {\"type\":\"response.reasoning_summary_part.added\",\"item_id\":\"rs_1\",\"output_index\":0,\"summary_index\":0,\"part\":{\"type\":\"summary_text\",\"text\":\"\"}}\n\n",
    "event: response.reasoning_summary_text.delta\ndata: {\"type\":\"response.reasoning_summary_text.delta\",\"item_id\":\"rs_1\",\"output_index\":0,\"summary_index\":0,\"delta\":\"**Plan** \u{e9}\u{2713}\"}\n\n",
    "event: response.reasoning_summary_text.delta\ndata: {\"type\":\"response.reasoning_summary_text.delta\",\"item_id\":\"rs_1\",\"output_index\":0,\"summary_index\":1,\"delta\":\"List files.\"}\n\n",
    "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":\"reasoning\",\"summary\":[{\"type\":\"summary_text\",\"text\":\"**Plan** \u{e9}\u{2713}\"},{\"type\":\"summary_text\",\"text\":\"List files.\"}],\"encrypted_content\":\"gAAAAABxyz\"}}\n\n",
    "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"output_index\":1,\"item\":{\"id\":\"msg_1\",\"type\":\"message\",\"status\":\"in_progress\",\"role\":\"assistant\",\"content\":[]}}\n\n",
    "event: response.content_part.added\ndata: {\"type\":\"response.content_part.added\",\"item_id\":\"msg_1\",\"output_index\":1,\"content_index\":0,\"part\":{\"type\":\"output_text\",\"text\":\"\",\"annotations\":[]}}\n\n",
    "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":1,\"content_index\":0,\"delta\":\"Running\"}\n\n",
    "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":1,\"content_index\":0,\"delta\":\" ls.\"}\n\n",
    "event: response.output_text.done\ndata: {\"type\":\"response.output_text.done\",\"item_id\":\"msg_1\",\"output_index\":1,\"content_index\":0,\"text\":\"Running ls.\"}\n\n",
    "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"output_index\":1,\"item\":{\"id\":\"msg_1\",\"type\":\"message\",\"status\":\"completed\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"Running ls.\",\"annotations\":[]}]}}\n\n",
    "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"output_index\":2,\"item\":{\"id\":\"fc_1\",\"type\":\"function_call\",\"status\":\"in_progress\",\"arguments\":\"\",\"call_id\":\"call_a\",\"name\":\"bash\"}}\n\n",
    "event: response.function_call_arguments.delta\ndata: {\"type\":\"response.function_call_arguments.delta\",\"item_id\":\"fc_1\",\"output_index\":2,\"delta\":\"{\\\"cmd\\\":\"}\n\n",
    "event: response.function_call_arguments.delta\ndata: {\"type\":\"response.function_call_arguments.delta\",\"item_id\":\"fc_1\",\"output_index\":2,\"delta\":\"\\\"ls\\\"}\"}\n\n",
    "event: response.function_call_arguments.done\ndata: {\"type\":\"response.function_call_arguments.done\",\"item_id\":\"fc_1\",\"output_index\":2,\"arguments\":\"{\\\"cmd\\\":\\\"ls\\\"}\"}\n\n",
    "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"output_index\":2,\"item\":{\"id\":\"fc_1\",\"type\":\"function_call\",\"status\":\"completed\",\"arguments\":\"{\\\"cmd\\\":\\\"ls\\\"}\",\"call_id\":\"call_a\",\"name\":\"bash\"}}\n\n",
    "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"output_index\":3,\"item\":{\"id\":\"ctc_1\",\"type\":\"custom_tool_call\",\"status\":\"in_progress\",\"call_id\":\"call_p\",\"name\":\"apply_patch\",\"input\":\"\"}}\n\n",
    "event: response.custom_tool_call_input.delta\ndata: {\"type\":\"response.custom_tool_call_input.delta\",\"item_id\":\"ctc_1\",\"output_index\":3,\"delta\":\"*** Begin\"}\n\n",
    "event: response.custom_tool_call_input.delta\ndata: {\"type\":\"response.custom_tool_call_input.delta\",\"item_id\":\"ctc_1\",\"output_index\":3,\"delta\":\" Patch\"}\n\n",
    "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"output_index\":3,\"item\":{\"id\":\"ctc_1\",\"type\":\"custom_tool_call\",\"status\":\"completed\",\"call_id\":\"call_p\",\"name\":\"apply_patch\",\"input\":\"*** Begin Patch\"}}\n\n",
    "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":30,\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"model\":\"gpt-5-2025-08-07\",\"incomplete_details\":null,\"error\":null,\"usage\":{\"input_tokens\":300,\"input_tokens_details\":{\"cached_tokens\":256},\"output_tokens\":80,\"output_tokens_details\":{\"reasoning_tokens\":40},\"total_tokens\":380}}}\n\n",
);

fn usage() -> Usage {
    Usage {
        input_tokens: Some(300),
        output_tokens: Some(80),
        cache_read_tokens: Some(256),
        cache_write_tokens: None,
        reasoning_tokens: Some(40),
    }
}

fn custom(call: ToolCallPart) -> ToolCallPart {
    ToolCallPart {
        options: Some(json!({"openai": {"type": "custom"}}).to_string()),
        ..call
    }
}

fn expected_tool_stream_events() -> Vec<StreamEvent> {
    vec![
        StreamEvent::ResponseMetadata(ResponseMetadata {
            id: Some("resp_1".into()),
            model: Some("gpt-5-2025-08-07".into()),
            created: Some(1_741_290_958),
        }),
        StreamEvent::ReasoningStart("reasoning-0".into()),
        StreamEvent::reasoning_delta("reasoning-0", "**Plan** é✓"),
        StreamEvent::reasoning_delta("reasoning-0", "\n\n"),
        StreamEvent::reasoning_delta("reasoning-0", "List files."),
        StreamEvent::ReasoningEnd(ReasoningEnd {
            id: "reasoning-0".into(),
            signature: None,
            redacted: Some("gAAAAABxyz".into()),
        }),
        StreamEvent::TextStart("text-1".into()),
        StreamEvent::text_delta("text-1", "Running"),
        StreamEvent::text_delta("text-1", " ls."),
        StreamEvent::TextEnd("text-1".into()),
        StreamEvent::tool_input_start("call_a", "bash"),
        StreamEvent::tool_input_delta("call_a", "{\"cmd\":"),
        StreamEvent::tool_input_delta("call_a", "\"ls\"}"),
        StreamEvent::ToolInputEnd("call_a".into()),
        StreamEvent::ToolCall(ToolCallPart::new("call_a", "bash", "{\"cmd\":\"ls\"}")),
        StreamEvent::tool_input_start("call_p", "apply_patch"),
        StreamEvent::tool_input_delta("call_p", "{\"input\":\"*** Begin Patch\"}"),
        StreamEvent::ToolInputEnd("call_p".into()),
        StreamEvent::ToolCall(custom(ToolCallPart::new(
            "call_p",
            "apply_patch",
            "{\"input\":\"*** Begin Patch\"}",
        ))),
        StreamEvent::finish(FinishReason::ToolCalls, Some("completed".into()), usage()),
    ]
}

fn decode(ctx: DecodeMode, pieces: &[&[u8]]) -> Vec<StreamEvent> {
    decode_fed(ResponsesDecoder::new(ctx), pieces)
}

fn streaming_decoder() -> ResponsesDecoder {
    ResponsesDecoder::new(DecodeMode::ok(true))
}

#[test]
fn a_streamed_answer_with_reasoning_text_and_calls_decodes_in_order() {
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
fn the_response_object_decodes_through_the_same_events() {
    let document = r#"{"id":"resp_1","object":"response","created_at":1741290958,"status":"completed","model":"gpt-5-2025-08-07","error":null,"incomplete_details":null,
      "output":[
        {"id":"rs_1","type":"reasoning","summary":[{"type":"summary_text","text":"**Plan** é✓"},{"type":"summary_text","text":"List files."}],"encrypted_content":"gAAAAABxyz"},
        {"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Running ls.","annotations":[]}]},
        {"id":"fc_1","type":"function_call","status":"completed","arguments":"{\"cmd\":\"ls\"}","call_id":"call_a","name":"bash"},
        {"id":"ctc_1","type":"custom_tool_call","status":"completed","call_id":"call_p","name":"apply_patch","input":"*** Begin Patch"}],
      "usage":{"input_tokens":300,"input_tokens_details":{"cached_tokens":256},"output_tokens":80,"output_tokens_details":{"reasoning_tokens":40},"total_tokens":380}}"#;
    let pieces: Vec<&[u8]> = document.as_bytes().chunks(9).collect();
    let mut expected = expected_tool_stream_events();
    // A document has no deltas: each block's content comes whole.
    expected.splice(
        2..5,
        [StreamEvent::reasoning_delta(
            "reasoning-0",
            "**Plan** é✓\n\nList files.",
        )],
    );
    let text_at = expected
        .iter()
        .position(|e| *e == StreamEvent::text_delta("text-1", "Running"))
        .unwrap();
    expected.splice(
        text_at..text_at + 2,
        [StreamEvent::text_delta("text-1", "Running ls.")],
    );
    let args_at = expected
        .iter()
        .position(|e| *e == StreamEvent::tool_input_delta("call_a", "{\"cmd\":"))
        .unwrap();
    expected.splice(
        args_at..args_at + 2,
        [StreamEvent::tool_input_delta("call_a", "{\"cmd\":\"ls\"}")],
    );
    assert_eq!(decode(DecodeMode::ok(false), &pieces), expected);
}

#[test]
fn an_incomplete_response_for_max_output_tokens_finishes_with_length() {
    let stream = concat!(
        "data: {\"type\":\"response.output_item.added\",\"item\":{\"id\":\"msg_9\",\"type\":\"message\",\"content\":[]}}\n\n",
        "data: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_9\",\"delta\":\"Once upon\"}\n\n",
        "data: {\"type\":\"response.incomplete\",\"response\":{\"id\":\"resp_9\",\"status\":\"incomplete\",\"incomplete_details\":{\"reason\":\"max_output_tokens\"},\"usage\":{\"input_tokens\":5,\"output_tokens\":16}}}\n\n",
    );
    let events = decode(DecodeMode::ok(true), &[stream.as_bytes()]);
    assert_eq!(
        &events[events.len() - 2..],
        &[
            StreamEvent::TextEnd("text-0".into()),
            StreamEvent::finish(
                FinishReason::Length,
                Some("max_output_tokens".into()),
                Usage {
                    input_tokens: Some(5),
                    output_tokens: Some(16),
                    ..Usage::default()
                }
            ),
        ]
    );
}

#[test]
fn failed_responses_and_error_events_become_error_events() {
    let failed = b"data: {\"type\":\"response.failed\",\"response\":{\"id\":\"r\",\"status\":\"failed\",\"error\":{\"code\":\"server_error\",\"message\":\"The server had an error.\"}}}\n\n";
    let events = assert_error_frame_ends_the_stream(
        streaming_decoder,
        failed,
        &UpstreamError::new(ErrorClass::Overloaded(None), "The server had an error."),
    );
    assert_eq!(
        events.last(),
        Some(&StreamEvent::finish(
            FinishReason::Error,
            Some("failed".into()),
            Usage::default()
        ))
    );
}

#[test]
fn a_rate_limit_error_event_rests_the_account_like_a_429() {
    let error = b"event: error\ndata: {\"type\":\"error\",\"code\":\"rate_limit_exceeded\",\"message\":\"Slow down.\",\"param\":null}\n\n";
    let events = assert_error_frame_ends_the_stream(
        streaming_decoder,
        error,
        &UpstreamError::new(ErrorClass::RateLimited(None), "Slow down."),
    );
    assert_eq!(
        events,
        vec![
            StreamEvent::Error(UpstreamError::new(
                ErrorClass::RateLimited(None),
                "Slow down."
            )),
            StreamEvent::finish(FinishReason::Error, Some("error".into()), Usage::default()),
        ]
    );
}

#[test]
fn garbage_is_an_upstream_error() {
    assert_garbage_is_an_upstream_error(
        streaming_decoder,
        b"event: response.created\ndata: {oops\n\n",
    );
    assert_garbage_is_an_upstream_error(
        || ResponsesDecoder::new(DecodeMode::ok(false)),
        b"{\"output\": [",
    );
}

#[test]
fn passthrough_forwards_bytes_unchanged_and_ends_with_usage() {
    assert_passthrough_forwards_every_byte(
        || ResponsesDecoder::new(DecodeMode::ok(true).passthrough()),
        TOOL_STREAM.as_bytes(),
        &StreamEvent::finish(FinishReason::ToolCalls, Some("completed".into()), usage()),
    );
}
