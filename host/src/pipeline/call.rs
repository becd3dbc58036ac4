//! One attempt as its guests see it: the [`CallContext`] (the account, the credential
//! kind it holds, the model, the adapter's endpoints resolved for it), where the host
//! will place the account's secret, and the secret itself ([`credential`]: a stored
//! account's token, refreshed or exchanged first when due).
//!
//! Endpoints: each URL the adapter declares, replaced by the URL a stored account's
//! file carries (a `base_url`, Gemini CLI's `token_uri`), replaced in turn by the
//! provider entry's override (config wins), with `{name}` placeholders filled from the
//! account's attributes
//! (`https://oidc.{region}.amazonaws.com`). A placeholder value goes into a URL the
//! host will send a secret to, so it must be a plain token: ASCII letters, digits,
//! `-`, `_` and `.`, without `..`. Anything else (a `/`, `@`, `?`, `#` that would move
//! the request to another host or path) is refused, and the account cannot be served
//! until it is fixed.

use std::time::Duration;

use super::Inbound;
use crate::accounts::{Accounts, CredentialError, KindEnv};
use crate::config::ProviderEntry;
use crate::credentials::Secret;
use crate::failure::{ClientError, ErrorKind, Failure, Retry};
use crate::routing::{AccountSlot, Attempt, CooldownReason};
use crate::runtime::{Account, CallContext, CredentialKind, Placement, ProviderComponent};
use crate::upstream::egress::host_matches;

/// An attempt's call context, and what only the host uses.
pub struct AttemptCall<'p> {
    /// What every guest of the attempt is told.
    pub call: CallContext,
    /// The credential kind the account holds.
    pub kind: &'p CredentialKind,
    /// Where the account's secret goes.
    pub placement: &'p Placement,
    /// The resolved `base` endpoint (the egress policy's base URL).
    pub base_url: String,
}

/// Resolve the attempt: the account's credential kind (its own, or the adapter's
/// first key kind), the endpoints for it, and the call context.
pub fn resolve<'p>(
    inbound: &Inbound<'_>,
    entry: &ProviderEntry,
    provider: &'p ProviderComponent,
    attempt: &Attempt,
) -> Result<AttemptCall<'p>, Failure> {
    let account = &attempt.account;
    let kind = credential_kind(
        entry,
        provider,
        account.id.as_str(),
        account.kind.as_deref(),
    )?;
    let endpoints = account_endpoints(provider, entry, account).map_err(|error| {
        unservable(format!(
            "provider `{}`, account `{}`: {error}",
            entry.name, account.id
        ))
    })?;
    let base_url = find(&endpoints, "base")
        .filter(|url| !url.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            unservable(format!(
                "provider `{}` has no base-url and adapter `{}` has no `base` endpoint",
                entry.name, entry.adapter
            ))
        })?;
    Ok(AttemptCall {
        call: CallContext {
            account: Account {
                id: account.id.clone(),
                attributes: account.attributes.clone(),
            },
            credential_kind: kind.id.clone(),
            model: attempt.candidate.upstream_model.clone(),
            client_dialect: inbound.dialect.dialect(),
            stream: inbound.decoded.stream,
            client_headers: inbound.client_headers.to_vec(),
            endpoints,
            // The account reads' entry for the model (the serving account's, else its
            // entry's other accounts'), else the adapter's own list.
            model_info: attempt.model_info.clone().or_else(|| {
                provider
                    .info
                    .models
                    .iter()
                    .find(|model| model.id == attempt.candidate.upstream_model)
                    .cloned()
            }),
        },
        kind,
        placement: &kind.placement,
        base_url,
    })
}

/// The adapter's endpoints resolved for `account`: declared, then the URLs its file
/// carries (only on a host the adapter declares), then the entry's overrides.
pub fn account_endpoints(
    provider: &ProviderComponent,
    entry: &ProviderEntry,
    account: &AccountSlot,
) -> Result<Vec<(String, String)>, EndpointError> {
    let file = account.stored.as_deref();
    let carried = |name: &str| -> Option<&str> {
        let file = file?;
        let url = if name == "base" {
            file.base_url
                .as_deref()
                .or_else(|| file.endpoints.get("base").map(String::as_str))
        } else {
            file.endpoints.get(name).map(String::as_str)
        }?;
        trusted_host(provider, Some(entry), url).then_some(url)
    };
    let declared = provider.info.endpoints.iter().map(|endpoint| {
        let name = endpoint.name.as_str();
        (name, carried(name).unwrap_or(endpoint.url.as_str()))
    });
    resolve_endpoints(declared, Some(entry), &account.attributes)
}

