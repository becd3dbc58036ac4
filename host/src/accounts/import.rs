//! `plugboard accounts import`: the credential files other tools leave (CLIProxyAPI's
//! auth directory, Codex CLI, Claude Code, Gemini CLI, the Kiro IDE, Copilot editors),
//! read leniently and turned into account files. Import copies, never links, never
//! writes to the source.
//!
//! Recognised (detected by shape, not by file name):
//!
//! | format | shape |
//! | --- | --- |
//! | CLIProxyAPI / Plugboard | an object with `type`; or a directory of them |
//! | Codex CLI `auth.json` | `tokens {id_token, access_token, refresh_token, account_id}` |
//! | Claude Code `.credentials.json` | `claudeAiOauth {accessToken, refreshToken, expiresAt}` |
//! | Gemini CLI `oauth_creds.json` | `access_token`, `refresh_token`, `expiry_date` (ms) |
//! | Kiro `kiro-auth-token.json` | `accessToken`, `refreshToken`, `authMethod`/`profileArn`/`clientIdHash` (+ `<clientIdHash>.json` beside it); kind `kiro-social` or `kiro-idc` |
//! | Copilot `apps.json` / `hosts.json` | `{"<host>[:<client id>]": {user, oauth_token}}` |
//!
//! Id tokens are read without checking their signature: only to name the account
//! (email) and find its ChatGPT account id, as the tools themselves do.
//!
//! OWNER: the store helper. This is the API the rest of the host codes against.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, bail};
use serde_json::{Map, Value};

use super::file::{self, AccountFile, OAuthClient, Tokens};
use super::store::proposed_id;
use crate::credentials::Secret;

/// What one source path held.
#[derive(Debug)]
pub struct Imported {
    /// Which tool's format it was (`CLIProxyAPI`, `Codex CLI`...).
    pub format: &'static str,
    /// The accounts in it (ids are proposals; the store de-duplicates).
    pub accounts: Vec<AccountFile>,
}

/// The formats [`read`] recognises, for the error that lists them.
const RECOGNISED: &str = "a CLIProxyAPI or Plugboard account file (or a directory of them), \
    Codex CLI auth.json, Claude Code .credentials.json, Gemini CLI oauth_creds.json, \
    Kiro kiro-auth-token.json, GitHub Copilot apps.json or hosts.json";

/// Read `path` (a file, or a directory of CLIProxyAPI files) in whichever format it is.
pub fn read(path: &Path) -> anyhow::Result<Vec<Imported>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        return read_dir(path);
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let doc = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(doc)) => doc,
        Ok(_) => bail!(
            "{} holds no JSON object; recognised: {RECOGNISED}",
            path.display()
        ),
        Err(error) => bail!(
            "{} is not JSON ({error}); recognised: {RECOGNISED}",
            path.display()
        ),
    };
    let stem = path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or("imported")
        .to_owned();
    let (format, accounts) = if doc.contains_key("type") {
        let format = store_format(&doc);
        let account = AccountFile::parse(&stem, &bytes)
            .map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?;
        (format, vec![account])
    } else if doc.contains_key("tokens") || doc.contains_key("OPENAI_API_KEY") {
        ("Codex CLI", vec![codex(path, &doc)?])
    } else if let Some(oauth) = doc.get("claudeAiOauth") {
        ("Claude Code", vec![claude(path, oauth)?])
    } else if str_at(&doc, &["accessToken", "refreshToken"]).is_some() {
        ("Kiro", vec![kiro(path, &doc)?])
    } else if doc.contains_key("refresh_token") || doc.contains_key("expiry_date") {
        ("Gemini CLI", vec![gemini(path, &doc)?])
    } else if !doc.is_empty()
        && doc
            .values()
            .all(|entry| entry.get("oauth_token").is_some_and(Value::is_string))
    {
        ("GitHub Copilot", copilot(&doc))
    } else {
        bail!(
            "{}: not a credential file Plugboard knows; recognised: {RECOGNISED}",
            path.display()
        );
    };
    Ok(vec![Imported { format, accounts }])
}

fn store_format(doc: &Map<String, Value>) -> &'static str {
    if doc.contains_key("plugboard") {
        "Plugboard"
    } else {
        "CLIProxyAPI"
    }
}

