//! Stories of upstreams that fail in the ways real ones do, against a real `plugboard
//! serve`: silent mid-answer, accepting and never answering, echoing the key in their
//! error text, dying inside an SSE event, sending garbage frames, answering 200 with
//! nothing, and asking for absurd rests. Each is a regression test for a finding of the
//! hardening issue (#9); the raw upstream (`serve_support::RawUpstream`) writes bytes
//! exactly as scripted.

mod serve_support;

use std::time::{Duration, Instant};

use serde_json::json;
use serve_support::*;

/// One provider entry `name` with the `openai` adapter at `upstream`, serving `model`.
fn openai_entry(name: &str, upstream: &str, model: &str) -> String {
    format!(
        "  - {{name: {name}, adapter: openai, base-url: '{upstream}/v1', api-keys: [sk-upstream-secret-{name}], models: [{model}]}}\n"
    )
}

/// One provider entry `name` with the `anthropic` adapter at `upstream`, serving `model`.
fn anthropic_entry(name: &str, upstream: &str, model: &str) -> String {
    format!(
        "  - {{name: {name}, adapter: anthropic, base-url: '{upstream}', api-keys: [sk-upstream-secret-{name}], models: [{model}]}}\n"
    )
}

fn start(entries: &[String], top: &str) -> Plugboard {
    let adapters = adapters_with(&["openai", "anthropic"]);
    Plugboard::start(&adapters, &format!("{top}providers:\n{}", entries.concat()))
}

fn chat_chunk(content: &str) -> String {
    let chunk = json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]
    });
    format!("data: {chunk}\n\n")
}

fn messages_request(model: &str, stream: bool) -> serde_json::Value {
    json!({"model": model, "max_tokens": 64, "stream": stream,
           "messages": [{"role": "user", "content": "hello"}]})
}

fn post_messages(url: &str, body: &serde_json::Value) -> reqwest::RequestBuilder {
    client()
        .post(url)
        .header("content-type", "application/json")
        .header("x-api-key", CLIENT_KEY)
        .header("anthropic-version", "2023-06-01")
        .body(body.to_string())
}

/// Every SSE event of `text`: each must be whole (`event:`/`data:` lines only) and
/// its data JSON. Returns the data values.
fn sse_events(text: &str) -> Vec<serde_json::Value> {
    text.split("\n\n")
        .filter(|event| !event.trim().is_empty())
        .map(|event| {
            let data: String = event
                .lines()
                .inspect(|line| {
                    assert!(
                        line.starts_with("event: ") || line.starts_with("data: "),
                        "a malformed line {line:?} in {text:?}"
                    );
                })
                .filter_map(|line| line.strip_prefix("data: "))
                .collect();
            serde_json::from_str(&data)
                .unwrap_or_else(|err| panic!("event data is not JSON ({err}): {event:?}"))
        })
        .collect()
}

const ANTHROPIC_START: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-up\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n";

