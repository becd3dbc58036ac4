//! Checks that need the whole config (uniqueness, cross-key rules) and, once the
//! adapters are loaded, checks against the registry.
//!
//! Hard errors stop the start; warnings are things that may fix themselves (an adapter
//! that arrives later by hot swap) and are logged.

use std::collections::HashSet;

use super::{AccountRef, Config};
use crate::runtime::Registry;

/// Something odd but not fatal in the config, to log at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning(pub String);

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A config error about one key: `key` is its path as errors name it
/// (`providers[1].name`), so the caller can find its line in the text
/// (`yaml::line_of`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    /// The key's path (`providers[1].accounts[0].name`, `limits.max-connections`).
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for KeyError {}

/// Every error of a refused config, each about one key, so a person fixes them all at
/// once (the caller places each on its line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyErrors(pub Vec<KeyError>);

impl std::fmt::Display for KeyErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let texts: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("`{}`: {}", e.key, e.message))
            .collect();
        f.write_str(&texts.join("; "))
    }
}

impl std::error::Error for KeyErrors {}

/// A refused config's errors, each placed on its line (`` `providers[1].name` at line
/// 7: … ``): what a person and the management API are shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<String>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_slice() {
            [one] => f.write_str(one),
            all => {
                write!(f, "{} errors:", all.len())?;
                for error in all {
                    write!(f, "\n  - {error}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigErrors {}

/// Note a [`KeyError`] for `key` with the formatted message (validation goes on, so
/// every wrong key is named).
macro_rules! bail_at {
    ($errors:expr, $key:expr, $($message:tt)+) => {
        $errors.push(KeyError { key: $key.to_string(), message: format!($($message)+) })
    };
}

/// Validate a parsed, expanded config: every wrong key in one [`KeyErrors`].
pub fn validate(config: &Config) -> anyhow::Result<Vec<Warning>> {
    let mut warnings = Vec::new();
    let mut errors: Vec<KeyError> = Vec::new();
    if let Err(error) = config.listen_addr() {
        bail_at!(errors, "listen", "{error:#}");
    }
    let keyed = !config.api_keys.is_empty() || !config.client_keys.is_empty();
    if !keyed && !config.allow_unauthenticated {
        bail_at!(
            errors,
            "api-keys",
            "`api-keys` is empty: clients could not authenticate. Add at least one key \
             (`api-keys` or `client-keys`), or set `allow-unauthenticated: true` to serve \
             without keys"
        );
    }
    if config.api_keys.iter().any(|key| key.is_empty()) {
        bail_at!(
            errors,
            "api-keys",
            "`api-keys` has an empty key (is its ${{ENV_VAR}} set?)"
        );
    }
    if let Err(error) = config.client_keys.validate(&config.api_keys) {
        match error.downcast::<KeyError>() {
            Ok(error) => errors.push(error),
            Err(error) => bail_at!(errors, "client-keys", "{error:#}"),
        }
    }
    if config.allow_unauthenticated && keyed {
        warnings.push(Warning(
            "`allow-unauthenticated: true` is ignored because client keys are set".into(),
        ));
    }
    if config.retry.max_attempts == 0 {
        bail_at!(
            errors,
            "retry.max-attempts",
            "`retry.max-attempts` must be at least 1"
        );
    }
    if config.limits.max_body_bytes == 0 {
        bail_at!(
            errors,
            "limits.max-body-bytes",
            "`limits.max-body-bytes` must be positive"
        );
    }
    for (key, value) in [
        ("header-read-timeout-s", config.limits.header_read_timeout_s),
        ("client-idle-timeout-s", config.limits.client_idle_timeout_s),
        (
            "request-body-timeout-s",
            config.limits.request_body_timeout_s,
        ),
        ("max-connections", u64::from(config.limits.max_connections)),
    ] {
        if value == 0 {
            bail_at!(
                errors,
                format!("limits.{key}"),
                "`limits.{key}` must be at least 1"
            );
        }
    }

    let mut names = HashSet::new();
    for (index, provider) in config.providers.iter().enumerate() {
        let name = &provider.name;
        let at = |key: &str| format!("providers[{index}].{key}");
        if name.is_empty() || name.contains('/') || name.chars().any(char::is_whitespace) {
            bail_at!(
                errors,
                at("name"),
                "provider name `{name}` must be non-empty, without `/` or spaces"
            );
        }
        if !names.insert(name.as_str()) {
            bail_at!(
                errors,
                at("name"),
                "provider name `{name}` is used twice; names must be unique"
            );
        }
        if provider.adapter.is_empty() {
            bail_at!(
                errors,
                at("adapter"),
                "provider `{name}`: `adapter` is empty"
            );
        }
        if provider.base_url.is_some() && provider.endpoints.contains_key("base") {
            bail_at!(
                errors,
                at("base-url"),
                "provider `{name}`: set `base-url` or `endpoints.base`, not both"
            );
        }
        if let Some(url) = &provider.base_url {
            errors.extend(check_endpoint_url(name, &at("base-url"), "base-url", url));
        }
        for (endpoint, url) in &provider.endpoints {
            let key = format!("endpoints.{endpoint}");
            errors.extend(check_endpoint_url(name, &at(&key), &key, url));
        }
        let mut account_names = HashSet::new();
        let mut stored = HashSet::new();
        for (item, account) in provider.accounts.items().enumerate() {
            let account = match account {
                AccountRef::Inline(account) => account,
                AccountRef::Stored(id) => {
                    let at = at(&format!("accounts[{item}]"));
                    if id.is_empty() || id.starts_with('.') || id.contains(['/', '\\']) {
                        bail_at!(
                            errors,
                            at,
                            "provider `{name}`: account id `{id}` must be the stem of a file in auth-dir (no `/`, no leading `.`)"
                        );
                    }
                    if !stored.insert(id.as_str()) {
                        bail_at!(
                            errors,
                            at,
                            "provider `{name}`: account `{id}` is listed twice"
                        );
                    }
                    continue;
                }
            };
            let at = |key: &str| at(&format!("accounts[{item}].{key}"));
            let account_name = &account.name;
            if account_name.is_empty()
                || account_name
                    .chars()
                    .any(|c| c.is_whitespace() || matches!(c, '/' | '#' | ':'))
            {
                bail_at!(
                    errors,
                    at("name"),
                    "provider `{name}`: account name `{account_name}` must be non-empty, without spaces, `/`, `#` or `:`"
                );
            }
            if !account_names.insert(account_name.as_str()) {
                bail_at!(
                    errors,
                    at("name"),
                    "provider `{name}`: account `{account_name}` is listed twice"
                );
            }
            if account.kind.as_deref() == Some("") {
                bail_at!(
                    errors,
                    at("kind"),
                    "provider `{name}`: account `{account_name}` has an empty `kind`"
                );
            }
            if account
                .secret
                .as_ref()
                .is_some_and(|secret| secret.is_empty())
            {
                bail_at!(
                    errors,
                    at("secret"),
                    "provider `{name}`: account `{account_name}` has an empty secret (is its ${{ENV_VAR}} set?)"
                );
            }
        }
        if provider.api_keys.iter().any(|key| key.is_empty()) {
            bail_at!(
                errors,
                at("api-keys"),
                "provider `{name}`: `api-keys` has an empty key (is its ${{ENV_VAR}} set?)"
            );
        }
        if let Some(block) = &provider.config
            && !block.is_object()
        {
            bail_at!(
                errors,
                at("config"),
                "provider `{name}`: `config` must be a map"
            );
        }
        if let Some(recovery) = &provider.context_recovery {
            if recovery.fixup.is_empty() {
                bail_at!(
                    errors,
                    at("context-recovery.fixup"),
                    "provider `{name}`: `context-recovery.fixup` is empty"
                );
            }
            if recovery.budget_tokens == Some(0) {
                bail_at!(
                    errors,
                    at("context-recovery.budget-tokens"),
                    "provider `{name}`: `context-recovery.budget-tokens` must be at least 1"
                );
            }
        }
        for (host, pattern) in provider.allow_hosts.iter().enumerate() {
            if pattern.is_empty() || pattern == "*" || pattern.contains('/') {
                bail_at!(
                    errors,
                    at(&format!("allow-hosts[{host}]")),
                    "provider `{name}`: allow-hosts entry `{pattern}` must be a host or `*.suffix`"
                );
            }
        }
        let mut served = HashSet::new();
        for model in &provider.models {
            for client_name in std::iter::once(&model.name).chain(model.alias.iter()) {
                if !served.insert(client_name.as_str()) {
                    warnings.push(Warning(format!(
                        "provider `{name}` lists model name `{client_name}` twice; the first wins"
                    )));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(warnings)
    } else {
        Err(KeyErrors(errors).into())
    }
}

/// What is wrong with an endpoint URL, if anything.
fn check_endpoint_url(provider: &str, path: &str, key: &str, url: &str) -> Option<KeyError> {
    let message = match reqwest::Url::parse(url) {
        Err(err) => format!("provider `{provider}`: {key} `{url}` is not a URL: {err}"),
        Ok(parsed)
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() =>
        {
            format!("provider `{provider}`: {key} `{url}` must be an http(s) URL with a host")
        }
        Ok(_) => return None,
    };
    Some(KeyError {
        key: path.to_owned(),
        message,
    })
}

/// Adapter and fixup ids the config names but the registry lacks. They may still
/// arrive by hot swap; requests that need them get a clear error meanwhile.
pub fn check_against_registry(config: &Config, registry: &Registry) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for provider in &config.providers {
        match registry.provider(&provider.adapter) {
            None => warnings.push(Warning(format!(
                "provider `{}`: adapter `{}` is not loaded (yet); its requests fail until it is",
                provider.name, provider.adapter
            ))),
            Some(component) => {
                if provider.base_url.is_none() && component.info.endpoint("base").is_none() {
                    warnings.push(Warning(format!(
                        "provider `{}`: no base-url, and adapter `{}` has no default",
                        provider.name, provider.adapter
                    )));
                }
                for account in provider.accounts.inline() {
                    if component
                        .info
                        .account_kind(account.kind.as_deref())
                        .is_none()
                    {
                        warnings.push(Warning(format!(
                            "provider `{}`: account `{}` holds credential kind `{}`, which adapter `{}` does not declare (it declares: {}); its requests go to the entry's other accounts",
                            provider.name,
                            account.name,
                            account.kind.as_deref().unwrap_or("(a key kind)"),
                            provider.adapter,
                            component.info.kind_ids(),
                        )));
                    }
                }
                for endpoint in provider.endpoints.keys() {
                    if component.info.endpoint(endpoint).is_none() {
                        let names: Vec<&str> = component
                            .info
                            .endpoints
                            .iter()
                            .map(|e| e.name.as_str())
                            .collect();
                        warnings.push(Warning(format!(
                            "provider `{}`: endpoint `{endpoint}` is not one adapter `{}` names ({}); the override is unused",
                            provider.name,
                            provider.adapter,
                            names.join(", ")
                        )));
                    }
                }
                for fixup in component.info.default_fixups.iter() {
                    if registry.fixup(fixup).is_none() {
                        warnings.push(Warning(format!(
                            "provider `{}`: adapter `{}` wants default fixup `{fixup}`, which is not loaded",
                            provider.name, provider.adapter
                        )));
                    }
                }
            }
        }
        for fixup in &provider.fixups {
            if registry.fixup(fixup).is_none() {
                warnings.push(Warning(format!(
                    "provider `{}`: fixup `{fixup}` is not loaded (yet)",
                    provider.name
                )));
            }
        }
        if let Some(recovery) = &provider.context_recovery {
            let fixup = &recovery.fixup;
            match registry.fixup(fixup) {
                None => warnings.push(Warning(format!(
                    "provider `{}`: context-recovery fixup `{fixup}` is not loaded (yet); requests refused as too long are answered as refused until it is",
                    provider.name
                ))),
                Some(component) if !component.info.hooks.request => warnings.push(Warning(format!(
                    "provider `{}`: context-recovery fixup `{fixup}` has no on-request hook, so it cannot cut a request",
                    provider.name
                ))),
                Some(_) => {}
            }
            if provider.fixups.contains(fixup) {
                warnings.push(Warning(format!(
                    "provider `{}`: `{fixup}` is listed in `fixups` too, so it runs on every request, not only on the context-recovery retry",
                    provider.name
                )));
            }
        }
    }
    warnings
}