/// Every top-level `*.json` of a CLIProxyAPI (or Plugboard) auth directory; a file
/// that is not an account is skipped with a warning naming it.
fn read_dir(dir: &Path) -> anyhow::Result<Vec<Imported>> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.is_file()
                && path.extension().is_some_and(|ext| ext == "json")
                && !path
                    .file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with('.'))
        })
        .collect();
    entries.sort();
    let mut by_format: BTreeMap<&'static str, Vec<AccountFile>> = BTreeMap::new();
    for path in entries {
        let Some(stem) = path.file_stem().and_then(|stem| stem.to_str()) else {
            continue;
        };
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        match AccountFile::parse(stem, &bytes) {
            Ok(account) => {
                let format = store_format(&account.doc);
                by_format.entry(format).or_default().push(account);
            }
            Err(error) => {
                tracing::warn!(file = %path.display(), %error, "not an account file; not imported");
            }
        }
    }
    if by_format.is_empty() {
        bail!(
            "{} holds no account files; recognised: {RECOGNISED}",
            dir.display()
        );
    }
    Ok(by_format
        .into_iter()
        .map(|(format, accounts)| Imported { format, accounts })
        .collect())
}

/// The first non-empty string under one of `keys`.
fn str_at<'a>(object: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .filter_map(|key| object.get(*key)?.as_str())
        .map(str::trim)
        .find(|value| !value.is_empty())
}

fn secret_at(object: &Map<String, Value>, keys: &[&str]) -> Option<Secret> {
    str_at(object, keys).map(Secret::new)
}

fn time_at(object: &Map<String, Value>, keys: &[&str]) -> Option<std::time::SystemTime> {
    keys.iter()
        .find_map(|key| file::parse_time(object.get(*key)?))
        .map(|(time, _)| time)
}

/// A JWT's claims, read WITHOUT checking its signature (to name the account only).
fn jwt_claims(token: &str) -> Option<Map<String, Value>> {
    match super::oauth::jwt_claims(token)? {
        Value::Object(claims) => Some(claims),
        _ => None,
    }
}

/// The email claim of an id token.
fn email_of(id_token: Option<&Secret>) -> Option<String> {
    let claims = jwt_claims(id_token?.expose())?;
    str_at(&claims, &["email"]).map(str::to_owned).or_else(|| {
        claims
            .get("https://api.openai.com/profile")
            .and_then(Value::as_object)
            .and_then(|profile| str_at(profile, &["email"]))
            .map(str::to_owned)
    })
}

/// Codex CLI's `auth.json`. An API-key-only file is not an account.
fn codex(path: &Path, doc: &Map<String, Value>) -> anyhow::Result<AccountFile> {
    let Some(tokens) = doc.get("tokens").and_then(Value::as_object) else {
        bail!(
            "{} holds only an OpenAI API key, not a ChatGPT login: configure it as an api-key instead of importing it",
            path.display()
        );
    };
    let access = secret_at(tokens, &["access_token"]);
    let refresh = secret_at(tokens, &["refresh_token"]);
    if access.is_none() && refresh.is_none() {
        bail!(
            "{}: `tokens` has neither an access nor a refresh token",
            path.display()
        );
    }
    let id_token = secret_at(tokens, &["id_token"]);
    let claims = id_token
        .as_ref()
        .and_then(|token| jwt_claims(token.expose()));
    let account_id = str_at(tokens, &["account_id"])
        .map(str::to_owned)
        .or_else(|| {
            claims
                .as_ref()?
                .get("https://api.openai.com/auth")?
                .as_object()
                .and_then(|auth| str_at(auth, &["chatgpt_account_id"]))
                .map(str::to_owned)
        });
    // The access token is a JWT too; its `exp` is when it expires.
    let expires_at = access
        .as_ref()
        .and_then(|token| jwt_claims(token.expose()))
        .and_then(|claims| time_at(&claims, &["exp"]));
    let label = email_of(id_token.as_ref());
    let mut attributes = BTreeMap::new();
    if let Some(account_id) = account_id {
        attributes.insert("chatgpt-account-id".to_owned(), account_id);
    }
    let tokens = Tokens {
        access,
        refresh,
        id_token,
        expires_at,
        last_refresh: time_at(doc, &["last_refresh"]),
    };
    Ok(AccountFile::new(
        &proposed_id("codex", label.as_deref()),
        "codex",
        label,
        tokens,
        attributes,
    ))
}

/// Claude Code's `.credentials.json`.
fn claude(path: &Path, oauth: &Value) -> anyhow::Result<AccountFile> {
    let oauth = oauth
        .as_object()
        .with_context(|| format!("{}: `claudeAiOauth` is not an object", path.display()))?;
    let tokens = Tokens {
        access: secret_at(oauth, &["accessToken"]),
        refresh: secret_at(oauth, &["refreshToken"]),
        id_token: None,
        expires_at: time_at(oauth, &["expiresAt"]),
        last_refresh: None,
    };
    if tokens.access.is_none() && tokens.refresh.is_none() {
        bail!("{}: `claudeAiOauth` has no token", path.display());
    }
    let mut attributes = BTreeMap::new();
    if let Some(plan) = str_at(oauth, &["subscriptionType"]) {
        attributes.insert("subscription-type".to_owned(), plan.to_owned());
    }
    Ok(AccountFile::new(
        &proposed_id("claude-oauth", None),
        "claude-oauth",
        None,
        tokens,
        attributes,
    ))
}

