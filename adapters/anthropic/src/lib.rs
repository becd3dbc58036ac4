//! Provider adapter `anthropic`: the Anthropic Messages API, with an API key or a
//! Claude subscription (OAuth).
//!
//! The translation lives in plain modules that unit-test natively: [`request`] (IR to a
//! Messages body), [`decode`] (Messages SSE or one message document to IR events),
//! [`errors`] (failure classification), [`schema`] (a JSON schema in the subset
//! structured outputs take). This file declares the adapter and builds the request.

pub mod decode;
pub mod errors;
pub mod request;
pub mod schema;

use plugboard_sdk::json_edit::native_body_for_model;
use plugboard_sdk::prelude::*;

/// The adapter id config refers to.
pub const ID: &str = "anthropic";
/// The default `base` endpoint.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The API version we speak; the adapter sets it, whatever the client sent.
pub const API_VERSION: &str = "2023-06-01";
/// The credential kind of a Claude subscription account.
pub const CLAUDE_OAUTH: &str = "claude-oauth";
/// The beta a request made with a Claude OAuth token must name.
pub const OAUTH_BETA: &str = "oauth-2025-04-20";
/// Claude Code's public OAuth client.
pub const CLAUDE_CLIENT_ID: &str = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";
/// The scopes a subscription login asks for.
pub const CLAUDE_SCOPES: [&str; 5] = [
    "user:profile",
    "user:inference",
    "user:sessions:claude_code",
    "user:mcp_servers",
    "user:file_upload",
];

/// The component.
pub struct Anthropic;

impl Provider for Anthropic {
    type Call = StandardCall<Messages>;

    fn info() -> AdapterInfo {
        AdapterInfo::new(ID, env!("CARGO_PKG_VERSION"), "Anthropic Messages API")
            .native(Dialect::AnthropicMessages)
            .credential_kind(CredentialKind::api_key(
                "api-key",
                Placement::header("x-api-key"),
            ))
            .credential_kind(claude_oauth())
            .base(DEFAULT_BASE_URL)
            .browser_endpoint(Endpoint::new(
                "authorize",
                "https://claude.ai/oauth/authorize",
                "Claude subscription login page",
            ))
            .endpoint(Endpoint::new(
                "token",
                "https://platform.claude.com/v1/oauth/token",
                "Claude OAuth token exchange and refresh",
            ))
            .model(ModelInfo::new("claude-opus-4-1").limits(200_000, 32_000))
            .model(ModelInfo::new("claude-sonnet-4-5").limits(200_000, 64_000))
            .model(ModelInfo::new("claude-sonnet-4-0").limits(200_000, 64_000))
            .model(ModelInfo::new("claude-haiku-4-5").limits(200_000, 64_000))
            .model(ModelInfo::new("claude-3-5-haiku-latest").limits(200_000, 8_192))
            // Chat, Responses and Gemini clients end conversations with the assistant
            // without meaning a prefill, which Claude 4.6+ (and thinking) refuse. Its
            // guard leaves Messages clients alone, so passthrough is kept. The other
            // repairs (`thinking-signatures`, `tool-pairs`) are opt-in: as defaults
            // they would end native passthrough (docs/adapters/repairs.md).
            .default_fixup("prefill")
    }

    fn call(ctx: CallContext) -> Self::Call {
        StandardCall::new(ctx, Messages)
    }
}

/// A Claude Pro/Max subscription: a browser login (authorization code with PKCE, JSON
/// token calls), the bearer access token refreshed 4 hours before it expires.
fn claude_oauth() -> CredentialKind {
    let login = AuthorizationCodeSpec::pkce("authorize", "token", CLAUDE_CLIENT_ID)
        .authorize_param("code", TokenValue::text("true"))
        .scopes(&CLAUDE_SCOPES)
        .redirect("localhost", 54545, "/callback")
        .json_exchange()
        .exchange_field("state", TokenValue::State);
    CredentialKind::new(
        CLAUDE_OAUTH,
        "A Claude subscription, by browser login",
        Placement::bearer(),
        Obtain::AuthorizationCode(login),
    )
    .refresh(
        RefreshSpec::refresh_token("token", 4 * 3600)
            .json_body()
            .field("scope", TokenValue::Scope),
    )
}

/// One Messages attempt: `POST {base}/v1/messages`.
pub struct Messages;

impl Encode for Messages {
    type State = decode::MessageState;

    fn encode(
        &mut self,
        ctx: &CallContext,
        request: ChatRequest,
    ) -> Result<HttpRequest, AdapterError> {
        let body = request::encode_body(&request, &ctx.model)?;
        Ok(messages_request(ctx, to_json_bytes(&body), request.stream))
    }

