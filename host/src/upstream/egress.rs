//! The egress policy: where a guest-built request may go.
//!
//! Hosts: a provider entry may reach its base URL's host and the hosts of the endpoints
//! its config overrides (`endpoints:`; the grant follows the override), plus the hosts
//! that both the adapter declares (`info().hosts`) and the operator grants
//! (`allow-hosts`). Patterns
//! are exact host names or `*.suffix` (subdomains of `suffix`, not `suffix` itself).
//!
//! Paths and queries: an adapter puts client-derived text (a model name, for an entry
//! without `models:`) into URLs, so the host also checks the URL text the guest built,
//! not only its normalised form (`Url::parse` resolves `..` and turns `\` into `/`,
//! which is how `gem/../../X` once reached `/X` with the operator's key):
//!
//! - the raw path must already be canonical (what `Url::parse` would make of it): no
//!   dot segment in any spelling (`..`, `%2e%2e`), no backslash, nothing left to escape;
//! - no segment, percent-decoded, may hold a `.` or `..` piece between `/` or `\`
//!   (`..%2F..%2FX` is one segment here, but a server that decodes `%2F` sees `../../X`);
//! - on the base URL's host the path must stay under the base URL's path;
//! - the query must be `name=value` pairs in the canonical form-urlencoded spelling the
//!   SDK's `url::query_value` writes, and there is no fragment. The host cannot know
//!   which parameters an adapter meant to build, but it knows that every value an
//!   adapter encodes comes out canonical, while client text pasted in raw
//!   (`x?injected=1&key=...:streamGenerateContent?alt=sse`) does not: a raw `?`, `:`
//!   or `/` in a query is refused.
//!
//! Anything else is refused before a byte leaves the machine.

use std::sync::Arc;

use arc_swap::ArcSwapOption;

/// Longest URL text a refusal quotes.
const QUOTE_LIMIT: usize = 200;

/// The policy a provider entry's last request was checked against, kept so the next
/// request on the same base URL and the same build of the adapter reuses it instead of
/// parsing URLs again (rebuilt per request, that was 1.2% of the process's CPU under
/// load). A clone starts empty: the memo belongs to the one entry value it sits in, so a
/// changed copy of an entry never sees its original's policy.
#[derive(Default)]
pub struct EgressMemo(ArcSwapOption<Memoized>);

struct Memoized {
    base_url: String,
    /// The adapter build's hash: its declared hosts are part of the policy.
    component: String,
    policy: Arc<EgressPolicy>,
}

impl EgressMemo {
    /// The policy for `base_url` and the adapter build `component`: the memoized one
    /// when both match the last request's, else `build()`'s, which is kept.
    pub fn get_or_build(
        &self,
        base_url: &str,
        component: &str,
        build: impl FnOnce() -> EgressPolicy,
    ) -> Arc<EgressPolicy> {
        if let Some(last) = self.0.load().as_deref()
            && last.base_url == base_url
            && last.component == component
        {
            return last.policy.clone();
        }
        let policy = Arc::new(build());
        self.0.store(Some(Arc::new(Memoized {
            base_url: base_url.to_owned(),
            component: component.to_owned(),
            policy: policy.clone(),
        })));
        policy
    }
}

impl Clone for EgressMemo {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for EgressMemo {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("EgressMemo")
    }
}

/// Where one provider entry's requests may go.
#[derive(Debug, Clone)]
pub struct EgressPolicy {
    base_host: Option<String>,
    /// The base URL's path without a trailing `/` (`""` for the root).
    base_path: String,
    declared: Vec<String>,
    granted: Vec<String>,
    /// Hosts of endpoints the operator pointed elsewhere in config.
    overridden: Vec<String>,
}

/// A refused destination.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("egress to `{destination}` is not granted: {reason}")]
pub struct EgressRefused {
    /// The host (or URL, when it has none) that was refused; for a refused path or
    /// query, the host with the path (and query) the guest built, shortened.
    pub destination: String,
    /// Which rule refused it.
    pub reason: &'static str,
}

impl EgressPolicy {
    /// The policy for an entry whose base URL is `base_url`, whose adapter declares
    /// `declared` and whose config grants `granted`.
    pub fn new(base_url: &str, declared: &[String], granted: &[String]) -> Self {
        let parsed = reqwest::Url::parse(base_url).ok();
        let base_host = parsed
            .as_ref()
            .and_then(|url| url.host_str().map(normalise));
        let base_path = parsed
            .as_ref()
            .map(|url| url.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        Self {
            base_host,
            base_path,
            declared: declared.iter().map(|p| normalise(p)).collect(),
            granted: granted.iter().map(|p| normalise(p)).collect(),
            overridden: Vec::new(),
        }
    }

    /// Also grant the hosts of these URLs: the endpoints the operator overrode in
    /// config (`endpoints: {token: https://...}`), whose hosts the adapter could not
    /// have declared.
    pub fn with_overridden_endpoints<'a>(
        mut self,
        urls: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        self.overridden.extend(urls.into_iter().filter_map(|url| {
            let parsed = reqwest::Url::parse(url).ok()?;
            parsed.host_str().map(normalise)
        }));
        self
    }

