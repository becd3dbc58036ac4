//! Gemini schemas into JSON Schema for the IR.
//!
//! `parameters` and `responseSchema` are Gemini `Schema` objects, an OpenAPI 3.0 subset:
//! upper-case type names (`"OBJECT"`), `nullable`, and fields that may arrive in
//! snake_case (`any_of`, `max_items`). `parametersJsonSchema` and `responseJsonSchema`
//! are JSON Schema already, but clients still send upper-case types in them (the Gemini
//! CLI's model router does). Every provider the IR reaches expects JSON Schema, so both
//! are normalised: type names lower-cased everywhere, and for `Schema` objects the
//! field names camelCased and `nullable: true` folded into the type.

use serde_json::{Map, Value};

use super::fields::camel_case;

/// Which dialect of schema a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SchemaKind {
    /// Gemini's OpenAPI-subset `Schema`.
    Gemini,
    /// JSON Schema (`*JsonSchema` fields).
    Json,
}

/// Fields whose value is one schema.
const SCHEMA_FIELDS: &[&str] = &["items", "additionalProperties", "not", "contains"];
/// Fields whose value is a map from a name to a schema (names are never rewritten).
const SCHEMA_MAPS: &[&str] = &["properties", "$defs", "definitions", "patternProperties"];
/// Fields whose value is a list of schemas.
const SCHEMA_LISTS: &[&str] = &["anyOf", "oneOf", "allOf", "prefixItems"];

/// `schema` as JSON Schema.
pub(super) fn to_json_schema(schema: Value, kind: SchemaKind) -> Value {
    let Value::Object(fields) = schema else {
        return schema;
    };
    let mut out = Map::with_capacity(fields.len());
    for (key, value) in fields {
        let key = match kind {
            SchemaKind::Gemini => camel_case(&key),
            SchemaKind::Json => key,
        };
        let value = if key == "type" {
            lower_type(value)
        } else if SCHEMA_FIELDS.contains(&key.as_str()) {
            to_json_schema(value, kind)
        } else if SCHEMA_MAPS.contains(&key.as_str()) {
            match value {
                Value::Object(map) => Value::Object(
                    map.into_iter()
                        .map(|(name, schema)| (name, to_json_schema(schema, kind)))
                        .collect(),
                ),
                other => other,
            }
        } else if SCHEMA_LISTS.contains(&key.as_str()) {
            match value {
                Value::Array(list) => Value::Array(
                    list.into_iter()
                        .map(|schema| to_json_schema(schema, kind))
                        .collect(),
                ),
                other => other,
            }
        } else {
            value
        };
        out.insert(key, value);
    }
    if kind == SchemaKind::Gemini {
        fold_nullable(&mut out);
    }
    Value::Object(out)
}

/// `"STRING"` -> `"string"`; `TYPE_UNSPECIFIED` means no constraint, so it goes.
fn lower_type(value: Value) -> Value {
    match value {
        Value::String(name) => Value::String(name.to_ascii_lowercase()),
        Value::Array(names) => Value::Array(names.into_iter().map(lower_type).collect()),
        other => other,
    }
}

/// OpenAPI's `nullable: true` is JSON Schema's `"type": [t, "null"]`; `nullable: false`
/// says nothing.
fn fold_nullable(schema: &mut Map<String, Value>) {
    if schema.get("type").and_then(Value::as_str) == Some("type_unspecified") {
        schema.remove("type");
    }
    match schema.remove("nullable") {
        Some(Value::Bool(true)) => match schema.remove("type") {
            Some(Value::String(name)) => {
                schema.insert(
                    "type".into(),
                    Value::Array(vec![Value::String(name), Value::String("null".into())]),
                );
            }
            // With no single type to widen, `nullable` stays: dropping it would forbid null.
            Some(other) => {
                schema.insert("type".into(), other);
                schema.insert("nullable".into(), Value::Bool(true));
            }
            None => {
                schema.insert("nullable".into(), Value::Bool(true));
            }
        },
        Some(Value::Bool(false)) | None => {}
        Some(other) => {
            schema.insert("nullable".into(), other);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_gemini_schema_becomes_lower_case_json_schema() {
        let schema = json!({
            "type": "OBJECT",
            "properties": {
                "type": {"type": "STRING", "enum": ["A", "B"], "description": "named type"},
                "tags": {"type": "ARRAY", "items": {"type": "STRING"}, "max_items": 3},
                "note": {"type": "STRING", "nullable": true},
                "either": {"any_of": [{"type": "INTEGER"}, {"type": "BOOLEAN"}]},
            },
            "required": ["type"],
            "property_ordering": ["type", "tags"],
        });
        assert_eq!(
            to_json_schema(schema, SchemaKind::Gemini),
            json!({
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["A", "B"], "description": "named type"},
                    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
                    "note": {"type": ["string", "null"]},
                    "either": {"anyOf": [{"type": "integer"}, {"type": "boolean"}]},
                },
                "required": ["type"],
                "propertyOrdering": ["type", "tags"],
            })
        );
    }

    #[test]
    fn json_schemas_keep_their_keys_and_only_lose_upper_case_types() {
        let schema = json!({
            "type": "OBJECT",
            "properties": {"model_choice": {"type": "STRING", "nullable": true}},
            "$defs": {"x": {"type": "NUMBER"}},
        });
        assert_eq!(
            to_json_schema(schema, SchemaKind::Json),
            json!({
                "type": "object",
                "properties": {"model_choice": {"type": "string", "nullable": true}},
                "$defs": {"x": {"type": "number"}},
            })
        );
    }
}
