//! Stories of client keys with governance: named keys from `client-keys:` through the
//! real server and the real `openai` adapter to a scripted upstream. Each limit (rpm,
//! tpm, concurrency, a daily quota, allowed models) refuses in the client's own
//! dialect with the right status and `Retry-After`; a key within its limits, and the
//! plain `api-keys`, are unaffected; keys created through the governance's create
//! function survive a restart, and so do their day's counts (seeded from the usage
//! store).

mod serve_support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::response::Response;
use serde_json::json;
use serve_support::*;
use tokio::sync::Notify;

fn completion(prompt: u64, completion: u64) -> serde_json::Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-up",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    })
}

const KEYS: &str = "client-keys:
  - {name: rpm-key, key: sk-rpm-key-story, rpm: 2}
  - {name: tpm-key, key: sk-tpm-key-story, tpm: 10}
  - {name: day-key, key: sk-day-key-story, requests-per-day: 1}
  - {name: model-key, key: sk-model-key-story, models: [gpt-up]}
  - {name: roomy, key: sk-roomy-key-story, rpm: 1000, tpm: 1000000, concurrency: 10, requests-per-day: 1000, tokens-per-month: 100000000}
";

fn providers(base_url: &str) -> String {
    format!(
        "providers:\n  - name: scripted\n    adapter: openai\n    base-url: {base_url}/v1\n    api-keys: [sk-upstream-1]\n    models: [gpt-up, other-model]\n"
    )
}

fn gateway(upstream: &ScriptedUpstream) -> Plugboard {
    let adapters = adapters_with(&["openai"]);
    Plugboard::start(
        &adapters,
        &format!("{KEYS}{}", providers(&upstream.base_url)),
    )
}

/// The three client dialects, each with its own route, key header and body.
#[derive(Debug, Clone, Copy)]
enum Dialect {
    OpenAi,
    Anthropic,
    Gemini,
}

const DIALECTS: [Dialect; 3] = [Dialect::OpenAi, Dialect::Anthropic, Dialect::Gemini];

impl Dialect {
    fn request(
        self,
        client: &reqwest::Client,
        plugboard: &Plugboard,
        key: &str,
        model: &str,
    ) -> reqwest::RequestBuilder {
        let (path, header, body) = match self {
            Dialect::OpenAi => (
                "/v1/chat/completions".to_owned(),
                "authorization",
                hello(model),
            ),
            Dialect::Anthropic => (
                "/v1/messages".to_owned(),
                "x-api-key",
                json!({"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "hello"}]}),
            ),
            Dialect::Gemini => (
                format!("/v1beta/models/{model}:generateContent"),
                "x-goog-api-key",
                json!({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}),
            ),
        };
        let value = match self {
            Dialect::OpenAi => format!("Bearer {key}"),
            _ => key.to_owned(),
        };
        let request = client
            .post(plugboard.url(&path))
            .header("content-type", "application/json")
            .header(header, value)
            .body(body.to_string());
        match self {
            Dialect::Anthropic => request.header("anthropic-version", "2023-06-01"),
            _ => request,
        }
    }

    /// Assert the refusal's status, `Retry-After` (for 429) and the dialect's error
    /// shape; returns `Retry-After` in seconds (0 when absent) and the message.
    async fn refused(self, response: reqwest::Response, status: u16) -> (u64, String) {
        assert_eq!(response.status().as_u16(), status, "{self:?}");
        let retry_after = response.headers().get("retry-after").map(|value| {
            value
                .to_str()
                .unwrap()
                .parse::<u64>()
                .expect("whole seconds")
        });
        if status == 429 {
            assert!(
                retry_after.is_some_and(|s| s >= 1),
                "{self:?}: {retry_after:?}"
            );
        }
        let body = json_body(response).await;
        let message = match self {
            Dialect::OpenAi => {
                let expected = if status == 403 {
                    "invalid_request_error"
                } else if body["error"]["code"] == "insufficient_quota" {
                    "insufficient_quota"
                } else {
                    "requests"
                };
                assert_eq!(body["error"]["type"], expected, "{body}");
                body["error"]["message"].clone()
            }
            Dialect::Anthropic => {
                assert_eq!(body["type"], "error", "{body}");
                let expected = if status == 403 {
                    "permission_error"
                } else {
                    "rate_limit_error"
                };
                assert_eq!(body["error"]["type"], expected, "{body}");
                body["error"]["message"].clone()
            }
            Dialect::Gemini => {
                assert_eq!(body["error"]["code"], status, "{body}");
                let expected = if status == 403 {
                    "PERMISSION_DENIED"
                } else {
                    "RESOURCE_EXHAUSTED"
                };
                assert_eq!(body["error"]["status"], expected, "{body}");
                body["error"]["message"].clone()
            }
        };
        (
            retry_after.unwrap_or(0),
            message.as_str().unwrap_or_default().to_owned(),
        )
    }
}

async fn ok(request: reqwest::RequestBuilder) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
}

#[tokio::test]
async fn rpm_refuses_the_third_request_of_a_minute_in_every_dialect() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gateway(&upstream);
    let client = client();
    for dialect in [Dialect::OpenAi, Dialect::Gemini] {
        upstream.reply(Reply::json(200, completion(1, 1)));
        ok(dialect.request(&client, &plugboard, "sk-rpm-key-story", "gpt-up")).await;
    }
    for dialect in DIALECTS {
        let response = dialect
            .request(&client, &plugboard, "sk-rpm-key-story", "gpt-up")
            .send()
            .await
            .unwrap();
        let (wait, message) = dialect.refused(response, 429).await;
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(
            message.contains("rpm-key") && message.contains("requests per minute"),
            "{message}"
        );
    }
    // Refusals cost the upstream nothing.
    assert_eq!(upstream.received().len(), 2);
    // The log names the key and the limit, never the key's secret.
    let log = plugboard.log();
    assert!(
        log.contains("limit=\"rpm\"") || log.contains("limit=rpm"),
        "{log}"
    );
    assert!(!log.contains("sk-rpm-key-story"));
}

