//! Credential kinds: how an account's secret is obtained, kept fresh and placed on a
//! request, declared by the adapter and run by the host (no secret ever enters a
//! guest). Builders here keep a declaration short and readable:
//!
//! ```ignore
//! use plugboard_sdk::prelude::*;
//!
//! let api_key = CredentialKind::api_key("api-key", Placement::header("x-api-key"));
//! let oauth = CredentialKind::new(
//!     "claude-oauth",
//!     "A Claude subscription, by browser login",
//!     Placement::bearer(),
//!     Obtain::AuthorizationCode(
//!         AuthorizationCodeSpec::pkce("authorize", "token", "client-id")
//!             .scopes(&["user:inference"])
//!             .redirect("localhost", 54545, "/callback"),
//!     ),
//! )
//! .refresh(RefreshSpec::refresh_token("token", 4 * 3600));
//! ```
//!
//! Endpoints are named (`"authorize"`, `"token"`), never spelled: declare their URLs
//! with [`AdapterInfo::endpoint`](crate::types::AdapterInfo::endpoint).

pub use crate::__bindings::provider::plugboard::adapter::credentials::{
    AccountRead, AuthorizationCodeSpec, BodyEncoding, ClientRegistration, CredentialKind,
    DeviceCodeSpec, ExchangeSpec, HeaderPlacement, LoginInput, Obtain, Placement, PollPending,
    RefreshSpec, SetupAnswer, SetupContext, SetupRequest, SetupStep, TokenAnswer, TokenCall,
    TokenValue,
};

impl Placement {
    /// `Authorization: Bearer <secret>`.
    pub fn bearer() -> Self {
        Placement::Bearer
    }
    /// Header `name` holding the secret as is (e.g. `x-api-key`).
    pub fn header(name: impl Into<String>) -> Self {
        Placement::Header(HeaderPlacement {
            name: name.into(),
            prefix: None,
        })
    }
    /// Header `name` holding `prefix` then the secret (e.g. `Authorization: token <secret>`).
    pub fn header_with_prefix(name: impl Into<String>, prefix: impl Into<String>) -> Self {
        Placement::Header(HeaderPlacement {
            name: name.into(),
            prefix: Some(prefix.into()),
        })
    }
    /// Query parameter `name` holding the secret.
    pub fn query(name: impl Into<String>) -> Self {
        Placement::Query(name.into())
    }
}

impl CredentialKind {
    /// A kind whose secret the operator supplies (an API key), placed as `placement`.
    pub fn api_key(id: impl Into<String>, placement: Placement) -> Self {
        Self::new(id, "An API key", placement, Obtain::Key)
    }
    /// A kind obtained as `obtain` says, with no inputs, refresh, exchange or setup.
    pub fn new(
        id: impl Into<String>,
        description: impl Into<String>,
        placement: Placement,
        obtain: Obtain,
    ) -> Self {
        CredentialKind {
            id: id.into(),
            description: description.into(),
            placement,
            obtain,
            inputs: Vec::new(),
            refresh: None,
            exchange: None,
            setup: false,
            reads: Vec::new(),
        }
    }
    /// Replaces the one line for humans.
    pub fn described(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }
    /// Asks the user for a value at login (`default` `None`: required).
    pub fn input(
        mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        default: Option<&str>,
    ) -> Self {
        self.inputs.push(LoginInput {
            name: name.into(),
            description: description.into(),
            default: default.map(str::to_string),
        });
        self
    }
    /// Renews the access token this way.
    pub fn refresh(mut self, refresh: RefreshSpec) -> Self {
        self.refresh = Some(refresh);
        self
    }
    /// Trades the long-lived secret for a short-lived one this way before use.
    pub fn exchange(mut self, exchange: ExchangeSpec) -> Self {
        self.exchange = Some(exchange);
        self
    }
    /// Calls the adapter's `account-setup` after each login or refresh.
    pub fn with_setup(mut self) -> Self {
        self.setup = true;
        self
    }
    /// Reads facts about each account of this kind with `read` (answered by
    /// [`Provider::read_account`](crate::Provider::read_account)).
    pub fn read(mut self, read: AccountRead) -> Self {
        self.reads.push(read);
        self
    }
}

