//! A strict, scripted OAuth server for tests (axum on `127.0.0.1:0`): it refuses what
//! the real ones refuse (auth.openai.com, platform.claude.com, github.com, AWS SSO
//! OIDC; see /work/shared/providers), so a flow that passes here sends what they need.
//!
//! Endpoints:
//! - `GET /authorize`: the login page; a good request is answered `302` to
//!   `redirect_uri?code=…&state=…` (or `error=access_denied` when told to deny);
//! - `POST /token` (form or JSON): grants `authorization_code` (PKCE S256),
//!   `refresh_token` (rotating or not) and the RFC 8628 device code (scripted);
//! - `POST /device/code`: the RFC 8628 device authorization; with a `code_challenge`
//!   (S256 only) the device code's poll must carry the matching `code_verifier`
//!   (Qwen's device flow with PKCE);
//! - `GET /exchange`: a Copilot-like token exchange (`Authorization: token <github>`).
//!
//! Configure with [`MockConfig`], script and inspect through [`MockOAuth`].

#![allow(dead_code)] // each test binary uses its own subset

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Which redirect URIs `/authorize` and the code grant accept.
#[derive(Debug, Clone)]
pub enum RedirectRule {
    /// `http://127.0.0.1:<any port><path>` or `http://localhost:<any port><path>`
    /// (RFC 8252 §7.3: loopback redirects may use any port).
    AnyLoopback,
    /// Exactly these (as registered with a real provider).
    Exact(Vec<String>),
}

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// The one client id it knows.
    pub client_id: String,
    /// The client secret it requires on token calls, when set.
    pub client_secret: Option<String>,
    /// Redirect URIs it accepts.
    pub redirect: RedirectRule,
    /// `/authorize` requires `code_challenge` with method `S256`.
    pub require_pkce: bool,
    /// `expires_in` of the access tokens it issues, seconds.
    pub token_lifetime_s: u64,
    /// A refresh gives a new refresh token and the old one stops working.
    pub rotate_refresh: bool,
    /// Device codes last this long (`expires_in`), seconds.
    pub device_expires_in_s: u64,
    /// The device poll interval it asks for, seconds.
    pub device_interval_s: u64,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            client_id: "test-oauth-client".into(),
            client_secret: None,
            redirect: RedirectRule::AnyLoopback,
            require_pkce: true,
            token_lifetime_s: 3600,
            rotate_refresh: true,
            device_expires_in_s: 900,
            device_interval_s: 1,
        }
    }
}

/// One scripted answer of a device poll (the next device code issued plays the script;
/// when it runs out, the last step repeats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStep {
    /// 400 `authorization_pending`.
    Pending,
    /// 400 `slow_down`; the interval grows by 5 s.
    SlowDown,
    /// The tokens.
    Tokens,
    /// 400 `expired_token`.
    Expired,
    /// 400 `access_denied`.
    Denied,
}

/// Calls counted per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// `/authorize` requests answered with a code.
    pub authorize: u32,
    /// `authorization_code` grants asked for.
    pub authorization_code: u32,
    /// `refresh_token` grants asked for.
    pub refresh_token: u32,
    /// device code grants asked for (polls).
    pub device_code: u32,
    /// `/device/code` starts.
    pub device_start: u32,
    /// `/exchange` calls.
    pub exchange: u32,
}

/// A code `/authorize` handed out.
struct IssuedCode {
    client_id: String,
    redirect_uri: String,
    challenge: Option<String>,
    used: bool,
}

/// A device authorization in progress.
struct DeviceAuth {
    script: Vec<DeviceStep>,
    /// The PKCE challenge the start carried, which every poll's verifier must match.
    challenge: Option<String>,
    interval: Duration,
    last_poll: Instant,
    expires: Instant,
}

