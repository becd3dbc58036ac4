//! `messages[]` of a Chat Completions request, into IR system blocks and messages.
//!
//! Leading `system`/`developer` messages become `request.system` (every provider has a
//! slot for a system prompt); later ones stay in place as `Role::System` messages, for
//! the adapter to place as its provider allows. A `developer` origin is remembered in
//! options (`{"openai":{"role":"developer"}}`) so an OpenAI upstream gets it back.

use serde_json::Value;

use super::fields::{
    Object, invalid_value, missing, object, openai_options, opt_array, opt_string, string,
    wrong_type,
};
use crate::ir::{
    FileData, FilePart, Message, Part, ReasoningPart, Role, TextPart, ToolCallPart, ToolOutput,
    ToolResultPart,
};
use crate::surfaces::ClientError;

/// The conversation, split the way the IR wants it.
#[derive(Debug, Default)]
pub(super) struct Conversation {
    /// Leading system and developer messages, one block per text part.
    pub system: Vec<TextPart>,
    /// Everything else, in order.
    pub messages: Vec<Message>,
}

/// Decodes `messages`. Tool results learn their tool's name from the assistant call they
/// answer, because some providers (Gemini) need it and OpenAI's tool message lacks it.
pub(super) fn decode_messages(items: Vec<Value>) -> Result<Conversation, ClientError> {
    let mut conversation = Conversation::default();
    let mut call_names: Vec<(String, String)> = Vec::new();
    let mut leading = true;
    for (index, item) in items.into_iter().enumerate() {
        let path = format!("messages[{index}]");
        let mut fields = object(Some(item), &path)?;
        let role = string(fields.remove("role"), &format!("{path}.role"))?;
        let content = fields.remove("content");
        let message = match role.as_str() {
            "system" | "developer" => {
                let parts = content_parts(content, &format!("{path}.content"), true)?;
                if role == "developer" {
                    fields.insert("role".to_owned(), Value::String(role));
                }
                if leading {
                    let extras = without_nulls(fields);
                    conversation
                        .system
                        .extend(parts.into_iter().map(|part| match part {
                            Part::Text(mut text) => {
                                text.options = merged(text.options, &extras);
                                text
                            }
                            _ => unreachable!("content_parts(text_only) yields text"),
                        }));
                    continue;
                }
                Message {
                    role: Role::System,
                    parts,
                    options: None,
                }
            }
            "user" => {
                let content = content.ok_or_else(|| missing(&format!("{path}.content")))?;
                let parts = content_parts(Some(content), &format!("{path}.content"), false)?;
                Message {
                    role: Role::User,
                    parts,
                    options: None,
                }
            }
            "assistant" => assistant(&mut fields, content, &path, &mut call_names)?,
            "tool" => tool_result(&mut fields, content, &path, &call_names)?,
            other => {
                return Err(invalid_value(
                    &format!("{path}.role"),
                    format!(
                        "unsupported role '{other}'; expected one of system, developer, user, assistant or tool"
                    ),
                ));
            }
        };
        leading = false;
        let options = openai_options(without_nulls(fields));
        conversation.messages.push(Message { options, ..message });
    }
    Ok(conversation)
}

/// An assistant turn: reasoning (DeepSeek's `reasoning_content`) first, then content,
/// then tool calls, which is the order the model produced them in.
fn assistant(
    fields: &mut Object,
    content: Option<Value>,
    path: &str,
    call_names: &mut Vec<(String, String)>,
) -> Result<Message, ClientError> {
    let mut parts = Vec::new();
    if let Some(text) = opt_string(
        fields.remove("reasoning_content"),
        &format!("{path}.reasoning_content"),
    )? && !text.is_empty()
    {
        parts.push(Part::Reasoning(ReasoningPart {
            text,
            ..Default::default()
        }));
    }
    parts.extend(content_parts(content, &format!("{path}.content"), false)?);
    let calls =
        opt_array(fields.remove("tool_calls"), &format!("{path}.tool_calls"))?.unwrap_or_default();
    for (index, call) in calls.into_iter().enumerate() {
        let call = tool_call(call, &format!("{path}.tool_calls[{index}]"))?;
        call_names.push((call.id.clone(), call.name.clone()));
        parts.push(Part::ToolCall(call));
    }
    Ok(Message {
        role: Role::Assistant,
        parts,
        options: None,
    })
}

/// One `tool_calls[]` entry: `{id, type: "function", function: {name, arguments}}`.
fn tool_call(value: Value, path: &str) -> Result<ToolCallPart, ClientError> {
    let mut fields = object(Some(value), path)?;
    let id = string(fields.remove("id"), &format!("{path}.id"))?;
    if let Some(kind) = opt_string(fields.remove("type"), &format!("{path}.type"))?
        && kind != "function"
    {
        return Err(invalid_value(
            &format!("{path}.type"),
            format!("unsupported tool call type '{kind}'; only 'function' is supported"),
        ));
    }
    let mut function = object(fields.remove("function"), &format!("{path}.function"))?;
    let name = string(function.remove("name"), &format!("{path}.function.name"))?;
    // Arguments are a JSON string on the wire; some clients send the object itself.
    let arguments = match function.remove("arguments") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        Some(object @ Value::Object(_)) => object.to_string(),
        Some(other) => {
            return Err(wrong_type(
                &format!("{path}.function.arguments"),
                "a string",
                &other,
            ));
        }
    };
    let arguments = if arguments.trim().is_empty() {
        "{}".to_owned()
    } else {
        arguments
    };
    fields.extend(function);
    Ok(ToolCallPart {
        id,
        name,
        arguments,
        options: openai_options(without_nulls(fields)),
    })
}

