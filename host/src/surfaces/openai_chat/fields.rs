//! Typed reads of request JSON fields, with errors that name the field the way OpenAI
//! does (`Invalid type for 'messages[2].content': ...`), so a client developer can find
//! the mistake without reading our source. The readers and their OpenAI
//! wording live in [`json_fields::openai`], shared with the Responses surface.
//!
//! Every reader takes the value already removed from its object (`Option<Value>`): a
//! `null` counts as absent, because several clients send explicit nulls for unset knobs.

use serde_json::Value;

use crate::surfaces::json_fields;
pub(super) use crate::surfaces::json_fields::Object;
pub(super) use crate::surfaces::json_fields::openai::{
    invalid_value, missing, object, opt_array, opt_bool, opt_f32, opt_i64, opt_object, opt_string,
    opt_u32, string, wrong_type,
};

/// Leftover fields as provider-keyed options (`{"openai": {...}}`), or `None` when
/// nothing is left: the escape hatch that keeps every field the IR has no slot for.
pub(super) fn openai_options(rest: Object) -> Option<Value> {
    json_fields::keyed_options("openai", rest)
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
