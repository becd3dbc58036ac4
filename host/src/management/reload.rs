//! `PUT config` and `POST config/reload`: thin over `reload::Reloader`, which validates,
//! writes the file atomically and swaps the generation (or refuses and changes nothing).

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;

use super::{Management, Peer, error, ok, reloader};
use crate::credentials::REDACTED;
use crate::reload::{Outcome, Trigger};

/// `PUT config`: the YAML document as the body (`Content-Type: application/yaml`).
/// A value that is exactly `'[redacted]'` (as `GET config` gives it) keeps the value
/// the config file has at that key ([`restore_redacted`]).
pub(super) async fn put(
    State(_management): State<Arc<Management>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(reloader) = reloader() else {
        return no_reloader();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let yaml = [
        "application/yaml",
        "application/x-yaml",
        "text/yaml",
        "text/x-yaml",
    ];
    if !yaml.iter().any(|kind| content_type.starts_with(kind)) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not_yaml",
            "send the config as YAML (`Content-Type: application/yaml`)".to_owned(),
        );
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "not_utf8",
            "the config is not UTF-8 text".to_owned(),
        );
    };
    let text = if text.contains(REDACTED) {
        let current = super::status::config_path()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default();
        match restore_redacted(text, &current) {
            Ok(text) => text,
            Err(reason) => return error(StatusCode::BAD_REQUEST, "config_refused", reason),
        }
    } else {
        text.to_owned()
    };
    let reloader = reloader.clone();
    run(&peer, "management: config put", move || {
        reloader.apply_text(&text)
    })
    .await
}

/// `POST config/reload`: read the config file again now.
pub(super) async fn reload(
    State(_management): State<Arc<Management>>,
    Extension(peer): Extension<Peer>,
) -> Response {
    let Some(reloader) = reloader() else {
        return no_reloader();
    };
    let reloader = reloader.clone();
    run(&peer, "management: config reload", move || {
        reloader.reload(Trigger::Api)
    })
    .await
}

/// Run a reloader call off the async runtime (it reads and writes files), log it with
/// `what` and the peer, and answer its outcome.
async fn run(
    peer: &Peer,
    what: &'static str,
    call: impl FnOnce() -> Outcome + Send + 'static,
) -> Response {
    let outcome = match tokio::task::spawn_blocking(call).await {
        Ok(outcome) => outcome,
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "reload_failed",
                e.to_string(),
            );
        }
    };
    tracing::info!(peer = %peer.0, generation = outcome.generation(),
        applied = !matches!(outcome, Outcome::Refused(_)), "{what}");
    answer(outcome)
}

/// 200 with the outcome, or 400 naming what is wrong (the config in force stays):
/// `error.message` says it all, `error.errors` lists each wrong key with its line.
fn answer(outcome: Outcome) -> Response {
    match outcome {
        Outcome::Refused(refusal) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {
                "code": "config_refused",
                "message": refusal.reason,
                "errors": refusal.errors,
            }})),
        )
            .into_response(),
        applied => ok(json!({"outcome": applied, "generation": applied.generation()})),
    }
}

/// `text` (a config from an editor fed by `GET config`) with each `'[redacted]'`
/// placeholder replaced, in place, by the value `current` (the config file) has at the
/// same key, so the lines of `text` stay where they were (a refusal's line numbers are
/// the editor's). Refused, naming the key, when the file has no value there or a value
/// is only partly redacted (it must be typed in full); a text that does not parse is
/// handed on as it is (the reloader names the error and its line).
pub(crate) fn restore_redacted(text: &str, current: &str) -> Result<String, String> {
    use serde_yaml_ng::Value as Yaml;
    let Ok(submitted) = serde_yaml_ng::from_str::<Yaml>(text) else {
        return Ok(text.to_owned());
    };
    let current: Option<Yaml> = serde_yaml_ng::from_str(current).ok();
    let mut kept = Vec::new();
    collect_redacted(&submitted, current.as_ref(), "", &mut kept)?;
    if kept.is_empty() {
        return Ok(text.to_owned());
    }
    let placeholders = [format!("'{REDACTED}'"), format!("\"{REDACTED}\"")];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut replaced = 0;
    while let Some((at, len)) = placeholders
        .iter()
        .filter_map(|p| rest.find(p.as_str()).map(|at| (at, p.len())))
        .min()
    {
        let Some(value) = kept.get(replaced) else {
            break;
        };
        out.push_str(&rest[..at]);
        out.push_str(value);
        rest = &rest[at + len..];
        replaced += 1;
    }
    out.push_str(rest);
    if replaced != kept.len() || rest.contains(REDACTED) {
        return Err(format!(
            "the `{REDACTED}` placeholders could not be matched to their keys: keep each one quoted on its own key as `GET config` gives it (not in a comment), or type the value in full"
        ));
    }
    Ok(out)
}

