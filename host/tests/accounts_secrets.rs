//! No secret in any log line at any level: a whole account life (a browser login
//! pasted back, a refresh ahead of expiry, a request whose token the upstream refuses,
//! a refresh and a retry, an error echoing the token) runs with `RUST_LOG=trace` in
//! both the `plugboard login` process and `plugboard serve`, and every secret the run
//! used is looked for in everything they wrote.

mod oauth_support;
mod serve_support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use oauth_support::{MockConfig, MockOAuth};
use serve_support::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[tokio::test]
async fn a_login_refresh_request_cycle_at_trace_level_logs_no_secret() {
    let mock = MockOAuth::start(MockConfig {
        // Short-lived: the server's background refresh is due at once.
        token_lifetime_s: 30,
        ..MockConfig::default()
    })
    .await;
    let upstream = ScriptedUpstream::start().await;
    let work = tempfile::tempdir().unwrap();
    let auth = work.path().join("auth");
    let adapters = test_adapters_with(&["test-oauth"]);
    let endpoints: Vec<String> = mock
        .endpoints()
        .into_iter()
        .map(|(name, url)| match name.as_str() {
            "base" => format!("base: '{}'", upstream.base_url),
            _ => format!("{name}: '{url}'"),
        })
        .collect();
    let entry = format!(
        "auth-dir: '{}'\nproviders:\n  - name: sub\n    adapter: test-oauth\n    models: [m]\n    accounts: auth-dir\n    endpoints: {{{}}}\n",
        auth.display(),
        endpoints.join(", ")
    );

    // 1. Login, pasting the redirect back.
    let config = write_config(work.path(), &adapters, &entry);
    let mut login = tokio::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(["login", "sub", "--type", "pkce", "--no-browser", "--config"])
        .arg(&config)
        .env("RUST_LOG", "trace")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(login.stderr.take().unwrap()).lines();
    let mut login_log = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let url = loop {
        let line = tokio::time::timeout_at(deadline.into(), stderr.next_line())
            .await
            .expect("the login printed its URL in time")
            .unwrap()
            .expect("the login printed its URL before exiting");
        login_log.push_str(&line);
        login_log.push('\n');
        if let Some(at) = line.find("http://") {
            let url = line[at..].split_whitespace().next().unwrap().to_owned();
            if url.contains("/authorize?") {
                break url;
            }
        }
    };
    let redirect = MockOAuth::browse(&url).await.expect("the mock approves");
    let mut stdin = login.stdin.take().unwrap();
    stdin
        .write_all(format!("{redirect}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    while let Ok(Some(line)) = stderr.next_line().await {
        login_log.push_str(&line);
        login_log.push('\n');
    }
    let output = login.wait_with_output().await.unwrap();
    login_log.push_str(&String::from_utf8_lossy(&output.stdout));
    assert!(output.status.success(), "{login_log}");
    assert!(login_log.contains("logged in"), "{login_log}");

    // 2. Serve at trace level: the token (30 s left, lead 60 s) is refreshed ahead; a
    // request's token is refused once (refresh, retry); then an error echoes it.
    upstream.reply(Reply::json(
        401,
        serde_json::json!({"error": {"message": "expired token"}}),
    ));
    upstream.reply(Reply::json(
        200,
        serde_json::json!({"choices": [{"message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}),
    ));
    let gateway = Plugboard::start_with_log(&adapters, &entry, "trace");
    // Due at half its 30 s life.
    let deadline = Instant::now() + Duration::from_secs(30);
    while mock.counts().refresh_token == 0 {
        assert!(Instant::now() < deadline, "no refresh ahead of expiry");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let answer = post_json(&client(), &gateway.url("/v1/chat/completions"), &hello("m"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(mock.counts().refresh_token >= 2, "{:?}", mock.counts());
    // The upstream echoes the token the previous request carried (rotated out since:
    // a retired token stays in the redactor).
    let sent = upstream
        .received()
        .last()
        .unwrap()
        .header("authorization")
        .unwrap()
        .to_owned();
    let current = sent.trim_start_matches("Bearer ").to_owned();
    assert!(mock.issued_access().contains(&current));
    upstream.reply(Reply::json(
        400,
        serde_json::json!({"error": {"message": format!("bad request from token {current}")}}),
    ));
    let echoed = post_json(&client(), &gateway.url("/v1/chat/completions"), &hello("m"))
        .send()
        .await
        .unwrap();
    let echoed_body = echoed.text().await.unwrap();
    assert!(echoed_body.contains("[redacted]"), "{echoed_body}");

    // 3. Every secret of the run, in everything written.
    let mut secrets: Vec<String> = mock.issued_access();
    secrets.extend(mock.issued_refresh());
    secrets.push(CLIENT_KEY.to_owned());
    assert!(secrets.len() >= 7, "{secrets:?}");
    let serve_log = gateway.log();
    assert!(
        serve_log.contains("TRACE"),
        "the server did log at trace level"
    );
    assert!(
        login_log.contains("TRACE"),
        "the login did log at trace level"
    );
    for secret in &secrets {
        assert!(
            !login_log.contains(secret.as_str()),
            "the login log holds a secret"
        );
        assert!(
            !serve_log.contains(secret.as_str()),
            "the serve log holds a secret"
        );
        assert!(!echoed_body.contains(secret.as_str()));
    }
}
