//! Provider adapter `codex`: a ChatGPT Plus/Pro/Team subscription through the Codex
//! backend (`https://chatgpt.com/backend-api/codex`), which speaks the OpenAI Responses
//! wire with rules of its own.
//!
//! The translation is the `openai-responses` adapter's, reused as a library:
//! [`body`] applies the backend's body rules to what it builds (and to a Responses
//! client's own body in passthrough), [`errors`] reads the backend's failures (its
//! usage limits), [`collect`] serves a Responses client that did not ask for a stream
//! (the backend always streams). This file declares the adapter, its login, its account
//! setup and the call.
//!
//! Identity: the request carries what the backend needs (the bearer token, the
//! `chatgpt-account-id`) and the client's own identifying headers when the client sent
//! them ([`FORWARDED_CLIENT_HEADERS`]); Plugboard adds no `originator`, no Codex
//! `User-Agent` and no Codex system prompt of its own.

pub mod body;
pub mod collect;
pub mod errors;

use adapter_openai_responses::decode::{ResponsesDecoder, ResponsesState};
use plugboard_sdk::prelude::*;

use crate::collect::DocumentCollector;

/// The adapter id config refers to.
pub const ID: &str = "codex";
/// The credential kind of a ChatGPT subscription account (CLIProxyAPI's `codex` files
/// import as it).
pub const CODEX: &str = "codex";
/// The default `base` endpoint.
pub const DEFAULT_BASE_URL: &str = "https://chatgpt.com/backend-api/codex";
/// The login page (opened by the user's browser only).
pub const AUTHORIZE_URL: &str = "https://auth.openai.com/oauth/authorize";
/// Code exchange and refresh.
pub const TOKEN_URL: &str = "https://auth.openai.com/oauth/token";
/// Codex CLI's public OAuth client.
pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
/// The scopes a login asks for.
pub const SCOPES: [&str; 4] = ["openid", "email", "profile", "offline_access"];
/// The scope a refresh asks for.
pub const REFRESH_SCOPE: &str = "openid profile email";
/// How long before expiry the access token is refreshed (5 days).
pub const REFRESH_LEAD_S: u32 = 5 * 24 * 3600;
/// The account attribute holding the ChatGPT account (workspace) id, sent as header
/// `chatgpt-account-id`.
pub const ACCOUNT_ID: &str = "chatgpt-account-id";
/// The account attribute holding the plan (`plus`, `pro`, `team`...).
pub const PLAN_TYPE: &str = "chatgpt-plan-type";
/// The id token's claim object holding the ChatGPT account.
pub const AUTH_CLAIM: &str = "https://api.openai.com/auth";
/// Model ids the backend serves (the entry's `models:` may name others).
pub const MODELS: &[&str] = &[
    "gpt-5-codex",
    "gpt-5.1-codex",
    "gpt-5.2-codex",
    "gpt-5.3-codex",
    "gpt-5",
    "gpt-5.1",
    "gpt-5.2",
    "gpt-5.4",
    "gpt-5.4-mini",
];
/// The client's headers sent on as they came, when (and only when) the client sent
/// them: Codex CLI's own identity and session (`originator`, `session_id`, `version`,
/// its `user-agent`...). Plugboard never supplies values for them.
pub const FORWARDED_CLIENT_HEADERS: &[&str] = &[
    "originator",
    "user-agent",
    "version",
    "session_id",
    "session-id",
    "conversation_id",
    "thread-id",
    "openai-beta",
    "x-client-request-id",
    "x-codex-turn-metadata",
    "x-codex-window-id",
    "x-codex-beta-features",
    "x-openai-internal-codex-responses-lite",
];

/// The component.
pub struct Codex;

impl Provider for Codex {
    type Call = CodexCall;

    fn info() -> AdapterInfo {
        let info = AdapterInfo::new(
            ID,
            env!("CARGO_PKG_VERSION"),
            "ChatGPT subscription through the Codex backend (Responses API)",
        )
        .native(Dialect::OpenaiResponses)
        .credential_kind(codex_login())
        .base(DEFAULT_BASE_URL)
        .browser_endpoint(Endpoint::new(
            "authorize",
            AUTHORIZE_URL,
            "ChatGPT login page",
        ))
        .endpoint(Endpoint::new(
            "token",
            TOKEN_URL,
            "ChatGPT OAuth token exchange and refresh",
        ));
        MODELS
            .iter()
            .fold(info, |info, id| info.model(ModelInfo::new(*id)))
    }

