//! The host's runner of an adapter's declared credential specs: token calls built from
//! `token-call`, answers read by JSON pointer, authorization code with PKCE (loopback
//! callback or pasted redirect), device code (RFC 8628 and its variants), client
//! registration, refresh and token exchange. Secrets stay in [`Secret`]s; no message it
//! returns or logs holds one: each passes through a [`crate::credentials::Redactor`]
//! of the secrets the call used and received (an upstream that echoes a refresh token
//! does not leak it), and only an endpoint's name and status are logged.
//!
//! Every call says who it is (`User-Agent: plugboard/<version>`; a declared
//! User-Agent does not replace it) and asks for JSON unless the spec names an `Accept`.
//!
//! A declared `redirect-port` of 0 means: bind an ephemeral loopback port and put it in
//! the redirect URI (tests; a real provider registers a fixed port).
//!
//! OWNER: the oauth helper. This is the API the rest of the host codes against.

mod browser;
mod call;

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::credentials::Secret;
use crate::runtime::spec;

use super::file::OAuthClient;

/// What a flow may use: the one HTTP client and the endpoints resolved for this
/// account (config overrides applied, placeholders filled).
pub struct FlowEnv<'a> {
    /// The process's HTTP client.
    pub http: &'a reqwest::Client,
    /// (endpoint name, URL).
    pub endpoints: &'a [(String, String)],
    /// Login inputs by name.
    pub inputs: &'a BTreeMap<String, String>,
    /// Account attributes by name.
    pub attributes: &'a BTreeMap<String, String>,
    /// Longest one call may take.
    pub timeout: Duration,
}

/// A token answer, read.
#[derive(Debug, Clone)]
pub struct Granted {
    /// The access token.
    pub access: Secret,
    /// A refresh token, when the answer carried one.
    pub refresh: Option<Secret>,
    /// An id token, when the answer carried one.
    pub id_token: Option<Secret>,
    /// When `access` expires.
    pub expires_at: Option<SystemTime>,
    /// A base URL for the account (Copilot's `endpoints.api`, Qwen's `resource_url`).
    pub base_url: Option<String>,
    /// Attributes the answer declared.
    pub attributes: BTreeMap<String, String>,
}

/// What a login gives.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    /// The tokens.
    pub granted: Granted,
    /// A client registered for this account (AWS SSO OIDC), kept with it.
    pub client: Option<OAuthClient>,
    /// The id token's claims, decoded (not verified), for labels and setup.
    pub id_token_claims: Option<serde_json::Value>,
}

/// How a browser login gets the redirect back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserMode {
    /// Open the browser (print the URL when it cannot be opened) and listen on the
    /// declared loopback port.
    Open,
    /// Print the URL; the user pastes the final redirect URL (or the code) on stdin.
    Paste,
}

/// Why a flow failed. Messages never hold a secret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FlowError {
    /// The server refused for good (`invalid_grant`, a revoked token): the account
    /// must log in again.
    #[error("refused: {code}: {message}")]
    Rejected {
        /// The OAuth error code.
        code: String,
        /// Its description.
        message: String,
    },
    /// The user denied the login.
    #[error("the login was denied")]
    Denied,
    /// The code or the login expired before it was finished.
    #[error("the login expired before it was completed")]
    Expired,
    /// A failure worth retrying later (network, 5xx, 429).
    #[error("{0}")]
    Transient(String),
    /// The spec or an answer is not usable (a missing pointer, an unknown endpoint).
    #[error("{0}")]
    Invalid(String),
}

/// Log in by authorization code (PKCE when the spec uses a challenge). `Paste` mode
/// reads the pasted line from stdin.
pub async fn authorization_code(
    env: &FlowEnv<'_>,
    spec: &spec::AuthorizationCodeSpec,
    mode: BrowserMode,
) -> Result<LoginOutcome, FlowError> {
    match mode {
        BrowserMode::Open => authorization_code_with_input(env, spec, mode, &b""[..]).await,
        BrowserMode::Paste => authorization_code_with_input(env, spec, mode, StdinLine).await,
    }
}

