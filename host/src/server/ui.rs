//! The web page at `/ui/`: its shell and assets, embedded in the binary at build time
//! (`host/build.rs` reads `ui/dist/`), so nothing is fetched from anywhere else and
//! the page needs no files beside the binary.
//!
//! The shell and assets are public (they hold no figure); every figure the page shows
//! comes from the management API, behind the management key. Every answer carries a
//! strict `Content-Security-Policy` (same origin only, no inline script, no framing),
//! `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`. Hashed assets
//! (`assets/NAME-HASH.EXT`) are cached for good; the shell is revalidated every time,
//! so a new binary's page is picked up at once. The build puts a gzipped copy beside
//! the script and stylesheet, sent to browsers that accept gzip.
//!
//! Without `ui/dist/` at build time the shell is a page saying the UI was not built
//! and how to build it.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));
}

/// Where the page is mounted.
pub const MOUNT: &str = "/ui/";

/// Whether the page was built into this binary (else `/ui/` says how to build it).
pub const BUILT: bool = embedded::BUILT;

/// The policy every answer under `/ui/` carries.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The page served when `ui/dist/` was missing at build time.
const NOT_BUILT: &str = "<!doctype html>
<html lang=\"en\"><head><meta charset=\"utf-8\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<title>Plugboard: web UI not built</title></head>
<body><main>
<h1>The web UI was not built into this binary</h1>
<p>This Plugboard was compiled without the page's assets (<code>ui/dist/</code> was missing).
Build them and the binary again with <code>just build</code> (or <code>just ui</code> then
<code>cargo build -p plugboard</code>); <code>just ui</code> runs <code>npm ci</code> and
<code>npm run build</code> in <code>ui/</code>.</p>
<p>The management API under <code>/v0/management/</code> works without the page.</p>
</main></body></html>
";

/// The routes `/ui`, `/ui/` and `/ui/{*path}`, for merging into the application's
/// router (no key: the shell and assets are public).
pub fn router<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    axum::Router::new()
        .route("/ui", get(|| async { Redirect::permanent(MOUNT) }))
        .route("/ui/", get(shell))
        .route("/ui/{*path}", get(asset))
}

/// The embedded file at `path` (relative to `ui/dist/`).
fn find(path: &str) -> Option<&'static [u8]> {
    embedded::ASSETS
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, bytes)| *bytes)
}

/// `GET /ui/`: the shell (or the not-built page), never cached without revalidation.
async fn shell() -> Response {
    let body: &'static [u8] = find("index.html").unwrap_or(NOT_BUILT.as_bytes());
    answer(body, "text/html; charset=utf-8", "no-cache")
}

/// `GET /ui/{path}`: an embedded asset (its gzipped copy `PATH.gz`, made by the build,
/// when there is one and the browser accepts gzip), else a 404.
async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if let Some(body) = find(&path) {
        let cache = if path.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        let packed = find(&format!("{path}.gz")).filter(|_| accepts_gzip(&headers));
        let mut response = answer(packed.unwrap_or(body), content_type(&path), cache);
        if packed.is_some() {
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        if find(&format!("{path}.gz")).is_some() {
            response
                .headers_mut()
                .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        return response;
    }
    let mut response = answer(
        format!("No `/ui/{path}` in this build\n").into_bytes(),
        "text/plain; charset=utf-8",
        "no-cache",
    );
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

/// Whether `Accept-Encoding` takes gzip (and does not refuse it with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused =
                parts.any(|p| p.replace(' ', "") == "q=0" || p.replace(' ', "") == "q=0.0");
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

/// The `Content-Type` of an embedded file, by its extension.
pub fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map_or("", |(_, ext)| ext);
    match extension {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "map" => "application/json",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `body` with its type, cache policy and the security headers.
fn answer(body: impl Into<axum::body::Body>, kind: &'static str, cache: &'static str) -> Response {
    let mut response = (StatusCode::OK, body.into()).into_response();
    let headers = response.headers_mut();
    let mut set = |name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(header::CONTENT_TYPE, kind);
    set(header::CACHE_CONTROL, cache);
    set(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::X_FRAME_OPTIONS, "DENY");
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_files_are_served_with_their_types() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("assets/main-ABC123.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            content_type("assets/main-ABC123.css"),
            "text/css; charset=utf-8"
        );
        assert_eq!(content_type("assets/icon-1.svg"), "image/svg+xml");
        assert_eq!(content_type("README"), "application/octet-stream");
        let mut headers = HeaderMap::new();
        assert!(!accepts_gzip(&headers), "no Accept-Encoding: identity");
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br"),
        );
        assert!(accepts_gzip(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0"),
        );
        assert!(!accepts_gzip(&headers));
        if BUILT {
            assert!(find("index.html").is_some(), "a built page has its shell");
        } else {
            assert!(embedded::ASSETS.is_empty());
        }
    }
}
