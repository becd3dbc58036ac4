//! Stories of a request an upstream refuses as too long for the model's context, against
//! a real `plugboard serve`: with `context-recovery` on the provider entry, the host
//! retries it once, cut by the `history-trim` fixup to the configured budget, and the
//! client never learns it was too long; without it, or when the cut request is refused
//! too, the client gets the upstream's refusal.
//!
//! Needs `openai.wasm` and `history-trim.wasm` in `target/adapters`
//! (`adapters/build.sh`).

mod serve_support;

use std::collections::HashSet;

use serde_json::{Value, json};
use serve_support::*;

const SYSTEM: &str = "You are a coding agent. Work in the repository; run the tests.";
const TASK: &str = "Fix the failing build.";
const LAST_QUESTION: &str = "Now run clippy and tell me what it says.";

/// A Plugboard with one `openai` entry at `upstream` serving `gpt-long`; `recovery` is
/// the entry's `context-recovery` value, if any.
fn gateway(upstream: &ScriptedUpstream, recovery: Option<&str>) -> Plugboard {
    let adapters = adapters_with(&["openai", "history-trim"]);
    let recovery = recovery.map_or(String::new(), |value| {
        format!("    context-recovery: {value}\n")
    });
    Plugboard::start(
        &adapters,
        &format!(
            "providers:\n  - name: long\n    adapter: openai\n    base-url: {}/v1\n    api-keys: [sk-upstream-long]\n    models: [gpt-long]\n{recovery}",
            upstream.base_url
        ),
    )
}

/// 2,000 bytes of build output.
fn build_output(round: usize) -> String {
    format!("round {round}: ") + &"warning: unused variable `x` in src/lib.rs\n".repeat(46)
}

/// A coding agent's long session in OpenAI Chat: the system prompt, the task, `rounds`
/// rounds of a tool call and its result (round 4 calls two tools at once), and the
/// user's last question.
fn long_session(rounds: usize, stream: bool) -> Value {
    let mut messages = vec![
        json!({"role": "system", "content": SYSTEM}),
        json!({"role": "user", "content": TASK}),
    ];
    for round in 1..=rounds {
        let ids: Vec<String> = if round == 4 {
            vec!["call_4a".into(), "call_4b".into()]
        } else {
            vec![format!("call_{round}")]
        };
        let calls: Vec<Value> = ids
            .iter()
            .map(|id| {
                json!({"id": id, "type": "function",
                       "function": {"name": "bash", "arguments": "{\"cmd\":\"cargo build\"}"}})
            })
            .collect();
        messages.push(json!({"role": "assistant", "content": format!("Step {round}: building."), "tool_calls": calls}));
        for id in &ids {
            messages
                .push(json!({"role": "tool", "tool_call_id": id, "content": build_output(round)}));
        }
    }
    messages.push(json!({"role": "user", "content": LAST_QUESTION}));
    json!({
        "model": "gpt-long",
        "stream": stream,
        "messages": messages,
        "tools": [{"type": "function", "function": {"name": "bash", "description": "Run a shell command",
                   "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}}],
    })
}

/// OpenAI's refusal of an over-long prompt.
fn too_long(tokens: u32) -> Reply {
    Reply::json(
        400,
        json!({"error": {
            "message": format!("This model's maximum context length is 8192 tokens. However, your messages resulted in {tokens} tokens."),
            "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}),
    )
}

fn completion(text: &str) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-long",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3000, "completion_tokens": 5, "total_tokens": 3005}
    })
}

/// The role and text content of a Chat message as the upstream received it.
fn role_and_text(message: &Value) -> (&str, String) {
    let content = match &message["content"] {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect(),
        _ => String::new(),
    };
    (message["role"].as_str().unwrap_or_default(), content)
}

/// Every assistant tool call is answered by the `tool` messages right after it, and
/// every `tool` message answers a call of the assistant message right before them.
/// Returns the call ids seen.
fn assert_every_call_paired(messages: &[Value]) -> Vec<String> {
    let mut seen = Vec::new();
    let mut open: HashSet<String> = HashSet::new();
    let mut answerable: HashSet<String> = HashSet::new();
    for message in messages {
        match message["role"].as_str() {
            Some("tool") => {
                let id = message["tool_call_id"].as_str().unwrap().to_owned();
                assert!(
                    answerable.contains(&id),
                    "tool result `{id}` answers no call of the turn before: {messages:#?}"
                );
                open.remove(&id);
            }
            _ => {
                assert!(
                    open.is_empty(),
                    "calls {open:?} lost their results: {messages:#?}"
                );
                answerable.clear();
                for call in message["tool_calls"].as_array().into_iter().flatten() {
                    let id = call["id"].as_str().unwrap().to_owned();
                    seen.push(id.clone());
                    open.insert(id.clone());
                    answerable.insert(id);
                }
            }
        }
    }
    assert!(open.is_empty(), "calls {open:?} lost their results");
    seen
}

#[tokio::test]
async fn a_conversation_refused_as_too_long_is_cut_and_answered_on_the_retry() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gateway(
        &upstream,
        Some("{fixup: history-trim, budget-tokens: 3000}"),
    );
    upstream.reply(too_long(12_000));
    upstream.reply(Reply::json(200, completion("clippy is clean")));

    let sent = long_session(20, false);
    let response = post_json(&client(), &plugboard.url("/v1/chat/completions"), &sent)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = json_body(response).await;
    assert_eq!(body["choices"][0]["message"]["content"], "clippy is clean");

    let received = upstream.received();
    assert_eq!(received.len(), 2, "the refusal, then the cut retry");
    let (first, retry) = (received[0].json(), received[1].json());
    let first = first["messages"].as_array().unwrap();
    let cut = retry["messages"].as_array().unwrap();
    assert_eq!(first.len(), sent["messages"].as_array().unwrap().len());
    assert!(
        received[1].body.len() < received[0].body.len() / 2,
        "the retry is much shorter: {} bytes against {}",
        received[1].body.len(),
        received[0].body.len()
    );
    // The system prompt and the task stay at the start, the last question at the end,
    // and what is between is the session's latest turns, whole.
    assert_eq!(role_and_text(&cut[0]), ("system", SYSTEM.to_owned()));
    assert_eq!(role_and_text(&cut[1]), ("user", TASK.to_owned()));
    assert_eq!(
        role_and_text(cut.last().unwrap()),
        ("user", LAST_QUESTION.to_owned())
    );
    assert_eq!(cut[2..], first[first.len() - (cut.len() - 2)..]);
    let calls = assert_every_call_paired(cut);
    assert!(!calls.is_empty(), "the latest tool rounds are kept");
    assert!(
        !calls.contains(&"call_1".to_owned()),
        "the oldest rounds went: {calls:?}"
    );
    assert_eq!(
        retry["tools"],
        received[0].json()["tools"],
        "the tools stay"
    );

    let log = plugboard.log();
    assert!(
        log.contains("upstream refused the request as too long; cutting it and retrying"),
        "{log}"
    );
    let trimmed = log
        .lines()
        .find(|line| line.contains("history-trim: dropped"))
        .unwrap_or_else(|| panic!("the fixup says what it dropped: {log}"));
    assert!(trimmed.contains("to fit 3,000"), "{trimmed}");
}

#[tokio::test]
async fn a_stream_refused_as_too_long_is_retried_before_its_first_byte() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gateway(&upstream, Some("{fixup: history-trim}"));
    upstream.reply(too_long(12_000));
    let chunk = |delta: Value, finish: Option<&str>| {
        let chunk = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
            "model": "gpt-long", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        format!("data: {chunk}\n\n")
    };
    let frames = [
        chunk(json!({"role": "assistant", "content": "clippy "}), None),
        chunk(json!({"content": "is clean"}), None),
        chunk(json!({}), Some("stop")),
        "data: [DONE]\n\n".to_owned(),
    ];
    upstream.reply(Reply::sse(
        &frames.iter().map(String::as_str).collect::<Vec<_>>(),
    ));

    let response = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &long_session(12, true),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("clippy ") && text.contains("is clean") && !text.contains("error"),
        "{text}"
    );
    let received = upstream.received();
    assert_eq!(received.len(), 2);
    // No budget configured: the fixup aims at half the request.
    assert!(received[1].body.len() < received[0].body.len(), "shorter");
    assert_every_call_paired(received[1].json()["messages"].as_array().unwrap());
}