#[tokio::test]
async fn a_stream_that_falls_silent_ends_with_an_error_instead_of_hanging() {
    let upstream = RawUpstream::start(
        Raw::head_then(
            200,
            "text/event-stream",
            &format!("{}{}", chat_chunk("Hel"), chat_chunk("lo")),
        )
        .then_stall(),
    )
    .await;
    let plugboard = start(
        &[openai_entry("silent", &upstream.base_url, "m")],
        "limits: {upstream-idle-timeout-s: 1}\n",
    );
    let mut body = hello("m");
    body["stream"] = json!(true);
    let started = Instant::now();
    let response = post_json(&client(), &plugboard.url("/v1/chat/completions"), &body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = tokio::time::timeout(Duration::from_secs(20), response.text())
        .await
        .expect("the stream ends instead of hanging")
        .unwrap();
    assert!(text.contains("Hel") && text.contains("lo"), "{text}");
    assert!(
        text.contains("fell silent"),
        "the stream ends with an error frame saying why: {text}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn a_document_that_falls_silent_is_a_504_instead_of_a_hang() {
    let upstream =
        RawUpstream::start(Raw::head_then(200, "application/json", "{\"id\": \"ch").then_stall())
            .await;
    let plugboard = start(
        &[openai_entry("silent", &upstream.base_url, "m")],
        "limits: {upstream-idle-timeout-s: 1}\n",
    );
    let response = tokio::time::timeout(
        Duration::from_secs(20),
        post_json(
            &client(),
            &plugboard.url("/v1/chat/completions"),
            &hello("m"),
        )
        .send(),
    )
    .await
    .expect("an answer instead of a hang")
    .unwrap();
    let error = openai_error(response, 504).await;
    assert!(
        error["message"].as_str().unwrap().contains("fell silent"),
        "{error}"
    );
}

#[tokio::test]
async fn an_upstream_that_never_answers_rests_and_later_requests_skip_it() {
    // Accepts the request, never sends a head.
    let silent = RawUpstream::start(Raw {
        bytes: Vec::new(),
        stall: true,
        ..Raw::default()
    })
    .await;
    let good = ScriptedUpstream::start().await;
    let plugboard = start(
        &[
            openai_entry("silent", &silent.base_url, "m"),
            openai_entry("good", &good.base_url, "m"),
        ],
        "limits: {upstream-timeout-s: 1}\n",
    );
    for _ in 0..4 {
        good.reply(Reply::json(
            200,
            json!({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}),
        ));
        let response = post_json(
            &client(),
            &plugboard.url("/v1/chat/completions"),
            &hello("m"),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(
        silent.requests(),
        1,
        "after one timeout the silent account rests; the next three go straight to the good one"
    );
    assert_eq!(good.received().len(), 4);
    let log = plugboard.log();
    assert!(log.contains("unreachable"), "{log}");
}

#[tokio::test]
async fn an_upstream_that_echoes_the_key_never_gets_it_to_the_client_or_the_log() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = start(&[openai_entry("echoing", &upstream.base_url, "m")], "");
    upstream.reply(Reply::json(
        401,
        json!({"error": {"message": "Incorrect API key provided: sk-upstream-secret-echoing. You can find your API key at https://platform.openai.com/account/api-keys.", "type": "invalid_request_error", "code": "invalid_api_key"}}),
    ));
    let response = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &hello("m"),
    )
    .send()
    .await
    .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert!(status >= 400, "{status}: {text}");
    assert!(!text.contains("sk-upstream-secret-echoing"), "{text}");
    assert!(text.contains("[redacted]"), "{text}");
    let log = plugboard.log();
    assert!(!log.contains("sk-upstream-secret-echoing"), "{log}");
}

#[tokio::test]
async fn a_named_accounts_secret_echoed_upstream_is_redacted_too() {
    let upstream = ScriptedUpstream::start().await;
    let entry = format!(
        "  - {{name: echoing, adapter: openai, base-url: '{}', models: [m], accounts: [{{name: sub, secret: sk-account-secret-echoed}}]}}\n",
        upstream.base_url
    );
    let plugboard = start(&[entry], "");
    upstream.reply(Reply::json(
        401,
        json!({"error": {"message": "Incorrect API key provided: sk-account-secret-echoed.", "type": "invalid_request_error", "code": "invalid_api_key"}}),
    ));
    let response = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &hello("m"),
    )
    .send()
    .await
    .unwrap();
    let text = response.text().await.unwrap();
    assert!(!text.contains("sk-account-secret-echoed"), "{text}");
    assert!(text.contains("[redacted]"), "{text}");
    assert!(!plugboard.log().contains("sk-account-secret-echoed"));
}

#[tokio::test]
async fn a_passthrough_stream_that_dies_inside_an_event_ends_with_a_clean_error_frame() {
    let half_event = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_bl";
    // The connection breaks after half an event: a chunked body that never ends.
    let upstream = ScriptedUpstream::start().await;
    upstream.reply(Reply::sse(&[ANTHROPIC_START, half_event]).then_break());
    let plugboard = start(
        &[anthropic_entry("claude", &upstream.base_url, "claude-up")],
        "",
    );
    let response = post_messages(
        &plugboard.url("/v1/messages"),
        &messages_request("claude-up", true),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let events = sse_events(&text);
    assert_eq!(events.first().unwrap()["type"], "message_start");
    assert_eq!(events.last().unwrap()["type"], "error", "{text}");
    assert!(
        !text.contains("content_bl\""),
        "the cut event is dropped: {text}"
    );
}

#[tokio::test]
async fn a_passthrough_stream_with_a_frame_that_is_not_json_ends_with_an_error_event() {
    // The first event reaches the client before the garbage arrives.
    let upstream = ScriptedUpstream::start().await;
    upstream.reply(Reply::sse(&[
        ANTHROPIC_START,
        "event: content_block_delta\ndata: this is not json\n\n",
    ]));
    let plugboard = start(
        &[anthropic_entry("claude", &upstream.base_url, "claude-up")],
        "",
    );
    let response = post_messages(
        &plugboard.url("/v1/messages"),
        &messages_request("claude-up", true),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(!text.contains("this is not json"), "{text}");
    let events = sse_events(&text);
    assert_eq!(events.first().unwrap()["type"], "message_start");
    assert_eq!(events.last().unwrap()["type"], "error", "{text}");
}

#[tokio::test]
async fn an_empty_200_is_an_upstream_error_on_passthrough_and_translated_paths() {
    let upstream = RawUpstream::start(Raw::complete(
        200,
        &[("content-type", "application/json")],
        "",
    ))
    .await;
    let plugboard = start(
        &[anthropic_entry("claude", &upstream.base_url, "claude-up")],
        "",
    );
    // Passthrough: an Anthropic client to the anthropic adapter, document and stream.
    for stream in [false, true] {
        let response = post_messages(
            &plugboard.url("/v1/messages"),
            &messages_request("claude-up", stream),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(response.status(), 502, "stream: {stream}");
        let body = json_body(response).await;
        assert_eq!(body["type"], "error");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("empty body"),
            "{body}"
        );
    }
    // Translated: an OpenAI client to the anthropic adapter.
    let error = openai_error(
        post_json(
            &client(),
            &plugboard.url("/v1/chat/completions"),
            &hello("claude-up"),
        )
        .send()
        .await
        .unwrap(),
        502,
    )
    .await;
    assert!(error["message"].as_str().unwrap().contains("empty body"));
}

#[tokio::test]
async fn every_429_carries_retry_after_in_every_dialect_and_absurd_hints_are_capped() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = start(
        &[openai_entry("limited", &upstream.base_url, "m")],
        "retry: {max-retry-after-s: 600}\n",
    );
    upstream.reply(
        Reply::json(
            429,
            json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}),
        )
        .header("retry-after", "99999999999"),
    );
    // The relayed upstream 429: its hint, capped.
    let response = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &hello("m"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "600");
    let log = plugboard.log();
    assert!(log.contains("capped_from_s"), "{log}");

    // Plugboard's own 429 (every account resting), in each dialect.
    let requests = [
        post_json(
            &client(),
            &plugboard.url("/v1/chat/completions"),
            &hello("m"),
        ),
        post_json(
            &client(),
            &plugboard.url("/v1/responses"),
            &json!({"model": "m", "input": "hello"}),
        ),
        post_messages(
            &plugboard.url("/v1/messages"),
            &messages_request("m", false),
        ),
        post_json(
            &client(),
            &plugboard.url("/v1beta/models/m:generateContent"),
            &json!({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}),
        ),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 429);
        let after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((590..=600).contains(&after), "{after}");
    }
    assert_eq!(
        upstream.received().len(),
        1,
        "resting accounts are not called"
    );
}