    /// Reads the account from the id token's claims; no request.
    fn account_setup(ctx: SetupContext) -> Result<SetupStep, AdapterError> {
        let claims = ctx
            .id_token_claims
            .as_deref()
            .map(|claims| parse_ir_json(claims, "the id token's claims"))
            .transpose()?;
        setup_attributes(ctx.attributes, claims.as_ref()).map(SetupStep::Done)
    }

    fn call(ctx: CallContext) -> CodexCall {
        CodexCall {
            ctx,
            passthrough: None,
            decoder: None,
            collector: DocumentCollector::default(),
            errored: false,
        }
    }
}

/// A ChatGPT login: authorization code with PKCE through the browser (redirect
/// `http://localhost:1455/auth/callback`, as registered for Codex CLI's client), a form
/// exchange answered with an id token, refreshed 5 days before expiry; then the
/// account setup reads the account id from the id token.
fn codex_login() -> CredentialKind {
    let login = AuthorizationCodeSpec::pkce("authorize", "token", CLIENT_ID)
        .scopes(&SCOPES)
        .redirect("localhost", 1455, "/auth/callback")
        .authorize_param("prompt", TokenValue::text("login"))
        .authorize_param("id_token_add_organizations", TokenValue::text("true"))
        .authorize_param("codex_cli_simplified_flow", TokenValue::text("true"))
        .answer(TokenAnswer::oauth().with_id_token());
    CredentialKind::new(
        CODEX,
        "A ChatGPT Plus/Pro/Team subscription, by browser login",
        Placement::bearer(),
        Obtain::AuthorizationCode(login),
    )
    .refresh(
        RefreshSpec::refresh_token("token", REFRESH_LEAD_S)
            .field("scope", TokenValue::text(REFRESH_SCOPE))
            .answer(TokenAnswer::oauth().with_id_token()),
    )
    .with_setup()
}

/// The attributes after a login: `attributes` with [`ACCOUNT_ID`], [`PLAN_TYPE`] and
/// `email` set from the id token's `claims`. Without an account id (in the claims or
/// already on the account) the login cannot serve requests, so it fails.
pub fn setup_attributes(
    mut attributes: Vec<(String, String)>,
    claims: Option<&Value>,
) -> Result<Vec<(String, String)>, AdapterError> {
    let auth = claims.and_then(|claims| claims.get(AUTH_CLAIM));
    let text = |value: Option<&Value>| {
        value
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_string)
    };
    let found = [
        (
            ACCOUNT_ID,
            text(auth.and_then(|a| a.get("chatgpt_account_id"))),
        ),
        (
            PLAN_TYPE,
            text(auth.and_then(|a| a.get("chatgpt_plan_type"))),
        ),
        ("email", text(claims.and_then(|c| c.get("email")))),
    ];
    for (name, value) in found {
        let Some(value) = value else { continue };
        match attributes.iter_mut().find(|(key, _)| key == name) {
            Some(slot) => slot.1 = value,
            None => attributes.push((name.to_string(), value)),
        }
    }
    if !attributes.iter().any(|(key, _)| key == ACCOUNT_ID) {
        return Err(AdapterError::upstream(format!(
            "the ChatGPT login gave no account id (the id token has no `{AUTH_CLAIM}` \
             claim with `chatgpt_account_id`); requests cannot name the account without it"
        )));
    }
    Ok(attributes)
}

/// One attempt: `POST {base}/responses`, always streamed.
pub struct CodexCall {
    ctx: CallContext,
    /// `Some(client_streams)` when the request went out by passthrough.
    passthrough: Option<bool>,
    decoder: Option<ResponsesDecoder>,
    /// Passthrough to a client that wanted one document: the stream, gathered.
    collector: DocumentCollector,
    /// An error event went out already.
    errored: bool,
}

impl CodexCall {
    /// The decoder, started as a 200 event stream if `respond` was not called.
    fn decoder(&mut self) -> &mut ResponsesDecoder {
        if self.decoder.is_none() {
            self.respond(ResponseHead::new(200, &[]), true);
        }
        self.decoder.as_mut().expect("started above")
    }

