//! Shared by the `serve_*` stories: a scripted upstream on loopback, and a real
//! `plugboard serve` process started with a config of the story's own.

#![allow(dead_code)] // each story file uses its own subset

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The client keys every story's Plugboard accepts.
pub const CLIENT_KEY: &str = "sk-plugboard-story";
/// A second accepted client key.
pub const SECOND_CLIENT_KEY: &str = "sk-plugboard-story-2";

/// Where cargo puts build output (adapters are built into `<target>/adapters`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// The real adapters directory, once `ids` are all built there. Waits a while (another
/// build may be writing them), then fails saying how to build them.
pub fn adapters_with(ids: &[&str]) -> PathBuf {
    wait_for_components(&target_dir().join("adapters"), ids, "adapters/build.sh")
}

/// The test components directory (`adapters/build.sh --tests`), once `ids` are there.
pub fn test_adapters_with(ids: &[&str]) -> PathBuf {
    wait_for_components(
        &target_dir().join("test-adapters"),
        ids,
        "adapters/build.sh --tests",
    )
}

/// The compile cache every story's Plugboard shares, `target/tmp/compile-cache` (the
/// e2e, browser and CLI suites use it too): entries are content-addressed, sealed and
/// written atomically, so only the first process to load a component compiles it, and
/// a story starts in a second rather than after compiling every component afresh. A
/// story about the cache itself gives its own directory. Entries older than
/// [`STALE_CACHE_ENTRY`] are removed (once per test process), so the directory does not
/// grow with every rebuild of the components.
pub fn shared_compile_cache() -> PathBuf {
    static PRUNED: std::sync::Once = std::sync::Once::new();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compile-cache");
    PRUNED.call_once(|| {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let stale = entry
                .metadata()
                .and_then(|metadata| metadata.modified())
                .is_ok_and(|modified| modified.elapsed().unwrap_or_default() > STALE_CACHE_ENTRY);
            if stale && path.extension() == Some("cwasm".as_ref()) {
                let _ = std::fs::remove_file(path);
            }
        }
    });
    dir
}

/// How old a shared compile cache entry may grow before a test process removes it.
const STALE_CACHE_ENTRY: Duration = Duration::from_secs(2 * 86_400);

fn wait_for_components(dir: &Path, ids: &[&str], build: &str) -> PathBuf {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let missing: Vec<_> = ids
            .iter()
            .filter(|id| !dir.join(format!("{id}.wasm")).exists())
            .collect();
        if missing.is_empty() {
            return dir.to_path_buf();
        }
        if Instant::now() > deadline {
            panic!(
                "{} lacks {missing:?}.wasm: build the components first with `{build}`",
                dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// One scripted reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Body chunks, sent with a short pause between them.
    pub chunks: Vec<Vec<u8>>,
    /// Break the connection after the chunks instead of ending the body.
    pub broken: bool,
}

impl Reply {
    /// A JSON reply.
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            chunks: vec![body.to_string().into_bytes()],
            broken: false,
        }
    }

    /// An SSE reply, one chunk per frame.
    pub fn sse(frames: &[&str]) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into())],
            chunks: frames.iter().map(|f| f.as_bytes().to_vec()).collect(),
            broken: false,
        }
    }

    /// The connection breaks after the chunks (an upstream dying mid-stream).
    pub fn then_break(mut self) -> Self {
        self.broken = true;
        self
    }

    /// With one more header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A request the upstream received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the upstream received JSON")
    }
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    received: Vec<Received>,
}

/// A scripted upstream on loopback: answers queued replies in order (a 500 saying so
/// when none is left) and records every request.
pub struct ScriptedUpstream {
    pub base_url: String,
    script: Arc<Mutex<Script>>,
}

impl ScriptedUpstream {
    /// Start on a free port.
    pub async fn start() -> Self {
        let script = Arc::new(Mutex::new(Script::default()));
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base_url, script }
    }

    /// Queue a reply.
    pub fn reply(&self, reply: Reply) -> &Self {
        self.script.lock().unwrap().replies.push_back(reply);
        self
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }
}

