//! Stories at the front door, before any adapter runs: who may come in, in which key
//! style, and the errors a client gets for requests that cannot be served. Every error
//! is in the OpenAI shape, and none of these requests reaches the upstream.

mod serve_support;

use serde_json::json;
use serve_support::*;

const PROVIDERS: &str = "providers:\n  - name: local\n    adapter: openai\n    base-url: http://127.0.0.1:9/v1\n    api-keys: [sk-upstream]\n    models: [gpt-local, {name: gpt-local-big, alias: big}]\n";

fn gateway() -> Plugboard {
    let empty = tempfile::tempdir().unwrap();
    // The directory may vanish after start: the registry is loaded by then.
    Plugboard::start(&empty.keep(), PROVIDERS)
}

#[tokio::test]
async fn health_needs_no_key_and_claude_codes_probe_of_the_root_gets_a_200() {
    let plugboard = gateway();
    let client = client();
    let health = client.get(plugboard.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let health = json_body(health).await;
    assert_eq!(health["status"], "ok");
    assert!(health["components"].is_array());
    assert_eq!(
        client
            .head(plugboard.url("/"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client
            .get(plugboard.url("/"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_request_without_a_key_or_with_a_wrong_one_is_refused_in_every_style() {
    let plugboard = gateway();
    let client = client();
    let url = plugboard.url("/v1/chat/completions");
    let body = hello("gpt-local").to_string();
    let bare = client.post(&url).body(body.clone()).send().await.unwrap();
    let error = openai_error(bare, 401).await;
    assert_eq!(error["code"], "invalid_api_key");
    assert_eq!(error["type"], "invalid_request_error");

    for (name, value) in [
        ("authorization", "Bearer sk-not-ours".to_owned()),
        ("x-api-key", "sk-not-ours".to_owned()),
        ("x-goog-api-key", format!("{CLIENT_KEY}x")),
        ("authorization", format!("Basic {CLIENT_KEY}")),
    ] {
        let response = client
            .post(&url)
            .header(name, value)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        openai_error(response, 401).await;
    }
    let response = client
        .post(format!("{url}?key=sk-nope"))
        .body(body)
        .send()
        .await
        .unwrap();
    openai_error(response, 401).await;
    let models = client
        .get(plugboard.url("/v1/models"))
        .send()
        .await
        .unwrap();
    openai_error(models, 401).await;
    assert!(
        !plugboard.log().contains("sk-not-ours"),
        "a presented key never reaches the log"
    );
}

#[tokio::test]
async fn every_key_style_real_clients_use_gets_past_the_door() {
    let plugboard = gateway();
    let client = client();
    let models = plugboard.url("/v1/models");
    let styles = [
        client
            .get(&models)
            .header("authorization", format!("Bearer {CLIENT_KEY}")),
        client.get(&models).header("x-api-key", CLIENT_KEY),
        client.get(&models).header("x-goog-api-key", CLIENT_KEY),
        client.get(format!("{models}?key={CLIENT_KEY}")),
        client
            .get(&models)
            .header("authorization", format!("Bearer {SECOND_CLIENT_KEY}")),
    ];
    for request in styles {
        assert_eq!(request.send().await.unwrap().status(), 200);
    }
}

#[tokio::test]
async fn the_model_list_shows_configured_models_by_the_name_clients_use() {
    let plugboard = gateway();
    let response = client()
        .get(plugboard.url("/v1/models"))
        .header("x-api-key", CLIENT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let listed = json_body(response).await;
    assert_eq!(listed["object"], "list");
    let ids: Vec<_> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["gpt-local", "big"]);
    assert_eq!(listed["data"][0]["owned_by"], "local");
}

#[tokio::test]
async fn an_unknown_model_gets_a_404_naming_it_and_nothing_else() {
    let plugboard = gateway();
    let response = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &hello("gpt-9-imaginary"),
    )
    .send()
    .await
    .unwrap();
    let error = openai_error(response, 404).await;
    assert_eq!(error["code"], "model_not_found");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("gpt-9-imaginary"), "{message}");
    assert!(
        !message.contains("gpt-local") && !message.contains("sk-upstream"),
        "{message}"
    );
}

#[tokio::test]
async fn malformed_json_gets_a_400_that_says_where() {
    let plugboard = gateway();
    let response = client()
        .post(plugboard.url("/v1/chat/completions"))
        .header("x-api-key", CLIENT_KEY)
        .body(r#"{"model": "gpt-local", "messages": ["#)
        .send()
        .await
        .unwrap();
    let error = openai_error(response, 400).await;
    assert!(
        error["message"].as_str().unwrap().contains("column"),
        "{error}"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_gets_a_413() {
    let empty = tempfile::tempdir().unwrap();
    let plugboard = Plugboard::start(
        empty.path(),
        &format!("limits: {{max-body-bytes: 1024}}\n{PROVIDERS}"),
    );
    let big =
        json!({"model": "gpt-local", "messages": [{"role": "user", "content": "x".repeat(4096)}]});
    let response = post_json(&client(), &plugboard.url("/v1/chat/completions"), &big)
        .send()
        .await
        .unwrap();
    let error = openai_error(response, 413).await;
    assert!(
        error["message"].as_str().unwrap().contains("1024"),
        "{error}"
    );
    // Just under the limit passes the door (and fails later: the adapter is not loaded).
    let small = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &hello("gpt-local"),
    )
    .send()
    .await
    .unwrap();
    assert_ne!(small.status(), 413);
}

#[tokio::test]
async fn an_unknown_route_gets_a_404_in_the_error_shape() {
    let plugboard = gateway();
    let response = client()
        .get(plugboard.url("/v2/whatever"))
        .header("x-api-key", CLIENT_KEY)
        .send()
        .await
        .unwrap();
    let error = openai_error(response, 404).await;
    assert!(error["message"].as_str().unwrap().contains("/v2/whatever"));
}

#[tokio::test]
async fn a_provider_whose_adapter_is_not_loaded_answers_503_naming_it() {
    let plugboard = gateway();
    let response = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &hello("big"),
    )
    .send()
    .await
    .unwrap();
    let error = openai_error(response, 503).await;
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("openai") && message.contains("local"),
        "{message}"
    );
    assert!(
        plugboard.log().contains("adapter `openai` is not loaded"),
        "startup warns about it"
    );
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let mut plugboard = gateway();
    assert!(plugboard.terminate(), "plugboard exits 0 on SIGTERM");
}

#[test]
fn a_config_with_an_unknown_key_does_not_start_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.yaml");
    std::fs::write(
        &path,
        "api-keys: [k]\nprovider:\n  - {name: a, adapter: openai}\n",
    )
    .unwrap();
    let (ok, _, stderr) = run_cli(&["serve", "--config", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("typo.yaml") && stderr.contains("provider") && stderr.contains("line 2"),
        "{stderr}"
    );
}

#[test]
fn a_config_without_client_keys_does_not_start_unless_said_explicitly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("open.yaml");
    std::fs::write(&path, "listen: 127.0.0.1:0\nproviders: []\n").unwrap();
    let (ok, _, stderr) = run_cli(&["serve", "--config", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("allow-unauthenticated"), "{stderr}");
}
