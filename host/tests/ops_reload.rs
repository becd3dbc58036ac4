//! Config hot reload, told as stories against the real server: a file change is live
//! within 2 s; a broken config is refused with its key and line while the old one goes
//! on serving; SIGHUP reloads; and under load, a change that adds one provider entry and
//! removes another loses no request and lets every stream in flight finish whole.

mod serve_support;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::Response;
use serde_json::json;
use serve_support::*;

/// An OpenAI-shaped upstream that says who it is: a document answers `from-<label>`, a
/// stream sends `chunks` pieces `<label><i> `, `pause` apart.
struct Labelled {
    base_url: String,
    state: Arc<UpstreamState>,
}

struct UpstreamState {
    label: String,
    chunks: usize,
    pause: Duration,
    documents: AtomicUsize,
    streams: AtomicUsize,
}

impl Labelled {
    async fn start(label: &str, chunks: usize, pause: Duration) -> Self {
        let state = Arc::new(UpstreamState {
            label: label.to_owned(),
            chunks,
            pause,
            documents: AtomicUsize::new(0),
            streams: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base_url, state }
    }

    fn documents(&self) -> usize {
        self.state.documents.load(Ordering::SeqCst)
    }

    fn streams(&self) -> usize {
        self.state.streams.load(Ordering::SeqCst)
    }

    /// The content a whole stream from this upstream carries.
    fn stream_content(&self) -> String {
        (0..self.state.chunks)
            .map(|i| format!("{}{i} ", self.state.label))
            .collect()
    }
}

async fn answer(State(state): State<Arc<UpstreamState>>, body: Bytes) -> Response {
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let frame = |delta: serde_json::Value, finish: Option<&str>| {
        let chunk = json!({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-up",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
        });
        Bytes::from(format!("data: {chunk}\n\n"))
    };
    if request["stream"] == true {
        state.streams.fetch_add(1, Ordering::SeqCst);
        let mut frames = vec![frame(json!({"role": "assistant", "content": ""}), None)];
        frames.extend(
            (0..state.chunks)
                .map(|i| frame(json!({"content": format!("{}{i} ", state.label)}), None)),
        );
        frames.push(frame(json!({}), Some("stop")));
        frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
        let pause = state.pause;
        let stream =
            futures_util::stream::unfold(frames.into_iter(), move |mut frames| async move {
                let frame = frames.next()?;
                tokio::time::sleep(pause).await;
                Some((Ok::<_, std::io::Error>(frame), frames))
            });
        Response::builder()
            .header("content-type", "text/event-stream")
            .body(Body::from_stream(stream))
            .unwrap()
    } else {
        state.documents.fetch_add(1, Ordering::SeqCst);
        let body = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-up",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": format!("from-{}", state.label)}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
        });
        Response::builder()
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    }
}

/// A provider entry named `name` on `upstream`, serving client model `model`.
fn entry(name: &str, upstream: &Labelled, model: &str) -> String {
    format!(
        "  - name: {name}\n    adapter: openai\n    base-url: {}/v1\n    api-keys: [sk-upstream-{name}-1]\n    models: [{{name: gpt-up, alias: {model}}}]\n",
        upstream.base_url
    )
}

/// The config file of `plugboard` (beside its log).
fn config_path(plugboard: &Plugboard) -> PathBuf {
    plugboard.log_path.with_file_name("config.yaml")
}

