//! `GET status` and `GET config`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{Management, error, ok, rfc3339};
use crate::credentials::REDACTED;
use crate::runtime::ComponentKind;

/// What `plugboard --version` prints.
pub fn version_line() -> String {
    format!("plugboard {}", env!("CARGO_PKG_VERSION"))
}

/// `GET status`: version, uptime, components loaded and refused, the provider entries
/// (name, adapter, whether it is loaded, the credential kinds one logs in with), accounts
/// by state, and the config: the generation in force, when it was applied, the last refused
/// config with its reason, settings waiting for a restart.
pub(super) async fn status(State(management): State<Arc<Management>>) -> Response {
    let gateway = &management.gateway();
    let (loaded, refused) = components(gateway);
    let rows = super::accounts::rows(&management);
    let mut by_state: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &rows {
        *by_state.entry(row.state).or_default() += 1;
    }
    ok(json!({
        "version": version_line(),
        "started_at": rfc3339(management.started_at),
        "uptime_s": management.started.elapsed().as_secs(),
        "components": {"loaded": loaded, "refused": refused},
        "providers": providers(gateway),
        "accounts": {"total": rows.len(), "by_state": by_state},
        "config": super::reloader().map_or(Value::Null, |reloader| {
            serde_json::to_value(reloader.status()).unwrap_or(Value::Null)
        }),
    }))
}

/// The config's provider entries: `name`, `adapter`, `loaded` (its adapter is), and
/// `logins`: the credential kinds of its adapter that a login makes (`kind`,
/// `description`), for `POST accounts/login`.
fn providers(gateway: &crate::pipeline::Gateway) -> Vec<Value> {
    let registry = gateway.runtime.registry();
    gateway
        .config
        .providers
        .iter()
        .map(|entry| {
            let provider = registry.provider(&entry.adapter);
            let logins: Vec<Value> = provider
                .map(|p| {
                    p.info
                        .credential_kinds
                        .iter()
                        .filter(|kind| !kind.is_key())
                        .map(|kind| json!({"kind": kind.id, "description": kind.description}))
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "name": entry.name,
                "adapter": entry.adapter,
                "loaded": provider.is_some(),
                "logins": logins,
            })
        })
        .collect()
}

/// The components loaded now and the files refused, as JSON.
pub(super) fn components(gateway: &crate::pipeline::Gateway) -> (Vec<Value>, Vec<Value>) {
    let loaded = gateway
        .runtime
        .list()
        .into_iter()
        .map(|c| {
            json!({
                "id": c.id,
                "kind": match c.kind { ComponentKind::Provider => "provider", ComponentKind::Fixup => "fixup" },
                "version": c.version,
                "contract_version": c.contract_version,
                "hash": format!("sha256:{}", c.hash),
                "file": file_name(&c.path),
            })
        })
        .collect();
    let refused = gateway
        .runtime
        .failures()
        .into_iter()
        .map(|f| json!({"file": file_name(&f.path), "reason": f.reason}))
        .collect();
    (loaded, refused)
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// `GET config`: the config file as it reads now, as JSON (`config`) and as YAML text
/// (`yaml`, for an editor: `PUT config` puts its `[redacted]` placeholders back), every
/// secret replaced by `[redacted]` (keys, secrets, tokens, passwords, whatever their
/// nesting) and every credential the server holds removed from the other values.
pub(super) async fn config(State(management): State<Arc<Management>>) -> Response {
    let Some(path) = config_path() else {
        return error(
            StatusCode::NOT_IMPLEMENTED,
            "not_available",
            "this server was not started from a config file".to_owned(),
        );
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "config_unreadable",
                format!("cannot read {}: {error_}", path.display()),
            );
        }
    };
    let parsed: serde_yaml_ng::Value = match serde_yaml_ng::from_str(&text) {
        Ok(value) => value,
        Err(error_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "config_unparsable",
                format!("{} does not parse: {error_}", path.display()),
            );
        }
    };
    let mut value = serde_json::to_value(&parsed).unwrap_or(Value::Null);
    redact(&mut value, false, &|text| {
        management.gateway().redactor.redact(text)
    });
    let yaml = serde_yaml_ng::to_string(&value).unwrap_or_default();
    ok(json!({"path": path.display().to_string(), "config": value, "yaml": yaml}))
}

/// The config file the server was started with (see [`set_config_path`]).
pub(super) fn config_path() -> Option<std::path::PathBuf> {
    CONFIG_PATH.get().cloned()
}

static CONFIG_PATH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Record the config file `serve` was started with, for `GET config`.
pub fn set_config_path(path: &std::path::Path) {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let _ = CONFIG_PATH.set(path);
}

/// Whether a config key names a secret.
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase().replace('_', "-");
    key == "key"
        || key.ends_with("-key")
        || key.ends_with("-keys")
        || key.starts_with("key-")
        || key.contains("secret")
        || key.contains("token")
        || key.contains("password")
}

/// Replace every scalar under a secret key (`secret`: the enclosing key is one) with
/// [`REDACTED`], and run `scrub` over the other strings.
fn redact(value: &mut Value, secret: bool, scrub: &dyn Fn(&str) -> String) {
    match value {
        Value::String(text) => {
            *text = if secret {
                REDACTED.to_owned()
            } else {
                scrub(text)
            };
        }
        Value::Array(items) => {
            for item in items {
                redact(item, secret, scrub);
            }
        }
        // A mapping under a secret key (`client-keys: [{name, key, rpm}]`) is not a
        // secret itself: its own keys say which of its values are.
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                redact(item, is_secret_key(key), scrub);
            }
        }
        Value::Number(_) | Value::Bool(_) if secret => {
            *value = Value::String(REDACTED.to_owned());
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secret_of_a_config_is_redacted_and_the_rest_kept() {
        let text = "\
api-keys: [sk-client-1, sk-client-2]
management: {key: mk-secret, key-sha256: abcd, allow-remote: false}
client-keys:
  - {name: team, key: ck-secret, rpm: 10}
providers:
  - name: openai
    adapter: openai
    api-keys: ['${OPENAI_KEY}']
    accounts:
      - {name: a, secret: acct-secret, attributes: {project: p1}}
    config: {client_secret: cs, region: eu, nested: {refresh_token: rt}}
limits: {guest-keep-resident-kb: 64}
";
        let parsed: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).unwrap();
        let mut value = serde_json::to_value(&parsed).unwrap();
        redact(&mut value, false, &|text| {
            text.replace("held-token", REDACTED)
        });
        let out = value.to_string();
        for secret in [
            "sk-client",
            "mk-secret",
            "abcd",
            "ck-secret",
            "OPENAI_KEY",
            "acct-secret",
            "\"cs\"",
            "\"rt\"",
        ] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert_eq!(value["client-keys"][0]["rpm"], 10);
        assert_eq!(
            value["providers"][0]["accounts"][0]["attributes"]["project"],
            "p1"
        );
        assert_eq!(value["providers"][0]["config"]["region"], "eu");
        assert_eq!(value["management"]["allow-remote"], false);
        assert_eq!(value["limits"]["guest-keep-resident-kb"], 64);
    }
}
