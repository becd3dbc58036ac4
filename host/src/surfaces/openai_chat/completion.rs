//! The `chat.completion` object, and the pieces it shares with the stream's chunks:
//! the completion id, the finish reason and the usage object.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::ir::{FinishReason, Part, Usage};
use crate::surfaces::collect::Collected;

/// A completion id in OpenAI's shape: the upstream id when it is already one, the
/// upstream id behind `chatcmpl-` otherwise (so logs still match it), else a fresh one.
pub(super) fn completion_id(upstream: Option<&str>) -> String {
    match upstream {
        Some(id) if id.starts_with("chatcmpl-") => id.to_owned(),
        Some(id) if !id.is_empty() => format!("chatcmpl-{id}"),
        _ => format!("chatcmpl-{}", unique_suffix()),
    }
}

/// 24 hex digits, unique within this process and unlikely to repeat across restarts.
/// Not a secret, so no CSPRNG is needed.
fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mixed = splitmix64(nanos ^ splitmix64(COUNTER.fetch_add(1, Ordering::Relaxed)));
    format!("{:016x}{:08x}", mixed, splitmix64(mixed) as u32)
}

/// One round of SplitMix64: spreads nearby inputs over the whole range.
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Unix seconds now, for responses whose upstream gave no `created`.
pub(super) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// OpenAI's `finish_reason`. A response that called tools reports `tool_calls` even when
/// the upstream said "stop" (Gemini does): clients loop on that value.
pub(super) fn finish_reason(reason: FinishReason, called_tools: bool) -> &'static str {
    match reason {
        FinishReason::Length => "length",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::Stop | FinishReason::Error | FinishReason::Other if called_tools => {
            "tool_calls"
        }
        FinishReason::Stop | FinishReason::Error | FinishReason::Other => "stop",
    }
}

/// The `usage` object, with the detail objects OpenAI always sends.
pub(super) fn usage_json(usage: &Usage) -> UsageObject {
    let prompt = usage.input_tokens.unwrap_or(0);
    let completion = usage.output_tokens.unwrap_or(0);
    UsageObject {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        prompt_tokens_details: PromptDetails {
            cached_tokens: usage.cache_read_tokens.unwrap_or(0),
            audio_tokens: 0,
        },
        completion_tokens_details: CompletionDetails {
            reasoning_tokens: usage.reasoning_tokens.unwrap_or(0),
            audio_tokens: 0,
            accepted_prediction_tokens: 0,
            rejected_prediction_tokens: 0,
        },
    }
}

// The answer's shapes, written straight to bytes: no `Value` tree is built on the way
// (a `json!` body cost ~85 allocations per answer). Field order is the wire order.

/// OpenAI's `usage` object.
#[derive(Serialize)]
pub(super) struct UsageObject {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: PromptDetails,
    completion_tokens_details: CompletionDetails,
}

#[derive(Serialize)]
struct PromptDetails {
    cached_tokens: u64,
    audio_tokens: u64,
}

#[derive(Serialize)]
struct CompletionDetails {
    reasoning_tokens: u64,
    audio_tokens: u64,
    accepted_prediction_tokens: u64,
    rejected_prediction_tokens: u64,
}

/// A `chat.completion` object.
#[derive(Serialize)]
struct Completion<'a> {
    id: String,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [Choice<'a>; 1],
    usage: UsageObject,
    /// Always `null`.
    system_fingerprint: Option<()>,
}

#[derive(Serialize)]
struct Choice<'a> {
    index: u32,
    message: AssistantMessage<'a>,
    /// Always `null`.
    logprobs: Option<()>,
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct AssistantMessage<'a> {
    role: &'static str,
    content: Option<Cow<'a, str>>,
    /// Always `null`.
    refusal: Option<()>,
    /// Always `[]`.
    annotations: [(); 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<ToolCall<'a>>,
}

#[derive(Serialize)]
struct ToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionCall<'a>,
}

#[derive(Serialize)]
struct FunctionCall<'a> {
    name: &'a str,
    arguments: &'a str,
}

/// `text` appended to what `joined` holds so far (borrowed while there is one piece).
fn join<'a>(joined: &mut Option<Cow<'a, str>>, text: &'a str) {
    match joined {
        None => *joined = Some(Cow::Borrowed(text)),
        Some(so_far) => so_far.to_mut().push_str(text),
    }
}