async fn answer(State(script): State<Arc<Mutex<Script>>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let reply = {
        let mut script = script.lock().unwrap();
        script.received.push(Received {
            method: parts.method.to_string(),
            target: parts
                .uri
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            headers: parts.headers,
            body,
        });
        script.replies.pop_front()
    };
    let reply = reply.unwrap_or_else(|| {
        Reply::json(
            500,
            serde_json::json!({"error": {"message": "no scripted reply left"}}),
        )
    });
    let mut items: Vec<Result<Bytes, std::io::Error>> = reply
        .chunks
        .iter()
        .cloned()
        .map(|c| Ok(Bytes::from(c)))
        .collect();
    if reply.broken {
        items.push(Err(std::io::Error::other("scripted connection break")));
    }
    let stream = futures_util::stream::unfold(items.into_iter(), |mut items| async move {
        let item = items.next()?;
        tokio::time::sleep(Duration::from_millis(5)).await;
        Some((item, items))
    });
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap();
    for (name, value) in &reply.headers {
        response.headers_mut().append(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    response
}

/// What [`Plugboard::start`] logs: Plugboard and the HTTP stack at trace (where a
/// header or a body would show), the rest at info. Each server's log is checked for
/// the secrets of its config when it is dropped.
pub const TRACE_FILTER: &str =
    "plugboard=trace,hyper=trace,hyper_util=trace,reqwest=trace,axum=trace,tower=trace,info";

/// A running `plugboard serve`; stopped (SIGTERM, then kill) when dropped, and its log
/// then checked for the secrets of its config.
pub struct Plugboard {
    pub base_url: String,
    child: Child,
    pub log_path: PathBuf,
    secrets: Vec<String>,
    _workdir: tempfile::TempDir,
}

/// The secret strings of a config document: values under secret-named keys (`api-keys`,
/// `key`, `secret`, anything with `token` or `password`), 8 characters or longer.
pub fn secrets_in(value: &serde_yaml_ng::Value, under_secret: bool, out: &mut Vec<String>) {
    use serde_yaml_ng::Value;
    match value {
        Value::Mapping(map) => {
            for (key, item) in map {
                let key = key.as_str().unwrap_or("").to_ascii_lowercase();
                let secret = matches!(key.as_str(), "api-keys" | "key" | "secret")
                    || ["secret", "token", "password"]
                        .iter()
                        .any(|w| key.contains(w));
                secrets_in(item, under_secret || secret, out);
            }
        }
        Value::Sequence(items) => items.iter().for_each(|i| secrets_in(i, under_secret, out)),
        Value::String(text) if under_secret && text.len() >= 8 => out.push(text.clone()),
        _ => {}
    }
}

impl Plugboard {
    /// Start with `extra` YAML appended to a config that listens on a free port, accepts
    /// [`CLIENT_KEY`] and [`SECOND_CLIENT_KEY`], and loads `adapters_dir`.
    pub fn start(adapters_dir: &Path, extra: &str) -> Self {
        Self::start_with_log(adapters_dir, extra, TRACE_FILTER)
    }

    /// [`Plugboard::start`] with `RUST_LOG` set to `log_filter`.
    pub fn start_with_log(adapters_dir: &Path, extra: &str, log_filter: &str) -> Self {
        Self::start_with_env(adapters_dir, extra, log_filter, &[])
    }

    /// [`Plugboard::start_with_log`] with `env` added to the child's environment (an
    /// `HTTP_PROXY` that brings a real provider's host to a loopback upstream).
    pub fn start_with_env(
        adapters_dir: &Path,
        extra: &str,
        log_filter: &str,
        env: &[(&str, &str)],
    ) -> Self {
        let workdir = tempfile::tempdir().unwrap();
        // The usage store goes in the story's own directory, unless the story says where.
        let usage = if extra.starts_with("usage:") || extra.contains("\nusage:") {
            String::new()
        } else {
            format!(
                "usage:\n  path: {}\n",
                workdir.path().join("usage.db").display()
            )
        };
        let config = format!(
            "listen: 127.0.0.1:0\napi-keys: [{CLIENT_KEY}, {SECOND_CLIENT_KEY}]\nadapters-dir: {}\ncache-dir: {}\n{usage}{extra}",
            adapters_dir.display(),
            shared_compile_cache().display(),
        );
        let mut secrets = Vec::new();
        if let Ok(document) = serde_yaml_ng::from_str(&config) {
            secrets_in(&document, false, &mut secrets);
        }
        let config_path = workdir.path().join("config.yaml");
        std::fs::write(&config_path, config).unwrap();
        let log_path = workdir.path().join("plugboard.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_plugboard"))
            .args(["serve", "--config"])
            .arg(&config_path)
            .env("RUST_LOG", log_filter)
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .expect("the plugboard binary starts");

        // The startup line names the bound address (we asked for port 0).
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = receiver
            .recv_timeout(Duration::from_secs(90))
            .unwrap_or_default();
        let Some(address) = line.split_whitespace().find(|w| w.starts_with("http://")) else {
            let _ = child.kill();
            panic!(
                "plugboard did not start: {line:?}\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        };
        Self {
            base_url: address.to_owned(),
            child,
            log_path,
            secrets,
            _workdir: workdir,
        }
    }

    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The process id (to send it signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The config file it serves (`<workdir>/config.yaml`).
    pub fn config_path(&self) -> PathBuf {
        self._workdir.path().join("config.yaml")
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Stop with SIGTERM and wait; returns whether it exited successfully in time.
    pub fn terminate(&mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Plugboard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            return;
        }
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let leaked = self
            .secrets
            .iter()
            .filter(|s| log.contains(s.as_str()))
            .count();
        assert_eq!(
            leaked,
            0,
            "{leaked} secret(s) of the config in the log {}",
            self.log_path.display()
        );
    }
}

/// Write `<dir>/config.yaml` for the commands that read a config (`login`,
/// `accounts`): the story's client key, `adapters_dir`, the [`shared_compile_cache`],
/// then `extra`. Returns its path.
pub fn write_config(dir: &Path, adapters_dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("config.yaml");
    let text = format!(
        "api-keys: [{CLIENT_KEY}]\nadapters-dir: '{}'\ncache-dir: '{}'\n{extra}",
        adapters_dir.display(),
        shared_compile_cache().display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Run `plugboard` with `args`; returns (success, stdout, stderr).
pub fn run_cli(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// An HTTP client for stories (no proxy from the environment).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A JSON POST with the first client key as a bearer token.
pub fn post_json(
    client: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> reqwest::RequestBuilder {
    client
        .post(url)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {CLIENT_KEY}"))
        .body(body.to_string())
}

/// The response body as JSON.
pub async fn json_body(response: reqwest::Response) -> serde_json::Value {
    let bytes = response.bytes().await.expect("a body");
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|err| panic!("not JSON ({err}): {}", String::from_utf8_lossy(&bytes)))
}

/// A minimal chat request for `model`.
pub fn hello(model: &str) -> serde_json::Value {
    serde_json::json!({"model": model, "messages": [{"role": "user", "content": "hello"}]})
}

/// Assert an OpenAI-shaped error with `status`; returns the `error` object.
pub async fn openai_error(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status);
    let body = json_body(response).await;
    let error = body["error"].clone();
    for field in ["message", "type", "param", "code"] {
        assert!(error.get(field).is_some(), "error lacks `{field}`: {body}");
    }
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    error
}

/// What a raw upstream does with each request: write these bytes, then hold the
/// connection open in silence (`stall`), or for `linger` before closing it, or close it.
#[derive(Clone, Default)]
pub struct Raw {
    pub bytes: Vec<u8>,
    pub stall: bool,
    pub linger: Option<Duration>,
}

impl Raw {
    /// A response head with `status`, `content_type` and no length (the body ends when
    /// the connection closes), then `body`.
    pub fn head_then(status: u16, content_type: &str, body: &str) -> Self {
        let mut bytes = format!(
            "HTTP/1.1 {status} Scripted\r\ncontent-type: {content_type}\r\nconnection: close\r\n\r\n"
        )
        .into_bytes();
        bytes.extend_from_slice(body.as_bytes());
        Self {
            bytes,
            ..Self::default()
        }
    }

    /// A complete response with a `content-length`, and extra `headers`.
    pub fn complete(status: u16, headers: &[(&str, &str)], body: &str) -> Self {
        let mut head = format!(
            "HTTP/1.1 {status} Scripted\r\ncontent-length: {}\r\nconnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        head.push_str(body);
        Self {
            bytes: head.into_bytes(),
            ..Self::default()
        }
    }

    /// Then stay silent with the connection open.
    pub fn then_stall(mut self) -> Self {
        self.stall = true;
        self
    }

    /// Then keep the connection open for `time` before closing it.
    pub fn then_close_after(mut self, time: Duration) -> Self {
        self.linger = Some(time);
        self
    }
}

/// An upstream on loopback that answers every request with the same raw bytes and
/// counts the requests it got.
pub struct RawUpstream {
    pub base_url: String,
    requests: Arc<AtomicUsize>,
}

impl RawUpstream {
    pub async fn start(reply: Raw) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let (reply, counter) = (reply.clone(), counter.clone());
                tokio::spawn(async move { serve_one(socket, reply, counter).await });
            }
        });
        Self { base_url, requests }
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn serve_one(mut socket: TcpStream, reply: Raw, counter: Arc<AtomicUsize>) {
    // Read the head, then as many body bytes as it announces.
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let Ok(n) = socket.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
    counter.fetch_add(1, Ordering::SeqCst);
    if socket.write_all(&reply.bytes).await.is_err() {
        return;
    }
    let _ = socket.flush().await;
    if reply.stall {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    if let Some(time) = reply.linger {
        tokio::time::sleep(time).await;
    }
}
