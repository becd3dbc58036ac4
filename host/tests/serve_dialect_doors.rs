//! Stories at each dialect's front door: a client of every dialect gets errors in its
//! own shape before any adapter runs, finds the models in its own list shape, and can
//! count tokens without an upstream. Nothing here reaches an upstream.

mod serve_support;

use serde_json::json;
use serve_support::*;

const PROVIDERS: &str = "providers:\n  - name: local\n    adapter: openai\n    base-url: http://127.0.0.1:9/v1\n    api-keys: [sk-upstream]\n    models: [gpt-local, {name: gemini-2.5-pro, alias: pro}]\n";

fn gateway() -> Plugboard {
    let empty = tempfile::tempdir().unwrap();
    Plugboard::start(&empty.keep(), PROVIDERS)
}

async fn status_and_json(request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, json_body(response).await)
}

#[tokio::test]
async fn a_missing_key_is_refused_in_each_dialects_own_error_shape() {
    let plugboard = gateway();
    let client = client();

    let (status, body) = status_and_json(
        client
            .post(plugboard.url("/v1/messages"))
            .header("content-type", "application/json")
            .body(json!({"model": "gpt-local", "max_tokens": 5, "messages": []}).to_string()),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "authentication_error");

    let (status, body) = status_and_json(
        client
            .post(plugboard.url("/v1beta/models/pro:generateContent"))
            .header("content-type", "application/json")
            .body(json!({"contents": []}).to_string()),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], 401);
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");

    let (status, body) = status_and_json(
        client
            .post(plugboard.url("/v1/responses"))
            .header("content-type", "application/json")
            .body(json!({"model": "gpt-local", "input": "hi"}).to_string()),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "invalid_api_key");
}

#[tokio::test]
async fn codex_s_websocket_probe_of_responses_gets_the_404_it_falls_back_on() {
    let plugboard = gateway();
    let response = client()
        .get(plugboard.url("/v1/responses"))
        .header("authorization", format!("Bearer {CLIENT_KEY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

#[tokio::test]
async fn each_dialect_lists_the_models_in_its_own_shape() {
    let plugboard = gateway();
    let client = client();
    let keyed = |request: reqwest::RequestBuilder| request.header("x-api-key", CLIENT_KEY);

    let (status, body) = status_and_json(
        keyed(client.get(plugboard.url("/v1/models"))).header("anthropic-version", "2023-06-01"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"][0]["type"], "model");
    assert_eq!(body["data"][0]["id"], "gpt-local");
    assert_eq!(body["has_more"], false);

    let (status, body) = status_and_json(keyed(client.get(plugboard.url("/v1beta/models")))).await;
    assert_eq!(status, 200);
    let names: Vec<_> = body["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.contains(&"models/pro".to_owned()), "{names:?}");
    assert!(body["models"][0]["supportedGenerationMethods"].is_array());

    let (status, body) = status_and_json(
        client
            .get(plugboard.url("/v1beta/models/pro"))
            .header("x-goog-api-key", CLIENT_KEY),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["name"], "models/pro");

    let (status, body) =
        status_and_json(keyed(client.get(plugboard.url("/v1/models/gpt-local")))).await;
    assert_eq!(status, 200);
    assert_eq!(body["object"], "model");
    assert_eq!(body["id"], "gpt-local");

    let (status, body) = status_and_json(
        client
            .get(plugboard.url("/v1beta/models/nope"))
            .header("x-goog-api-key", CLIENT_KEY),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["status"], "NOT_FOUND");
}

#[tokio::test]
async fn tokens_are_counted_by_the_documented_estimate_without_an_upstream() {
    let plugboard = gateway();
    let client = client();
    // 40 bytes of text: 10 tokens, plus 4 for the message's framing.
    let text = "a".repeat(40);

    let (status, body) = status_and_json(
        client
            .post(plugboard.url("/v1/messages/count_tokens"))
            .header("x-api-key", CLIENT_KEY)
            .header("content-type", "application/json")
            .body(
                json!({"model": "gpt-local", "messages": [{"role": "user", "content": text}]})
                    .to_string(),
            ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"input_tokens": 14}));

    let contents = json!([{"role": "user", "parts": [{"text": text}]}]);
    for request in [
        json!({"contents": contents}),
        json!({"generateContentRequest": {"model": "models/pro", "contents": contents}}),
    ] {
        let (status, body) = status_and_json(
            client
                .post(plugboard.url("/v1beta/models/pro:countTokens"))
                .header("x-goog-api-key", CLIENT_KEY)
                .header("content-type", "application/json")
                .body(request.to_string()),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["totalTokens"], 14);
    }
}

#[tokio::test]
async fn an_unknown_gemini_action_or_a_malformed_body_is_refused_in_gemini_s_shape() {
    let plugboard = gateway();
    let client = client();
    let (status, body) = status_and_json(
        client
            .post(plugboard.url("/v1beta/models/pro:embedContent"))
            .header("x-goog-api-key", CLIENT_KEY)
            .header("content-type", "application/json")
            .body(json!({}).to_string()),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["status"], "NOT_FOUND");

    let (status, body) = status_and_json(
        client
            .post(plugboard.url("/v1beta/models/pro:generateContent"))
            .header("x-goog-api-key", CLIENT_KEY)
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
}
