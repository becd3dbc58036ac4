//! Turning a guest-built request into one the host sends: URL and header checks, the
//! egress policy, and the credential, which is added here, after every guest hook, so
//! no guest ever sees it.

use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::egress::{EgressPolicy, EgressRefused};
use crate::credentials::Secret;
use crate::ir::HttpRequest;
use crate::runtime::Placement;

/// A request ready to send. No `Debug`: its headers hold a secret.
pub struct OutgoingRequest {
    /// Method.
    pub method: reqwest::Method,
    /// Destination, credential query parameter included.
    pub url: Url,
    /// Headers, credential included (marked sensitive).
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

/// Why a guest-built request cannot be sent.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// Destination outside the grant.
    #[error(transparent)]
    Egress(#[from] EgressRefused),
    /// The guest built something that is not a valid HTTP request.
    #[error("the adapter built an invalid request: {0}")]
    Invalid(String),
}

/// Headers the HTTP client owns; a guest's values for them are dropped.
const CLIENT_OWNED: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "keep-alive",
    "upgrade",
];

/// Check `request` against `policy` and add the account's credential where `scheme`
/// (its credential kind's placement) says.
/// The policy judges the URL text the guest built as well as its parsed form (host,
/// path under the base URL's path, canonical path and query: see [`super::egress`]),
/// so nothing is sent, and no credential attached, to a path a client steered the
/// adapter to. Any guest-supplied header (or query parameter) with the credential's
/// name is removed first, so a guest cannot smuggle or override a credential.
pub fn prepare(
    request: HttpRequest,
    scheme: &Placement,
    secret: Option<&Secret>,
    policy: &EgressPolicy,
) -> Result<OutgoingRequest, PrepareError> {
    let mut url = Url::parse(&request.url)
        .map_err(|err| PrepareError::Invalid(format!("URL `{}`: {err}", request.url)))?;
    policy.check_request(&request.url, &url)?;
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| PrepareError::Invalid(format!("method `{}`", request.method)))?;

    let credential_header = match scheme {
        Placement::Bearer => Some("authorization".to_owned()),
        Placement::Header { name, .. } => Some(name.to_ascii_lowercase()),
        Placement::None | Placement::Query(_) => None,
    };
    let mut headers = HeaderMap::with_capacity(request.headers.len() + 1);
    for (name, value) in request.headers {
        let lower = name.to_ascii_lowercase();
        if CLIENT_OWNED.contains(&lower.as_str())
            || credential_header.as_deref() == Some(lower.as_str())
        {
            continue;
        }
        let name = HeaderName::from_bytes(lower.as_bytes())
            .map_err(|_| PrepareError::Invalid(format!("header name `{name}`")))?;
        let value = HeaderValue::from_str(&value)
            .map_err(|_| PrepareError::Invalid(format!("value of header `{name}`")))?;
        headers.append(name, value);
    }

    if let Placement::Query(param) = scheme {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != param)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.set_query(None);
        if !kept.is_empty() || secret.is_some() {
            let mut pairs = url.query_pairs_mut();
            pairs.extend_pairs(kept);
            if let Some(secret) = secret {
                pairs.append_pair(param, secret.expose());
            }
        }
    }
    if let (Some(name), Some(secret)) = (credential_header, secret) {
        let text = match scheme {
            Placement::Bearer => format!("Bearer {}", secret.expose()),
            Placement::Header { prefix, .. } => {
                format!("{}{}", prefix.as_deref().unwrap_or(""), secret.expose())
            }
            Placement::None | Placement::Query(_) => {
                unreachable!("no credential header for this scheme")
            }
        };
        let mut value = HeaderValue::from_str(&text).map_err(|_| {
            PrepareError::Invalid("the configured key is not a valid header value".into())
        })?;
        value.set_sensitive(true);
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| PrepareError::Invalid(format!("auth header name `{name}`")))?;
        headers.insert(name, value);
    }
    Ok(OutgoingRequest {
        method,
        url,
        headers,
        body: request.body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guest_request(url: &str, headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            url: url.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: b"{}".to_vec(),
        }
    }

    fn policy() -> EgressPolicy {
        EgressPolicy::new("https://api.example.com", &[], &[])
    }

    #[test]
    fn a_bearer_credential_replaces_whatever_the_guest_put_there() {
        let req = guest_request(
            "https://api.example.com/v1/chat",
            &[
                ("Authorization", "Bearer guest-made-this-up"),
                ("content-type", "application/json"),
            ],
        );
        let out = prepare(
            req,
            &Placement::Bearer,
            Some(&Secret::new("sk-real")),
            &policy(),
        )
        .unwrap();
        let auth: Vec<_> = out.headers.get_all("authorization").iter().collect();
        assert_eq!(auth.len(), 1);
        assert_eq!(auth[0], "Bearer sk-real");
        assert!(auth[0].is_sensitive());
        assert_eq!(out.headers["content-type"], "application/json");
    }

    #[test]
    fn a_named_header_gets_its_prefix() {
        let scheme = Placement::Header {
            name: "X-Api-Key".into(),
            prefix: Some("Token ".into()),
        };
        let req = guest_request("https://api.example.com/v1", &[("x-api-key", "smuggled")]);
        let out = prepare(req, &scheme, Some(&Secret::new("abc")), &policy()).unwrap();
        let values: Vec<_> = out.headers.get_all("x-api-key").iter().collect();
        assert_eq!(values, ["Token abc"]);
    }

    #[test]
    fn a_query_credential_replaces_a_guest_supplied_one() {
        let req = guest_request(
            "https://api.example.com/v1/models/m:generate?alt=sse&key=smuggled",
            &[],
        );
        let out = prepare(
            req,
            &Placement::Query("key".into()),
            Some(&Secret::new("AIza")),
            &policy(),
        )
        .unwrap();
        assert_eq!(out.url.query(), Some("alt=sse&key=AIza"));
    }

    #[test]
    fn a_destination_outside_the_grant_is_refused_before_anything_else() {
        let req = guest_request("https://attacker.example.net/steal", &[]);
        let err = prepare(req, &Placement::Bearer, Some(&Secret::new("sk")), &policy())
            .err()
            .unwrap();
        assert!(
            matches!(err, PrepareError::Egress(ref e) if e.destination == "attacker.example.net"),
            "{err}"
        );
    }

    /// The base URL has a path, so escaping it is visible after normalisation too.
    fn policy_with_path() -> EgressPolicy {
        EgressPolicy::new("https://api.example.com/gemini/", &[], &[])
    }

    fn refusal(url: &str) -> EgressRefused {
        let request = guest_request(url, &[]);
        let secret = Secret::new("AIza-operator-key");
        match prepare(
            request,
            &Placement::Bearer,
            Some(&secret),
            &policy_with_path(),
        ) {
            Err(PrepareError::Egress(refused)) => {
                assert!(!refused.to_string().contains("operator-key"), "{refused}");
                refused
            }
            Err(other) => panic!("{url}: refused as {other}"),
            Ok(out) => panic!("{url}: sent to {}", out.url),
        }
    }

    #[test]
    fn a_path_that_climbs_out_of_the_base_path_in_any_spelling_is_refused() {
        for url in [
            "https://api.example.com/gemini/v1beta/models/gem/../../../../X:generateContent",
            "https://api.example.com/gemini/v1beta/models/gem/%2e%2e/%2E%2E/%2e%2e/X:generateContent",
            "https://api.example.com/gemini/v1beta/models/gem/.%2e/./X",
            r"https://api.example.com/gemini/v1beta/models/gem\..\..\..\X:generateContent",
            "https://api.example.com/gemini/v1beta/models/..%2F..%2F..%2FX:generateContent",
            "https://api.example.com/gemini/v1beta/models/..%5c..%5cX:generateContent",
            "https://api.example.com/X:generateContent",
            "https://api.example.com/geminiX/v1beta",
            "https://api.example.com/gemini/a b",
            "http:api.example.com/gemini/x",
        ] {
            let refused = refusal(url);
            assert!(
                refused.destination.starts_with("api.example.com"),
                "{url}: {refused}"
            );
        }
        let climbed = refusal("https://api.example.com/gemini/v1beta/models/../../X");
        assert_eq!(
            climbed.destination,
            "api.example.com/gemini/v1beta/models/../../X"
        );
    }

    #[test]
    fn a_query_the_adapter_did_not_encode_is_refused() {
        for url in [
            "https://api.example.com/gemini/v1beta/models/x?injected=1&key=AIza-client:generateContent",
            "https://api.example.com/gemini/v1beta/models/x?injected=1&key=k:streamGenerateContent?alt=sse",
            "https://api.example.com/gemini/v1beta/models/x?model=vendor/m",
            "https://api.example.com/gemini/v1beta/models/x:generateContent#frag",
        ] {
            refusal(url);
        }
    }

    #[test]
    fn canonical_urls_under_the_base_path_pass() {
        for url in [
            "https://api.example.com/gemini",
            "https://api.example.com/gemini/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
            "https://api.example.com/gemini/v1beta/models/vendor%2Fm%3Fa%3D1:generateContent",
            "https://api.example.com/gemini/v1/x?a=b+c&d=%2F%3F&e=",
        ] {
            let out = prepare(
                guest_request(url, &[]),
                &Placement::None,
                None,
                &policy_with_path(),
            );
            assert!(out.is_ok(), "{url}: {}", out.err().unwrap());
        }
    }

    #[test]
    fn client_owned_headers_from_the_guest_are_dropped() {
        let req = guest_request(
            "https://api.example.com/",
            &[("Host", "evil.com"), ("Content-Length", "1")],
        );
        let out = prepare(req, &Placement::None, None, &policy()).unwrap();
        assert!(out.headers.get("host").is_none());
        assert!(out.headers.get("content-length").is_none());
    }
}
