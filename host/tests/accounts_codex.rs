//! A ChatGPT subscription through the real `codex` adapter, from login to failover:
//!
//! - `plugboard login chatgpt --no-browser` against the scripted OAuth server set up as
//!   OpenAI's (Codex's public client id, the `localhost:1455` redirect registered
//!   exactly, PKCE); the adapter's account setup reads the ChatGPT account id from the
//!   id token's claims, and it lands in the account file;
//! - the token has expired by the first request: it is refreshed on the way;
//! - the Codex backend answers that account's request with `usage_limit_reached`: the
//!   account rests until the reset and the request fails over to a second account;
//!   the next request goes straight to the second account.

mod oauth_support;
mod serve_support;

use oauth_support::{MockConfig, MockOAuth, RedirectRule, account, at};
use serve_support::*;

const CODEX_CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

/// A Responses stream saying `text`, as the Codex backend sends it.
fn codex_answer(text: &str) -> Reply {
    let item = serde_json::json!({"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}]});
    let frames = [
        serde_json::json!({"type": "response.created", "sequence_number": 0,
            "response": {"id": "resp_1", "object": "response", "status": "in_progress", "output": []}}),
        serde_json::json!({"type": "response.output_item.added", "sequence_number": 1, "output_index": 0,
            "item": {"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}}),
        serde_json::json!({"type": "response.content_part.added", "sequence_number": 2, "item_id": "msg_1",
            "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}),
        serde_json::json!({"type": "response.output_text.delta", "sequence_number": 3, "item_id": "msg_1",
            "output_index": 0, "content_index": 0, "delta": text}),
        serde_json::json!({"type": "response.output_item.done", "sequence_number": 4, "output_index": 0, "item": item}),
        serde_json::json!({"type": "response.completed", "sequence_number": 5,
            "response": {"id": "resp_1", "object": "response", "status": "completed", "output": [item],
                "usage": {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}}}),
    ];
    let frames: Vec<String> = frames
        .iter()
        .map(|frame| {
            format!(
                "event: {}\ndata: {frame}\n\n",
                frame["type"].as_str().unwrap()
            )
        })
        .collect();
    let frames: Vec<&str> = frames.iter().map(String::as_str).collect();
    Reply::sse(&frames)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chatgpt_subscription_logs_in_refreshes_and_fails_over_at_its_usage_limit() {
    let mock = MockOAuth::start(MockConfig {
        client_id: CODEX_CLIENT_ID.to_owned(),
        redirect: RedirectRule::Exact(vec!["http://localhost:1455/auth/callback".to_owned()]),
        require_pkce: true,
        ..MockConfig::default()
    })
    .await;
    let upstream = ScriptedUpstream::start().await;
    let work = tempfile::tempdir().unwrap();
    let auth = work.path().join("auth");
    let adapters = adapters_with(&["codex"]);
    let entry = format!(
        "auth-dir: '{}'\nproviders:\n  - name: chatgpt\n    adapter: codex\n    models: [gpt-5-codex]\n    accounts: auth-dir\n    endpoints: {{base: '{}', authorize: '{}', token: '{}'}}\n",
        auth.display(),
        upstream.base_url,
        mock.url("/authorize"),
        mock.url("/token"),
    );
    let config = write_config(work.path(), &adapters, &entry);

    // 1. Login, pasting the redirect back.
    let login = oauth_support::login_by_paste(&config, "chatgpt").await;
    assert!(
        login.url.contains("codex_cli_simplified_flow=true"),
        "{}",
        login.url
    );
    let printed = login.printed.clone();
    assert!(login.ok, "{printed}");
    let id = login.account_id();
    let path = auth.join(format!("{id}.json"));
    let mut stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(stored["type"], "codex");
    assert_eq!(
        stored["attributes"]["chatgpt-account-id"], "acct-mock-1",
        "{stored}"
    );
    assert_eq!(stored["attributes"]["email"], "user@example.com");
    let logged_in = stored["access_token"].as_str().unwrap().to_owned();
    assert!(!printed.contains(&logged_in), "no token is printed");

    // 2. Its token has expired by the first request; a second account waits its turn.
    stored["expired"] = at(-60).into();
    std::fs::write(&path, serde_json::to_vec_pretty(&stored).unwrap()).unwrap();
    account(
        &auth,
        "codex-z-second",
        "codex",
        "at-second-account-0123456789",
        None,
        &at(86_400),
        serde_json::json!({"attributes": {"chatgpt-account-id": "acct-second"}}),
    );
    upstream.reply(Reply::json(
        429,
        serde_json::json!({"error": {"type": "usage_limit_reached", "message": "The usage limit has been reached",
            "plan_type": "plus", "resets_in_seconds": 7200}}),
    ));
    upstream.reply(codex_answer("from the second account"));
    upstream.reply(codex_answer("still the second"));
    let gateway = Plugboard::start(&adapters, &entry);

    let ask = || async {
        let body = serde_json::json!({"model": "gpt-5-codex", "stream": false,
            "messages": [{"role": "user", "content": "hi"}]});
        let response = post_json(&client(), &gateway.url("/v1/chat/completions"), &body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let answer = json_body(response).await;
        answer["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // The store lists accounts by id: the logged-in one (`codex-user@…`) is tried
    // first. Its token is refreshed on the way; the backend says its usage limit is
    // reached; the request fails over to the second account.
    let first = ask().await;
    assert_eq!(first, "from the second account");
    let received = upstream.received();
    let by_account: Vec<(&str, &str)> = received
        .iter()
        .map(|r| {
            (
                r.header("chatgpt-account-id").unwrap_or(""),
                r.header("authorization").unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(mock.counts().refresh_token, 1, "refreshed on the way");
    let refreshed = mock.issued_access().last().cloned().unwrap();
    assert_ne!(refreshed, logged_in);
    assert_eq!(
        by_account,
        [
            ("acct-mock-1", format!("Bearer {refreshed}").as_str()),
            ("acct-second", "Bearer at-second-account-0123456789"),
        ]
    );
    for request in &received {
        let body = request.json();
        assert_eq!(body["stream"], true, "the Codex backend is always streamed");
        assert_eq!(body["store"], false);
    }

    // The resting account is skipped: the next request goes to the second at once.
    assert_eq!(ask().await, "still the second");
    let last = upstream.received().last().unwrap().clone();
    assert_eq!(last.header("chatgpt-account-id"), Some("acct-second"));
    assert_eq!(upstream.received().len(), 3);
    let log = gateway.log();
    assert!(log.contains("quota") || log.contains("usage"), "{log}");
    assert!(!log.contains(&refreshed));
}
