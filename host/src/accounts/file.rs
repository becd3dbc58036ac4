//! One account file of the credential store: what Plugboard needs from it, and the
//! whole JSON object it came from, so a write-back changes only the keys Plugboard
//! owns and keeps every other key as it was (CLIProxyAPI's files carry many).
//!
//! OWNER: the store helper. This is the API the rest of the host codes against.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

use crate::credentials::Secret;

/// A parsed account file. Its `Debug` shows no secret (tokens are [`Secret`]s, and
/// the raw object is left out).
#[derive(Clone)]
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
    /// Secrets the file holds besides its tokens, by name (`api-key`: iFlow's API
    /// key beside its OAuth token; `service-account`: Vertex's service-account JSON).
    pub(crate) other_secrets: BTreeMap<String, Secret>,
    /// The whole object, for write-back.
    pub(crate) doc: Map<String, Value>,
}

impl std::fmt::Debug for AccountFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountFile")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("file_type", &self.file_type)
            .field("label", &self.label)
            .field("tokens", &self.tokens)
            .field("attributes", &self.attributes)
            .field("base_url", &self.base_url)
            .field("endpoints", &self.endpoints)
            .field("client", &self.client)
            .field("disabled", &self.disabled)
            .field("priority", &self.priority)
            .field("other_secrets", &self.other_secrets)
            .finish_non_exhaustive()
    }
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

/// The one table from a file's `type` (lower-cased) to Plugboard's canonical credential
/// kind. CLIProxyAPI's names come first; Plugboard writes the canonical id itself as
/// `type`, so every canonical id maps to itself too.
///
/// | `type` | kind |
/// | --- | --- |
/// | `codex` | `codex` |
/// | `claude`, `claude-oauth` | `claude-oauth` |
/// | `antigravity` | `antigravity` |
/// | `gemini`, `gemini-cli` | `gemini-cli` |
/// | `qwen` | `qwen` |
/// | `iflow` | `iflow` |
/// | `kimi` | `kimi` |
/// | `xai` | `xai` |
/// | `github-copilot`, `copilot` | `copilot` |
/// | `kiro` | `kiro-social` or `kiro-idc`, by the file (see [`kiro_kind`]) |
/// | `kiro-social`, `kiro-idc` | themselves |
/// | `vertex` | `vertex` |
const TYPE_KINDS: &[(&str, &str)] = &[
    ("codex", "codex"),
    ("claude", "claude-oauth"),
    ("claude-oauth", "claude-oauth"),
    ("antigravity", "antigravity"),
    ("gemini", "gemini-cli"),
    ("gemini-cli", "gemini-cli"),
    ("qwen", "qwen"),
    ("iflow", "iflow"),
    ("kimi", "kimi"),
    ("xai", "xai"),
    ("github-copilot", "copilot"),
    ("copilot", "copilot"),
    ("kiro", KIRO_SOCIAL),
    ("kiro-social", KIRO_SOCIAL),
    ("kiro-idc", KIRO_IDC),
    ("vertex", "vertex"),
];

/// The Kiro credential kind of a social (Google / GitHub) login, refreshed through the
/// Kiro auth service.
pub const KIRO_SOCIAL: &str = "kiro-social";
/// The Kiro credential kind of an AWS Builder ID or IAM Identity Center login,
/// refreshed through AWS SSO OIDC with a registered client.
pub const KIRO_IDC: &str = "kiro-idc";
/// The `type` every Kiro account file carries (CLIProxyAPI's), whichever its kind.
const KIRO_TYPE: &str = "kiro";
/// Where a Kiro login region or API region is not known.
const KIRO_DEFAULT_REGION: &str = "us-east-1";

/// Whether `kind` is one of Kiro's.
pub fn is_kiro(kind: &str) -> bool {
    kind == KIRO_SOCIAL || kind == KIRO_IDC
}

/// The kind of a Kiro account (a `type: kiro` file, the Kiro IDE's token file), since
/// one `type` holds both and each refreshes its own way:
///
/// | the file says | kind |
/// | --- | --- |
/// | `auth_method` / `authMethod` `social`, `google`, `github` | `kiro-social` |
/// | `auth_method` `idc`, `builder-id`, `builder_id`, `builderid`, `iam`, `enterprise`, `sso` | `kiro-idc` |
/// | anything else (`import`, none): a client registration (`client_id`, `clientId`, `clientIdHash`, `client`) | `kiro-idc` |
/// | else `provider` `BuilderId`, `Enterprise`, `AWS`, `IdC` | `kiro-idc` |
/// | else | `kiro-social` |
pub fn kiro_kind(
    auth_method: Option<&str>,
    provider: Option<&str>,
    has_client: bool,
) -> &'static str {
    let lower = |text: Option<&str>| text.map(|t| t.trim().to_ascii_lowercase());
    match lower(auth_method).as_deref() {
        Some("social" | "google" | "github") => return KIRO_SOCIAL,
        Some("idc" | "builder-id" | "builder_id" | "builderid" | "iam" | "enterprise" | "sso") => {
            return KIRO_IDC;
        }
        _ => {}
    }
    if has_client {
        return KIRO_IDC;
    }
    match lower(provider).as_deref() {
        Some("builderid" | "builder-id" | "enterprise" | "aws" | "idc") => KIRO_IDC,
        _ => KIRO_SOCIAL,
    }
}

/// The kind of a `type: kiro` file: [`kiro_kind`] of its auth method (top level or in
/// Plugboard's `attributes`), provider and client registration.
fn kiro_kind_of(doc: &Map<String, Value>) -> &'static str {
    let own = doc.get("attributes").and_then(Value::as_object);
    let in_either = |keys: &[&str], own_key: &str| {
        str_at(doc, keys).or_else(|| own.and_then(|own| str_at(own, &[own_key])))
    };
    let has_client = key_in(
        doc,
        &[
            "client_id",
            "client-id",
            "clientId",
            "clientIdHash",
            "client",
        ],
    )
    .is_some();
    kiro_kind(
        in_either(&["auth_method", "authMethod", "auth-method"], "auth-method"),
        in_either(&["provider"], "provider"),
        has_client,
    )
}

/// The region of a profile ARN (`arn:aws:codewhisperer:<region>:<account>:profile/<id>`),
/// when it names a plain one.
fn arn_region(arn: &str) -> Option<&str> {
    let mut parts = arn.trim().split(':');
    if parts.next() != Some("arn") {
        return None;
    }
    let region = parts.nth(2)?;
    let plain = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    plain.then_some(region)
}

/// What a Kiro account's endpoints need, filled in: `api-region` from the profile ARN
/// (the API lives in the ARN's region, whatever the login region), else as given,
/// else `us-east-1`; the login `region` defaults to `us-east-1`; `auth-method` says
/// the kind (`social` or `idc`) when the file did not.
fn kiro_attributes(kind: &str, attributes: &mut BTreeMap<String, String>) {
    let from_arn = attributes
        .get("profile-arn")
        .and_then(|arn| arn_region(arn))
        .map(str::to_owned);
    if let Some(region) = from_arn {
        attributes.insert("api-region".to_owned(), region);
    }
    for name in ["api-region", "region"] {
        let known = attributes.get(name).is_some_and(|v| !v.trim().is_empty());
        if !known {
            attributes.insert(name.to_owned(), KIRO_DEFAULT_REGION.to_owned());
        }
    }
    let method = if kind == KIRO_IDC { "idc" } else { "social" };
    attributes
        .entry("auth-method".to_owned())
        .or_insert_with(|| method.to_owned());
}

