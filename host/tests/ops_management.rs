//! Stories of the management API (`/v0/management/`) against the real `plugboard serve`:
//! who gets in (no key configured, missing, wrong and client keys, a non-loopback peer,
//! a locked-out address beside one that still gets in), and every endpoint an operator
//! uses: status, config, accounts (a device login and a browser login run by the
//! server against the scripted OAuth server, enable, disable, refresh, delete),
//! adapters (an upload that goes live, a refused one, a delete), and the pieces this
//! build answers 501 for.
//!
//! The remote peer is a client socket bound to 127.0.0.2: only 127.0.0.1 and ::1 are
//! local.

mod oauth_support;
mod serve_support;

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oauth_support::{DeviceStep, MockConfig, MockOAuth};
use serde_json::{Value, json};
use serve_support::{CLIENT_KEY, Plugboard};

/// The management key of the stories.
const MANAGEMENT_KEY: &str = "mk-story-management-key-1";

/// A client from `local` (127.0.0.1 when `None`).
fn client_from(local: Option<Ipv4Addr>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(150));
    if let Some(ip) = local {
        builder = builder.local_address(IpAddr::V4(ip));
    }
    builder.build().unwrap()
}

/// `GET path` with `key` as a Bearer token (none when `None`).
async fn get(
    client: &reqwest::Client,
    pb: &Plugboard,
    path: &str,
    key: Option<&str>,
) -> reqwest::Response {
    let mut request = client.get(pb.url(path));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.unwrap()
}

/// An empty adapters directory (the access stories load nothing).
fn empty_adapters(dir: &Path) -> PathBuf {
    let adapters = dir.join("adapters");
    std::fs::create_dir_all(&adapters).unwrap();
    adapters
}

