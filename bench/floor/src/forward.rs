//! One forwarded request: point it at the upstream, drop the hop-by-hop
//! headers, optionally round-trip the body through `serde_json::Value`, and
//! hand the upstream's response back as it streams in.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper::header::{
    CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, TRANSFER_ENCODING,
};
use hyper::http::uri::{Authority, PathAndQuery, Scheme};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;

/// A body passed through untouched, or one the floor built itself.
pub type ForwardBody = Either<Incoming, Full<Bytes>>;

/// The proxy's fixed configuration and its pooled upstream client.
pub struct Proxy {
    /// Keep-alive pool to the upstream (TCP_NODELAY set on its connector).
    pub client: Client<HttpConnector, ForwardBody>,
    /// The upstream's scheme (`http`).
    pub scheme: Scheme,
    /// The upstream's `host:port`.
    pub authority: Authority,
    /// Parse and re-serialise JSON request bodies (the `floor-json` system).
    pub json: bool,
}

/// Headers that describe one hop, not the message (RFC 9110 §7.6.1); a proxy
/// must not pass them on. `transfer-encoding` is left to hyper, which frames
/// the forwarded body itself.
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
];

/// Removes the hop-by-hop headers from `headers`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Fast path: a typical client request has none of them.
    if HOP_BY_HOP.iter().any(|name| headers.contains_key(*name)) {
        for name in HOP_BY_HOP {
            headers.remove(HeaderName::from_static(name));
        }
    }
}

/// `path_and_query` on the upstream, in the absolute form the client needs.
pub fn upstream_uri(
    scheme: &Scheme,
    authority: &Authority,
    path_and_query: Option<&PathAndQuery>,
) -> Uri {
    let mut parts = hyper::http::uri::Parts::default();
    parts.scheme = Some(scheme.clone());
    parts.authority = Some(authority.clone());
    parts.path_and_query = Some(
        path_and_query
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/")),
    );
    Uri::from_parts(parts).expect("scheme, authority and path make a valid URI")
}

/// Parses `body` into a `serde_json::Value` and writes it back out: the cost of
/// a proxy that must look inside the JSON, with no translation on top.
pub fn reserialise_json(body: &[u8]) -> Result<Bytes, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_slice(body)?;
    serde_json::to_vec(&value).map(Bytes::from)
}

/// Forwards one request to the upstream and streams its answer back.
pub async fn forward(
    request: Request<Incoming>,
    proxy: &'static Proxy,
) -> Result<Response<ForwardBody>, Infallible> {
    let (mut parts, body) = request.into_parts();
    parts.uri = upstream_uri(&proxy.scheme, &proxy.authority, parts.uri.path_and_query());
    strip_hop_by_hop(&mut parts.headers);
    let body = if proxy.json {
        let bytes = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                return Ok(plain(
                    StatusCode::BAD_REQUEST,
                    "request body could not be read",
                ));
            }
        };
        let Ok(reserialised) = reserialise_json(&bytes) else {
            return Ok(plain(StatusCode::BAD_REQUEST, "request body is not JSON"));
        };
        parts.headers.remove(TRANSFER_ENCODING);
        parts
            .headers
            .insert(CONTENT_LENGTH, HeaderValue::from(reserialised.len()));
        Either::Right(Full::new(reserialised))
    } else {
        Either::Left(body)
    };
    match proxy.client.request(Request::from_parts(parts, body)).await {
        Ok(response) => Ok(response.map(Either::Left)),
        Err(_) => Ok(plain(StatusCode::BAD_GATEWAY, "upstream unreachable")),
    }
}

fn plain(status: StatusCode, message: &'static str) -> Response<ForwardBody> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from_static(
        message.as_bytes(),
    ))));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_keep_their_path_and_query_on_the_upstream() {
        let scheme = Scheme::HTTP;
        let authority = Authority::from_static("127.0.0.1:9000");
        let pq = PathAndQuery::from_static("/v1beta/models/g:streamGenerateContent?alt=sse");
        let uri = upstream_uri(&scheme, &authority, Some(&pq));
        assert_eq!(
            uri,
            "http://127.0.0.1:9000/v1beta/models/g:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            upstream_uri(&scheme, &authority, None),
            "http://127.0.0.1:9000/"
        );
    }

    #[test]
    fn hop_by_hop_headers_stop_here_and_the_rest_pass() {
        let mut headers = HeaderMap::new();
        headers.insert("connection", HeaderValue::from_static("keep-alive"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("authorization", HeaderValue::from_static("Bearer k"));
        headers.insert("x-api-key", HeaderValue::from_static("k"));
        strip_hop_by_hop(&mut headers);
        let mut left: Vec<&str> = headers.keys().map(|name| name.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["authorization", "x-api-key"]);
    }

    #[test]
    fn json_mode_rewrites_the_same_document_and_refuses_non_json() {
        let body = br#"{ "model": "m",  "messages": [{"role":"user","content":"h\u00e9"}], "stream": true }"#;
        let out = reserialise_json(body).unwrap();
        assert_eq!(
            &out[..],
            r#"{"model":"m","messages":[{"role":"user","content":"hé"}],"stream":true}"#.as_bytes()
        );
        assert!(reserialise_json(b"not json").is_err());
    }
}
