//! A client's JSON schema in the subset Anthropic's structured outputs accept.
//!
//! Anthropic compiles `output_config.format.schema` into a grammar and refuses (400)
//! what its compiler cannot take: an object without `additionalProperties: false`, and
//! numeric, string-length and most array bounds (`For 'integer' type, property
//! 'minimum' is not supported`). Schemas from OpenAI and Gemini clients often carry
//! both. [`structured_output_schema`] closes open objects, moves each unsupported bound
//! into the `description` (the model still reads it; the client still validates it),
//! and gives up (`None`, so the adapter falls back to a prompt instruction) on what it
//! cannot express without changing the meaning: an object that allows extra properties
//! on purpose (`additionalProperties: true` or a schema, i.e. a map).

use serde_json::{Map, Value};

/// Bounds the grammar compiler refuses; moved into the description.
const UNSUPPORTED: &[&str] = &[
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
];

/// Keywords whose value is one subschema.
const SUBSCHEMA: &[&str] = &["items", "not", "if", "then", "else", "contains"];
/// Keywords whose value is an array of subschemas.
const SUBSCHEMA_LISTS: &[&str] = &["anyOf", "allOf", "oneOf", "prefixItems"];
/// Keywords whose value maps names to subschemas.
const SUBSCHEMA_MAPS: &[&str] = &["properties", "$defs", "definitions", "patternProperties"];

/// `schema` rewritten for Anthropic's structured outputs, or `None` when it holds an
/// object meant to take extra properties.
pub fn structured_output_schema(schema: &Value) -> Option<Value> {
    let mut schema = schema.clone();
    rewrite(&mut schema).then_some(schema)
}

/// Rewrite in place; false when the schema cannot be expressed.
fn rewrite(schema: &mut Value) -> bool {
    let Value::Object(map) = schema else {
        return true;
    };
    if is_object_schema(map) {
        match map.get("additionalProperties") {
            None => {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            Some(Value::Bool(false)) => {}
            Some(_) => return false,
        }
    }
    let mut notes = Vec::new();
    for keyword in UNSUPPORTED {
        if let Some(value) = map.remove(*keyword) {
            notes.push(format!("{keyword}: {value}"));
        }
    }
    // `minItems` 0 and 1 are supported; larger bounds are not.
    if map
        .get("minItems")
        .and_then(Value::as_u64)
        .is_some_and(|n| n > 1)
    {
        let value = map.remove("minItems").expect("just read");
        notes.push(format!("minItems: {value}"));
    }
    if !notes.is_empty() {
        let note = format!("{{{}}}", notes.join(", "));
        let description = match map.get("description").and_then(Value::as_str) {
            Some(text) if !text.is_empty() => format!("{text}\n\n{note}"),
            _ => note,
        };
        map.insert("description".into(), Value::String(description));
    }
    rewrite_children(map)
}

fn rewrite_children(map: &mut Map<String, Value>) -> bool {
    for (key, value) in map.iter_mut() {
        let ok = if SUBSCHEMA.contains(&key.as_str()) {
            rewrite(value)
        } else if SUBSCHEMA_LISTS.contains(&key.as_str()) {
            value
                .as_array_mut()
                .is_none_or(|items| items.iter_mut().all(rewrite))
        } else if SUBSCHEMA_MAPS.contains(&key.as_str()) {
            value
                .as_object_mut()
                .is_none_or(|entries| entries.values_mut().all(rewrite))
        } else {
            true
        };
        if !ok {
            return false;
        }
    }
    true
}

/// `type: object` (alone or in a list), or `properties` without a type.
fn is_object_schema(map: &Map<String, Value>) -> bool {
    match map.get("type") {
        Some(Value::String(kind)) => kind == "object",
        Some(Value::Array(kinds)) => kinds.iter().any(|k| k == "object"),
        _ => map.contains_key("properties"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_closed_schema_without_bounds_is_unchanged() {
        let schema = json!({
            "type": "object",
            "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
            "required": ["name"],
            "additionalProperties": false
        });
        assert_eq!(structured_output_schema(&schema), Some(schema));
    }

    #[test]
    fn open_objects_are_closed_and_bounds_move_into_the_description() {
        // As pydantic writes it for `age: int = Field(ge=0, description="Years")`.
        let schema = json!({
            "type": "object",
            "title": "Person",
            "properties": {
                "age": {"type": "integer", "minimum": 0, "description": "Years"},
                "name": {"type": "string", "maxLength": 40},
                "pets": {"type": "array", "minItems": 2, "items": {"$ref": "#/$defs/Pet"}}
            },
            "$defs": {"Pet": {"type": "object", "properties": {"kind": {"type": "string"}}}}
        });
        assert_eq!(
            structured_output_schema(&schema).unwrap(),
            json!({
                "type": "object",
                "title": "Person",
                "properties": {
                    "age": {"type": "integer", "description": "Years\n\n{minimum: 0}"},
                    "name": {"type": "string", "description": "{maxLength: 40}"},
                    "pets": {"type": "array", "items": {"$ref": "#/$defs/Pet"}, "description": "{minItems: 2}"}
                },
                "$defs": {"Pet": {"type": "object", "properties": {"kind": {"type": "string"}}, "additionalProperties": false}},
                "additionalProperties": false
            })
        );
    }

    #[test]
    fn a_map_cannot_be_expressed() {
        let map = json!({"type": "object", "properties": {"scores": {"type": "object", "additionalProperties": {"type": "number"}}}});
        assert_eq!(structured_output_schema(&map), None);
        let open =
            json!({"anyOf": [{"type": "object", "additionalProperties": true}, {"type": "null"}]});
        assert_eq!(structured_output_schema(&open), None);
    }
}
