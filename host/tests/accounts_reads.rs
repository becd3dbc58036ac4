//! Stories of account reads: a stored account of the `test-reads` component's `github`
//! kind (a key exchanged for a short-lived token, Copilot's shape) whose quota is read
//! with the stored key and whose models are read with the exchanged token. The scripted
//! OAuth server (`oauth_support`) makes the exchange; a scripted upstream of this file
//! answers the reads and the chat requests, and records which secret each carried.

mod oauth_support;
mod serve_support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use oauth_support::{MockConfig, MockOAuth, account};
use serde_json::{Value, json};
use serve_support::*;

/// The stored GitHub-style key.
const KEY: &str = "ghu_reads_key_0123456789";
/// When the quota window resets (2026-12-31T00:00:00Z).
const RESETS_AT: u64 = 1_798_675_200;

/// One request the upstream saw.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    authorization: String,
    routes: Option<String>,
    model: Option<String>,
}

#[derive(Default)]
struct UpstreamState {
    seen: Vec<Seen>,
    quota_calls: u32,
    quota_fails: bool,
}

/// The upstream of the reads and the chat requests.
#[derive(Clone)]
struct Upstream {
    base_url: String,
    state: Arc<Mutex<UpstreamState>>,
}

impl Upstream {
    async fn start() -> Self {
        let state = Arc::new(Mutex::new(UpstreamState::default()));
        let app = axum::Router::new()
            .route("/quota", axum::routing::get(quota))
            .route("/models", axum::routing::get(models))
            .route("/v1/chat/completions", axum::routing::post(chat))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base_url, state }
    }

    fn seen(&self, path: &str) -> Vec<Seen> {
        let state = self.state.lock().unwrap();
        state
            .seen
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }

    /// Answer `/quota` with a 500 from now on (or not); returns the `used` of the last
    /// window it answered.
    fn fail_quota(&self, fail: bool) -> f64 {
        let mut state = self.state.lock().unwrap();
        state.quota_fails = fail;
        f64::from(100 + state.quota_calls)
    }

    /// Wait (at most `within`) until `path` was called `n` times.
    async fn wait_for(&self, path: &str, n: usize, within: Duration) -> Vec<Seen> {
        let start = Instant::now();
        loop {
            let seen = self.seen(path);
            if seen.len() >= n {
                return seen;
            }
            assert!(
                start.elapsed() < within,
                "{path} called {} times in {within:?}, not {n}",
                seen.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn record(state: &Mutex<UpstreamState>, path: &str, headers: &HeaderMap, model: Option<String>) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    state.lock().unwrap().seen.push(Seen {
        path: path.into(),
        authorization: header("authorization").unwrap_or_default(),
        routes: header("x-model-routes"),
        model,
    });
}

/// `GET /quota`: one window whose use grows by one per call, and the credential it was
/// shown echoed as `login` (as careless upstreams do); a 500 while failing.
async fn quota(State(state): State<Arc<Mutex<UpstreamState>>>, headers: HeaderMap) -> Response {
    record(&state, "/quota", &headers, None);
    let echoed = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut state = state.lock().unwrap();
    if state.quota_fails {
        return (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"message": "quota service down"})),
        )
            .into_response();
    }
    state.quota_calls += 1;
    axum::Json(json!({
        "plan": "individual",
        "login": echoed,
        "quota": [{"name": "premium_interactions", "used": 100 + state.quota_calls, "limit": 300,
                   "unit": "requests", "resets_at": RESETS_AT}],
    }))
    .into_response()
}

/// `GET /models`: one model only this read lists, served on two routes.
async fn models(State(state): State<Arc<Mutex<UpstreamState>>>, headers: HeaderMap) -> Response {
    record(&state, "/models", &headers, None);
    axum::Json(
        json!({"data": [{"id": "read-model", "routes": ["/responses", "/chat/completions"]}]}),
    )
    .into_response()
}