impl AccountRead {
    /// Read `name` with `call` (which says how the stored secret is presented), every
    /// `every_s` seconds (0: only on demand and after a login).
    pub fn new(name: impl Into<String>, call: TokenCall, every_s: u32) -> Self {
        AccountRead {
            name: name.into(),
            call,
            exchanged: false,
            every_s,
        }
    }
    /// Present the kind's exchanged short-lived token instead of the stored secret.
    pub fn exchanged(mut self) -> Self {
        self.exchanged = true;
        self
    }
}

impl TokenValue {
    /// This literal text.
    pub fn text(text: impl Into<String>) -> Self {
        TokenValue::Text(text.into())
    }
}

/// A `(field, value)` pair of a token call, for the builders' field lists.
fn field(name: &str, value: TokenValue) -> (String, TokenValue) {
    (name.to_string(), value)
}

impl TokenCall {
    /// A `GET` to endpoint `endpoint` presenting the secret as `present` and asking for
    /// JSON; fields added with [`Self::field`] go in the query.
    pub fn get(endpoint: impl Into<String>, present: Placement) -> Self {
        TokenCall {
            endpoint: endpoint.into(),
            method: "GET".into(),
            encoding: BodyEncoding::None,
            fields: Vec::new(),
            headers: vec![("accept".into(), "application/json".into())],
            present,
        }
    }
    /// A form-encoded `POST` to endpoint `endpoint` with `fields`, presenting no
    /// credential and asking for JSON (`accept: application/json`).
    pub fn post_form(endpoint: impl Into<String>, fields: Vec<(String, TokenValue)>) -> Self {
        TokenCall {
            endpoint: endpoint.into(),
            method: "POST".into(),
            encoding: BodyEncoding::Form,
            fields,
            headers: vec![("accept".into(), "application/json".into())],
            present: Placement::None,
        }
    }
    /// The same call with its fields sent as a JSON body.
    pub fn json_body(mut self) -> Self {
        self.encoding = BodyEncoding::Json;
        self
    }
    /// The same call with one more field.
    pub fn field(mut self, name: &str, value: TokenValue) -> Self {
        self.fields.push(field(name, value));
        self
    }
    /// The same call with one more (non-secret) header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    /// The same call presenting the account's long-lived secret as `placement`.
    pub fn presenting(mut self, placement: Placement) -> Self {
        self.present = placement;
        self
    }
}

impl TokenAnswer {
    /// The OAuth 2.0 answer: `/access_token`, `/refresh_token`, `/expires_in`.
    pub fn oauth() -> Self {
        TokenAnswer {
            access_token: "/access_token".into(),
            refresh_token: Some("/refresh_token".into()),
            id_token: None,
            expires_in: Some("/expires_in".into()),
            expires_at: None,
            base_url: None,
            attributes: Vec::new(),
        }
    }
    /// The same, also reading an OpenID id token at `/id_token`.
    pub fn with_id_token(mut self) -> Self {
        self.id_token = Some("/id_token".into());
        self
    }
    /// The same, keeping the value at `pointer` as account attribute `name`.
    pub fn attribute(mut self, name: impl Into<String>, pointer: impl Into<String>) -> Self {
        self.attributes.push((name.into(), pointer.into()));
        self
    }
}

