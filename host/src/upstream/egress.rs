//! The egress policy: where a guest-built request may go.
//!
//! A provider entry may reach its base URL's host, plus the hosts that both the
//! adapter declares (`info().hosts`) and the operator grants (`allow-hosts`). Patterns
//! are exact host names or `*.suffix` (subdomains of `suffix`, not `suffix` itself).
//! Anything else is refused before a byte leaves the machine.

/// The hosts one provider entry may reach.
#[derive(Debug, Clone)]
pub struct EgressPolicy {
    base_host: Option<String>,
    declared: Vec<String>,
    granted: Vec<String>,
}

/// A refused destination.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("egress to `{destination}` is not granted")]
pub struct EgressRefused {
    /// The host (or URL, when it has none) that was refused.
    pub destination: String,
}

impl EgressPolicy {
    /// The policy for an entry whose base URL is `base_url`, whose adapter declares
    /// `declared` and whose config grants `granted`.
    pub fn new(base_url: &str, declared: &[String], granted: &[String]) -> Self {
        let base_host = reqwest::Url::parse(base_url)
            .ok()
            .and_then(|url| url.host_str().map(normalise));
        Self {
            base_host,
            declared: declared.iter().map(|p| normalise(p)).collect(),
            granted: granted.iter().map(|p| normalise(p)).collect(),
        }
    }

    /// Allow `url` or say why not. Only `http` and `https` are ever allowed.
    pub fn check(&self, url: &reqwest::Url) -> Result<(), EgressRefused> {
        let refused = || EgressRefused {
            destination: url.host_str().unwrap_or(url.as_str()).to_owned(),
        };
        if !matches!(url.scheme(), "http" | "https") {
            return Err(refused());
        }
        let host = normalise(url.host_str().ok_or_else(refused)?);
        if self.base_host.as_deref() == Some(host.as_str()) {
            return Ok(());
        }
        let declared = self.declared.iter().any(|p| host_matches(p, &host));
        let granted = self.granted.iter().any(|p| host_matches(p, &host));
        if declared && granted {
            Ok(())
        } else {
            Err(refused())
        }
    }
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

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
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
    fn only_http_schemes_leave_the_machine() {
        let policy = EgressPolicy::new("https://api.example.com", &[], &[]);
        assert!(policy.check(&url("file:///etc/passwd")).is_err());
        assert!(policy.check(&url("ftp://api.example.com/")).is_err());
    }
}