/// The adapter's endpoints for a login (no account yet): declared, then `entry`'s
/// overrides when the login is for an entry; placeholders filled from the login's
/// inputs.
pub fn login_endpoints(
    info: &crate::runtime::ProviderInfo,
    entry: Option<&ProviderEntry>,
    inputs: &[(String, String)],
) -> Result<Vec<(String, String)>, EndpointError> {
    let declared = info
        .endpoints
        .iter()
        .map(|endpoint| (endpoint.name.as_str(), endpoint.url.as_str()));
    resolve_endpoints(declared, entry, inputs)
}

/// Whether `url`'s host may be used for an account when the URL came from its file or
/// a token answer: one the adapter declares, or one `entry`'s `allow-hosts` grants (a
/// GitHub Enterprise tenant's Copilot host, say).
fn trusted_host(provider: &ProviderComponent, entry: Option<&ProviderEntry>, url: &str) -> bool {
    let Some(host) = reqwest::Url::parse(url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_ascii_lowercase))
    else {
        return false;
    };
    let granted = entry.map_or(&[][..], |entry| entry.allow_hosts.as_slice());
    let trusted = provider
        .info
        .hosts
        .iter()
        .chain(granted)
        .any(|pattern| host_matches(pattern, &host));
    if !trusted {
        tracing::warn!(host = %host, adapter = %provider.info.id,
            "an account carries a URL on a host its adapter does not declare nor the entry grant; the adapter's default is used");
    }
    trusted
}

/// A token exchange's API host made the `base` of `endpoints` (Copilot's
/// `endpoints.api`), unless `entry` overrides `base`. Returns the base applied, if any;
/// an exchange naming a host neither declared nor granted is an error.
pub fn apply_exchanged_base(
    provider: &ProviderComponent,
    entry: Option<&ProviderEntry>,
    endpoints: &mut [(String, String)],
    base: Option<String>,
) -> Result<Option<String>, String> {
    let overridden = entry.is_some_and(|entry| entry.endpoint_override("base").is_some());
    let Some(base) = base.filter(|_| !overridden) else {
        return Ok(None);
    };
    if !trusted_host(provider, entry, &base) {
        return Err(
            "the token exchange named an API host the adapter does not declare nor the entry grant (`allow-hosts`)"
                .into(),
        );
    }
    let base = base.trim_end_matches('/').to_owned();
    for (name, url) in endpoints.iter_mut() {
        if name == "base" {
            url.clone_from(&base);
        }
    }
    Ok(Some(base))
}

/// The secret the attempt places: a configured key as it is, or a stored account's
/// token, refreshed or exchanged first when due. A token exchange that names an API
/// host (Copilot) moves the attempt's `base` there, unless config overrides `base`.
pub async fn credential(
    accounts: Option<&Accounts>,
    provider: &ProviderComponent,
    entry: &ProviderEntry,
    attempt: &Attempt,
    call: &mut AttemptCall<'_>,
) -> Result<Option<Secret>, Failure> {
    let account = &attempt.account;
    if account.stored.is_none() {
        return Ok(account.secret.clone());
    }
    let Some(accounts) = accounts else {
        return Err(unservable(format!(
            "account `{}` is a stored account, but no credential store is open",
            account.id
        )));
    };
    let env = KindEnv {
        kind: call.kind,
        endpoints: &call.call.endpoints,
    };
    let lead = entry
        .refresh_lead_s
        .map(|s| Duration::from_secs(u64::from(s)));
    let credential = accounts
        .credential(&account.id, &env, lead)
        .await
        .map_err(|error| credential_failure(entry, error))?;
    let applied = apply_exchanged_base(
        provider,
        Some(entry),
        &mut call.call.endpoints,
        credential.base_url,
    )
    .map_err(|reason| {
        unservable(format!(
            "provider `{}`, account `{}`: {reason}",
            entry.name, account.id
        ))
    })?;
    if let Some(base) = applied {
        call.base_url = base;
    }
    Ok(Some(credential.secret))
}

