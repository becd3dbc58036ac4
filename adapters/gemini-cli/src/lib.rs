//! Provider adapter `gemini-cli`: a Google account logged in the way Gemini CLI does,
//! served by Cloud Code Assist (`https://cloudcode-pa.googleapis.com/v1internal`).
//!
//! The translation is `adapter-gemini`'s, reused as a library: the Gemini body it
//! builds travels in the Code Assist envelope and the answers are unwrapped before its
//! decoder reads them ([`code_assist`]). [`setup`] finds the account's project after a
//! login (`loadCodeAssist`, then `onboardUser` when needed), [`errors`] reads Code
//! Assist's `RESOURCE_EXHAUSTED` answers. Both are shared with `antigravity`.
//!
//! Identity: requests carry the bearer token, the project and the client's own
//! `User-Agent`/`X-Goog-Api-Client` when the client sent them; Plugboard sends no
//! Gemini CLI `User-Agent` of its own.

pub mod code_assist;
pub mod errors;
pub mod setup;

use plugboard_sdk::prelude::*;

use crate::code_assist::CodeAssistState;
use crate::setup::Onboarding;

/// The adapter id config refers to.
pub const ID: &str = "gemini-cli";
/// The credential kind (CLIProxyAPI's `gemini` and `gemini-cli` files import as it).
pub const GEMINI_CLI: &str = "gemini-cli";
/// The default `base` endpoint (inference).
pub const DEFAULT_BASE_URL: &str = "https://cloudcode-pa.googleapis.com";
/// The endpoint the account setup calls (`loadCodeAssist`, `onboardUser`).
pub const CODE_ASSIST: &str = "code-assist";
/// Google's login page (opened by the user's browser only).
pub const AUTHORIZE_URL: &str = "https://accounts.google.com/o/oauth2/auth";
/// Google's token endpoint: code exchange and refresh.
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Gemini CLI's public installed-app OAuth client.
pub const CLIENT_ID: &str =
    "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com";
/// Its public client secret (an installed app's, not a secret).
pub const CLIENT_SECRET: &str = "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";
/// The scopes a login asks for.
pub const SCOPES: [&str; 3] = [
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/userinfo.profile",
];
/// Refresh this long before the access token expires (Google tokens last an hour).
pub const REFRESH_LEAD_S: u32 = 5 * 60;
/// Models Code Assist serves (the entry's `models:` may name others).
pub const MODELS: &[&str] = &[
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-3-pro-preview",
    "gemini-3-flash-preview",
];

/// The component.
pub struct GeminiCli;

impl Provider for GeminiCli {
    type Call = StandardCall<CodeAssist>;

    fn info() -> AdapterInfo {
        let info = AdapterInfo::new(
            ID,
            env!("CARGO_PKG_VERSION"),
            "Gemini CLI accounts (Google login) through Cloud Code Assist",
        )
        .credential_kind(google_login(
            GEMINI_CLI,
            "A Google account as Gemini CLI uses it, by browser login",
            CLIENT_ID,
            CLIENT_SECRET,
            &SCOPES,
            ("localhost", 8085, "/oauth2callback"),
        ))
        .base(DEFAULT_BASE_URL)
        .endpoint(Endpoint::new(
            CODE_ASSIST,
            DEFAULT_BASE_URL,
            "Code Assist project discovery and onboarding",
        ))
        .browser_endpoint(Endpoint::new(
            "authorize",
            AUTHORIZE_URL,
            "Google login page",
        ))
        .endpoint(Endpoint::new(
            "token",
            TOKEN_URL,
            "Google OAuth token exchange and refresh",
        ))
        .default_fixup("merge-turns");
        MODELS.iter().fold(info, |info, id| {
            info.model(ModelInfo::new(*id).limits(1_048_576, 65_536))
        })
    }

    fn account_setup(ctx: SetupContext) -> Result<SetupStep, AdapterError> {
        setup::step(&ctx, &onboarding())
    }

    fn call(ctx: CallContext) -> Self::Call {
        StandardCall::new(ctx, CodeAssist)
    }
}

/// How Gemini CLI finds a project: metadata of an unspecified IDE and the `GEMINI`
/// plugin, tier `legacy-tier` when none is marked default, polled every 2 s for 30 s.
pub fn onboarding() -> Onboarding {
    Onboarding {
        product: "Gemini CLI",
        load_endpoint: CODE_ASSIST,
        onboard_endpoint: CODE_ASSIST,
        load_body: json!({"metadata": metadata()}),
        onboard_body: |tier, project| {
            let mut body = json!({"tierId": tier, "metadata": metadata()});
            if let Some(project) = project {
                body["cloudaicompanionProject"] = json!(project);
            }
            body
        },
        fallback_tier: "legacy-tier",
        most_polls: 15,
        poll_delay_ms: 2000,
    }
}

fn metadata() -> Value {
    json!({"ideType": "IDE_UNSPECIFIED", "platform": "PLATFORM_UNSPECIFIED", "pluginType": "GEMINI"})
}

/// A Google installed-app login (shared with `antigravity`): authorization code
/// without PKCE, the public client secret in the exchange, `access_type=offline` and
/// `prompt=consent` so a refresh token comes back, redirect as registered; refreshed
/// with the client id and secret [`REFRESH_LEAD_S`] before expiry; then the account
/// setup finds the project. The id token (when Google gives one) supplies the email.
pub fn google_login(
    kind: &str,
    description: &str,
    client_id: &str,
    client_secret: &str,
    scopes: &[&str],
    (host, port, path): (&str, u16, &str),
) -> CredentialKind {
    let login =
        AuthorizationCodeSpec::with_client_secret("authorize", "token", client_id, client_secret)
            .scopes(scopes)
            .redirect(host, port, path)
            .authorize_param("access_type", TokenValue::text("offline"))
            .authorize_param("prompt", TokenValue::text("consent"))
            .answer(TokenAnswer::oauth().with_id_token());
    CredentialKind::new(
        kind,
        description,
        Placement::bearer(),
        Obtain::AuthorizationCode(login),
    )
    .input(
        code_assist::PROJECT_ID,
        "Google Cloud project for Code Assist (empty: discover or onboard one)",
        Some(""),
    )
    .refresh(
        RefreshSpec::refresh_token("token", REFRESH_LEAD_S)
            .field("client_secret", TokenValue::ClientSecret),
    )
    .with_setup()
}

/// One attempt: `POST {base}/v1internal:generateContent`, or
/// `:streamGenerateContent?alt=sse`, with the Gemini body in the envelope.
pub struct CodeAssist;

impl Encode for CodeAssist {
    type State = CodeAssistState;

    fn encode(
        &mut self,
        ctx: &CallContext,
        request: ChatRequest,
    ) -> Result<HttpRequest, AdapterError> {
        let project = code_assist::project(ctx, "plugboard login ENTRY --type gemini-cli")?;
        let inner = adapter_gemini::request::encode_body(&request, &ctx.model)?;
        let model = ctx.model.trim_start_matches("models/");
        let body = code_assist::wrap(model, project, inner);
        Ok(code_assist::request(ctx, &body, request.stream))
    }

    fn classify_error(
        &mut self,
        _ctx: &CallContext,
        head: &ResponseHead,
        body: &[u8],
    ) -> UpstreamError {
        errors::classify(head, body)
    }
}

#[cfg(feature = "component")]
export_provider!(GeminiCli);

#[cfg(test)]
mod tests;