/// Everything the server remembers.
#[derive(Default)]
struct Inner {
    counts: Counts,
    codes: HashMap<String, IssuedCode>,
    refresh_tokens: HashSet<String>,
    issued_access: Vec<String>,
    issued_refresh: Vec<String>,
    github_tokens: HashSet<String>,
    devices: HashMap<String, DeviceAuth>,
    next_device_script: Option<Vec<DeviceStep>>,
    last_headers: Option<HeaderMap>,
    last_body: Option<BTreeMap<String, String>>,
    serial: u64,
    deny: bool,
    tamper_challenge: bool,
    refresh_unavailable: bool,
    echo_refresh_token: bool,
    delay: Duration,
    api_url: String,
    resource_url: Option<String>,
}

impl Inner {
    fn next(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!("{prefix}-{}-{:08x}", self.serial, rand_u32())
    }
}

/// A little unpredictability for issued values (not security: a test server).
fn rand_u32() -> u32 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    nanos.wrapping_mul(2_654_435_761)
}

#[derive(Clone)]
struct Shared {
    config: Arc<MockConfig>,
    inner: Arc<Mutex<Inner>>,
}

/// The running server.
pub struct MockOAuth {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for MockOAuth {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl MockOAuth {
    /// Start a server with `config` on an ephemeral loopback port.
    pub async fn start(config: MockConfig) -> MockOAuth {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shared = Shared {
            config: Arc::new(config),
            inner: Arc::new(Mutex::new(Inner {
                api_url: format!("{base}/api"),
                ..Inner::default()
            })),
        };
        let app = axum::Router::new()
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/device/code", post(device_start))
            .route("/exchange", get(exchange))
            .route("/api/whoami", get(whoami))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        MockOAuth {
            base,
            shared,
            server,
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap()
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The endpoints of `test-oauth` pointed at this server (`base` at `/api`).
    pub fn endpoints(&self) -> Vec<(String, String)> {
        [
            ("base", "/api"),
            ("authorize", "/authorize"),
            ("token", "/token"),
            ("device", "/device/code"),
            ("exchange", "/exchange"),
        ]
        .into_iter()
        .map(|(name, path)| (name.to_string(), self.url(path)))
        .collect()
    }

    /// Calls so far.
    pub fn counts(&self) -> Counts {
        self.inner().counts.clone()
    }
    /// Access tokens issued, in order.
    pub fn issued_access(&self) -> Vec<String> {
        self.inner().issued_access.clone()
    }
    /// Refresh tokens issued, in order.
    pub fn issued_refresh(&self) -> Vec<String> {
        self.inner().issued_refresh.clone()
    }
    /// The headers of the last request to any endpoint.
    pub fn last_headers(&self) -> HeaderMap {
        self.inner().last_headers.clone().unwrap_or_default()
    }
    /// The fields of the last token or device call (form or JSON, as text).
    pub fn last_body(&self) -> BTreeMap<String, String> {
        self.inner().last_body.clone().unwrap_or_default()
    }
    /// `/authorize` redirects with `error=access_denied` (the user said no).
    pub fn deny_logins(&self, deny: bool) {
        self.inner().deny = deny;
    }
    /// Remember a different challenge for the codes it issues, so any verifier is
    /// refused (as a stolen code used without its verifier would be).
    pub fn tamper_challenge(&self, tamper: bool) {
        self.inner().tamper_challenge = tamper;
    }
    /// Refresh grants are answered 503 (the server is down for a while).
    pub fn refresh_unavailable(&self, unavailable: bool) {
        self.inner().refresh_unavailable = unavailable;
    }
    /// A refused refresh echoes the refresh token in its `error_description` (as some
    /// upstreams do), to check the client redacts it.
    pub fn echo_refresh_token(&self, echo: bool) {
        self.inner().echo_refresh_token = echo;
    }
    /// Wait this long before answering a token grant (single-flight tests).
    pub fn delay_answers(&self, delay: Duration) {
        self.inner().delay = delay;
    }
    /// The script the next device code issued plays.
    pub fn script_device(&self, script: Vec<DeviceStep>) {
        self.inner().next_device_script = Some(script);
    }
    /// A refresh token it accepts (as if issued earlier).
    pub fn add_refresh_token(&self, token: &str) {
        self.inner().refresh_tokens.insert(token.into());
    }
    /// Revoke a refresh token.
    pub fn revoke_refresh_token(&self, token: &str) {
        self.inner().refresh_tokens.remove(token);
    }
    /// A GitHub token `/exchange` accepts.
    pub fn add_github_token(&self, token: &str) {
        self.inner().github_tokens.insert(token.into());
    }
    /// Token answers carry `resource_url` with this value (Qwen's API base).
    pub fn set_resource_url(&self, url: &str) {
        self.inner().resource_url = Some(url.into());
    }
    /// The `endpoints.api` URL `/exchange` answers with.
    pub fn set_api_url(&self, url: &str) {
        self.inner().api_url = url.into();
    }

    /// What a browser does with `authorize_url`: open it and follow the redirect
    /// (without fetching the redirect target). The `Location` it was sent to, or the
    /// status and body of the error page.
    pub async fn browse(authorize_url: &str) -> Result<String, (u16, String)> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let answer = client.get(authorize_url).send().await.unwrap();
        let status = answer.status().as_u16();
        if status == 302 {
            Ok(answer.headers()["location"].to_str().unwrap().to_owned())
        } else {
            Err((status, answer.text().await.unwrap_or_default()))
        }
    }
}

/// base64url without padding.
fn b64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// An unsigned JWT with an email and a namespaced claim (as OpenAI's id token has).
fn id_token(email: &str) -> String {
    let header = b64url(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = json!({
        "email": email,
        "https://api.openai.com/auth": {"chatgpt_account_id": "acct-mock-1"},
    });
    let payload = b64url(claims.to_string().as_bytes());
    format!("{header}.{payload}.mock-signature")
}

/// An OAuth error answer.
fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}

/// A token call's fields, from a form or a JSON body (values as text).
fn fields(headers: &HeaderMap, body: &[u8]) -> BTreeMap<String, String> {
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
            return BTreeMap::new();
        };
        object
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect()
    } else {
        let query = String::from_utf8_lossy(body);
        reqwest::Url::parse(&format!("http://form.invalid/?{query}"))
            .map(|url| url.query_pairs().into_owned().collect())
            .unwrap_or_default()
    }
}

/// Whether `uri` is a redirect the config allows.
fn redirect_allowed(rule: &RedirectRule, uri: &str) -> bool {
    match rule {
        RedirectRule::Exact(allowed) => allowed.iter().any(|a| a == uri),
        RedirectRule::AnyLoopback => reqwest::Url::parse(uri).is_ok_and(|url| {
            url.scheme() == "http"
                && matches!(url.host_str(), Some("127.0.0.1" | "localhost"))
                && url.port().is_some()
        }),
    }
}

/// `GET /authorize`: checks the client, the redirect URI, `response_type=code`, a
/// state, and (PKCE required) `code_challenge` with `code_challenge_method=S256`, as
/// auth.openai.com and claude.ai do; an unknown client or redirect is an error page,
/// never a redirect (RFC 6749 §4.1.2.1).
async fn authorize(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let config = &shared.config;
    let mut inner = shared.inner.lock().unwrap();
    inner.last_headers = Some(headers);
    let param = |name: &str| params.get(name).map(String::as_str).unwrap_or("");
    if param("client_id") != config.client_id {
        return (StatusCode::BAD_REQUEST, "invalid_client: unknown client_id").into_response();
    }
    let redirect_uri = param("redirect_uri").to_owned();
    if !redirect_allowed(&config.redirect, &redirect_uri) {
        return (
            StatusCode::BAD_REQUEST,
            "invalid_request: redirect_uri not registered",
        )
            .into_response();
    }
    let state = param("state").to_owned();
    let problem = if param("response_type") != "code" {
        Some("unsupported_response_type")
    } else if state.is_empty() {
        Some("invalid_request: state missing")
    } else if config.require_pkce
        && (param("code_challenge").is_empty() || param("code_challenge_method") != "S256")
    {
        Some("invalid_request: PKCE S256 required")
    } else {
        None
    };
    if let Some(problem) = problem {
        return (StatusCode::BAD_REQUEST, problem).into_response();
    }
    let mut target = reqwest::Url::parse(&redirect_uri).unwrap();
    if inner.deny {
        target
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_description", "The user denied the request")
            .append_pair("state", &state);
    } else {
        let code = inner.next("mock-code");
        let challenge = params.get("code_challenge").cloned().map(|c| {
            if inner.tamper_challenge {
                format!("{c}-tampered")
            } else {
                c
            }
        });
        inner.codes.insert(
            code.clone(),
            IssuedCode {
                client_id: config.client_id.clone(),
                redirect_uri,
                challenge,
                used: false,
            },
        );
        inner.counts.authorize += 1;
        target
            .query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &state);
    }
    (StatusCode::FOUND, [("location", target.to_string())]).into_response()
}