/// An account that cannot give a credential: the next account is tried; a disabled
/// one rests as long as a rejected credential does (the store change that disabled
/// it takes it out of rotation meanwhile).
pub fn credential_failure(entry: &ProviderEntry, error: CredentialError) -> Failure {
    let message = format!("provider `{}`: {error}", entry.name);
    match error {
        CredentialError::Disabled { .. } => Failure::host(
            ClientError::new(ErrorKind::Overloaded, message).code("account_disabled"),
            Retry::AfterDelay {
                reason: CooldownReason::AccountDisabled,
                delay: None,
            },
        ),
        CredentialError::Gone(_) => Failure::host(
            ClientError::new(ErrorKind::Overloaded, message),
            Retry::NextAccount,
        ),
        CredentialError::Unavailable { .. } => Failure::host(
            ClientError::new(ErrorKind::Overloaded, message).code("credential_unavailable"),
            Retry::AfterDelay {
                reason: CooldownReason::Unreachable,
                delay: None,
            },
        ),
    }
}

/// The kind an account holds: the one it names, else the adapter's first key kind.
/// A name the adapter does not declare is refused with the kinds it does.
fn credential_kind<'p>(
    entry: &ProviderEntry,
    provider: &'p ProviderComponent,
    account: &str,
    named: Option<&str>,
) -> Result<&'p CredentialKind, Failure> {
    provider.info.account_kind(named).ok_or_else(|| {
        let wanted = match named {
            Some(id) => format!("holds credential kind `{id}`, which"),
            None => "names no credential kind, and".to_owned(),
        };
        let message = format!(
            "provider `{}`, account `{account}` {wanted} adapter `{}` does not declare{} (it declares: {})",
            entry.name,
            provider.label(),
            if named.is_some() { "" } else { " as a key kind" },
            provider.info.kind_ids(),
        );
        Failure::host(
            ClientError::new(ErrorKind::Internal, message).code("unknown_credential_kind"),
            Retry::NextAccount,
        )
    })
}

/// A configuration this account cannot be served with: the client gets a 500 saying
/// so, and the next account is tried.
fn unservable(message: String) -> Failure {
    Failure::host(
        ClientError::new(ErrorKind::Internal, message),
        Retry::NextAccount,
    )
}

/// Why the endpoints cannot be resolved for this account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// A `{name}` placeholder whose attribute the account lacks.
    #[error("endpoint `{endpoint}` needs the account attribute `{attribute}`, which it lacks")]
    MissingAttribute {
        /// The endpoint's name.
        endpoint: String,
        /// The placeholder's name.
        attribute: String,
    },
    /// A placeholder whose value is not a plain token.
    #[error(
        "endpoint `{endpoint}`: the account attribute `{attribute}` is not a plain name (letters, digits, `-`, `_`, `.`)"
    )]
    UnsafeAttribute {
        /// The endpoint's name.
        endpoint: String,
        /// The placeholder's name.
        attribute: String,
    },
    /// A `{` without its `}`.
    #[error("endpoint `{endpoint}` has an unclosed `{{` placeholder")]
    Unclosed {
        /// The endpoint's name.
        endpoint: String,
    },
}

/// `(name, URL)` for every endpoint the adapter declares, in its order, each replaced
/// by the entry's override when it has one, followed by overrides of names the adapter
/// does not declare (warned about at start); placeholders filled from `attributes`.
fn resolve_endpoints<'a>(
    declared: impl IntoIterator<Item = (&'a str, &'a str)>,
    entry: Option<&ProviderEntry>,
    attributes: &[(String, String)],
) -> Result<Vec<(String, String)>, EndpointError> {
    let mut resolved: Vec<(String, String)> = Vec::new();
    for (name, url) in declared {
        let url = entry
            .and_then(|entry| entry.endpoint_override(name))
            .unwrap_or(url);
        resolved.push((name.to_owned(), fill(name, url, attributes)?));
    }
    for (name, url) in entry
        .into_iter()
        .flat_map(ProviderEntry::endpoint_overrides)
    {
        if !resolved.iter().any(|(known, _)| known == name) {
            resolved.push((name.to_owned(), fill(name, url, attributes)?));
        }
    }
    for (_, url) in &mut resolved {
        while url.ends_with('/') {
            url.pop();
        }
    }
    Ok(resolved)
}

