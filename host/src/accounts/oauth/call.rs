//! One token call, built from a declared `token-call` and sent; its answer read by
//! JSON pointer; its failure classified. Every message that leaves here has passed
//! through a [`Redactor`] built from the secrets the call used and received.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::{FlowEnv, FlowError, Granted};
use crate::credentials::{Redactor, Secret};
use crate::runtime::spec;

/// Longest part of an upstream's error description kept in a message.
const LONGEST_DESCRIPTION: usize = 300;

/// OAuth error codes that refuse for good (the account must log in again).
const REFUSING_CODES: [&str; 6] = [
    "invalid_grant",
    "invalid_client",
    "unauthorized_client",
    "access_denied",
    "refresh_token_reused",
    "invalid_token",
];

/// The values a call's fields may take, the secret ones among them.
#[derive(Default)]
pub(super) struct Values {
    /// The flow's client id.
    pub client_id: String,
    /// The flow's client secret.
    pub client_secret: Option<Secret>,
    /// The scopes, joined.
    pub scope: String,
    /// The redirect URI listened on.
    pub redirect_uri: Option<String>,
    /// The anti-forgery state.
    pub state: Option<String>,
    /// The PKCE verifier.
    pub verifier: Option<Secret>,
    /// Its S256 challenge.
    pub challenge: Option<String>,
    /// The authorization code.
    pub code: Option<Secret>,
    /// The device code.
    pub device_code: Option<Secret>,
    /// The refresh token.
    pub refresh_token: Option<Secret>,
    /// The long-lived secret a call presents (`token-call.present`).
    pub present: Option<Secret>,
    /// The previous call's answer (`token-value::answer`).
    pub previous: Option<Value>,
}

impl Values {
    /// Every secret held, for a redactor.
    pub fn secrets(&self) -> Vec<&Secret> {
        [
            &self.client_secret,
            &self.verifier,
            &self.code,
            &self.device_code,
            &self.refresh_token,
            &self.present,
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// A field's value: text (a form, a query) or JSON (a JSON body). It may be a secret,
/// so its `Debug` shows only which it is.
#[derive(Clone, PartialEq)]
pub(super) enum Filled {
    /// Text.
    Text(String),
    /// A JSON value (its text in a form).
    Json(Value),
}

impl std::fmt::Debug for Filled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Filled::Text(_) => f.write_str("Filled::Text(..)"),
            Filled::Json(_) => f.write_str("Filled::Json(..)"),
        }
    }
}

impl Filled {
    /// The text a form or a query carries.
    pub fn into_text(self) -> String {
        match self {
            Filled::Text(text) => text,
            Filled::Json(Value::String(text)) => text,
            Filled::Json(value) => value.to_string(),
        }
    }
    /// The value a JSON body carries.
    pub fn into_json(self) -> Value {
        match self {
            Filled::Text(text) => Value::String(text),
            Filled::Json(value) => value,
        }
    }
}

/// The value of field `name` of a call to `endpoint`, its role filled from `values`
/// and `env`. A role this flow has no value for is `Invalid`, naming the field only.
pub(super) fn fill(
    env: &FlowEnv<'_>,
    values: &Values,
    endpoint: &str,
    name: &str,
    value: &spec::TokenValue,
) -> Result<Filled, FlowError> {
    use spec::TokenValue as V;
    let missing = |what: &str| {
        FlowError::Invalid(format!(
            "the call to `{endpoint}`: field `{name}` needs {what}, which this flow has not"
        ))
    };
    let secret = |held: &Option<Secret>, what: &str| {
        held.as_ref()
            .map(|secret| Filled::Text(secret.expose().to_owned()))
            .ok_or_else(|| missing(what))
    };
    let text = |held: &Option<String>, what: &str| {
        held.clone().map(Filled::Text).ok_or_else(|| missing(what))
    };
    match value {
        V::Text(text) => Ok(Filled::Text(text.clone())),
        V::Json(json) => serde_json::from_str(json)
            .map(Filled::Json)
            .map_err(|_| missing("valid JSON")),
        V::ClientId if values.client_id.is_empty() => Err(missing("a client id")),
        V::ClientId => Ok(Filled::Text(values.client_id.clone())),
        V::ClientSecret => secret(&values.client_secret, "a client secret"),
        V::Scope => Ok(Filled::Text(values.scope.clone())),
        V::RedirectUri => text(&values.redirect_uri, "a redirect URI"),
        V::State => text(&values.state, "a state"),
        V::CodeVerifier => secret(&values.verifier, "a PKCE verifier"),
        V::CodeChallenge => text(&values.challenge, "a PKCE challenge"),
        V::Code => secret(&values.code, "an authorization code"),
        V::DeviceCode => secret(&values.device_code, "a device code"),
        V::RefreshToken => secret(&values.refresh_token, "a refresh token"),
        V::Input(input) => env
            .inputs
            .get(input)
            .map(|value| Filled::Text(value.clone()))
            .ok_or_else(|| missing(&format!("login input `{input}`"))),
        V::Attribute(attribute) => env
            .attributes
            .get(attribute)
            .map(|value| Filled::Text(value.clone()))
            .ok_or_else(|| missing(&format!("account attribute `{attribute}`"))),
        V::Answer(pointer) => values
            .previous
            .as_ref()
            .and_then(|answer| answer.pointer(pointer))
            .filter(|value| !value.is_null())
            .map(|value| Filled::Json(value.clone()))
            .ok_or_else(|| missing(&format!("`{pointer}` of the previous answer"))),
    }
}