/// The key whose presence (`"plugboard": 1`) marks a file Plugboard wrote: its `type`
/// is then a kind id as it stands, whichever adapter declares it.
const OWN_MARKER: &str = "plugboard";

/// The canonical credential kind of a file `type` (CLIProxyAPI's and Plugboard's own).
/// See [`TYPE_KINDS`] for the table; `None` for a type it does not name (a file that
/// carries `"plugboard": 1` is read with its `type` as the kind anyway).
pub fn kind_for_type(file_type: &str) -> Option<&'static str> {
    let file_type = file_type.trim().to_ascii_lowercase();
    TYPE_KINDS
        .iter()
        .find(|(name, _)| *name == file_type)
        .map(|(_, kind)| *kind)
}

/// Keys that may hold the expiry of the access token, in the order they are tried
/// (first at the top level, then inside a nested `token`/`Token` object).
const EXPIRY_KEYS: &[&str] = &[
    "expired",
    "expire",
    "expires_at",
    "expiresAt",
    "expiry",
    "expires",
    "expiry_date",
];

/// Keys of a nested token object (Gemini CLI files keep their tokens under `token`).
const NESTED_TOKEN_KEYS: &[&str] = &["token", "Token"];

const ACCESS_KEYS: &[&str] = &["access_token", "access-token", "accessToken"];
const REFRESH_KEYS: &[&str] = &["refresh_token", "refresh-token", "refreshToken"];
const ID_TOKEN_KEYS: &[&str] = &["id_token", "id-token", "idToken"];
const API_KEY_KEYS: &[&str] = &["api_key", "api-key", "apiKey"];
const LAST_REFRESH_KEYS: &[&str] = &["last_refresh", "last-refresh", "lastRefresh"];
const BASE_URL_KEYS: &[&str] = &["base_url", "base-url", "baseUrl"];

/// File keys read into attributes, by attribute name (kebab-case). `chatgpt-account-id`
/// is read from `account_id` only in Codex files (see [`attribute_sources`]).
///
/// | attribute | file keys |
/// | --- | --- |
/// | `project-id` | `project_id`, `project-id`, `projectId` |
/// | `chatgpt-account-id` | `account_id`, `account-id` (codex only) |
/// | `organization-id` | `organization_uuid`, `organization-uuid` |
/// | `account-uuid` | `account_uuid`, `account-uuid` |
/// | `profile-arn` | `profileArn`, `profile_arn`, `profile-arn` |
/// | `region` | `region` |
/// | `auth-method` | `authMethod`, `auth_method`, `auth-method` |
/// | `provider` | `provider` |
/// | `location` | `location` |
///
/// Every string value of an `attributes` object (what Plugboard writes) is read too,
/// and wins.
const ATTRIBUTE_KEYS: &[(&str, &[&str])] = &[
    ("project-id", &["project_id", "project-id", "projectId"]),
    (
        "organization-id",
        &["organization_uuid", "organization-uuid"],
    ),
    ("account-uuid", &["account_uuid", "account-uuid"]),
    ("profile-arn", &["profileArn", "profile_arn", "profile-arn"]),
    ("region", &["region"]),
    ("auth-method", &["authMethod", "auth_method", "auth-method"]),
    ("provider", &["provider"]),
    ("location", &["location"]),
];

/// The file keys an attribute is read from for `kind`.
fn attribute_sources(kind: &str) -> Vec<(&'static str, &'static [&'static str])> {
    let mut sources = ATTRIBUTE_KEYS.to_vec();
    if kind == "codex" {
        sources.push(("chatgpt-account-id", &["account_id", "account-id"]));
    }
    if is_kiro(kind) {
        sources.push(("start-url", &["start_url", "startUrl", "start-url"]));
    }
    sources
}

/// The first non-empty string under one of `keys`.
fn str_at<'a>(object: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .filter_map(|key| object.get(*key))
        .filter_map(Value::as_str)
        .map(str::trim)
        .find(|value| !value.is_empty())
}

/// The first key of `keys` the object has (whatever its value).
fn key_in<'a>(object: &Map<String, Value>, keys: &[&'a str]) -> Option<&'a str> {
    keys.iter().copied().find(|key| object.contains_key(*key))
}

/// The nested token object's key, when the file has one.
fn nested_key(doc: &Map<String, Value>) -> Option<&'static str> {
    NESTED_TOKEN_KEYS
        .iter()
        .copied()
        .find(|key| doc.get(*key).is_some_and(Value::is_object))
}

fn nested(doc: &Map<String, Value>) -> Option<&Map<String, Value>> {
    nested_key(doc)
        .and_then(|key| doc.get(key))
        .and_then(Value::as_object)
}

/// How a file spells an instant, so a write-back keeps the form the file used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeForm {
    /// RFC 3339 (`2026-07-25T14:10:01Z`); `millis` when it carried a fraction.
    Rfc3339 { millis: bool },
    /// `2006-01-02 15:04:05`, UTC.
    Plain,
    /// Unix seconds; `quoted` when a numeric string.
    Seconds { quoted: bool },
    /// Unix milliseconds; `quoted` when a numeric string.
    Millis { quoted: bool },
}

/// Above this a unix number is milliseconds.
const MILLIS_THRESHOLD: f64 = 1e12;

/// An instant in any of the forms account files use.
pub(crate) fn parse_time(value: &Value) -> Option<(SystemTime, TimeForm)> {
    match value {
        Value::Number(number) => number_time(number.as_f64()?, false),
        Value::String(text) => {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            if let Ok(number) = text.parse::<f64>() {
                return number_time(number, true);
            }
            if let Some((time, millis)) = parse_rfc3339(text) {
                return Some((time, TimeForm::Rfc3339 { millis }));
            }
            parse_plain(text).map(|time| (time, TimeForm::Plain))
        }
        _ => None,
    }
}

fn number_time(number: f64, quoted: bool) -> Option<(SystemTime, TimeForm)> {
    if !number.is_finite() || number <= 0.0 {
        return None;
    }
    if number > MILLIS_THRESHOLD {
        let time = SystemTime::UNIX_EPOCH + Duration::from_millis(number as u64);
        Some((time, TimeForm::Millis { quoted }))
    } else {
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs_f64(number);
        Some((time, TimeForm::Seconds { quoted }))
    }
}

