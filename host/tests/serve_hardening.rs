//! Stories of a hostile or careless client at the front door, and of the signals an
//! operator sends: connections that send nothing, trickle their headers, stall their
//! body or linger; bodies too large to read; more connections than the cap; SIGHUP;
//! SIGTERM while a silent upstream holds a stream open.
//!
//! The connection deadlines are configured at 1 s here, so the stories are quick; raw
//! TCP sockets show exactly when Plugboard closes.

mod serve_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serve_support::*;

/// Every client deadline at 1 s, and a 1 KiB body limit.
const TIGHT: &str = "limits: {header-read-timeout-s: 1, client-idle-timeout-s: 1, request-body-timeout-s: 1, max-body-bytes: 1024}\n";

fn no_adapters() -> PathBuf {
    // The directory may vanish after start: the registry is loaded by then.
    tempfile::tempdir().unwrap().keep()
}

fn connect(plugboard: &Plugboard) -> TcpStream {
    let stream = TcpStream::connect(plugboard.base_url.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Everything the peer sends until it closes, and whether it closed (rather than the
/// 10 s read timeout running out).
fn read_until_closed(stream: &mut TcpStream) -> (String, bool) {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&received).into_owned(), true),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (String::from_utf8_lossy(&received).into_owned(), false);
            }
            // A reset is a close too.
            Err(_) => return (String::from_utf8_lossy(&received).into_owned(), true),
        }
    }
}

/// One whole response with a `content-length` body, read off a kept-alive connection.
fn read_one_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).expect("a response");
        assert!(n > 0, "closed before a whole response");
        received.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if received.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

