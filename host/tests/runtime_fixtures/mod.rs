//! What the runtime tests share: the real components built by
//! `adapters/build.sh --tests`, copied into a fresh adapters directory per test.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use plugboard::ir::{
    ChatRequest, Dialect, Message, Part, ResponseHead, Role, StreamEvent, TextPart, UpstreamError,
};
use plugboard::runtime::{
    Account, CallContext, RequestSandbox, Runtime, RuntimeSettings, SandboxContext,
};

/// A component built by `adapters/build.sh --tests`, e.g. `adapters/merge-turns.wasm`
/// or `test-adapters/test-spin.wasm` (relative to `target/`).
pub fn built(relative: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target")
        .join(relative);
    assert!(
        path.is_file(),
        "{} is missing: run `adapters/build.sh --tests` before these tests",
        path.display()
    );
    path
}

/// A fresh adapters directory holding copies of `components` (paths as for [`built`]).
pub fn adapters_dir(components: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for component in components {
        let source = built(component);
        std::fs::copy(&source, dir.path().join(source.file_name().unwrap()))
            .expect("copy component");
    }
    dir
}

/// Settings small enough for a test: a short deadline so runaway guests end fast,
/// a 64 MiB memory cap, and a small pool (each test binary builds its own engine).
pub fn test_settings(cache_dir: Option<PathBuf>) -> RuntimeSettings {
    RuntimeSettings {
        cache_dir,
        guest_memory_bytes: 64 << 20,
        guest_call_timeout: Duration::from_millis(500),
        max_instances: 64,
        ..RuntimeSettings::default()
    }
}

/// A runtime with [`test_settings`] and no disk cache.
pub fn runtime() -> Arc<Runtime> {
    Runtime::new(test_settings(None)).expect("runtime")
}

/// The per-request facts every test sandbox uses.
pub fn sandbox_context() -> SandboxContext {
    SandboxContext {
        provider_config: "{}".into(),
        provider_name: "test".into(),
        call: call_context(),
        reuse_for: None,
    }
}

/// The attempt every test sandbox serves: account `acct` with an API key, model
/// `test-model`, base URL `http://127.0.0.1:9`.
pub fn call_context() -> CallContext {
    CallContext {
        account: Account {
            id: "acct".into(),
            attributes: vec![],
        },
        credential_kind: "api-key".into(),
        model: "test-model".into(),
        client_dialect: Dialect::OpenaiChat,
        stream: false,
        client_headers: vec![],
        endpoints: vec![("base".into(), "http://127.0.0.1:9".into())],
        model_info: None,
    }
}

/// A message of one text part.
pub fn text_message(role: Role, text: &str) -> Message {
    Message {
        role,
        parts: vec![Part::Text(TextPart {
            text: text.into(),
            options: None,
        })],
        options: None,
    }
}

/// A request with these messages.
pub fn request_with(messages: Vec<Message>) -> ChatRequest {
    ChatRequest {
        messages,
        ..Default::default()
    }
}

/// A 200 event-stream response head.
pub fn sse_head() -> ResponseHead {
    ResponseHead {
        status: 200,
        headers: vec![("content-type".into(), "text/event-stream".into())],
    }
}

/// An OpenAI Chat Completions stream that says "Hello" and stops.
pub const CHAT_HELLO_STREAM: &str = concat!(
    "data: {\"id\":\"c1\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n",
    "data: {\"id\":\"c1\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n",
    "data: [DONE]\n\n",
);

/// Feed `body` to the sandbox's decoder in `chunk`-byte pieces, then finish: every
/// event, in order.
pub async fn decode_in_chunks(
    sandbox: &mut RequestSandbox,
    body: &[u8],
    chunk: usize,
) -> Vec<StreamEvent> {
    let mut events = Vec::new();
    for piece in body.chunks(chunk) {
        events.extend(sandbox.push(piece).await.expect("push"));
    }
    events.extend(sandbox.finish().await.expect("finish"));
    events
}

/// The text deltas among `events`, in order.
pub fn text_deltas(events: &[StreamEvent]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|event| match event {
            StreamEvent::TextDelta { delta, .. } => Some(delta.as_str()),
            _ => None,
        })
        .collect()
}

/// The first error frame among `events`; fails showing them all when there is none.
pub fn error_event(events: &[StreamEvent]) -> &UpstreamError {
    events
        .iter()
        .find_map(|event| match event {
            StreamEvent::Error(error) => Some(error),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no error event in {events:?}"))
}

/// What [`capture_warnings`] has captured.
static WARNINGS: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

/// Capture everything logged at `warn` and above from now on, for
/// [`captured_warnings`]: installs a global subscriber (global, not per thread: loads
/// compile on blocking threads) once per test binary. Call it before the story.
pub fn capture_warnings() {
    use std::sync::Once;
    static INSTALL: Once = Once::new();

    struct Capture;
    impl std::io::Write for Capture {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            WARNINGS
                .lock()
                .unwrap_or_else(|poison| poison.into_inner())
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    INSTALL.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_writer(|| Capture)
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .try_init();
    });
}

/// Everything captured since [`capture_warnings`] was first called, as text. Tests of
/// one binary run in parallel and share it: look for what only your test logs (a
/// temp path).
pub fn captured_warnings() -> String {
    let log = WARNINGS.lock().unwrap_or_else(|poison| poison.into_inner());
    String::from_utf8_lossy(&log).into_owned()
}
