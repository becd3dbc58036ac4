//! JSON-schema rewriting for upstreams that accept only a subset of JSON Schema.
//!
//! Clients declare tool parameters with whatever their schema library emits (zod,
//! pydantic, MCP servers): `$ref`/`$defs`, `const`, type arrays, `additionalProperties`...
//! Gemini's `Schema` object (an OpenAPI 3.0 subset) answers most of those with
//! `400 INVALID_ARGUMENT`, so [`gemini_compatible`] rewrites a schema into the subset it
//! takes. Every rule is listed, with its reason, in `docs/adapters/gemini-schema.md`.

use serde_json::{Map, Value, json};

/// How deep `$ref`s are inlined inside each other. Recursive schemas (a tree node whose
/// children are nodes) would otherwise never end; past this depth a reference becomes
/// `{"type": "object"}`, which is what a recursive definition nearly always is.
pub const MAX_REF_DEPTH: usize = 6;

/// Schema keywords Gemini's `Schema` object knows; every other keyword is dropped.
/// (`default` and `example` exist there too, but older models reject them in nested
/// positions and they carry no constraint, so they go as well.)
const GEMINI_KEYWORDS: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "items",
    "minItems",
    "maxItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "anyOf",
    "propertyOrdering",
];

/// `format` values Gemini accepts, by type; any other format is dropped.
fn supported_format(schema_type: Option<&str>, format: &str) -> bool {
    match schema_type {
        Some("string") => matches!(format, "enum" | "date-time"),
        Some("integer") => matches!(format, "int32" | "int64"),
        Some("number") => matches!(format, "float" | "double"),
        _ => false,
    }
}

/// Rewrite `schema` into the subset of JSON Schema that Gemini's function
/// declarations and `responseSchema` accept. Never fails: what cannot be expressed is
/// loosened (dropped), never made stricter, so valid arguments stay valid.
pub fn gemini_compatible(schema: &Value) -> Value {
    let definitions = collect_definitions(schema);
    clean(schema, &definitions, 0)
}

/// `$defs` and `definitions` of the root schema, by the reference that names them.
fn collect_definitions(schema: &Value) -> Map<String, Value> {
    let mut found = Map::new();
    for keyword in ["$defs", "definitions"] {
        if let Some(Value::Object(defs)) = schema.get(keyword) {
            for (name, definition) in defs {
                found.insert(format!("#/{keyword}/{name}"), definition.clone());
            }
        }
    }
    found
}

fn clean(schema: &Value, definitions: &Map<String, Value>, depth: usize) -> Value {
    let Value::Object(input) = schema else {
        // `true` (anything) or `false` (nothing, which Gemini cannot say): no constraint.
        return json!({});
    };
    if let Some(reference) = input.get("$ref").and_then(Value::as_str) {
        return inline_reference(reference, input, definitions, depth);
    }
    let mut out = Map::new();
    let mut nullable = input.get("nullable") == Some(&Value::Bool(true));

    // `type`: a list names several types; `null` among them becomes `nullable`.
    match input.get("type") {
        Some(Value::String(name)) if name == "null" => nullable = true,
        Some(Value::String(name)) => {
            out.insert("type".into(), json!(name));
        }
        Some(Value::Array(names)) => {
            let mut kinds: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
            if kinds.contains(&"null") {
                nullable = true;
                kinds.retain(|kind| *kind != "null");
            }
            match kinds.as_slice() {
                [] => {}
                [single] => {
                    out.insert("type".into(), json!(single));
                }
                several => {
                    // Constraints of the other keywords apply to each branch in turn.
                    let mut rest = input.clone();
                    rest.remove("type");
                    let branches = several
                        .iter()
                        .map(|kind| {
                            let mut branch = rest.clone();
                            branch.insert("type".into(), json!(kind));
                            clean(&Value::Object(branch), definitions, depth)
                        })
                        .collect();
                    let mut union = Map::new();
                    copy_annotations(input, &mut union);
                    union.insert("anyOf".into(), Value::Array(branches));
                    if nullable {
                        union.insert("nullable".into(), json!(true));
                    }
                    return Value::Object(union);
                }
            }
        }
        _ => {}
    }

    // `const` is a one-value `enum`.
    let mut values = match (input.get("enum"), input.get("const")) {
        (Some(Value::Array(values)), _) => Some(values.clone()),
        (None, Some(value)) => Some(vec![value.clone()]),
        _ => None,
    };
    if let Some(list) = &mut values {
        if list.iter().any(Value::is_null) {
            nullable = true;
            list.retain(|value| !value.is_null());
        }
        // Gemini's enum is a list of strings; other values cannot be said, so the
        // constraint is dropped rather than changing what the model may send.
        if !list.is_empty() && list.iter().all(Value::is_string) {
            out.insert("enum".into(), Value::Array(list.clone()));
            out.entry("type").or_insert_with(|| json!("string"));
        }
    }

    for (keyword, value) in input {
        match keyword.as_str() {
            "type" | "enum" | "const" | "nullable" => {}
            "properties" => {
                if let Value::Object(properties) = value {
                    let cleaned: Map<String, Value> = properties
                        .iter()
                        .map(|(name, property)| (name.clone(), clean(property, definitions, depth)))
                        .collect();
                    out.insert("properties".into(), Value::Object(cleaned));
                }
            }
            "items" => {
                let items = match value {
                    // Tuple form (draft 2019): each position's schema becomes a branch.
                    Value::Array(positions) => any_of(
                        positions
                            .iter()
                            .map(|item| clean(item, definitions, depth))
                            .collect(),
                    ),
                    single => clean(single, definitions, depth),
                };
                out.insert("items".into(), items);
            }
            "prefixItems" if !input.contains_key("items") => {
                if let Value::Array(positions) = value {
                    out.insert(
                        "items".into(),
                        any_of(
                            positions
                                .iter()
                                .map(|item| clean(item, definitions, depth))
                                .collect(),
                        ),
                    );
                }
            }
            "anyOf" | "oneOf" => {
                if let Value::Array(branches) = value {
                    merge_union(branches, definitions, depth, &mut out, &mut nullable);
                }
            }
            "allOf" => {
                if let Value::Array(branches) = value {
                    for branch in branches {
                        if let Value::Object(branch) = clean(branch, definitions, depth) {
                            merge_into(&mut out, branch);
                        }
                    }
                }
            }
            "format" => {
                let schema_type = out
                    .get("type")
                    .or_else(|| input.get("type"))
                    .and_then(Value::as_str);
                if let Some(format) = value.as_str()
                    && supported_format(schema_type, format)
                {
                    out.insert("format".into(), value.clone());
                }
            }
            other if GEMINI_KEYWORDS.contains(&other) => {
                out.insert(keyword.clone(), value.clone());
            }
            _ => {}
        }
    }

    // `required` may only name declared properties (Gemini: "property is not defined").
    if let Some(Value::Array(required)) = out.get("required").cloned() {
        let declared = out.get("properties").and_then(Value::as_object);
        let kept: Vec<Value> = required
            .into_iter()
            .filter(|name| {
                name.as_str()
                    .is_some_and(|name| declared.is_some_and(|props| props.contains_key(name)))
            })
            .collect();
        if kept.is_empty() {
            out.remove("required");
        } else {
            out.insert("required".into(), Value::Array(kept));
        }
    }
    if nullable {
        out.insert("nullable".into(), json!(true));
    }
    Value::Object(out)
}