    fn encode_native(
        &mut self,
        ctx: &CallContext,
        body: Vec<u8>,
    ) -> Result<HttpRequest, AdapterError> {
        Dialect::AnthropicMessages.passthrough_only(ctx.client_dialect, ID)?;
        let native = native_body_for_model(&body, &ctx.model)?;
        Ok(messages_request(ctx, native.body, native.streaming))
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

/// The Messages request. `anthropic-beta` is one list: the config's `extra-headers`
/// betas, the client's own, and [`OAUTH_BETA`] for a subscription account, each once.
fn messages_request(ctx: &CallContext, body: Vec<u8>, streaming: bool) -> HttpRequest {
    let oauth = (ctx.credential_kind == CLAUDE_OAUTH).then_some(OAUTH_BETA);
    ctx.post_json("/v1/messages", body, streaming)
        .with_header("anthropic-version", API_VERSION)
        .merge_list_header(
            "anthropic-beta",
            ctx.client_header("anthropic-beta").into_iter().chain(oauth),
        )
}

// Behind the default `component` feature: a crate reusing this translation as a library
// (`adapter-copilot`) builds without it, so its component exports only itself.
#[cfg(feature = "component")]
export_provider!(Anthropic);

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(model: &str) -> CallContext {
        CallContext::for_tests(DEFAULT_BASE_URL, model)
    }

    fn encode(ctx: CallContext, request: ChatRequest) -> HttpRequest {
        Anthropic::call(ctx).encode(request).unwrap()
    }

    fn hi() -> ChatRequest {
        ChatRequest::new().with_message(Message::user_text("hi"))
    }

    #[test]
    fn requests_go_to_v1_messages_with_the_api_version() {
        let http = encode(ctx("claude-sonnet-4-5"), hi().streaming(true));
        assert_eq!(http.url, "https://api.anthropic.com/v1/messages");
        assert_eq!(http.header("anthropic-version"), Some("2023-06-01"));
        assert_eq!(http.header("accept"), Some("text/event-stream"));
        assert_eq!(http.header("anthropic-beta"), None);
    }

    #[test]
    fn an_api_key_goes_in_x_api_key_and_a_subscription_token_is_a_refreshed_bearer() {
        let info = Anthropic::info();
        let kinds: Vec<&str> = info
            .credential_kinds
            .iter()
            .map(|kind| kind.id.as_str())
            .collect();
        assert_eq!(kinds, ["api-key", CLAUDE_OAUTH]);
        assert_eq!(
            info.credential_kinds[0].placement,
            Placement::header("x-api-key")
        );
        let oauth = &info.credential_kinds[1];
        assert_eq!(oauth.placement, Placement::Bearer);
        let Obtain::AuthorizationCode(login) = &oauth.obtain else {
            panic!("{:?}", oauth.obtain)
        };
        assert_eq!(login.client_id, CLAUDE_CLIENT_ID);
        assert_eq!(
            (login.redirect_host.as_str(), login.redirect_port),
            ("localhost", 54545)
        );
        assert_eq!(login.redirect_path, "/callback");
        assert_eq!(
            login.scopes.join(" "),
            "user:profile user:inference user:sessions:claude_code user:mcp_servers user:file_upload"
        );
        assert_eq!(login.exchange.encoding, BodyEncoding::Json);
        assert_eq!(login.exchange.endpoint, "token");
        let refresh = oauth.refresh.as_ref().unwrap();
        assert_eq!(
            (refresh.lead_s, refresh.call.encoding),
            (4 * 3600, BodyEncoding::Json)
        );
        assert_eq!(
            info.endpoint_url("authorize"),
            Some("https://claude.ai/oauth/authorize")
        );
        assert_eq!(
            info.endpoint_url("token"),
            Some("https://platform.claude.com/v1/oauth/token")
        );
        assert_eq!(info.hosts, ["api.anthropic.com", "platform.claude.com"]);
    }

    #[test]
    fn a_subscription_call_adds_the_oauth_beta_to_the_clients_once() {
        let mut oauth = ctx("m");
        oauth.credential_kind = CLAUDE_OAUTH.into();
        assert_eq!(
            encode(oauth.clone(), hi()).header("anthropic-beta"),
            Some(OAUTH_BETA)
        );
        oauth.client_headers = vec![(
            "anthropic-beta".into(),
            "interleaved-thinking-2025-05-14,oauth-2025-04-20".into(),
        )];
        assert_eq!(
            encode(oauth, hi()).header("anthropic-beta"),
            Some("interleaved-thinking-2025-05-14,oauth-2025-04-20")
        );
    }

    #[test]
    fn passthrough_swaps_only_the_model() {
        let body = br#"{"model":"claude-x","max_tokens":32000,"thinking":{"type":"adaptive"},"stream":true,"messages":[]}"#;
        let mut native = CallContext::for_tests("https://proxy.test/", "claude-sonnet-4-5");
        native.client_dialect = Dialect::AnthropicMessages;
        let http = Anthropic::call(native)
            .encode_native(body.to_vec())
            .unwrap();
        assert_eq!(http.url, "https://proxy.test/v1/messages");
        assert_eq!(
            String::from_utf8(http.body.clone()).unwrap(),
            r#"{"model":"claude-sonnet-4-5","max_tokens":32000,"thinking":{"type":"adaptive"},"stream":true,"messages":[]}"#
        );
        assert_eq!(http.header("accept"), Some("text/event-stream"));
        assert!(
            Anthropic::call(ctx("m"))
                .encode_native(body.to_vec())
                .is_err()
        );
    }

    #[test]
    fn the_clients_betas_go_upstream_joined_with_the_configs() {
        host::set_config_for_tests(
            json!({"extra-headers": {"anthropic-beta": "context-1m-2025-08-07", "x-team": "a"}}),
        );
        let mut native = ctx("m");
        native.client_dialect = Dialect::AnthropicMessages;
        native.client_headers = vec![(
            "anthropic-beta".into(),
            "interleaved-thinking-2025-05-14, fine-grained-tool-streaming-2025-05-14".into(),
        )];
        let http = Anthropic::call(native)
            .encode_native(br#"{"model":"x","max_tokens":1,"messages":[]}"#.to_vec())
            .unwrap();
        assert_eq!(
            http.header("anthropic-beta"),
            Some(
                "context-1m-2025-08-07,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14"
            )
        );
        assert_eq!(http.header("x-team"), Some("a"));
        host::set_config_for_tests(json!({}));
    }

    #[test]
    fn config_extra_headers_are_added() {
        host::set_config_for_tests(
            json!({"extra-headers": {"anthropic-beta": "context-1m-2025-08-07"}}),
        );
        let http = encode(ctx("m"), hi());
        assert_eq!(http.header("anthropic-beta"), Some("context-1m-2025-08-07"));
        host::set_config_for_tests(json!({}));
    }
}
