//! Stories of native passthrough: a client speaking the upstream's own dialect reaches
//! it byte-faithful apart from the model name and the credential. Unknown fields,
//! `cache_control`, `metadata` and the client's `anthropic-beta` list survive, and the
//! upstream's answer reaches the client unchanged.

mod serve_support;

use serde_json::json;
use serve_support::*;

#[tokio::test]
async fn an_anthropic_client_reaches_anthropic_as_it_spoke() {
    let upstream = ScriptedUpstream::start().await;
    let answer = json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "hi", "x_upstream_extra": true}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 5, "output_tokens": 1}
    });
    upstream.reply(Reply::json(200, answer.clone()));
    let dir = adapters_with(&["anthropic"]);
    let plugboard = Plugboard::start(
        &dir,
        &format!(
            "providers:\n  - {{name: claude, adapter: anthropic, base-url: '{}', api-keys: [sk-ant-upstream], models: [{{name: claude-sonnet-4-5, alias: sonnet}}]}}\n",
            upstream.base_url
        ),
    );
    // Key order and spacing are the client's; only `model` may change.
    let sent = r#"{"model":"sonnet","max_tokens":64,"x_future_field":{"keep":[1,2]},"system":[{"type":"text","text":"be brief","cache_control":{"type":"ephemeral"}}],"metadata":{"user_id":"{\"session\":\"s-1\"}"},"messages":[{"role":"user","content":"hello"}]}"#;

    let response = client()
        .post(plugboard.url("/v1/messages?beta=true"))
        .header("x-api-key", CLIENT_KEY)
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "interleaved-thinking-2025-05-14")
        .header("content-type", "application/json")
        .body(sent)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        json_body(response).await,
        answer,
        "the answer comes back untouched"
    );

    let received = upstream.received();
    assert_eq!(received.len(), 1);
    let got = &received[0];
    assert_eq!(
        std::str::from_utf8(&got.body).unwrap(),
        sent.replace(r#""model":"sonnet""#, r#""model":"claude-sonnet-4-5""#),
        "byte-faithful apart from the model"
    );
    assert_eq!(
        got.header("anthropic-beta"),
        Some("interleaved-thinking-2025-05-14")
    );
    assert_eq!(got.header("x-api-key"), Some("sk-ant-upstream"));
    assert_eq!(
        got.header("authorization"),
        None,
        "the client's key stays with us"
    );
}
