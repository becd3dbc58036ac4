//! Stories through the real `openai` adapter to a scripted upstream: what the client
//! sees, and what the upstream received (the provider's key, never the client's).

mod serve_support;

use serde_json::json;
use serve_support::*;

fn completion(text: &str) -> serde_json::Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-up",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    })
}

fn chunk(delta: serde_json::Value, finish: Option<&str>) -> String {
    let chunk = json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-up",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
    });
    format!("data: {chunk}\n\n")
}

/// A gateway with one provider entry, `keys` its accounts; `extra` more entry keys.
fn gateway(upstream: &ScriptedUpstream, keys: &[&str], extra: &str, top: &str) -> Plugboard {
    let adapters = adapters_with(&["openai", "first-user-turn"]);
    let keys = keys.join(", ");
    Plugboard::start(
        &adapters,
        &format!(
            "{top}providers:\n  - name: scripted\n    adapter: openai\n    base-url: {}/v1\n    api-keys: [{keys}]\n    models: [gpt-up, {{name: gpt-up, alias: fixed}}]\n{extra}",
            upstream.base_url
        ),
    )
}

#[tokio::test]
async fn a_chat_goes_upstream_with_the_provider_key_and_comes_back() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gateway(&upstream, &["sk-upstream-1"], "", "");
    let client = client();
    let url = plugboard.url("/v1/chat/completions");
    let styles = [
        client
            .post(&url)
            .header("authorization", format!("Bearer {CLIENT_KEY}")),
        client.post(&url).header("x-api-key", CLIENT_KEY),
        client.post(&url).header("x-goog-api-key", CLIENT_KEY),
        client.post(format!("{url}?key={CLIENT_KEY}")),
    ];
    for request in styles {
        upstream.reply(Reply::json(200, completion("hello there")));
        let response = request
            .header("content-type", "application/json")
            .body(hello("gpt-up").to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body = json_body(response).await;
        assert_eq!(body["choices"][0]["message"]["content"], "hello there");
    }
    let received = upstream.received();
    assert_eq!(received.len(), 4);
    for request in &received {
        assert_eq!(request.target, "/v1/chat/completions");
        assert_eq!(
            request.header("authorization"),
            Some("Bearer sk-upstream-1")
        );
        assert!(
            request.header("x-api-key").is_none() && request.header("x-goog-api-key").is_none()
        );
        assert!(!request.target.contains(CLIENT_KEY));
        assert_eq!(request.json()["model"], "gpt-up");
    }
    let log = plugboard.log();
    assert!(
        !log.contains("sk-upstream-1") && !log.contains(CLIENT_KEY),
        "keys never reach the log"
    );
    assert!(
        log.contains("account=\"scripted#1\"") || log.contains("account=scripted#1"),
        "{log}"
    );
}

#[tokio::test]
async fn a_stream_is_relayed_as_sse_through_the_ir_path() {
    let upstream = ScriptedUpstream::start().await;
    // first-user-turn edits the IR request, so this goes through decode/encode, not passthrough.
    let plugboard = gateway(
        &upstream,
        &["sk-upstream-1"],
        "    fixups: [first-user-turn]\n",
        "",
    );
    upstream.reply(Reply::sse(&[
        &chunk(json!({"role": "assistant", "content": ""}), None),
        &chunk(json!({"content": "Hel"}), None),
        &chunk(json!({"content": "lo"}), None),
        &chunk(json!({}), Some("stop")),
        "data: [DONE]\n\n",
    ]));
    let mut body = hello("fixed");
    body["stream"] = json!(true);
    let response = post_json(&client(), &plugboard.url("/v1/chat/completions"), &body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = String::from_utf8(response.bytes().await.unwrap().to_vec()).unwrap();
    let mut content = String::new();
    for line in text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|l| *l != "[DONE]")
    {
        let chunk: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            chunk["model"], "fixed",
            "the client sees the model name it asked for"
        );
        if let Some(piece) = chunk["choices"][0]["delta"]["content"].as_str() {
            content.push_str(piece);
        }
    }
    assert_eq!(content, "Hello");
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    assert_eq!(upstream.received()[0].json()["stream"], true);
}

