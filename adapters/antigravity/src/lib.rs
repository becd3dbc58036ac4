//! Provider adapter `antigravity`: a Google account logged in the way the Antigravity
//! IDE does, served by Cloud Code Assist's `v1internal` API on the daily endpoint
//! (`https://daily-cloudcode-pa.googleapis.com`).
//!
//! Everything but the declarations is shared: the Gemini translation is
//! `adapter-gemini`'s, the envelope, the account setup and the error rules are
//! `adapter-gemini-cli`'s. What differs from Gemini CLI:
//! - the OAuth client, its scopes and its redirect (`localhost:51121/oauth-callback`);
//! - setup metadata `ideType: ANTIGRAVITY`, `loadCodeAssist` on `cloudcode-pa`,
//!   `onboardUser` (snake-case body, tier `free-tier` by default) on the daily endpoint,
//!   at most 5 polls 2 s apart;
//! - the envelope says `requestType: "agent"`, the inner request has no
//!   `safetySettings`; non-Claude models lose `generationConfig.maxOutputTokens`, and
//!   Claude models with tools get `toolConfig.functionCallingConfig.mode: VALIDATED`.
//!
//! Endpoint fallback: Antigravity clients try the daily endpoint, then
//! `https://cloudcode-pa.googleapis.com`. An attempt here has one `base`; failing over
//! is routing's job, so a second provider entry with
//! `endpoints: {base: https://cloudcode-pa.googleapis.com}` gives the fallback.
//!
//! Identity: the envelope carries no `userAgent` and no `requestId`/`sessionId` made up
//! for the client; requests carry the client's own `User-Agent`/`X-Goog-Api-Client`
//! only when the client sent them.

use adapter_gemini_cli::code_assist::{self, CodeAssistState};
use adapter_gemini_cli::errors;
use adapter_gemini_cli::setup::{self, Onboarding};
use plugboard_sdk::prelude::*;

/// The adapter id config refers to.
pub const ID: &str = "antigravity";
/// The credential kind (CLIProxyAPI's `antigravity` files import as it).
pub const ANTIGRAVITY: &str = "antigravity";
/// The default `base` endpoint (inference), tried first by Antigravity itself.
pub const DEFAULT_BASE_URL: &str = "https://daily-cloudcode-pa.googleapis.com";
/// The second inference endpoint (for a fallback entry), also where `loadCodeAssist`
/// goes.
pub const PROD_BASE_URL: &str = "https://cloudcode-pa.googleapis.com";
/// The endpoint `loadCodeAssist` goes to.
pub const CODE_ASSIST: &str = "code-assist";
/// The endpoint `onboardUser` goes to.
pub const ONBOARD: &str = "onboard";
/// Google's login page (opened by the user's browser only).
pub const AUTHORIZE_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
/// Google's token endpoint: code exchange and refresh.
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Antigravity's public installed-app OAuth client.
pub const CLIENT_ID: &str =
    "1071006060591-tmhssin2h21lcre235vtolojh4g403ep.apps.googleusercontent.com";
/// Its public client secret (an installed app's, not a secret).
pub const CLIENT_SECRET: &str = "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";
/// The scopes a login asks for.
pub const SCOPES: [&str; 5] = [
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/userinfo.profile",
    "https://www.googleapis.com/auth/cclog",
    "https://www.googleapis.com/auth/experimentsandconfigs",
];
/// Upstream model ids (used as they are; the entry's `models:` may name others).
pub const MODELS: &[&str] = &[
    "gemini-3-flash",
    "gemini-3.1-pro-low",
    "gemini-3.1-pro-high",
    "gemini-2.5-flash",
    "claude-sonnet-4-6",
    "claude-opus-4-6-thinking",
    "gpt-oss-120b-medium",
];

/// The component.
pub struct Antigravity;

impl Provider for Antigravity {
    type Call = StandardCall<AntigravityEncode>;

    fn info() -> AdapterInfo {
        let info = AdapterInfo::new(
            ID,
            env!("CARGO_PKG_VERSION"),
            "Antigravity accounts (Google login) through Cloud Code Assist",
        )
        .credential_kind(adapter_gemini_cli::google_login(
            ANTIGRAVITY,
            "A Google account as Antigravity uses it, by browser login",
            CLIENT_ID,
            CLIENT_SECRET,
            &SCOPES,
            ("localhost", 51121, "/oauth-callback"),
        ))
        .base(DEFAULT_BASE_URL)
        .endpoint(Endpoint::new(
            CODE_ASSIST,
            PROD_BASE_URL,
            "Code Assist project discovery (loadCodeAssist)",
        ))
        .endpoint(Endpoint::new(
            ONBOARD,
            DEFAULT_BASE_URL,
            "Code Assist onboarding (onboardUser)",
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
        MODELS
            .iter()
            .fold(info, |info, id| info.model(ModelInfo::new(*id)))
    }

    fn account_setup(ctx: SetupContext) -> Result<SetupStep, AdapterError> {
        setup::step(&ctx, &onboarding())
    }

    fn call(ctx: CallContext) -> Self::Call {
        StandardCall::new(ctx, AntigravityEncode)
    }
}

/// How Antigravity finds a project.
pub fn onboarding() -> Onboarding {
    Onboarding {
        product: "Antigravity",
        load_endpoint: CODE_ASSIST,
        onboard_endpoint: ONBOARD,
        load_body: json!({"metadata": {"ideType": "ANTIGRAVITY"}}),
        onboard_body: |tier, _project| json!({"tier_id": tier, "metadata": {"ide_type": "ANTIGRAVITY", "ide_name": "antigravity"}}),
        fallback_tier: "free-tier",
        most_polls: 5,
        poll_delay_ms: 2000,
    }
}

/// Whether `model` is one of the Claude models Antigravity serves.
pub fn is_claude(model: &str) -> bool {
    model.to_ascii_lowercase().contains("claude")
}

/// The Gemini body adjusted the way Antigravity takes it (see the module docs).
pub fn adjust_request(request: &mut Value, model: &str) {
    let Some(object) = request.as_object_mut() else {
        return;
    };
    object.remove("safetySettings");
    if is_claude(model) {
        if object.contains_key("tools") {
            let config = object.entry("toolConfig").or_insert_with(|| json!({}));
            if let Some(config) = config.as_object_mut() {
                let calling = config
                    .entry("functionCallingConfig")
                    .or_insert_with(|| json!({}));
                if let Some(calling) = calling.as_object_mut() {
                    calling.insert("mode".into(), json!("VALIDATED"));
                }
            }
        }
    } else if let Some(Value::Object(generation)) = object.get_mut("generationConfig") {
        generation.remove("maxOutputTokens");
        if generation.is_empty() {
            object.remove("generationConfig");
        }
    }
}

/// One attempt: `POST {base}/v1internal:generateContent`, or
/// `:streamGenerateContent?alt=sse`, with the Gemini body in the envelope.
pub struct AntigravityEncode;

impl Encode for AntigravityEncode {
    type State = CodeAssistState;

    fn encode(
        &mut self,
        ctx: &CallContext,
        request: ChatRequest,
    ) -> Result<HttpRequest, AdapterError> {
        let project = code_assist::project(ctx, "plugboard login ENTRY --type antigravity")?;
        let model = ctx.model.trim_start_matches("models/");
        let mut inner = adapter_gemini::request::encode_body(&request, model)?;
        adjust_request(&mut inner, model);
        let mut body = code_assist::wrap(model, project, inner);
        body["requestType"] = json!("agent");
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

export_provider!(Antigravity);

#[cfg(test)]
mod tests;