/// Where the line a user pastes (`Paste` mode) comes from: any `AsyncBufRead` (its
/// first line), [`StdinLine`], or a test's own source.
pub trait PastedLine {
    /// Read one line. `authorize_url` is the URL the user was told to open (already
    /// printed), for a source that shows it its own way or, in a test, opens it.
    fn read_line(
        self,
        authorize_url: &str,
    ) -> impl std::future::Future<Output = Result<String, FlowError>> + Send;
}

impl<R: AsyncBufRead + Unpin + Send> PastedLine for R {
    async fn read_line(mut self, _authorize_url: &str) -> Result<String, FlowError> {
        let mut line = String::new();
        AsyncBufReadExt::read_line(&mut self, &mut line)
            .await
            .map_err(|error| FlowError::Invalid(format!("cannot read the pasted line: {error}")))?;
        Ok(line)
    }
}

/// One line of the process's stdin (read on a blocking thread).
pub struct StdinLine;

impl PastedLine for StdinLine {
    async fn read_line(self, _authorize_url: &str) -> Result<String, FlowError> {
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map(|_| line)
        })
        .await
        .map_err(|_| FlowError::Invalid("reading stdin stopped".into()))?
        .map_err(|error| FlowError::Invalid(format!("cannot read stdin: {error}")))
    }
}

/// [`authorization_code`] with the pasted line (`Paste` mode) read from `input`
/// instead of stdin (any `AsyncBufRead`, e.g. `&[u8]`; the CLI passes [`StdinLine`]).
///
/// The redirect URI is `http://{redirect-host}:{port}{redirect-path}`; a declared port
/// of 0 binds an ephemeral port on 127.0.0.1 and uses it. `Open` binds 127.0.0.1 (never
/// all interfaces) before the browser opens, and waits at most 5 minutes.
pub async fn authorization_code_with_input(
    env: &FlowEnv<'_>,
    spec: &spec::AuthorizationCodeSpec,
    mode: BrowserMode,
    input: impl PastedLine,
) -> Result<LoginOutcome, FlowError> {
    let bind = mode == BrowserMode::Open || spec.redirect_port == 0;
    let mut started = start_authorization(env, spec, bind).await?;
    // In Paste mode the listener only picked the port: it closes here.
    let listener = started
        .listener
        .take()
        .filter(|_| mode == BrowserMode::Open);
    let url = started.url.clone();
    let code = match listener {
        Some(listener) => {
            eprintln!("Open this URL to log in: {url}");
            if !browser::open_browser(&url) {
                eprintln!("(No browser could be opened; open the URL yourself.)");
            }
            browser::wait_for_code(listener, &spec.redirect_path, &started.state).await?
        }
        None => {
            eprintln!("Open this URL to log in: {url}");
            eprintln!("Then paste the address the browser ends on (or the code it shows):");
            let line = input.read_line(&url).await?;
            browser::pasted_code(&line, &started.state)?
        }
    };
    exchange_code(env, spec, started, code).await
}

/// What a login shows the person logging in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginPrompt {
    /// Open this URL (an authorization-code login).
    Open {
        /// The authorize URL (no secret in it).
        url: String,
    },
    /// Go to `verification_uri` and enter `user_code` (a device login).
    DeviceCode {
        /// Where to enter the code.
        verification_uri: String,
        /// The code to enter.
        user_code: String,
        /// The same page with the code in it, when the server gives one.
        verification_uri_complete: Option<String>,
        /// Seconds until the code expires.
        expires_in: u64,
    },
}

/// A line pasted into a served login, and where to say whether it was taken.
#[derive(Debug)]
pub struct Pasted {
    /// The redirect URL the browser ended on, `code#state`, or the code.
    pub line: String,
    /// Answered `Ok` when the line completes the login's redirect (the exchange
    /// follows), or with why it does not (another login's state, no code); the login
    /// then keeps waiting.
    pub taken: tokio::sync::oneshot::Sender<Result<(), FlowError>>,
}

