//! Provider adapter `copilot`: a GitHub Copilot subscription.
//!
//! - **Login** is GitHub's OAuth device flow (Copilot's public client,
//!   [`CLIENT_ID`]); GitHub answers every poll 200, with an `error` field while the
//!   user has not approved yet. The store keeps the GitHub token (`ghu_…`), which does
//!   not expire.
//! - **Token exchange**: before use the host trades the GitHub token for a short-lived
//!   Copilot token (`copilot_internal/v2/token`, presenting `Authorization: token
//!   <github token>`), caches it per account and exchanges again [`EXCHANGE_LEAD_S`]
//!   before its `expires_at`. The answer's `endpoints.api` becomes the account's API
//!   base (`https://api.individual.githubcopilot.com`, `…business…`).
//! - **Requests** go to the route the model is served on ([`routes`]): OpenAI Chat
//!   Completions, OpenAI Responses or Anthropic Messages, each translated from the IR
//!   by the matching adapter reused as a library (`adapter-openai`,
//!   `adapter-openai-responses`, `adapter-anthropic`), with Copilot's headers
//!   ([`headers`]) and its error classes ([`errors`]).
//! - **Reads**: the account's quota and its models ([`reads`]).
//!
//! Every URL is a named endpoint a provider entry may override, which is how GitHub
//! Enterprise (data residency, `*.ghe.com`) hosts are reached.

pub mod body;
pub mod chat;
pub mod errors;
pub mod headers;
pub mod reads;
pub mod routes;

use adapter_anthropic::Messages;
use adapter_openai_responses::Responses;
use plugboard_sdk::credentials::AccountRead;
use plugboard_sdk::prelude::*;

use crate::chat::CopilotChat;
use crate::routes::Route;

/// The adapter id config refers to.
pub const ID: &str = "copilot";
/// The credential kind of a Copilot account (CLIProxyAPI's `github-copilot` and
/// `copilot` files and the Copilot editors' `apps.json` import as it).
pub const KIND: &str = "copilot";
/// The default API base, used until an exchange names the account's own.
pub const BASE_URL: &str = "https://api.githubcopilot.com";
/// GitHub's device authorization (`device`).
pub const DEVICE_URL: &str = "https://github.com/login/device/code";
/// GitHub's token endpoint, polled during the device login (`token`).
pub const TOKEN_URL: &str = "https://github.com/login/oauth/access_token";
/// The Copilot token exchange (`exchange`).
pub const EXCHANGE_URL: &str = "https://api.github.com/copilot_internal/v2/token";
/// The account's Copilot plan and quotas (`user`).
pub const USER_URL: &str = "https://api.github.com/copilot_internal/user";
/// The public OAuth client of the Copilot editor integrations.
pub const CLIENT_ID: &str = "Iv1.b507a08c87ecfe98";
/// The scope a login asks for: enough to exchange for a Copilot token.
pub const SCOPES: [&str; 1] = ["read:user"];
/// Exchange again this long before the Copilot token's `expires_at`. The token lives
/// about 25-30 minutes and the exchange answers `refresh_in` (when to renew) about 5
/// minutes short of `expires_at`; 300 s renews at the same moment `refresh_in` says.
pub const EXCHANGE_LEAD_S: u32 = 300;
/// Read the quota this often (5 minutes).
pub const QUOTA_EVERY_S: u32 = 300;
/// Read the model list this often (an hour).
pub const MODELS_EVERY_S: u32 = 3600;
/// Hosts the adapter reaches: the API hosts an exchange may name, GitHub's API and
/// login hosts.
pub const HOSTS: [&str; 4] = [
    "api.githubcopilot.com",
    "*.githubcopilot.com",
    "api.github.com",
    "github.com",
];

/// The models a Copilot account commonly serves, with the routes each is served on
/// when `/models` has not been read (the account's `models` read replaces this).
pub fn default_models() -> Vec<ModelInfo> {
    let chat = |id: &str, window: u32, output: u32| {
        ModelInfo::new(id)
            .limits(window, output)
            .route("/chat/completions")
    };
    let both = |id: &str, window: u32, output: u32| chat(id, window, output).route("/responses");
    let responses = |id: &str| {
        ModelInfo::new(id)
            .limits(200_000, 32_000)
            .route("/responses")
    };
    let claude = |id: &str, output: u32| {
        ModelInfo::new(id)
            .limits(128_000, output)
            .route("/chat/completions")
            .route("/v1/messages")
    };
    vec![
        chat("gpt-4.1", 128_000, 16_384),
        chat("gpt-4o", 128_000, 16_384),
        both("gpt-5", 200_000, 32_000),
        both("gpt-5-mini", 128_000, 16_384),
        both("gpt-5.1", 200_000, 32_000),
        both("gpt-5.2", 200_000, 32_000),
        responses("gpt-5-codex"),
        responses("gpt-5.1-codex"),
        responses("gpt-5.2-codex"),
        responses("gpt-5.3-codex"),
        responses("gpt-5.4"),
        responses("gpt-5.4-mini"),
        claude("claude-sonnet-4", 64_000),
        claude("claude-sonnet-4.5", 64_000),
        claude("claude-sonnet-4.6", 64_000),
        claude("claude-haiku-4.5", 64_000),
        claude("claude-opus-4.5", 64_000),
        claude("claude-opus-4.6", 64_000),
        chat("gemini-2.5-pro", 1_000_000, 64_000),
        chat("grok-code-fast-1", 128_000, 64_000),
    ]
}

/// The component.
pub struct Copilot;

impl Provider for Copilot {
    type Call = CopilotCall;