#[tokio::test]
async fn tpm_counts_the_upstream_s_tokens_and_refuses_until_they_age_out() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gateway(&upstream);
    let client = client();
    // 4 + 3 tokens: under 10, the next request is admitted.
    upstream.reply(Reply::json(200, completion(4, 3)));
    ok(Dialect::Anthropic.request(&client, &plugboard, "sk-tpm-key-story", "gpt-up")).await;
    // A stream's usage counts too: 2 + 2 more make 11.
    upstream.reply(Reply::sse(&[
        "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-up\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-up\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":2,\"total_tokens\":4}}\n\n",
        "data: [DONE]\n\n",
    ]));
    let mut streamed = hello("gpt-up");
    streamed["stream"] = json!(true);
    let response = client
        .post(plugboard.url("/v1/chat/completions"))
        .header("content-type", "application/json")
        .header("authorization", "Bearer sk-tpm-key-story")
        .body(streamed.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("[DONE]"), "{text}");
    // The stream's end is counted as the body finishes: allow it a moment to land.
    let mut refused = None;
    let deadline = Instant::now() + Duration::from_secs(5);
    while refused.is_none() && Instant::now() < deadline {
        let response = Dialect::OpenAi
            .request(&client, &plugboard, "sk-tpm-key-story", "gpt-up")
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            refused = Some(response);
        } else {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let (wait, message) = Dialect::OpenAi
        .refused(refused.expect("over tpm within 5 s"), 429)
        .await;
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(message.contains("tokens per minute"), "{message}");
    for dialect in [Dialect::Anthropic, Dialect::Gemini] {
        let response = dialect
            .request(&client, &plugboard, "sk-tpm-key-story", "gpt-up")
            .send()
            .await
            .unwrap();
        let (wait, _) = dialect.refused(response, 429).await;
        assert!((1..=60).contains(&wait), "{wait}");
    }
}

#[tokio::test]
async fn a_daily_quota_refuses_until_midnight_utc() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gateway(&upstream);
    let client = client();
    upstream.reply(Reply::json(200, completion(1, 1)));
    ok(Dialect::Gemini.request(&client, &plugboard, "sk-day-key-story", "gpt-up")).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let to_midnight = 86_400 - now % 86_400;
    for dialect in DIALECTS {
        let response = dialect
            .request(&client, &plugboard, "sk-day-key-story", "gpt-up")
            .send()
            .await
            .unwrap();
        let (wait, message) = dialect.refused(response, 429).await;
        assert!(
            wait.abs_diff(to_midnight) <= 60 || wait.abs_diff(to_midnight + 86_400) <= 60,
            "{wait} vs {to_midnight}"
        );
        assert!(message.contains("requests per day"), "{message}");
    }
}

