//! The conversation of a Messages request: `system` and `messages`, block by block, into
//! IR messages.
//!
//! Where the two models differ, the choices are:
//! - a user turn's `tool_result` blocks become a `Role::Tool` message placed before a
//!   `Role::User` message holding the turn's other blocks (the order Anthropic already
//!   demands, and what Chat-style upstreams need); the Anthropic adapter merges them
//!   back into one user turn, tool results first;
//! - a `role: "system"` entry (Claude Code sends one) becomes a `Role::System` message;
//! - block fields the IR has no slot for (`cache_control`, `citations`, `caller`...)
//!   ride in the part's `{"anthropic": {...}}` options, which the Anthropic adapter
//!   splices back into the block;
//! - block types the IR cannot carry (server tool use and results, search results,
//!   containers...) are kept verbatim in the message's options under `kept_blocks`
//!   (`[{"index": i, "block": {...}}]`), so nothing is refused that a native upstream
//!   would accept; the Anthropic adapter puts them back in place, other upstreams
//!   do not see them.

use std::collections::HashMap;

use serde_json::Value;

use super::fields::{
    Object, anthropic_options, invalid_value, missing, object, opt_bool, opt_string, string,
    wrong_type,
};
use crate::ir::{
    FileData, FilePart, Message, Part, ReasoningPart, Role, TextPart, ToolCallPart, ToolOutput,
    ToolResultPart,
};
use crate::surfaces::ClientError;
use crate::surfaces::opaque_reasoning;

/// `system`: a string, or an array of text blocks.
pub(super) fn decode_system(value: Option<Value>) -> Result<Vec<TextPart>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(text)) if text.is_empty() => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(vec![TextPart {
            text,
            options: None,
        }]),
        Some(Value::Array(blocks)) => blocks
            .into_iter()
            .enumerate()
            .map(|(index, block)| text_only_block(block, &format!("system.{index}")))
            .collect(),
        Some(_) => Err(wrong_type(
            "system",
            "a valid string or a list of text blocks",
        )),
    }
}

/// `messages[]`, in order; a user turn with tool results may become two IR messages.
pub(super) fn decode_messages(items: Vec<Value>) -> Result<Vec<Message>, ClientError> {
    // Tool results name only the call id; the name comes from the earlier tool_use,
    // which upstreams such as Gemini need.
    let mut call_names: HashMap<String, String> = HashMap::new();
    let mut messages = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let path = format!("messages.{index}");
        let mut fields = object(Some(item), &path)?;
        let role = string(fields.remove("role"), &format!("{path}.role"))?;
        let content = fields
            .remove("content")
            .ok_or_else(|| missing(&format!("{path}.content")))?;
        let content_path = format!("{path}.content");
        match role.as_str() {
            "system" => {
                let parts = system_turn(content, &content_path)?;
                messages.push(Message {
                    role: Role::System,
                    parts,
                    options: anthropic_options(fields),
                });
            }
            "user" | "assistant" => {
                let role = if role == "user" {
                    Role::User
                } else {
                    Role::Assistant
                };
                let blocks = turn_blocks(content, &content_path, role, &mut call_names)?;
                push_turn(&mut messages, role, blocks, fields);
            }
            other => {
                return Err(invalid_value(
                    &format!("{path}.role"),
                    format!("Input should be 'user', 'assistant' or 'system', got '{other}'"),
                ));
            }
        }
    }
    Ok(messages)
}

/// What one content block became.
enum Block {
    /// An IR part.
    Part(Part),
    /// A block the IR cannot carry, kept verbatim with its position in the turn.
    Kept(usize, Value),
}

