//! Provider adapter `qwen`: a Qwen Code account (chat.qwen.ai), logged in by device
//! code with PKCE, serving an OpenAI-compatible Chat Completions API.
//!
//! The translation is `adapter-openai`'s, reused as a library ([`adapter_openai::Chat`]):
//! this crate only declares the credential kind, finds the account's API base (the
//! token answer's `resource_url`), adds the headers Qwen's API needs and classifies
//! Qwen's quota answers ([`errors`]).
//!
//! The API base: the host stores the token answer's `resource_url` as the account's
//! base URL, with `https://` put in front of a bare host (`portal.qwen.ai`) by the
//! host's flow runner, and only when its host is one this adapter declares
//! ([`API_HOSTS`]). Qwen's `resource_url` names no version, so [`api_base`] appends
//! `/v1` when the base does not end with it (`https://portal.qwen.ai` is called at
//! `https://portal.qwen.ai/v1/chat/completions`).

pub mod errors;

use adapter_openai::Chat;
use adapter_openai::decode::ChatState;
use plugboard_sdk::prelude::*;

/// The adapter id config refers to.
pub const ID: &str = "qwen";
/// The credential kind of a Qwen Code account (CLIProxyAPI's `qwen` files are this kind).
pub const QWEN_KIND: &str = "qwen";
/// The default `base` endpoint, used when an account's token names no `resource_url`.
pub const DEFAULT_BASE_URL: &str = "https://portal.qwen.ai/v1";
/// The device authorization endpoint (`device`).
pub const DEVICE_URL: &str = "https://chat.qwen.ai/api/v1/oauth2/device/code";
/// The token endpoint (`token`): device poll and refresh.
pub const TOKEN_URL: &str = "https://chat.qwen.ai/api/v1/oauth2/token";
/// Qwen Code's public OAuth client.
pub const QWEN_CLIENT_ID: &str = "f0304373b74a44d2b584a3fb70ca9e56";
/// The scopes a login asks for.
pub const QWEN_SCOPES: [&str; 4] = ["openid", "profile", "email", "model.completion"];
/// Refresh this long before the access token expires (20 minutes, as Qwen Code does).
pub const REFRESH_LEAD_S: u32 = 20 * 60;
/// Hosts a token's `resource_url` may name; the host accepts an account base URL only
/// on a declared host.
pub const API_HOSTS: [&str; 3] = [
    "portal.qwen.ai",
    "dashscope.aliyuncs.com",
    "dashscope-intl.aliyuncs.com",
];
/// The models a Qwen Code account serves.
pub const MODELS: [&str; 2] = ["qwen3-coder-plus", "qwen3-coder-flash"];

/// The component.
pub struct Qwen;

impl Provider for Qwen {
    type Call = StandardCall<QwenChat>;

    fn info() -> AdapterInfo {
        let mut info = AdapterInfo::new(ID, env!("CARGO_PKG_VERSION"), "Qwen Code (chat.qwen.ai)")
            .native(Dialect::OpenaiChat)
            .credential_kind(qwen_kind())
            .base(DEFAULT_BASE_URL)
            .endpoint(Endpoint::new(
                "device",
                DEVICE_URL,
                "Qwen device authorization",
            ))
            .endpoint(Endpoint::new(
                "token",
                TOKEN_URL,
                "Qwen token (device poll and refresh)",
            ));
        for host in API_HOSTS {
            info = info.host(host);
        }
        MODELS
            .into_iter()
            .fold(info, |info, model| info.model(ModelInfo::new(model)))
    }

    fn call(ctx: CallContext) -> Self::Call {
        StandardCall::new(ctx, QwenChat(Chat))
    }
}

/// A Qwen Code account: a device login with PKCE (S256 challenge at the start, the
/// verifier in the poll), whose answer's `resource_url` is the account's API base; the
/// bearer access token is refreshed (form) [`REFRESH_LEAD_S`] before it expires.
pub fn qwen_kind() -> CredentialKind {
    let mut login = DeviceCodeSpec::rfc8628("device", "token", QWEN_CLIENT_ID)
        .scopes(&QWEN_SCOPES)
        .answer(qwen_answer());
    login.start = login
        .start
        .field("code_challenge", TokenValue::CodeChallenge)
        .field("code_challenge_method", TokenValue::text("S256"));
    login.poll = login.poll.field("code_verifier", TokenValue::CodeVerifier);
    CredentialKind::new(
        QWEN_KIND,
        "A Qwen Code account, by device login",
        Placement::bearer(),
        Obtain::DeviceCode(login),
    )
    .refresh(RefreshSpec::refresh_token("token", REFRESH_LEAD_S).answer(qwen_answer()))
}

/// Qwen's token answer: OAuth's, with `/resource_url` as the account's base URL.
fn qwen_answer() -> TokenAnswer {
    TokenAnswer {
        base_url: Some("/resource_url".into()),
        ..TokenAnswer::oauth()
    }
}

/// The API base of an account's base endpoint: `https://` when it has no scheme, no
/// trailing `/`, and `/v1` appended when missing.
pub fn api_base(base: &str) -> String {
    let base = base.trim().trim_end_matches('/');
    let base = if base.contains("://") {
        base.to_owned()
    } else {
        format!("https://{base}")
    };
    if base.ends_with("/v1") {
        base
    } else {
        format!("{base}/v1")
    }
}

/// One attempt: `adapter-openai`'s Chat Completions call on the account's
/// [`api_base`], with the headers Qwen's API reads for an OAuth token.
pub struct QwenChat(pub Chat);

impl QwenChat {
    /// `ctx` with its `base` endpoint made an [`api_base`].
    fn on_api_base(ctx: &CallContext) -> CallContext {
        let mut ctx = ctx.clone();
        for (name, url) in &mut ctx.endpoints {
            if name == Endpoint::BASE {
                *url = api_base(url);
            }
        }
        ctx
    }
}

/// The headers Qwen's API reads on a request made with a Qwen Code OAuth token: the
/// auth type, and prompt caching on.
fn with_qwen_headers(request: HttpRequest) -> HttpRequest {
    request
        .with_header("x-dashscope-authtype", "qwen-oauth")
        .with_header("x-dashscope-cachecontrol", "enable")
}

impl Encode for QwenChat {
    type State = ChatState;

    fn encode(
        &mut self,
        ctx: &CallContext,
        request: ChatRequest,
    ) -> Result<HttpRequest, AdapterError> {
        let request = self.0.encode(&Self::on_api_base(ctx), request)?;
        Ok(with_qwen_headers(request))
    }

    fn encode_native(
        &mut self,
        ctx: &CallContext,
        body: Vec<u8>,
    ) -> Result<HttpRequest, AdapterError> {
        let request = self.0.encode_native(&Self::on_api_base(ctx), body)?;
        Ok(with_qwen_headers(request))
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

export_provider!(Qwen);

#[cfg(test)]
mod tests;
