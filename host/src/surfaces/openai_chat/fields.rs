//! Typed reads of request JSON fields, with errors that name the field the way OpenAI
//! does (`Invalid type for 'messages[2].content': ...`), so a client developer can find
//! the mistake without reading our source.
//!
//! Every reader takes the value already removed from its object (`Option<Value>`): a
//! `null` counts as absent, because several clients send explicit nulls for unset knobs.

use serde_json::{Map, Value};

use crate::surfaces::{ClientError, ErrorKind};

/// A JSON object, as the decoder walks it.
pub(super) type Object = Map<String, Value>;

/// `Missing required parameter: 'model'.`
pub(super) fn missing(param: &str) -> ClientError {
    ClientError::new(
        ErrorKind::InvalidRequest,
        format!("Missing required parameter: '{param}'."),
    )
    .code("missing_required_parameter")
    .param(param)
}

/// `Invalid type for 'temperature': expected a number, but got a string instead.`
pub(super) fn wrong_type(param: &str, expected: &str, got: &Value) -> ClientError {
    ClientError::new(
        ErrorKind::InvalidRequest,
        format!(
            "Invalid type for '{param}': expected {expected}, but got {} instead.",
            type_name(got)
        ),
    )
    .code("invalid_type")
    .param(param)
}

/// `Invalid value for 'tool_choice': <why>.`
pub(super) fn invalid_value(param: &str, why: impl std::fmt::Display) -> ClientError {
    ClientError::new(
        ErrorKind::InvalidRequest,
        format!("Invalid value for '{param}': {why}."),
    )
    .code("invalid_value")
    .param(param)
}

/// How a JSON value's type reads in an error message.
pub(super) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a decimal",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string, or `None` when absent or null.
pub(super) fn opt_string(value: Option<Value>, param: &str) -> Result<Option<String>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(param, "a string", &other)),
    }
}

/// A required string.
pub(super) fn string(value: Option<Value>, param: &str) -> Result<String, ClientError> {
    opt_string(value, param)?.ok_or_else(|| missing(param))
}

/// A boolean, or `None` when absent or null.
pub(super) fn opt_bool(value: Option<Value>, param: &str) -> Result<Option<bool>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(other) => Err(wrong_type(param, "a boolean", &other)),
    }
}

/// A number as `f32` (temperatures and penalties need no more precision).
pub(super) fn opt_f32(value: Option<Value>, param: &str) -> Result<Option<f32>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64().map(|f| f as f32)),
        Some(other) => Err(wrong_type(param, "a number", &other)),
    }
}

/// A non-negative integer that fits `u32` (token counts).
pub(super) fn opt_u32(value: Option<Value>, param: &str) -> Result<Option<u32>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64().map(u32::try_from) {
            Some(Ok(v)) => Ok(Some(v)),
            _ => Err(invalid_value(
                param,
                format!("expected a non-negative integer, got {n}"),
            )),
        },
        Some(other) => Err(wrong_type(param, "an integer", &other)),
    }
}

/// A signed 64-bit integer (seeds).
pub(super) fn opt_i64(value: Option<Value>, param: &str) -> Result<Option<i64>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) => Ok(Some(v)),
            None => Err(invalid_value(
                param,
                format!("expected an integer, got {n}"),
            )),
        },
        Some(other) => Err(wrong_type(param, "an integer", &other)),
    }
}

/// An object, or `None` when absent or null.
pub(super) fn opt_object(value: Option<Value>, param: &str) -> Result<Option<Object>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(wrong_type(param, "an object", &other)),
    }
}

/// A required object.
pub(super) fn object(value: Option<Value>, param: &str) -> Result<Object, ClientError> {
    opt_object(value, param)?.ok_or_else(|| missing(param))
}

/// An array, or `None` when absent or null.
pub(super) fn opt_array(
    value: Option<Value>,
    param: &str,
) -> Result<Option<Vec<Value>>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(other) => Err(wrong_type(param, "an array", &other)),
    }
}

/// Leftover fields as provider-keyed options (`{"openai": {...}}`), or `None` when
/// nothing is left: the escape hatch that keeps every field the IR has no slot for.
pub(super) fn openai_options(rest: Object) -> Option<Value> {
    if rest.is_empty() {
        return None;
    }
    let mut options = Object::new();
    options.insert("openai".to_owned(), Value::Object(rest));
    Some(Value::Object(options))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn null_reads_as_absent_so_clients_may_send_explicit_nulls() {
        assert_eq!(opt_f32(Some(Value::Null), "temperature").unwrap(), None);
        assert_eq!(opt_string(None, "user").unwrap(), None);
    }

    #[test]
    fn a_wrong_type_names_the_field_and_both_types() {
        let err = opt_f32(Some(json!("hot")), "temperature").unwrap_err();
        assert_eq!(err.param.as_deref(), Some("temperature"));
        assert_eq!(
            err.message,
            "Invalid type for 'temperature': expected a number, but got a string instead."
        );
    }

    #[test]
    fn token_counts_must_be_non_negative_and_fit_u32() {
        assert_eq!(
            opt_u32(Some(json!(4096)), "max_tokens").unwrap(),
            Some(4096)
        );
        assert!(opt_u32(Some(json!(-1)), "max_tokens").is_err());
        assert!(opt_u32(Some(json!(1.5)), "max_tokens").is_err());
        assert!(opt_u32(Some(json!(u64::MAX)), "max_tokens").is_err());
    }

    #[test]
    fn leftovers_are_keyed_by_openai() {
        let mut rest = Object::new();
        rest.insert("user".into(), json!("u-1"));
        assert_eq!(
            openai_options(rest),
            Some(json!({"openai": {"user": "u-1"}}))
        );
        assert_eq!(openai_options(Object::new()), None);
    }
}
