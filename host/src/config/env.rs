//! `${ENV_VAR}` expansion in config string values, so keys need not sit in the file.
//!
//! Syntax: `${NAME}` (an error when `NAME` is unset), `${NAME:-fallback}` (the
//! fallback when unset or empty), and `$${` for a literal `${`. Expansion happens on
//! parsed string values, never on the file text, so a variable can never inject YAML
//! structure.

use anyhow::bail;

/// Expand every `${...}` in `value`. `key` names the config key, for the error (a
/// [`super::KeyError`], so the caller can add its line).
pub fn expand(value: &str, key: &str) -> anyhow::Result<String> {
    expand_with(value, |name| std::env::var(name).ok()).map_err(|error| {
        super::KeyError {
            key: key.to_owned(),
            message: format!("{error:#}"),
        }
        .into()
    })
}

/// Expansion with an injectable lookup (tests must not depend on the process env).
pub fn expand_with(value: &str, lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<String> {
    if !value.contains('$') {
        return Ok(value.to_owned());
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let Some(end) = tail.find('}') else {
                bail!("unterminated `${{` in config value");
            };
            let expr = &tail[..end];
            let (name, fallback) = match expr.split_once(":-") {
                Some((name, fallback)) => (name, Some(fallback)),
                None => (expr, None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                bail!("`${{{expr}}}` is not a valid environment variable reference");
            }
            match (
                lookup(name).filter(|v| !v.is_empty() || fallback.is_none()),
                fallback,
            ) {
                (Some(found), _) => out.push_str(&found),
                (None, Some(fallback)) => out.push_str(fallback),
                (None, None) => bail!("environment variable `{name}` is not set"),
            }
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "ANTHROPIC_KEY" => Some("sk-ant-123".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn a_key_can_come_from_the_environment() {
        assert_eq!(expand_with("${ANTHROPIC_KEY}", env).unwrap(), "sk-ant-123");
        assert_eq!(
            expand_with("Bearer ${ANTHROPIC_KEY}!", env).unwrap(),
            "Bearer sk-ant-123!"
        );
    }

    #[test]
    fn fallbacks_escapes_and_plain_dollars() {
        assert_eq!(expand_with("${MISSING:-none}", env).unwrap(), "none");
        assert_eq!(expand_with("${EMPTY:-dflt}", env).unwrap(), "dflt");
        assert_eq!(expand_with("${EMPTY}", env).unwrap(), "");
        assert_eq!(
            expand_with("$${ANTHROPIC_KEY}", env).unwrap(),
            "${ANTHROPIC_KEY}"
        );
        assert_eq!(expand_with("costs $5", env).unwrap(), "costs $5");
    }

    #[test]
    fn an_unset_variable_is_an_error_naming_it() {
        let err = expand_with("${NOPE}", env).unwrap_err().to_string();
        assert!(err.contains("NOPE"), "{err}");
        assert!(expand_with("${UNCLOSED", env).is_err());
        assert!(expand_with("${bad-name}", env).is_err());
    }
}