#[tokio::test]
async fn a_model_outside_the_key_s_list_is_forbidden_in_every_dialect() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gateway(&upstream);
    let client = client();
    for dialect in DIALECTS {
        let response = dialect
            .request(&client, &plugboard, "sk-model-key-story", "other-model")
            .send()
            .await
            .unwrap();
        let (_, message) = dialect.refused(response, 403).await;
        assert!(message.contains("other-model"), "{message}");
    }
    upstream.reply(Reply::json(200, completion(1, 1)));
    ok(Dialect::OpenAi.request(&client, &plugboard, "sk-model-key-story", "gpt-up")).await;
    assert_eq!(upstream.received().len(), 1);
}

#[tokio::test]
async fn a_key_within_its_limits_and_the_plain_api_keys_are_unaffected() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gateway(&upstream);
    let client = client();
    for round in 0..4 {
        for dialect in DIALECTS {
            for key in ["sk-roomy-key-story", CLIENT_KEY, SECOND_CLIENT_KEY] {
                let model = if round % 2 == 0 {
                    "gpt-up"
                } else {
                    "other-model"
                };
                upstream.reply(Reply::json(200, completion(100, 50)));
                ok(dialect.request(&client, &plugboard, key, model)).await;
            }
        }
    }
    assert_eq!(upstream.received().len(), 36);
    // The per-request line names the caller: the key's name, empty for `api-keys`.
    let log = plugboard.log();
    assert!(log.contains("client_key=roomy"), "{log}");
    assert!(!log.contains("sk-roomy-key-story"));
    // An unknown key is still refused.
    let response = Dialect::OpenAi
        .request(&client, &plugboard, "sk-not-a-key", "gpt-up")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

/// An upstream whose streams send their first chunk, then wait for `gate` before
/// finishing; other requests are answered at once.
struct GatedUpstream {
    base_url: String,
    gate: Arc<Notify>,
}