    /// Allow the host of `url` or say why not. Only `http` and `https` are ever allowed.
    pub fn check(&self, url: &reqwest::Url) -> Result<(), EgressRefused> {
        let refused = |reason| EgressRefused {
            destination: url.host_str().unwrap_or(url.as_str()).to_owned(),
            reason,
        };
        if !matches!(url.scheme(), "http" | "https") {
            return Err(refused("only http and https leave the machine"));
        }
        let host = normalise(url.host_str().ok_or_else(|| refused("no host"))?);
        if self.base_host.as_deref() == Some(host.as_str()) || self.overridden.contains(&host) {
            return Ok(());
        }
        let declared = self.declared.iter().any(|p| host_matches(p, &host));
        let granted = self.granted.iter().any(|p| host_matches(p, &host));
        if declared && granted {
            Ok(())
        } else {
            Err(refused(
                "host neither the base URL's nor declared and granted",
            ))
        }
    }

    /// [`check`](Self::check) the host, then the path and query rules (module docs)
    /// against `raw`, the URL text the guest built, which parsed to `url`.
    pub fn check_request(&self, raw: &str, url: &reqwest::Url) -> Result<(), EgressRefused> {
        self.check(url)?;
        let host = url.host_str().unwrap_or_default();
        let refused = |reason, with_query: bool| {
            let (path, query) = raw_parts(raw).unwrap_or_default();
            let mut destination = format!("{host}{path}");
            if let (true, Some(query)) = (with_query, query) {
                destination.push('?');
                destination.push_str(query);
            }
            EgressRefused {
                destination: shorten(destination),
                reason,
            }
        };
        let Some((raw_path, raw_query)) = raw_parts(raw) else {
            return Err(refused("not an absolute `scheme://host/path` URL", false));
        };
        if raw.contains('#') {
            return Err(refused("a fragment", true));
        }
        let raw_path = if raw_path.is_empty() { "/" } else { raw_path };
        if raw_path != url.path() {
            return Err(refused(
                "a path that is not canonical (dot segments, backslashes or unescaped characters)",
                false,
            ));
        }
        if raw_path.split('/').any(hides_dot_segment) {
            return Err(refused(
                "a path segment that decodes to a dot segment",
                false,
            ));
        }
        let on_base_host = self.base_host.as_deref() == Some(normalise(host).as_str());
        if on_base_host && !under(raw_path, &self.base_path) {
            return Err(refused("a path outside the base URL's path", false));
        }
        if let Some(query) = raw_query
            && !query.is_empty()
            && query != canonical_query(url)
        {
            return Err(refused(
                "a query that is not canonical form-urlencoded pairs",
                true,
            ));
        }
        Ok(())
    }
}

/// The raw path and query of `raw` (`scheme://authority` removed, the fragment
/// ignored), or `None` when it has no `://`.
fn raw_parts(raw: &str) -> Option<(&str, Option<&str>)> {
    let after_scheme = &raw[raw.find("://")? + 3..];
    let authority_end = after_scheme
        .find(['/', '\\', '?', '#'])
        .unwrap_or(after_scheme.len());
    let rest = &after_scheme[authority_end..];
    let rest = rest.split('#').next().unwrap_or_default();
    Some(match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    })
}