/// `time` written in `form`.
pub(crate) fn format_time(time: SystemTime, form: TimeForm) -> Value {
    let millis = unix_millis(time);
    match form {
        TimeForm::Rfc3339 {
            millis: with_millis,
        } => Value::String(format_rfc3339(time, with_millis)),
        TimeForm::Plain => {
            let rfc = format_rfc3339(time, false);
            Value::String(rfc[..19].replace('T', " "))
        }
        TimeForm::Seconds { quoted: false } => Value::from(millis.div_euclid(1000)),
        TimeForm::Seconds { quoted: true } => Value::from(millis.div_euclid(1000).to_string()),
        TimeForm::Millis { quoted: false } => Value::from(millis),
        TimeForm::Millis { quoted: true } => Value::from(millis.to_string()),
    }
}

fn unix_millis(time: SystemTime) -> i64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => after.as_millis() as i64,
        Err(before) => -(before.duration().as_millis() as i64),
    }
}

/// RFC 3339 (`T`, `t` or a space, a fraction, `Z` or an offset); whether it had a
/// fraction.
pub(crate) fn parse_rfc3339(text: &str) -> Option<(SystemTime, bool)> {
    use time::format_description::well_known::Rfc3339;
    let mut normal = text.to_owned();
    if normal.len() > 10 && matches!(normal.as_bytes()[10], b't' | b' ') {
        normal.replace_range(10..11, "T");
    }
    if normal.ends_with('z') {
        normal.replace_range(normal.len() - 1.., "Z");
    }
    let parsed = time::OffsetDateTime::parse(&normal, &Rfc3339).ok()?;
    let fraction = normal.get(19..).is_some_and(|rest| rest.starts_with('.'));
    Some((SystemTime::from(parsed), fraction))
}

/// Go's `2006-01-02 15:04:05`, read as UTC.
fn parse_plain(text: &str) -> Option<SystemTime> {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let parsed = time::PrimitiveDateTime::parse(text, format).ok()?;
    Some(SystemTime::from(parsed.assume_utc()))
}

/// Set `key` of `doc` to `value`, or remove it when `None` (other keys keep their
/// order).
fn put(doc: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(value) => {
            doc.insert(key.to_owned(), value);
        }
        None => {
            doc.shift_remove(key);
        }
    }
}

/// `time` as RFC 3339 in UTC (`Z`), with milliseconds when asked.
pub fn format_rfc3339(time: SystemTime, millis: bool) -> String {
    let at = time::OffsetDateTime::from(time);
    let formatted = if millis {
        at.format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
    } else {
        at.format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
    };
    // Every instant a SystemTime holds here is within the format's years.
    formatted.unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// Where a file keeps the access token's expiry: the key, whether inside the nested
/// token object, and the form.
#[derive(Debug, Clone, Copy)]
struct ExpirySpot {
    key: &'static str,
    nested: bool,
    form: TimeForm,
}

/// The expiry a file states, and where.
fn find_expiry(doc: &Map<String, Value>) -> Option<(SystemTime, ExpirySpot)> {
    let search = |object: &Map<String, Value>, in_nested: bool| {
        EXPIRY_KEYS.iter().find_map(|key| {
            let (time, form) = parse_time(object.get(*key)?)?;
            Some((
                time,
                ExpirySpot {
                    key,
                    nested: in_nested,
                    form,
                },
            ))
        })
    };
    search(doc, false).or_else(|| nested(doc).and_then(|token| search(token, true)))
}

/// Antigravity's `timestamp` (ms of issue) + `expires_in` (s), when no expiry key.
fn issued_plus_lifetime(doc: &Map<String, Value>) -> Option<SystemTime> {
    let (issued, _) = parse_time(doc.get("timestamp")?)?;
    let lifetime = match doc.get("expires_in")? {
        Value::Number(number) => number.as_f64()?,
        Value::String(text) => text.trim().parse().ok()?,
        _ => return None,
    };
    (lifetime.is_finite() && lifetime >= 0.0).then(|| issued + Duration::from_secs_f64(lifetime))
}

fn secret_at(object: &Map<String, Value>, keys: &[&str]) -> Option<Secret> {
    str_at(object, keys).map(Secret::new)
}

/// A string value for a boolean-ish key (`true`, `"true"`).
fn truthy(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" | "" => Some(false),
            _ => None,
        },
        Value::Number(number) => number.as_i64().map(|n| n != 0),
        Value::Null => Some(false),
        _ => None,
    }
}

/// `https://` in front of a bare host (Qwen's `resource_url`).
fn with_scheme(url: &str) -> String {
    if url.contains("://") {
        url.to_owned()
    } else {
        format!("https://{url}")
    }
}

/// The client a file names: Plugboard's `client` object, a nested token's
/// `client_id`/`client_secret` (Gemini CLI), or top-level `clientId`/`clientSecret`
/// (Kiro) with `clientSecretExpiresAt`.
fn read_client(doc: &Map<String, Value>) -> Option<OAuthClient> {
    if let Some(client) = doc.get("client").and_then(Value::as_object)
        && let Some(id) = str_at(client, &["id", "client_id", "clientId"])
    {
        return Some(OAuthClient {
            id: id.to_owned(),
            secret: secret_at(client, &["secret", "client_secret", "clientSecret"]),
            expires_at: ["expires_at", "expiresAt"]
                .iter()
                .find_map(|key| parse_time(client.get(*key)?))
                .map(|(time, _)| time),
        });
    }
    let id_keys = &["client_id", "client-id", "clientId"];
    let secret_keys = &["client_secret", "client-secret", "clientSecret"];
    if let Some(token) = nested(doc)
        && let Some(id) = str_at(token, id_keys)
    {
        return Some(OAuthClient {
            id: id.to_owned(),
            secret: secret_at(token, secret_keys),
            expires_at: None,
        });
    }
    let id = str_at(doc, id_keys)?;
    Some(OAuthClient {
        id: id.to_owned(),
        secret: secret_at(doc, secret_keys),
        expires_at: ["clientSecretExpiresAt", "client_secret_expires_at"]
            .iter()
            .find_map(|key| parse_time(doc.get(*key)?))
            .map(|(time, _)| time),
    })
}

fn bad(key: &str, problem: impl Into<String>) -> FileError {
    FileError::Bad {
        key: key.to_owned(),
        problem: problem.into(),
    }
}