/// The URL of endpoint `name`.
pub(super) fn endpoint_url<'a>(env: &'a FlowEnv<'_>, name: &str) -> Result<&'a str, FlowError> {
    env.endpoints
        .iter()
        .find(|(endpoint, _)| endpoint == name)
        .map(|(_, url)| url.as_str())
        .ok_or_else(|| FlowError::Invalid(format!("no endpoint named `{name}`")))
}

/// A call's answer: status and body (JSON `null` when it is not JSON). No `Debug`:
/// the body may hold tokens.
pub(super) struct Answer {
    /// The endpoint's name.
    pub endpoint: String,
    /// HTTP status.
    pub status: u16,
    /// The body, parsed.
    pub json: Value,
    /// The body as text (for messages about an answer that is not JSON).
    pub text: String,
}

impl Answer {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The `User-Agent` of every token call: Plugboard says who it is.
fn user_agent() -> String {
    format!("plugboard/{}", env!("CARGO_PKG_VERSION"))
}

/// Send `call` with its fields filled from `values`. A failure to get an answer at
/// all (network, timeout) is `Transient`; any answer, whatever its status, is `Ok`.
pub(super) async fn send(
    env: &FlowEnv<'_>,
    call: &spec::TokenCall,
    values: &Values,
) -> Result<Answer, FlowError> {
    let endpoint = call.endpoint.as_str();
    let base = endpoint_url(env, endpoint)?;
    let mut url = reqwest::Url::parse(base)
        .map_err(|_| FlowError::Invalid(format!("endpoint `{endpoint}` is not an absolute URL")))?;
    let method =
        reqwest::Method::from_bytes(call.method.to_ascii_uppercase().as_bytes()).map_err(|_| {
            FlowError::Invalid(format!(
                "the call to `{endpoint}` has method `{}`",
                call.method
            ))
        })?;
    let mut fields = Vec::with_capacity(call.fields.len());
    for (name, value) in &call.fields {
        fields.push((name.as_str(), fill(env, values, endpoint, name, value)?));
    }
    let mut query: Vec<(String, String)> = Vec::new();
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut body: Option<(Vec<u8>, &str)> = None;
    match call.encoding {
        spec::BodyEncoding::None => {
            query.extend(
                fields
                    .into_iter()
                    .map(|(n, v)| (n.to_owned(), v.into_text())),
            );
        }
        spec::BodyEncoding::Form => {
            let mut form = reqwest::Url::parse("http://form.invalid/").expect("a fixed URL");
            form.query_pairs_mut().extend_pairs(
                fields
                    .into_iter()
                    .map(|(n, v)| (n.to_owned(), v.into_text())),
            );
            let encoded = form.query().unwrap_or("").as_bytes().to_vec();
            body = Some((encoded, "application/x-www-form-urlencoded"));
        }
        spec::BodyEncoding::Json => {
            let object: Map<String, Value> = fields
                .into_iter()
                .map(|(n, v)| (n.to_owned(), v.into_json()))
                .collect();
            let encoded = serde_json::to_vec(&Value::Object(object)).expect("JSON serialises");
            body = Some((encoded, "application/json"));
        }
    }
    match &call.present {
        spec::Placement::None => {}
        placement => {
            let secret = values.present.as_ref().ok_or_else(|| {
                FlowError::Invalid(format!(
                    "the call to `{endpoint}` presents a secret this flow has not"
                ))
            })?;
            match placement {
                spec::Placement::Bearer => headers.push((
                    "authorization".into(),
                    format!("Bearer {}", secret.expose()),
                )),
                spec::Placement::Header(header) => headers.push((
                    header.name.clone(),
                    format!(
                        "{}{}",
                        header.prefix.as_deref().unwrap_or(""),
                        secret.expose()
                    ),
                )),
                spec::Placement::Query(name) => {
                    query.push((name.clone(), secret.expose().to_owned()))
                }
                spec::Placement::None => {}
            }
        }
    }
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    let mut request = env
        .http
        .request(method, url)
        .timeout(env.timeout)
        .header("user-agent", user_agent());
    let spec_sets_accept = call
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("accept"));
    if !spec_sets_accept {
        request = request.header("accept", "application/json");
    }
    for (name, value) in &call.headers {
        // We identify truthfully: a declared User-Agent does not replace ours.
        if !name.eq_ignore_ascii_case("user-agent") {
            request = request.header(name.as_str(), value.as_str());
        }
    }
    for (name, value) in headers {
        request = request.header(name, value);
    }
    if let Some((bytes, content_type)) = body {
        request = request.header("content-type", content_type).body(bytes);
    }
    let redactor = Redactor::new(values.secrets());
    let response = request
        .send()
        .await
        .map_err(|error| transport_error(endpoint, error, &redactor))?;
    let status = response.status().as_u16();
    tracing::debug!(endpoint, status, "token call answered");
    let bytes = response
        .bytes()
        .await
        .map_err(|error| transport_error(endpoint, error, &redactor))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(Answer {
        endpoint: endpoint.to_owned(),
        status,
        json,
        text,
    })
}