async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value =
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null);
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_management_key_the_api_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let pb = Plugboard::start(&empty_adapters(dir.path()), "");
    let client = client_from(None);
    for path in [
        "/v0/management/status",
        "/v0/management/accounts",
        "/v0/management/nothing-here",
        "/metrics",
    ] {
        let (status, _) = error_code(get(&client, &pb, path, Some(MANAGEMENT_KEY)).await).await;
        assert_eq!(status, 404, "{path}");
    }
    // The proxy itself is unaffected.
    let health = get(&client, &pb, "/healthz", None).await;
    assert_eq!(health.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_management_key_from_a_loopback_peer_gets_in() {
    let dir = tempfile::tempdir().unwrap();
    let pb = Plugboard::start(
        &empty_adapters(dir.path()),
        &format!("management: {{key: {MANAGEMENT_KEY}}}\n"),
    );
    let local = client_from(None);
    let status = "/v0/management/status";

    // No key, a wrong key, a client key: 401.
    assert_eq!(
        error_code(get(&local, &pb, status, None).await).await,
        (401, "invalid_management_key".to_owned())
    );
    assert_eq!(
        error_code(get(&local, &pb, status, Some("mk-wrong")).await).await,
        (401, "invalid_management_key".to_owned())
    );
    assert_eq!(
        error_code(get(&local, &pb, status, Some(CLIENT_KEY)).await).await,
        (401, "invalid_management_key".to_owned())
    );
    // The right key, as a Bearer token or as X-Management-Key.
    assert_eq!(
        get(&local, &pb, status, Some(MANAGEMENT_KEY))
            .await
            .status(),
        200
    );
    let by_header = local
        .get(pb.url(status))
        .header("x-management-key", MANAGEMENT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), 200);
    // The management key is no client key either.
    let chat = local
        .post(pb.url("/v1/chat/completions"))
        .bearer_auth(MANAGEMENT_KEY)
        .header("content-type", "application/json")
        .body(serde_support_hello().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(chat.status(), 401);

    // 127.0.0.2 is not local: 403, even with the right key.
    let remote = client_from(Some(Ipv4Addr::new(127, 0, 0, 2)));
    assert_eq!(
        error_code(get(&remote, &pb, status, Some(MANAGEMENT_KEY)).await).await,
        (403, "remote_not_allowed".to_owned())
    );
    assert_eq!(
        error_code(get(&remote, &pb, "/metrics", Some(MANAGEMENT_KEY)).await).await,
        (403, "remote_not_allowed".to_owned())
    );

    // An unknown route under the prefix is a 404 only for whoever holds the key.
    assert_eq!(
        error_code(get(&local, &pb, "/v0/management/nope", None).await).await,
        (401, "invalid_management_key".to_owned())
    );
    assert_eq!(
        error_code(get(&local, &pb, "/v0/management/nope", Some(MANAGEMENT_KEY)).await).await,
        (404, "unknown_route".to_owned())
    );

    let log = pb.log();
    assert!(log.contains("management: refused a remote peer"), "{log}");
    assert!(
        !log.contains(MANAGEMENT_KEY) && !log.contains("mk-wrong"),
        "{log}"
    );
}

fn serde_support_hello() -> Value {
    serve_support::hello("m")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_lock_out_one_address_while_another_still_gets_in() {
    let dir = tempfile::tempdir().unwrap();
    // The key as its SHA-256, remote peers allowed, three failures lock for a minute.
    let digest = hex_sha256(MANAGEMENT_KEY);
    let pb = Plugboard::start(
        &empty_adapters(dir.path()),
        &format!(
            "management: {{key-sha256: {digest}, allow-remote: true, max-failures: 3, failure-window-s: 600, lockout-s: 60}}\n"
        ),
    );
    let status = "/v0/management/status";
    let attacker = client_from(Some(Ipv4Addr::new(127, 0, 0, 2)));
    let admin = client_from(None);

    // Remote access is on: 127.0.0.2 gets in with the key.
    assert_eq!(
        get(&attacker, &pb, status, Some(MANAGEMENT_KEY))
            .await
            .status(),
        200
    );
    for guess in ["mk-1", "mk-2", "mk-3"] {
        assert_eq!(get(&attacker, &pb, status, Some(guess)).await.status(), 401);
    }
    // Locked: even the right key is refused, with when to come back.
    let locked = get(&attacker, &pb, status, Some(MANAGEMENT_KEY)).await;
    assert_eq!(locked.status(), 429);
    let retry: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(error_code(locked).await.1, "locked_out");

    // The other address is unaffected.
    let in_ = get(&admin, &pb, status, Some(MANAGEMENT_KEY)).await;
    assert_eq!(in_.status(), 200);
    let body: Value = serde_json::from_slice(&in_.bytes().await.unwrap()).unwrap();
    assert!(body["version"].as_str().unwrap().starts_with("plugboard "));
    assert!(pb.log().contains("address locked out"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_may_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let pb = Plugboard::start_with_env(
        &empty_adapters(dir.path()),
        "",
        "info",
        &[("PLUGBOARD_MANAGEMENT_KEY", MANAGEMENT_KEY)],
    );
    let client = client_from(None);
    assert_eq!(
        get(&client, &pb, "/v0/management/status", Some(MANAGEMENT_KEY))
            .await
            .status(),
        200
    );
    assert_eq!(
        get(&client, &pb, "/v0/management/status", Some("mk-other"))
            .await
            .status(),
        401
    );
}

fn hex_sha256(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// The story's server: `test-oauth` (a copy in its own adapters directory) on entry
/// `sub` pointed at `mock`, a credential store, and the management key.
struct Story {
    pb: Plugboard,
    client: reqwest::Client,
    adapters: PathBuf,
    auth: PathBuf,
    _dir: tempfile::TempDir,
}

impl Story {
    fn start(mock: &MockOAuth) -> Story {
        let dir = tempfile::tempdir().unwrap();
        let adapters = dir.path().join("adapters");
        std::fs::create_dir_all(&adapters).unwrap();
        let built = serve_support::test_adapters_with(&["test-oauth"]).join("test-oauth.wasm");
        std::fs::copy(built, adapters.join("test-oauth.wasm")).unwrap();
        let auth = dir.path().join("auth");
        let endpoints: Vec<String> = mock
            .endpoints()
            .into_iter()
            .filter(|(name, _)| name != "base")
            .map(|(name, url)| format!("{name}: '{url}'"))
            .collect();
        let extra = format!(
            "auth-dir: '{}'\nmanagement: {{key: {MANAGEMENT_KEY}}}\n\
             providers:\n  - name: sub\n    adapter: test-oauth\n    models: [m]\n    \
             accounts: auth-dir\n    endpoints: {{{}}}\n",
            auth.display(),
            endpoints.join(", ")
        );
        let pb = Plugboard::start(&adapters, &extra);
        Story {
            pb,
            client: client_from(None),
            adapters,
            auth,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        self.pb.url(&format!("/v0/management/{path}"))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(MANAGEMENT_KEY)
            .send()
            .await
            .unwrap();
        answer(response).await
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(MANAGEMENT_KEY);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        answer(request.send().await.unwrap()).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// Poll login `session` until it is no longer pending.
    async fn finished_login(&self, session: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (status, body) = self.get(&format!("accounts/login/{session}")).await;
            assert_eq!(status, 200, "{body}");
            if body["state"] != "pending" {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "the login stayed pending: {body}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The account `id` of `GET accounts`.
    async fn account(&self, id: &str) -> Value {
        let (status, body) = self.get("accounts").await;
        assert_eq!(status, 200, "{body}");
        body["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no account {id} in {body}"))
    }
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// No token the mock issued appears in `text`.
fn no_issued_token(mock: &MockOAuth, text: &str) {
    for token in mock
        .issued_access()
        .iter()
        .chain(mock.issued_refresh().iter())
    {
        assert!(!text.contains(token.as_str()), "a token leaked: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_logs_accounts_in_from_a_browser_and_manages_them() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let story = Story::start(&mock);

    // Status before any account: the component, no accounts, the version.
    let (code, status) = story.get("status").await;
    assert_eq!(code, 200, "{status}");
    assert_eq!(
        status["version"],
        format!("plugboard {}", env!("CARGO_PKG_VERSION"))
    );
    assert!(status["uptime_s"].is_u64());
    let loaded = status["components"]["loaded"].as_array().unwrap();
    assert!(loaded.iter().any(|c| c["id"] == "test-oauth"), "{status}");
    assert_eq!(status["accounts"]["total"], 0);

    // A device login: the code and where to enter it, pending, then done.
    mock.script_device(vec![DeviceStep::Pending, DeviceStep::Tokens]);
    let (code, started) = story
        .post("accounts/login", json!({"entry": "sub", "kind": "device"}))
        .await;
    assert_eq!(code, 201, "{started}");
    assert_eq!(started["flow"], "device-code");
    assert_eq!(started["state"], "pending");
    assert_eq!(started["device"]["verification_uri"], mock.url("/device"));
    assert!(
        started["device"]["user_code"]
            .as_str()
            .unwrap()
            .starts_with("MOCK-"),
        "{started}"
    );
    let session = started["session"].as_str().unwrap().to_owned();
    let done = story.finished_login(&session).await;
    assert_eq!(done["state"], "done", "{done}");
    let device_id = done["account"].as_str().unwrap().to_owned();
    assert!(story.auth.join(format!("{device_id}.json")).exists());

    // The account as the operator sees it: kind, state, fingerprint, never a token.
    let account = story.account(&device_id).await;
    assert_eq!(account["kind"], "device");
    assert_eq!(account["state"], "ok");
    assert_eq!(account["entries"], json!(["sub"]));
    assert!(
        account["fingerprint"].as_str().unwrap().len() == 8,
        "{account}"
    );
    let (_, all) = story.get("accounts").await;
    no_issued_token(&mock, &all.to_string());

    // A browser login completed by the redirect reaching the flow's loopback listener.
    let (code, started) = story
        .post("accounts/login", json!({"entry": "sub", "kind": "pkce"}))
        .await;
    assert_eq!(code, 201, "{started}");
    assert_eq!(started["flow"], "authorization-code");
    let url = started["authorization_url"].as_str().unwrap();
    let location = MockOAuth::browse(url)
        .await
        .expect("the login page approves");
    let callback = client_from(None).get(&location).send().await.unwrap();
    assert_eq!(callback.status(), 200);
    let done = story
        .finished_login(started["session"].as_str().unwrap())
        .await;
    assert_eq!(done["state"], "done", "{done}");
    let browser_id = done["account"].as_str().unwrap().to_owned();

    // A browser login completed by a pasted redirect; another login's state is refused
    // first and the login keeps waiting.
    let (_, started) = story
        .post("accounts/login", json!({"entry": "sub", "kind": "pkce"}))
        .await;
    let session = started["session"].as_str().unwrap().to_owned();
    let location = MockOAuth::browse(started["authorization_url"].as_str().unwrap())
        .await
        .unwrap();
    let forged = with_state(&location, "forged-state");
    let (code, refused) = story
        .post(
            &format!("accounts/login/{session}"),
            json!({"redirect_url": forged}),
        )
        .await;
    assert_eq!(code, 400, "{refused}");
    assert_eq!(refused["error"]["code"], "redirect_refused");
    let (code, taken) = story
        .post(
            &format!("accounts/login/{session}"),
            json!({"redirect_url": location}),
        )
        .await;
    assert_eq!(code, 202, "{taken}");
    let done = story.finished_login(&session).await;
    assert_eq!(done["state"], "done", "{done}");
    // The same person again: the account is updated, not added.
    assert_eq!(done["account"], browser_id.as_str());
    assert_eq!(done["verb"], "updated");

    // A login that cannot start says why.
    let (code, refused) = story
        .post("accounts/login", json!({"entry": "nope", "kind": "pkce"}))
        .await;
    assert_eq!(code, 400);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no provider entry `nope`"),
        "{refused}"
    );
    let (code, _) = story.get("accounts/login/no-such-session").await;
    assert_eq!(code, 404);

    // Disable, see it, enable.
    let (code, _) = story
        .post(&format!("accounts/{device_id}/disable"), json!({}))
        .await;
    assert_eq!(code, 200);
    assert_eq!(story.account(&device_id).await["state"], "disabled");
    let (_, status) = story.get("status").await;
    assert_eq!(status["accounts"]["by_state"]["disabled"], 1, "{status}");
    // The entries, with the kinds a login makes (what the web page offers to add).
    let entry = &status["providers"][0];
    assert_eq!(entry["name"], "sub", "{status}");
    assert_eq!(entry["loaded"], true, "{status}");
    let logins: Vec<&str> = entry["logins"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|login| login["kind"].as_str())
        .collect();
    assert!(
        logins.contains(&"device") && logins.contains(&"pkce"),
        "{status}"
    );
    let (code, _) = story
        .post(&format!("accounts/{device_id}/enable"), json!({}))
        .await;
    assert_eq!(code, 200);
    assert_eq!(story.account(&device_id).await["state"], "ok");

    // Refresh now: the token endpoint is called, the new expiry answered.
    let before = mock.counts().refresh_token;
    let (code, refreshed) = story
        .post(&format!("accounts/{device_id}/refresh"), json!({}))
        .await;
    assert_eq!(code, 200, "{refreshed}");
    assert_eq!(refreshed["refreshed"], true);
    assert!(refreshed["expires_at"].is_string());
    assert_eq!(mock.counts().refresh_token, before + 1);

    // Delete.
    let (code, _) = story
        .send(
            reqwest::Method::DELETE,
            &format!("accounts/{device_id}"),
            None,
        )
        .await;
    assert_eq!(code, 200);
    assert!(!story.auth.join(format!("{device_id}.json")).exists());
    let (code, _) = story
        .send(
            reqwest::Method::DELETE,
            &format!("accounts/{device_id}"),
            None,
        )
        .await;
    assert_eq!(code, 404);
    let (code, _) = story
        .post("accounts/no-such-account/disable", json!({}))
        .await;
    assert_eq!(code, 404);

    // Each change is in the log, with no secret.
    let log = story.pb.log();
    for line in [
        "management: login started",
        "management: login stored an account",
        "management: login redirect pasted",
        "management: account disabled",
        "management: account enabled",
        "management: account refreshed",
        "management: account deleted",
    ] {
        assert!(log.contains(line), "no `{line}` in {log}");
    }
    no_issued_token(&mock, &log);
    assert!(!log.contains(MANAGEMENT_KEY));
}

/// `url` with its `state` replaced.
fn with_state(url: &str, state: &str) -> String {
    let mut parsed = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "state" {
                (k, state.to_owned())
            } else {
                (k, v)
            }
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_adapters_and_the_pieces_this_build_lacks() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let story = Story::start(&mock);

    // The config, every secret redacted.
    let (code, config) = story.get("config").await;
    assert_eq!(code, 200, "{config}");
    let text = config.to_string();
    assert!(
        !text.contains(CLIENT_KEY) && !text.contains(MANAGEMENT_KEY),
        "{text}"
    );
    assert_eq!(config["config"]["api-keys"][0], "[redacted]");
    assert_eq!(config["config"]["management"]["key"], "[redacted]");
    assert_eq!(config["config"]["providers"][0]["name"], "sub");

    // Adapters: what is loaded; an upload that goes live; a refused one; a delete.
    let (code, adapters) = story.get("adapters").await;
    assert_eq!(code, 200);
    let loaded = adapters["loaded"].as_array().unwrap();
    assert_eq!(loaded.len(), 1, "{adapters}");
    assert_eq!(loaded[0]["id"], "test-oauth");
    assert_eq!(loaded[0]["kind"], "provider");
    assert!(loaded[0]["hash"].as_str().unwrap().starts_with("sha256:"));
    assert!(loaded[0]["contract_version"].is_string());

    let stamp =
        std::fs::read(serve_support::test_adapters_with(&["test-stamp"]).join("test-stamp.wasm"))
            .unwrap();
    let put = |file: &str, body: Vec<u8>| {
        story
            .client
            .put(story.url(&format!("adapters/{file}")))
            .bearer_auth(MANAGEMENT_KEY)
            .body(body)
            .send()
    };
    let (code, uploaded) = answer(put("test-stamp.wasm", stamp).await.unwrap()).await;
    assert_eq!(code, 200, "{uploaded}");
    assert_eq!(uploaded["loaded"]["file"], "test-stamp.wasm");
    let stamp_id = uploaded["loaded"]["id"].as_str().unwrap().to_owned();
    assert!(story.adapters.join("test-stamp.wasm").exists());
    let (_, adapters) = story.get("adapters").await;
    assert!(
        adapters["loaded"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == stamp_id.as_str()),
        "{adapters}"
    );

    let mut broken = b"\0asm".to_vec();
    broken.extend_from_slice(&[1, 0, 0, 0, 0xff, 0xff]);
    let (code, refused) = answer(put("broken.wasm", broken).await.unwrap()).await;
    assert_eq!(code, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "adapter_refused");
    let (code, _) = answer(put("notes.txt", b"\0asm".to_vec()).await.unwrap()).await;
    assert_eq!(code, 400);
    let (code, _) = answer(put("text.wasm", b"hello".to_vec()).await.unwrap()).await;
    assert_eq!(code, 400);
    let (_, adapters) = story.get("adapters").await;
    assert!(
        adapters["refused"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["file"] == "broken.wasm"),
        "{adapters}"
    );

    let (code, deleted) = story
        .send(reqwest::Method::DELETE, "adapters/test-stamp.wasm", None)
        .await;
    assert_eq!(code, 200, "{deleted}");
    assert!(
        !deleted["loaded"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == stamp_id.as_str()),
        "{deleted}"
    );
    let (code, _) = story
        .send(reqwest::Method::DELETE, "adapters/test-stamp.wasm", None)
        .await;
    assert_eq!(code, 404);

    // Usage and its export (this story made no chat request: empty totals), and
    // `/metrics` behind the management key.
    let (code, usage) = story.get("usage?group-by=provider").await;
    assert_eq!(code, 200, "{usage}");
    let (code, _) = story.get("usage?group-by=nonsense").await;
    assert_eq!(code, 400);
    let export = story
        .client
        .get(story.url("usage/export?format=csv"))
        .bearer_auth(MANAGEMENT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    assert!(
        export.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let metrics = story
        .client
        .get(story.pb.url("/metrics"))
        .bearer_auth(MANAGEMENT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.text().await.unwrap().contains("plugboard_"));
    let metrics = story
        .client
        .get(story.pb.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 401);

    let log = story.pb.log();
    assert!(log.contains("management: adapter uploaded"), "{log}");
    assert!(log.contains("management: adapter deleted"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_keys_are_created_shown_once_limited_and_revoked() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let story = Story::start(&mock);
    let models = |key: &str| {
        story
            .client
            .get(story.pb.url("/v1/models"))
            .bearer_auth(key)
            .send()
    };

    let (code, created) = story
        .post("client-keys", json!({"name": "ci", "limits": {"rpm": 60}}))
        .await;
    assert_eq!(code, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    assert_eq!(created["client-key"]["name"], "ci");
    assert_eq!(created["client-key"]["limits"]["rpm"], 60);
    assert_eq!(
        models(&key).await.unwrap().status(),
        200,
        "the new key works at once"
    );

    // Listed with its fingerprint and limits, never the key.
    let (code, listed) = story.get("client-keys").await;
    assert_eq!(code, 200);
    assert!(!listed.to_string().contains(&key), "{listed}");
    let ci = listed["client-keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "ci")
        .cloned()
        .unwrap();
    assert_eq!(ci["fingerprint"].as_str().unwrap().len(), 8);
    assert_eq!(ci["origin"], "api");

    // A name taken is refused; limits change and go away with `null`.
    let (code, _) = story.post("client-keys", json!({"name": "ci"})).await;
    assert_eq!(code, 409);
    let (code, patched) = story
        .send(
            reqwest::Method::PATCH,
            "client-keys/ci",
            Some(json!({"rpm": null, "tpm": 1000})),
        )
        .await;
    assert_eq!(code, 200, "{patched}");
    assert!(
        patched["client-key"]["limits"]["rpm"].is_null(),
        "{patched}"
    );
    assert_eq!(patched["client-key"]["limits"]["tpm"], 1000);

    // Revoked: it stops working; a second delete is 404.
    let (code, _) = story
        .send(reqwest::Method::DELETE, "client-keys/ci", None)
        .await;
    assert_eq!(code, 200);
    assert_eq!(models(&key).await.unwrap().status(), 401);
    let (code, _) = story
        .send(reqwest::Method::DELETE, "client-keys/ci", None)
        .await;
    assert_eq!(code, 404);

    let log = story.pb.log();
    assert!(log.contains("management: client key created"), "{log}");
    assert!(!log.contains(&key), "the key is never logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_is_put_validated_and_reloaded_through_the_api() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let story = Story::start(&mock);
    let put = |body: String| {
        story
            .client
            .put(story.url("config"))
            .bearer_auth(MANAGEMENT_KEY)
            .header("content-type", "application/yaml")
            .body(body)
            .send()
    };
    let (code, status) = story.get("status").await;
    assert_eq!(code, 200);
    assert_eq!(status["config"]["generation"], 1, "{status}");
    let text = std::fs::read_to_string(story.pb.config_path()).unwrap();

    // A wrong key is refused with its line; nothing changes.
    let broken = format!("{text}\nno-such-key: 1\n");
    let (code, refused) = answer(put(broken).await.unwrap()).await;
    assert_eq!(code, 400, "{refused}");
    let reason = refused["error"]["message"].as_str().unwrap();
    assert!(
        reason.contains("no-such-key") && reason.contains("line"),
        "{reason}"
    );
    assert_eq!(
        std::fs::read_to_string(story.pb.config_path()).unwrap(),
        text
    );

    // Several wrong keys: each is named with its line, in the order of the lines.
    let lines = text.lines().count();
    let broken = format!(
        "{text}
no-such-key: 1
retry: {{max-attempts: many}}
other-key: 2
"
    );
    let (code, refused) = answer(put(broken).await.unwrap()).await;
    assert_eq!(code, 400, "{refused}");
    let errors: Vec<&str> = refused["error"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(errors.len(), 3, "{refused}");
    for (error, (key, line)) in errors.iter().zip([
        ("no-such-key", lines + 2),
        ("retry.max-attempts", lines + 3),
        ("other-key", lines + 4),
    ]) {
        assert!(
            error.starts_with(&format!("`{key}` at line {line}: ")),
            "{error} (want {key} at {line})"
        );
    }
    // The value pasted in the wrong place is not echoed.
    assert!(!refused.to_string().contains("many"), "{refused}");
    let (_, status) = story.get("status").await;
    assert_eq!(status["config"]["generation"], 1);
    assert!(
        status["config"]["last-refused"]["reason"].is_string(),
        "{status}"
    );

    // A good one is written and in force: generation 2.
    let changed = text.replace("models: [m]", "models: [m, m2]");
    assert_ne!(changed, text);
    let (code, applied) = answer(put(changed.clone()).await.unwrap()).await;
    assert_eq!(code, 200, "{applied}");
    assert_eq!(applied["generation"], 2);
    assert_eq!(
        std::fs::read_to_string(story.pb.config_path()).unwrap(),
        changed
    );

    // Reloading the same file changes nothing.
    let (code, again) = story
        .send(reqwest::Method::POST, "config/reload", None)
        .await;
    assert_eq!(code, 200, "{again}");
    assert_eq!(again["generation"], 2);
    assert!(story.pb.log().contains("management: config put"));

    // The redacted YAML an editor gets, edited and sent back as it is: the placeholders
    // keep the file's secrets, so the management key and the client key still work.
    let (_, config) = story.get("config").await;
    let yaml = config["yaml"]
        .as_str()
        .expect("GET config has its YAML")
        .to_owned();
    assert!(
        yaml.contains("'[redacted]'")
            && !yaml.contains(MANAGEMENT_KEY)
            && !yaml.contains(CLIENT_KEY),
        "{yaml}"
    );
    let edited = yaml.replace("- m2\n", "- m3\n");
    assert_ne!(edited, yaml, "{yaml}");
    let (code, applied) = answer(put(edited).await.unwrap()).await;
    assert_eq!(code, 200, "{applied}");
    assert_eq!(applied["generation"], 3);
    let written = std::fs::read_to_string(story.pb.config_path()).unwrap();
    assert!(
        written.contains(MANAGEMENT_KEY) && written.contains(CLIENT_KEY) && written.contains("m3"),
        "{written}"
    );
    let (code, _) = story.get("status").await;
    assert_eq!(code, 200, "the management key survived the round trip");
    let models = story
        .client
        .get(story.pb.url("/v1/models"))
        .bearer_auth(CLIENT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(
        models.status(),
        200,
        "the client key survived the round trip"
    );
    // A placeholder with nothing behind it is refused, naming its key.
    let (code, refused) = answer(
        put(format!("{yaml}extra-secret-key: '[redacted]'\n"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(code, 400, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("extra-secret-key"),
        "{refused}"
    );
}