/// The URL of endpoint `name` in a resolved list.
fn find<'a>(resolved: &'a [(String, String)], name: &str) -> Option<&'a str> {
    resolved
        .iter()
        .find(|(known, _)| known == name)
        .map(|(_, url)| url.as_str())
}

/// `url` with each `{attribute}` replaced by its value.
fn fill(
    endpoint: &str,
    url: &str,
    attributes: &[(String, String)],
) -> Result<String, EndpointError> {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| EndpointError::Unclosed {
            endpoint: endpoint.to_owned(),
        })?;
        let attribute = &after[..close];
        let value = attributes
            .iter()
            .find(|(name, _)| name == attribute)
            .map(|(_, value)| value.as_str())
            .ok_or_else(|| EndpointError::MissingAttribute {
                endpoint: endpoint.to_owned(),
                attribute: attribute.to_owned(),
            })?;
        if !is_plain(value) {
            return Err(EndpointError::UnsafeAttribute {
                endpoint: endpoint.to_owned(),
                attribute: attribute.to_owned(),
            });
        }
        out.push_str(value);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Letters, digits, `-`, `_`, `.`; non-empty; no `..`.
fn is_plain(value: &str) -> bool {
    !value.is_empty()
        && !value.contains("..")
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(extra: &str) -> ProviderEntry {
        let text = format!("api-keys: [k]\nproviders:\n  - {{name: p, adapter: a{extra}}}\n");
        crate::config::Config::parse(&text)
            .unwrap()
            .0
            .providers
            .remove(0)
    }

    fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    const DECLARED: [(&str, &str); 2] = [
        ("base", "https://q.{region}.amazonaws.com/"),
        ("token", "https://oidc.{region}.amazonaws.com/token"),
    ];

    #[test]
    fn placeholders_are_filled_from_the_account_and_trailing_slashes_trimmed() {
        let resolved = resolve_endpoints(
            DECLARED,
            Some(&entry("")),
            &attrs(&[("region", "eu-central-1")]),
        )
        .unwrap();
        assert_eq!(
            find(&resolved, "base"),
            Some("https://q.eu-central-1.amazonaws.com")
        );
        assert_eq!(
            find(&resolved, "token"),
            Some("https://oidc.eu-central-1.amazonaws.com/token")
        );
    }

    #[test]
    fn an_override_wins_and_base_url_is_the_base_endpoint() {
        let resolved = resolve_endpoints(
            DECLARED,
            Some(&entry(", base-url: 'http://127.0.0.1:9/', endpoints: {token: 'http://127.0.0.1:9/t', extra: 'http://x.test'}")),
            &attrs(&[("region", "us-east-1")]),
        )
        .unwrap();
        assert_eq!(
            resolved,
            attrs(&[
                ("base", "http://127.0.0.1:9"),
                ("token", "http://127.0.0.1:9/t"),
                ("extra", "http://x.test"),
            ])
        );
    }

    #[test]
    fn a_missing_or_unsafe_attribute_is_refused_by_name() {
        assert_eq!(
            resolve_endpoints(DECLARED, Some(&entry("")), &[]).unwrap_err(),
            EndpointError::MissingAttribute {
                endpoint: "base".into(),
                attribute: "region".into()
            }
        );
        for bad in ["evil.test/x", "a@b", "x?y", "..", "", "a#b", "a b"] {
            assert!(
                matches!(
                    resolve_endpoints(DECLARED, Some(&entry("")), &attrs(&[("region", bad)])),
                    Err(EndpointError::UnsafeAttribute { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            resolve_endpoints([("base", "https://x.test/{region")], Some(&entry("")), &[]),
            Err(EndpointError::Unclosed { .. })
        ));
    }
}