#[test]
fn a_connection_that_sends_nothing_is_closed_at_the_header_deadline() {
    let plugboard = Plugboard::start(&no_adapters(), TIGHT);
    let started = Instant::now();
    let mut stream = connect(&plugboard);
    let (received, closed) = read_until_closed(&mut stream);
    assert!(closed, "still open after 10 s");
    assert!(received.is_empty(), "{received}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_client_trickling_its_headers_is_cut_off_at_the_header_deadline() {
    let plugboard = Plugboard::start(&no_adapters(), TIGHT);
    let mut stream = connect(&plugboard);
    let mut writer = stream.try_clone().unwrap();
    let started = Instant::now();
    // One header every 300 ms: bytes keep coming, but the head never ends.
    std::thread::spawn(move || {
        let _ = writer.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n");
        for i in 0..30 {
            std::thread::sleep(Duration::from_millis(300));
            if writer
                .write_all(format!("x-trickle-{i}: y\r\n").as_bytes())
                .is_err()
            {
                break;
            }
        }
    });
    let (_, closed) = read_until_closed(&mut stream);
    assert!(closed, "still open after 10 s of trickled headers");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_kept_alive_connection_serves_its_next_request_then_closes_when_idle() {
    let plugboard = Plugboard::start(&no_adapters(), TIGHT);
    let mut stream = connect(&plugboard);
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    stream.write_all(request).unwrap();
    assert!(read_one_response(&mut stream).starts_with("HTTP/1.1 200"));
    std::thread::sleep(Duration::from_millis(500));
    stream.write_all(request).unwrap();
    assert!(read_one_response(&mut stream).starts_with("HTTP/1.1 200"));

    let idle_from = Instant::now();
    let (received, closed) = read_until_closed(&mut stream);
    assert!(closed, "an idle kept-alive connection stayed open 10 s");
    assert!(received.is_empty(), "{received}");
    assert!(
        idle_from.elapsed() < Duration::from_secs(4),
        "{:?}",
        idle_from.elapsed()
    );
}

#[test]
fn a_stalled_request_body_gets_a_408_in_the_clients_dialect_and_the_connection_closes() {
    let plugboard = Plugboard::start(&no_adapters(), TIGHT);
    let mut stream = connect(&plugboard);
    let started = Instant::now();
    stream
        .write_all(
            format!(
                "POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: {CLIENT_KEY}\r\n\
                 content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"model\":"
            )
            .as_bytes(),
        )
        .unwrap();
    let (received, closed) = read_until_closed(&mut stream);
    assert!(received.starts_with("HTTP/1.1 408"), "{received}");
    assert!(
        received.to_ascii_lowercase().contains("connection: close"),
        "{received}"
    );
    let body = &received[received.find("\r\n\r\n").unwrap() + 4..];
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["type"], "error", "Anthropic's error shape: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("1 s"));
    assert!(closed);
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn a_body_declared_over_the_limit_is_refused_before_a_byte_of_it_is_sent() {
    let plugboard = Plugboard::start(&no_adapters(), TIGHT);
    // OpenAI's route, OpenAI's shape; nothing of the 10 MB is ever sent.
    let mut stream = connect(&plugboard);
    stream
        .write_all(
            format!(
                "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nauthorization: Bearer {CLIENT_KEY}\r\n\
                 content-type: application/json\r\ncontent-length: 10000000\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let (received, _) = read_until_closed(&mut stream);
    assert!(received.starts_with("HTTP/1.1 413"), "{received}");
    let body: serde_json::Value =
        serde_json::from_str(&received[received.find("\r\n\r\n").unwrap() + 4..]).unwrap();
    assert_eq!(body["error"]["code"], "request_too_large", "{body}");

    // Gemini's route, Gemini's shape.
    let mut stream = connect(&plugboard);
    stream
        .write_all(
            format!(
                "POST /v1beta/models/m:generateContent HTTP/1.1\r\nHost: x\r\nx-goog-api-key: {CLIENT_KEY}\r\n\
                 content-length: 10000000\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let (received, _) = read_until_closed(&mut stream);
    assert!(received.starts_with("HTTP/1.1 413"), "{received}");
    let body: serde_json::Value =
        serde_json::from_str(&received[received.find("\r\n\r\n").unwrap() + 4..]).unwrap();
    assert_eq!(body["error"]["code"], 413, "{body}");
}

#[test]
fn a_chunked_body_over_the_limit_is_still_refused_as_it_arrives() {
    let plugboard = Plugboard::start(&no_adapters(), TIGHT);
    let mut stream = connect(&plugboard);
    let mut request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nauthorization: Bearer {CLIENT_KEY}\r\n\
         transfer-encoding: chunked\r\n\r\n800\r\n"
    )
    .into_bytes();
    request.extend_from_slice(&[b' '; 0x800]);
    request.extend_from_slice(b"\r\n0\r\n\r\n");
    stream.write_all(&request).unwrap();
    let (received, _) = read_until_closed(&mut stream);
    assert!(received.starts_with("HTTP/1.1 413"), "{received}");
}

#[test]
fn connections_over_the_cap_wait_until_a_slot_frees() {
    let plugboard = Plugboard::start(
        &no_adapters(),
        "limits: {header-read-timeout-s: 1, client-idle-timeout-s: 1, max-connections: 2}\n",
    );
    // Two silent connections take both slots...
    let _first = connect(&plugboard);
    let _second = connect(&plugboard);
    std::thread::sleep(Duration::from_millis(200));
    // ...so a third waits in the backlog until the header deadline frees one, then is
    // served like any other.
    let started = Instant::now();
    let mut third = connect(&plugboard);
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let response = read_one_response(&mut third);
    let waited = started.elapsed();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        waited >= Duration::from_millis(500),
        "served at once despite the cap: {waited:?}"
    );
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert!(
        plugboard.log().contains("max-connections"),
        "{}",
        plugboard.log()
    );
}

#[tokio::test]
async fn get_v1_models_id_answers_in_the_openai_shape_unless_it_is_a_gemini_action() {
    let plugboard = Plugboard::start(&no_adapters(), "");
    let client = client();
    // No key: OpenAI's 401 (this was Gemini-shaped).
    let response = client
        .get(plugboard.url("/v1/models/gpt-local"))
        .send()
        .await
        .unwrap();
    let error = openai_error(response, 401).await;
    assert_eq!(error["code"], "invalid_api_key");
    // A wrong bearer key: OpenAI's 401 too.
    let response = client
        .get(plugboard.url("/v1/models/gpt-local"))
        .header("authorization", "Bearer sk-wrong")
        .send()
        .await
        .unwrap();
    openai_error(response, 401).await;
    // A Gemini action under /v1/ and anything under /v1beta/: Gemini's shape.
    for (method, path) in [
        (reqwest::Method::POST, "/v1/models/m:generateContent"),
        (reqwest::Method::GET, "/v1beta/models/m"),
    ] {
        let response = client
            .request(method, plugboard.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
        let body = json_body(response).await;
        assert_eq!(body["error"]["code"], 401, "{path}: {body}");
        assert!(body["error"]["status"].is_string(), "{path}: {body}");
    }
}

#[tokio::test]
async fn sighup_reloads_the_config_and_does_not_end_the_process() {
    let plugboard = Plugboard::start(&no_adapters(), "");
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &plugboard.pid().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !plugboard.log().contains("SIGHUP received") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        plugboard
            .log()
            .contains("SIGHUP received; reloading the config file"),
        "{}",
        plugboard.log()
    );
    let health = client()
        .get(plugboard.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

/// An upstream that answers a stream's head and first event (one chunk of a chunked
/// body), then says nothing more while holding the connection open.
async fn silent_upstream() -> RawUpstream {
    let frame = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":null}]}\n\n";
    RawUpstream::start(Raw {
        bytes: format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{frame}\r\n",
            frame.len()
        )
        .into_bytes(),
        stall: true,
        ..Raw::default()
    })
    .await
}

#[tokio::test]
async fn sigterm_with_a_stream_held_by_a_silent_upstream_exits_within_the_grace() {
    let upstream = silent_upstream().await.base_url;
    let dir = adapters_with(&["openai"]);
    let mut plugboard = Plugboard::start(
        &dir,
        &format!(
            "limits: {{shutdown-grace-s: 1}}\nproviders:\n  - {{name: silent, adapter: openai, base-url: '{upstream}/v1', api-keys: [sk-up], models: [gpt-x]}}\n"
        ),
    );
    let mut response = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &serde_json::json!({"model": "gpt-x", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let first = response.chunk().await.unwrap().expect("the first event");
    assert!(String::from_utf8_lossy(&first).contains("hi"));

    let started = Instant::now();
    assert!(plugboard.terminate(), "did not exit within 10 s of SIGTERM");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(4),
        "took {took:?} with a 1 s grace"
    );
    let log = plugboard.log();
    assert!(log.contains("cutting 1 connection"), "{log}");
}

#[test]
fn a_low_soft_open_file_limit_is_raised_to_the_hard_limit_with_a_log_line() {
    let hard = std::process::Command::new("sh")
        .args(["-c", "ulimit -Hn"])
        .output()
        .unwrap();
    let hard = String::from_utf8_lossy(&hard.stdout).trim().to_owned();
    if hard.parse::<u64>().is_ok_and(|hard| hard <= 256) {
        eprintln!("skipped: the hard open-file limit is {hard}, nothing to raise to");
        return;
    }
    let workdir = tempfile::tempdir().unwrap();
    let config = workdir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "listen: 127.0.0.1:0\napi-keys: [{CLIENT_KEY}]\nadapters-dir: {}\n",
            no_adapters().display()
        ),
    )
    .unwrap();
    let log_path = workdir.path().join("plugboard.log");
    // The shell lowers only the soft limit, then becomes Plugboard.
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -S -n 256 && exec \"$0\" serve --config \"$1\"")
        .arg(env!("CARGO_BIN_EXE_plugboard"))
        .arg(&config)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let _ = std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    );
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(line.contains("listening"), "{line}\n{log}");
    assert!(
        log.contains("raised the open-file limit (RLIMIT_NOFILE) from 256 to"),
        "{log}"
    );
}