/// Issue tokens: an access token always, a refresh token when `with_refresh`.
fn tokens(inner: &mut Inner, config: &MockConfig, with_refresh: bool, id: bool) -> Value {
    let access = inner.next("mock-at");
    inner.issued_access.push(access.clone());
    let mut answer = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": config.token_lifetime_s,
    });
    if with_refresh {
        let refresh = inner.next("mock-rt");
        inner.issued_refresh.push(refresh.clone());
        inner.refresh_tokens.insert(refresh.clone());
        answer["refresh_token"] = json!(refresh);
    }
    if id {
        answer["id_token"] = json!(id_token("user@example.com"));
    }
    if let Some(resource_url) = &inner.resource_url {
        answer["resource_url"] = json!(resource_url);
    }
    answer
}

/// `POST /token` (form or JSON): the three grants. The client is checked first
/// (401 `invalid_client`), then the grant.
async fn token(
    State(shared): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let config = shared.config.clone();
    let fields = fields(&headers, &body);
    let delay = {
        let mut inner = shared.inner.lock().unwrap();
        inner.last_headers = Some(headers);
        inner.last_body = Some(fields.clone());
        inner.delay
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
    let mut inner = shared.inner.lock().unwrap();
    match field("grant_type") {
        "authorization_code" => inner.counts.authorization_code += 1,
        "refresh_token" => inner.counts.refresh_token += 1,
        "urn:ietf:params:oauth:grant-type:device_code" => inner.counts.device_code += 1,
        _ => {}
    }
    if field("client_id") != config.client_id
        || config
            .client_secret
            .as_deref()
            .is_some_and(|secret| field("client_secret") != secret)
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    match field("grant_type") {
        "authorization_code" => {
            // A code is single use: burnt on first presentation, whatever follows.
            let Some(issued) = inner.codes.get_mut(field("code")) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown code");
            };
            if issued.used {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "code already used",
                );
            }
            issued.used = true;
            if issued.client_id != field("client_id") {
                return oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "code issued to another client",
                );
            }
            if issued.redirect_uri != field("redirect_uri") {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "redirect_uri differs from the authorized one",
                );
            }
            if let Some(challenge) = &issued.challenge {
                let verifier = field("code_verifier");
                if !(43..=128).contains(&verifier.len())
                    || b64url(&Sha256::digest(verifier.as_bytes())) != *challenge
                {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "code_verifier does not match",
                    );
                }
            }
            let answer = tokens(&mut inner, &config, true, true);
            axum::Json(answer).into_response()
        }
        "refresh_token" => {
            let presented = field("refresh_token").to_owned();
            if inner.refresh_unavailable {
                return oauth_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "try later",
                );
            }
            if !inner.refresh_tokens.contains(&presented) {
                let description = if inner.echo_refresh_token {
                    format!("refresh token {presented} is not valid")
                } else {
                    "refresh token is not valid".to_owned()
                };
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", &description);
            }
            if config.rotate_refresh {
                inner.refresh_tokens.remove(&presented);
            }
            let answer = tokens(&mut inner, &config, config.rotate_refresh, false);
            axum::Json(answer).into_response()
        }
        "urn:ietf:params:oauth:grant-type:device_code" => device_poll(
            &mut inner,
            &config,
            field("device_code"),
            field("code_verifier"),
        ),
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "unknown grant_type",
        ),
    }
}

