//! Building upstream URLs from values an adapter does not control.
//!
//! A model name (and anything else that came from a client) must never shape a URL
//! beyond the one slot the adapter meant for it: `gem/../../X` must not climb out of
//! `/v1beta/models/`, `x?key=...` must not start a query. Every adapter that puts such
//! a value into a URL encodes it with [`path_segment`] (one path segment) or
//! [`query_value`] (one query value). The host checks the result too: it refuses a
//! request whose path leaves the base URL's path, carries a dot segment in any
//! spelling or a backslash, or whose query is not in the canonical form these helpers
//! write (see `docs/configuration.md`, "Models").

use crate::types::AdapterError;

/// `value` as one URL path segment: every byte outside RFC 3986's unreserved set
/// (`A-Z a-z 0-9 - . _ ~`) is percent-encoded, so `/`, `\`, `?`, `#`, `%`, `:` and
/// `@` cannot end the segment, start a query or name a custom method. An empty value
/// and the dot segments `.` and `..` (which no encoding can make literal: URL parsers
/// treat `%2e%2e` as `..`) are refused as an invalid request.
pub fn path_segment(value: &str) -> Result<String, AdapterError> {
    if value.is_empty() || value == "." || value == ".." {
        return Err(AdapterError::invalid_request(format!(
            "`{value}` cannot be a URL path segment"
        )));
    }
    Ok(encode(value, |byte| {
        byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
    }))
}

/// `value` as one query-string value in the canonical
/// `application/x-www-form-urlencoded` form the host expects: bytes outside
/// `A-Z a-z 0-9 * - . _` percent-encoded, a space as `+`.
pub fn query_value(value: &str) -> String {
    encode(value, |byte| {
        byte.is_ascii_alphanumeric() || matches!(byte, b'*' | b'-' | b'.' | b'_' | b' ')
    })
    .replace(' ', "+")
}

/// Percent-encode every byte `keep` refuses (upper-case hex).
fn encode(value: &str, keep: impl Fn(u8) -> bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for &byte in value.as_bytes() {
        if keep(byte) {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 0xf)] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ErrorKind;

    #[test]
    fn an_ordinary_model_name_is_unchanged() {
        assert_eq!(
            path_segment("gemini-2.5-flash").unwrap(),
            "gemini-2.5-flash"
        );
        assert_eq!(path_segment("v1.2_beta~3").unwrap(), "v1.2_beta~3");
    }

    #[test]
    fn separators_and_escapes_cannot_leave_the_segment() {
        assert_eq!(
            path_segment("gem/../../../../X").unwrap(),
            "gem%2F..%2F..%2F..%2F..%2FX"
        );
        assert_eq!(
            path_segment("x?injected=1&key=k").unwrap(),
            "x%3Finjected%3D1%26key%3Dk"
        );
        assert_eq!(path_segment(r"..\..\X").unwrap(), "..%5C..%5CX");
        assert_eq!(path_segment("a%2Fb#f").unwrap(), "a%252Fb%23f");
        assert_eq!(
            path_segment("m:streamGenerateContent").unwrap(),
            "m%3AstreamGenerateContent"
        );
        assert_eq!(path_segment("é").unwrap(), "%C3%A9");
    }

    #[test]
    fn dot_segments_and_the_empty_segment_are_refused() {
        for value in ["", ".", ".."] {
            let error = path_segment(value).unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidRequest, "{value:?}");
        }
        assert_eq!(path_segment("...").unwrap(), "...");
    }

    #[test]
    fn a_query_value_is_form_encoded() {
        assert_eq!(query_value("sse"), "sse");
        assert_eq!(query_value("a b&c=d/e?"), "a+b%26c%3Dd%2Fe%3F");
    }
}