/// Gemini CLI's `oauth_creds.json` (google-auth-library credentials).
fn gemini(path: &Path, doc: &Map<String, Value>) -> anyhow::Result<AccountFile> {
    let tokens = Tokens {
        access: secret_at(doc, &["access_token"]),
        refresh: secret_at(doc, &["refresh_token"]),
        id_token: secret_at(doc, &["id_token"]),
        expires_at: time_at(doc, &["expiry_date", "expiry"]),
        last_refresh: None,
    };
    if tokens.refresh.is_none() {
        bail!("{}: no `refresh_token`", path.display());
    }
    let label = email_of(tokens.id_token.as_ref());
    Ok(AccountFile::new(
        &proposed_id("gemini-cli", label.as_deref()),
        "gemini-cli",
        label,
        tokens,
        BTreeMap::new(),
    ))
}

/// The Kiro IDE's `kiro-auth-token.json`, with the client registration
/// `<clientIdHash>.json` beside it when it names one. The kind comes from `authMethod`
/// (`social`: `kiro-social`; `IdC`: `kiro-idc`), else from a client registration or
/// the `provider` (see [`file::kiro_kind`]); `api-region` from the profile ARN.
fn kiro(path: &Path, doc: &Map<String, Value>) -> anyhow::Result<AccountFile> {
    let tokens = Tokens {
        access: secret_at(doc, &["accessToken", "access_token"]),
        refresh: secret_at(doc, &["refreshToken", "refresh_token"]),
        id_token: None,
        expires_at: time_at(doc, &["expiresAt", "expires_at"]),
        last_refresh: None,
    };
    let mut attributes = BTreeMap::new();
    for (name, keys) in [
        ("profile-arn", &["profileArn", "profile_arn"][..]),
        ("region", &["region"]),
        ("auth-method", &["authMethod", "auth_method"]),
        ("provider", &["provider"]),
        ("start-url", &["startUrl", "start_url"]),
    ] {
        if let Some(value) = str_at(doc, keys) {
            attributes.insert(name.to_owned(), value.to_owned());
        }
    }
    let mut client = str_at(doc, &["clientId"]).map(|id| OAuthClient {
        id: id.to_owned(),
        secret: secret_at(doc, &["clientSecret"]),
        expires_at: time_at(doc, &["clientSecretExpiresAt"]),
    });
    if let Some(hash) = str_at(doc, &["clientIdHash"]) {
        if hash.contains(['/', '\\', '\0']) || hash.contains("..") || hash.starts_with('.') {
            bail!(
                "{}: `clientIdHash` is not a plain file name",
                path.display()
            );
        }
        let companion = path
            .parent()
            .unwrap_or(Path::new("."))
            .join(format!("{hash}.json"));
        match std::fs::read(&companion) {
            Ok(bytes) => {
                let registration: Map<String, Value> = serde_json::from_slice(&bytes)
                    .with_context(|| format!("{} is not a JSON object", companion.display()))?;
                if let Some(id) = str_at(&registration, &["clientId", "client_id"]) {
                    client = Some(OAuthClient {
                        id: id.to_owned(),
                        secret: secret_at(&registration, &["clientSecret", "client_secret"]),
                        expires_at: time_at(&registration, &["expiresAt", "clientSecretExpiresAt"]),
                    });
                }
            }
            Err(error) => tracing::warn!(
                file = %companion.display(),
                %error,
                "the Kiro client registration named by clientIdHash is missing; the account will need a new login to refresh"
            ),
        }
    }
    let kind = file::kiro_kind(
        attributes.get("auth-method").map(String::as_str),
        attributes.get("provider").map(String::as_str),
        client.is_some() || doc.contains_key("clientIdHash"),
    );
    if tokens.refresh.is_none() {
        bail!("{}: no `refreshToken`", path.display());
    }
    let label = str_at(doc, &["email"]).map(str::to_owned);
    let id = proposed_id("kiro", label.as_deref());
    let mut account = AccountFile::new(&id, kind, label, tokens, attributes);
    if client.is_some() {
        account.set_client(client);
    }
    Ok(account)
}