/// A transport failure, as a `Transient` error without URL or secret.
fn transport_error(endpoint: &str, error: reqwest::Error, redactor: &Redactor) -> FlowError {
    let what = if error.is_timeout() {
        "timed out".to_owned()
    } else {
        error.without_url().to_string()
    };
    FlowError::Transient(redactor.redact(&format!("the call to `{endpoint}` failed: {what}")))
}

/// The OAuth error code and description of an answer (`{error, error_description}`,
/// or `{error: {code | type, message}}`), when it has one.
pub(super) fn oauth_error(json: &Value) -> Option<(String, String)> {
    let error = json.get("error")?;
    let (code, message) = match error {
        Value::String(code) => (
            code.clone(),
            json.get("error_description")
                .or_else(|| json.get("message"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        ),
        Value::Object(nested) => (
            nested
                .get("code")
                .or_else(|| nested.get("type"))
                .and_then(Value::as_str)?
                .to_owned(),
            nested
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        ),
        _ => return None,
    };
    Some((code, message))
}

/// `text` cut to [`LONGEST_DESCRIPTION`] characters.
fn shortened(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(LONGEST_DESCRIPTION) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Why a non-2xx answer failed: 429 and 5xx are `Transient`; 400/401/403 with a
/// refusing OAuth code are `Rejected` with that code; any other 4xx is `Rejected` with
/// the status as code. Messages are redacted.
pub(super) fn classify(answer: &Answer, redactor: &Redactor) -> FlowError {
    let endpoint = &answer.endpoint;
    let status = answer.status;
    let parsed = oauth_error(&answer.json);
    let detail = match &parsed {
        Some((code, message)) if message.is_empty() => code.clone(),
        Some((code, message)) => format!("{code}: {}", shortened(message)),
        None => shortened(&answer.text),
    };
    let detail = redactor.redact(&detail);
    if status == 429 || status >= 500 {
        return FlowError::Transient(format!("`{endpoint}` answered {status}: {detail}"));
    }
    if (400..500).contains(&status) {
        if let Some((code, message)) = &parsed
            && matches!(status, 400 | 401 | 403)
            && REFUSING_CODES.contains(&code.as_str())
        {
            return FlowError::Rejected {
                code: redactor.redact(code),
                message: redactor.redact(&shortened(message)),
            };
        }
        return FlowError::Rejected {
            code: status.to_string(),
            message: format!("`{endpoint}` answered {status}: {detail}"),
        };
    }
    FlowError::Invalid(format!(
        "`{endpoint}` answered with unexpected status {status}"
    ))
}

/// The answer's JSON when it is a 2xx, else its failure.
pub(super) fn expect_success(answer: Answer, redactor: &Redactor) -> Result<Value, FlowError> {
    if answer.is_success() {
        Ok(answer.json)
    } else {
        Err(classify(&answer, redactor))
    }
}

/// A whole number of seconds: a JSON number or a numeric string.
pub(super) fn seconds(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number
            .as_u64()
            .or_else(|| number.as_f64().filter(|n| *n >= 0.0).map(|n| n as u64)),
        Value::String(text) => text.trim().parse::<u64>().ok().or_else(|| {
            text.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| *n >= 0.0)
                .map(|n| n as u64)
        }),
        _ => None,
    }
}

/// The non-empty string at `pointer`.
pub(super) fn string_at(json: &Value, pointer: &str) -> Option<String> {
    json.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

/// A fact as attribute text: a string as is, a number or boolean as written.
fn attribute_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// Read a token answer of `endpoint` by `spec`'s pointers. No access token is
/// `Invalid`.
pub(super) fn read_granted(
    json: &Value,
    spec: &spec::TokenAnswer,
    endpoint: &str,
) -> Result<Granted, FlowError> {
    let access = string_at(json, &spec.access_token).ok_or_else(|| {
        FlowError::Invalid(format!(
            "the answer of `{endpoint}` has no access token at `{}`",
            spec.access_token
        ))
    })?;
    let secret_at = |pointer: &Option<String>| {
        pointer
            .as_deref()
            .and_then(|p| string_at(json, p))
            .map(Secret::new)
    };
    let number_at = |pointer: &Option<String>| {
        pointer
            .as_deref()
            .and_then(|p| json.pointer(p))
            .and_then(seconds)
    };
    let now = SystemTime::now();
    let expires_at = number_at(&spec.expires_at)
        .map(|unix| UNIX_EPOCH + Duration::from_secs(unix))
        .or_else(|| number_at(&spec.expires_in).map(|secs| now + Duration::from_secs(secs)));
    let attributes = spec
        .attributes
        .iter()
        .filter_map(|(name, pointer)| {
            let value = json.pointer(pointer).and_then(attribute_text)?;
            Some((name.clone(), value))
        })
        .collect();
    Ok(Granted {
        access: Secret::new(access),
        refresh: secret_at(&spec.refresh_token),
        id_token: secret_at(&spec.id_token),
        expires_at,
        base_url: spec
            .base_url
            .as_deref()
            .and_then(|p| string_at(json, p))
            .map(|url| with_scheme(&url)),
        attributes,
    })
}

/// An answer's base URL with `https://` in front when it names a bare host (Qwen's
/// `resource_url` is `portal.qwen.ai`); a URL with a scheme is kept as it is.
pub(super) fn with_scheme(url: &str) -> String {
    let url = url.trim();
    if url.contains("://") {
        url.to_owned()
    } else {
        format!("https://{url}")
    }
}

/// A redactor for the secrets `values` holds and those `json` (an answer) carries at
/// `spec`'s pointers.
pub(super) fn redactor_for(
    values: &Values,
    json: Option<&Value>,
    spec: Option<&spec::TokenAnswer>,
) -> Redactor {
    let mut secrets: Vec<Secret> = values.secrets().into_iter().cloned().collect();
    if let (Some(json), Some(spec)) = (json, spec) {
        for pointer in [
            Some(&spec.access_token),
            spec.refresh_token.as_ref(),
            spec.id_token.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            if let Some(value) = string_at(json, pointer) {
                secrets.push(Secret::new(value));
            }
        }
    }
    Redactor::new(secrets.iter())
}

/// Base64url without padding (RFC 4648 §5).
pub(super) fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode base64url (or standard base64), padding optional (and ignored).
pub(crate) fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const TOLERANT: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, TOLERANT);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, TOLERANT);
    let text = text.trim_end_matches('=');
    URL_SAFE
        .decode(text)
        .or_else(|_| STANDARD.decode(text))
        .ok()
}

/// `len` random bytes from the OS.
pub(super) fn random_bytes(len: usize) -> Result<Vec<u8>, FlowError> {
    let mut bytes = vec![0u8; len];
    getrandom::getrandom(&mut bytes)
        .map_err(|error| FlowError::Transient(format!("no randomness from the OS: {error}")))?;
    Ok(bytes)
}

/// The PKCE S256 challenge of `verifier` (RFC 7636 §4.2).
pub(super) fn pkce_challenge(verifier: &str) -> String {
    use sha2::{Digest, Sha256};
    base64url(&Sha256::digest(verifier.as_bytes()))
}
