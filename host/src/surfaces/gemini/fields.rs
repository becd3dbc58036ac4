//! Typed reads of Gemini request fields.
//!
//! Google's JSON parser accepts every field in lowerCamelCase or in its proto
//! snake_case name, and real clients mix them (google-genai sends
//! `parameters_json_schema` inside a camelCase `functionDeclarations`), so every read
//! here takes the camelCase name and also finds the snake_case spelling. Errors name
//! the field by its path the way Google does (`generationConfig.temperature`), so a
//! client developer can find the mistake.
//!
//! Every reader takes the value already removed from its object: a `null` counts as
//! absent, because SDKs serialise unset fields as explicit nulls.

use serde_json::Value;

pub(super) use crate::surfaces::json_fields::Object;
use crate::surfaces::json_fields::{self, FieldErrors, JsonType, type_name};
use crate::surfaces::{ClientError, ErrorKind};

/// `some_name` for `someName`: the proto spelling of a JSON field name.
pub(super) fn snake_case(camel: &str) -> String {
    let mut snake = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            snake.push('_');
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    snake
}

/// `someName` for `some_name`: leftovers are kept under their camelCase name, the one
/// Google documents and answers with.
pub(super) fn camel_case(name: &str) -> String {
    let mut camel = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' && !camel.is_empty() {
            upper = true;
        } else if upper {
            camel.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            camel.push(c);
        }
    }
    camel
}

/// Removes the field `camel` (or its snake_case spelling) and returns its value; the
/// camelCase one wins when a client sent both.
pub(super) fn take(object: &mut Object, camel: &str) -> Option<Value> {
    let snake = snake_case(camel);
    let snake_value = if snake != camel {
        object.remove(&snake)
    } else {
        None
    };
    object.remove(camel).or(snake_value)
}

/// Renames every top-level key of `object` to camelCase, so leftovers kept in options
/// have one spelling whatever the client sent.
pub(super) fn camel_keys(object: Object) -> Object {
    object
        .into_iter()
        .map(|(key, value)| (camel_case(&key), value))
        .collect()
}

/// `Invalid JSON payload received. '<path>' is required.`
pub(super) fn missing(path: &str) -> ClientError {
    ClientError::new(
        ErrorKind::InvalidRequest,
        format!("Invalid JSON payload received. '{path}' is required."),
    )
    .code("missing_field")
    .param(path)
}

/// `Invalid value at '<path>': expected <expected>, got <type>.`
pub(super) fn wrong_type(path: &str, expected: &str, got: &Value) -> ClientError {
    ClientError::new(
        ErrorKind::InvalidRequest,
        format!(
            "Invalid value at '{path}': expected {expected}, got {}.",
            type_name(got)
        ),
    )
    .code("invalid_type")
    .param(path)
}

/// `Invalid value at '<path>': <why>.`
pub(super) fn invalid_value(path: &str, why: impl std::fmt::Display) -> ClientError {
    ClientError::new(
        ErrorKind::InvalidRequest,
        format!("Invalid value at '{path}': {why}."),
    )
    .code("invalid_value")
    .param(path)
}

/// Google's wording for the shared readers.
struct GoogleErrors;

impl FieldErrors for GoogleErrors {
    const EXPECTED: &'static str = "expected";

    fn missing(path: &str) -> ClientError {
        missing(path)
    }

    fn wrong_type(path: &str, expected: JsonType, got: &Value) -> ClientError {
        wrong_type(path, expected.with_article(), got)
    }

    fn invalid_value(path: &str, why: String) -> ClientError {
        invalid_value(path, why)
    }
}

/// A string, or `None` when absent or null.
pub(super) fn opt_string(value: Option<Value>, path: &str) -> Result<Option<String>, ClientError> {
    json_fields::opt_string::<GoogleErrors>(value, path)
}

/// A required string.
pub(super) fn string(value: Option<Value>, path: &str) -> Result<String, ClientError> {
    json_fields::string::<GoogleErrors>(value, path)
}