/// A `chat.completion` object for a collected response, named after the client's
/// `model`. The caller answers `collected.error` with an error body instead.
///
/// Text blocks are joined without a separator, as a streaming client would see them.
pub fn response_json(collected: &Collected, model: &str) -> Vec<u8> {
    let mut content = None;
    let mut reasoning = None;
    let mut tool_calls = Vec::new();
    for part in &collected.parts {
        match part {
            Part::Text(text) => join(&mut content, &text.text),
            Part::Reasoning(part) if !part.text.is_empty() => join(&mut reasoning, &part.text),
            Part::ToolCall(call) => tool_calls.push(ToolCall {
                id: &call.id,
                kind: "function",
                function: FunctionCall {
                    name: &call.name,
                    arguments: &call.arguments,
                },
            }),
            _ => {}
        }
    }
    let (reason, usage) = match &collected.finish {
        Some(finish) => (finish.reason, finish.usage),
        None => (FinishReason::Stop, Usage::default()),
    };
    let called_tools = !tool_calls.is_empty();
    let body = Completion {
        id: completion_id(collected.metadata.id.as_deref()),
        object: "chat.completion",
        created: collected.metadata.created.unwrap_or_else(now_unix),
        model,
        choices: [Choice {
            index: 0,
            message: AssistantMessage {
                role: "assistant",
                content,
                refusal: None,
                annotations: [],
                reasoning_content: reasoning,
                tool_calls,
            },
            logprobs: None,
            finish_reason: finish_reason(reason, called_tools),
        }],
        usage: usage_json(&usage),
        system_fingerprint: None,
    };
    serde_json::to_vec(&body).expect("these shapes always serialise")
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::ir::{Finish, ReasoningPart, ResponseMetadata, TextPart, ToolCallPart};

    #[test]
    fn ids_keep_the_upstream_identity_in_openai_shape() {
        assert_eq!(completion_id(Some("chatcmpl-abc")), "chatcmpl-abc");
        assert_eq!(completion_id(Some("msg_01XYZ")), "chatcmpl-msg_01XYZ");
        let fresh = completion_id(None);
        assert!(
            fresh.starts_with("chatcmpl-") && fresh.len() == "chatcmpl-".len() + 24,
            "{fresh}"
        );
        assert_ne!(completion_id(Some("")), fresh, "two fresh ids differ");
    }

    #[test]
    fn a_text_answer_becomes_a_chat_completion() {
        let collected = Collected {
            metadata: ResponseMetadata {
                id: Some("chatcmpl-1".into()),
                model: Some("up".into()),
                created: Some(42),
            },
            parts: vec![
                Part::Reasoning(ReasoningPart {
                    text: "think".into(),
                    ..Default::default()
                }),
                Part::Text(TextPart {
                    text: "Hello, ".into(),
                    options: None,
                }),
                Part::Text(TextPart {
                    text: "world.".into(),
                    options: None,
                }),
            ],
            finish: Some(Finish {
                reason: FinishReason::Stop,
                raw_reason: None,
                usage: Usage {
                    input_tokens: Some(12),
                    output_tokens: Some(7),
                    cache_read_tokens: Some(4),
                    reasoning_tokens: Some(3),
                    ..Default::default()
                },
                options: None,
            }),
            error: None,
        };
        let body: Value = serde_json::from_slice(&response_json(&collected, "my-alias")).unwrap();
        assert_eq!(
            body,
            json!({
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 42,
                "model": "my-alias",
                "choices": [{
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": "Hello, world.",
                        "refusal": null,
                        "annotations": [],
                        "reasoning_content": "think",
                    },
                    "logprobs": null,
                    "finish_reason": "stop",
                }],
                "usage": {
                    "prompt_tokens": 12,
                    "completion_tokens": 7,
                    "total_tokens": 19,
                    "prompt_tokens_details": {"cached_tokens": 4, "audio_tokens": 0},
                    "completion_tokens_details": {
                        "reasoning_tokens": 3,
                        "audio_tokens": 0,
                        "accepted_prediction_tokens": 0,
                        "rejected_prediction_tokens": 0,
                    },
                },
                "system_fingerprint": null,
            })
        );
    }

    #[test]
    fn a_tool_only_answer_has_null_content_and_reports_tool_calls() {
        let collected = Collected {
            parts: vec![Part::ToolCall(ToolCallPart {
                id: "call_9".into(),
                name: "bash".into(),
                arguments: "{\"cmd\":\"echo hi\"}".into(),
                options: None,
            })],
            finish: Some(Finish {
                reason: FinishReason::Stop,
                raw_reason: None,
                usage: Usage::default(),
                options: None,
            }),
            ..Default::default()
        };
        let body: Value = serde_json::from_slice(&response_json(&collected, "m")).unwrap();
        let choice = &body["choices"][0];
        assert_eq!(choice["message"]["content"], Value::Null);
        assert_eq!(choice["finish_reason"], "tool_calls");
        assert_eq!(
            choice["message"]["tool_calls"],
            json!([{"id": "call_9", "type": "function", "function": {"name": "bash", "arguments": "{\"cmd\":\"echo hi\"}"}}])
        );
        assert!(
            body["created"].as_u64().unwrap() > 1_600_000_000,
            "created falls back to now"
        );
    }
}