impl GatedUpstream {
    async fn start() -> Self {
        let gate = Arc::new(Notify::new());
        let shared = gate.clone();
        let app = axum::Router::new().fallback(move |body: Bytes| {
            let gate = shared.clone();
            async move { gated_answer(gate, body).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base_url, gate }
    }
}

async fn gated_answer(gate: Arc<Notify>, body: Bytes) -> Response {
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if request["stream"] != json!(true) {
        let mut response = Response::new(Body::from(completion(1, 1).to_string()));
        response
            .headers_mut()
            .insert("content-type", "application/json".parse().unwrap());
        return response;
    }
    let first = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-up\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":null}]}\n\n";
    let last = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-up\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    let stream = futures_util::stream::unfold(0u8, move |step| {
        let gate = gate.clone();
        async move {
            match step {
                0 => Some((Ok::<_, std::io::Error>(Bytes::from(first)), 1)),
                1 => {
                    gate.notified().await;
                    Some((Ok(Bytes::from(last)), 2))
                }
                _ => None,
            }
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    response
        .headers_mut()
        .insert("content-type", "text/event-stream".parse().unwrap());
    response
}

#[tokio::test]
async fn concurrency_holds_a_slot_until_the_stream_ends_or_the_client_leaves() {
    let upstream = GatedUpstream::start().await;
    let adapters = adapters_with(&["openai"]);
    let plugboard = Plugboard::start(
        &adapters,
        &format!(
            "client-keys:\n  - {{name: one-at-a-time, key: sk-conc-key-story, concurrency: 1}}\n{}",
            providers(&upstream.base_url)
        ),
    );
    let client = client();
    let stream = || {
        let mut body = hello("gpt-up");
        body["stream"] = json!(true);
        client
            .post(plugboard.url("/v1/chat/completions"))
            .header("content-type", "application/json")
            .header("authorization", "Bearer sk-conc-key-story")
            .body(body.to_string())
    };

    // A stream in flight holds the one slot: every dialect is refused with 1 s.
    let mut open = stream().send().await.unwrap();
    assert_eq!(open.status(), 200);
    let first = open.chunk().await.unwrap().expect("the first chunk");
    assert!(String::from_utf8_lossy(&first).contains("hi"));
    for dialect in DIALECTS {
        let response = dialect
            .request(&client, &plugboard, "sk-conc-key-story", "gpt-up")
            .send()
            .await
            .unwrap();
        let (wait, message) = dialect.refused(response, 429).await;
        assert_eq!(wait, 1);
        assert!(message.contains("requests at once"), "{message}");
    }
    // The stream ends: the slot is free again.
    upstream.gate.notify_one();
    let rest = open.text().await.unwrap();
    assert!(rest.contains("[DONE]"), "{rest}");
    admitted_within(&client, &plugboard, Duration::from_secs(5)).await;

    // A client that leaves mid-stream frees its slot too.
    let mut open = stream().send().await.unwrap();
    assert_eq!(open.status(), 200);
    open.chunk().await.unwrap().expect("the first chunk");
    let response = Dialect::OpenAi
        .request(&client, &plugboard, "sk-conc-key-story", "gpt-up")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    drop(open);
    admitted_within(&client, &plugboard, Duration::from_secs(10)).await;
}

/// A plain request of the concurrency key is admitted within `bound`.
async fn admitted_within(client: &reqwest::Client, plugboard: &Plugboard, bound: Duration) {
    let deadline = Instant::now() + bound;
    loop {
        let response = Dialect::OpenAi
            .request(client, plugboard, "sk-conc-key-story", "gpt-up")
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            200 => return,
            429 if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            status => panic!("still refused after {bound:?}: {status}"),
        }
    }
}

/// `plugboard serve --config <dir>/config.yaml`, stopped when dropped.
struct Served {
    base_url: String,
    child: Child,
}

impl Served {
    fn start(dir: &Path, config: &str) -> Self {
        let path = dir.join("config.yaml");
        std::fs::write(&path, config).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_plugboard"))
            .args(["serve", "--config"])
            .arg(&path)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("plugboard.log")).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = receiver
            .recv_timeout(Duration::from_secs(90))
            .unwrap_or_default();
        let Some(address) = line.split_whitespace().find(|w| w.starts_with("http://")) else {
            let _ = child.kill();
            panic!(
                "plugboard did not start: {line:?}\n{}",
                std::fs::read_to_string(dir.join("plugboard.log")).unwrap_or_default()
            );
        };
        Self {
            base_url: address.to_owned(),
            child,
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn keys_created_through_the_governance_survive_a_restart_with_their_limits() {
    use plugboard::config::client_keys::KeyLimits;
    use plugboard::governance::{Governance, keys_file_for};

    let upstream = ScriptedUpstream::start().await;
    let adapters = adapters_with(&["openai"]);
    let dir = tempfile::tempdir().unwrap();
    let usage_db = dir.path().join("usage.db");
    let config = format!(
        "listen: 127.0.0.1:0\napi-keys: [{CLIENT_KEY}]\nadapters-dir: {}\ncache-dir: {}\n\
         usage: {{path: {}}}\n{}",
        adapters.display(),
        serve_support::shared_compile_cache().display(),
        usage_db.display(),
        providers(&upstream.base_url)
    );

    // What the management API's create does, on the file a server would use.
    let governance = Governance::new(&[]);
    governance
        .attach_file(&keys_file_for(&dir.path().join("config.yaml")))
        .unwrap();
    let created = governance
        .create(
            "created",
            KeyLimits {
                requests_per_day: Some(2),
                ..KeyLimits::default()
            },
        )
        .unwrap();
    let key = created.key.expose().to_owned();
    let client = client();

    let send = |url: String| {
        upstream.reply(Reply::json(200, completion(1, 1)));
        client
            .post(url)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {key}"))
            .body(hello("gpt-up").to_string())
            .send()
    };

    // The first start: the key works with its limits, the third request of the day is
    // refused.
    let served = Served::start(dir.path(), &config);
    let url = format!("{}/v1/chat/completions", served.base_url);
    for _ in 0..2 {
        let response = send(url.clone()).await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }
    let third = send(url.clone()).await.unwrap();
    let (wait, _) = Dialect::OpenAi.refused(third, 429).await;
    assert!(wait <= 86_400, "{wait}");
    // The store commits within its batch window; then the process is killed.
    let reader = plugboard::usage::UsageReader::new(&usage_db);
    let deadline = Instant::now() + Duration::from_secs(10);
    while reader
        .report(&plugboard::usage::Query::default())
        .map_or(true, |report| report.total.requests < 3)
    {
        assert!(
            Instant::now() < deadline,
            "the usage store never held the 3 requests"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(served);

    // The second start on the same config and store: the created key is still there,
    // and its day's two requests were counted before the restart, so the first request
    // is already over the quota (a refusal is not counted as a request of the day).
    let served = Served::start(dir.path(), &config);
    let url = format!("{}/v1/chat/completions", served.base_url);
    let refused = send(url.clone()).await.unwrap();
    let (wait, message) = Dialect::OpenAi.refused(refused, 429).await;
    assert!(wait <= 86_400, "{wait}");
    assert!(message.contains("2 requests per day"), "{message}");
    let log = std::fs::read_to_string(dir.path().join("plugboard.log")).unwrap();
    assert!(!log.contains(&key), "the log holds the created key");
    drop(served);
}
