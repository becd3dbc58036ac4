//! `tools` and `tool_choice` of a Responses request.
//!
//! Function tools map one to one. A `custom` tool (free-form input, e.g. Codex's
//! `apply_patch` grammar) becomes a function taking `{"input": string}`, marked
//! `options.openai.type = "custom"` so the encoder answers with `custom_tool_call`
//! items. A `namespace` is flattened into `{namespace}__{tool}` functions, marked with
//! both names so calls go back as the client named them. Hosted tools (`web_search`,
//! `file_search`, `mcp`...) run inside OpenAI and no other provider can serve them:
//! they are kept verbatim in `options["openai-responses"].tools`.

use serde_json::{Value, json};

use super::fields::{Object, invalid_value, keyed_options, object, opt_string, string, wrong_type};
use super::{CUSTOM_TOOL_SCHEMA, OPENAI, flat_tool_name};
use crate::ir::{Tool, ToolChoice};
use crate::surfaces::ClientError;

/// The schema a function tool gets when it declares no `parameters`.
const EMPTY_PARAMETERS: &str = r#"{"type":"object","properties":{}}"#;

/// Tools in IR form, and the hosted ones kept for OpenAI.
#[derive(Debug, Default)]
pub(super) struct Tools {
    /// Client-side tools, in order, names unique.
    pub tools: Vec<Tool>,
    /// Hosted tools, verbatim.
    pub hosted: Vec<Value>,
}

impl Tools {
    /// Adds every tool of `items` (found at `path`); a name already declared keeps its
    /// first definition (Codex repeats `additional_tools` items across turns).
    pub fn add(&mut self, items: Vec<Value>, path: &str) -> Result<(), ClientError> {
        for (index, item) in items.into_iter().enumerate() {
            self.add_one(item, &format!("{path}[{index}]"), None)?;
        }
        Ok(())
    }

    fn add_one(
        &mut self,
        item: Value,
        path: &str,
        namespace: Option<&str>,
    ) -> Result<(), ClientError> {
        let mut fields = object(Some(item), path)?;
        let kind = string(fields.remove("type"), &format!("{path}.type"))?;
        let tool = match kind.as_str() {
            "function" => function(fields, path)?,
            "custom" => custom(fields, path)?,
            "namespace" if namespace.is_none() => {
                let name = string(fields.remove("name"), &format!("{path}.name"))?;
                let inner = match fields.remove("tools") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(inner)) => inner,
                    Some(other) => {
                        return Err(wrong_type(&format!("{path}.tools"), "an array", &other));
                    }
                };
                for (index, item) in inner.into_iter().enumerate() {
                    self.add_one(item, &format!("{path}.tools[{index}]"), Some(&name))?;
                }
                return Ok(());
            }
            _ => {
                fields.insert("type".to_owned(), Value::String(kind));
                if let Some(namespace) = namespace {
                    fields.insert("namespace".to_owned(), json!(namespace));
                }
                self.hosted.push(Value::Object(fields));
                return Ok(());
            }
        };
        let tool = match namespace {
            Some(namespace) => namespaced(tool, namespace),
            None => tool,
        };
        if !self.tools.iter().any(|known| known.name == tool.name) {
            self.tools.push(tool);
        }
        Ok(())
    }
}

/// `{type: function, name, description, parameters, strict}`; `strict` (which the OpenAI
/// adapter reads back) and unknown fields ride in options.
fn function(mut fields: Object, path: &str) -> Result<Tool, ClientError> {
    let name = string(fields.remove("name"), &format!("{path}.name"))?;
    let description = opt_string(fields.remove("description"), &format!("{path}.description"))?;
    let input_schema = match fields.remove("parameters") {
        None | Some(Value::Null) => EMPTY_PARAMETERS.to_owned(),
        Some(schema @ Value::Object(_)) => schema.to_string(),
        Some(other) => {
            return Err(wrong_type(
                &format!("{path}.parameters"),
                "an object",
                &other,
            ));
        }
    };
    Ok(Tool {
        name,
        description,
        input_schema,
        options: keyed_options(OPENAI, fields),
    })
}

