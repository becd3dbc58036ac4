//! Client authentication: a configured key, in whichever style the client sends it,
//! and who the caller is: a named client key (`client-keys:` or created through the
//! management API) or a key of the plain `api-keys` list. The caller goes into the
//! request's extensions ([`Caller`]) for the handlers to hand to the pipeline, whose
//! governance applies the key's limits.
//!
//! Real clients differ: OpenAI SDKs send `Authorization: Bearer`, Claude Code sends
//! `x-api-key` (the Anthropic SDK sends Bearer), Gemini clients `x-goog-api-key` or
//! `?key=`. All are accepted; every comparison is constant-time.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use crate::credentials::any_key_matches;
use crate::governance::Caller;
use crate::pipeline::Gateway;
use crate::surfaces::{ClientError, ErrorKind};

/// Every key the request presents, in the order listed above.
pub fn presented_keys(headers: &HeaderMap, query: Option<&str>) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        if value.len() > 7 && value[..7].eq_ignore_ascii_case("bearer ") {
            keys.push(value[7..].trim().to_owned());
        }
    }
    for name in ["x-api-key", "x-goog-api-key"] {
        if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
            keys.push(value.trim().to_owned());
        }
    }
    if let Some(query) = query {
        keys.extend(
            reqwest::Url::parse(&format!("http://q/?{query}"))
                .into_iter()
                .flat_map(|url| {
                    url.query_pairs()
                        .filter(|(k, _)| k == "key")
                        .map(|(_, v)| v.into_owned())
                        .collect::<Vec<_>>()
                }),
        );
    }
    keys
}

/// Middleware: 401 in the client's error shape unless a configured key is presented;
/// otherwise the [`Caller`] and the generation it was checked against go into the
/// request's extensions (the handler serves under that generation).
pub async fn require_client_key(
    State(gateway): State<Arc<Gateway>>,
    mut request: Request,
    next: Next,
) -> Response {
    let keys = &gateway.config.api_keys;
    let governance = &gateway.governance;
    if keys.is_empty() && gateway.config.allow_unauthenticated && !governance.has_keys() {
        request.extensions_mut().insert(Caller::plain());
        request.extensions_mut().insert(gateway.clone());
        return next.run(request).await;
    }
    let presented = presented_keys(request.headers(), request.uri().query());
    // Check every presented key (no early exit), so timing says nothing about which matched.
    let plain = presented
        .iter()
        .fold(false, |ok, key| any_key_matches(keys, key) | ok);
    let named = governance.identify(&presented);
    let caller = match (named, plain) {
        (Some(name), _) => Some(Caller::named(name)),
        (None, true) => Some(Caller::plain()),
        (None, false) => None,
    };
    if let Some(caller) = caller {
        request.extensions_mut().insert(caller);
        // The handler serves under the generation the key was checked against.
        request.extensions_mut().insert(gateway.clone());
        return next.run(request).await;
    }
    let message = if presented.is_empty() {
        "Missing API key: send it as `Authorization: Bearer KEY`, `x-api-key`, `x-goog-api-key` or `?key=`"
    } else {
        "Incorrect API key provided"
    };
    tracing::info!(path = %request.uri().path(), status = 401, "request refused: no valid client key");
    let dialect = super::route_dialect(
        request.method(),
        request.uri().path(),
        request.headers(),
        request.uri().query(),
    );
    dialect.error_response(
        &ClientError::new(ErrorKind::Authentication, message).code("invalid_api_key"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn each_key_style_real_clients_use_is_read() {
        assert_eq!(
            presented_keys(&headers(&[("authorization", "Bearer sk-1")]), None),
            ["sk-1"]
        );
        assert_eq!(
            presented_keys(&headers(&[("authorization", "bearer  sk-1 ")]), None),
            ["sk-1"]
        );
        assert_eq!(
            presented_keys(&headers(&[("x-api-key", "sk-2")]), None),
            ["sk-2"]
        );
        assert_eq!(
            presented_keys(&headers(&[("x-goog-api-key", "sk-3")]), None),
            ["sk-3"]
        );
        assert_eq!(
            presented_keys(&HeaderMap::new(), Some("alt=sse&key=sk%2D4")),
            ["sk-4"]
        );
    }

    #[test]
    fn other_authorization_schemes_are_not_keys() {
        assert!(
            presented_keys(&headers(&[("authorization", "Basic dXNlcjpwYXNz")]), None).is_empty()
        );
        assert!(presented_keys(&headers(&[("authorization", "Bearer")]), None).is_empty());
    }
}