/// A device poll (RFC 8628 §3.4/3.5): a poll sooner than the interval is `slow_down`
/// and the interval grows by 5 s; then the script's next step.
fn device_poll(
    inner: &mut Inner,
    config: &MockConfig,
    device_code: &str,
    verifier: &str,
) -> Response {
    let Some(device) = inner.devices.get_mut(device_code) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "unknown device_code",
        );
    };
    if let Some(challenge) = &device.challenge
        && (!(43..=128).contains(&verifier.len())
            || b64url(&Sha256::digest(verifier.as_bytes())) != *challenge)
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "code_verifier does not match",
        );
    }
    let now = Instant::now();
    if now > device.expires {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "expired_token",
            "the device code expired",
        );
    }
    let early = now.duration_since(device.last_poll) + Duration::from_millis(50) < device.interval;
    device.last_poll = now;
    if early {
        device.interval += Duration::from_secs(5);
        return oauth_error(StatusCode::BAD_REQUEST, "slow_down", "polling too fast");
    }
    let step = if device.script.len() > 1 {
        device.script.remove(0)
    } else {
        device.script[0]
    };
    match step {
        DeviceStep::Pending => oauth_error(
            StatusCode::BAD_REQUEST,
            "authorization_pending",
            "waiting for the user",
        ),
        DeviceStep::SlowDown => {
            device.interval += Duration::from_secs(5);
            oauth_error(StatusCode::BAD_REQUEST, "slow_down", "polling too fast")
        }
        DeviceStep::Expired => oauth_error(
            StatusCode::BAD_REQUEST,
            "expired_token",
            "the device code expired",
        ),
        DeviceStep::Denied => oauth_error(
            StatusCode::BAD_REQUEST,
            "access_denied",
            "the user declined",
        ),
        DeviceStep::Tokens => {
            inner.devices.remove(device_code);
            let answer = tokens(inner, config, true, false);
            if let Some(access) = answer["access_token"].as_str() {
                // A device login's token also passes the exchange (GitHub's shape).
                inner.github_tokens.insert(access.to_owned());
            }
            axum::Json(answer).into_response()
        }
    }
}

