//! Edit one top-level field of a JSON body without re-serialising the rest.
//!
//! Passthrough bodies run to 90 KB and only `model` changes; parsing and re-writing
//! them inside the guest costs ~2.7x native time (measured when the SDK was designed). The scanner here finds
//! the field's value span with string- and nesting-aware skipping and splices in the new
//! value, so every other byte (key order, spacing, unknown fields) survives as sent.

use crate::types::AdapterError;

/// Set top-level `key` of the JSON object `body` to the string `value`: replaced in
/// place when present, inserted as the first member otherwise. Errors when `body` is
/// not a JSON object (as far as the scan can tell; the upstream validates the rest).
pub fn set_top_level_string(body: &[u8], key: &str, value: &str) -> Result<Vec<u8>, AdapterError> {
    let encoded = serde_json::Value::String(value.to_string()).to_string();
    let not_object = || AdapterError::invalid_request("the request body is not a JSON object");
    let members = top_level_members(body).ok_or_else(not_object)?;
    let mut edited = Vec::with_capacity(body.len() + encoded.len());
    match members
        .iter()
        .find(|member| &body[member.key.clone()] == key.as_bytes())
    {
        Some(member) => {
            edited.extend_from_slice(&body[..member.value.start]);
            edited.extend_from_slice(encoded.as_bytes());
            edited.extend_from_slice(&body[member.value.end..]);
        }
        None => {
            let open = skip_whitespace(body, 0);
            edited.extend_from_slice(&body[..=open]);
            edited.extend_from_slice(
                serde_json::Value::String(key.to_string())
                    .to_string()
                    .as_bytes(),
            );
            edited.push(b':');
            edited.extend_from_slice(encoded.as_bytes());
            if !members.is_empty() {
                edited.push(b',');
            }
            edited.extend_from_slice(&body[open + 1..]);
        }
    }
    Ok(edited)
}

/// The raw text of top-level `key`'s value, when present (e.g. to peek at `stream`).
pub fn top_level_raw<'a>(body: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let members = top_level_members(body)?;
    let member = members
        .iter()
        .find(|member| &body[member.key.clone()] == key.as_bytes())?;
    Some(&body[member.value.clone()])
}

/// A client's native (passthrough) body, pointed at the upstream model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeBody {
    /// The body as sent, but for `model`.
    pub body: Vec<u8>,
    /// Whether the client asked for a stream (top-level `"stream": true`).
    pub streaming: bool,
}

/// Point a passthrough body at `model` (every other byte survives) and read whether it
/// asks to stream: what every adapter whose dialect names the model in the body does.
pub fn native_body_for_model(body: &[u8], model: &str) -> Result<NativeBody, AdapterError> {
    let streaming = top_level_raw(body, "stream") == Some(b"true");
    let body = set_top_level_string(body, "model", model)?;
    Ok(NativeBody { body, streaming })
}

/// Byte spans of one object member: the key without quotes, and the whole value.
struct Member {
    key: std::ops::Range<usize>,
    value: std::ops::Range<usize>,
}

fn top_level_members(body: &[u8]) -> Option<Vec<Member>> {
    let mut members = Vec::new();
    let mut at = skip_whitespace(body, 0);
    if body.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_whitespace(body, at + 1);
    if body.get(at) == Some(&b'}') {
        return Some(members);
    }
    loop {
        if body.get(at) != Some(&b'"') {
            return None;
        }
        let key_end = skip_string(body, at)?;
        let key = at + 1..key_end - 1;
        at = skip_whitespace(body, key_end);
        if body.get(at) != Some(&b':') {
            return None;
        }
        let value_start = skip_whitespace(body, at + 1);
        let value_end = skip_value(body, value_start)?;
        members.push(Member {
            key,
            value: value_start..value_end,
        });
        at = skip_whitespace(body, value_end);
        match body.get(at) {
            Some(b',') => at = skip_whitespace(body, at + 1),
            Some(b'}') => return Some(members),
            _ => return None,
        }
    }
}

fn skip_whitespace(body: &[u8], mut at: usize) -> usize {
    while matches!(body.get(at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        at += 1;
    }
    at
}

/// `body[at]` is `"`; returns the index just past the closing quote.
fn skip_string(body: &[u8], at: usize) -> Option<usize> {
    let mut index = at + 1;
    while index < body.len() {
        match body[index] {
            b'\\' => index += 2,
            b'"' => return Some(index + 1),
            _ => index += 1,
        }
    }
    None
}

/// Returns the index just past the value starting at `at`.
fn skip_value(body: &[u8], at: usize) -> Option<usize> {
    match *body.get(at)? {
        b'"' => skip_string(body, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut index = at;
            while index < body.len() {
                match body[index] {
                    b'"' => {
                        index = skip_string(body, index)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(index + 1);
                        }
                    }
                    _ => {}
                }
                index += 1;
            }
            None
        }
        _ => {
            let end = body[at..]
                .iter()
                .position(|byte| matches!(byte, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'))
                .map_or(body.len(), |offset| at + offset);
            (end > at).then_some(end)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_model_value_changes_and_every_other_byte_survives() {
        let body = br#"{ "messages": [{"role":"user","content":"say \"model\": {x}"}],
  "model" : "gpt-4o",  "zeta": {"model": "nested"}, "stream":true }"#;
        let edited = set_top_level_string(body, "model", "gpt-5").unwrap();
        let expected =
            String::from_utf8_lossy(body).replace(r#""model" : "gpt-4o""#, r#""model" : "gpt-5""#);
        assert_eq!(String::from_utf8(edited).unwrap(), expected);
    }

    #[test]
    fn a_missing_model_is_inserted_first() {
        assert_eq!(
            set_top_level_string(br#"{"a":1}"#, "model", "m").unwrap(),
            br#"{"model":"m","a":1}"#
        );
        assert_eq!(
            set_top_level_string(b" {} ", "model", "m").unwrap(),
            br#" {"model":"m"} "#
        );
    }

    #[test]
    fn values_are_escaped_and_non_objects_refused() {
        assert_eq!(
            set_top_level_string(br#"{"model":1}"#, "model", "a\"b").unwrap(),
            br#"{"model":"a\"b"}"#
        );
        assert!(set_top_level_string(b"[1,2]", "model", "m").is_err());
        assert!(set_top_level_string(br#"{"model": "unterminated}"#, "model", "m").is_err());
    }

    #[test]
    fn top_level_raw_peeks_without_parsing() {
        let body = br#"{"x":{"stream":false},"stream": true}"#;
        assert_eq!(top_level_raw(body, "stream"), Some(&b"true"[..]));
        assert_eq!(top_level_raw(body, "nope"), None);
    }

    #[test]
    fn a_native_body_gets_the_upstream_model_and_says_whether_it_streams() {
        let native = native_body_for_model(br#"{"model":"alias","stream":true}"#, "gpt-5").unwrap();
        assert_eq!(native.body, br#"{"model":"gpt-5","stream":true}"#);
        assert!(native.streaming);
        let quiet = native_body_for_model(br#"{"stream":false,"model":"a"}"#, "b").unwrap();
        assert!(!quiet.streaming);
        assert!(native_body_for_model(b"[1]", "b").is_err());
    }
}