/// A `tool` message: one tool result answering `tool_call_id`.
fn tool_result(
    fields: &mut Object,
    content: Option<Value>,
    path: &str,
    call_names: &[(String, String)],
) -> Result<Message, ClientError> {
    let call_id = string(
        fields.remove("tool_call_id"),
        &format!("{path}.tool_call_id"),
    )?;
    let content_path = format!("{path}.content");
    let content = content.ok_or_else(|| missing(&content_path))?;
    let output = content_parts(Some(content), &content_path, false)?
        .into_iter()
        .map(|part| match part {
            Part::Text(text) => Ok(ToolOutput::Text(text.text)),
            Part::File(file) => Ok(ToolOutput::File(file)),
            _ => Err(invalid_value(
                &content_path,
                "a tool result holds only text or files",
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let name = match opt_string(fields.remove("name"), &format!("{path}.name"))? {
        Some(name) => Some(name),
        None => call_names
            .iter()
            .rev()
            .find(|(id, _)| *id == call_id)
            .map(|(_, name)| name.clone()),
    };
    let result = ToolResultPart {
        call_id,
        name,
        output,
        is_error: false,
        options: None,
    };
    Ok(Message {
        role: Role::Tool,
        parts: vec![Part::ToolResult(result)],
        options: None,
    })
}

/// `content`: a string, or an array of typed parts. An empty string yields no part
/// (assistant tool turns send `content: ""`).
fn content_parts(
    value: Option<Value>,
    path: &str,
    text_only: bool,
) -> Result<Vec<Part>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(text)) if text.is_empty() => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(vec![Part::Text(TextPart {
            text,
            options: None,
        })]),
        Some(Value::Array(items)) => {
            let mut parts = Vec::with_capacity(items.len());
            for (index, item) in items.into_iter().enumerate() {
                let part = content_part(item, &format!("{path}[{index}]"))?;
                if text_only && !matches!(part, Part::Text(_)) {
                    return Err(invalid_value(
                        &format!("{path}[{index}]"),
                        "only text parts are allowed here",
                    ));
                }
                parts.push(part);
            }
            Ok(parts)
        }
        Some(other) => Err(wrong_type(
            path,
            "a string or an array of content parts",
            &other,
        )),
    }
}

/// One typed content part. Fields we have no slot for stay in the part's options.
fn content_part(value: Value, path: &str) -> Result<Part, ClientError> {
    let mut fields = object(Some(value), path)?;
    let kind = string(fields.remove("type"), &format!("{path}.type"))?;
    let part = match kind.as_str() {
        "text" => {
            let text = string(fields.remove("text"), &format!("{path}.text"))?;
            Part::Text(TextPart {
                text,
                options: None,
            })
        }
        "refusal" => {
            let text = string(fields.remove("refusal"), &format!("{path}.refusal"))?;
            fields.insert("type".to_owned(), Value::String(kind));
            Part::Text(TextPart {
                text,
                options: None,
            })
        }
        "image_url" => Part::File(image(fields.remove("image_url"), &mut fields, path)?),
        "input_audio" => Part::File(audio(fields.remove("input_audio"), path)?),
        "file" => Part::File(file(fields.remove("file"), &mut fields, path)?),
        other => {
            return Err(invalid_value(
                &format!("{path}.type"),
                format!(
                    "unsupported content part type '{other}'; expected text, image_url, input_audio, file or refusal"
                ),
            ));
        }
    };
    let extras = without_nulls(fields);
    Ok(match part {
        Part::Text(text) => Part::Text(TextPart {
            options: openai_options(extras),
            ..text
        }),
        Part::File(file) => Part::File(FilePart {
            options: merged(file.options, &extras),
            ..file
        }),
        other => other,
    })
}

/// `image_url`: `{url, detail}` (or a bare URL string, which some clients send). `detail`
/// rides in options; the media type comes from the data URL or the path's extension.
fn image(value: Option<Value>, extras: &mut Object, path: &str) -> Result<FilePart, ClientError> {
    let path = format!("{path}.image_url");
    let url = match value {
        Some(Value::String(url)) => url,
        other => {
            let mut fields = object(other, &path)?;
            let url = string(fields.remove("url"), &format!("{path}.url"))?;
            extras.extend(fields);
            url
        }
    };
    if url.starts_with("data:") {
        let (media_type, data) = data_url(&url).ok_or_else(|| {
            invalid_value(
                &format!("{path}.url"),
                "a data URL must look like data:<media type>;base64,<data>",
            )
        })?;
        return Ok(file_part(
            media_type.to_owned(),
            FileData::Base64(data.to_owned()),
            None,
        ));
    }
    let media_type = media_type_from_name(&url)
        .filter(|m| m.starts_with("image/"))
        .unwrap_or("image/*");
    Ok(file_part(media_type.to_owned(), FileData::Url(url), None))
}

/// `input_audio`: `{data: base64, format: "wav" | "mp3"}`.
fn audio(value: Option<Value>, path: &str) -> Result<FilePart, ClientError> {
    let path = format!("{path}.input_audio");
    let mut fields = object(value, &path)?;
    let data = string(fields.remove("data"), &format!("{path}.data"))?;
    let format = string(fields.remove("format"), &format!("{path}.format"))?;
    let media_type = match format.as_str() {
        "mp3" => "audio/mpeg".to_owned(),
        other => format!("audio/{other}"),
    };
    Ok(file_part(media_type, FileData::Base64(data), None))
}

/// `file`: `{file_data, filename}`. Uploaded-file references (`file_id`) live in one
/// OpenAI account and cannot follow a request to another provider, so they are refused.
fn file(value: Option<Value>, extras: &mut Object, path: &str) -> Result<FilePart, ClientError> {
    let path = format!("{path}.file");
    let mut fields = object(value, &path)?;
    let filename = opt_string(fields.remove("filename"), &format!("{path}.filename"))?;
    let Some(file_data) = opt_string(fields.remove("file_data"), &format!("{path}.file_data"))?
    else {
        let why = if fields.contains_key("file_id") {
            "file_id references are not supported by this proxy; send the content inline as file_data"
        } else {
            "file_data is required"
        };
        return Err(invalid_value(&path, why));
    };
    extras.extend(fields);
    let (media_type, data) = match data_url(&file_data) {
        Some((media_type, data)) => (media_type.to_owned(), data.to_owned()),
        None if file_data.starts_with("data:") => {
            return Err(invalid_value(
                &format!("{path}.file_data"),
                "a data URL must look like data:<media type>;base64,<data>",
            ));
        }
        None => {
            let guessed = filename.as_deref().and_then(media_type_from_name);
            (
                guessed.unwrap_or("application/octet-stream").to_owned(),
                file_data,
            )
        }
    };
    Ok(file_part(media_type, FileData::Base64(data), filename))
}

fn file_part(media_type: String, data: FileData, filename: Option<String>) -> FilePart {
    FilePart {
        media_type,
        data,
        filename,
        options: None,
    }
}

/// Splits `data:<media type>[;params];base64,<data>` into media type and data.
fn data_url(url: &str) -> Option<(&str, &str)> {
    let (header, data) = url.strip_prefix("data:")?.split_once(',')?;
    let header = header.strip_suffix(";base64")?;
    let media_type = header.split(';').next().unwrap_or_default();
    (!media_type.is_empty()).then_some((media_type, data))
}

/// A media type from a URL's or file name's extension, ignoring query and fragment.
fn media_type_from_name(name: &str) -> Option<&'static str> {
    let name = name.split(['?', '#']).next().unwrap_or(name);
    let extension = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "json" => "application/json",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        _ => return None,
    })
}