impl AuthorizationCodeSpec {
    /// OAuth 2.0 authorization code with PKCE (S256): the browser opens endpoint
    /// `authorize_endpoint` with `response_type`, `client_id`, `redirect_uri`, `scope`,
    /// `code_challenge`, `code_challenge_method` and `state`; the code is exchanged at
    /// endpoint `token_endpoint` with a form body (`grant_type`, `code`, `redirect_uri`,
    /// `client_id`, `code_verifier`), read as [`TokenAnswer::oauth`]. The redirect is
    /// `http://localhost:1455/callback` until [`Self::redirect`] says otherwise.
    pub fn pkce(
        authorize_endpoint: impl Into<String>,
        token_endpoint: impl Into<String>,
        client_id: impl Into<String>,
    ) -> Self {
        AuthorizationCodeSpec {
            authorize_endpoint: authorize_endpoint.into(),
            authorize_params: vec![
                field("response_type", TokenValue::text("code")),
                field("client_id", TokenValue::ClientId),
                field("redirect_uri", TokenValue::RedirectUri),
                field("scope", TokenValue::Scope),
                field("code_challenge", TokenValue::CodeChallenge),
                field("code_challenge_method", TokenValue::text("S256")),
                field("state", TokenValue::State),
            ],
            client_id: client_id.into(),
            client_secret: None,
            scopes: Vec::new(),
            scope_separator: " ".into(),
            redirect_host: "localhost".into(),
            redirect_port: 1455,
            redirect_path: "/callback".into(),
            registration: None,
            exchange: TokenCall::post_form(
                token_endpoint,
                vec![
                    field("grant_type", TokenValue::text("authorization_code")),
                    field("code", TokenValue::Code),
                    field("redirect_uri", TokenValue::RedirectUri),
                    field("client_id", TokenValue::ClientId),
                    field("code_verifier", TokenValue::CodeVerifier),
                ],
            ),
            answer: TokenAnswer::oauth(),
        }
    }
    /// OAuth 2.0 authorization code for an installed app with a public client secret
    /// and no PKCE (Google's installed-app flow, as Gemini CLI and Antigravity use it):
    /// the browser opens endpoint `authorize_endpoint` with `response_type`,
    /// `client_id`, `redirect_uri`, `scope` and `state`; the code is exchanged at
    /// endpoint `token_endpoint` with a form body (`grant_type`, `code`,
    /// `redirect_uri`, `client_id`, `client_secret`), read as [`TokenAnswer::oauth`].
    /// Provider-specific parameters (`access_type=offline`, `prompt=consent`) are added
    /// with [`Self::authorize_param`].
    pub fn with_client_secret(
        authorize_endpoint: impl Into<String>,
        token_endpoint: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        let mut spec = Self::pkce(authorize_endpoint, token_endpoint, client_id);
        spec.client_secret = Some(client_secret.into());
        spec.authorize_params
            .retain(|(name, _)| name != "code_challenge" && name != "code_challenge_method");
        for (name, value) in &mut spec.exchange.fields {
            if name == "code_verifier" {
                *name = "client_secret".into();
                *value = TokenValue::ClientSecret;
            }
        }
        spec
    }
    /// The scopes asked for.
    pub fn scopes(mut self, scopes: &[&str]) -> Self {
        self.scopes = scopes.iter().map(|scope| scope.to_string()).collect();
        self
    }
    /// Where the browser comes back: `http://{host}:{port}{path}` as registered.
    pub fn redirect(mut self, host: impl Into<String>, port: u16, path: impl Into<String>) -> Self {
        self.redirect_host = host.into();
        self.redirect_port = port;
        self.redirect_path = path.into();
        self
    }
    /// One more query parameter on the authorize URL.
    pub fn authorize_param(mut self, name: &str, value: TokenValue) -> Self {
        self.authorize_params.push(field(name, value));
        self
    }
    /// The public client secret of an installed app.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }
    /// The code exchange sends a JSON body instead of a form.
    pub fn json_exchange(mut self) -> Self {
        self.exchange = self.exchange.json_body();
        self
    }
    /// One more field of the code exchange.
    pub fn exchange_field(mut self, name: &str, value: TokenValue) -> Self {
        self.exchange = self.exchange.field(name, value);
        self
    }
    /// Reads the exchange's answer this way.
    pub fn answer(mut self, answer: TokenAnswer) -> Self {
        self.answer = answer;
        self
    }
}