/// Appends a user or assistant turn: tool results first as a `Role::Tool` message, the
/// rest as one message of `role`; message-level leftovers and kept blocks go in the
/// options of the last message pushed.
fn push_turn(messages: &mut Vec<Message>, role: Role, blocks: Vec<Block>, mut rest: Object) {
    let mut results = Vec::new();
    let mut parts = Vec::new();
    let mut kept = Vec::new();
    for block in blocks {
        match block {
            Block::Part(part @ Part::ToolResult(_)) => results.push(part),
            Block::Part(part) => parts.push(part),
            Block::Kept(index, block) => {
                kept.push(serde_json::json!({"index": index, "block": block}))
            }
        }
    }
    if !kept.is_empty() {
        rest.insert("kept_blocks".to_owned(), Value::Array(kept));
    }
    let options = anthropic_options(rest);
    let has_results = !results.is_empty();
    if has_results {
        messages.push(Message {
            role: Role::Tool,
            parts: results,
            options: None,
        });
    }
    if !parts.is_empty() || !has_results {
        messages.push(Message {
            role,
            parts,
            options,
        });
    } else if let Some(last) = messages.last_mut() {
        last.options = options;
    }
}

/// A system entry's content: a string or text blocks.
fn system_turn(content: Value, path: &str) -> Result<Vec<Part>, ClientError> {
    match content {
        Value::String(text) => Ok(vec![Part::Text(TextPart {
            text,
            options: None,
        })]),
        Value::Array(blocks) => blocks
            .into_iter()
            .enumerate()
            .map(|(index, block)| {
                text_only_block(block, &format!("{path}.{index}")).map(Part::Text)
            })
            .collect(),
        _ => Err(wrong_type(path, "a valid string or a list of text blocks")),
    }
}

/// A user or assistant turn's content: a string (one text block) or blocks.
fn turn_blocks(
    content: Value,
    path: &str,
    role: Role,
    call_names: &mut HashMap<String, String>,
) -> Result<Vec<Block>, ClientError> {
    match content {
        Value::String(text) => Ok(vec![Block::Part(Part::Text(TextPart {
            text,
            options: None,
        }))]),
        Value::Array(blocks) => {
            let mut out = Vec::with_capacity(blocks.len());
            for (index, block) in blocks.into_iter().enumerate() {
                let block_path = format!("{path}.{index}");
                out.push(content_block(block, index, &block_path, role, call_names)?);
            }
            Ok(out)
        }
        _ => Err(wrong_type(
            path,
            "a valid string or a list of content blocks",
        )),
    }
}

/// One content block of a user or assistant turn.
fn content_block(
    block: Value,
    index: usize,
    path: &str,
    role: Role,
    call_names: &mut HashMap<String, String>,
) -> Result<Block, ClientError> {
    let mut fields = object(Some(block), path)?;
    let kind = string(fields.remove("type"), &format!("{path}.type"))?;
    let part = match kind.as_str() {
        "text" => Part::Text(text_fields(fields, path)?),
        "image" => Part::File(image(fields, path)?),
        "document" => document(fields, path)?,
        "thinking" => {
            let text = string(fields.remove("thinking"), &format!("{path}.thinking"))?;
            // An empty signature is no signature: reasoning that came from another
            // provider was sent out with "" and must not be verified by Anthropic.
            let (signature, redacted) = opaque_reasoning::from_signature(opt_string(
                fields.remove("signature"),
                &format!("{path}.signature"),
            )?);
            Part::Reasoning(ReasoningPart {
                text,
                signature,
                redacted,
                options: anthropic_options(fields),
            })
        }
        "redacted_thinking" => {
            let data = string(fields.remove("data"), &format!("{path}.data"))?;
            Part::Reasoning(ReasoningPart {
                text: String::new(),
                signature: None,
                redacted: Some(data),
                options: anthropic_options(fields),
            })
        }
        "tool_use" => {
            let id = string(fields.remove("id"), &format!("{path}.id"))?;
            let name = string(fields.remove("name"), &format!("{path}.name"))?;
            let arguments = match fields.remove("input") {
                None | Some(Value::Null) => "{}".to_owned(),
                Some(input @ Value::Object(_)) => input.to_string(),
                Some(_) => return Err(wrong_type(&format!("{path}.input"), "a valid dictionary")),
            };
            call_names.insert(id.clone(), name.clone());
            Part::ToolCall(ToolCallPart {
                id,
                name,
                arguments,
                options: anthropic_options(fields),
            })
        }
        "tool_result" if role == Role::User => {
            Part::ToolResult(tool_result(fields, path, call_names)?)
        }
        "tool_result" => {
            return Err(invalid_value(
                &format!("{path}.type"),
                "tool_result blocks belong in user turns",
            ));
        }
        _ => {
            fields.insert("type".to_owned(), Value::String(kind));
            return Ok(Block::Kept(index, Value::Object(fields)));
        }
    };
    Ok(Block::Part(part))
}

