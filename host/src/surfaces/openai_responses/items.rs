//! `instructions` and `input` of a Responses request, into IR system blocks and
//! messages.
//!
//! Responses has no turns, only items. The IR wants turns, so items are grouped:
//! reasoning, assistant messages, `function_call` and `custom_tool_call` items in a row
//! are one assistant turn (in their order); `function_call_output` and
//! `custom_tool_call_output` items in a row are one tool turn. Every item id (Codex
//! sends them even with `store: false`) stays in the part's `options.openai.id`.

use serde_json::{Value, json};

use super::content::{content_parts, tool_output};
use super::fields::{
    Object, invalid_value, keyed_options, object, opt_array, opt_string, string, unsupported,
};
use super::{OPENAI, flat_tool_name};
use crate::ir::{Message, Part, ReasoningPart, Role, TextPart, ToolCallPart, ToolResultPart};
use crate::surfaces::ClientError;
use crate::surfaces::opaque_reasoning;

/// The conversation, split the way the IR wants it.
#[derive(Debug, Default)]
pub(super) struct Conversation {
    /// `instructions`, then leading developer and system items.
    pub system: Vec<TextPart>,
    /// Everything else, grouped into turns.
    pub messages: Vec<Message>,
    /// Tools declared inside `additional_tools` input items (newer Codex sends its tools
    /// there, not in `tools`).
    pub declared_tools: Vec<Value>,
    /// Items no provider but OpenAI understands (`web_search_call`, `local_shell_call`,
    /// ...), kept verbatim with their position for an upstream that can take them.
    pub kept_items: Vec<Value>,
}

/// Decodes `instructions` and `input`.
pub(super) fn decode_input(
    instructions: Option<String>,
    input: Value,
) -> Result<Conversation, ClientError> {
    let mut builder = Builder::default();
    if let Some(text) = instructions
        && !text.is_empty()
    {
        builder.conversation.system.push(TextPart {
            text,
            options: None,
        });
    }
    match input {
        Value::String(text) => builder.push(
            Role::User,
            false,
            vec![Part::Text(TextPart {
                text,
                options: None,
            })],
            None,
        ),
        Value::Array(items) => {
            for (index, item) in items.into_iter().enumerate() {
                builder.item(item, index)?;
            }
        }
        other => {
            return Err(super::fields::wrong_type(
                "input",
                "a string or an array of items",
                &other,
            ));
        }
    }
    builder.flush();
    Ok(builder.conversation)
}

#[derive(Debug, Default)]
struct Builder {
    conversation: Conversation,
    /// The turn being grouped, if it may take more items.
    open: Option<Message>,
    /// Only developer/system items so far: they still go to `system`.
    past_leading: bool,
    /// (call id, tool name) of calls seen, so results can name their tool.
    call_names: Vec<(String, String)>,
}

impl Builder {
    /// Adds parts to a turn of `role`: joined to the open turn when `group` and the
    /// role matches, a new turn otherwise.
    fn push(&mut self, role: Role, group: bool, parts: Vec<Part>, options: Option<Value>) {
        self.past_leading = true;
        if group
            && let Some(open) = &mut self.open
            && open.role == role
        {
            open.parts.extend(parts);
            return;
        }
        self.flush();
        let message = Message {
            role,
            parts,
            options,
        };
        if group {
            self.open = Some(message);
        } else {
            self.conversation.messages.push(message);
        }
    }

    fn flush(&mut self) {
        if let Some(open) = self.open.take() {
            self.conversation.messages.push(open);
        }
    }

    fn item(&mut self, item: Value, index: usize) -> Result<(), ClientError> {
        let path = format!("input[{index}]");
        let mut fields = object(Some(item), &path)?;
        let kind = match opt_string(fields.remove("type"), &format!("{path}.type"))? {
            Some(kind) => kind,
            // An easy input message: `{"role": "user", "content": "..."}`.
            None if fields.contains_key("role") => "message".to_owned(),
            None => return Err(super::fields::missing(&format!("{path}.type"))),
        };
        match kind.as_str() {
            "message" => self.message(fields, &path),
            "function_call" | "custom_tool_call" => {
                let call = tool_call(fields, &kind, &path)?;
                self.call_names.push((call.id.clone(), call.name.clone()));
                self.push(Role::Assistant, true, vec![Part::ToolCall(call)], None);
                Ok(())
            }
            "function_call_output" | "custom_tool_call_output" => {
                let result = self.tool_result(fields, &kind, &path)?;
                self.push(Role::Tool, true, vec![Part::ToolResult(result)], None);
                Ok(())
            }
            "reasoning" => {
                let part = reasoning(fields, &path)?;
                self.push(Role::Assistant, true, vec![Part::Reasoning(part)], None);
                Ok(())
            }
            "additional_tools" => {
                let tools = opt_array(fields.remove("tools"), &format!("{path}.tools"))?;
                self.conversation
                    .declared_tools
                    .extend(tools.unwrap_or_default());
                Ok(())
            }
            "item_reference" => Err(unsupported(
                &path,
                "item_reference points at a stored item, and this proxy does not store responses; send the item itself",
            )),
            _ => {
                fields.insert("type".to_owned(), Value::String(kind));
                self.conversation
                    .kept_items
                    .push(json!({"index": index, "item": Value::Object(fields)}));
                Ok(())
            }
        }
    }

