//! The host's runner of an adapter's declared credential specs: token calls built from
//! `token-call`, answers read by JSON pointer, authorization code with PKCE (loopback
//! callback or pasted redirect), device code (RFC 8628 and its variants), client
//! registration, refresh and token exchange. Secrets stay in [`Secret`]s; no message it
//! returns or logs holds one.
//!
//! OWNER: the oauth helper. This is the API the rest of the host codes against.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::credentials::Secret;
use crate::runtime::spec;

use super::file::OAuthClient;

/// What a flow may use: the one HTTP client and the endpoints resolved for this
/// account (config overrides applied, placeholders filled).
pub struct FlowEnv<'a> {
    /// The process's HTTP client.
    pub http: &'a reqwest::Client,
    /// (endpoint name, URL).
    pub endpoints: &'a [(String, String)],
    /// Login inputs by name.
    pub inputs: &'a BTreeMap<String, String>,
    /// Account attributes by name.
    pub attributes: &'a BTreeMap<String, String>,
    /// Longest one call may take.
    pub timeout: Duration,
}

/// A token answer, read.
#[derive(Debug, Clone)]
pub struct Granted {
    /// The access token.
    pub access: Secret,
    /// A refresh token, when the answer carried one.
    pub refresh: Option<Secret>,
    /// An id token, when the answer carried one.
    pub id_token: Option<Secret>,
    /// When `access` expires.
    pub expires_at: Option<SystemTime>,
    /// A base URL for the account (Copilot's `endpoints.api`, Qwen's `resource_url`).
    pub base_url: Option<String>,
    /// Attributes the answer declared.
    pub attributes: BTreeMap<String, String>,
}

/// What a login gives.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    /// The tokens.
    pub granted: Granted,
    /// A client registered for this account (AWS SSO OIDC), kept with it.
    pub client: Option<OAuthClient>,
    /// The id token's claims, decoded (not verified), for labels and setup.
    pub id_token_claims: Option<serde_json::Value>,
}

/// How a browser login gets the redirect back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserMode {
    /// Open the browser (print the URL when it cannot be opened) and listen on the
    /// declared loopback port.
    Open,
    /// Print the URL; the user pastes the final redirect URL (or the code) on stdin.
    Paste,
}

/// Why a flow failed. Messages never hold a secret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FlowError {
    /// The server refused for good (`invalid_grant`, a revoked token): the account
    /// must log in again.
    #[error("refused: {code}: {message}")]
    Rejected {
        /// The OAuth error code.
        code: String,
        /// Its description.
        message: String,
    },
    /// The user denied the login.
    #[error("the login was denied")]
    Denied,
    /// The code or the login expired before it was finished.
    #[error("the login expired before it was completed")]
    Expired,
    /// A failure worth retrying later (network, 5xx, 429).
    #[error("{0}")]
    Transient(String),
    /// The spec or an answer is not usable (a missing pointer, an unknown endpoint).
    #[error("{0}")]
    Invalid(String),
}

/// Log in by authorization code (PKCE when the spec uses a challenge).
pub async fn authorization_code(
    env: &FlowEnv<'_>,
    spec: &spec::AuthorizationCodeSpec,
    mode: BrowserMode,
) -> Result<LoginOutcome, FlowError> {
    let _ = (env, spec, mode);
    todo!("oauth helper")
}

/// Log in by device code.
pub async fn device_code(
    env: &FlowEnv<'_>,
    spec: &spec::DeviceCodeSpec,
) -> Result<LoginOutcome, FlowError> {
    let _ = (env, spec);
    todo!("oauth helper")
}

/// Renew an access token. `kind` gives the flow's client id, secret and scopes;
/// `client` (a registered or file-given client) replaces them when set.
pub async fn refresh(
    env: &FlowEnv<'_>,
    kind: &spec::CredentialKind,
    spec: &spec::RefreshSpec,
    client: Option<&OAuthClient>,
    refresh_token: &Secret,
) -> Result<Granted, FlowError> {
    let _ = (env, kind, spec, client, refresh_token);
    todo!("oauth helper")
}

/// Trade the long-lived `secret` for a short-lived token (Copilot).
pub async fn exchange(
    env: &FlowEnv<'_>,
    spec: &spec::ExchangeSpec,
    secret: &Secret,
) -> Result<Granted, FlowError> {
    let _ = (env, spec, secret);
    todo!("oauth helper")
}

/// The claims of a JWT, decoded without verifying it (for labels and setup only).
pub fn jwt_claims(token: &str) -> Option<serde_json::Value> {
    let _ = token;
    todo!("oauth helper")
}