/// A block that must be text (system prompt pieces).
fn text_only_block(block: Value, path: &str) -> Result<TextPart, ClientError> {
    let mut fields = object(Some(block), path)?;
    let kind = string(fields.remove("type"), &format!("{path}.type"))?;
    if kind != "text" {
        return Err(invalid_value(
            &format!("{path}.type"),
            format!("Input should be 'text', got '{kind}'"),
        ));
    }
    text_fields(fields, path)
}

/// A text block's `text`, its other fields (`cache_control`, `citations`) kept.
fn text_fields(mut fields: Object, path: &str) -> Result<TextPart, ClientError> {
    let text = string(fields.remove("text"), &format!("{path}.text"))?;
    Ok(TextPart {
        text,
        options: anthropic_options(fields),
    })
}

/// An `image` block: base64 or URL source.
fn image(mut fields: Object, path: &str) -> Result<FilePart, ClientError> {
    let source_path = format!("{path}.source");
    let mut source = object(fields.remove("source"), &source_path)?;
    let kind = string(source.remove("type"), &format!("{source_path}.type"))?;
    let (media_type, data) = match kind.as_str() {
        "base64" => base64_source(&mut source, &source_path)?,
        "url" => {
            let url = string(source.remove("url"), &format!("{source_path}.url"))?;
            (image_type_of_url(&url).to_owned(), FileData::Url(url))
        }
        other => return Err(unsupported_source(&source_path, other)),
    };
    Ok(FilePart {
        media_type,
        data,
        filename: None,
        options: anthropic_options(fields),
    })
}

/// A `document` block: a PDF (base64 or URL) becomes a file part; a plain-text or
/// content-block document becomes text, its title on the first line.
fn document(mut fields: Object, path: &str) -> Result<Part, ClientError> {
    let source_path = format!("{path}.source");
    let mut source = object(fields.remove("source"), &source_path)?;
    let kind = string(source.remove("type"), &format!("{source_path}.type"))?;
    let title = opt_string(fields.remove("title"), &format!("{path}.title"))?;
    let (media_type, data) = match kind.as_str() {
        "base64" => base64_source(&mut source, &source_path)?,
        "url" => {
            let url = string(source.remove("url"), &format!("{source_path}.url"))?;
            ("application/pdf".to_owned(), FileData::Url(url))
        }
        "text" | "content" => {
            let body = if kind == "text" {
                string(source.remove("data"), &format!("{source_path}.data"))?
            } else {
                document_content(source.remove("content"), &format!("{source_path}.content"))?
            };
            let text = match title {
                Some(title) => format!("{title}\n\n{body}"),
                None => body,
            };
            // Only cache_control is valid on the text block this becomes.
            let mut kept = Object::new();
            if let Some(cache) = fields.remove("cache_control") {
                kept.insert("cache_control".to_owned(), cache);
            }
            return Ok(Part::Text(TextPart {
                text,
                options: anthropic_options(kept),
            }));
        }
        other => return Err(unsupported_source(&source_path, other)),
    };
    Ok(Part::File(FilePart {
        media_type,
        data,
        filename: title,
        options: anthropic_options(fields),
    }))
}