    fn info() -> AdapterInfo {
        let mut info = AdapterInfo::new(
            ID,
            env!("CARGO_PKG_VERSION"),
            "GitHub Copilot subscription (Chat Completions, Responses and Anthropic Messages routes)",
        )
        .credential_kind(copilot_kind())
        .base(BASE_URL)
        .endpoint(Endpoint::new(
            "device",
            DEVICE_URL,
            "GitHub device authorization",
        ))
        .endpoint(Endpoint::new(
            "token",
            TOKEN_URL,
            "GitHub token (device login poll)",
        ))
        .endpoint(Endpoint::new(
            "exchange",
            EXCHANGE_URL,
            "Copilot token exchange (GitHub token for a Copilot token and its API host)",
        ))
        .endpoint(Endpoint::new(
            "user",
            USER_URL,
            "Copilot plan and quotas of the account",
        ));
        for host in HOSTS {
            info = info.host(host);
        }
        default_models()
            .into_iter()
            .fold(info, |info, model| info.model(model))
    }

    fn call(ctx: CallContext) -> CopilotCall {
        CopilotCall::new(ctx)
    }

    fn read_account(ctx: ReadContext) -> Result<AccountFacts, AdapterError> {
        reads::read(&ctx)
    }
}

/// A Copilot account: a GitHub device login (client [`CLIENT_ID`], scope `read:user`,
/// polls answered 200 with `error: authorization_pending` or `slow_down` while
/// pending), the GitHub token exchanged for a Copilot bearer at `exchange` (its
/// `/token`, `/expires_at`, and `/endpoints/api` as the account's API base), and two
/// reads: `quota` (`user`, with the GitHub token, every [`QUOTA_EVERY_S`]) and
/// `models` (`base/models` on the account's API host, with the Copilot token, every
/// [`MODELS_EVERY_S`]).
pub fn copilot_kind() -> CredentialKind {
    let github_token = || Placement::header_with_prefix("authorization", "token ");
    let mut login = DeviceCodeSpec::rfc8628("device", "token", CLIENT_ID)
        .scopes(&SCOPES)
        .answer(TokenAnswer {
            access_token: "/access_token".into(),
            refresh_token: None,
            id_token: None,
            expires_in: None,
            expires_at: None,
            base_url: None,
            attributes: Vec::new(),
        });
    // GitHub's device answer has no URL with the code in it.
    login.verification_uri_complete = None;
    let mut exchange = ExchangeSpec::get("exchange", github_token(), EXCHANGE_LEAD_S);
    exchange.answer.base_url = Some("/endpoints/api".into());
    for (name, value) in headers::EXCHANGE {
        exchange.call = exchange.call.header(name, value);
    }
    // `base/models`: the account's own API host, as the exchange named it.
    let mut models = TokenCall::get("base/models", Placement::bearer());
    for (name, value) in headers::read_headers() {
        models = models.header(name, value);
    }
    CredentialKind::new(
        KIND,
        "A GitHub Copilot subscription, by GitHub device login",
        Placement::bearer(),
        Obtain::DeviceCode(login),
    )
    .exchange(exchange)
    .read(AccountRead::new(
        reads::QUOTA,
        TokenCall::get("user", github_token()),
        QUOTA_EVERY_S,
    ))
    .read(AccountRead::new(reads::MODELS, models, MODELS_EVERY_S).exchanged())
}

/// The translation serving one route, with its own answer state.
enum Translation {
    Chat(StandardCall<CopilotChat>),
    Responses(StandardCall<Responses>),
    Messages(StandardCall<Messages>),
}

/// One attempt: the route chosen from the model ([`Route::choose`]), encoded by that
/// route's translation under the account's API base, Copilot's headers added; the
/// answer read by the same translation; a failure classified by [`errors::classify`].
pub struct CopilotCall {
    route: Route,
    translation: Translation,
}

impl CopilotCall {
    /// The call for `ctx`, on the route its model is served on.
    pub fn new(ctx: CallContext) -> Self {
        let route = Route::choose(&ctx);
        let translation = match route {
            Route::Chat => Translation::Chat(StandardCall::new(ctx, CopilotChat)),
            Route::Responses => Translation::Responses(StandardCall::new(ctx, Responses)),
            Route::Messages => Translation::Messages(StandardCall::new(ctx, Messages)),
        };
        CopilotCall { route, translation }
    }

    /// The route this attempt goes to.
    pub fn route(&self) -> Route {
        self.route
    }

    fn call(&mut self) -> &mut dyn Call {
        match &mut self.translation {
            Translation::Chat(call) => call,
            Translation::Responses(call) => call,
            Translation::Messages(call) => call,
        }
    }

    fn ctx(&self) -> &CallContext {
        match &self.translation {
            Translation::Chat(call) => &call.ctx,
            Translation::Responses(call) => &call.ctx,
            Translation::Messages(call) => &call.ctx,
        }
    }
}

impl Call for CopilotCall {
    fn encode(&mut self, request: ChatRequest) -> Result<HttpRequest, AdapterError> {
        let facts = headers::RequestFacts::of(&request);
        let mut http = self.call().encode(request)?;
        if self.route == Route::Responses {
            http = body::responses_only(http)?;
        }
        Ok(headers::api_headers(http, self.ctx(), facts))
    }

    fn respond(&mut self, head: ResponseHead, streaming: bool) {
        self.call().respond(head, streaming)
    }

    fn decode(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        self.call().decode(chunk)
    }

    fn decode_end(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
        self.call().decode_end()
    }

    fn classify_error(&mut self, head: ResponseHead, body: Vec<u8>) -> UpstreamError {
        errors::classify(self.route, &head, &body)
    }
}

/// A started call reads like any decoder (for the SDK's `testing` helpers).
impl Decoder for CopilotCall {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        self.decode(chunk)
    }
    fn finish(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
        self.decode_end()
    }
}

export_provider!(Copilot);

#[cfg(test)]
mod tests;
