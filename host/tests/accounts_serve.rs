//! Stories of stored accounts in a running `plugboard serve`: the credential store
//! (`auth-dir`) holds account files of the `test-oauth` component's kinds; the scripted
//! OAuth server (`oauth_support`) refreshes and exchanges their tokens as strictly as a
//! real one; a scripted upstream records which token each request carried.

mod oauth_support;
mod serve_support;

use std::path::Path;
use std::time::{Duration, Instant};

use oauth_support::{MockConfig, MockOAuth, account, at};
use serve_support::*;

/// A completion as `test-oauth` decodes it.
fn completion(text: &str) -> Reply {
    Reply::json(
        200,
        serde_json::json!({"choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}),
    )
}

/// The config of one `test-oauth` entry on the store in `auth_dir`, its endpoints at
/// the mock and its `base` at `upstream` (unless `base` is None).
fn config(auth_dir: &Path, mock: &MockOAuth, base: Option<&str>, extra: &str) -> String {
    let mut endpoints: Vec<String> = mock
        .endpoints()
        .into_iter()
        .filter(|(name, _)| name != "base")
        .map(|(name, url)| format!("{name}: '{url}'"))
        .collect();
    if let Some(base) = base {
        endpoints.push(format!("base: '{base}'"));
    }
    format!(
        "auth-dir: '{}'\nproviders:\n  - name: sub\n    adapter: test-oauth\n    models: [m]\n    accounts: auth-dir\n    endpoints: {{{}}}\n{extra}",
        auth_dir.display(),
        endpoints.join(", ")
    )
}

fn serve(auth_dir: &Path, mock: &MockOAuth, base: Option<&str>, extra: &str) -> Plugboard {
    let dir = test_adapters_with(&["test-oauth"]);
    Plugboard::start(&dir, &config(auth_dir, mock, base, extra))
}

fn bearers(upstream: &ScriptedUpstream) -> Vec<String> {
    upstream
        .received()
        .iter()
        .map(|r| r.header("authorization").unwrap_or("").to_owned())
        .collect()
}

fn stored(auth_dir: &Path, id: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(auth_dir.join(format!("{id}.json"))).unwrap()).unwrap()
}

async fn chat(gateway: &Plugboard) -> reqwest::Response {
    post_json(&client(), &gateway.url("/v1/chat/completions"), &hello("m"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_hundred_requests_on_an_expired_account_cause_one_refresh_and_all_are_served() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    mock.add_refresh_token("rt-first-0123456789");
    // A slow token endpoint: every request arrives while the refresh is in flight.
    mock.delay_answers(Duration::from_millis(500));
    let upstream = ScriptedUpstream::start().await;
    for _ in 0..100 {
        upstream.reply(completion("hi"));
    }
    let auth = tempfile::tempdir().unwrap();
    account(
        auth.path(),
        "one",
        "pkce",
        "at-expired-0123456789",
        Some("rt-first-0123456789"),
        &at(-3600),
        serde_json::json!({}),
    );
    let gateway = serve(auth.path(), &mock, Some(&upstream.base_url), "");

    let requests = (0..100).map(|_| chat(&gateway));
    let answers = futures_util::future::join_all(requests).await;
    for answer in answers {
        assert_eq!(answer.status(), 200);
    }
    assert_eq!(
        mock.counts().refresh_token,
        1,
        "exactly one refresh reached the OAuth server"
    );
    let new_access = mock.issued_access().last().cloned().unwrap();
    let seen = bearers(&upstream);
    assert_eq!(seen.len(), 100);
    assert!(
        seen.iter().all(|b| *b == format!("Bearer {new_access}")),
        "{seen:?}"
    );

    // Written back before use: the rotated refresh token is in the file, 0600.
    let file = stored(auth.path(), "one");
    assert_eq!(file["access_token"], new_access.as_str());
    assert_eq!(
        file["refresh_token"],
        mock.issued_refresh().last().unwrap().as_str()
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(auth.path().join("one.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(!gateway.log().contains(&new_access));
}

#[tokio::test]
async fn a_refused_token_is_refreshed_and_the_same_account_retried_once() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    mock.add_refresh_token("rt-valid-0123456789");
    let upstream = ScriptedUpstream::start().await;
    upstream.reply(Reply::json(
        401,
        serde_json::json!({"error": {"message": "token revoked", "type": "invalid_request_error"}}),
    ));
    upstream.reply(completion("after refresh"));
    let auth = tempfile::tempdir().unwrap();
    account(
        auth.path(),
        "one",
        "pkce",
        "at-still-valid-0123",
        Some("rt-valid-0123456789"),
        &at(86_400),
        serde_json::json!({}),
    );
    let gateway = serve(auth.path(), &mock, Some(&upstream.base_url), "");

    let answer = chat(&gateway).await;
    assert_eq!(answer.status(), 200);
    let body = json_body(answer).await;
    assert_eq!(body["choices"][0]["message"]["content"], "after refresh");
    assert_eq!(mock.counts().refresh_token, 1);
    let seen = bearers(&upstream);
    let new_access = mock.issued_access().last().cloned().unwrap();
    assert_eq!(
        seen,
        [
            "Bearer at-still-valid-0123".to_owned(),
            format!("Bearer {new_access}")
        ]
    );
}

#[tokio::test]
async fn a_refresh_refused_for_good_disables_the_account_with_the_reason() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    // The mock never issued this refresh token: invalid_grant.
    let upstream = ScriptedUpstream::start().await;
    let auth = tempfile::tempdir().unwrap();
    account(
        auth.path(),
        "gone",
        "pkce",
        "at-expired-0123456789",
        Some("rt-unknown-0123456789"),
        &at(-60),
        serde_json::json!({}),
    );
    let gateway = serve(auth.path(), &mock, Some(&upstream.base_url), "");

    let answer = chat(&gateway).await;
    assert_eq!(answer.status(), 503, "no other account can serve");
    let error = json_body(answer).await;
    let message = error["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("disabled"), "{message}");
    assert!(!message.contains("rt-unknown"), "{message}");
    assert!(
        upstream.received().is_empty(),
        "nothing was sent with a dead token"
    );

    let file = stored(auth.path(), "gone");
    assert_eq!(file["disabled"], true);
    assert!(
        file["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("invalid_grant"),
        "{file}"
    );
    // Once disabled, the account is out of rotation: no second refresh is tried, and
    // the answer names the account and why it is out, never the token.
    let again = chat(&gateway).await;
    assert_eq!(again.status(), 503);
    let message = json_body(again).await["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("disabled: `gone` (") && message.contains("invalid_grant"),
        "{message}"
    );
    assert!(!message.contains("rt-unknown"), "{message}");
    assert_eq!(mock.counts().refresh_token, 1);
}

#[tokio::test]
async fn a_transient_refresh_failure_keeps_serving_with_the_token_still_valid() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    mock.add_refresh_token("rt-valid-0123456789");
    mock.refresh_unavailable(true);
    let upstream = ScriptedUpstream::start().await;
    upstream.reply(completion("served"));
    let auth = tempfile::tempdir().unwrap();
    // Within the request margin (30 s): a refresh is tried, fails with 503, and the
    // token, valid for 20 s more, serves.
    account(
        auth.path(),
        "one",
        "pkce",
        "at-valid-for-20s-0123",
        Some("rt-valid-0123456789"),
        &at(20),
        serde_json::json!({}),
    );
    let gateway = serve(auth.path(), &mock, Some(&upstream.base_url), "");

    let answer = chat(&gateway).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(bearers(&upstream), ["Bearer at-valid-for-20s-0123"]);
    assert!(mock.counts().refresh_token >= 1);
    let file = stored(auth.path(), "one");
    assert_eq!(
        file.get("disabled").and_then(|d| d.as_bool()),
        Some(false).filter(|_| file.get("disabled").is_some())
    );
}

#[tokio::test]
async fn the_background_refreshes_ahead_of_expiry_without_a_request() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    mock.add_refresh_token("rt-ahead-0123456789");
    let upstream = ScriptedUpstream::start().await;
    let auth = tempfile::tempdir().unwrap();
    // Expires in 50 s; test-oauth's lead is 60 s: due now.
    account(
        auth.path(),
        "soon",
        "pkce",
        "at-soon-0123456789",
        Some("rt-ahead-0123456789"),
        &at(50),
        serde_json::json!({}),
    );
    let _gateway = serve(auth.path(), &mock, Some(&upstream.base_url), "");

    let deadline = Instant::now() + Duration::from_secs(15);
    while mock.counts().refresh_token == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(mock.counts().refresh_token, 1);
    // The file holds the new token once the store wrote it.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let file = stored(auth.path(), "soon");
        if file["access_token"] != "at-soon-0123456789" {
            assert_eq!(
                file["access_token"],
                mock.issued_access().last().unwrap().as_str()
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the refreshed token was never written"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_entry_lead_overrides_the_adapters() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    mock.add_refresh_token("rt-ahead-0123456789");
    let upstream = ScriptedUpstream::start().await;
    let auth = tempfile::tempdir().unwrap();
    // Expires in 50 s; with a 10 s lead it is not due yet.
    account(
        auth.path(),
        "soon",
        "pkce",
        "at-soon-0123456789",
        Some("rt-ahead-0123456789"),
        &at(50),
        serde_json::json!({}),
    );
    let _gateway = serve(
        auth.path(),
        &mock,
        Some(&upstream.base_url),
        "    refresh-lead-s: 10\n",
    );
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(mock.counts().refresh_token, 0);
}

#[tokio::test]
async fn a_file_dropped_into_the_store_serves_within_two_seconds_and_a_removed_one_stops() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let upstream = ScriptedUpstream::start().await;
    for _ in 0..10 {
        upstream.reply(completion("hi"));
    }
    let auth = tempfile::tempdir().unwrap();
    let gateway = serve(auth.path(), &mock, Some(&upstream.base_url), "");
    assert_eq!(chat(&gateway).await.status(), 503, "no account yet");

    account(
        auth.path(),
        "new",
        "api-key",
        "key-dropped-in-0123",
        None,
        &at(86_400),
        serde_json::json!({}),
    );
    let dropped = Instant::now();
    loop {
        if chat(&gateway).await.status() == 200 {
            break;
        }
        assert!(
            dropped.elapsed() < Duration::from_secs(2),
            "not live within 2 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        bearers(&upstream).last().map(String::as_str),
        Some("Bearer key-dropped-in-0123")
    );

    // A broken file beside it is refused, logged by name, and changes nothing.
    std::fs::write(auth.path().join("broken.json"), "{not json").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(chat(&gateway).await.status(), 200);
    assert!(gateway.log().contains("broken.json"), "{}", gateway.log());
    assert_eq!(
        std::fs::read_to_string(auth.path().join("broken.json")).unwrap(),
        "{not json"
    );

    std::fs::remove_file(auth.path().join("new.json")).unwrap();
    let removed = Instant::now();
    loop {
        if chat(&gateway).await.status() == 503 {
            break;
        }
        assert!(
            removed.elapsed() < Duration::from_secs(2),
            "still serving after 2 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_exchanged_token_is_cached_and_its_api_host_becomes_the_base() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    mock.add_github_token("ghu_long_lived_0123456789");
    let upstream = ScriptedUpstream::start().await;
    upstream.reply(completion("one"));
    upstream.reply(completion("two"));
    mock.set_api_url(&upstream.base_url);
    let auth = tempfile::tempdir().unwrap();
    account(
        auth.path(),
        "gh",
        "github",
        "ghu_long_lived_0123456789",
        None,
        "",
        serde_json::json!({}),
    );
    // No base override: the exchange's `endpoints.api` is the base.
    let gateway = serve(auth.path(), &mock, None, "");

    assert_eq!(chat(&gateway).await.status(), 200);
    assert_eq!(chat(&gateway).await.status(), 200);
    assert_eq!(mock.counts().exchange, 1, "the short-lived token is cached");
    let seen = bearers(&upstream);
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|b| b.starts_with("Bearer ") && !b.contains("ghu_long_lived")),
        "{seen:?}"
    );
    let exchanged = seen[0].trim_start_matches("Bearer ").to_owned();
    assert!(!gateway.log().contains(&exchanged));
}

#[tokio::test]
async fn a_disabled_account_logged_in_again_serves_at_once() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let upstream = ScriptedUpstream::start().await;
    upstream.reply(completion("back"));
    let auth = tempfile::tempdir().unwrap();
    account(
        auth.path(),
        "one",
        "pkce",
        "at-expired-0123456789",
        Some("rt-revoked-0123456789"),
        &at(-60),
        serde_json::json!({}),
    );
    let gateway = serve(auth.path(), &mock, Some(&upstream.base_url), "");
    assert_eq!(chat(&gateway).await.status(), 503);
    assert_eq!(stored(auth.path(), "one")["disabled"], true);

    // A new login writes new tokens and clears the flag (what `plugboard login` does).
    account(
        auth.path(),
        "one",
        "pkce",
        "at-new-login-0123456789",
        Some("rt-new-login-0123456789"),
        &at(3600),
        serde_json::json!({"disabled": false}),
    );
    let written = Instant::now();
    loop {
        let status = chat(&gateway).await.status();
        if status == 200 {
            break;
        }
        assert!(
            written.elapsed() < Duration::from_secs(3),
            "still {status} after the new login"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        bearers(&upstream).last().map(String::as_str),
        Some("Bearer at-new-login-0123456789")
    );
}

#[tokio::test]
async fn accounts_list_shows_a_cooling_account_until_when_from_the_running_server() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let upstream = ScriptedUpstream::start().await;
    upstream.reply(
        Reply::json(429, serde_json::json!({"error": {"message": "slow down"}}))
            .header("retry-after", "600"),
    );
    let auth = tempfile::tempdir().unwrap();
    account(
        auth.path(),
        "busy",
        "api-key",
        "key-busy-0123456789",
        None,
        "",
        serde_json::json!({}),
    );
    let gateway = serve(auth.path(), &mock, Some(&upstream.base_url), "");
    assert_eq!(chat(&gateway).await.status(), 429);

    let config = gateway.log_path.with_file_name("config.yaml");
    let deadline = Instant::now() + Duration::from_secs(12);
    let row = loop {
        let (ok, stdout, stderr) = run_cli(&[
            "accounts",
            "list",
            "--json",
            "--config",
            config.to_str().unwrap(),
        ]);
        assert!(ok, "{stderr}");
        let listed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let row = listed["accounts"][0].clone();
        if row["state"] == "cooling" {
            break row;
        }
        assert!(Instant::now() < deadline, "never listed as cooling: {row}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(row["id"], "busy");
    assert_eq!(row["reason"], "rate limited");
    let until = row["cooling_until"].as_str().unwrap();
    assert!(
        until > at(500).as_str() && until < at(700).as_str(),
        "{until}"
    );
    let (_, table, _) = run_cli(&["accounts", "list", "--config", config.to_str().unwrap()]);
    assert!(table.contains("cooling until"), "{table}");
    assert!(!table.contains("key-busy-0123456789"));
}