/// A `content` document source: a string or text blocks, joined by blank lines.
fn document_content(value: Option<Value>, path: &str) -> Result<String, ClientError> {
    match value {
        Some(Value::String(text)) => Ok(text),
        Some(Value::Array(blocks)) => {
            let texts = blocks
                .into_iter()
                .enumerate()
                .map(|(index, block)| {
                    text_only_block(block, &format!("{path}.{index}")).map(|part| part.text)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(texts.join("\n\n"))
        }
        None | Some(Value::Null) => Err(missing(path)),
        Some(_) => Err(wrong_type(path, "a valid string or a list of text blocks")),
    }
}

/// `{"type":"base64","media_type","data"}`.
fn base64_source(source: &mut Object, path: &str) -> Result<(String, FileData), ClientError> {
    let media_type = string(source.remove("media_type"), &format!("{path}.media_type"))?;
    let data = string(source.remove("data"), &format!("{path}.data"))?;
    Ok((media_type, FileData::Base64(data)))
}

/// Files API references cannot be resolved by other upstreams, and this proxy does not
/// host files: the client is told to inline the bytes.
fn unsupported_source(path: &str, kind: &str) -> ClientError {
    let why = if kind == "file" {
        "Files API sources ('file') are not supported by this proxy; send the content as a 'base64' or 'url' source".to_owned()
    } else {
        format!("Input should be 'base64', 'url', 'text' or 'content', got '{kind}'")
    };
    invalid_value(&format!("{path}.type"), why)
}

/// The media type an image URL most likely has, from its extension; JPEG when unknown
/// (upstreams that need a type sniff the bytes anyway).
fn image_type_of_url(url: &str) -> &'static str {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    if path.ends_with(".png") {
        "image/png"
    } else if path.ends_with(".gif") {
        "image/gif"
    } else if path.ends_with(".webp") {
        "image/webp"
    } else {
        "image/jpeg"
    }
}

/// A `tool_result` block.
fn tool_result(
    mut fields: Object,
    path: &str,
    call_names: &HashMap<String, String>,
) -> Result<ToolResultPart, ClientError> {
    let call_id = string(fields.remove("tool_use_id"), &format!("{path}.tool_use_id"))?;
    let content_path = format!("{path}.content");
    let output = match fields.remove("content") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => vec![ToolOutput::Text(text)],
        Some(Value::Array(blocks)) => {
            let mut output = Vec::with_capacity(blocks.len());
            for (index, block) in blocks.into_iter().enumerate() {
                output.push(tool_output(block, &format!("{content_path}.{index}"))?);
            }
            output
        }
        Some(_) => {
            return Err(wrong_type(
                &content_path,
                "a valid string or a list of content blocks",
            ));
        }
    };
    let is_error =
        opt_bool(fields.remove("is_error"), &format!("{path}.is_error"))?.unwrap_or(false);
    Ok(ToolResultPart {
        name: call_names.get(&call_id).cloned(),
        call_id,
        output,
        is_error,
        options: anthropic_options(fields),
    })
}

/// One block of a tool result: text, image or document; any other block (search
/// results, tool references) is given to the model as its JSON text.
fn tool_output(block: Value, path: &str) -> Result<ToolOutput, ClientError> {
    let mut fields = object(Some(block), path)?;
    let kind = string(fields.remove("type"), &format!("{path}.type"))?;
    Ok(match kind.as_str() {
        "text" => ToolOutput::Text(text_fields(fields, path)?.text),
        "image" => ToolOutput::File(image(fields, path)?),
        "document" => match document(fields, path)? {
            Part::File(file) => ToolOutput::File(file),
            Part::Text(text) => ToolOutput::Text(text.text),
            _ => unreachable!("document() yields file or text parts"),
        },
        _ => {
            fields.insert("type".to_owned(), Value::String(kind));
            ToolOutput::Text(Value::Object(fields).to_string())
        }
    })
}

/// The `{"anthropic": {...}}` object of some options, for tests and callers that add
/// to it.
#[cfg(test)]
pub(super) fn anthropic_of(options: &Option<Value>) -> Option<&Object> {
    options.as_ref()?.get(super::fields::ANTHROPIC)?.as_object()
}
