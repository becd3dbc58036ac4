//! Schemas real clients send, and what Gemini gets instead.

use super::*;

#[test]
fn a_zod_style_schema_loses_the_keywords_gemini_rejects() {
    let schema = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "file path", "examples": ["a.txt"]},
            "limit": {"type": "integer", "exclusiveMinimum": 0, "default": 10},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true}
        },
        "required": ["path"],
        "additionalProperties": false
    });
    assert_eq!(
        gemini_compatible(&schema),
        json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "file path"},
                "limit": {"type": "integer"},
                "tags": {"type": "array", "items": {"type": "string"}}
            },
            "required": ["path"]
        })
    );
}

#[test]
fn property_names_that_look_like_keywords_survive() {
    let schema = json!({
        "type": "object",
        "properties": {"default": {"type": "string"}, "$schema": {"type": "boolean"}},
        "required": ["default"]
    });
    assert_eq!(gemini_compatible(&schema), schema);
}

#[test]
fn type_arrays_with_null_become_a_type_and_nullable() {
    assert_eq!(
        gemini_compatible(&json!({"type": ["string", "null"], "maxLength": 5})),
        json!({"type": "string", "maxLength": 5, "nullable": true})
    );
}

#[test]
fn type_arrays_of_several_types_become_any_of() {
    assert_eq!(
        gemini_compatible(&json!({"type": ["string", "integer"], "description": "id"})),
        json!({
            "description": "id",
            "anyOf": [
                {"type": "string", "description": "id"},
                {"type": "integer", "description": "id"}
            ]
        })
    );
}

#[test]
fn const_becomes_a_one_value_string_enum() {
    assert_eq!(
        gemini_compatible(&json!({"const": "click"})),
        json!({"enum": ["click"], "type": "string"})
    );
    // A non-string constant cannot be said: the constraint goes, the type stays.
    assert_eq!(
        gemini_compatible(&json!({"type": "integer", "const": 3})),
        json!({"type": "integer"})
    );
}

#[test]
fn null_in_an_enum_becomes_nullable() {
    assert_eq!(
        gemini_compatible(&json!({"type": ["string", "null"], "enum": ["a", "b", null]})),
        json!({"type": "string", "enum": ["a", "b"], "nullable": true})
    );
}

#[test]
fn refs_are_inlined_from_defs_and_definitions() {
    let schema = json!({
        "type": "object",
        "properties": {
            "start": {"$ref": "#/$defs/Point", "description": "where it begins"},
            "end": {"$ref": "#/definitions/Point"}
        },
        "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}},
        "definitions": {"Point": {"type": "object", "properties": {"y": {"type": "number"}}}}
    });
    assert_eq!(
        gemini_compatible(&schema),
        json!({
            "type": "object",
            "properties": {
                "start": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"], "description": "where it begins"},
                "end": {"type": "object", "properties": {"y": {"type": "number"}}}
            }
        })
    );
}

#[test]
fn a_recursive_ref_stops_at_the_depth_limit() {
    let schema = json!({
        "$ref": "#/$defs/Node",
        "$defs": {"Node": {
            "type": "object",
            "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}
        }}
    });
    let cleaned = gemini_compatible(&schema);
    let mut node = &cleaned;
    for _ in 0..MAX_REF_DEPTH {
        node = &node["properties"]["children"]["items"];
    }
    assert_eq!(node, &json!({"type": "object"}));
    assert!(!cleaned.to_string().contains("$ref"));
}

#[test]
fn an_unknown_ref_becomes_an_open_object() {
    assert_eq!(
        gemini_compatible(&json!({"$ref": "https://example.com/other.json"})),
        json!({"type": "object"})
    );
}

#[test]
fn an_optional_field_written_as_any_of_with_null_folds_into_one_schema() {
    assert_eq!(
        gemini_compatible(
            &json!({"anyOf": [{"type": "string", "format": "uri"}, {"type": "null"}], "title": "Url"})
        ),
        json!({"type": "string", "title": "Url", "nullable": true})
    );
}

#[test]
fn one_of_with_several_branches_becomes_any_of() {
    assert_eq!(
        gemini_compatible(
            &json!({"oneOf": [{"type": "string"}, {"type": "number", "exclusiveMaximum": 3}]})
        ),
        json!({"anyOf": [{"type": "string"}, {"type": "number"}]})
    );
}

#[test]
fn all_of_branches_merge_their_properties() {
    let schema = json!({"allOf": [
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
        {"properties": {"b": {"type": "boolean"}}, "required": ["b"], "additionalProperties": false}
    ]});
    assert_eq!(
        gemini_compatible(&schema),
        json!({
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "boolean"}},
            "required": ["a", "b"]
        })
    );
}

#[test]
fn required_names_without_a_property_are_dropped() {
    assert_eq!(
        gemini_compatible(
            &json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "ghost"]})
        ),
        json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]})
    );
    assert_eq!(
        gemini_compatible(&json!({"type": "object", "required": ["ghost"]})),
        json!({"type": "object"})
    );
}

#[test]
fn only_formats_gemini_knows_are_kept() {
    let schema = json!({"type": "object", "properties": {
        "when": {"type": "string", "format": "date-time"},
        "site": {"type": "string", "format": "uri"},
        "count": {"type": "integer", "format": "int64"},
        "ratio": {"type": "number", "format": "percent"}
    }});
    assert_eq!(
        gemini_compatible(&schema)["properties"],
        json!({
            "when": {"type": "string", "format": "date-time"},
            "site": {"type": "string"},
            "count": {"type": "integer", "format": "int64"},
            "ratio": {"type": "number"}
        })
    );
}

#[test]
fn tuple_items_become_any_of_and_boolean_schemas_become_empty() {
    assert_eq!(
        gemini_compatible(
            &json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]})
        ),
        json!({"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}})
    );
    assert_eq!(gemini_compatible(&json!(true)), json!({}));
    assert_eq!(
        gemini_compatible(&json!({"type": "object", "properties": {"x": true}})),
        json!({"type": "object", "properties": {"x": {}}})
    );
}

#[test]
fn pattern_properties_and_other_unknown_keywords_are_dropped() {
    assert_eq!(
        gemini_compatible(&json!({
            "type": "object",
            "patternProperties": {"^x": {"type": "string"}},
            "propertyNames": {"pattern": "^[a-z]+$"},
            "if": {}, "then": {}, "not": {},
            "minProperties": 1
        })),
        json!({"type": "object", "minProperties": 1})
    );
}