impl DeviceCodeSpec {
    /// RFC 8628 device authorization: the start is a form `POST` to endpoint
    /// `device_endpoint` (`client_id`, `scope`) answered with `/device_code`,
    /// `/user_code`, `/verification_uri`, `/verification_uri_complete`, `/interval` and
    /// `/expires_in`; the poll is a form `POST` to endpoint `token_endpoint`
    /// (`grant_type` device code, `device_code`, `client_id`) pending on
    /// `authorization_pending` and slowing on `slow_down`, read as [`TokenAnswer::oauth`].
    pub fn rfc8628(
        device_endpoint: impl Into<String>,
        token_endpoint: impl Into<String>,
        client_id: impl Into<String>,
    ) -> Self {
        DeviceCodeSpec {
            client_id: client_id.into(),
            client_secret: None,
            scopes: Vec::new(),
            scope_separator: " ".into(),
            registration: None,
            start: TokenCall::post_form(
                device_endpoint,
                vec![
                    field("client_id", TokenValue::ClientId),
                    field("scope", TokenValue::Scope),
                ],
            ),
            user_code: "/user_code".into(),
            verification_uri: "/verification_uri".into(),
            verification_uri_complete: Some("/verification_uri_complete".into()),
            device_code: Some("/device_code".into()),
            interval: Some("/interval".into()),
            expires_in: Some("/expires_in".into()),
            poll: TokenCall::post_form(
                token_endpoint,
                vec![
                    field(
                        "grant_type",
                        TokenValue::text("urn:ietf:params:oauth:grant-type:device_code"),
                    ),
                    field("device_code", TokenValue::DeviceCode),
                    field("client_id", TokenValue::ClientId),
                ],
            ),
            pending: PollPending {
                error_code: "/error".into(),
                pending: vec!["authorization_pending".into()],
                slow_down: vec!["slow_down".into()],
                pending_statuses: Vec::new(),
            },
            then: None,
            answer: TokenAnswer::oauth(),
        }
    }
    /// The scopes asked for.
    pub fn scopes(mut self, scopes: &[&str]) -> Self {
        self.scopes = scopes.iter().map(|scope| scope.to_string()).collect();
        self
    }
    /// The public client secret, when the provider has one.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }
    /// Reads the token answer this way.
    pub fn answer(mut self, answer: TokenAnswer) -> Self {
        self.answer = answer;
        self
    }
}

impl RefreshSpec {
    /// The OAuth 2.0 refresh: a form `POST` to endpoint `token_endpoint` with
    /// `grant_type=refresh_token`, `refresh_token` and `client_id`, read as
    /// [`TokenAnswer::oauth`] (an answer without a refresh token keeps the old one),
    /// `lead_s` seconds before expiry; the refresh token does not rotate.
    pub fn refresh_token(token_endpoint: impl Into<String>, lead_s: u32) -> Self {
        RefreshSpec {
            call: TokenCall::post_form(
                token_endpoint,
                vec![
                    field("grant_type", TokenValue::text("refresh_token")),
                    field("refresh_token", TokenValue::RefreshToken),
                    field("client_id", TokenValue::ClientId),
                ],
            ),
            answer: TokenAnswer::oauth(),
            lead_s,
            rotates: false,
        }
    }
    /// The refresh sends a JSON body instead of a form.
    pub fn json_body(mut self) -> Self {
        self.call = self.call.json_body();
        self
    }
    /// One more field of the refresh call.
    pub fn field(mut self, name: &str, value: TokenValue) -> Self {
        self.call = self.call.field(name, value);
        self
    }
    /// Each answer carries a new refresh token and the old one stops working.
    pub fn rotating(mut self) -> Self {
        self.rotates = true;
        self
    }
    /// Reads the answer this way.
    pub fn answer(mut self, answer: TokenAnswer) -> Self {
        self.answer = answer;
        self
    }
}

impl ExchangeSpec {
    /// A `GET` to endpoint `endpoint` presenting the long-lived secret as `present`,
    /// answered with the short-lived token at `/token` and its expiry (Unix seconds) at
    /// `/expires_at`; exchanged again `lead_s` seconds before it expires.
    pub fn get(endpoint: impl Into<String>, present: Placement, lead_s: u32) -> Self {
        ExchangeSpec {
            call: TokenCall::get(endpoint, present),
            answer: TokenAnswer {
                access_token: "/token".into(),
                refresh_token: None,
                id_token: None,
                expires_in: None,
                expires_at: Some("/expires_at".into()),
                base_url: None,
                attributes: Vec::new(),
            },
            lead_s,
        }
    }
    /// Reads the answer this way.
    pub fn answer(mut self, answer: TokenAnswer) -> Self {
        self.answer = answer;
        self
    }
}

