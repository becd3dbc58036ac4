//! One attempt as its guests see it: the [`CallContext`] (the account, the credential
//! kind it holds, the model, the adapter's endpoints resolved for it), and where the
//! host will place the account's secret.
//!
//! Endpoints: each URL the adapter declares, or the provider entry's override, with
//! `{name}` placeholders filled from the account's attributes
//! (`https://oidc.{region}.amazonaws.com`). A placeholder value goes into a URL the
//! host will send a secret to, so it must be a plain token: ASCII letters, digits,
//! `-`, `_` and `.`, without `..`. Anything else (a `/`, `@`, `?`, `#` that would move
//! the request to another host or path) is refused, and the account cannot be served
//! until it is fixed.

use super::Inbound;
use crate::config::ProviderEntry;
use crate::failure::{ClientError, ErrorKind, Failure, Retry};
use crate::routing::Attempt;
use crate::runtime::{Account, CallContext, CredentialKind, Placement, ProviderComponent};

/// An attempt's call context, and what only the host uses.
pub struct AttemptCall<'p> {
    /// What every guest of the attempt is told.
    pub call: CallContext,
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
    let declared = provider
        .info
        .endpoints
        .iter()
        .map(|endpoint| (endpoint.name.as_str(), endpoint.url.as_str()));
    let endpoints = resolve_endpoints(declared, entry, &account.attributes).map_err(|error| {
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
        },
        placement: &kind.placement,
        base_url,
    })
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
    entry: &ProviderEntry,
    attributes: &[(String, String)],
) -> Result<Vec<(String, String)>, EndpointError> {
    let mut resolved: Vec<(String, String)> = Vec::new();
    for (name, url) in declared {
        let url = entry.endpoint_override(name).unwrap_or(url);
        resolved.push((name.to_owned(), fill(name, url, attributes)?));
    }
    for (name, url) in entry.endpoint_overrides() {
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
        let resolved =
            resolve_endpoints(DECLARED, &entry(""), &attrs(&[("region", "eu-central-1")])).unwrap();
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
            &entry(", base-url: 'http://127.0.0.1:9/', endpoints: {token: 'http://127.0.0.1:9/t', extra: 'http://x.test'}"),
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
            resolve_endpoints(DECLARED, &entry(""), &[]).unwrap_err(),
            EndpointError::MissingAttribute {
                endpoint: "base".into(),
                attribute: "region".into()
            }
        );
        for bad in ["evil.test/x", "a@b", "x?y", "..", "", "a#b", "a b"] {
            assert!(
                matches!(
                    resolve_endpoints(DECLARED, &entry(""), &attrs(&[("region", bad)])),
                    Err(EndpointError::UnsafeAttribute { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            resolve_endpoints([("base", "https://x.test/{region")], &entry(""), &[]),
            Err(EndpointError::Unclosed { .. })
        ));
    }
}