/// The config's head as the server started with it (listen, keys, directories), without
/// its providers.
fn head(plugboard: &Plugboard) -> String {
    let text = std::fs::read_to_string(config_path(plugboard)).unwrap();
    match text.find("providers:") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// Replace the config file the way an editor or a deploy does: a temporary file,
/// renamed over it.
fn replace_config(plugboard: &Plugboard, text: &str) {
    let path = config_path(plugboard);
    let temp = path.with_file_name(".config.yaml.new");
    std::fs::write(&temp, text).unwrap();
    std::fs::rename(&temp, &path).unwrap();
}

/// Ask for `model` once (not streamed); the status and the answer's content.
async fn ask(client: &reqwest::Client, plugboard: &Plugboard, model: &str) -> (u16, String) {
    let response = post_json(
        client,
        &plugboard.url("/v1/chat/completions"),
        &hello(model),
    )
    .send()
    .await
    .unwrap();
    let status = response.status().as_u16();
    let body = json_body(response).await;
    let content = body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (status, content)
}

/// Stream `model`; the content, and whether the stream ended with `[DONE]`.
async fn stream(
    client: &reqwest::Client,
    plugboard: &Plugboard,
    model: &str,
) -> (u16, String, bool) {
    let mut body = hello(model);
    body["stream"] = json!(true);
    let response = post_json(client, &plugboard.url("/v1/chat/completions"), &body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = String::from_utf8(response.bytes().await.unwrap().to_vec()).unwrap();
    let mut content = String::new();
    for line in text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|l| *l != "[DONE]")
    {
        let chunk: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(piece) = chunk["choices"][0]["delta"]["content"].as_str() {
            content.push_str(piece);
        }
    }
    (status, content, text.trim_end().ends_with("data: [DONE]"))
}

/// Wait until the log contains every one of `needles` (in one line), or panic.
async fn log_line_with(plugboard: &Plugboard, needles: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = plugboard.log();
        if let Some(line) = log
            .lines()
            .find(|line| needles.iter().all(|needle| line.contains(needle)))
        {
            return line.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no log line with {needles:?}:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_file_change_is_live_within_two_seconds() {
    let adapters = adapters_with(&["openai"]);
    let (a, b) = (
        Labelled::start("a", 1, Duration::ZERO).await,
        Labelled::start("b", 1, Duration::ZERO).await,
    );
    let plugboard = Plugboard::start(
        &adapters,
        &format!("providers:\n{}", entry("old", &a, "m-old")),
    );
    let client = client();
    assert_eq!(
        ask(&client, &plugboard, "m-old").await,
        (200, "from-a".into())
    );
    assert_eq!(ask(&client, &plugboard, "m-new").await.0, 404);

    // Entry `old` goes, entry `new` comes.
    let changed = Instant::now();
    replace_config(
        &plugboard,
        &format!(
            "{}providers:\n{}",
            head(&plugboard),
            entry("new", &b, "m-new")
        ),
    );
    loop {
        if ask(&client, &plugboard, "m-new").await == (200, "from-b".into()) {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(2),
            "the new config is not live 2 s after the file changed:\n{}",
            plugboard.log()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        ask(&client, &plugboard, "m-old").await.0,
        404,
        "the removed entry is gone"
    );
    let line = log_line_with(&plugboard, &["config reloaded", "generation=2"]).await;
    assert!(line.contains("providers_added=new"), "{line}");
    assert!(line.contains("providers_removed=old"), "{line}");
    assert!(line.contains("trigger=file change"), "{line}");
}

#[tokio::test]
async fn a_broken_config_is_refused_with_key_and_line_and_the_old_one_keeps_serving() {
    let adapters = adapters_with(&["openai"]);
    let a = Labelled::start("a", 1, Duration::ZERO).await;
    let plugboard = Plugboard::start(&adapters, &format!("providers:\n{}", entry("old", &a, "m")));
    let client = client();
    assert_eq!(ask(&client, &plugboard, "m").await, (200, "from-a".into()));
    let head = head(&plugboard);
    let head_lines = head.lines().count();

    // An unknown key, misspelt inside the entry.
    replace_config(
        &plugboard,
        &format!(
            "{head}providers:\n{}    modles: [x]\n",
            entry("old", &a, "m")
        ),
    );
    let line = log_line_with(&plugboard, &["config refused", "unknown field `modles`"]).await;
    let at = format!("line {}", head_lines + 7);
    assert!(line.contains(&at), "the refusal names {at}: {line}");
    assert!(line.contains("generation=1"), "{line}");
    assert_eq!(ask(&client, &plugboard, "m").await, (200, "from-a".into()));

    // YAML that does not parse.
    replace_config(
        &plugboard,
        &format!("{head}providers:\n  - name: [unclosed\n"),
    );
    let line = log_line_with(&plugboard, &["config refused", "did not find expected"]).await;
    assert!(line.contains("line"), "{line}");
    assert_eq!(ask(&client, &plugboard, "m").await, (200, "from-a".into()));

    // A rule of the validator: a provider name used twice, at its line.
    replace_config(
        &plugboard,
        &format!(
            "{head}providers:\n{}{}",
            entry("old", &a, "m"),
            entry("old", &a, "m2")
        ),
    );
    let at = format!("`providers[1].name` at line {}", head_lines + 7);
    log_line_with(&plugboard, &["config refused", &at]).await;
    assert_eq!(ask(&client, &plugboard, "m").await, (200, "from-a".into()));
    assert_eq!(ask(&client, &plugboard, "m2").await.0, 404);
    assert!(!plugboard.log().contains("config reloaded"));
}

#[tokio::test]
async fn sighup_reloads_the_file() {
    let adapters = adapters_with(&["openai"]);
    let (a, b) = (
        Labelled::start("a", 1, Duration::ZERO).await,
        Labelled::start("b", 1, Duration::ZERO).await,
    );
    // Not watched: only the signal reloads.
    let plugboard = Plugboard::start(
        &adapters,
        &format!("watch-config: false\nproviders:\n{}", entry("old", &a, "m")),
    );
    let client = client();
    assert_eq!(ask(&client, &plugboard, "m").await, (200, "from-a".into()));
    let text = std::fs::read_to_string(config_path(&plugboard)).unwrap();
    let at = text.find("providers:").unwrap();
    replace_config(
        &plugboard,
        &format!("{}providers:\n{}", &text[..at], entry("new", &b, "m")),
    );
    // Past the watcher's 2 s, nothing changed.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(ask(&client, &plugboard, "m").await, (200, "from-a".into()));

    let killed = std::process::Command::new("kill")
        .args(["-HUP", &plugboard.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let line = log_line_with(&plugboard, &["config reloaded", "trigger=SIGHUP"]).await;
    assert!(line.contains("generation=2"), "{line}");
    assert_eq!(ask(&client, &plugboard, "m").await, (200, "from-b".into()));
    // A second SIGHUP with the same file: no new generation, and the server lives on.
    std::process::Command::new("kill")
        .args(["-HUP", &plugboard.pid().to_string()])
        .status()
        .unwrap();
    log_line_with(&plugboard, &["config file unchanged", "generation=2"]).await;
    assert_eq!(ask(&client, &plugboard, "m").await, (200, "from-b".into()));
}

#[tokio::test]
async fn under_load_a_reload_that_adds_and_removes_an_entry_loses_no_request() {
    let adapters = adapters_with(&["openai"]);
    // Streams from `a` take ~1.5 s (60 pieces, 25 ms apart).
    let a = Arc::new(Labelled::start("a", 60, Duration::from_millis(25)).await);
    let b = Arc::new(Labelled::start("b", 60, Duration::from_millis(25)).await);
    let plugboard = Arc::new(Plugboard::start(
        &adapters,
        &format!("providers:\n{}", entry("old", &a, "m")),
    ));
    let client = client();
    assert_eq!(ask(&client, &plugboard, "m").await, (200, "from-a".into()));
    let next_config = format!("{}providers:\n{}", head(&plugboard), entry("new", &b, "m"));

    // Four streams, begun under the first config.
    let streams: Vec<_> = (0..4)
        .map(|_| {
            let (client, plugboard) = (client.clone(), plugboard.clone());
            tokio::spawn(async move {
                let result = stream(&client, &plugboard, "m").await;
                (result, Instant::now())
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while a.streams() < 4 {
        assert!(Instant::now() < deadline, "the streams did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Short requests from eight clients, until at least 200 are answered and the new
    // entry has answered some; the config changes after the first 60.
    let done = Arc::new(AtomicUsize::new(0));
    let from_b = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (client, plugboard) = (client.clone(), plugboard.clone());
            let (done, from_b) = (done.clone(), from_b.clone());
            tokio::spawn(async move {
                let mut failures = Vec::new();
                let deadline = Instant::now() + Duration::from_secs(30);
                while (done.load(Ordering::SeqCst) < 200 || from_b.load(Ordering::SeqCst) == 0)
                    && Instant::now() < deadline
                {
                    let (status, content) = ask(&client, &plugboard, "m").await;
                    match (status, content.as_str()) {
                        (200, "from-a") => {}
                        (200, "from-b") => {
                            from_b.fetch_add(1, Ordering::SeqCst);
                        }
                        other => failures.push(format!("{other:?}")),
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                failures
            })
        })
        .collect();
    while done.load(Ordering::SeqCst) < 60 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    replace_config(&plugboard, &next_config);
    let changed = Instant::now();

    let mut failures = Vec::new();
    for worker in workers {
        failures.extend(worker.await.unwrap());
    }
    let answered = done.load(Ordering::SeqCst);
    assert!(
        failures.is_empty(),
        "{} of {answered} requests failed: {failures:?}",
        failures.len()
    );
    assert!(answered >= 200, "{answered}");
    assert!(
        from_b.load(Ordering::SeqCst) > 0,
        "the new entry never answered"
    );

    // Every stream ran to its end on the entry it began with, whole, after the change.
    for handle in streams {
        let ((status, content, finished), ended) = handle.await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(content, a.stream_content(), "a stream lost content");
        assert!(finished, "a stream did not end with [DONE]");
        assert!(
            ended > changed,
            "the stream was not in flight across the change"
        );
    }
    assert_eq!(a.streams(), 4);
    assert_eq!(b.streams(), 0);

    // From now on only the new entry serves.
    let before = a.documents();
    for _ in 0..5 {
        assert_eq!(ask(&client, &plugboard, "m").await, (200, "from-b".into()));
    }
    assert_eq!(a.documents(), before);
    let line = log_line_with(&plugboard, &["config reloaded", "generation=2"]).await;
    assert!(
        line.contains("providers_added=new") && line.contains("providers_removed=old"),
        "{line}"
    );
    assert_eq!(b.documents(), from_b.load(Ordering::SeqCst) + 5);
}
