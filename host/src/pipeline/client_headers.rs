//! Which of the client's request headers an adapter may see.
//!
//! Adapters get the client's headers so they can carry what a client says there (e.g.
//! Anthropic's `anthropic-beta` list on the passthrough path), but never a header that
//! can hold a credential: the client's key is for Plugboard, and guests see no secrets.
//! Hop-by-hop and framing headers describe the client's connection, not the request.

use axum::http::HeaderMap;

/// Headers that may carry a credential.
const CREDENTIALS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "x-goog-api-key",
    "cookie",
];

/// Headers about the client's connection or body framing.
const CONNECTION: &[&str] = &[
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "accept-encoding",
    "expect",
];

/// The client's headers an adapter may see, names lower-case, values that are not
/// valid UTF-8 left out.
pub fn forwardable(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            !CREDENTIALS.contains(&name) && !CONNECTION.contains(&name)
        })
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_connection_headers_never_reach_an_adapter() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("authorization", "Bearer sk-client"),
            ("x-api-key", "sk-client"),
            ("x-goog-api-key", "sk-client"),
            ("cookie", "session=1"),
            ("proxy-authorization", "Basic x"),
            ("connection", "keep-alive"),
            ("content-length", "12"),
            ("anthropic-beta", "interleaved-thinking-2025-05-14"),
            ("x-claude-code-session-id", "s-1"),
        ] {
            headers.insert(name, value.parse().unwrap());
        }
        assert_eq!(
            forwardable(&headers),
            vec![
                (
                    "anthropic-beta".to_owned(),
                    "interleaved-thinking-2025-05-14".to_owned()
                ),
                ("x-claude-code-session-id".to_owned(), "s-1".to_owned()),
            ]
        );
    }
}