/// Copilot's `apps.json` / `hosts.json`: one account per entry; the GitHub token is
/// the long-lived secret.
fn copilot(doc: &Map<String, Value>) -> Vec<AccountFile> {
    doc.iter()
        .filter_map(|(key, entry)| {
            let entry = entry.as_object()?;
            let token = secret_at(entry, &["oauth_token"])?;
            let host = key
                .split(':')
                .next()
                .filter(|host| !host.is_empty())
                .unwrap_or("github.com");
            let label = str_at(entry, &["user", "login"]).map(str::to_owned);
            let mut attributes = BTreeMap::new();
            attributes.insert("github-host".to_owned(), host.to_owned());
            let tokens = Tokens {
                access: Some(token),
                ..Tokens::default()
            };
            let name = match (&label, host) {
                (Some(user), "github.com") => Some(user.clone()),
                (Some(user), host) => Some(format!("{user}@{host}")),
                (None, _) => None,
            };
            Some(AccountFile::new(
                &proposed_id("copilot", name.as_deref()),
                "copilot",
                label,
                tokens,
                attributes,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Kiro IDE's token file of a GitHub login (the IDE writes the profile ARN).
    const KIRO_SOCIAL_FILE: &str = r#"{
      "accessToken": "aoaSocialAccess",
      "refreshToken": "aorSocialRefresh",
      "profileArn": "arn:aws:codewhisperer:eu-central-1:123456789012:profile/SOCIAL1",
      "expiresAt": "2026-07-25T14:10:01.899Z",
      "authMethod": "social",
      "provider": "Github"
    }"#;

    #[test]
    fn a_kiro_ide_social_file_is_a_social_account_in_the_profile_arns_api_region() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiro-auth-token.json");
        std::fs::write(&path, KIRO_SOCIAL_FILE).unwrap();
        let imported = read(&path).unwrap();
        let account = &imported[0].accounts[0];
        assert_eq!(imported[0].format, "Kiro");
        assert_eq!(account.kind, file::KIRO_SOCIAL);
        assert_eq!(account.attributes["api-region"], "eu-central-1");
        assert_eq!(account.attributes["region"], "us-east-1");
        assert!(account.client.is_none());
        let written: Value = serde_json::from_slice(&account.to_bytes()).unwrap();
        assert_eq!(
            (written["type"].as_str(), written["auth_method"].as_str()),
            (Some("kiro"), Some("social"))
        );
        assert_eq!(written["expired"], "2026-07-25T14:10:01Z");
    }

    #[test]
    fn a_kiro_ide_idc_file_takes_its_companion_registration_and_refuses_a_path_in_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        let hash = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c";
        let token = serde_json::json!({
            "accessToken": "aoaIdcAccess", "refreshToken": "aorIdcRefresh",
            "expiresAt": "2026-07-25T14:10:01.899Z", "authMethod": "IdC", "provider": "BuilderId",
            "region": "us-east-1", "clientIdHash": hash,
        });
        std::fs::write(dir.path().join("kiro-auth-token.json"), token.to_string()).unwrap();
        std::fs::write(
            dir.path().join(format!("{hash}.json")),
            r#"{"clientId": "reg-id", "clientSecret": "reg-secret", "expiresAt": "2026-10-23T14:10:01.000Z"}"#,
        )
        .unwrap();
        let imported = read(&dir.path().join("kiro-auth-token.json")).unwrap();
        let account = &imported[0].accounts[0];
        assert_eq!(account.kind, file::KIRO_IDC);
        assert_eq!(account.attributes["auth-method"], "IdC");
        assert_eq!(account.attributes["api-region"], "us-east-1");
        let client = account.client.as_ref().unwrap();
        assert_eq!(
            (client.id.as_str(), client.secret.as_ref().unwrap().expose()),
            ("reg-id", "reg-secret")
        );
        let written: Value = serde_json::from_slice(&account.to_bytes()).unwrap();
        assert_eq!(written["client_id"], "reg-id");

        let mut evil = token.clone();
        evil["clientIdHash"] = Value::from("../../etc/passwd");
        std::fs::write(dir.path().join("evil.json"), evil.to_string()).unwrap();
        let error = read(&dir.path().join("evil.json")).unwrap_err().to_string();
        assert!(error.contains("clientIdHash"), "{error}");
    }

    #[test]
    fn a_jwt_payload_decodes_without_padding() {
        // {"email":"a@b.c"} base64url without padding.
        let token = "e30.eyJlbWFpbCI6ImFAYi5jIn0.c2ln";
        assert_eq!(
            email_of(Some(&Secret::new(token))).as_deref(),
            Some("a@b.c")
        );
        assert!(jwt_claims("not-a-jwt").is_none());
    }
}