    /// Passthrough output for what the IR decoder read from `events`: errors (which
    /// the host must see to rest the account) and the finish, nothing else.
    fn accounting(&mut self, events: Vec<StreamEvent>) -> Vec<StreamEvent> {
        let kept: Vec<StreamEvent> = events
            .into_iter()
            .filter(|event| matches!(event, StreamEvent::Error(_) | StreamEvent::Finish(_)))
            .collect();
        self.errored |= kept.iter().any(|e| matches!(e, StreamEvent::Error(_)));
        kept
    }
}

/// The upstream request, built in one place for both paths: the body, an event stream
/// asked for, the account id, and the client's own identifying headers.
pub fn codex_request(ctx: &CallContext, body: Vec<u8>) -> Result<HttpRequest, AdapterError> {
    let account_id = ctx
        .attribute(ACCOUNT_ID)
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            AdapterError::upstream(format!(
                "the codex account `{}` has no `{ACCOUNT_ID}` attribute: log in again \
                 (`plugboard login ENTRY --type codex`) or import its Codex CLI or \
                 CLIProxyAPI file (`plugboard accounts import`)",
                ctx.account.id
            ))
        })?;
    let mut request = ctx
        .post_json("/responses", body, true)
        .with_header(ACCOUNT_ID, account_id);
    for name in FORWARDED_CLIENT_HEADERS {
        if let Some(value) = ctx.client_header(name) {
            request = request.with_header(*name, value);
        }
    }
    Ok(request)
}

impl Call for CodexCall {
    fn encode(&mut self, request: ChatRequest) -> Result<HttpRequest, AdapterError> {
        self.passthrough = None;
        let body = body::from_ir(request, &self.ctx.model)?;
        codex_request(&self.ctx, to_json_bytes(&body))
    }

    /// Passthrough of a Responses client's body: parsed, the [`body`] rules applied
    /// (encrypted reasoning items and unknown fields survive), written again.
    fn encode_native(&mut self, body: Vec<u8>) -> Result<HttpRequest, AdapterError> {
        Dialect::OpenaiResponses.passthrough_only(self.ctx.client_dialect, ID)?;
        let (body, client_streams) = body::from_client(&body, &self.ctx.model)?;
        self.passthrough = Some(client_streams);
        codex_request(&self.ctx, body)
    }

    /// The answer is read as IR events whatever the path, so error frames inside the
    /// 200 stream are classified with [`errors::classify_frame`] on both.
    fn respond(&mut self, _head: ResponseHead, streaming: bool) {
        let state = ResponsesState::with_frame_classifier(errors::classify_frame);
        self.decoder = Some(ResponseDecoder::with_state(
            DecodeMode::ok(streaming),
            state,
        ));
    }

    /// Passthrough to a streaming client forwards each chunk as `raw`, except a chunk
    /// that completes an error frame: then only the classified error goes out (the host
    /// writes the client's error frame and rests the account).
    fn decode(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        let events = self.decoder().push(chunk)?;
        match self.passthrough {
            None => Ok(events),
            Some(true) => {
                let kept = self.accounting(events);
                if kept.is_empty() {
                    Ok(vec![StreamEvent::Raw(chunk.to_vec())])
                } else {
                    Ok(kept)
                }
            }
            Some(false) => {
                self.collector.push(chunk);
                Ok(self.accounting(events))
            }
        }
    }

    fn decode_end(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
        let events = self.decoder().finish()?;
        match self.passthrough {
            None => Ok(events),
            Some(true) => Ok(self.accounting(events)),
            Some(false) => {
                let kept = self.accounting(events);
                let mut out = Vec::new();
                if !self.errored {
                    match self.collector.finish() {
                        Some(document) => out.push(StreamEvent::Raw(document)),
                        None => out.push(StreamEvent::Error(UpstreamError::new(
                            ErrorClass::Other,
                            "the Codex stream ended before response.completed",
                        ))),
                    }
                }
                out.extend(kept);
                Ok(out)
            }
        }
    }

    fn classify_error(&mut self, head: ResponseHead, body: Vec<u8>) -> UpstreamError {
        errors::classify(&head, &body)
    }
}

/// A started call reads like any decoder (for the SDK's `testing` helpers).
impl Decoder for CodexCall {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        self.decode(chunk)
    }
    fn finish(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
        self.decode_end()
    }
}

export_provider!(Codex);

#[cfg(test)]
mod tests;