/// `POST /device/code` (RFC 8628 §3.1–3.2): checks the client id.
async fn device_start(
    State(shared): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let config = shared.config.clone();
    let fields = fields(&headers, &body);
    let mut inner = shared.inner.lock().unwrap();
    inner.last_headers = Some(headers);
    inner.last_body = Some(fields.clone());
    inner.counts.device_start += 1;
    if fields.get("client_id").map(String::as_str) != Some(config.client_id.as_str()) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client_id",
        );
    }
    let challenge = fields.get("code_challenge").cloned();
    if challenge.is_some()
        && fields.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "code_challenge_method must be S256",
        );
    }
    let device_code = inner.next("mock-dc");
    let user_code = format!("MOCK-{:04}", inner.serial % 10_000);
    let script = inner
        .next_device_script
        .take()
        .unwrap_or_else(|| vec![DeviceStep::Tokens]);
    let interval = Duration::from_secs(config.device_interval_s);
    inner.devices.insert(
        device_code.clone(),
        DeviceAuth {
            script,
            challenge,
            interval,
            last_poll: Instant::now(),
            expires: Instant::now() + Duration::from_secs(config.device_expires_in_s),
        },
    );
    let base = inner.api_url.trim_end_matches("/api").to_owned();
    axum::Json(json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": format!("{base}/device"),
        "verification_uri_complete": format!("{base}/device?user_code={user_code}"),
        "expires_in": config.device_expires_in_s,
        "interval": config.device_interval_s,
    }))
    .into_response()
}