#[tokio::test]
async fn a_rate_limited_account_fails_over_to_the_next_and_rests() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gateway(&upstream, &["sk-upstream-1", "sk-upstream-2"], "", "");
    upstream.reply(
        Reply::json(429, json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}))
            .header("retry-after", "30"),
    );
    upstream.reply(Reply::json(200, completion("from the second account")));
    let url = plugboard.url("/v1/chat/completions");
    let response = post_json(&client(), &url, &hello("gpt-up"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        json_body(response).await["choices"][0]["message"]["content"],
        "from the second account"
    );

    // The first account rests for its Retry-After: the next request goes to the second.
    upstream.reply(Reply::json(200, completion("again")));
    let response = post_json(&client(), &url, &hello("gpt-up"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let keys: Vec<_> = upstream
        .received()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(
        keys,
        [
            "Bearer sk-upstream-1",
            "Bearer sk-upstream-2",
            "Bearer sk-upstream-2"
        ]
    );
}

#[tokio::test]
async fn when_every_account_is_rate_limited_the_client_gets_a_429_naming_the_provider() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gateway(&upstream, &["sk-upstream-1", "sk-upstream-2"], "", "");
    for _ in 0..2 {
        upstream.reply(
            Reply::json(429, json!({"error": {"message": "Rate limit reached"}}))
                .header("retry-after", "30"),
        );
    }
    let url = plugboard.url("/v1/chat/completions");
    let error = openai_error(
        post_json(&client(), &url, &hello("gpt-up"))
            .send()
            .await
            .unwrap(),
        429,
    )
    .await;
    assert!(
        error["message"].as_str().unwrap().contains("scripted"),
        "{error}"
    );
    // Both rest now: the next request is refused without calling the upstream.
    let error = openai_error(
        post_json(&client(), &url, &hello("gpt-up"))
            .send()
            .await
            .unwrap(),
        429,
    )
    .await;
    assert!(
        error["message"].as_str().unwrap().contains("retry in"),
        "{error}"
    );
    assert_eq!(upstream.received().len(), 2);
}

#[tokio::test]
async fn a_prompt_too_long_is_returned_at_once_with_the_upstreams_message() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gateway(&upstream, &["sk-upstream-1", "sk-upstream-2"], "", "");
    upstream.reply(Reply::json(
        400,
        json!({"error": {"message": "This model's maximum context length is 8192 tokens", "code": "context_length_exceeded"}}),
    ));
    let response = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &hello("gpt-up"),
    )
    .send()
    .await
    .unwrap();
    let error = openai_error(response, 400).await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("maximum context length"),
        "{error}"
    );
    assert_eq!(
        upstream.received().len(),
        1,
        "not retried on another account"
    );
}

#[tokio::test]
async fn an_upstream_that_dies_mid_stream_ends_the_stream_with_an_error_frame() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gateway(
        &upstream,
        &["sk-upstream-1"],
        "    fixups: [first-user-turn]\n",
        "",
    );
    upstream.reply(
        Reply::sse(&[
            &chunk(json!({"role": "assistant", "content": ""}), None),
            &chunk(json!({"content": "Hel"}), None),
        ])
        .then_break(),
    );
    let mut body = hello("gpt-up");
    body["stream"] = json!(true);
    let response = post_json(&client(), &plugboard.url("/v1/chat/completions"), &body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = String::from_utf8_lossy(&response.bytes().await.unwrap()).into_owned();
    assert!(text.contains("Hel"), "{text}");
    let last = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap();
    let frame: serde_json::Value = serde_json::from_str(last).unwrap();
    assert!(
        frame["error"]["message"]
            .as_str()
            .unwrap()
            .contains("scripted"),
        "{text}"
    );
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_naming_the_provider() {
    let upstream = ScriptedUpstream::start().await;
    let adapters = adapters_with(&["openai"]);
    let plugboard = Plugboard::start(
        &adapters,
        "providers:\n  - {name: dead, adapter: openai, base-url: 'http://127.0.0.1:9/v1', models: [gpt-up]}\n",
    );
    let response = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &hello("gpt-up"),
    )
    .send()
    .await
    .unwrap();
    let error = openai_error(response, 502).await;
    assert!(
        error["message"].as_str().unwrap().contains("dead"),
        "{error}"
    );
    assert!(upstream.received().is_empty());
}

