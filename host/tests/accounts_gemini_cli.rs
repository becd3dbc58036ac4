//! A Google account through the real `gemini-cli` adapter, from login to failover:
//!
//! - `plugboard login gcli --no-browser` against the scripted OAuth server set up as
//!   Google's installed-app flow: Gemini CLI's public client id and secret, the
//!   `localhost:8085/oauth2callback` redirect registered exactly, **no PKCE**;
//! - the adapter's account setup asks the scripted Code Assist `loadCodeAssist`, finds
//!   no project, onboards the account (`onboardUser`, polled until `done`), and the
//!   project lands in the account file with the id token's email;
//! - the token has expired by the first request: it is refreshed on the way (with the
//!   client secret);
//! - Code Assist answers that account with a 429 `QUOTA_EXHAUSTED` carrying
//!   `RetryInfo`: the account rests and the request fails over to a second account;
//!   the next request goes straight to the second account.

mod oauth_support;
mod serve_support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use oauth_support::{MockConfig, MockOAuth, RedirectRule, account, at};
use serve_support::*;

const CLIENT_ID: &str = "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com";
const CLIENT_SECRET: &str = "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";

/// A Code Assist answer saying `text`, in its `{"response": ...}` envelope.
fn code_assist_answer(text: &str) -> Reply {
    Reply::json(
        200,
        serde_json::json!({"response": {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
            "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 3},
            "modelVersion": "gemini-2.5-pro", "responseId": "r1"}, "traceId": "t1"}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_google_account_logs_in_is_onboarded_refreshes_and_fails_over_at_its_quota() {
    let mock = MockOAuth::start(MockConfig {
        client_id: CLIENT_ID.to_owned(),
        client_secret: Some(CLIENT_SECRET.to_owned()),
        redirect: RedirectRule::Exact(vec!["http://localhost:8085/oauth2callback".to_owned()]),
        require_pkce: false,
        ..MockConfig::default()
    })
    .await;
    let upstream = ScriptedUpstream::start().await;
    // The account setup: no project yet, a default tier, onboarding done on the 2nd poll.
    upstream.reply(Reply::json(
        200,
        serde_json::json!({"allowedTiers": [{"id": "legacy-tier"}, {"id": "free-tier", "isDefault": true}]}),
    ));
    upstream.reply(Reply::json(
        200,
        serde_json::json!({"name": "operations/1", "done": false}),
    ));
    upstream.reply(Reply::json(
        200,
        serde_json::json!({"done": true, "response": {"cloudaicompanionProject": {"id": "proj-onboarded", "name": "Gemini"}}}),
    ));
    let work = tempfile::tempdir().unwrap();
    let auth = work.path().join("auth");
    let adapters = adapters_with(&["gemini-cli"]);
    let entry = format!(
        "auth-dir: '{}'\nproviders:\n  - name: gcli\n    adapter: gemini-cli\n    models: [gemini-2.5-pro]\n    accounts: auth-dir\n    endpoints: {{base: '{}', code-assist: '{}', authorize: '{}', token: '{}'}}\n",
        auth.display(),
        upstream.base_url,
        upstream.base_url,
        mock.url("/authorize"),
        mock.url("/token"),
    );
    let config = work.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "api-keys: [{CLIENT_KEY}]\nadapters-dir: '{}'\ncache-dir: '{}'\n{entry}",
            adapters.display(),
            work.path().join("cache").display()
        ),
    )
    .unwrap();

    // 1. Login, pasting the redirect back; then the account setup.
    let mut login = Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(["login", "gcli", "--no-browser", "--config"])
        .arg(&config)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = login.stderr.take().unwrap();
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.split("Open this URL to log in: ").nth(1) {
                let _ = url_tx.send(url.trim().to_owned());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let url = tokio::task::spawn_blocking(move || url_rx.recv_timeout(Duration::from_secs(60)))
        .await
        .unwrap()
        .expect("the login printed its URL");
    for wanted in ["access_type=offline", "prompt=consent", "state="] {
        assert!(url.contains(wanted), "{wanted} in {url}");
    }
    assert!(!url.contains("code_challenge"), "no PKCE: {url}");
    let redirect = MockOAuth::browse(&url)
        .await
        .expect("the login page approves");
    login
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{redirect}\n").as_bytes())
        .unwrap();
    let output = tokio::task::spawn_blocking(move || login.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        reader.join().unwrap()
    );
    assert!(output.status.success(), "{printed}");
    let exchange = mock.last_body();
    assert_eq!(
        exchange.get("client_secret").map(String::as_str),
        Some(CLIENT_SECRET)
    );
    assert!(!exchange.contains_key("code_verifier"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let id = stdout
        .split("logged in: account `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap()
        .to_owned();
    let path = auth.join(format!("{id}.json"));
    let mut stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(stored["type"], "gemini-cli");
    assert_eq!(
        stored["attributes"]["project-id"], "proj-onboarded",
        "{stored}"
    );
    assert_eq!(stored["attributes"]["email"], "user@example.com");
    let logged_in = stored["access_token"].as_str().unwrap().to_owned();
    assert!(!printed.contains(&logged_in), "no token is printed");
    let setup = upstream.received();
    let targets: Vec<&str> = setup.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(
        targets,
        [
            "/v1internal:loadCodeAssist",
            "/v1internal:onboardUser",
            "/v1internal:onboardUser"
        ]
    );
    for request in &setup {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {logged_in}").as_str())
        );
        assert!(
            !request
                .header("user-agent")
                .unwrap_or("")
                .contains("GeminiCLI")
        );
    }
    assert_eq!(setup[0].json()["metadata"]["pluginType"], "GEMINI");
    assert_eq!(setup[1].json()["tierId"], "free-tier");

    // 2. Its token has expired by the first request; a second account waits its turn.
    stored["expired"] = at(-60).into();
    std::fs::write(&path, serde_json::to_vec_pretty(&stored).unwrap()).unwrap();
    account(
        &auth,
        "gemini-cli-z-second",
        "gemini-cli",
        "ya29.second-account-0123456789",
        None,
        &at(86_400),
        serde_json::json!({"attributes": {"project-id": "proj-second"}}),
    );
    upstream.reply(Reply::json(
        429,
        serde_json::json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
            "message": "You have exhausted your capacity on this model. Your quota will reset after 1h0m0s.",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "QUOTA_EXHAUSTED",
                 "domain": "cloudcode-pa.googleapis.com", "metadata": {"quotaResetDelay": "3600s"}},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3600s"}]}}),
    ));
    upstream.reply(code_assist_answer("from the second account"));
    upstream.reply(code_assist_answer("still the second"));
    let gateway = Plugboard::start(&adapters, &entry);

    let ask = || async {
        let body = serde_json::json!({"model": "gemini-2.5-pro", "stream": false,
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
    // The logged-in account (`gemini-cli-user@…`) is tried first: refreshed on the
    // way, then its quota is spent; the request fails over to the second account.
    assert_eq!(ask().await, "from the second account");
    let served: Vec<_> = upstream.received().into_iter().skip(setup.len()).collect();
    assert_eq!(mock.counts().refresh_token, 1, "refreshed on the way");
    let refreshed = mock.issued_access().last().cloned().unwrap();
    assert_ne!(refreshed, logged_in);
    let by_project: Vec<(String, String)> = served
        .iter()
        .map(|r| {
            (
                r.json()["project"].as_str().unwrap_or("").to_owned(),
                r.header("authorization").unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        by_project,
        [
            ("proj-onboarded".to_owned(), format!("Bearer {refreshed}")),
            (
                "proj-second".to_owned(),
                "Bearer ya29.second-account-0123456789".to_owned()
            ),
        ]
    );
    for request in &served {
        assert_eq!(request.target, "/v1internal:generateContent");
        let body = request.json();
        assert_eq!(body["model"], "gemini-2.5-pro");
        assert_eq!(
            body["request"]["contents"],
            serde_json::json!([{"role": "user", "parts": [{"text": "hi"}]}])
        );
    }

    // The resting account is skipped: the next request goes to the second at once.
    assert_eq!(ask().await, "still the second");
    let last = upstream.received().last().unwrap().clone();
    assert_eq!(last.json()["project"], "proj-second");
    assert_eq!(upstream.received().len(), setup.len() + 3);
    let log = gateway.log();
    assert!(!log.contains(&refreshed));
}