/// An authorization-code login run by a server for a browser elsewhere (the
/// management API): the URL goes to `prompt` instead of the terminal, no browser is
/// opened, and whichever comes first completes it: the redirect to the loopback
/// listener (when the declared port could be bound) or a line from `pasted` that
/// carries this login's code. Waits at most 5 minutes for the listener; a closed
/// `pasted` leaves the listener alone to finish it.
pub async fn authorization_code_served(
    env: &FlowEnv<'_>,
    spec: &spec::AuthorizationCodeSpec,
    prompt: impl FnOnce(LoginPrompt) + Send,
    mut pasted: tokio::sync::mpsc::Receiver<Pasted>,
) -> Result<LoginOutcome, FlowError> {
    let mut started = match start_authorization(env, spec, true).await {
        Ok(started) => started,
        // A fixed port someone else holds: the pasted redirect still completes it.
        Err(FlowError::Transient(_)) if spec.redirect_port != 0 => {
            start_authorization(env, spec, false).await?
        }
        Err(error) => return Err(error),
    };
    prompt(LoginPrompt::Open {
        url: started.url.clone(),
    });
    let state = started.state.clone();
    let pasted = async move {
        while let Some(Pasted { line, taken }) = pasted.recv().await {
            match browser::pasted_code(&line, &state) {
                Ok(code) => {
                    let _ = taken.send(Ok(()));
                    return Ok(code);
                }
                Err(error) => {
                    let _ = taken.send(Err(error));
                }
            }
        }
        std::future::pending().await
    };
    let code = match started.listener.take() {
        Some(listener) => {
            let state = started.state.clone();
            let callback = browser::wait_for_code(listener, &spec.redirect_path, &state);
            tokio::select! {
                code = callback => code?,
                code = pasted => code?,
            }
        }
        None => pasted.await?,
    };
    exchange_code(env, spec, started, code).await
}

/// An authorization-code login up to the URL the user must open.
struct StartedAuthorization {
    values: call::Values,
    /// The loopback listener for the redirect, when one was bound.
    listener: Option<tokio::net::TcpListener>,
    client: Option<OAuthClient>,
    state: String,
    url: String,
}

/// Pick the redirect port (binding the listener when `bind`, or when the declared port
/// is 0), register a client when the spec says so, make state and PKCE, and build the
/// authorize URL.
async fn start_authorization(
    env: &FlowEnv<'_>,
    spec: &spec::AuthorizationCodeSpec,
    bind: bool,
) -> Result<StartedAuthorization, FlowError> {
    let mut values = call::Values {
        client_id: spec.client_id.clone(),
        client_secret: spec.client_secret.clone().map(Secret::new),
        scope: spec.scopes.join(&spec.scope_separator),
        ..call::Values::default()
    };
    // The port first: a registration may name the redirect URI.
    let listener = if bind || spec.redirect_port == 0 {
        Some(browser::bind(spec.redirect_port).await?)
    } else {
        None
    };
    let port = match &listener {
        Some(listener) => listener
            .local_addr()
            .map_err(|error| FlowError::Transient(format!("the login listener: {error}")))?
            .port(),
        None => spec.redirect_port,
    };
    values.redirect_uri = Some(format!(
        "http://{}:{port}{}",
        spec.redirect_host, spec.redirect_path
    ));
    let client = match &spec.registration {
        Some(registration) => Some(register(env, registration, &mut values).await?),
        None => None,
    };
    let state = hex::encode(call::random_bytes(16)?);
    let verifier = call::base64url(&call::random_bytes(64)?);
    values.challenge = Some(call::pkce_challenge(&verifier));
    values.verifier = Some(Secret::new(verifier));
    values.state = Some(state.clone());
    let url = authorize_url(env, spec, &values)?;
    Ok(StartedAuthorization {
        values,
        listener,
        client,
        state,
        url,
    })
}

/// Trade the code the redirect brought for the tokens.
async fn exchange_code(
    env: &FlowEnv<'_>,
    spec: &spec::AuthorizationCodeSpec,
    started: StartedAuthorization,
    code: String,
) -> Result<LoginOutcome, FlowError> {
    let mut values = started.values;
    values.code = Some(Secret::new(code));
    let answer = call::send(env, &spec.exchange, &values).await?;
    finish_login(answer, &spec.answer, &values, started.client)
}

