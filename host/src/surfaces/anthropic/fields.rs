//! Typed reads of Messages request fields, with errors worded the way the Messages API
//! words its own validation errors (`messages.1.content.0.text: Field required`), so a
//! client developer sees the same path they would see from api.anthropic.com.
//!
//! Every reader takes the value already removed from its object: a `null` counts as
//! absent, because SDKs send explicit nulls for unset knobs.

use serde_json::{Map, Value};

use crate::surfaces::{ClientError, ErrorKind};

/// A JSON object, as the decoder walks it.
pub(super) type Object = Map<String, Value>;

/// The adapter id whose options carry what the IR has no field for.
pub(super) const ANTHROPIC: &str = "anthropic";

/// `max_tokens: Field required`.
pub(super) fn missing(path: &str) -> ClientError {
    ClientError::new(ErrorKind::InvalidRequest, format!("{path}: Field required")).param(path)
}

/// `temperature: Input should be a valid number`.
pub(super) fn wrong_type(path: &str, expected: &str) -> ClientError {
    ClientError::new(
        ErrorKind::InvalidRequest,
        format!("{path}: Input should be {expected}"),
    )
    .param(path)
}

/// `<path>: <why>`, for a value of the right type that is still not acceptable.
pub(super) fn invalid_value(path: &str, why: impl std::fmt::Display) -> ClientError {
    ClientError::new(ErrorKind::InvalidRequest, format!("{path}: {why}")).param(path)
}

/// A string, or `None` when absent or null.
pub(super) fn opt_string(value: Option<Value>, path: &str) -> Result<Option<String>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(wrong_type(path, "a valid string")),
    }
}

/// A required string.
pub(super) fn string(value: Option<Value>, path: &str) -> Result<String, ClientError> {
    opt_string(value, path)?.ok_or_else(|| missing(path))
}

/// A boolean, or `None` when absent or null.
pub(super) fn opt_bool(value: Option<Value>, path: &str) -> Result<Option<bool>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(_) => Err(wrong_type(path, "a valid boolean")),
    }
}

/// A number as `f32` (sampling knobs need no more precision).
pub(super) fn opt_f32(value: Option<Value>, path: &str) -> Result<Option<f32>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64().map(|f| f as f32)),
        Some(_) => Err(wrong_type(path, "a valid number")),
    }
}

/// A non-negative integer that fits `u32` (token counts, top-k).
pub(super) fn opt_u32(value: Option<Value>, path: &str) -> Result<Option<u32>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64().map(u32::try_from) {
            Some(Ok(v)) => Ok(Some(v)),
            _ => Err(invalid_value(
                path,
                format!("Input should be a non-negative integer, got {n}"),
            )),
        },
        Some(_) => Err(wrong_type(path, "a valid integer")),
    }
}

/// An object, or `None` when absent or null.
pub(super) fn opt_object(value: Option<Value>, path: &str) -> Result<Option<Object>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(wrong_type(path, "a valid dictionary")),
    }
}

/// A required object.
pub(super) fn object(value: Option<Value>, path: &str) -> Result<Object, ClientError> {
    opt_object(value, path)?.ok_or_else(|| missing(path))
}

/// An array, or `None` when absent or null.
pub(super) fn opt_array(
    value: Option<Value>,
    path: &str,
) -> Result<Option<Vec<Value>>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(_) => Err(wrong_type(path, "a valid list")),
    }
}

/// Leftover fields as `{"anthropic": {...}}`, or `None` when nothing is left: the escape
/// hatch that keeps every field the IR has no slot for. Nulls are dropped: an unset knob
/// must not reach the upstream as an explicit null it may refuse.
pub(super) fn anthropic_options(mut rest: Object) -> Option<Value> {
    rest.retain(|_, value| !value.is_null());
    if rest.is_empty() {
        return None;
    }
    let mut options = Object::new();
    options.insert(ANTHROPIC.to_owned(), Value::Object(rest));
    Some(Value::Object(options))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_name_the_path_like_the_messages_api() {
        let error = opt_f32(Some(json!("hot")), "temperature").unwrap_err();
        assert_eq!(error.message, "temperature: Input should be a valid number");
        assert_eq!(error.param.as_deref(), Some("temperature"));
        assert_eq!(missing("max_tokens").message, "max_tokens: Field required");
    }

    #[test]
    fn token_counts_must_be_non_negative_integers() {
        assert_eq!(
            opt_u32(Some(json!(64000)), "max_tokens").unwrap(),
            Some(64000)
        );
        assert!(opt_u32(Some(json!(-1)), "max_tokens").is_err());
        assert!(opt_u32(Some(json!(2.5)), "max_tokens").is_err());
    }

    #[test]
    fn leftovers_are_keyed_by_anthropic_and_nulls_go() {
        let mut rest = Object::new();
        rest.insert("service_tier".into(), json!("auto"));
        rest.insert("container".into(), Value::Null);
        assert_eq!(
            anthropic_options(rest),
            Some(json!({"anthropic": {"service_tier": "auto"}}))
        );
        assert_eq!(anthropic_options(Object::new()), None);
    }
}
