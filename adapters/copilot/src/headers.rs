//! Every header Plugboard puts on a Copilot request, in one place: the ones the API
//! requires to accept a request (as documented constants), `X-Initiator` read from
//! what the request is, `Copilot-Vision-Request` when it carries an image, and the
//! `User-Agent`.
//!
//! Identity policy (`docs/adapters/copilot.md`): nothing here pretends to be another
//! program's installation. There is no machine id, no session id, no per-request or
//! per-account randomised value, and no option that forces `X-Initiator`: it says what
//! the request is. The `User-Agent` is the client's own when it sent one, else
//! `plugboard/<version>`.
//!
//! The version strings go stale: GitHub refuses clients it finds too old (HTTP 466).
//! They live here ([`EDITOR_VERSION`], [`EDITOR_PLUGIN_VERSION`], [`API_VERSION`]) and
//! nowhere else; a provider entry can replace any of them without a rebuild through
//! its `config: {extra-headers: {editor-version: ...}}`, which then wins over the
//! constant (see [`api_headers`]).

use plugboard_sdk::prelude::*;

/// `Copilot-Integration-Id`: which Copilot client surface the request comes from. The
/// API refuses a request without a known one; `vscode-chat` is the chat integration
/// every source sends.
pub const INTEGRATION_ID: &str = "vscode-chat";
/// `Editor-Version`: the API enforces a minimum (since February 2026 it asks for VS Code
/// 1.109.2 or later, answering 466 below it).
pub const EDITOR_VERSION: &str = "vscode/1.109.2";
/// `Editor-Plugin-Version`: the Copilot Chat extension version the request claims
/// compatibility with (also checked for a minimum).
pub const EDITOR_PLUGIN_VERSION: &str = "copilot-chat/0.35.0";
/// `X-Github-Api-Version`: the API version spoken; too old a value is refused with 466
/// "the specified API version is no longer supported".
pub const API_VERSION: &str = "2025-10-01";
/// `Openai-Intent`: what kind of conversation this is; `conversation-panel` is a chat
/// conversation (the reference proxies send it).
pub const OPENAI_INTENT: &str = "conversation-panel";

/// The required headers, (name, value), in the order they are sent. Their values are
/// the constants above.
pub const REQUIRED: [(&str, &str); 5] = [
    ("copilot-integration-id", INTEGRATION_ID),
    ("editor-version", EDITOR_VERSION),
    ("editor-plugin-version", EDITOR_PLUGIN_VERSION),
    ("x-github-api-version", API_VERSION),
    ("openai-intent", OPENAI_INTENT),
];

/// The headers the token exchange (`copilot_internal/v2/token`) is sent with: the
/// editor and plugin versions, which it checks too.
pub const EXCHANGE: [(&str, &str); 2] = [
    ("editor-version", EDITOR_VERSION),
    ("editor-plugin-version", EDITOR_PLUGIN_VERSION),
];

/// `X-Initiator`: who started this request, which decides premium-request billing.
pub const INITIATOR: &str = "x-initiator";
/// `Copilot-Vision-Request: true`, sent only when the request carries an image.
pub const VISION: &str = "copilot-vision-request";

/// Plugboard's own `User-Agent`, used when the client sent none.
pub fn plugboard_user_agent() -> String {
    format!("plugboard/{}", env!("CARGO_PKG_VERSION"))
}

/// Who started a request, as `X-Initiator` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initiator {
    /// A person wrote the last message: a new premium request.
    User,
    /// The model's own loop continues: the last turn is the assistant's, a tool's, or a
    /// user turn that only carries tool results.
    Agent,
}

impl Initiator {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Initiator::User => "user",
            Initiator::Agent => "agent",
        }
    }

    /// What `request` is, from its last turn (system turns skipped):
    /// - an assistant turn (a continuation, a prefill) or a tool turn: [`Initiator::Agent`];
    /// - a user turn that carries tool results and no text of its own (an Anthropic
    ///   client's tool-result turn): [`Initiator::Agent`];
    /// - any other user turn (a person wrote it, possibly beside tool results, or with
    ///   an image): [`Initiator::User`];
    /// - no turn at all: [`Initiator::User`].
    ///
    /// A doubtful case is read as `user`, which bills the account and never less.
    pub fn of(request: &ChatRequest) -> Self {
        let Some(last) = request
            .messages
            .iter()
            .rev()
            .find(|m| m.role != Role::System)
        else {
            return Initiator::User;
        };
        match last.role {
            Role::Assistant | Role::Tool => Initiator::Agent,
            Role::User | Role::System => {
                let results = last
                    .parts
                    .iter()
                    .any(|part| matches!(part, Part::ToolResult(_)));
                let written = last.parts.iter().any(|part| match part {
                    Part::Text(text) => !text.text.trim().is_empty(),
                    Part::File(_) => true,
                    _ => false,
                });
                if results && !written {
                    Initiator::Agent
                } else {
                    Initiator::User
                }
            }
        }
    }
}

/// Whether `request` carries an image anywhere (a user's picture, a screenshot in a
/// tool result): then Copilot wants `Copilot-Vision-Request: true`.
pub fn has_image(request: &ChatRequest) -> bool {
    let image = |media_type: &str| media_type.to_ascii_lowercase().starts_with("image/");
    request
        .messages
        .iter()
        .flat_map(|m| &m.parts)
        .any(|part| match part {
            Part::File(file) => image(&file.media_type),
            Part::ToolResult(result) => result
                .output
                .iter()
                .any(|output| matches!(output, ToolOutput::File(file) if image(&file.media_type))),
            _ => false,
        })
}

/// What the headers say about one request, read before it is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestFacts {
    /// Who started it.
    pub initiator: Initiator,
    /// Whether it carries an image.
    pub image: bool,
}

impl RequestFacts {
    /// The facts of `request`.
    pub fn of(request: &ChatRequest) -> Self {
        RequestFacts {
            initiator: Initiator::of(request),
            image: has_image(request),
        }
    }
}

/// `http` with the Copilot API's headers: [`REQUIRED`] (a value the provider entry's
/// `extra-headers` already set wins over the constant), `X-Initiator`,
/// `Copilot-Vision-Request` when the request has an image, and the client's
/// `User-Agent` or [`plugboard_user_agent`].
pub fn api_headers(mut http: HttpRequest, ctx: &CallContext, facts: RequestFacts) -> HttpRequest {
    for (name, value) in REQUIRED {
        if http.header(name).is_none() {
            http = http.with_header(name, value);
        }
    }
    http = http.with_header(INITIATOR, facts.initiator.as_str());
    if facts.image {
        http = http.with_header(VISION, "true");
    }
    if http.header("user-agent").is_none() {
        let agent = ctx
            .client_header("user-agent")
            .map(str::to_owned)
            .unwrap_or_else(plugboard_user_agent);
        http = http.with_header("user-agent", agent);
    }
    http
}

/// The headers a `models` read is sent with: [`REQUIRED`] (the host adds its own
/// `User-Agent: plugboard/<version>` to every token and read call).
pub fn read_headers() -> Vec<(String, String)> {
    REQUIRED
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}