/// `{type: custom, name, description, format}`. Other providers see a function with one
/// string argument; a grammar is appended to the description, because the model must
/// know the syntax its free-form input has to follow.
fn custom(mut fields: Object, path: &str) -> Result<Tool, ClientError> {
    let name = string(fields.remove("name"), &format!("{path}.name"))?;
    let original = opt_string(fields.remove("description"), &format!("{path}.description"))?;
    let mut description = original.clone().unwrap_or_default();
    if let Some(format) = fields.get("format")
        && format.get("type").and_then(Value::as_str) == Some("grammar")
    {
        let syntax = format
            .get("syntax")
            .and_then(Value::as_str)
            .unwrap_or("lark");
        let definition = format
            .get("definition")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str(&format!(
            "Put the raw tool input in the `input` string; it must follow this {syntax} grammar:\n{definition}"
        ));
    }
    fields.insert("type".to_owned(), json!("custom"));
    if let Some(original) = original {
        fields.insert("description".to_owned(), json!(original));
    }
    Ok(Tool {
        name,
        description: (!description.is_empty()).then_some(description),
        input_schema: CUSTOM_TOOL_SCHEMA.to_owned(),
        options: keyed_options(OPENAI, fields),
    })
}

/// A tool inside a namespace, renamed `{namespace}__{name}` and marked with both names.
fn namespaced(mut tool: Tool, namespace: &str) -> Tool {
    let mut extra = Object::new();
    extra.insert("namespace".to_owned(), json!(namespace));
    extra.insert("name".to_owned(), json!(tool.name));
    let options = tool.options.get_or_insert_with(|| json!({OPENAI: {}}));
    if let Some(openai) = options.get_mut(OPENAI).and_then(Value::as_object_mut) {
        openai.extend(extra);
    }
    tool.name = flat_tool_name(namespace, &tool.name);
    tool
}

/// `tool_choice`: a mode, a named function or custom tool, or `allowed_tools` (its mode
/// is carried; the allowed list is kept in options). Forcing a hosted tool is refused:
/// no provider but OpenAI can run it.
pub(super) fn decode_tool_choice(
    value: Option<Value>,
    kept: &mut Object,
) -> Result<Option<ToolChoice>, ClientError> {
    const EXPECTED: &str = "expected 'auto', 'none', 'required', {\"type\":\"function\",\"name\":...} or {\"type\":\"custom\",\"name\":...}";
    let mode = |mode: &str| match mode {
        "auto" => Ok(ToolChoice::Auto),
        "none" => Ok(ToolChoice::None),
        "required" => Ok(ToolChoice::Required),
        other => Err(invalid_value(
            "tool_choice",
            format!("'{other}' is not a choice; {EXPECTED}"),
        )),
    };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(choice)) => mode(&choice).map(Some),
        Some(Value::Object(mut fields)) => {
            let kind = string(fields.remove("type"), "tool_choice.type")?;
            match kind.as_str() {
                "function" | "custom" => {
                    let name = string(fields.remove("name"), "tool_choice.name")?;
                    let name = match fields.get("namespace").and_then(Value::as_str) {
                        Some(namespace) => flat_tool_name(namespace, &name),
                        None => name,
                    };
                    Ok(Some(ToolChoice::Tool(name)))
                }
                "allowed_tools" => {
                    let choice = mode(
                        opt_string(fields.get("mode").cloned(), "tool_choice.mode")?
                            .as_deref()
                            .unwrap_or("auto"),
                    )?;
                    fields.insert("type".to_owned(), Value::String(kind));
                    kept.insert("tool_choice".to_owned(), Value::Object(fields));
                    Ok(Some(choice))
                }
                other => Err(invalid_value(
                    "tool_choice.type",
                    format!(
                        "'{other}' is a tool hosted by OpenAI that other providers cannot run, so it cannot be forced; {EXPECTED}"
                    ),
                )),
            }
        }
        Some(other) => Err(wrong_type("tool_choice", "a string or an object", &other)),
    }
}
