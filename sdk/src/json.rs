//! JSON helpers: parsing with clean adapter errors, provider-keyed options, and a
//! collector that lets a one-document body go through the same decoder as a stream.

use serde_json::{Map, Value};

use crate::types::{AdapterError, ErrorKind, Json};

/// Parse bytes the upstream sent; a failure is an `upstream` error naming `what`.
pub fn parse_upstream_json(bytes: &[u8], what: &str) -> Result<Value, AdapterError> {
    parse_json_as(bytes, ErrorKind::Upstream, what)
}

/// Check that upstream bytes are one JSON value without building it (passthrough
/// events the adapter forwards unread); a failure is an `upstream` error naming `what`.
pub fn check_upstream_json(bytes: &[u8], what: &str) -> Result<(), AdapterError> {
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .map(drop)
        .map_err(|error| {
            AdapterError::new(
                ErrorKind::Upstream,
                format!("{what} is not valid JSON: {error}"),
            )
        })
}

/// Parse bytes the client sent (passthrough bodies); a failure is `invalid-request`.
pub fn parse_client_json(bytes: &[u8], what: &str) -> Result<Value, AdapterError> {
    parse_json_as(bytes, ErrorKind::InvalidRequest, what)
}

/// Parse bytes into a JSON value; a failure becomes an error of `kind` naming `what`.
pub fn parse_json_as(bytes: &[u8], kind: ErrorKind, what: &str) -> Result<Value, AdapterError> {
    serde_json::from_slice(bytes)
        .map_err(|error| AdapterError::new(kind, format!("{what} is not valid JSON: {error}")))
}

/// Parse a serialised IR JSON field (a schema, tool arguments); invalid text is an
/// `invalid-request` error naming `what`.
pub fn parse_ir_json(text: &str, what: &str) -> Result<Value, AdapterError> {
    parse_json_as(text.as_bytes(), ErrorKind::InvalidRequest, what)
}

/// Serialise a value; serde_json cannot fail on a `Value`, so this returns bytes.
pub fn to_json_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// The object an IR `options` field holds under `provider` (`{"<provider>": {...}}`).
/// Missing, unparsable or non-object options read as `None`.
pub fn provider_options(options: &Option<Json>, provider: &str) -> Option<Map<String, Value>> {
    let text = options.as_deref()?;
    match serde_json::from_str::<Value>(text).ok()? {
        Value::Object(mut map) => match map.remove(provider)? {
            Value::Object(inner) => Some(inner),
            _ => None,
        },
        _ => None,
    }
}

/// Items a surface kept with their position because the IR has no form for them:
/// `options = {"<provider>": {"<key>": [{"index": i, "<item>": {...}}, ...]}}` (the
/// Anthropic surface's `kept_blocks`, the Gemini surface's `unknownParts`). Entries
/// without an index or an object item are skipped. Put them back with
/// [`insert_at_positions`].
pub fn kept_at_positions(
    options: &Option<Json>,
    provider: &str,
    key: &str,
    item: &str,
) -> Vec<(usize, Value)> {
    let Some(Value::Array(kept)) =
        provider_options(options, provider).and_then(|mut extra| extra.remove(key))
    else {
        return Vec::new();
    };
    kept.into_iter()
        .filter_map(|mut entry| {
            let index = usize::try_from(entry.get("index")?.as_u64()?).ok()?;
            let item = entry.get_mut(item)?.take();
            item.is_object().then_some((index, item))
        })
        .collect()
}

/// Insert `kept` items into `items` at their positions, lowest first, each clamped to
/// the end: the original order comes back when `items` are the others in their order.
pub fn insert_at_positions(items: &mut Vec<Value>, mut kept: Vec<(usize, Value)>) {
    kept.sort_by_key(|(index, _)| *index);
    for (index, item) in kept {
        let at = index.min(items.len());
        items.insert(at, item);
    }
}

/// A serialised `{"<provider>": value}` options object.
pub fn options_for(provider: &str, value: Value) -> Json {
    let mut map = Map::new();
    map.insert(provider.to_string(), value);
    Value::Object(map).to_string()
}

/// A human message from an error body: `error.message`, `message`, `error` as a
/// string, or the body text itself (trimmed, at most 500 chars); `HTTP <status>` when empty.
pub fn error_message(status: u16, body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        let found = value
            .pointer("/error/message")
            .or_else(|| value.get("message"))
            .or_else(|| value.get("error").filter(|error| error.is_string()))
            .or_else(|| value.pointer("/0/error/message"))
            .and_then(Value::as_str);
        if let Some(message) = found {
            return message.to_string();
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return format!("HTTP {status}");
    }
    text.chars().take(500).collect()
}

