//! The browser side of an authorization-code login: the loopback listener that
//! receives the redirect, opening the browser, and reading a pasted redirect.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::FlowError;

/// Longest a login waits for the browser to come back.
pub(super) const LOGIN_WAIT: Duration = Duration::from_secs(5 * 60);

/// What the callback brought: the code, or why the login failed.
type Outcome = Result<String, FlowError>;

/// The handler's state: the state it expects and where the first outcome goes.
#[derive(Clone)]
struct Callback {
    expected_state: Arc<str>,
    outcome: Arc<Mutex<Option<mpsc::Sender<Outcome>>>>,
}

/// The failure an `error` redirect means.
pub(super) fn redirect_error(code: &str, description: Option<&str>) -> FlowError {
    if code == "access_denied" {
        FlowError::Denied
    } else {
        FlowError::Rejected {
            code: code.to_owned(),
            message: description.unwrap_or("").chars().take(300).collect(),
        }
    }
}

/// A page for the browser.
fn page(status: StatusCode, text: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Plugboard</title></head>\
         <body><p>{text}</p></body></html>"
    );
    (status, Html(body)).into_response()
}

/// The redirect: a request without the state this login sent is refused with 400
/// and the login keeps waiting (a forged request must not end it).
async fn on_callback(
    State(callback): State<Callback>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let state_matches = params
        .get("state")
        .is_some_and(|state| state.as_str() == &*callback.expected_state);
    if !state_matches {
        return page(
            StatusCode::BAD_REQUEST,
            "This is not the answer to the login Plugboard started (wrong or missing state).",
        );
    }
    let outcome = match (params.get("error"), params.get("code")) {
        (Some(error), _) => Err(redirect_error(
            error,
            params.get("error_description").map(String::as_str),
        )),
        (None, Some(code)) if !code.is_empty() => Ok(code.clone()),
        _ => {
            return page(StatusCode::BAD_REQUEST, "The redirect carries no code.");
        }
    };
    let failed = outcome.is_err();
    let sender = callback
        .outcome
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    if let Some(sender) = sender {
        let _ = sender.try_send(outcome);
    }
    if failed {
        page(StatusCode::OK, "The login failed. You can close this tab.")
    } else {
        page(StatusCode::OK, "Logged in. You can close this tab.")
    }
}

/// Bind the loopback listener (127.0.0.1 only); port 0 binds an ephemeral port.
pub(super) async fn bind(port: u16) -> Result<TcpListener, FlowError> {
    TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|error| {
            FlowError::Transient(format!(
                "cannot listen on 127.0.0.1:{port} for the login redirect: {error}"
            ))
        })
}

/// Serve `path` on `listener` until the first redirect with the right state, or
/// [`LOGIN_WAIT`]; then stop listening.
pub(super) async fn wait_for_code(
    listener: TcpListener,
    path: &str,
    expected_state: &str,
) -> Outcome {
    let (sender, mut receiver) = mpsc::channel(1);
    let callback = Callback {
        expected_state: expected_state.into(),
        outcome: Arc::new(Mutex::new(Some(sender))),
    };
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    let app = axum::Router::new()
        .route(&path, axum::routing::get(on_callback))
        .with_state(callback);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let outcome = tokio::time::timeout(LOGIN_WAIT, receiver.recv()).await;
    // Leave the browser a moment to receive its page, then stop listening.
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        server.abort();
    });
    match outcome {
        Ok(Some(outcome)) => outcome,
        Ok(None) => Err(FlowError::Invalid("the login listener stopped".into())),
        Err(_) => Err(FlowError::Expired),
    }
}

/// Open `url` in a browser: the command in `$BROWSER` when set (`$BROWSER <url>`),
/// else `xdg-open` (`open` on macOS). Whether it could be started.
pub(super) fn open_browser(url: &str) -> bool {
    let command = match std::env::var("BROWSER") {
        Ok(browser) if !browser.trim().is_empty() => browser,
        _ if cfg!(target_os = "macos") => "open".to_owned(),
        _ => "xdg-open".to_owned(),
    };
    let mut words = command.split_whitespace();
    let Some(program) = words.next() else {
        return false;
    };
    let started = std::process::Command::new(program)
        .args(words)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match started {
        Ok(mut child) => {
            // Reap it whenever it ends, without holding the login up.
            std::thread::spawn(move || child.wait());
            true
        }
        Err(_) => false,
    }
}

/// The code in a pasted line: a whole redirect URL (its `code`, its `state` checked),
/// `code#state` (Claude's page), or a bare code. A state that is not this login's is
/// refused, and nothing is exchanged.
pub(super) fn pasted_code(line: &str, expected_state: &str) -> Outcome {
    let line = line.trim();
    if line.is_empty() {
        return Err(FlowError::Invalid("nothing was pasted".into()));
    }
    let wrong_state = || {
        FlowError::Invalid(
            "the pasted answer is not from the login Plugboard started (its state differs); \
             nothing was exchanged"
                .into(),
        )
    };
    let query = if line.contains("://") {
        let url = reqwest::Url::parse(line)
            .map_err(|_| FlowError::Invalid("the pasted line is not a URL".into()))?;
        Some(url.query().unwrap_or("").to_owned())
    } else if let Some(query) = line.strip_prefix('?') {
        Some(query.to_owned())
    } else if line.contains("code=") || line.contains("error=") {
        Some(line.to_owned())
    } else {
        None
    };
    if let Some(query) = query {
        let params: HashMap<String, String> =
            reqwest::Url::parse(&format!("http://x.invalid/?{query}"))
                .map(|url| url.query_pairs().into_owned().collect())
                .unwrap_or_default();
        if params.get("state").map(String::as_str) != Some(expected_state) {
            return Err(wrong_state());
        }
        if let Some(error) = params.get("error") {
            return Err(redirect_error(
                error,
                params.get("error_description").map(String::as_str),
            ));
        }
        return params
            .get("code")
            .filter(|code| !code.is_empty())
            .cloned()
            .ok_or_else(|| FlowError::Invalid("the pasted URL carries no code".into()));
    }
    if let Some((code, state)) = line.split_once('#') {
        if state != expected_state {
            return Err(wrong_state());
        }
        return Ok(code.to_owned());
    }
    Ok(line.to_owned())
}