#[tokio::test]
async fn a_native_passthrough_stream_reaches_the_client_byte_for_byte() {
    let upstream = ScriptedUpstream::start().await;
    // No fixup edits the IR request, and the adapter speaks OpenAI Chat natively.
    let plugboard = gateway(&upstream, &["sk-upstream-1"], "", "");
    let frames = [
        chunk(
            json!({"role": "assistant", "content": "", "x_vendor_field": 7}),
            None,
        ),
        chunk(json!({"content": "raw"}), Some("stop")),
        "data: [DONE]\n\n".to_owned(),
    ];
    upstream.reply(Reply::sse(
        &frames.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    let mut body = hello("gpt-up");
    body["stream"] = json!(true);
    // A client that asks for usage itself: its stream can pass through untouched (one
    // that does not is translated, so that usage is read and not forwarded).
    body["stream_options"] = json!({"include_usage": true});
    body["x_client_extension"] = json!({"kept": true});
    let response = post_json(&client(), &plugboard.url("/v1/chat/completions"), &body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = String::from_utf8(response.bytes().await.unwrap().to_vec()).unwrap();
    assert_eq!(text, frames.concat(), "unknown fields survive both ways");
    assert_eq!(
        upstream.received()[0].json()["x_client_extension"],
        json!({"kept": true})
    );
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    let upstream = ScriptedUpstream::start().await;
    let elsewhere = ScriptedUpstream::start().await;
    let plugboard = gateway(&upstream, &["sk-upstream-1"], "", "");
    // `localhost` is another host name than the granted `127.0.0.1`.
    let location = elsewhere.base_url.replace("127.0.0.1", "localhost") + "/v1/chat/completions";
    upstream.reply(Reply::json(307, json!({})).header("location", &location));
    let response = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &hello("gpt-up"),
    )
    .send()
    .await
    .unwrap();
    assert!(response.status().as_u16() >= 500, "{}", response.status());
    assert!(
        elsewhere.received().is_empty(),
        "the credential never followed the redirect"
    );
}

#[tokio::test]
async fn an_openai_client_is_served_by_an_anthropic_upstream_with_its_header_credential() {
    let upstream = ScriptedUpstream::start().await;
    let adapters = adapters_with(&["anthropic"]);
    let plugboard = Plugboard::start(
        &adapters,
        &format!(
            "providers:\n  - {{name: claude, adapter: anthropic, base-url: '{}', api-keys: [sk-ant-story], models: [{{name: claude-up, alias: sonnet}}]}}\n",
            upstream.base_url
        ),
    );
    upstream.reply(Reply::json(
        200,
        json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-up",
            "content": [{"type": "text", "text": "hi from claude"}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 3, "output_tokens": 4}
        }),
    ));
    let response = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &hello("sonnet"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let body = json_body(response).await;
    assert_eq!(
        body["model"], "sonnet",
        "the client sees the name it asked for"
    );
    assert_eq!(body["choices"][0]["message"]["content"], "hi from claude");
    let received = &upstream.received()[0];
    assert_eq!(received.target, "/v1/messages");
    assert_eq!(received.header("x-api-key"), Some("sk-ant-story"));
    assert!(
        received.header("authorization").is_none(),
        "the client's bearer key is not forwarded"
    );
    assert_eq!(received.json()["model"], "claude-up");
}