/// Replace a `$ref` with the definition it names, keeping the referring schema's own
/// annotations (a `description` next to a `$ref` describes this use of it).
fn inline_reference(
    reference: &str,
    referrer: &Map<String, Value>,
    definitions: &Map<String, Value>,
    depth: usize,
) -> Value {
    let target = if depth >= MAX_REF_DEPTH {
        None
    } else {
        definitions.get(reference)
    };
    let mut resolved = match target {
        Some(definition) => match clean(definition, definitions, depth + 1) {
            Value::Object(map) => map,
            _ => Map::new(),
        },
        // Unknown, external or too deep: the loosest schema that still says "object".
        None => json!({"type": "object"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    };
    let mut siblings = referrer.clone();
    siblings.remove("$ref");
    if !siblings.is_empty()
        && let Value::Object(extra) = clean(&Value::Object(siblings), definitions, depth)
    {
        for (key, value) in extra {
            resolved.insert(key, value);
        }
    }
    Value::Object(resolved)
}

/// Fold `anyOf`/`oneOf` branches into `out`: `{"type":"null"}` branches become
/// `nullable`, a single remaining branch merges into the schema itself, several stay
/// an `anyOf` (Gemini has no `oneOf`; `anyOf` is its looser reading).
fn merge_union(
    branches: &[Value],
    definitions: &Map<String, Value>,
    depth: usize,
    out: &mut Map<String, Value>,
    nullable: &mut bool,
) {
    let mut kept = Vec::new();
    for branch in branches {
        let cleaned = clean(branch, definitions, depth);
        let is_null_only = cleaned.get("nullable") == Some(&Value::Bool(true))
            && cleaned.as_object().is_some_and(|map| map.len() == 1);
        if is_null_only {
            *nullable = true;
        } else {
            kept.push(cleaned);
        }
    }
    match kept.len() {
        0 => {}
        1 => {
            if let Some(Value::Object(single)) = kept.pop() {
                merge_into(out, single);
            }
        }
        _ => {
            out.insert("anyOf".into(), Value::Array(kept));
        }
    }
}

/// Merge one cleaned schema into another: properties and required lists are joined,
/// other keywords already present are kept.
fn merge_into(out: &mut Map<String, Value>, other: Map<String, Value>) {
    for (key, value) in other {
        match (key.as_str(), out.get_mut(&key), value) {
            ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                mine.extend(theirs);
            }
            ("required", Some(Value::Array(mine)), Value::Array(theirs)) => {
                for name in theirs {
                    if !mine.contains(&name) {
                        mine.push(name);
                    }
                }
            }
            (_, Some(_), _) => {}
            (_, None, value) => {
                out.insert(key, value);
            }
        }
    }
}

/// Copy the annotations that describe a schema as a whole.
fn copy_annotations(input: &Map<String, Value>, out: &mut Map<String, Value>) {
    for keyword in ["title", "description"] {
        if let Some(value) = input.get(keyword) {
            out.insert(keyword.into(), value.clone());
        }
    }
}

/// One schema, or an `anyOf` of several.
fn any_of(mut branches: Vec<Value>) -> Value {
    match branches.len() {
        0 => json!({}),
        1 => branches.remove(0),
        _ => json!({"anyOf": branches}),
    }
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
