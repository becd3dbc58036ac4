//! The host's runner of declared credential specs against a strict scripted OAuth
//! server (`oauth_support`): the specs are the real declarations of the `test-oauth`
//! component, read through the runtime. Stories: PKCE login by paste and by an opened
//! browser, a tampered verifier, device code (pending, slow down, expired, denied),
//! refresh with rotation and its failures, token exchange, redaction.

mod oauth_support;
mod runtime_fixtures;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use oauth_support::{DeviceStep, MockConfig, MockOAuth};
use plugboard::accounts::oauth::{self, BrowserMode, FlowEnv, FlowError, PastedLine};
use plugboard::credentials::Secret;
use plugboard::runtime::spec;
use runtime_fixtures::{adapters_dir, runtime};

/// The credential kinds `test-oauth` declares.
async fn kinds() -> Vec<spec::CredentialKind> {
    let dir = adapters_dir(&["test-adapters/test-oauth.wasm"]);
    let runtime = runtime();
    let refused = runtime.load_dir(dir.path()).await.unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    let registry = runtime.registry();
    let provider = registry.provider("test-oauth").expect("test-oauth loaded");
    provider
        .info
        .credential_kinds
        .iter()
        .map(|kind| kind.declared.clone())
        .collect()
}

async fn kind(id: &str) -> spec::CredentialKind {
    kinds()
        .await
        .into_iter()
        .find(|kind| kind.id == id)
        .unwrap_or_else(|| panic!("test-oauth declares `{id}`"))
}

fn pkce_spec(kind: &spec::CredentialKind) -> &spec::AuthorizationCodeSpec {
    match &kind.obtain {
        spec::Obtain::AuthorizationCode(login) => login,
        other => panic!("not a browser login: {other:?}"),
    }
}

fn device_spec(kind: &spec::CredentialKind) -> &spec::DeviceCodeSpec {
    match &kind.obtain {
        spec::Obtain::DeviceCode(login) => login,
        other => panic!("not a device login: {other:?}"),
    }
}

/// What a flow needs, pointed at the mock.
struct Env {
    http: reqwest::Client,
    endpoints: Vec<(String, String)>,
    none: BTreeMap<String, String>,
}

impl Env {
    fn new(mock: &MockOAuth) -> Env {
        Env {
            http: reqwest::Client::new(),
            endpoints: mock.endpoints(),
            none: BTreeMap::new(),
        }
    }
    fn flow(&self) -> FlowEnv<'_> {
        FlowEnv {
            http: &self.http,
            endpoints: &self.endpoints,
            inputs: &self.none,
            attributes: &self.none,
            timeout: Duration::from_secs(10),
        }
    }
}

/// A user who opens the authorize URL, logs in, and pastes the address the browser
/// ends on.
struct PastesRedirect;

impl PastedLine for PastesRedirect {
    async fn read_line(self, authorize_url: &str) -> Result<String, FlowError> {
        let location = MockOAuth::browse(authorize_url)
            .await
            .unwrap_or_else(|(status, page)| panic!("the login page refused: {status} {page}"));
        Ok(format!("{location}\n"))
    }
}

/// A user who pastes Claude's `code#state` form, taken from the redirect.
struct PastesCodeAndState;

impl PastedLine for PastesCodeAndState {
    async fn read_line(self, authorize_url: &str) -> Result<String, FlowError> {
        let location = MockOAuth::browse(authorize_url).await.unwrap();
        let url = reqwest::Url::parse(&location).unwrap();
        let pairs: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        Ok(format!("{}#{}", pairs["code"], pairs["state"]))
    }
}

