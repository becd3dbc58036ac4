//! Typed reads of Messages request fields, with errors worded the way the Messages API
//! words its own validation errors (`messages.1.content.0.text: Field required`), so a
//! client developer sees the same path they would see from api.anthropic.com.
//!
//! Every reader takes the value already removed from its object: a `null` counts as
//! absent, because SDKs send explicit nulls for unset knobs.

use serde_json::Value;

pub(super) use crate::surfaces::json_fields::Object;
use crate::surfaces::json_fields::{self, FieldErrors, JsonType};
use crate::surfaces::{ClientError, ErrorKind};

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

/// The Messages API wording for the shared readers: types named the way its validator
/// names them (`a valid dictionary`), and never the type that came instead.
struct MessagesErrors;

impl FieldErrors for MessagesErrors {
    const EXPECTED: &'static str = "Input should be";

    fn missing(path: &str) -> ClientError {
        missing(path)
    }

    fn wrong_type(path: &str, expected: JsonType, _got: &Value) -> ClientError {
        let expected = match expected {
            JsonType::String => "a valid string",
            JsonType::Boolean => "a valid boolean",
            JsonType::Number => "a valid number",
            JsonType::Integer => "a valid integer",
            JsonType::Object => "a valid dictionary",
            JsonType::Array => "a valid list",
        };
        wrong_type(path, expected)
    }

    fn invalid_value(path: &str, why: String) -> ClientError {
        invalid_value(path, why)
    }
}

/// A string, or `None` when absent or null.
pub(super) fn opt_string(value: Option<Value>, path: &str) -> Result<Option<String>, ClientError> {
    json_fields::opt_string::<MessagesErrors>(value, path)
}

/// A required string.
pub(super) fn string(value: Option<Value>, path: &str) -> Result<String, ClientError> {
    json_fields::string::<MessagesErrors>(value, path)
}

/// A boolean, or `None` when absent or null.
pub(super) fn opt_bool(value: Option<Value>, path: &str) -> Result<Option<bool>, ClientError> {
    json_fields::opt_bool::<MessagesErrors>(value, path)
}

/// A number as `f32` (sampling knobs need no more precision).
pub(super) fn opt_f32(value: Option<Value>, path: &str) -> Result<Option<f32>, ClientError> {
    json_fields::opt_f32::<MessagesErrors>(value, path)
}

/// A non-negative integer that fits `u32` (token counts, top-k).
pub(super) fn opt_u32(value: Option<Value>, path: &str) -> Result<Option<u32>, ClientError> {
    json_fields::opt_u32::<MessagesErrors>(value, path)
}

/// An object, or `None` when absent or null.
pub(super) fn opt_object(value: Option<Value>, path: &str) -> Result<Option<Object>, ClientError> {
    json_fields::opt_object::<MessagesErrors>(value, path)
}

/// A required object.
pub(super) fn object(value: Option<Value>, path: &str) -> Result<Object, ClientError> {
    json_fields::object::<MessagesErrors>(value, path)
}

/// An array, or `None` when absent or null.
pub(super) fn opt_array(
    value: Option<Value>,
    path: &str,
) -> Result<Option<Vec<Value>>, ClientError> {
    json_fields::opt_array::<MessagesErrors>(value, path)
}

/// Leftover fields as `{"anthropic": {...}}`, or `None` when nothing is left: the escape
/// hatch that keeps every field the IR has no slot for. Nulls are dropped: an unset knob
/// must not reach the upstream as an explicit null it may refuse.
pub(super) fn anthropic_options(rest: Object) -> Option<Value> {
    json_fields::keyed_options_without_nulls(ANTHROPIC, rest)
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