#[tokio::test]
async fn without_context_recovery_the_client_gets_the_upstreams_refusal_at_once() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gateway(&upstream, None);
    upstream.reply(too_long(12_000));
    let response = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &long_session(20, false),
    )
    .send()
    .await
    .unwrap();
    let error = openai_error(response, 400).await;
    assert_eq!(error["code"], "context_length_exceeded");
    assert!(
        error["message"].as_str().unwrap().contains("12000 tokens"),
        "{error}"
    );
    assert_eq!(upstream.received().len(), 1, "not retried");
    let log = plugboard.log();
    assert!(
        !log.contains("cutting it") && !log.contains("history-trim: "),
        "the fixup never ran: {log}"
    );
}

#[tokio::test]
async fn when_the_cut_request_is_refused_too_the_client_gets_that_refusal() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gateway(
        &upstream,
        Some("{fixup: history-trim, budget-tokens: 3000}"),
    );
    upstream.reply(too_long(12_000));
    upstream.reply(too_long(9_000));
    let response = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &long_session(20, false),
    )
    .send()
    .await
    .unwrap();
    let error = openai_error(response, 400).await;
    assert_eq!(error["code"], "context_length_exceeded");
    assert!(
        error["message"].as_str().unwrap().contains("9000 tokens"),
        "the refusal of the request as last sent: {error}"
    );
    assert_eq!(upstream.received().len(), 2, "retried once, not again");
}

#[tokio::test]
async fn a_context_recovery_fixup_that_is_not_loaded_leaves_the_refusal_as_it_was() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gateway(&upstream, Some("{fixup: trim-missing}"));
    upstream.reply(too_long(12_000));
    let response = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &long_session(20, false),
    )
    .send()
    .await
    .unwrap();
    let error = openai_error(response, 400).await;
    assert_eq!(error["code"], "context_length_exceeded");
    assert_eq!(upstream.received().len(), 1);
    let log = plugboard.log();
    assert!(
        log.contains("context-recovery fixup `trim-missing` is not loaded"),
        "warned at start: {log}"
    );
    assert!(
        log.contains("the context-recovery fixup is not loaded, so the refusal stands"),
        "{log}"
    );
}
