//! The real `qwen` adapter end to end: `plugboard login` runs its device login with
//! PKCE against the scripted OAuth server set up as chat.qwen.ai (Qwen Code's public
//! client id; the start must carry an S256 challenge and every poll the verifier that
//! matches it), the account file lands with the token answer's `resource_url` as its
//! base URL, and `plugboard serve` on that store sends an OpenAI-style request to that
//! base, with the bearer and Qwen's auth-type header. The token has expired by then (it
//! is refreshed on the way), and the account's used-up free quota fails the request
//! over to a second account, which then serves a streamed tool round trip.
//!
//! The `resource_url` names `portal.qwen.ai` (the adapter accepts an account base only
//! on a host it declares); the server reaches it through an `HTTP_PROXY` that is the
//! scripted upstream, which answers for that host.

mod oauth_support;
mod serve_support;

use std::process::{Command, Stdio};
use std::time::Duration;

use oauth_support::{MockConfig, MockOAuth};
use serde_json::{Value, json};

/// Qwen Code's public OAuth client id.
const QWEN_CLIENT_ID: &str = "f0304373b74a44d2b584a3fb70ca9e56";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qwen_device_login_with_pkce_stores_the_resource_url_and_serves_through_it() {
    let mock = MockOAuth::start(MockConfig {
        client_id: QWEN_CLIENT_ID.to_owned(),
        ..MockConfig::default()
    })
    .await;
    let upstream = serve_support::ScriptedUpstream::start().await;
    // The logged-in account's free quota is used up; the second account answers.
    upstream.reply(serve_support::Reply::json(
        429,
        json!({"error": {"code": "insufficient_quota", "type": "insufficient_quota",
            "message": "Free allocated quota exceeded."}}),
    ));
    upstream.reply(serve_support::Reply::json(
        200,
        json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "qwen3-coder-plus",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello from qwen"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
        }),
    ));
    let port = upstream.base_url.rsplit(':').next().unwrap().to_owned();
    let resource_url = format!("http://portal.qwen.ai:{port}");
    mock.set_resource_url(&resource_url);

    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth");
    let adapters = serve_support::adapters_with(&["qwen"]);
    let entry = format!(
        "auth-dir: '{}'\nproviders:\n  - name: qwen\n    adapter: qwen\n    models: [qwen3-coder-plus]\n    accounts: auth-dir\n    endpoints: {{device: '{}', token: '{}'}}\n",
        auth.display(),
        mock.url("/device/code"),
        mock.url("/token"),
    );
    let config = serve_support::write_config(dir.path(), &adapters, &entry);

    // The login: one kind, a device code (the mock approves at the first poll).
    let login = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_plugboard"))
            .args(["login", "qwen", "--config"])
            .arg(&config)
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    });
    let login = tokio::time::timeout(Duration::from_secs(120), login)
        .await
        .expect("the login ends")
        .unwrap();
    let stdout = String::from_utf8_lossy(&login.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&login.stderr).into_owned();
    assert!(login.status.success(), "{stdout}\n{stderr}");
    let shown = stderr
        .lines()
        .find(|line| line.contains("enter the code"))
        .unwrap_or_else(|| panic!("no code shown: {stderr}"));
    assert!(
        shown.contains(&format!("Open {} ", mock.url("/device"))),
        "{shown}"
    );
    assert!(shown.contains("MOCK-"), "{shown}");
    assert_eq!(mock.counts().device_start, 1);
    let poll = mock.last_body();
    assert_eq!(
        poll.get("grant_type").map(String::as_str),
        Some("urn:ietf:params:oauth:grant-type:device_code")
    );
    assert!(
        poll.get("code_verifier")
            .is_some_and(|v| (43..=128).contains(&v.len())),
        "the poll carries the verifier the mock checked against the start's challenge: {:?}",
        poll.keys().collect::<Vec<_>>()
    );
    let token = mock.issued_access().last().cloned().unwrap();
    for secret in mock.issued_access().iter().chain(&mock.issued_refresh()) {
        assert!(!stdout.contains(secret.as_str()) && !stderr.contains(secret.as_str()));
    }
    let files: Vec<_> = std::fs::read_dir(&auth)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    let [file] = files.as_slice() else {
        panic!("{files:?}")
    };
    let stored: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    assert_eq!(stored["type"], "qwen");
    assert_eq!(stored["access_token"], token.as_str());
    assert_eq!(stored["base_url"], resource_url.as_str());

    // By the first request its token has expired (refreshed on the way), and a second
    // account waits its turn (ids sort after the logged-in one).
    let mut expired = stored.clone();
    expired["expired"] = oauth_support::at(-60).into();
    std::fs::write(file, serde_json::to_vec_pretty(&expired).unwrap()).unwrap();
    oauth_support::account(
        &auth,
        "qwen-z-second",
        "qwen",
        "qwen-second-account-token-0123",
        None,
        &oauth_support::at(86_400),
        json!({"base_url": resource_url}),
    );

    // Serving: the request goes to the account's base (with `/v1`), through the proxy.
    let gateway = serve_support::Plugboard::start_with_env(
        &adapters,
        &entry,
        "info",
        &[
            ("HTTP_PROXY", upstream.base_url.as_str()),
            ("http_proxy", upstream.base_url.as_str()),
            // The token endpoint (the scripted OAuth server) is reached directly.
            ("NO_PROXY", "127.0.0.1"),
            ("no_proxy", "127.0.0.1"),
        ],
    );
    let answer = serve_support::client()
        .post(gateway.url("/v1/chat/completions"))
        .bearer_auth(serve_support::CLIENT_KEY)
        .header("content-type", "application/json")
        .body(
            json!({
                "model": "qwen3-coder-plus",
                "messages": [{"role": "user", "content": "hi"}]
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let text = answer.text().await.unwrap();
    assert_eq!(status, 200, "{text}\n{}", gateway.log());
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "hello from qwen");
    assert_eq!(mock.counts().refresh_token, 1, "refreshed on the way");
    let token = mock.issued_access().last().cloned().unwrap();
    let received = upstream.received();
    let [seen, second] = received.as_slice() else {
        panic!("{received:?}")
    };
    assert_eq!(
        second.header("authorization"),
        Some("Bearer qwen-second-account-token-0123"),
        "the quota error failed over to the second account"
    );
    assert!(
        seen.target.ends_with("/v1/chat/completions"),
        "{}",
        seen.target
    );
    assert_eq!(
        seen.header("host"),
        Some(format!("portal.qwen.ai:{port}").as_str())
    );
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    assert_eq!(seen.header("x-dashscope-authtype"), Some("qwen-oauth"));
    assert_eq!(seen.json()["model"], "qwen3-coder-plus");

    // A streamed tool round trip on the account that serves (the first rests): the
    // model asks for a shell tool, the client runs it and sends the result back.
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "qwen3-coder-plus",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    };
    let call = chunk(
        json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "shell", "arguments": "{\"command\":\"echo hi\"}"}}]}),
        Value::Null,
    );
    let call_done = chunk(json!({}), json!("tool_calls"));
    let said = chunk(
        json!({"role": "assistant", "content": "It printed hi."}),
        Value::Null,
    );
    let said_done = chunk(json!({}), json!("stop"));
    upstream.reply(serve_support::Reply::sse(&[
        &call,
        &call_done,
        "data: [DONE]\n\n",
    ]));
    upstream.reply(serve_support::Reply::sse(&[
        &said,
        &said_done,
        "data: [DONE]\n\n",
    ]));
    let tools = json!([{"type": "function", "function": {"name": "shell", "description": "Run a command",
        "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}}]);
    let stream = |messages: Value| {
        let body = json!({"model": "qwen3-coder-plus", "stream": true, "tools": tools, "messages": messages});
        let url = gateway.url("/v1/chat/completions");
        async move {
            let answer = serve_support::client()
                .post(url)
                .bearer_auth(serve_support::CLIENT_KEY)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200);
            answer.text().await.unwrap()
        }
    };
    let asked = stream(json!([{"role": "user", "content": "run echo hi"}])).await;
    assert!(asked.contains("\"name\":\"shell\""), "{asked}");
    let answered = stream(json!([
        {"role": "user", "content": "run echo hi"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "shell", "arguments": "{\"command\":\"echo hi\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "hi"}
    ]))
    .await;
    assert!(answered.contains("It printed hi."), "{answered}");
    let received = upstream.received();
    let result_turn = received.last().unwrap().json();
    assert_eq!(result_turn["stream"], true);
    assert_eq!(result_turn["messages"][2]["role"], "tool");
    assert_eq!(result_turn["messages"][2]["tool_call_id"], "call_1");
    assert!(
        received[2..]
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer qwen-second-account-token-0123")),
        "the resting account is skipped"
    );
    assert!(!gateway.log().contains(&token));
}