/// The authorize URL: the endpoint with every declared parameter, in order. A secret
/// role (verifier, code, device code, refresh token, client secret) never goes in it.
fn authorize_url(
    env: &FlowEnv<'_>,
    spec: &spec::AuthorizationCodeSpec,
    values: &call::Values,
) -> Result<String, FlowError> {
    use spec::TokenValue as V;
    let endpoint = spec.authorize_endpoint.as_str();
    let mut url = reqwest::Url::parse(call::endpoint_url(env, endpoint)?)
        .map_err(|_| FlowError::Invalid(format!("endpoint `{endpoint}` is not an absolute URL")))?;
    let mut params = Vec::with_capacity(spec.authorize_params.len());
    for (name, value) in &spec.authorize_params {
        if matches!(
            value,
            V::CodeVerifier | V::Code | V::DeviceCode | V::RefreshToken | V::ClientSecret
        ) {
            return Err(FlowError::Invalid(format!(
                "authorize parameter `{name}` would put a secret in the browser's URL"
            )));
        }
        params.push((
            name.clone(),
            call::fill(env, values, endpoint, name, value)?.into_text(),
        ));
    }
    url.query_pairs_mut().extend_pairs(params);
    Ok(url.into())
}

/// Make a client registration; its client id and secret replace the flow's.
async fn register(
    env: &FlowEnv<'_>,
    registration: &spec::ClientRegistration,
    values: &mut call::Values,
) -> Result<OAuthClient, FlowError> {
    let answer = call::send(env, &registration.call, values).await?;
    let endpoint = answer.endpoint.clone();
    let redactor = call::redactor_for(values, None, None);
    let json = call::expect_success(answer, &redactor)?;
    let id = call::string_at(&json, &registration.client_id).ok_or_else(|| {
        FlowError::Invalid(format!(
            "the registration at `{endpoint}` has no client id at `{}`",
            registration.client_id
        ))
    })?;
    let secret = call::string_at(&json, &registration.client_secret).map(Secret::new);
    let expires_at = registration
        .expires_at
        .as_deref()
        .and_then(|pointer| json.pointer(pointer))
        .and_then(call::seconds)
        .map(|unix| UNIX_EPOCH + Duration::from_secs(unix));
    values.client_id = id.clone();
    values.client_secret = secret.clone();
    Ok(OAuthClient {
        id,
        secret,
        expires_at,
    })
}

/// Read a login's token answer into its outcome.
fn finish_login(
    answer: call::Answer,
    spec: &spec::TokenAnswer,
    values: &call::Values,
    client: Option<OAuthClient>,
) -> Result<LoginOutcome, FlowError> {
    let granted = read_answer(answer, spec, values)?;
    let id_token_claims = granted
        .id_token
        .as_ref()
        .and_then(|token| jwt_claims(token.expose()));
    Ok(LoginOutcome {
        granted,
        client,
        id_token_claims,
    })
}

/// A token answer read, or its failure classified (redacted of what was sent and what
/// came back).
fn read_answer(
    answer: call::Answer,
    spec: &spec::TokenAnswer,
    values: &call::Values,
) -> Result<Granted, FlowError> {
    let endpoint = answer.endpoint.clone();
    let redactor = call::redactor_for(values, Some(&answer.json), Some(spec));
    let json = call::expect_success(answer, &redactor)?;
    call::read_granted(&json, spec, &endpoint)
}

/// Default poll interval of a device login, seconds.
const DEFAULT_INTERVAL_S: u64 = 5;
/// Default lifetime of a device code, seconds.
const DEFAULT_DEVICE_EXPIRY_S: u64 = 900;
/// How much a `slow_down` adds to the interval (RFC 8628 §3.5).
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// Transient poll failures in a row that end a device login.
const TRANSIENT_POLLS: u32 = 3;