/// Does `path` lie at or under `base` (no trailing `/`; `""` is the root)?
fn under(path: &str, base: &str) -> bool {
    base.is_empty()
        || path == base
        || path
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Does this raw segment, percent-decoded, hold a `.` or `..` piece?
fn hides_dot_segment(segment: &str) -> bool {
    let decoded = percent_decode(segment);
    decoded
        .split(['/', '\\'])
        .any(|piece| piece == "." || piece == "..")
}

/// `%XX` escapes decoded (invalid ones kept as they are), lossily as UTF-8.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `url`'s query pairs written again in canonical form-urlencoded spelling.
fn canonical_query(url: &reqwest::Url) -> String {
    let mut scratch = reqwest::Url::parse("http://canonical.invalid/").expect("a valid URL");
    scratch.query_pairs_mut().extend_pairs(url.query_pairs());
    scratch.query().unwrap_or_default().to_owned()
}

/// At most [`QUOTE_LIMIT`] bytes of `text`, cut on a character boundary, control
/// characters (a client's text can carry them into a log line) replaced.
fn shorten(text: String) -> String {
    let mut text: String = text
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if text.len() > QUOTE_LIMIT {
        let mut cut = QUOTE_LIMIT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// Lower-case, without a trailing dot or IPv6 brackets, so spellings compare equal.
fn normalise(host: &str) -> String {
    host.trim_end_matches('.')
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

/// Does `host` match `pattern` (exact, or `*.suffix` for strict subdomains)?
pub fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => {
            host.len() > suffix.len() + 1
                && host.ends_with(suffix)
                && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
        }
        None => pattern == host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> reqwest::Url {
        reqwest::Url::parse(text).unwrap()
    }

    #[test]
    fn the_memo_reuses_a_policy_only_for_the_same_base_url_and_adapter_build() {
        let memo = EgressMemo::default();
        let mut built = 0;
        let mut get = |base: &str, component: &str| {
            memo.get_or_build(base, component, || {
                built += 1;
                EgressPolicy::new(base, &[], &[])
            })
        };
        let first = get("https://a.example", "hash-1");
        let again = get("https://a.example", "hash-1");
        assert!(Arc::ptr_eq(&first, &again));
        // A token exchange moved the base URL: a policy for the new host.
        let moved = get("https://b.example", "hash-1");
        assert!(moved.check(&url("https://b.example/v1")).is_ok());
        assert!(moved.check(&url("https://a.example/v1")).is_err());
        // A hot swap brought another build, whose declared hosts may differ.
        let swapped = get("https://b.example", "hash-2");
        assert!(!Arc::ptr_eq(&moved, &swapped));
        assert_eq!(built, 3);
    }

    #[test]
    fn a_cloned_memo_starts_empty() {
        let memo = EgressMemo::default();
        let policy = memo.get_or_build("https://a.example", "h", || {
            EgressPolicy::new("https://a.example", &[], &[])
        });
        let copy = memo.clone();
        let rebuilt = copy.get_or_build("https://a.example", "h", || {
            EgressPolicy::new("https://a.example", &[], &[])
        });
        assert!(!Arc::ptr_eq(&policy, &rebuilt));
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_overridden_endpoint_s_host_is_granted_and_nothing_more() {
        let policy = EgressPolicy::new("https://api.anthropic.com", &[], &[])
            .with_overridden_endpoints(["https://login.corp.test:8443/oauth/token"]);
        assert!(policy.check(&url("https://login.corp.test/x")).is_ok());
        assert!(policy.check(&url("https://evil.corp.test/x")).is_err());
        assert!(policy.check(&url("https://corp.test/x")).is_err());
    }

    #[test]
    fn the_base_url_host_is_always_granted() {
        let policy = EgressPolicy::new("https://api.anthropic.com", &[], &[]);
        assert!(
            policy
                .check(&url("https://API.anthropic.com/v1/messages"))
                .is_ok()
        );
        assert!(policy.check(&url("http://127.0.0.1:9/x")).is_err());
    }

    #[test]
    fn other_hosts_need_both_the_adapter_declaration_and_the_operator_grant() {
        let declared = strings(&["*.googleapis.com", "oauth2.example.com"]);
        let only_declared = EgressPolicy::new("https://base.example", &declared, &[]);
        assert!(
            only_declared
                .check(&url("https://us-aiplatform.googleapis.com/"))
                .is_err()
        );

        let granted = strings(&["us-aiplatform.googleapis.com", "evil.com"]);
        let policy = EgressPolicy::new("https://base.example", &declared, &granted);
        assert!(
            policy
                .check(&url("https://us-aiplatform.googleapis.com/v1"))
                .is_ok()
        );
        assert!(
            policy
                .check(&url("https://eu-aiplatform.googleapis.com/v1"))
                .is_err(),
            "declared, not granted"
        );
        assert!(
            policy.check(&url("https://evil.com/")).is_err(),
            "granted, not declared"
        );
    }

    #[test]
    fn wildcards_cover_subdomains_only() {
        assert!(host_matches("*.example.com", "a.example.com"));
        assert!(host_matches("*.example.com", "a.b.example.com"));
        assert!(!host_matches("*.example.com", "example.com"));
        assert!(!host_matches("*.example.com", "badexample.com"));
        assert!(!host_matches("example.com", "a.example.com"));
    }

    #[test]
    fn the_base_path_is_matched_on_segment_boundaries() {
        assert!(under("/gemini", "/gemini"));
        assert!(under("/gemini/v1beta/models/m", "/gemini"));
        assert!(!under("/geminiX/v1beta", "/gemini"));
        assert!(!under("/", "/gemini"));
        assert!(under("/anything", ""));
    }

    #[test]
    fn a_quoted_destination_is_short_and_has_no_control_characters() {
        let quoted = shorten(format!("h/a\nb{}", "x".repeat(500)));
        assert!(quoted.starts_with("h/a\u{fffd}b"));
        assert!(quoted.len() <= QUOTE_LIMIT + '…'.len_utf8());
    }

    #[test]
    fn only_http_schemes_leave_the_machine() {
        let policy = EgressPolicy::new("https://api.example.com", &[], &[]);
        assert!(policy.check(&url("file:///etc/passwd")).is_err());
        assert!(policy.check(&url("ftp://api.example.com/")).is_err());
    }
}