/// Fields left over once decoded, minus explicit nulls (which carry nothing: SDKs echo
/// `refusal: null, audio: null` back on every assistant turn).
fn without_nulls(mut fields: Object) -> Object {
    fields.retain(|_, value| !value.is_null());
    fields
}

/// Adds `extras` into `options.openai`, creating it if needed.
fn merged(options: Option<Value>, extras: &Object) -> Option<Value> {
    if extras.is_empty() {
        return options;
    }
    let mut options = options.unwrap_or_else(|| Value::Object(Object::new()));
    if let Some(map) = options.as_object_mut() {
        let openai = map
            .entry("openai")
            .or_insert_with(|| Value::Object(Object::new()));
        if let Some(openai) = openai.as_object_mut() {
            openai.extend(extras.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    Some(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_split_into_media_type_and_base64() {
        assert_eq!(
            data_url("data:image/png;base64,iVBORw0"),
            Some(("image/png", "iVBORw0"))
        );
        assert_eq!(
            data_url("data:text/plain;charset=utf-8;base64,aGk="),
            Some(("text/plain", "aGk="))
        );
        assert_eq!(
            data_url("data:image/png,rawbytes"),
            None,
            "only base64 data URLs carry bytes we can pass on"
        );
        assert_eq!(data_url("data:;base64,AAAA"), None);
    }

    #[test]
    fn media_types_come_from_the_extension_before_any_query() {
        assert_eq!(
            media_type_from_name("https://x.test/cat.JPG?size=2#top"),
            Some("image/jpeg")
        );
        assert_eq!(media_type_from_name("report.pdf"), Some("application/pdf"));
        assert_eq!(media_type_from_name("https://x.test/image"), None);
    }
}