    fn message(&mut self, mut fields: Object, path: &str) -> Result<(), ClientError> {
        let role = string(fields.remove("role"), &format!("{path}.role"))?;
        let content_path = format!("{path}.content");
        let mut parts = content_parts(fields.remove("content"), &content_path)?;
        // `id` and `status` (and anything else on the item) ride on its parts.
        fields.retain(|_, value| !value.is_null());
        match role.as_str() {
            "system" | "developer" => {
                if role == "developer" {
                    fields.insert("role".to_owned(), Value::String(role));
                }
                for part in &mut parts {
                    let Part::Text(text) = part else {
                        return Err(invalid_value(
                            &content_path,
                            "system and developer messages hold text only",
                        ));
                    };
                    merge(&mut text.options, &fields);
                }
                if self.past_leading {
                    self.push(Role::System, false, parts, None);
                } else {
                    self.conversation
                        .system
                        .extend(parts.into_iter().filter_map(|part| match part {
                            Part::Text(text) => Some(text),
                            _ => None,
                        }));
                }
            }
            "user" => self.push(Role::User, false, parts, keyed_options(OPENAI, fields)),
            "assistant" => {
                for part in &mut parts {
                    match part {
                        Part::Text(text) => merge(&mut text.options, &fields),
                        _ => {
                            return Err(invalid_value(
                                &content_path,
                                "assistant messages hold output_text or refusal only",
                            ));
                        }
                    }
                }
                self.push(Role::Assistant, true, parts, None);
            }
            other => {
                return Err(invalid_value(
                    &format!("{path}.role"),
                    format!(
                        "unsupported role '{other}'; expected user, assistant, system or developer"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn tool_result(
        &self,
        mut fields: Object,
        kind: &str,
        path: &str,
    ) -> Result<ToolResultPart, ClientError> {
        let call_id = string(fields.remove("call_id"), &format!("{path}.call_id"))?;
        let output = tool_output(fields.remove("output"), &format!("{path}.output"))?;
        if kind == "custom_tool_call_output" {
            fields.insert("type".to_owned(), json!("custom"));
        }
        let name = self
            .call_names
            .iter()
            .rev()
            .find(|(id, _)| *id == call_id)
            .map(|(_, name)| name.clone());
        Ok(ToolResultPart {
            call_id,
            name,
            output,
            is_error: false,
            options: keyed_options(OPENAI, fields),
        })
    }
}

/// Adds `extra` (the item's own fields) into a part's `options.openai`.
fn merge(options: &mut Option<Value>, extra: &Object) {
    if extra.is_empty() {
        return;
    }
    let slot = options.get_or_insert_with(|| json!({}));
    let openai = slot
        .as_object_mut()
        .expect("options are built as objects here")
        .entry(OPENAI)
        .or_insert_with(|| json!({}));
    if let Some(openai) = openai.as_object_mut() {
        for (key, value) in extra {
            openai.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
}

/// A `function_call` (JSON arguments) or `custom_tool_call` (free-form `input`, carried
/// as `{"input": ...}` to match the schema custom tools get).
fn tool_call(mut fields: Object, kind: &str, path: &str) -> Result<ToolCallPart, ClientError> {
    let id = string(fields.remove("call_id"), &format!("{path}.call_id"))?;
    let name = string(fields.remove("name"), &format!("{path}.name"))?;
    let arguments = if kind == "custom_tool_call" {
        let input = opt_string(fields.remove("input"), &format!("{path}.input"))?;
        fields.insert("type".to_owned(), json!("custom"));
        json!({"input": input.unwrap_or_default()}).to_string()
    } else {
        match fields.remove("arguments") {
            None | Some(Value::Null) => "{}".to_owned(),
            Some(Value::String(s)) if s.trim().is_empty() => "{}".to_owned(),
            Some(Value::String(s)) => s,
            Some(object @ Value::Object(_)) => object.to_string(),
            Some(other) => {
                return Err(super::fields::wrong_type(
                    &format!("{path}.arguments"),
                    "a string",
                    &other,
                ));
            }
        }
    };
    // A call into a namespace names the flattened tool the request declared.
    let name = match fields.get("namespace").and_then(Value::as_str) {
        Some(namespace) => flat_tool_name(namespace, &name),
        None => name,
    };
    Ok(ToolCallPart {
        id,
        name,
        arguments,
        options: keyed_options(OPENAI, fields),
    })
}

/// A `reasoning` item: its summaries become the reasoning text (one summary part is
/// what this surface emits, so a round trip is exact), `encrypted_content` the opaque
/// payload: a provider signature when it carries our prefix, redacted reasoning
/// otherwise.
fn reasoning(mut fields: Object, path: &str) -> Result<ReasoningPart, ClientError> {
    let summary = texts(opt_array(
        fields.remove("summary"),
        &format!("{path}.summary"),
    )?);
    let content = fields.remove("content");
    let text = if summary.is_empty() {
        let content = texts(opt_array(content, &format!("{path}.content"))?);
        content.join("\n\n")
    } else {
        if let Some(content) = content.filter(|c| !c.is_null()) {
            fields.insert("content".to_owned(), content);
        }
        summary.join("\n\n")
    };
    let encrypted = opt_string(
        fields.remove("encrypted_content"),
        &format!("{path}.encrypted_content"),
    )?;
    // A signature (Anthropic, Gemini) rides in `encrypted_content` behind a marker.
    let (signature, redacted) = opaque_reasoning::from_redacted(encrypted);
    Ok(ReasoningPart {
        text,
        signature,
        redacted,
        options: keyed_options(OPENAI, fields),
    })
}

/// The `text` of each `{type, text}` entry.
fn texts(entries: Option<Vec<Value>>) -> Vec<String> {
    entries
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| entry.get("text").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}
