//! The OpenAI wording of the shared readers: both OpenAI surfaces (Chat Completions and
//! Responses) refuse a field the way api.openai.com does (`Invalid type for
//! 'temperature': ...`), so they share one binding rather than one each.

use serde_json::Value;

use super::{FieldErrors, JsonType, Object, type_name};
use crate::surfaces::{ClientError, ErrorKind};

/// The wording both OpenAI surfaces (Chat Completions and Responses) use, so a client
/// developer sees what api.openai.com would have said.
pub(crate) struct OpenAiErrors;

impl FieldErrors for OpenAiErrors {
    const EXPECTED: &'static str = "expected";

    fn missing(param: &str) -> ClientError {
        missing(param)
    }

    fn wrong_type(param: &str, expected: JsonType, got: &Value) -> ClientError {
        wrong_type(param, expected.with_article(), got)
    }

    fn invalid_value(param: &str, why: String) -> ClientError {
        invalid_value(param, why)
    }
}

/// `Missing required parameter: 'model'.`
pub(crate) fn missing(param: &str) -> ClientError {
    ClientError::new(
        ErrorKind::InvalidRequest,
        format!("Missing required parameter: '{param}'."),
    )
    .code("missing_required_parameter")
    .param(param)
}

/// `Invalid type for 'temperature': expected a number, but got a string instead.`
pub(crate) fn wrong_type(param: &str, expected: &str, got: &Value) -> ClientError {
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
pub(crate) fn invalid_value(param: &str, why: impl std::fmt::Display) -> ClientError {
    ClientError::new(
        ErrorKind::InvalidRequest,
        format!("Invalid value for '{param}': {why}."),
    )
    .code("invalid_value")
    .param(param)
}

/// A string, or `None` when absent or null.
pub(crate) fn opt_string(value: Option<Value>, param: &str) -> Result<Option<String>, ClientError> {
    super::opt_string::<OpenAiErrors>(value, param)
}

/// A required string.
pub(crate) fn string(value: Option<Value>, param: &str) -> Result<String, ClientError> {
    super::string::<OpenAiErrors>(value, param)
}

/// A boolean, or `None` when absent or null.
pub(crate) fn opt_bool(value: Option<Value>, param: &str) -> Result<Option<bool>, ClientError> {
    super::opt_bool::<OpenAiErrors>(value, param)
}

/// A number as `f32` (temperatures and penalties need no more precision).
pub(crate) fn opt_f32(value: Option<Value>, param: &str) -> Result<Option<f32>, ClientError> {
    super::opt_f32::<OpenAiErrors>(value, param)
}

/// A non-negative integer that fits `u32` (token counts).
pub(crate) fn opt_u32(value: Option<Value>, param: &str) -> Result<Option<u32>, ClientError> {
    super::opt_u32::<OpenAiErrors>(value, param)
}

/// A signed 64-bit integer (seeds).
pub(crate) fn opt_i64(value: Option<Value>, param: &str) -> Result<Option<i64>, ClientError> {
    super::opt_i64::<OpenAiErrors>(value, param)
}

/// An object, or `None` when absent or null.
pub(crate) fn opt_object(value: Option<Value>, param: &str) -> Result<Option<Object>, ClientError> {
    super::opt_object::<OpenAiErrors>(value, param)
}

/// A required object.
pub(crate) fn object(value: Option<Value>, param: &str) -> Result<Object, ClientError> {
    super::object::<OpenAiErrors>(value, param)
}

/// An array, or `None` when absent or null.
pub(crate) fn opt_array(
    value: Option<Value>,
    param: &str,
) -> Result<Option<Vec<Value>>, ClientError> {
    super::opt_array::<OpenAiErrors>(value, param)
}