/// The values `current` has where `value` holds the placeholder, in document order,
/// as YAML scalars (a string double-quoted).
fn collect_redacted(
    value: &serde_yaml_ng::Value,
    current: Option<&serde_yaml_ng::Value>,
    path: &str,
    kept: &mut Vec<String>,
) -> Result<(), String> {
    use serde_yaml_ng::Value as Yaml;
    let shown = if path.is_empty() {
        "the document"
    } else {
        path
    };
    match value {
        Yaml::String(text) if text == REDACTED => {
            let scalar = match current {
                Some(Yaml::String(original)) => serde_json::to_string(original).ok(),
                Some(Yaml::Number(number)) => Some(number.to_string()),
                Some(Yaml::Bool(flag)) => Some(flag.to_string()),
                _ => None,
            };
            let scalar = scalar.ok_or_else(|| {
                format!("`{shown}` is `{REDACTED}` but the config file has no value there to keep: type the value")
            })?;
            kept.push(scalar);
        }
        Yaml::String(text) if text.contains(REDACTED) => {
            return Err(format!(
                "`{shown}` holds a redacted part (a credential the server knows): type its value in full"
            ));
        }
        Yaml::Mapping(map) => {
            for (key, item) in map {
                let name = match key {
                    Yaml::String(name) => name.clone(),
                    other => serde_yaml_ng::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                };
                let below = current.and_then(|c| c.get(key));
                let path = if path.is_empty() {
                    name
                } else {
                    format!("{path}.{name}")
                };
                collect_redacted(item, below, &path, kept)?;
            }
        }
        Yaml::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                let below = current.and_then(|c| c.get(i));
                collect_redacted(item, below, &format!("{path}[{i}]"), kept)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The server was started without a reloader (only in embedding tests).
fn no_reloader() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "no_reloader",
        "this server does not reload its config".to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# the team's proxy
listen: 127.0.0.1:8317
api-keys: [sk-one, '${TEAM_KEY}']
management: {key: mk-secret, allow-remote: false}
providers:
  - name: openai
    adapter: openai
    api-keys: [sk-upstream]
limits: {max-body-bytes: 1000}
";

    #[test]
    fn an_edited_redacted_config_keeps_the_files_secrets_on_their_lines() {
        // What the editor got from `GET config` (its YAML), then edited: a limit
        // changed, a provider entry added, the placeholders left alone.
        let edited = "\
api-keys:
- '[redacted]'
- '[redacted]'
listen: 127.0.0.1:8317
management:
  allow-remote: false
  key: '[redacted]'
providers:
- adapter: openai
  api-keys:
  - '[redacted]'
  name: openai
- adapter: anthropic
  api-keys: [sk-typed-in-full]
  name: claude
limits:
  max-body-bytes: 2000
";
        let restored = restore_redacted(edited, FILE).unwrap();
        assert_eq!(
            restored.lines().count(),
            edited.lines().count(),
            "lines stay where they were"
        );
        assert!(!restored.contains(REDACTED), "{restored}");
        let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&restored).unwrap();
        assert_eq!(value["api-keys"][0].as_str(), Some("sk-one"));
        assert_eq!(value["api-keys"][1].as_str(), Some("${TEAM_KEY}"));
        assert_eq!(value["management"]["key"].as_str(), Some("mk-secret"));
        assert_eq!(
            value["providers"][0]["api-keys"][0].as_str(),
            Some("sk-upstream")
        );
        assert_eq!(
            value["providers"][1]["api-keys"][0].as_str(),
            Some("sk-typed-in-full")
        );
        assert_eq!(value["limits"]["max-body-bytes"].as_u64(), Some(2000));
        // A text without placeholders goes through untouched.
        assert_eq!(restore_redacted(FILE, FILE).unwrap(), FILE);
    }

    #[test]
    fn a_placeholder_with_nothing_to_keep_is_refused_naming_its_key() {
        let moved = "providers:\n- name: other\n  adapter: openai\n  api-keys: ['[redacted]', '[redacted]']\n";
        let refused = restore_redacted(moved, FILE).unwrap_err();
        assert!(
            refused.contains("providers[0].api-keys[1]") && refused.contains("type the value"),
            "{refused}"
        );
        let partly = "listen: 'http://[redacted]@host'\n";
        let refused = restore_redacted(partly, FILE).unwrap_err();
        assert!(refused.contains("`listen`"), "{refused}");
        // Never a secret of the file in the words.
        for secret in ["sk-one", "mk-secret", "sk-upstream"] {
            assert!(!refused.contains(secret));
        }
    }
}