/// `GET /exchange`: Copilot's `copilot_internal/v2/token` shape. Requires
/// `Authorization: token <github token>` (the word `token`, not `Bearer`); 401 else.
/// `GET /api/whoami`: what `test-oauth`'s account setup asks. Only a bearer token this
/// server issued gets `{"project": "proj-from-whoami"}`; anything else a 401.
async fn whoami(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let mut inner = shared.inner.lock().unwrap();
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    inner.last_headers = Some(headers);
    if bearer.is_some_and(|token| inner.issued_access.contains(&token)) {
        axum::Json(json!({"project": "proj-from-whoami"})).into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": {"code": 401, "message": "not signed in"}})),
        )
            .into_response()
    }
}

async fn exchange(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let mut inner = shared.inner.lock().unwrap();
    inner.counts.exchange += 1;
    let presented = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("token "))
        .map(str::to_owned);
    inner.last_headers = Some(headers);
    let Some(presented) = presented.filter(|token| inner.github_tokens.contains(token)) else {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})),
        )
            .into_response();
    };
    let _ = presented;
    let token = inner.next("tid=mock;exp");
    inner.issued_access.push(token.clone());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    axum::Json(json!({
        "token": token,
        "expires_at": now + 1800,
        "refresh_in": 1500,
        "endpoints": {"api": inner.api_url},
    }))
    .into_response()
}

/// RFC 3339 for `offset_s` seconds from now (negative: in the past).
pub fn at(offset_s: i64) -> String {
    let now = std::time::SystemTime::now();
    let delta = Duration::from_secs(offset_s.unsigned_abs());
    let then = if offset_s < 0 {
        now - delta
    } else {
        now + delta
    };
    plugboard::accounts::file::format_rfc3339(then, false)
}

/// Write a Plugboard account file of `kind` into `dir` (created when absent), with
/// `extra` keys.
pub fn account(
    dir: &std::path::Path,
    id: &str,
    kind: &str,
    access: &str,
    refresh: Option<&str>,
    expires: &str,
    extra: Value,
) {
    let mut file = json!({
        "plugboard": 1,
        "type": kind,
        "email": format!("{id}@example.com"),
        "access_token": access,
        "expired": expires,
    });
    if let Some(refresh) = refresh {
        file["refresh_token"] = refresh.into();
    }
    if let Value::Object(extra) = extra {
        file.as_object_mut().unwrap().extend(extra);
    }
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join(format!("{id}.json")),
        serde_json::to_vec_pretty(&file).unwrap(),
    )
    .unwrap();
}

/// How a `plugboard login … --no-browser` run ended.
pub struct PastedLogin {
    /// The authorize URL it printed.
    pub url: String,
    /// Exit status was success.
    pub ok: bool,
    /// Its stdout.
    pub stdout: String,
    /// Everything it printed (stdout, then stderr).
    pub printed: String,
}

impl PastedLogin {
    /// The account id of its "logged in: account `ID` …" line.
    pub fn account_id(&self) -> String {
        self.stdout
            .split("logged in: account `")
            .nth(1)
            .and_then(|rest| rest.split('`').next())
            .unwrap_or_else(|| panic!("no login line in {}", self.printed))
            .to_owned()
    }
}

/// Run `plugboard login ENTRY --no-browser --config CONFIG`: open the URL it prints as
/// a browser would (against this mock) and paste the address the browser ends on.
pub async fn login_by_paste(config: &std::path::Path, entry: &str) -> PastedLogin {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    let mut login = Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(["login", entry, "--no-browser", "--config"])
        .arg(config)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = login.stderr.take().unwrap();
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.split("Open this URL to log in: ").nth(1) {
                let _ = url_tx.send(url.trim().to_owned());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let url = tokio::task::spawn_blocking(move || url_rx.recv_timeout(Duration::from_secs(60)))
        .await
        .unwrap()
        .expect("the login printed its URL");
    let redirect = MockOAuth::browse(&url)
        .await
        .expect("the login page approves");
    login
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{redirect}\n").as_bytes())
        .unwrap();
    let output = tokio::task::spawn_blocking(move || login.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let printed = format!("{stdout}{}", reader.join().unwrap());
    PastedLogin {
        url,
        ok: output.status.success(),
        stdout,
        printed,
    }
}