/// A boolean, or `None` when absent or null.
pub(super) fn opt_bool(value: Option<Value>, path: &str) -> Result<Option<bool>, ClientError> {
    json_fields::opt_bool::<GoogleErrors>(value, path)
}

/// A number as `f32` (temperatures and penalties need no more precision).
pub(super) fn opt_f32(value: Option<Value>, path: &str) -> Result<Option<f32>, ClientError> {
    json_fields::opt_f32::<GoogleErrors>(value, path)
}

/// A whole number as `i64`. Protobuf JSON allows int64 as a string and Python clients
/// send `40.0` for an int32, so both are accepted when they hold a whole number.
pub(super) fn opt_i64(value: Option<Value>, path: &str) -> Result<Option<i64>, ClientError> {
    let whole = |f: f64| (f.fract() == 0.0 && f.abs() < 9.0e18).then_some(f as i64);
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().and_then(whole))
            .map(Some)
            .ok_or_else(|| invalid_value(path, format!("expected an integer, got {n}"))),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| invalid_value(path, format!("expected an integer, got \"{s}\""))),
        Some(other) => Err(wrong_type(path, "an integer", &other)),
    }
}

/// A non-negative whole number that fits `u32` (token counts, top-k).
pub(super) fn opt_u32(value: Option<Value>, path: &str) -> Result<Option<u32>, ClientError> {
    match opt_i64(value, path)? {
        None => Ok(None),
        Some(n) => u32::try_from(n)
            .map(Some)
            .map_err(|_| invalid_value(path, format!("expected a non-negative integer, got {n}"))),
    }
}

/// An object, or `None` when absent or null.
pub(super) fn opt_object(value: Option<Value>, path: &str) -> Result<Option<Object>, ClientError> {
    json_fields::opt_object::<GoogleErrors>(value, path)
}

/// An array, or `None` when absent or null.
pub(super) fn opt_array(
    value: Option<Value>,
    path: &str,
) -> Result<Option<Vec<Value>>, ClientError> {
    json_fields::opt_array::<GoogleErrors>(value, path)
}

/// Extras keyed by the Gemini adapter id (`{"gemini": {...}}`), or `None` when there
/// are none: the escape hatch that keeps what the IR has no field for.
pub(super) fn gemini_options(extras: Object) -> Option<Value> {
    json_fields::keyed_options("gemini", extras)
}

/// The Gemini extras inside provider-keyed options, if any.
pub(super) fn gemini_extras(options: &Option<Value>) -> Option<&Object> {
    options.as_ref()?.get("gemini")?.as_object()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_spellings_of_a_field_are_found_and_camel_case_wins() {
        let mut object =
            json!({"function_declarations": [1], "maxOutputTokens": 5, "max_output_tokens": 9})
                .as_object()
                .unwrap()
                .clone();
        assert_eq!(take(&mut object, "functionDeclarations"), Some(json!([1])));
        assert_eq!(take(&mut object, "maxOutputTokens"), Some(json!(5)));
        assert!(object.is_empty(), "both spellings are consumed: {object:?}");
        assert_eq!(camel_case("safety_settings"), "safetySettings");
        assert_eq!(camel_case("labels"), "labels");
        assert_eq!(snake_case("thoughtSignature"), "thought_signature");
    }

    #[test]
    fn integers_may_come_as_whole_decimals_or_strings() {
        assert_eq!(opt_u32(Some(json!(40.0)), "topK").unwrap(), Some(40));
        assert_eq!(opt_i64(Some(json!("123")), "seed").unwrap(), Some(123));
        assert!(opt_u32(Some(json!(1.5)), "topK").is_err());
        assert!(opt_u32(Some(json!(-1)), "maxOutputTokens").is_err());
        let error = opt_f32(Some(json!("hot")), "generationConfig.temperature").unwrap_err();
        assert_eq!(
            error.message,
            "Invalid value at 'generationConfig.temperature': expected a number, got a string."
        );
    }
}
