//! Stories of client-chosen model names that try to steer the upstream URL: a `gemini`
//! entry without `models:` (which serves any `<entry>/<model>`) whose base URL has a
//! path, probed through the OpenAI chat route and the Gemini route with `..`, `%2F`,
//! backslashes and an injected query. The recording upstream must never receive a
//! request outside the base path, and never the operator's key on a foreign path. Then
//! the host's own rule, with an adapter (`test-egress`) that builds whatever URL its
//! config names: a path that climbs out of the base path, or a query no adapter encoded,
//! is refused before anything is sent.

mod serve_support;

use serde_json::json;
use serve_support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The operator's Gemini key; no probe may carry it off the base path.
const OPERATOR_KEY: &str = "AIza-operator-secret";

/// The base path of the entry's base URL.
const BASE_PATH: &str = "/base/";

fn gemini_gateway(upstream: &ScriptedUpstream) -> Plugboard {
    let adapters = adapters_with(&["gemini"]);
    Plugboard::start(
        &adapters,
        &format!(
            "providers:\n  - {{name: gem, adapter: gemini, base-url: '{}/base', api-keys: [{OPERATOR_KEY}]}}\n",
            upstream.base_url
        ),
    )
}

fn gemini_answer() -> Reply {
    Reply::json(
        200,
        json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "fine"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2}
        }),
    )
}

/// Send `target` exactly as written (no client-side normalisation of `..` or `\`) and
/// return the status and body.
async fn raw_post(plugboard: &Plugboard, target: &str, body: &str) -> (u16, String) {
    let address = plugboard.base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "POST {target} HTTP/1.1\r\nhost: {address}\r\nx-goog-api-key: {CLIENT_KEY}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status for {target}: {answer:?}"));
    (status, answer)
}

/// Every request the upstream saw stayed under the base path and in one model segment.
fn assert_nothing_left_the_base_path(upstream: &ScriptedUpstream, probe: &str) {
    for got in upstream.received() {
        let on_base = got
            .target
            .starts_with(&format!("{BASE_PATH}v1beta/models/"))
            && !got.target.contains("..")
            && !got.target.contains("injected");
        assert!(
            on_base,
            "probe {probe:?} reached {} (key sent: {})",
            got.target,
            got.header("x-goog-api-key") == Some(OPERATOR_KEY)
        );
    }
}

#[tokio::test]
async fn a_model_name_cannot_steer_the_gemini_url_from_the_chat_route() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gemini_gateway(&upstream);
    let client = client();
    let url = plugboard.url("/v1/chat/completions");

    // The control: an ordinary name goes to the base path with the operator's key.
    upstream.reply(gemini_answer());
    let response = post_json(&client, &url, &hello("gem/gemini-2.5-pro"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let control = upstream.received();
    assert_eq!(
        control[0].target,
        "/base/v1beta/models/gemini-2.5-pro:generateContent"
    );
    assert_eq!(control[0].header("x-goog-api-key"), Some(OPERATOR_KEY));

    for model in [
        "gem/../../../../X",
        "gem/x/../../../../../X",
        r"gem/..\..\..\..\X",
        "gem/..%2F..%2F..%2F..%2FX",
        "gem/x?injected=1&key=AIza-injected",
        "gem/x#fragment",
    ] {
        for stream in [false, true] {
            let mut body = hello(model);
            body["stream"] = json!(stream);
            let response = post_json(&client, &url, &body).send().await.unwrap();
            // Not a name an entry without `models:` passes on: not served at all.
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            assert_eq!(status, 404, "{model}: {text}");
            assert!(text.contains("model_not_found"), "{model}: {text}");
            assert!(!text.contains(OPERATOR_KEY), "{model}: {text}");
            assert_nothing_left_the_base_path(&upstream, model);
        }
    }
    assert_eq!(
        upstream.received().len(),
        1,
        "only the control went upstream"
    );
}

#[tokio::test]
async fn a_model_name_cannot_steer_the_gemini_url_from_the_gemini_route() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gemini_gateway(&upstream);
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}).to_string();

    upstream.reply(gemini_answer());
    let (status, answer) = raw_post(
        &plugboard,
        "/v1beta/models/gem/gemini-2.5-pro:generateContent",
        &body,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        upstream.received()[0].target,
        "/base/v1beta/models/gemini-2.5-pro:generateContent"
    );

    for target in [
        "/v1beta/models/gem/../../../../X:generateContent",
        "/v1beta/models/gem/../../../../X:streamGenerateContent?alt=sse",
        "/v1beta/models/gem/%2e%2e/%2e%2e/%2e%2e/%2e%2e/X:generateContent",
        "/v1beta/models/gem%2F..%2F..%2F..%2F..%2FX:generateContent",
        "/v1beta/models/gem%2f..%2f..%2f..%2f..%2fX:streamGenerateContent?alt=sse",
        r"/v1beta/models/gem\..\..\..\..\X:generateContent",
        "/v1beta/models/gem%5C..%5C..%5C..%5C..%5CX:generateContent",
        "/v1beta/models/gem/x%3Finjected%3D1%26key%3DAIza-injected:generateContent",
        "/v1beta/models/gem/x?injected=1&key=AIza-injected:generateContent",
    ] {
        let (status, answer) = raw_post(&plugboard, target, &body).await;
        assert!((400..500).contains(&status), "{target}: {answer}");
        assert!(!answer.contains(OPERATOR_KEY), "{target}: {answer}");
        assert_nothing_left_the_base_path(&upstream, target);
    }
    assert_eq!(
        upstream.received().len(),
        1,
        "only the control went upstream"
    );
}