/// Whether a device login uses PKCE: a field of its start, poll or follow-up call is a
/// `code-challenge` or `code-verifier` (the host then makes the pair for this login).
fn device_uses_pkce(spec: &spec::DeviceCodeSpec) -> bool {
    [Some(&spec.start), Some(&spec.poll), spec.then.as_ref()]
        .into_iter()
        .flatten()
        .flat_map(|call| &call.fields)
        .any(|(_, value)| {
            matches!(
                value,
                spec::TokenValue::CodeChallenge | spec::TokenValue::CodeVerifier
            )
        })
}

/// Log in by device code: the start call, the user told where to go (on the
/// terminal), then polls at the interval until a token, an end, or the code's expiry.
pub async fn device_code(
    env: &FlowEnv<'_>,
    spec: &spec::DeviceCodeSpec,
) -> Result<LoginOutcome, FlowError> {
    device_code_with_prompt(env, spec, |prompt| {
        if let LoginPrompt::DeviceCode {
            verification_uri,
            user_code,
            verification_uri_complete,
            ..
        } = prompt
        {
            eprintln!("Open {verification_uri} and enter the code {user_code}");
            if let Some(complete) = verification_uri_complete {
                eprintln!("(or open {complete}, which has the code in it)");
            }
        }
    })
    .await
}

/// [`device_code`], the user told where to go through `prompt` (a
/// [`LoginPrompt::DeviceCode`]) instead of the terminal.
pub async fn device_code_with_prompt(
    env: &FlowEnv<'_>,
    spec: &spec::DeviceCodeSpec,
    prompt: impl FnOnce(LoginPrompt) + Send,
) -> Result<LoginOutcome, FlowError> {
    let mut values = call::Values {
        client_id: spec.client_id.clone(),
        client_secret: spec.client_secret.clone().map(Secret::new),
        scope: spec.scopes.join(&spec.scope_separator),
        ..call::Values::default()
    };
    let client = match &spec.registration {
        Some(registration) => Some(register(env, registration, &mut values).await?),
        None => None,
    };
    if device_uses_pkce(spec) {
        // Qwen: the challenge goes with the start, the verifier with every poll.
        let verifier = call::base64url(&call::random_bytes(32)?);
        values.challenge = Some(call::pkce_challenge(&verifier));
        values.verifier = Some(Secret::new(verifier));
    }
    let answer = call::send(env, &spec.start, &values).await?;
    let endpoint = answer.endpoint.clone();
    let started = call::expect_success(answer, &call::redactor_for(&values, None, None))?;
    let required = |pointer: &str, what: &str| {
        call::string_at(&started, pointer).ok_or_else(|| {
            FlowError::Invalid(format!(
                "the answer of `{endpoint}` has no {what} at `{pointer}`"
            ))
        })
    };
    let user_code = required(&spec.user_code, "user code")?;
    let verification_uri = required(&spec.verification_uri, "verification URI")?;
    let complete = spec
        .verification_uri_complete
        .as_deref()
        .and_then(|pointer| call::string_at(&started, pointer));
    if let Some(pointer) = &spec.device_code {
        values.device_code = Some(Secret::new(required(pointer, "device code")?));
    }
    let number = |pointer: &Option<String>| {
        pointer
            .as_deref()
            .and_then(|pointer| started.pointer(pointer))
            .and_then(call::seconds)
    };
    let mut interval =
        Duration::from_secs(number(&spec.interval).unwrap_or(DEFAULT_INTERVAL_S).max(1));
    let expires_in = number(&spec.expires_in).unwrap_or(DEFAULT_DEVICE_EXPIRY_S);
    let deadline = Instant::now() + Duration::from_secs(expires_in);
    prompt(LoginPrompt::DeviceCode {
        verification_uri,
        user_code,
        verification_uri_complete: complete,
        expires_in,
    });
    values.previous = Some(started);
    let mut transient = 0;
    loop {
        if Instant::now() + interval > deadline {
            return Err(FlowError::Expired);
        }
        tokio::time::sleep(interval).await;
        let answer = match call::send(env, &spec.poll, &values).await {
            Ok(answer) => answer,
            Err(FlowError::Transient(message)) => {
                transient += 1;
                if transient >= TRANSIENT_POLLS {
                    return Err(FlowError::Transient(message));
                }
                continue;
            }
            Err(error) => return Err(error),
        };
        let code = answer
            .json
            .pointer(&spec.pending.error_code)
            .and_then(Value::as_str)
            .map(str::to_owned);
        match code.as_deref() {
            Some(code) if spec.pending.pending.iter().any(|c| c == code) => {
                transient = 0;
                continue;
            }
            Some(code) if spec.pending.slow_down.iter().any(|c| c == code) => {
                transient = 0;
                interval += SLOW_DOWN_STEP;
                continue;
            }
            _ if spec.pending.pending_statuses.contains(&answer.status) => {
                transient = 0;
                continue;
            }
            Some("expired_token") => return Err(FlowError::Expired),
            Some("access_denied") => return Err(FlowError::Denied),
            Some(code) => {
                let redactor = call::redactor_for(&values, None, None);
                let message = call::oauth_error(&answer.json)
                    .map(|(_, message)| message)
                    .unwrap_or_default();
                return Err(FlowError::Rejected {
                    code: redactor.redact(code),
                    message: redactor.redact(&message.chars().take(300).collect::<String>()),
                });
            }
            None if !answer.is_success() => {
                let error = call::classify(&answer, &call::redactor_for(&values, None, None));
                if let FlowError::Transient(message) = error {
                    transient += 1;
                    if transient >= TRANSIENT_POLLS {
                        return Err(FlowError::Transient(message));
                    }
                    continue;
                }
                return Err(error);
            }
            None => {
                let answer = match &spec.then {
                    Some(then) => {
                        values.previous = Some(answer.json);
                        call::send(env, then, &values).await?
                    }
                    None => answer,
                };
                return finish_login(answer, &spec.answer, &values, client);
            }
        }
    }
}