/// Collects a one-document body across chunks and parses it at the end, so a decoder
/// can treat "not streamed" as "one event at finish".
#[derive(Debug, Default)]
pub struct JsonBody {
    bytes: Vec<u8>,
}

impl JsonBody {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }
    /// Append a chunk.
    pub fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
    }
    /// The bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// Parse everything collected (an `upstream` error when it is not JSON), leaving the
    /// collector empty.
    pub fn finish(&mut self) -> Result<Value, AdapterError> {
        let bytes = std::mem::take(&mut self.bytes);
        parse_upstream_json(&bytes, "the upstream response body")
    }
}

/// Read a JSON number as `u64` (tolerating floats such as `12.0`).
pub fn as_u64(value: Option<&Value>) -> Option<u64> {
    let value = value?;
    value
        .as_u64()
        .or_else(|| value.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

/// An `f32` as the JSON number the client wrote: `0.7f32 as f64` would print
/// 0.699999988, so this goes through the shortest decimal that reads back as the same
/// `f32`. A non-finite value (which JSON cannot hold) is `null`.
pub fn f32_as_written(value: f32) -> Value {
    value
        .to_string()
        .parse::<f64>()
        .map(|parsed| serde_json::json!(parsed))
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kept_items_go_back_at_their_positions() {
        let options = Some(
            json!({"p": {"kept": [
                {"index": 3, "block": {"k": 3}},
                {"index": 1, "block": {"k": 1}},
                {"index": 9, "block": {"k": 9}},
                {"block": {"no": "index"}},
                {"index": 2, "block": "not an object"},
            ]}})
            .to_string(),
        );
        let kept = kept_at_positions(&options, "p", "kept", "block");
        assert_eq!(kept.len(), 3);
        let mut items = vec![json!({"k": 0}), json!({"k": 2})];
        insert_at_positions(&mut items, kept);
        let order: Vec<u64> = items
            .iter()
            .map(|item| item["k"].as_u64().unwrap())
            .collect();
        assert_eq!(order, [0, 1, 2, 3, 9]);
        assert!(kept_at_positions(&None, "p", "kept", "block").is_empty());
        assert!(kept_at_positions(&options, "q", "kept", "block").is_empty());
    }

    #[test]
    fn provider_options_pick_the_adapters_own_object() {
        let options = Some(
            r#"{"openai":{"user":"u1"},"anthropic":{"cache_control":{"type":"ephemeral"}}}"#
                .to_string(),
        );
        assert_eq!(provider_options(&options, "openai").unwrap()["user"], "u1");
        assert!(provider_options(&options, "gemini").is_none());
        assert!(provider_options(&Some("not json".into()), "openai").is_none());
        assert!(provider_options(&None, "openai").is_none());
    }

    #[test]
    fn bad_upstream_json_becomes_an_upstream_error_naming_the_thing() {
        let error = parse_upstream_json(b"{oops", "the chunk").unwrap_err();
        assert_eq!(error.kind, ErrorKind::Upstream);
        assert!(
            error.message.starts_with("the chunk is not valid JSON"),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_body_split_in_chunks_parses_once_at_finish() {
        let mut body = JsonBody::new();
        for chunk in br#"{"id":"x","n":[1,2]}"#.chunks(3) {
            body.push(chunk);
        }
        assert_eq!(body.finish().unwrap()["n"][1], 2);
    }

    #[test]
    fn error_messages_come_from_the_usual_places() {
        assert_eq!(error_message(400, br#"{"error":{"message":"bad"}}"#), "bad");
        assert_eq!(error_message(400, br#"{"message":"flat"}"#), "flat");
        assert_eq!(
            error_message(400, br#"[{"error":{"message":"google"}}]"#),
            "google"
        );
        assert_eq!(error_message(502, b"  gateway  "), "gateway");
        assert_eq!(error_message(503, b""), "HTTP 503");
    }

    #[test]
    fn an_f32_keeps_the_decimal_the_client_wrote() {
        assert_eq!(f32_as_written(0.7).to_string(), "0.7");
        assert_eq!(f32_as_written(1.0), serde_json::json!(1.0));
        assert_eq!(f32_as_written(f32::NAN), Value::Null);
    }
}