impl SetupContext {
    /// The account attribute `name`, when set.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        crate::types::find_value(&self.attributes, name)
    }
    /// The resolved URL of endpoint `name`.
    pub fn endpoint(&self, name: &str) -> Option<&str> {
        crate::types::find_value(&self.endpoints, name)
    }
}

impl SetupStep {
    /// Setup is complete with the attributes in `ctx` unchanged.
    pub fn done_unchanged(ctx: SetupContext) -> Self {
        SetupStep::Done(ctx.attributes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placements_say_where_the_secret_goes() {
        assert_eq!(Placement::bearer(), Placement::Bearer);
        assert_eq!(
            Placement::header_with_prefix("authorization", "token "),
            Placement::Header(HeaderPlacement {
                name: "authorization".into(),
                prefix: Some("token ".into())
            })
        );
        assert_eq!(Placement::query("key"), Placement::Query("key".into()));
        let key = CredentialKind::api_key("api-key", Placement::header("x-api-key"));
        assert_eq!(key.obtain, Obtain::Key);
        assert!(key.refresh.is_none() && !key.setup);
    }

    #[test]
    fn pkce_asks_for_a_challenge_and_exchanges_the_code_with_its_verifier() {
        let spec = AuthorizationCodeSpec::pkce("authorize", "token", "cid")
            .scopes(&["a", "b"])
            .redirect("localhost", 54545, "/callback")
            .json_exchange()
            .exchange_field("state", TokenValue::State);
        assert!(spec.authorize_params.contains(&(
            "code_challenge_method".to_string(),
            TokenValue::text("S256")
        )));
        assert!(
            spec.authorize_params
                .iter()
                .any(|(_, value)| *value == TokenValue::CodeChallenge)
        );
        assert_eq!(spec.exchange.endpoint, "token");
        assert_eq!(spec.exchange.encoding, BodyEncoding::Json);
        let names: Vec<&str> = spec
            .exchange
            .fields
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "grant_type",
                "code",
                "redirect_uri",
                "client_id",
                "code_verifier",
                "state"
            ]
        );
        assert_eq!((spec.redirect_port, spec.scopes.len()), (54545, 2));
    }

    #[test]
    fn an_installed_app_login_sends_its_public_secret_instead_of_a_pkce_pair() {
        let spec = AuthorizationCodeSpec::with_client_secret("authorize", "token", "cid", "public")
            .authorize_param("access_type", TokenValue::text("offline"));
        assert_eq!(spec.client_secret.as_deref(), Some("public"));
        let params: Vec<&str> = spec
            .authorize_params
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(
            params,
            [
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "access_type"
            ]
        );
        let pkce_values = [TokenValue::CodeChallenge, TokenValue::CodeVerifier];
        let all_values = spec.authorize_params.iter().chain(&spec.exchange.fields);
        assert!(
            all_values
                .clone()
                .all(|(_, value)| !pkce_values.contains(value))
        );
        assert_eq!(
            spec.exchange.fields.last(),
            Some(&("client_secret".to_string(), TokenValue::ClientSecret))
        );
        assert_eq!(spec.exchange.encoding, BodyEncoding::Form);
    }

    #[test]
    fn a_refresh_sends_the_refresh_token_and_a_device_flow_polls_with_the_device_code() {
        let refresh = RefreshSpec::refresh_token("token", 600).rotating();
        assert!(refresh.rotates);
        assert!(
            refresh
                .call
                .fields
                .contains(&("refresh_token".to_string(), TokenValue::RefreshToken))
        );
        let device = DeviceCodeSpec::rfc8628("device", "token", "cid");
        assert!(
            device
                .poll
                .fields
                .contains(&("device_code".to_string(), TokenValue::DeviceCode))
        );
        assert_eq!(device.pending.pending, ["authorization_pending"]);
    }
}
