//! Typed reads of Responses request fields, with errors that name the field the way
//! OpenAI does (`Invalid type for 'input[3].call_id': ...`).
//!
//! Every reader takes the value already removed from its object: a `null` counts as
//! absent, because clients send explicit nulls for unset knobs.

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

/// A feature that needs state this proxy does not keep (stored responses, files,
/// conversations): refused with a message that says what to send instead.
pub(super) fn unsupported(param: &str, why: impl std::fmt::Display) -> ClientError {
    ClientError::new(ErrorKind::InvalidRequest, why.to_string())
        .code("unsupported_parameter")
        .param(param)
}

fn type_name(value: &Value) -> &'static str {
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

/// A number as `f32` (temperatures need no more precision).
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

/// `fields` without its null values, as options keyed by `key` (`{"openai": {...}}`), or
/// `None` when nothing is left.
pub(super) fn keyed_options(key: &str, mut fields: Object) -> Option<Value> {
    fields.retain(|_, value| !value.is_null());
    if fields.is_empty() {
        return None;
    }
    let mut options = Object::new();
    options.insert(key.to_owned(), Value::Object(fields));
    Some(Value::Object(options))
}
