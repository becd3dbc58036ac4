//! Typed reads of Responses request fields, with errors that name the field the way
//! OpenAI does (`Invalid type for 'input[3].call_id': ...`). The readers and their
//! OpenAI wording live in [`json_fields::openai`], shared with Chat Completions.
//!
//! Every reader takes the value already removed from its object: a `null` counts as
//! absent, because clients send explicit nulls for unset knobs.

use serde_json::Value;

use crate::surfaces::json_fields;
pub(super) use crate::surfaces::json_fields::Object;
pub(super) use crate::surfaces::json_fields::openai::{
    invalid_value, missing, object, opt_array, opt_bool, opt_f32, opt_object, opt_string, opt_u32,
    string, wrong_type,
};
use crate::surfaces::{ClientError, ErrorKind};

/// A feature that needs state this proxy does not keep (stored responses, files,
/// conversations): refused with a message that says what to send instead.
pub(super) fn unsupported(param: &str, why: impl std::fmt::Display) -> ClientError {
    ClientError::new(ErrorKind::InvalidRequest, why.to_string())
        .code("unsupported_parameter")
        .param(param)
}

/// `fields` without its null values, as options keyed by `key` (`{"openai": {...}}`), or
/// `None` when nothing is left.
pub(super) fn keyed_options(key: &str, fields: Object) -> Option<Value> {
    json_fields::keyed_options_without_nulls(key, fields)
}
