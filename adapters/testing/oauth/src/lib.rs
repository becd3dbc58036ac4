//! Test provider `test-oauth`: one credential kind per flow the host runs, every
//! endpoint pointing at a closed port until a test's config points it at the scripted
//! OAuth server (`host/tests/oauth_support`):
//!
//! - `pkce`: authorization code with PKCE, redirect `http://127.0.0.1:0/callback`
//!   (port 0: the host binds an ephemeral port), form exchange at `token`, a rotating
//!   refresh 60 s before expiry, bearer;
//! - `device`: RFC 8628 device code (`device` then `token`), a non-rotating refresh,
//!   bearer;
//! - `github`: a key the operator supplies, exchanged (`GET exchange` presenting
//!   `Authorization: token <key>`) for a short-lived token at `/token`, expiring at
//!   `/expires_at`, with the account's base URL at `/endpoints/api`, bearer;
//! - `api-key`: a plain key, bearer.
//!
//! Requests are OpenAI-style: `POST {base}/v1/chat/completions` with the model and the
//! messages' text, answered with one JSON completion whose `choices[0].message.content`
//! becomes the text; a 401 is `auth-expired`, so the host refreshes and retries.

use plugboard_sdk::prelude::*;

/// The component's id.
pub const ID: &str = "test-oauth";
/// The OAuth client the kinds declare (the scripted server is told the same).
pub const CLIENT_ID: &str = "test-oauth-client";
/// The scopes the kinds ask for.
pub const SCOPES: [&str; 2] = ["openid", "offline_access"];

/// The component.
pub struct TestOAuth;

impl Provider for TestOAuth {
    type Call = OAuthCall;

    fn info() -> AdapterInfo {
        AdapterInfo::new(
            ID,
            env!("CARGO_PKG_VERSION"),
            "credential kinds run against a scripted OAuth server",
        )
        .credential_kind(pkce())
        .credential_kind(pkce_with_setup())
        .credential_kind(device())
        .credential_kind(github())
        .credential_kind(CredentialKind::api_key("api-key", Placement::bearer()))
        .base("http://127.0.0.1:9")
        .browser_endpoint(Endpoint::new(
            "authorize",
            "http://127.0.0.1:9/authorize",
            "the login page",
        ))
        .endpoint(Endpoint::new(
            "token",
            "http://127.0.0.1:9/token",
            "code exchange, device poll and refresh",
        ))
        .endpoint(Endpoint::new(
            "device",
            "http://127.0.0.1:9/device/code",
            "device authorization",
        ))
        .endpoint(Endpoint::new(
            "exchange",
            "http://127.0.0.1:9/exchange",
            "token exchange",
        ))
    }

    /// One request (`GET {base}/whoami`, answered `{"project": ...}`), then done with
    /// `project-id` and the id token's `email`.
    fn account_setup(ctx: SetupContext) -> Result<SetupStep, AdapterError> {
        let Some(answer) = ctx.answers.first() else {
            let base = ctx.endpoint("base").unwrap_or_default();
            return Ok(SetupStep::Send(SetupRequest {
                request: HttpRequest::get(format!("{base}/whoami")),
                delay_ms: 0,
            }));
        };
        if answer.status != 200 {
            return Err(AdapterError::upstream(format!(
                "whoami answered HTTP {}",
                answer.status
            )));
        }
        let whoami = parse_upstream_json(&answer.body, "the whoami answer")?;
        let mut attributes = ctx.attributes.clone();
        if let Some(project) = whoami.get("project").and_then(Value::as_str) {
            attributes.push(("project-id".into(), project.into()));
        }
        let claims: Option<Value> = ctx
            .id_token_claims
            .as_deref()
            .and_then(|claims| parse_ir_json(claims, "the id token's claims").ok());
        if let Some(email) = claims
            .as_ref()
            .and_then(|c| c.get("email"))
            .and_then(Value::as_str)
        {
            attributes.push(("email".into(), email.into()));
        }
        Ok(SetupStep::Done(attributes))
    }

    fn call(ctx: CallContext) -> OAuthCall {
        OAuthCall {
            ctx,
            body: Vec::new(),
        }
    }
}

/// Authorization code with PKCE through the browser, refresh token rotating.
fn pkce() -> CredentialKind {
    let login = AuthorizationCodeSpec::pkce("authorize", "token", CLIENT_ID)
        .scopes(&SCOPES)
        .redirect("127.0.0.1", 0, "/callback")
        .answer(TokenAnswer::oauth().with_id_token());
    CredentialKind::new(
        "pkce",
        "A browser login (authorization code with PKCE)",
        Placement::bearer(),
        Obtain::AuthorizationCode(login),
    )
    .refresh(RefreshSpec::refresh_token("token", 60).rotating())
}

/// [`pkce`] plus an account setup: the project the account may use is asked of
/// `GET {base}/whoami`, and the email taken from the id token's claims.
fn pkce_with_setup() -> CredentialKind {
    let mut kind = pkce();
    kind.id = "setup".into();
    kind.description = "A browser login, then an account setup".into();
    kind.with_setup()
}

/// RFC 8628 device code, refresh token kept.
fn device() -> CredentialKind {
    let login = DeviceCodeSpec::rfc8628("device", "token", CLIENT_ID).scopes(&SCOPES);
    CredentialKind::new(
        "device",
        "A device-code login",
        Placement::bearer(),
        Obtain::DeviceCode(login),
    )
    .refresh(RefreshSpec::refresh_token("token", 60))
}

/// A GitHub-style key exchanged for a short-lived token (Copilot's shape).
fn github() -> CredentialKind {
    let mut exchange = ExchangeSpec::get(
        "exchange",
        Placement::header_with_prefix("authorization", "token "),
        60,
    );
    exchange.answer.base_url = Some("/endpoints/api".into());
    CredentialKind::new(
        "github",
        "A GitHub token, exchanged for a short-lived one",
        Placement::bearer(),
        Obtain::Key,
    )
    .exchange(exchange)
}

/// One attempt: its context and the body read so far.
pub struct OAuthCall {
    ctx: CallContext,
    body: Vec<u8>,
}

impl Call for OAuthCall {
    fn encode(&mut self, request: ChatRequest) -> Result<HttpRequest, AdapterError> {
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|message| json!({"role": message.role.as_str(), "content": message.joined_text()}))
            .collect();
        let body = json!({"model": self.ctx.model, "messages": messages});
        Ok(self
            .ctx
            .post_json("/v1/chat/completions", to_json_bytes(&body), false))
    }

    fn respond(&mut self, _head: ResponseHead, _streaming: bool) {}

    fn decode(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        self.body.extend_from_slice(chunk);
        Ok(Vec::new())
    }

    fn decode_end(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
        let answer = parse_upstream_json(&self.body, "chat completion")?;
        let text = answer
            .pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .ok_or_else(|| AdapterError::upstream("no choices[0].message.content"))?;
        let mut writer = EventWriter::new();
        writer.text(text);
        writer.finish(Finish::new(FinishReason::Stop, None, Usage::default()));
        Ok(writer.take())
    }

    fn classify_error(&mut self, head: ResponseHead, body: Vec<u8>) -> UpstreamError {
        if head.status == 401 {
            UpstreamError::new(ErrorClass::AuthExpired, "status 401")
        } else {
            classify_by_status(&head, &body)
        }
    }
}

export_provider!(TestOAuth);