/// Renew an access token. `kind` gives the flow's client id, secret and scopes;
/// `client` (a registered or file-given client) replaces them when set. An answer
/// without a refresh token gives `refresh: None` (the caller keeps the old one).
pub async fn refresh(
    env: &FlowEnv<'_>,
    kind: &spec::CredentialKind,
    spec: &spec::RefreshSpec,
    client: Option<&OAuthClient>,
    refresh_token: &Secret,
) -> Result<Granted, FlowError> {
    let mut values = match &kind.obtain {
        spec::Obtain::AuthorizationCode(login) => call::Values {
            client_id: login.client_id.clone(),
            client_secret: login.client_secret.clone().map(Secret::new),
            scope: login.scopes.join(&login.scope_separator),
            redirect_uri: Some(format!(
                "http://{}:{}{}",
                login.redirect_host, login.redirect_port, login.redirect_path
            )),
            ..call::Values::default()
        },
        spec::Obtain::DeviceCode(login) => call::Values {
            client_id: login.client_id.clone(),
            client_secret: login.client_secret.clone().map(Secret::new),
            scope: login.scopes.join(&login.scope_separator),
            ..call::Values::default()
        },
        spec::Obtain::Key => call::Values::default(),
    };
    if let Some(client) = client {
        values.client_id = client.id.clone();
        values.client_secret = client.secret.clone();
    }
    values.refresh_token = Some(refresh_token.clone());
    let answer = call::send(env, &spec.call, &values).await?;
    read_answer(answer, &spec.answer, &values)
}

/// Trade the long-lived `secret` for a short-lived token (Copilot), presenting it as
/// `spec.call.present` says.
pub async fn exchange(
    env: &FlowEnv<'_>,
    spec: &spec::ExchangeSpec,
    secret: &Secret,
) -> Result<Granted, FlowError> {
    let values = call::Values {
        present: Some(secret.clone()),
        ..call::Values::default()
    };
    let answer = call::send(env, &spec.call, &values).await?;
    read_answer(answer, &spec.answer, &values)
}

/// The claims of a JWT, decoded without verifying it (for labels and setup only).
pub fn jwt_claims(token: &str) -> Option<serde_json::Value> {
    let mut parts = token.split('.');
    let (_header, payload) = (parts.next()?, parts.next()?);
    let bytes = call::base64url_decode(payload)?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests;
