//! Typed reads of request JSON fields, shared by every dialect's decoder.
//!
//! The dialects agree on what a field may hold and disagree only on how a refusal reads
//! (`Invalid type for 'temperature': ...` from OpenAI, `temperature: Input should be a
//! valid number` from Anthropic, `Invalid value at 'generationConfig.temperature': ...`
//! from Gemini), so the readers here are generic over a [`FieldErrors`] wording that each
//! dialect's `fields` module supplies.
//!
//! Every reader takes the value already removed from its object (`Option<Value>`): a
//! `null` counts as absent, because clients and SDKs send explicit nulls for unset knobs.

use serde_json::{Map, Number, Value};

use crate::surfaces::ClientError;

pub mod openai;

/// A JSON object, as the decoders walk it.
pub(crate) type Object = Map<String, Value>;

/// The JSON type a reader wanted, for the dialect to name in its error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonType {
    /// A JSON string.
    String,
    /// `true` or `false`.
    Boolean,
    /// Any JSON number.
    Number,
    /// A whole JSON number.
    Integer,
    /// A JSON object.
    Object,
    /// A JSON array.
    Array,
}

impl JsonType {
    /// The plain name with its article (`a string`, `an object`), as OpenAI and Gemini
    /// word it.
    pub(crate) fn with_article(self) -> &'static str {
        match self {
            JsonType::String => "a string",
            JsonType::Boolean => "a boolean",
            JsonType::Number => "a number",
            JsonType::Integer => "an integer",
            JsonType::Object => "an object",
            JsonType::Array => "an array",
        }
    }
}

/// How one dialect words the refusals the shared readers produce.
pub(crate) trait FieldErrors {
    /// The words that introduce what a value should have been (`expected`, `Input should
    /// be`), as in `<EXPECTED> a non-negative integer, got -1`.
    const EXPECTED: &'static str;
    /// A required field is absent or null.
    fn missing(param: &str) -> ClientError;
    /// A field holds `got` where `expected` belongs.
    fn wrong_type(param: &str, expected: JsonType, got: &Value) -> ClientError;
    /// A field has the right type but a value that is still not acceptable.
    fn invalid_value(param: &str, why: String) -> ClientError;
}

/// How a JSON value's type reads in an error message (`a decimal` for `1.5`).
pub(crate) fn type_name(value: &Value) -> &'static str {
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
pub(crate) fn opt_string<E: FieldErrors>(
    value: Option<Value>,
    param: &str,
) -> Result<Option<String>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(E::wrong_type(param, JsonType::String, &other)),
    }
}

/// A required string.
pub(crate) fn string<E: FieldErrors>(
    value: Option<Value>,
    param: &str,
) -> Result<String, ClientError> {
    opt_string::<E>(value, param)?.ok_or_else(|| E::missing(param))
}

/// A boolean, or `None` when absent or null.
pub(crate) fn opt_bool<E: FieldErrors>(
    value: Option<Value>,
    param: &str,
) -> Result<Option<bool>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(other) => Err(E::wrong_type(param, JsonType::Boolean, &other)),
    }
}

/// A number as `f32` (sampling knobs such as temperature need no more precision).
pub(crate) fn opt_f32<E: FieldErrors>(
    value: Option<Value>,
    param: &str,
) -> Result<Option<f32>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64().map(|f| f as f32)),
        Some(other) => Err(E::wrong_type(param, JsonType::Number, &other)),
    }
}

/// A non-negative integer that fits `u32` (token counts, top-k).
pub(crate) fn opt_u32<E: FieldErrors>(
    value: Option<Value>,
    param: &str,
) -> Result<Option<u32>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64().map(u32::try_from) {
            Some(Ok(v)) => Ok(Some(v)),
            _ => Err(not_described::<E>(param, "a non-negative integer", &n)),
        },
        Some(other) => Err(E::wrong_type(param, JsonType::Integer, &other)),
    }
}

/// A signed 64-bit integer (seeds).
pub(crate) fn opt_i64<E: FieldErrors>(
    value: Option<Value>,
    param: &str,
) -> Result<Option<i64>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) => Ok(Some(v)),
            None => Err(not_described::<E>(param, "an integer", &n)),
        },
        Some(other) => Err(E::wrong_type(param, JsonType::Integer, &other)),
    }
}

/// `<EXPECTED> <description>, got <n>`: a number of the right JSON type whose value is
/// out of range.
fn not_described<E: FieldErrors>(param: &str, description: &str, n: &Number) -> ClientError {
    E::invalid_value(param, format!("{} {description}, got {n}", E::EXPECTED))
}

/// An object, or `None` when absent or null.
pub(crate) fn opt_object<E: FieldErrors>(
    value: Option<Value>,
    param: &str,
) -> Result<Option<Object>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(other) => Err(E::wrong_type(param, JsonType::Object, &other)),
    }
}

/// A required object.
pub(crate) fn object<E: FieldErrors>(
    value: Option<Value>,
    param: &str,
) -> Result<Object, ClientError> {
    opt_object::<E>(value, param)?.ok_or_else(|| E::missing(param))
}

/// An array, or `None` when absent or null.
pub(crate) fn opt_array<E: FieldErrors>(
    value: Option<Value>,
    param: &str,
) -> Result<Option<Vec<Value>>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(other) => Err(E::wrong_type(param, JsonType::Array, &other)),
    }
}

/// `fields` as options keyed by an adapter id (`{"openai": {...}}`), or `None` when there
/// are none: the escape hatch that keeps every field the IR has no slot for.
pub(crate) fn keyed_options(key: &str, fields: Object) -> Option<Value> {
    if fields.is_empty() {
        return None;
    }
    let mut options = Object::new();
    options.insert(key.to_owned(), Value::Object(fields));
    Some(Value::Object(options))
}

/// [`keyed_options`] without the null values: an unset knob must not reach the upstream
/// as an explicit null it may refuse.
pub(crate) fn keyed_options_without_nulls(key: &str, mut fields: Object) -> Option<Value> {
    fields.retain(|_, value| !value.is_null());
    keyed_options(key, fields)
}