/// Log in with the `pkce` kind by pasting the redirect.
async fn pkce_login(mock: &MockOAuth, env: &Env) -> oauth::LoginOutcome {
    let kind = kind("pkce").await;
    let outcome = oauth::authorization_code_with_input(
        &env.flow(),
        pkce_spec(&kind),
        BrowserMode::Paste,
        PastesRedirect,
    )
    .await
    .expect("login");
    assert_eq!(mock.counts().authorization_code, 1);
    outcome
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pkce_login_by_pasted_redirect_gives_tokens_and_id_token_claims() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let env = Env::new(&mock);

    let outcome = pkce_login(&mock, &env).await;

    assert_eq!(outcome.granted.access.expose(), mock.issued_access()[0]);
    assert_eq!(
        outcome.granted.refresh.as_ref().unwrap().expose(),
        mock.issued_refresh()[0]
    );
    let left = outcome
        .granted
        .expires_at
        .unwrap()
        .duration_since(SystemTime::now())
        .unwrap();
    assert!(left > Duration::from_secs(3000), "{left:?}");
    let claims = outcome.id_token_claims.expect("claims");
    assert_eq!(claims["email"], "user@example.com");
    assert_eq!(
        claims["https://api.openai.com/auth"]["chatgpt_account_id"],
        "acct-mock-1"
    );
    assert!(outcome.client.is_none());
    // The exchange sent a form with the S256 verifier, and said who it is.
    let sent = mock.last_body();
    assert_eq!(sent["grant_type"], "authorization_code");
    assert!(
        sent["redirect_uri"].starts_with("http://127.0.0.1:"),
        "{sent:?}"
    );
    assert!(sent["redirect_uri"].ends_with("/callback"));
    assert!(
        !sent["redirect_uri"].starts_with("http://127.0.0.1:0/"),
        "port 0 became a real port"
    );
    let headers = mock.last_headers();
    assert_eq!(headers["content-type"], "application/x-www-form-urlencoded");
    assert_eq!(headers["accept"], "application/json");
    assert!(
        headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("plugboard/")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pasted_code_and_state_logs_in_and_a_foreign_state_exchanges_nothing() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let env = Env::new(&mock);
    let kind = kind("pkce").await;
    let login = pkce_spec(&kind);

    let outcome = oauth::authorization_code_with_input(
        &env.flow(),
        login,
        BrowserMode::Paste,
        PastesCodeAndState,
    )
    .await;
    assert!(outcome.is_ok(), "{outcome:?}");

    let forged = "http://127.0.0.1:1/callback?code=stolen&state=not-this-login\n";
    let refused = oauth::authorization_code_with_input(
        &env.flow(),
        login,
        BrowserMode::Paste,
        forged.as_bytes(),
    )
    .await;
    assert!(matches!(refused, Err(FlowError::Invalid(_))), "{refused:?}");
    assert_eq!(
        mock.counts().authorization_code,
        1,
        "nothing more was exchanged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_code_whose_verifier_does_not_match_is_refused() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    mock.tamper_challenge(true);
    let env = Env::new(&mock);
    let kind = kind("pkce").await;

    let refused = oauth::authorization_code_with_input(
        &env.flow(),
        pkce_spec(&kind),
        BrowserMode::Paste,
        PastesRedirect,
    )
    .await;

    match refused {
        Err(FlowError::Rejected { code, .. }) => assert_eq!(code, "invalid_grant"),
        other => panic!("expected invalid_grant, got {other:?}"),
    }
    assert!(mock.issued_access().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_browser_login_is_denied() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    mock.deny_logins(true);
    let env = Env::new(&mock);
    let kind = kind("pkce").await;

    let denied = oauth::authorization_code_with_input(
        &env.flow(),
        pkce_spec(&kind),
        BrowserMode::Paste,
        PastesRedirect,
    )
    .await;

    assert!(matches!(denied, Err(FlowError::Denied)), "{denied:?}");
    assert_eq!(mock.counts().authorization_code, 0);
}

/// The `Open` story runs in a child process of this test binary, with `BROWSER` set
/// from its start (setting it here would race the other tests' threads).
#[test]
fn an_opened_browser_login_comes_back_through_the_loopback_listener() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("browser.sh");
    // A browser: follows the login page's redirect, but first sends a forged
    // callback (wrong state), which must be answered 400 without ending the login.
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             redirect=$(curl -s -o /dev/null -w '%{{redirect_url}}' \"$1\")\n\
             curl -s -o /dev/null -w '%{{http_code}}' \"${{redirect%state=*}}state=forged\" > {dir}/forged\n\
             curl -s -L \"$1\" > {dir}/page\n",
            dir = dir.path().display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "open_mode_in_child_process",
            "--ignored",
            "--nocapture",
        ])
        .env("BROWSER", &script)
        .env("OAUTH_TEST_DIR", dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "the child story failed");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("forged")).unwrap(),
        "400"
    );
    let page = std::fs::read_to_string(dir.path().join("page")).unwrap();
    assert!(page.contains("You can close this tab"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "run by an_opened_browser_login_comes_back_through_the_loopback_listener with BROWSER set"]
async fn open_mode_in_child_process() {
    assert!(
        std::env::var("BROWSER").is_ok(),
        "BROWSER is set by the parent"
    );
    let mock = MockOAuth::start(MockConfig::default()).await;
    let env = Env::new(&mock);
    let kind = kind("pkce").await;

    let outcome = oauth::authorization_code(&env.flow(), pkce_spec(&kind), BrowserMode::Open)
        .await
        .expect("login through the browser");

    assert_eq!(outcome.granted.access.expose(), mock.issued_access()[0]);
    assert_eq!(
        mock.counts().authorize,
        2,
        "the forging browser opened the page twice"
    );
    assert_eq!(mock.counts().authorization_code, 1);
    // Give the browser its page before the listener stops.
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_login_waits_through_pending_and_slows_down_when_told() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    mock.script_device(vec![
        DeviceStep::Pending,
        DeviceStep::SlowDown,
        DeviceStep::Tokens,
    ]);
    let env = Env::new(&mock);
    let kind = kind("device").await;

    let outcome = oauth::device_code(&env.flow(), device_spec(&kind))
        .await
        .expect("device login");

    assert_eq!(outcome.granted.access.expose(), mock.issued_access()[0]);
    assert!(outcome.granted.refresh.is_some());
    // Three polls: had it polled sooner than the grown interval, the mock would have
    // answered slow_down again and counted more.
    assert_eq!(mock.counts().device_code, 3);
    assert_eq!(mock.counts().device_start, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_login_ends_when_the_code_expires_or_the_user_declines() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let env = Env::new(&mock);
    let kind = kind("device").await;
    let login = device_spec(&kind);

    mock.script_device(vec![DeviceStep::Pending, DeviceStep::Expired]);
    let expired = oauth::device_code(&env.flow(), login).await;
    assert!(matches!(expired, Err(FlowError::Expired)), "{expired:?}");

    mock.script_device(vec![DeviceStep::Denied]);
    let denied = oauth::device_code(&env.flow(), login).await;
    assert!(matches!(denied, Err(FlowError::Denied)), "{denied:?}");
    assert!(mock.issued_access().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_login_stops_polling_when_its_code_runs_out() {
    let mock = MockOAuth::start(MockConfig {
        device_expires_in_s: 2,
        ..MockConfig::default()
    })
    .await;
    mock.script_device(vec![DeviceStep::Pending]);
    let env = Env::new(&mock);
    let kind = kind("device").await;

    let expired = oauth::device_code(&env.flow(), device_spec(&kind)).await;

    assert!(matches!(expired, Err(FlowError::Expired)), "{expired:?}");
    assert!(mock.counts().device_code <= 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotating_refresh_gives_a_new_refresh_token_and_the_old_one_is_refused() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let env = Env::new(&mock);
    let first = pkce_login(&mock, &env).await.granted;
    let kind = kind("pkce").await;
    let refresh = kind.refresh.as_ref().expect("pkce refreshes");
    assert!(refresh.rotates);
    let old = first.refresh.unwrap();

    let renewed = oauth::refresh(&env.flow(), &kind, refresh, None, &old)
        .await
        .expect("refresh");

    let new = renewed
        .refresh
        .expect("a rotating refresh answers a new refresh token");
    assert_ne!(new.expose(), old.expose());
    assert_ne!(renewed.access.expose(), first.access.expose());
    assert_eq!(mock.last_body()["client_id"], "test-oauth-client");

    let reused = oauth::refresh(&env.flow(), &kind, refresh, None, &old).await;
    assert!(
        matches!(&reused, Err(FlowError::Rejected { code, .. }) if code == "invalid_grant"),
        "{reused:?}"
    );
    let again = oauth::refresh(&env.flow(), &kind, refresh, None, &new).await;
    assert!(again.is_ok(), "the new one works: {again:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_rotating_refresh_keeps_the_refresh_token_and_a_down_server_is_transient() {
    let mock = MockOAuth::start(MockConfig {
        rotate_refresh: false,
        ..MockConfig::default()
    })
    .await;
    mock.add_refresh_token("rt-device-account-0001");
    let env = Env::new(&mock);
    let kind = kind("device").await;
    let refresh = kind.refresh.as_ref().unwrap();
    let held = Secret::new("rt-device-account-0001");

    let renewed = oauth::refresh(&env.flow(), &kind, refresh, None, &held)
        .await
        .unwrap();
    assert!(
        renewed.refresh.is_none(),
        "the caller keeps the one it holds"
    );

    mock.refresh_unavailable(true);
    let down = oauth::refresh(&env.flow(), &kind, refresh, None, &held).await;
    assert!(matches!(down, Err(FlowError::Transient(_))), "{down:?}");

    mock.refresh_unavailable(false);
    mock.revoke_refresh_token("rt-device-account-0001");
    let revoked = oauth::refresh(&env.flow(), &kind, refresh, None, &held).await;
    assert!(
        matches!(revoked, Err(FlowError::Rejected { .. })),
        "{revoked:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_token_echoed_by_the_server_never_reaches_the_error() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    mock.echo_refresh_token(true);
    let env = Env::new(&mock);
    let kind = kind("pkce").await;
    let unknown = Secret::new("rt-never-issued-secret-42");

    let refused = oauth::refresh(
        &env.flow(),
        &kind,
        kind.refresh.as_ref().unwrap(),
        None,
        &unknown,
    )
    .await;

    let error = refused.expect_err("an unknown refresh token is refused");
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("rt-never-issued-secret-42"), "{shown}");
    assert!(
        shown.contains("[redacted]"),
        "the echo was there, redacted: {shown}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_github_token_is_exchanged_for_a_short_lived_one_with_its_base_url() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    mock.add_github_token("ghu_mockGithubToken0001");
    mock.set_api_url("https://api.individual.mock");
    let env = Env::new(&mock);
    let kind = kind("github").await;
    let exchange = kind.exchange.as_ref().expect("github exchanges");

    let granted = oauth::exchange(
        &env.flow(),
        exchange,
        &Secret::new("ghu_mockGithubToken0001"),
    )
    .await
    .expect("exchange");

    assert_eq!(granted.access.expose(), mock.issued_access()[0]);
    assert_eq!(
        granted.base_url.as_deref(),
        Some("https://api.individual.mock")
    );
    let left = granted
        .expires_at
        .unwrap()
        .duration_since(SystemTime::now())
        .unwrap();
    assert!(
        left > Duration::from_secs(1700) && left <= Duration::from_secs(1800),
        "{left:?}"
    );
    assert_eq!(
        mock.last_headers()["authorization"],
        "token ghu_mockGithubToken0001"
    );

    let refused = oauth::exchange(
        &env.flow(),
        exchange,
        &Secret::new("ghu_revokedToken000002"),
    )
    .await;
    match refused {
        Err(FlowError::Rejected { code, message }) => {
            assert_eq!(code, "401");
            assert!(!message.contains("ghu_revokedToken000002"));
        }
        other => panic!("expected a 401 refusal, got {other:?}"),
    }
    assert_eq!(mock.counts().exchange, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_endpoint_name_is_invalid_and_nothing_is_sent() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let env = Env {
        endpoints: vec![("base".into(), mock.url("/api"))],
        ..Env::new(&mock)
    };
    let kind = kind("device").await;

    let invalid = oauth::device_code(&env.flow(), device_spec(&kind)).await;

    assert!(
        matches!(&invalid, Err(FlowError::Invalid(m)) if m.contains("`device`")),
        "{invalid:?}"
    );
    assert_eq!(mock.counts().device_start, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_json_code_exchange_in_claudes_shape_is_sent_as_json_with_the_state() {
    let mock = MockOAuth::start(MockConfig::default()).await;
    let env = Env::new(&mock);
    let kind = kind("pkce").await;
    let mut login = pkce_spec(&kind).clone();
    login.exchange.encoding = spec::BodyEncoding::Json;
    login
        .exchange
        .fields
        .push(("state".into(), spec::TokenValue::State));

    let outcome = oauth::authorization_code_with_input(
        &env.flow(),
        &login,
        BrowserMode::Paste,
        PastesCodeAndState,
    )
    .await
    .expect("login");

    assert_eq!(outcome.granted.access.expose(), mock.issued_access()[0]);
    assert_eq!(mock.last_headers()["content-type"], "application/json");
    let sent = mock.last_body();
    assert_eq!(sent["grant_type"], "authorization_code");
    assert_eq!(sent["state"].len(), 32, "16 random bytes in hex");
    assert!(sent["code_verifier"].len() >= 43);
}