/// `POST /v1/chat/completions`: one completion.
async fn chat(
    State(state): State<Arc<Mutex<UpstreamState>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let model = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b["model"].as_str().map(str::to_owned));
    record(&state, "/v1/chat/completions", &headers, model);
    axum::Json(json!({"choices": [{"message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}]}))
        .into_response()
}

/// The config of one `test-reads` entry over the store in `auth_dir`: the exchange at
/// the mock (whose `endpoints.api` is `upstream`, so that is the account's base), the
/// quota at `upstream`.
fn entry(auth_dir: &Path, mock: &MockOAuth, upstream: &Upstream) -> String {
    format!(
        "auth-dir: '{}'\nproviders:\n  - name: gh\n    adapter: test-reads\n    accounts: auth-dir\n    endpoints: {{exchange: '{}', quota: '{}/quota'}}\n",
        auth_dir.display(),
        mock.url("/exchange"),
        upstream.base_url
    )
}

struct Story {
    mock: MockOAuth,
    upstream: Upstream,
    auth: tempfile::TempDir,
    cli_dir: tempfile::TempDir,
    adapters: PathBuf,
}

impl Story {
    async fn new() -> Self {
        let mock = MockOAuth::start(MockConfig::default()).await;
        mock.add_github_token(KEY);
        let upstream = Upstream::start().await;
        mock.set_api_url(&upstream.base_url);
        let auth = tempfile::tempdir().unwrap();
        account(auth.path(), "gh", "github", KEY, None, "", json!({}));
        Self {
            mock,
            upstream,
            auth,
            cli_dir: tempfile::tempdir().unwrap(),
            adapters: test_adapters_with(&["test-reads"]),
        }
    }

    fn config(&self) -> String {
        entry(self.auth.path(), &self.mock, &self.upstream)
    }

    fn serve(&self) -> Plugboard {
        Plugboard::start_with_log(&self.adapters, &self.config(), "plugboard=trace")
    }

    /// `plugboard ARGS --config <a config on the same store>`, off the runtime (the
    /// scripted servers must keep answering meanwhile).
    async fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let config = write_config(self.cli_dir.path(), &self.adapters, &self.config());
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.extend(["--config".to_owned(), config.display().to_string()]);
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_cli(&args)
        })
        .await
        .unwrap()
    }

    /// `accounts list --json`'s entry for `gh`.
    async fn listed(&self) -> Value {
        let (ok, out, err) = self.cli(&["accounts", "list", "--json"]).await;
        assert!(ok, "{err}");
        let listed: Value = serde_json::from_str(&out).unwrap();
        listed["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == "gh")
            .cloned()
            .expect("gh listed")
    }

    /// Wait (at most `within`) until `accounts list --json` shows a quota for `gh`
    /// passing `check`.
    async fn wait_for_listed(&self, within: Duration, check: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let listed = self.listed().await;
            if check(&listed["quota"]) {
                return listed;
            }
            assert!(
                start.elapsed() < within,
                "accounts list never showed the expected quota: {listed:#}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    fn stored(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.auth.path().join("gh.json")).unwrap()).unwrap()
    }
}

async fn chat_with(gateway: &Plugboard, model: &str) -> reqwest::Response {
    post_json(
        &client(),
        &gateway.url("/v1/chat/completions"),
        &hello(model),
    )
    .send()
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_reads_quota_and_models_with_the_right_secret_and_routes_the_models_read() {
    let story = Story::new().await;
    let gateway = story.serve();

    // Quota every 2 s, with the stored key as `Authorization: token <key>`.
    let quotas = story
        .upstream
        .wait_for("/quota", 2, Duration::from_secs(30))
        .await;
    for seen in &quotas {
        assert_eq!(seen.authorization, format!("token {KEY}"));
    }
    // Models once (every hour), with the exchanged token as a bearer at the exchange's
    // base URL.
    let models = story
        .upstream
        .wait_for("/models", 1, Duration::from_secs(10))
        .await;
    assert_eq!(models.len(), 1, "read once, not every tick");
    let exchanged = story.mock.issued_access();
    assert!(!exchanged.is_empty());
    let bearer = models[0].authorization.strip_prefix("Bearer ").unwrap();
    assert!(exchanged.iter().any(|t| t == bearer), "{bearer}");
    assert!(!bearer.contains(KEY));

    // `/v1/models` lists the adapter's model and the one the read found.
    let listed = json_body(
        client()
            .get(gateway.url("/v1/models"))
            .bearer_auth(CLIENT_KEY)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"listed-model") && ids.contains(&"read-model"),
        "{ids:?}"
    );

    // A model only the read listed is routed, and its routes reach the adapter; the
    // adapter's own model keeps the adapter's info.
    assert_eq!(chat_with(&gateway, "read-model").await.status(), 200);
    assert_eq!(chat_with(&gateway, "listed-model").await.status(), 200);
    let chats = story.upstream.seen("/v1/chat/completions");
    assert_eq!(chats[0].model.as_deref(), Some("read-model"));
    assert_eq!(
        chats[0].routes.as_deref(),
        Some("/responses,/chat/completions")
    );
    assert_eq!(chats[1].model.as_deref(), Some("listed-model"));
    assert_eq!(chats[1].routes.as_deref(), Some("/chat/completions"));
    assert!(
        chats
            .iter()
            .all(|c| c.authorization.starts_with("Bearer ") && !c.authorization.contains(KEY))
    );

    // `accounts list` shows the quota the running server read (it writes its state
    // file every 5 s).
    let listed = story
        .wait_for_listed(Duration::from_secs(20), |quota| {
            quota["windows"][0]["name"] == "premium_interactions"
        })
        .await;
    let window = &listed["quota"]["windows"][0];
    assert_eq!(window["limit"], 300.0);
    assert_eq!(window["unit"], "requests");
    assert_eq!(window["resets_at"], RESETS_AT);
    assert!(window["used"].as_f64().unwrap() > 100.0);
    assert!(listed["quota"]["read_at"].is_string());
    let (ok, table, err) = story.cli(&["accounts", "list"]).await;
    assert!(ok, "{err}");
    assert!(
        table.contains("quota premium_interactions 1")
            && table.contains("/300 requests, resets 2026-12-31T00:00:00Z (read "),
        "{table}"
    );

    // On demand while the server runs: the command reads and prints, and leaves the
    // state file to the server.
    let (ok, out, err) = story.cli(&["accounts", "refresh", "gh"]).await;
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("quota premium_interactions"), "{out}");
    assert!(
        out.contains("a running server keeps the account state"),
        "{out}"
    );

    // The attribute the quota read found is merged into the account's file, which
    // never holds anything but its own key.
    assert_eq!(story.stored()["attributes"]["plan"], "individual");
    // The upstream echoed the key it was shown; the adapter was given it blanked out.
    assert_eq!(story.stored()["attributes"]["login"], "token [redacted]");
    let file = std::fs::read_to_string(story.auth.path().join("gh.json")).unwrap();
    assert!(exchanged.iter().all(|t| !file.contains(t.as_str())));

    // No secret in the log, at trace level.
    let log = gateway.log();
    assert!(log.contains("account read"), "{log}");
    assert!(!log.contains(KEY));
    assert!(exchanged.iter().all(|t| !log.contains(t.as_str())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_quota_read_keeps_the_previous_quota_and_backs_off() {
    let story = Story::new().await;
    let gateway = story.serve();
    story
        .upstream
        .wait_for("/quota", 1, Duration::from_secs(30))
        .await;
    let last_used = story.upstream.fail_quota(true);
    let before = story.upstream.seen("/quota").len();
    story
        .upstream
        .wait_for("/quota", before + 1, Duration::from_secs(10))
        .await;

    // The list still shows the quota read before, and why the read fails now.
    let listed = story
        .wait_for_listed(Duration::from_secs(20), |quota| quota["error"].is_string())
        .await;
    assert_eq!(listed["quota"]["windows"][0]["used"], last_used);
    let error = listed["quota"]["error"].as_str().unwrap();
    assert!(error.contains("quota") && error.contains("500"), "{error}");

    // Backing off: not called again every tick (the first back-off is 30 s).
    let failed = story.upstream.seen("/quota").len();
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(
        story.upstream.seen("/quota").len() <= failed + 1,
        "a failing read is retried every tick"
    );
    assert!(gateway.log().contains("account read failed"));
    assert!(!gateway.log().contains(KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_refresh_reads_on_demand_and_list_shows_what_it_found() {
    let story = Story::new().await;
    // No server: the command reads once and records the quota for `accounts list`.
    let (ok, out, err) = story.cli(&["accounts", "refresh", "gh"]).await;
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("read `quota`: ok"), "{out}");
    assert!(
        out.contains("quota premium_interactions 101/300 requests, resets 2026-12-31T00:00:00Z"),
        "{out}"
    );
    assert!(
        out.contains("models read-model (/responses /chat/completions)"),
        "{out}"
    );
    assert!(out.contains("quota recorded"), "{out}");
    assert!(!out.contains(KEY) && !err.contains(KEY));
    assert_eq!(
        story.upstream.seen("/quota")[0].authorization,
        format!("token {KEY}")
    );
    assert!(
        story.upstream.seen("/models")[0]
            .authorization
            .starts_with("Bearer ")
    );

    let listed = story.listed().await;
    assert_eq!(listed["quota"]["windows"][0]["used"], 101.0);
    assert_eq!(story.stored()["attributes"]["plan"], "individual");

    // A failing read on demand says why, and the recorded quota stays.
    story.upstream.fail_quota(true);
    let (ok, out, _) = story.cli(&["accounts", "refresh", "gh"]).await;
    assert!(ok, "{out}");
    assert!(
        out.contains("read `quota` failed") && out.contains("500"),
        "{out}"
    );
    assert_eq!(story.listed().await["quota"]["windows"][0]["used"], 101.0);
}
