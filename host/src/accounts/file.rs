//! One account file of the credential store: what Plugboard needs from it, and the
//! whole JSON object it came from, so a write-back changes only the keys Plugboard
//! owns and keeps every other key as it was (CLIProxyAPI's files carry many).
//!
//! OWNER: the store helper. This is the API the rest of the host codes against.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::{Map, Value};

use crate::credentials::Secret;

/// A parsed account file.
#[derive(Debug, Clone)]
pub struct AccountFile {
    /// The account id: the file stem (`claude-me@example.com`).
    pub id: String,
    /// The credential kind it holds, canonical (`claude-oauth`, `codex`, `gemini-cli`,
    /// `copilot`...): a CLIProxyAPI `type` mapped through [`kind_for_type`].
    pub kind: String,
    /// `type` as the file spells it.
    pub file_type: String,
    /// For humans: the email when known, else a `label`.
    pub label: Option<String>,
    /// The secrets.
    pub tokens: Tokens,
    /// Non-secret facts handed to the adapter, kebab-case names (`project-id`,
    /// `chatgpt-account-id`, `profile-arn`, `region`...).
    pub attributes: BTreeMap<String, String>,
    /// A base URL the file carries (`base_url`, Qwen's `resource_url`); the config's
    /// `endpoints:` override wins over it.
    pub base_url: Option<String>,
    /// Other endpoints the file carries, by the adapter's endpoint names (Gemini CLI's
    /// `token_uri` is `token`); the config wins over them.
    pub endpoints: BTreeMap<String, String>,
    /// The OAuth client the account was issued to, when the file says (Google's
    /// installed-app client, an AWS SSO OIDC registered client); else the adapter's.
    pub client: Option<OAuthClient>,
    /// `Some(reason)` when the account is disabled (`disabled: true`; the reason
    /// Plugboard recorded, or `"disabled in its file"`).
    pub disabled: Option<String>,
    /// Higher is preferred (`priority`); 0 when absent.
    pub priority: i64,
    /// The whole object, for write-back.
    pub(crate) doc: Map<String, Value>,
}

/// The secrets an account file holds.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    /// The access token (or API key) requests carry.
    pub access: Option<Secret>,
    /// The refresh token.
    pub refresh: Option<Secret>,
    /// An OpenID id token.
    pub id_token: Option<Secret>,
    /// When `access` expires.
    pub expires_at: Option<SystemTime>,
    /// When it was last refreshed.
    pub last_refresh: Option<SystemTime>,
}

/// An OAuth client (id, and secret when it has one).
#[derive(Debug, Clone)]
pub struct OAuthClient {
    /// Client id.
    pub id: String,
    /// Client secret.
    pub secret: Option<Secret>,
    /// When a registered client expires.
    pub expires_at: Option<SystemTime>,
}

/// Why a file is not an account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// Not a JSON object.
    #[error("not a JSON object: {0}")]
    NotJson(String),
    /// No `type`.
    #[error("no `type` key says what account it is")]
    NoType,
    /// A `type` Plugboard does not know.
    #[error("unknown account type `{0}`")]
    UnknownType(String),
    /// A key has the wrong shape.
    #[error("`{key}`: {problem}")]
    Bad {
        /// The key.
        key: String,
        /// What is wrong.
        problem: String,
    },
}

/// The canonical credential kind of a file `type` (CLIProxyAPI's and Plugboard's own).
pub fn kind_for_type(file_type: &str) -> Option<&'static str> {
    let _ = file_type;
    todo!("store helper")
}

impl AccountFile {
    /// Parse the file `id` (its stem) from its bytes.
    pub fn parse(id: &str, bytes: &[u8]) -> Result<AccountFile, FileError> {
        let _ = (id, bytes);
        todo!("store helper")
    }

    /// A new account in Plugboard's own form (login, import of another tool's file).
    pub fn new(
        id: &str,
        kind: &str,
        label: Option<String>,
        tokens: Tokens,
        attributes: BTreeMap<String, String>,
    ) -> AccountFile {
        let _ = (id, kind, label, tokens, attributes);
        todo!("store helper")
    }

    /// Take new tokens (a refresh, a new login): written where the file keeps them;
    /// an absent refresh token keeps the old one.
    pub fn update_tokens(&mut self, tokens: &Tokens) {
        let _ = tokens;
        todo!("store helper")
    }

    /// Replace attributes (account setup), label, base URL or client.
    pub fn set_attributes(&mut self, attributes: BTreeMap<String, String>) {
        let _ = attributes;
        todo!("store helper")
    }

    /// Disable with a reason, or enable (`None`).
    pub fn set_disabled(&mut self, reason: Option<&str>) {
        let _ = reason;
        todo!("store helper")
    }

    /// What makes two files the same account (kind + ChatGPT account id, email,
    /// GitHub user, profile ARN...), for de-duplication on login and import.
    pub fn identity(&self) -> Option<String> {
        todo!("store helper")
    }

    /// Every secret the file holds (for the redactor).
    pub fn secrets(&self) -> Vec<&Secret> {
        todo!("store helper")
    }

    /// The file's bytes (pretty JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        todo!("store helper")
    }
}

// Added by the lead (merge into the helper's implementation).
impl AccountFile {
    /// Set (or clear) the OAuth client the account was issued to.
    pub fn set_client(&mut self, client: Option<OAuthClient>) {
        let _ = client;
        todo!("store helper")
    }

    /// Set (or clear) the base URL the account carries.
    pub fn set_base_url(&mut self, base_url: Option<String>) {
        let _ = base_url;
        todo!("store helper")
    }
}

/// `t` as RFC 3339 UTC to the second (`2026-12-06T21:00:00Z`).
pub fn rfc3339(t: SystemTime) -> String {
    let _ = t;
    todo!("store helper")
}