/// `test-egress` sends to whatever `target` names; its base URL has the path `/base`.
fn egress_gateway(upstream: &ScriptedUpstream, target: &str) -> Plugboard {
    let dir = test_adapters_with(&["test-egress"]);
    Plugboard::start(
        &dir,
        &format!(
            "providers:\n  - {{name: sneaky, adapter: test-egress, base-url: '{}/base', api-keys: [sk-operator-secret], models: [m], config: {{target: '{target}'}}}}\n",
            upstream.base_url
        ),
    )
}

#[tokio::test]
async fn the_host_refuses_a_path_outside_the_base_path_or_a_query_no_adapter_encoded() {
    let upstream = ScriptedUpstream::start().await;
    let base = upstream.base_url.clone();
    for target in [
        format!("{base}/base/v1/../../X"),
        format!("{base}/base/v1/%2e%2e/%2e%2e/X"),
        format!(r"{base}/base/v1\..\..\X"),
        format!("{base}/base/v1/..%2F..%2FX"),
        format!("{base}/elsewhere"),
        format!("{base}/basement/x"),
        format!("{base}/base/v1/x?injected=1&key=k:generateContent"),
        format!("{base}/base/v1/x?injected=1&key=k:streamGenerateContent?alt=sse"),
    ] {
        let plugboard = egress_gateway(&upstream, &target);
        let response = post_json(
            &client(),
            &plugboard.url("/v1/chat/completions"),
            &hello("m"),
        )
        .send()
        .await
        .unwrap();
        let error = openai_error(response, 403).await;
        assert_eq!(error["code"], "egress_refused", "{target}");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains("test-egress@"), "{target}: {message}");
        assert!(!message.contains("sk-operator-secret"), "{message}");
        assert!(!plugboard.log().contains("sk-operator-secret"));
        assert!(upstream.received().is_empty(), "{target} was sent");
    }

    // The same adapter aimed under the base path, canonically, is let through.
    upstream.reply(Reply::json(200, json!({})));
    let plugboard = egress_gateway(&upstream, &format!("{base}/base/v1/x%3Fy?alt=sse&a=b+c"));
    let _ = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &hello("m"),
    )
    .send()
    .await
    .unwrap();
    let received = upstream.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].target, "/base/v1/x%3Fy?alt=sse&a=b+c");
}

/// Past routing (an operator-listed name is trusted there), the adapter's encoding and
/// the host's check still keep a climbing name on the base path.
#[tokio::test]
async fn a_listed_name_that_climbs_is_encoded_by_the_adapter_and_refused_by_the_host() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = Plugboard::start(
        &adapters_with(&["gemini"]),
        &format!(
            "providers:\n  - {{name: gem, adapter: gemini, base-url: '{}/base', api-keys: [{OPERATOR_KEY}], models: [{{name: 'x/../../../Y', alias: climber}}]}}\n",
            upstream.base_url
        ),
    );
    let response = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &hello("climber"),
    )
    .send()
    .await
    .unwrap();
    let error = openai_error(response, 403).await;
    assert_eq!(error["code"], "egress_refused");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("gemini@"), "{message}");
    assert!(message.contains("x%2F..%2F..%2F..%2FY"), "{message}");
    assert!(!message.contains(OPERATOR_KEY), "{message}");
    assert!(upstream.received().is_empty(), "a request left the host");
}