impl AccountFile {
    /// Parse the file `id` (its stem) from its bytes.
    pub fn parse(id: &str, bytes: &[u8]) -> Result<AccountFile, FileError> {
        let doc = match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(doc)) => doc,
            Ok(_) => return Err(FileError::NotJson("the file holds no object".into())),
            Err(error) => return Err(FileError::NotJson(error.to_string())),
        };
        Self::from_doc(id, doc)
    }

    /// Read an account from a JSON object (see the key tables above).
    pub(crate) fn from_doc(id: &str, doc: Map<String, Value>) -> Result<AccountFile, FileError> {
        let file_type = match doc.get("type") {
            None | Some(Value::Null) => return Err(FileError::NoType),
            Some(Value::String(text)) if text.trim().is_empty() => return Err(FileError::NoType),
            Some(Value::String(text)) => text.trim().to_owned(),
            Some(_) => return Err(bad("type", "must be a string")),
        };
        let own = doc
            .get(OWN_MARKER)
            .is_some_and(|marker| marker.as_u64().is_some());
        let kind = match kind_for_type(&file_type) {
            Some(_) if file_type.eq_ignore_ascii_case(KIRO_TYPE) => kiro_kind_of(&doc).to_owned(),
            Some(kind) => kind.to_owned(),
            None if own => file_type.clone(),
            None => return Err(FileError::UnknownType(file_type)),
        };
        let token = nested(&doc);
        let from_either = |keys: &[&str]| {
            secret_at(&doc, keys).or_else(|| token.and_then(|token| secret_at(token, keys)))
        };

        let mut other_secrets = BTreeMap::new();
        let mut access = if kind == "copilot" {
            secret_at(&doc, &["github_token", "github-token"]).or_else(|| from_either(ACCESS_KEYS))
        } else {
            from_either(ACCESS_KEYS)
        };
        if let Some(api_key) = secret_at(&doc, API_KEY_KEYS) {
            if access.is_none() {
                access = Some(api_key);
            } else {
                other_secrets.insert("api-key".to_owned(), api_key);
            }
        }
        if let Some(account) = doc.get("service_account").filter(|sa| sa.is_object()) {
            other_secrets.insert(
                "service-account".to_owned(),
                Secret::new(account.to_string()),
            );
        }
        let expires_at = find_expiry(&doc)
            .map(|(time, _)| time)
            .or_else(|| issued_plus_lifetime(&doc));
        let last_refresh = LAST_REFRESH_KEYS
            .iter()
            .find_map(|key| parse_time(doc.get(*key)?))
            .map(|(time, _)| time);
        let tokens = Tokens {
            access,
            refresh: from_either(REFRESH_KEYS),
            id_token: from_either(ID_TOKEN_KEYS),
            expires_at,
            last_refresh,
        };

        let label = if kind == "copilot" {
            str_at(&doc, &["username", "user", "login", "email", "label"])
        } else {
            str_at(&doc, &["email", "label"])
        }
        .map(str::to_owned);

        let mut attributes = BTreeMap::new();
        for (name, keys) in attribute_sources(&kind) {
            if let Some(value) = str_at(&doc, keys) {
                attributes.insert(name.to_owned(), value.to_owned());
            }
        }
        match doc.get("attributes") {
            None | Some(Value::Null) => {}
            Some(Value::Object(own_attributes)) => {
                for (name, value) in own_attributes {
                    if let Some(value) = value.as_str() {
                        attributes.insert(name.clone(), value.to_owned());
                    }
                }
            }
            Some(_) => return Err(bad("attributes", "must be an object")),
        }
        if is_kiro(&kind) {
            kiro_attributes(&kind, &mut attributes);
        }

        let base_url = str_at(&doc, BASE_URL_KEYS).map(str::to_owned).or_else(|| {
            (kind == "qwen")
                .then(|| str_at(&doc, &["resource_url", "resource-url"]))
                .flatten()
                .map(with_scheme)
        });
        let mut endpoints = BTreeMap::new();
        if let Some(uri) = token.and_then(|token| str_at(token, &["token_uri"])) {
            endpoints.insert("token".to_owned(), uri.to_owned());
        }
        if let Some(own_endpoints) = doc.get("endpoints").and_then(Value::as_object) {
            for (name, value) in own_endpoints {
                if let Some(value) = value.as_str() {
                    endpoints.insert(name.clone(), value.to_owned());
                }
            }
        }

        let disabled = match doc.get("disabled") {
            None => None,
            Some(value) => match truthy(value) {
                Some(true) => Some(
                    str_at(&doc, &["disabled_reason", "disabled-reason"])
                        .unwrap_or("disabled in its file")
                        .to_owned(),
                ),
                Some(false) => None,
                None => return Err(bad("disabled", "must be true or false")),
            },
        };
        let priority = match doc.get("priority") {
            None | Some(Value::Null) => 0,
            Some(Value::Number(number)) => number
                .as_i64()
                .ok_or_else(|| bad("priority", "must be a whole number"))?,
            Some(Value::String(text)) if text.trim().is_empty() => 0,
            Some(Value::String(text)) => text
                .trim()
                .parse()
                .map_err(|_| bad("priority", "must be a whole number"))?,
            Some(_) => return Err(bad("priority", "must be a whole number")),
        };

        Ok(AccountFile {
            id: id.to_owned(),
            kind,
            file_type,
            label,
            client: read_client(&doc),
            tokens,
            attributes,
            base_url,
            endpoints,
            disabled,
            priority,
            other_secrets,
            doc,
        })
    }

    /// A new account in Plugboard's own form (login, import of another tool's file).
    ///
    /// A Kiro account is written as CLIProxyAPI writes one, so that it reads it too:
    /// `type: kiro` with `auth_method` (`social` or `idc`, which tells the kinds apart),
    /// `profile_arn`, `region` and `start_url` at the top level, and its registered
    /// client as `client_id` / `client_secret`.
    pub fn new(
        id: &str,
        kind: &str,
        label: Option<String>,
        tokens: Tokens,
        mut attributes: BTreeMap<String, String>,
    ) -> AccountFile {
        let kiro = is_kiro(kind);
        let file_type = if kiro { KIRO_TYPE } else { kind };
        let mut doc = Map::new();
        doc.insert(OWN_MARKER.into(), Value::from(1));
        doc.insert("type".into(), Value::from(file_type));
        if let Some(label) = &label {
            let key = if label.contains('@') {
                "email"
            } else {
                "label"
            };
            doc.insert(key.into(), Value::from(label.as_str()));
        }
        if kiro {
            kiro_attributes(kind, &mut attributes);
            // Placeholders `set_attributes` fills (or removes when the attribute is
            // absent), so these attributes land in CLIProxyAPI's keys.
            for key in ["auth_method", "profile_arn", "region", "start_url"] {
                doc.insert(key.into(), Value::from(""));
            }
        }
        let mut file = AccountFile {
            id: id.to_owned(),
            kind: kind.to_owned(),
            file_type: file_type.to_owned(),
            label,
            tokens: Tokens::default(),
            attributes: BTreeMap::new(),
            base_url: None,
            endpoints: BTreeMap::new(),
            client: None,
            disabled: None,
            priority: 0,
            other_secrets: BTreeMap::new(),
            doc,
        };
        let last_refresh = tokens.last_refresh;
        file.update_tokens(&tokens);
        if last_refresh.is_none() {
            // A new file states a refresh only when the caller knows of one.
            file.doc.remove("last_refresh");
            file.tokens.last_refresh = None;
        }
        file.set_attributes(attributes);
        file.set_disabled(None);
        file
    }

    /// Take new tokens (a refresh, a new login): written where the file keeps them;
    /// an absent refresh token keeps the old one.
    ///
    /// Each token goes under the key the file already uses for it (else the
    /// snake-case one); a file with a nested `token` object (Gemini CLI) gets both the
    /// nested and the top-level keys, as CLIProxyAPI writes them. The expiry keeps its
    /// key and its form (epoch milliseconds stay milliseconds); a file without one
    /// gets `expired` in RFC 3339. `last_refresh` is set (to now when not given).
    /// Every other key stays as it was, in its place.
    pub fn update_tokens(&mut self, tokens: &Tokens) {
        let nested_at = nested_key(&self.doc);
        let write = |doc: &mut Map<String, Value>, keys: &[&str], secret: &Secret| {
            let key = key_in(doc, keys).unwrap_or(keys[0]);
            doc.insert(key.to_owned(), Value::from(secret.expose()));
            if let Some(nested_at) = nested_at
                && let Some(token) = doc.get_mut(nested_at).and_then(Value::as_object_mut)
            {
                let key = key_in(token, keys).unwrap_or(keys[0]);
                token.insert(key.to_owned(), Value::from(secret.expose()));
            }
        };
        if let Some(access) = &tokens.access {
            let keys: &[&str] = if self.kind == "copilot" && self.doc.contains_key("github_token") {
                &["github_token"]
            } else if self.doc.contains_key("access_token")
                || self.doc.contains_key("accessToken")
                || self.doc.contains_key("access-token")
                || str_at(&self.doc, API_KEY_KEYS).is_none()
                || !self.other_secrets.is_empty()
            {
                ACCESS_KEYS
            } else {
                // A key-only file keeps its key where it is.
                API_KEY_KEYS
            };
            write(&mut self.doc, keys, access);
            self.tokens.access = Some(access.clone());
        }
        // The kept refresh token is written too: a Gemini file gets its top-level copy.
        if let Some(refresh) = tokens
            .refresh
            .clone()
            .or_else(|| self.tokens.refresh.clone())
        {
            write(&mut self.doc, REFRESH_KEYS, &refresh);
            self.tokens.refresh = Some(refresh);
        }
        if let Some(id_token) = &tokens.id_token {
            write(&mut self.doc, ID_TOKEN_KEYS, id_token);
            self.tokens.id_token = Some(id_token.clone());
        }
        self.write_expiry(tokens.expires_at);
        self.tokens.expires_at = tokens.expires_at;

        let refreshed = tokens.last_refresh.unwrap_or_else(SystemTime::now);
        let key = key_in(&self.doc, LAST_REFRESH_KEYS).unwrap_or(LAST_REFRESH_KEYS[0]);
        let form = self
            .doc
            .get(key)
            .and_then(parse_time)
            .map_or(TimeForm::Rfc3339 { millis: false }, |(_, form)| form);
        self.doc
            .insert(key.to_owned(), format_time(refreshed, form));
        self.tokens.last_refresh = Some(refreshed);
    }

    /// Write (or, for `None`, remove) the access token's expiry where the file keeps it.
    fn write_expiry(&mut self, expires_at: Option<SystemTime>) {
        let spot = find_expiry(&self.doc).map(|(_, spot)| spot);
        let nested_at = nested_key(&self.doc);
        let Some(expires_at) = expires_at else {
            if let Some(spot) = spot {
                self.remove_expiry(spot);
            }
            return;
        };
        let spot = spot.unwrap_or(ExpirySpot {
            key: "expired",
            nested: false,
            form: TimeForm::Rfc3339 { millis: false },
        });
        let value = format_time(expires_at, spot.form);
        match (spot.nested, nested_at) {
            (true, Some(nested_at)) => {
                if let Some(token) = self.doc.get_mut(nested_at).and_then(Value::as_object_mut) {
                    token.insert(spot.key.to_owned(), value);
                }
                // CLIProxyAPI also keeps a top-level copy beside the nested token.
                let form = self
                    .doc
                    .get(spot.key)
                    .and_then(parse_time)
                    .map_or(spot.form, |(_, form)| form);
                self.doc
                    .insert(spot.key.to_owned(), format_time(expires_at, form));
            }
            _ => {
                self.doc.insert(spot.key.to_owned(), value);
                if let Some(nested_at) = nested_at
                    && let Some(token) = self.doc.get_mut(nested_at).and_then(Value::as_object_mut)
                    && let Some((_, form)) = token.get(spot.key).and_then(parse_time)
                {
                    token.insert(spot.key.to_owned(), format_time(expires_at, form));
                }
            }
        }
        // Antigravity's issue time + lifetime, kept consistent when the file has them.
        if self.doc.contains_key("timestamp") && self.doc.contains_key("expires_in") {
            let now = SystemTime::now();
            let lifetime = expires_at.duration_since(now).unwrap_or_default().as_secs();
            self.doc
                .insert("timestamp".into(), Value::from(unix_millis(now)));
            self.doc.insert("expires_in".into(), Value::from(lifetime));
        }
    }

    fn remove_expiry(&mut self, spot: ExpirySpot) {
        self.doc.shift_remove(spot.key);
        if let Some(nested_at) = nested_key(&self.doc)
            && let Some(token) = self.doc.get_mut(nested_at).and_then(Value::as_object_mut)
        {
            token.shift_remove(spot.key);
        }
    }

    /// Replace attributes (account setup), label, base URL or client.
    ///
    /// An attribute read from a file key of its own (`project_id`) is written back
    /// there (removed when it is no longer among `attributes`); the rest live in the
    /// file's `attributes` object.
    pub fn set_attributes(&mut self, attributes: BTreeMap<String, String>) {
        let mut rest = attributes.clone();
        for (name, keys) in attribute_sources(&self.kind) {
            let Some(key) = key_in(&self.doc, keys) else {
                continue;
            };
            if !self.doc.get(key).is_some_and(Value::is_string) {
                continue;
            }
            put(&mut self.doc, key, rest.remove(name).map(Value::from));
        }
        if rest.is_empty() {
            self.doc.shift_remove("attributes");
        } else {
            let object: Map<String, Value> = rest
                .into_iter()
                .map(|(name, value)| (name, Value::from(value)))
                .collect();
            self.doc.insert("attributes".into(), Value::Object(object));
        }
        self.attributes = attributes;
    }

    /// Set the label (written as `email` when it is one, else `label`).
    pub fn set_label(&mut self, label: Option<String>) {
        let key = if self.doc.contains_key("email") {
            "email"
        } else if self.doc.contains_key("label") {
            "label"
        } else if label.as_deref().is_some_and(|label| label.contains('@')) {
            "email"
        } else {
            "label"
        };
        put(&mut self.doc, key, label.as_deref().map(Value::from));
        self.label = label;
    }

    /// Set the base URL the file carries (`base_url`).
    pub fn set_base_url(&mut self, base_url: Option<String>) {
        let key = key_in(&self.doc, BASE_URL_KEYS).unwrap_or(BASE_URL_KEYS[0]);
        put(&mut self.doc, key, base_url.as_deref().map(Value::from));
        self.base_url = base_url;
    }

    /// Set the OAuth client the account was issued to (Plugboard's `client` object; a
    /// Kiro account's top-level `client_id` / `client_secret`, as CLIProxyAPI keeps it).
    pub fn set_client(&mut self, client: Option<OAuthClient>) {
        if is_kiro(&self.kind) && !self.doc.contains_key("client") {
            let id_key = key_in(&self.doc, &["clientId", "client-id"]).unwrap_or("client_id");
            let secret_key =
                key_in(&self.doc, &["clientSecret", "client-secret"]).unwrap_or("client_secret");
            let expiry_key =
                key_in(&self.doc, &["clientSecretExpiresAt"]).unwrap_or("client_secret_expires_at");
            let client_ref = client.as_ref();
            put(
                &mut self.doc,
                id_key,
                client_ref.map(|c| Value::from(c.id.as_str())),
            );
            put(
                &mut self.doc,
                secret_key,
                client_ref
                    .and_then(|c| c.secret.as_ref())
                    .map(|s| Value::from(s.expose())),
            );
            put(
                &mut self.doc,
                expiry_key,
                client_ref
                    .and_then(|c| c.expires_at)
                    .map(|t| Value::from(format_rfc3339(t, false))),
            );
            self.client = client;
            return;
        }
        let object = client.as_ref().map(|client| {
            let mut object = Map::new();
            object.insert("id".into(), Value::from(client.id.as_str()));
            if let Some(secret) = &client.secret {
                object.insert("secret".into(), Value::from(secret.expose()));
            }
            if let Some(expires_at) = client.expires_at {
                object.insert(
                    "expires_at".into(),
                    Value::from(format_rfc3339(expires_at, false)),
                );
            }
            Value::Object(object)
        });
        put(&mut self.doc, "client", object);
        self.client = client;
    }

    /// Disable with a reason, or enable (`None`).
    pub fn set_disabled(&mut self, reason: Option<&str>) {
        match reason {
            Some(reason) => {
                self.doc.insert("disabled".into(), Value::Bool(true));
                self.doc
                    .insert("disabled_reason".into(), Value::from(reason));
                self.disabled = Some(reason.to_owned());
            }
            None => {
                self.doc.insert("disabled".into(), Value::Bool(false));
                self.doc.shift_remove("disabled_reason");
                self.doc.shift_remove("disabled-reason");
                self.disabled = None;
            }
        }
    }

    /// What makes two files the same account (kind + ChatGPT account id, email,
    /// GitHub user, profile ARN...), for de-duplication on login and import.
    ///
    /// Copilot: `copilot:<github host>:<user>` (the host `github.com` unless the
    /// `github-host` attribute says otherwise). Others: the `chatgpt-account-id`
    /// attribute (with the label, when known: a team workspace shares the id), else
    /// the label (lower-cased), else the `profile-arn` attribute (not for Kiro, whose
    /// profile ARNs are shared: an unnamed Kiro account is matched by its tokens).
    pub fn identity(&self) -> Option<String> {
        if self.kind == "copilot" {
            let user = self.label.as_deref()?.to_ascii_lowercase();
            let host = self
                .attributes
                .get("github-host")
                .map_or("github.com", String::as_str);
            return Some(format!("copilot:{}:{user}", host.to_ascii_lowercase()));
        }
        let which = if let Some(account) = self.attributes.get("chatgpt-account-id") {
            // A ChatGPT team workspace is one account id for many people: the email
            // tells them apart, as CLIProxyAPI's file names do.
            match &self.label {
                Some(label) => format!("account:{account}:{}", label.to_lowercase()),
                None => format!("account:{account}"),
            }
        } else if let Some(label) = &self.label {
            format!("label:{}", label.to_lowercase())
        } else if is_kiro(&self.kind) {
            // Many Kiro accounts share one profile ARN (every social login's is the
            // same, an organisation's users share theirs): it names no one.
            return None;
        } else if let Some(arn) = self.attributes.get("profile-arn") {
            format!("profile:{arn}")
        } else {
            return None;
        };
        Some(format!("{}:{which}", self.kind))
    }

    /// A secret the file holds besides its tokens (`api-key`, `service-account`).
    pub fn other_secret(&self, name: &str) -> Option<&Secret> {
        self.other_secrets.get(name)
    }

    /// Every secret the file holds (for the redactor).
    pub fn secrets(&self) -> Vec<&Secret> {
        let tokens = [
            &self.tokens.access,
            &self.tokens.refresh,
            &self.tokens.id_token,
        ];
        tokens
            .into_iter()
            .flatten()
            .chain(
                self.client
                    .as_ref()
                    .and_then(|client| client.secret.as_ref()),
            )
            .chain(self.other_secrets.values())
            .collect()
    }

    /// The file's bytes (pretty JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes =
            serde_json::to_vec_pretty(&self.doc).expect("a JSON object always serializes");
        bytes.push(b'\n');
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn parse(json: &str) -> AccountFile {
        AccountFile::parse("test", json.as_bytes()).unwrap()
    }

    /// 2026-07-25T14:10:01Z.
    const T: u64 = 1_784_988_601;

    #[test]
    fn every_expiry_form_and_key_is_read() {
        let forms = [
            r#""expired": "2026-07-25T14:10:01Z""#,
            r#""expire": "2026-07-25T16:10:01+02:00""#,
            r#""expires_at": "2026-07-25 14:10:01""#,
            r#""expiresAt": 1784988601"#,
            r#""expiry": "1784988601""#,
            r#""expires": 1784988601000"#,
            r#""expiry_date": "1784988601000""#,
            r#""token": {"expiry": "2026-07-25T14:10:01.000Z"}"#,
            r#""Token": {"expires_at": 1784988601}"#,
        ];
        for form in forms {
            let file = parse(&format!(r#"{{"type": "codex", {form}}}"#));
            assert_eq!(file.tokens.expires_at, Some(at(T)), "{form}");
        }
        // Antigravity: issued (ms) + lifetime (s), when no expiry key.
        let file =
            parse(r#"{"type": "antigravity", "timestamp": 1784985001000, "expires_in": 3600}"#);
        assert_eq!(file.tokens.expires_at, Some(at(T)));
        // Fractions survive, and a garbled expiry is no expiry.
        let (time, millis) = parse_rfc3339("2026-07-25T14:10:01.899Z").unwrap();
        assert!(millis);
        assert_eq!(time, at(T) + Duration::from_millis(899));
        assert_eq!(
            parse(r#"{"type": "codex", "expired": "soon"}"#)
                .tokens
                .expires_at,
            None
        );
        assert_eq!(format_rfc3339(at(T), false), "2026-07-25T14:10:01Z");
        assert_eq!(format_rfc3339(at(0), true), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn the_kinds_table_maps_cliproxyapi_names_and_canonical_ids() {
        let table = [
            ("codex", "codex"),
            ("claude", "claude-oauth"),
            ("Claude-OAuth", "claude-oauth"),
            ("antigravity", "antigravity"),
            ("gemini", "gemini-cli"),
            ("gemini-cli", "gemini-cli"),
            ("qwen", "qwen"),
            ("iflow", "iflow"),
            ("kimi", "kimi"),
            ("xai", "xai"),
            ("github-copilot", "copilot"),
            ("copilot", "copilot"),
            ("kiro", "kiro-social"),
            ("kiro-social", "kiro-social"),
            ("kiro-idc", "kiro-idc"),
            ("vertex", "vertex"),
        ];
        for (file_type, kind) in table {
            assert_eq!(kind_for_type(file_type), Some(kind), "{file_type}");
        }
        assert_eq!(kind_for_type("pkce"), None);
        assert_eq!(
            AccountFile::parse("x", br#"{"type": "pkce"}"#).unwrap_err(),
            FileError::UnknownType("pkce".into())
        );
        // Plugboard's own files name any kind an adapter declares.
        let own = parse(r#"{"plugboard": 1, "type": "pkce", "label": "test"}"#);
        assert_eq!(
            (own.kind.as_str(), own.label.as_deref()),
            ("pkce", Some("test"))
        );
        assert_eq!(
            AccountFile::parse("x", b"{}").unwrap_err(),
            FileError::NoType
        );
        assert!(matches!(
            AccountFile::parse("x", b"[1]"),
            Err(FileError::NotJson(_))
        ));
    }

    const GEMINI: &str = r#"{
  "auto": false,
  "checked": true,
  "email": "dev@example.com",
  "project_id": "my-project-123",
  "token": {
    "access_token": "ya29.old-access",
    "client_id": "681255809395-example.apps.googleusercontent.com",
    "client_secret": "GOCSPX-example",
    "expiry": "2026-07-25T14:10:01.5Z",
    "refresh_token": "1//old-refresh",
    "scopes": ["https://www.googleapis.com/auth/cloud-platform"],
    "token_type": "Bearer",
    "token_uri": "https://oauth2.googleapis.com/token",
    "universe_domain": "googleapis.com"
  },
  "type": "gemini",
  "zz_unknown": {"kept": [1, 2, 3]}
}"#;

    #[test]
    fn a_gemini_file_takes_new_tokens_nested_and_top_level_and_keeps_the_rest() {
        let mut file = parse(GEMINI);
        assert_eq!(file.kind, "gemini-cli");
        assert_eq!(
            file.tokens.access.as_ref().unwrap().expose(),
            "ya29.old-access"
        );
        assert_eq!(file.attributes["project-id"], "my-project-123");
        assert_eq!(
            file.endpoints["token"],
            "https://oauth2.googleapis.com/token"
        );
        let client = file.client.clone().unwrap();
        assert_eq!(client.secret.unwrap().expose(), "GOCSPX-example");

        let new_expiry = at(T + 3600);
        file.update_tokens(&Tokens {
            access: Some(Secret::new("ya29.new-access")),
            refresh: None,
            id_token: None,
            expires_at: Some(new_expiry),
            last_refresh: Some(at(T)),
        });
        let written: Value = serde_json::from_slice(&file.to_bytes()).unwrap();
        let keys: Vec<&str> = written
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "auto",
                "checked",
                "email",
                "project_id",
                "token",
                "type",
                "zz_unknown",
                "access_token",
                "refresh_token",
                "expiry",
                "last_refresh"
            ]
        );
        let token = &written["token"];
        let nested_keys: Vec<&str> = token
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            nested_keys,
            [
                "access_token",
                "client_id",
                "client_secret",
                "expiry",
                "refresh_token",
                "scopes",
                "token_type",
                "token_uri",
                "universe_domain"
            ]
        );
        assert_eq!(token["access_token"], "ya29.new-access");
        assert_eq!(
            token["refresh_token"], "1//old-refresh",
            "an absent refresh token keeps the old"
        );
        assert_eq!(
            token["expiry"], "2026-07-25T15:10:01.000Z",
            "RFC 3339 with a fraction stays so"
        );
        assert_eq!(written["access_token"], "ya29.new-access");
        assert_eq!(written["refresh_token"], "1//old-refresh");
        assert_eq!(written["expiry"], "2026-07-25T15:10:01.000Z");
        assert_eq!(written["last_refresh"], "2026-07-25T14:10:01Z");
        assert_eq!(
            written["zz_unknown"],
            serde_json::json!({"kept": [1, 2, 3]})
        );
        assert!(file.to_bytes().ends_with(b"}\n"));

        let again = AccountFile::parse("test", &file.to_bytes()).unwrap();
        assert_eq!(again.tokens.access.unwrap().expose(), "ya29.new-access");
        assert_eq!(again.tokens.expires_at, Some(new_expiry));
        assert_eq!(file.tokens.expires_at, Some(new_expiry));
    }

    #[test]
    fn an_epoch_millisecond_expiry_stays_milliseconds() {
        let mut file = parse(
            r#"{"type": "kimi", "access_token": "a", "expired": 1784988601000, "device_id": "d"}"#,
        );
        file.update_tokens(&Tokens {
            access: Some(Secret::new("b")),
            expires_at: Some(at(T + 60)),
            ..Tokens::default()
        });
        assert_eq!(file.doc["expired"], Value::from(1_784_988_661_000_i64));
        assert_eq!(file.doc["device_id"], "d");
        // A file without an expiry key gets `expired` in RFC 3339.
        let mut bare = parse(r#"{"type": "qwen", "access_token": "a"}"#);
        bare.update_tokens(&Tokens {
            expires_at: Some(at(T)),
            ..Tokens::default()
        });
        assert_eq!(bare.doc["expired"], "2026-07-25T14:10:01Z");
    }

    #[test]
    fn disabling_records_a_reason_and_enabling_removes_it() {
        let mut file = parse(r#"{"type": "claude", "email": "me@example.com", "disabled": false}"#);
        assert_eq!(file.disabled, None);
        file.set_disabled(Some("refresh token revoked"));
        assert_eq!(file.doc["disabled"], true);
        let reread = AccountFile::parse("test", &file.to_bytes()).unwrap();
        assert_eq!(reread.disabled.as_deref(), Some("refresh token revoked"));
        file.set_disabled(None);
        assert_eq!(file.doc["disabled"], false);
        assert!(!file.doc.contains_key("disabled_reason"));
        let by_hand = parse(r#"{"type": "claude", "disabled": true}"#);
        assert_eq!(by_hand.disabled.as_deref(), Some("disabled in its file"));
    }

    #[test]
    fn a_new_file_is_plugboards_own_form_and_reads_back() {
        let mut attributes = BTreeMap::new();
        attributes.insert("chatgpt-account-id".to_owned(), "acct-1".to_owned());
        let file = AccountFile::new(
            "codex-me@example.com",
            "codex",
            Some("me@example.com".into()),
            Tokens {
                access: Some(Secret::new("access-1")),
                refresh: Some(Secret::new("refresh-1")),
                id_token: None,
                expires_at: Some(at(T)),
                last_refresh: None,
            },
            attributes,
        );
        let text = String::from_utf8(file.to_bytes()).unwrap();
        let keys: Vec<String> = serde_json::from_str::<Map<String, Value>>(&text)
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            keys,
            [
                "plugboard",
                "type",
                "email",
                "access_token",
                "refresh_token",
                "expired",
                "attributes",
                "disabled"
            ]
        );
        let reread = AccountFile::parse(&file.id, text.as_bytes()).unwrap();
        assert_eq!(reread.identity(), file.identity());
        assert_eq!(
            reread.identity().as_deref(),
            Some("codex:account:acct-1:me@example.com")
        );
        assert_eq!(reread.secrets().len(), 2);
        assert!(
            !format!("{reread:?}").contains("access-1"),
            "Debug never shows a token"
        );
    }

    #[test]
    fn a_kiro_file_is_social_or_idc_by_its_auth_method_client_or_provider() {
        let cases = [
            (r#""auth_method": "social""#, KIRO_SOCIAL),
            (r#""authMethod": "IdC""#, KIRO_IDC),
            (r#""auth_method": "builder-id""#, KIRO_IDC),
            (r#""auth_method": "idc""#, KIRO_IDC),
            (
                r#""auth_method": "import", "client_id": "c", "client_secret": "s""#,
                KIRO_IDC,
            ),
            (r#""clientIdHash": "0f1e""#, KIRO_IDC),
            (r#""provider": "BuilderId""#, KIRO_IDC),
            (r#""provider": "Github""#, KIRO_SOCIAL),
            (r#""attributes": {"auth-method": "idc"}"#, KIRO_IDC),
            (r#""refresh_token": "aor""#, KIRO_SOCIAL),
        ];
        for (keys, kind) in cases {
            let file = parse(&format!(r#"{{"type": "kiro", {keys}}}"#));
            assert_eq!(file.kind, kind, "{keys}");
            assert_eq!(file.file_type, "kiro");
        }
        assert_eq!(kind_for_type("kiro-idc"), Some(KIRO_IDC));
        assert_eq!(
            kind_for_type("KIRO"),
            Some(KIRO_SOCIAL),
            "`--type kiro` logs in socially"
        );
    }

    #[test]
    fn a_cliproxyapi_kiro_file_gets_its_api_region_from_the_profile_arn() {
        let file = parse(
            r#"{"type": "kiro", "access_token": "aoa", "refresh_token": "aor",
                "profile_arn": "arn:aws:codewhisperer:eu-central-1:123456789012:profile/P1",
                "expires_at": "2026-07-25T14:10:01Z", "auth_method": "idc", "region": "eu-west-1",
                "start_url": "https://d-1234567890.awsapps.com/start",
                "client_id": "cid", "client_secret": "csecret"}"#,
        );
        assert_eq!(file.kind, KIRO_IDC);
        assert_eq!(file.attributes["api-region"], "eu-central-1");
        assert_eq!(
            file.attributes["region"], "eu-west-1",
            "the login region stays"
        );
        assert_eq!(
            file.attributes["start-url"],
            "https://d-1234567890.awsapps.com/start"
        );
        assert_eq!(file.client.as_ref().unwrap().id, "cid");
        assert_eq!(file.tokens.expires_at, Some(at(T)));
        // Without an ARN or a region, both regions are us-east-1.
        let bare = parse(r#"{"type": "kiro", "auth_method": "social", "refresh_token": "aor"}"#);
        assert_eq!(
            (
                bare.attributes["api-region"].as_str(),
                bare.attributes["region"].as_str()
            ),
            ("us-east-1", "us-east-1")
        );
    }

    #[test]
    fn a_new_kiro_account_is_written_the_way_cliproxyapi_reads_it() {
        let mut attributes = BTreeMap::new();
        attributes.insert(
            "profile-arn".to_owned(),
            "arn:aws:codewhisperer:eu-central-1:123456789012:profile/P1".to_owned(),
        );
        attributes.insert(
            "start-url".to_owned(),
            "https://view.awsapps.com/start".to_owned(),
        );
        let mut file = AccountFile::new(
            "kiro-idc-1",
            KIRO_IDC,
            None,
            Tokens {
                access: Some(Secret::new("aoa-1")),
                refresh: Some(Secret::new("aor-1")),
                expires_at: Some(at(T)),
                ..Tokens::default()
            },
            attributes,
        );
        file.set_client(Some(OAuthClient {
            id: "registered-id".into(),
            secret: Some(Secret::new("registered-secret")),
            expires_at: Some(at(T + 90 * 86_400)),
        }));
        let written: Value = serde_json::from_slice(&file.to_bytes()).unwrap();
        assert_eq!(written["type"], "kiro");
        assert_eq!(written["auth_method"], "idc");
        assert_eq!(
            written["profile_arn"],
            "arn:aws:codewhisperer:eu-central-1:123456789012:profile/P1"
        );
        assert_eq!(written["region"], "us-east-1");
        assert_eq!(written["start_url"], "https://view.awsapps.com/start");
        assert_eq!(written["client_id"], "registered-id");
        assert_eq!(written["client_secret"], "registered-secret");
        assert_eq!(written["refresh_token"], "aor-1");
        assert_eq!(
            written["attributes"],
            serde_json::json!({"api-region": "eu-central-1"})
        );
        assert!(written.get("client").is_none());

        let again = AccountFile::parse("kiro-idc-1", &file.to_bytes()).unwrap();
        assert_eq!(again.kind, KIRO_IDC);
        assert_eq!(again.attributes, file.attributes);
        let client = again.client.unwrap();
        assert_eq!(client.secret.unwrap().expose(), "registered-secret");
        assert_eq!(client.expires_at, Some(at(T + 90 * 86_400)));

        let social = AccountFile::new(
            "kiro-s",
            KIRO_SOCIAL,
            None,
            Tokens::default(),
            BTreeMap::new(),
        );
        let written: Value = serde_json::from_slice(&social.to_bytes()).unwrap();
        assert_eq!(
            (written["type"].as_str(), written["auth_method"].as_str()),
            (Some("kiro"), Some("social"))
        );
        assert!(written.get("profile_arn").is_none() && written.get("start_url").is_none());
        assert_eq!(
            AccountFile::parse("kiro-s", &social.to_bytes())
                .unwrap()
                .kind,
            KIRO_SOCIAL
        );
    }

    #[test]
    fn unnamed_kiro_accounts_sharing_a_profile_arn_are_not_the_same_account() {
        let shared = "arn:aws:codewhisperer:us-east-1:699475941385:profile/EHGA3GRVQMUK";
        let one = parse(&format!(
            r#"{{"type": "kiro", "auth_method": "social", "profileArn": "{shared}"}}"#
        ));
        assert_eq!(one.identity(), None);
        let named = parse(&format!(
            r#"{{"type": "kiro", "auth_method": "social", "profileArn": "{shared}", "email": "a@b.c"}}"#
        ));
        assert_eq!(named.identity().as_deref(), Some("kiro-social:label:a@b.c"));
    }

    #[test]
    fn attributes_go_back_to_the_key_they_came_from() {
        let mut file = parse(r#"{"type": "antigravity", "email": "a@b.c", "project_id": "p1"}"#);
        let mut attributes = file.attributes.clone();
        attributes.insert("project-id".into(), "p2".into());
        attributes.insert("tier".into(), "pro".into());
        file.set_attributes(attributes);
        assert_eq!(file.doc["project_id"], "p2");
        assert_eq!(file.doc["attributes"], serde_json::json!({"tier": "pro"}));
        let reread = AccountFile::parse("x", &file.to_bytes()).unwrap();
        assert_eq!(reread.attributes, file.attributes);
    }
}
