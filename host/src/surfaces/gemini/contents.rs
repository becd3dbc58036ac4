//! `contents` and `systemInstruction` into IR messages.
//!
//! A Gemini `Content` is a role (`user` or `model`) and parts. Function responses ride
//! in `user` contents; the IR puts tool results in `tool` messages, so a user content
//! is split into runs: its function responses become a tool message, its other parts a
//! user message, in the order they came.
//!
//! Gemini call ids are optional: a call without one gets `call_<n>` (its position
//! among the request's calls), and a response without one answers the oldest
//! unanswered call of the same name, as Gemini itself pairs them.

use serde_json::Value;

use super::fields::{
    Object, gemini_options, invalid_value, missing, opt_array, opt_bool, opt_object, opt_string,
    string, take, wrong_type,
};
use crate::ir::{
    FileData, FilePart, Message, Part, ReasoningPart, Role, TextPart, ToolCallPart, ToolOutput,
    ToolResultPart,
};
use crate::surfaces::ClientError;
use crate::surfaces::opaque_reasoning;

/// Part fields whose presence says what a part is; a part with none of them is kept
/// whole in the message's options (`executableCode`, `codeExecutionResult`, ...).
const KNOWN_PAYLOADS: &[&str] = &[
    "text",
    "functionCall",
    "functionResponse",
    "inlineData",
    "fileData",
    "thoughtSignature",
];

/// Pairs calls with their responses when the client sent no ids.
#[derive(Debug, Default)]
struct CallIds {
    /// Calls seen so far (the next generated id's number).
    seen: usize,
    /// Calls not yet answered: (id, name), oldest first.
    pending: Vec<(String, String)>,
}

impl CallIds {
    fn call(&mut self, id: Option<String>, name: &str) -> String {
        let id = id.unwrap_or_else(|| format!("call_{}", self.seen));
        self.seen += 1;
        self.pending.push((id.clone(), name.to_owned()));
        id
    }

    fn response(&mut self, id: Option<String>, name: Option<&str>) -> String {
        let position = match &id {
            Some(id) => self.pending.iter().position(|(pending, _)| pending == id),
            None => self
                .pending
                .iter()
                .position(|(_, pending)| Some(pending.as_str()) == name),
        };
        let paired = position.map(|index| self.pending.remove(index).0);
        match (id, paired) {
            (Some(id), _) => id,
            (None, Some(paired)) => paired,
            // A response to a call we never saw: give it an id of its own.
            (None, None) => {
                self.seen += 1;
                format!("call_{}", self.seen - 1)
            }
        }
    }
}

/// What one part decodes to.
enum Decoded {
    /// A part of the message it is in.
    Part(Part),
    /// A function response: goes to a tool message.
    Result(ToolResultPart),
    /// A part the IR cannot express, kept verbatim.
    Unknown(Value),
}

/// `systemInstruction`: a `Content` (its role is ignored, as Gemini ignores it) or, as
/// some clients send it, a bare string.
pub(super) fn decode_system(value: Option<Value>) -> Result<Vec<TextPart>, ClientError> {
    const PATH: &str = "systemInstruction";
    let mut content = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(text)) => {
            return Ok(vec![TextPart {
                text,
                options: None,
            }]);
        }
        Some(Value::Object(content)) => content,
        Some(other) => return Err(wrong_type(PATH, "a Content object", &other)),
    };
    let parts =
        opt_array(take(&mut content, "parts"), "systemInstruction.parts")?.unwrap_or_default();
    let mut system = Vec::with_capacity(parts.len());
    for (index, part) in parts.into_iter().enumerate() {
        let path = format!("systemInstruction.parts[{index}]");
        let mut part = opt_object(Some(part), &path)?.unwrap_or_default();
        let text = opt_string(take(&mut part, "text"), &format!("{path}.text"))?;
        let Some(text) = text else {
            return Err(invalid_value(
                &path,
                "system instructions may only hold text parts",
            ));
        };
        system.push(TextPart {
            text,
            options: gemini_options(camel(part)),
        });
    }
    Ok(system)
}

/// `contents` into IR messages.
pub(super) fn decode_contents(items: Vec<Value>) -> Result<Vec<Message>, ClientError> {
    if items.is_empty() {
        return Err(missing("contents"));
    }
    let mut ids = CallIds::default();
    let mut messages = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let path = format!("contents[{index}]");
        let Some(mut content) = opt_object(Some(item), &path)? else {
            return Err(missing(&path));
        };
        let role = match opt_string(take(&mut content, "role"), &format!("{path}.role"))?.as_deref()
        {
            // Gemini treats a missing role as the user's; older clients said `function`.
            None | Some("") | Some("user") | Some("function") | Some("tool") => Role::User,
            Some("model") | Some("assistant") => Role::Assistant,
            Some(other) => {
                return Err(invalid_value(
                    &format!("{path}.role"),
                    format!("'{other}' is not a role; expected 'user' or 'model'"),
                ));
            }
        };
        let parts =
            opt_array(take(&mut content, "parts"), &format!("{path}.parts"))?.unwrap_or_default();
        if parts.is_empty() {
            return Err(invalid_value(
                &format!("{path}.parts"),
                "contents.parts must not be empty",
            ));
        }
        decode_content(role, parts, &path, content, &mut ids, &mut messages)?;
    }
    Ok(messages)
}

/// One content: its parts in runs of tool results and everything else.
fn decode_content(
    role: Role,
    parts: Vec<Value>,
    path: &str,
    extras: Object,
    ids: &mut CallIds,
    messages: &mut Vec<Message>,
) -> Result<(), ClientError> {
    let mut run: Vec<Part> = Vec::new();
    let mut results: Vec<Part> = Vec::new();
    let mut unknown: Vec<Value> = Vec::new();
    let mut extras = camel(extras);
    for (index, part) in parts.into_iter().enumerate() {
        match decode_part(part, &format!("{path}.parts[{index}]"), ids)? {
            Decoded::Part(part) => {
                if !results.is_empty() {
                    messages.push(message(
                        Role::Tool,
                        std::mem::take(&mut results),
                        Object::new(),
                    ));
                }
                run.push(part);
            }
            Decoded::Result(result) => {
                if !run.is_empty() {
                    messages.push(message(
                        role,
                        std::mem::take(&mut run),
                        std::mem::take(&mut extras),
                    ));
                }
                results.push(Part::ToolResult(result));
            }
            Decoded::Unknown(part) => {
                unknown.push(serde_json::json!({"index": index, "part": part}));
            }
        }
    }
    if !unknown.is_empty() {
        extras.insert("unknownParts".into(), Value::Array(unknown));
    }
    if !results.is_empty() {
        // A content of function responses keeps its own extras on the tool message.
        messages.push(message(Role::Tool, results, extras));
    } else if !run.is_empty() || !extras.is_empty() {
        messages.push(message(role, run, extras));
    }
    Ok(())
}

fn message(role: Role, parts: Vec<Part>, extras: Object) -> Message {
    Message {
        role,
        parts,
        options: gemini_options(extras),
    }
}

/// One part.
fn decode_part(value: Value, path: &str, ids: &mut CallIds) -> Result<Decoded, ClientError> {
    let Some(mut part) = opt_object(Some(value), path)? else {
        return Err(missing(path));
    };
    if !KNOWN_PAYLOADS.iter().any(|field| has(&part, field)) {
        return Ok(Decoded::Unknown(Value::Object(camel(part))));
    }
    let text = opt_string(take(&mut part, "text"), &format!("{path}.text"))?;
    let thought =
        opt_bool(take(&mut part, "thought"), &format!("{path}.thought"))?.unwrap_or(false);
    let signature = opt_string(
        take(&mut part, "thoughtSignature"),
        &format!("{path}.thoughtSignature"),
    )?;
    let function_call = opt_object(
        take(&mut part, "functionCall"),
        &format!("{path}.functionCall"),
    )?;
    let function_response = opt_object(
        take(&mut part, "functionResponse"),
        &format!("{path}.functionResponse"),
    )?;
    let inline_data = opt_object(take(&mut part, "inlineData"), &format!("{path}.inlineData"))?;
    let file_data = opt_object(take(&mut part, "fileData"), &format!("{path}.fileData"))?;

    // What the IR has no field for stays on the part: videoMetadata, mediaResolution,
    // partMetadata, and the thought signature of anything that is not a thought.
    let mut extras = camel(part);
    if thought && text.is_none() && signature.is_none() {
        extras.insert("thought".into(), Value::Bool(true));
    }
    let keep_signature = |extras: &mut Object, signature: Option<String>| {
        if let Some(signature) = signature {
            extras.insert("thoughtSignature".into(), Value::String(signature));
        }
    };

    if let Some(call) = function_call {
        keep_signature(&mut extras, signature);
        return Ok(Decoded::Part(Part::ToolCall(decode_call(
            call, path, extras, ids,
        )?)));
    }
    if let Some(response) = function_response {
        keep_signature(&mut extras, signature);
        return Ok(Decoded::Result(decode_response(
            response, path, extras, ids,
        )?));
    }
    if let Some(blob) = inline_data {
        keep_signature(&mut extras, signature);
        return Ok(Decoded::Part(Part::File(decode_blob(
            blob,
            &format!("{path}.inlineData"),
            extras,
        )?)));
    }
    if let Some(file) = file_data {
        keep_signature(&mut extras, signature);
        return Ok(Decoded::Part(Part::File(decode_file(
            file,
            &format!("{path}.fileData"),
            extras,
        )?)));
    }
    let text = text.unwrap_or_default();
    if thought {
        let (signature, redacted) = opaque_reasoning::from_signature(signature);
        return Ok(Decoded::Part(Part::Reasoning(ReasoningPart {
            text,
            signature,
            redacted,
            options: gemini_options(extras),
        })));
    }
    keep_signature(&mut extras, signature);
    Ok(Decoded::Part(Part::Text(TextPart {
        text,
        options: gemini_options(extras),
    })))
}

/// `functionCall {id?, name, args}`.
fn decode_call(
    mut call: Object,
    path: &str,
    mut extras: Object,
    ids: &mut CallIds,
) -> Result<ToolCallPart, ClientError> {
    let path = format!("{path}.functionCall");
    let id = opt_string(take(&mut call, "id"), &format!("{path}.id"))?.filter(|id| !id.is_empty());
    let name = string(take(&mut call, "name"), &format!("{path}.name"))?;
    let arguments = match take(&mut call, "args") {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(args @ Value::Object(_)) => args.to_string(),
        Some(other) => return Err(wrong_type(&format!("{path}.args"), "an object", &other)),
    };
    if !call.is_empty() {
        extras.insert("functionCall".into(), Value::Object(camel(call)));
    }
    Ok(ToolCallPart {
        id: ids.call(id, &name),
        name,
        arguments,
        options: gemini_options(extras),
    })
}

/// `functionResponse {id?, name, response, parts?}`; a response holding only `error`
/// reports a failed tool, as Gemini's docs suggest clients send one.
fn decode_response(
    mut response: Object,
    path: &str,
    mut extras: Object,
    ids: &mut CallIds,
) -> Result<ToolResultPart, ClientError> {
    let path = format!("{path}.functionResponse");
    let id =
        opt_string(take(&mut response, "id"), &format!("{path}.id"))?.filter(|id| !id.is_empty());
    let name = opt_string(take(&mut response, "name"), &format!("{path}.name"))?;
    let body = match take(&mut response, "response") {
        None | Some(Value::Null) => Value::Object(Object::new()),
        Some(body @ Value::Object(_)) => body,
        Some(other) => return Err(wrong_type(&format!("{path}.response"), "an object", &other)),
    };
    let is_error = body.get("error").is_some_and(|e| !e.is_null())
        && body.get("output").is_none()
        && body.get("result").is_none();
    let mut output = vec![ToolOutput::Text(body.to_string())];
    let parts =
        opt_array(take(&mut response, "parts"), &format!("{path}.parts"))?.unwrap_or_default();
    for (index, part) in parts.into_iter().enumerate() {
        let part_path = format!("{path}.parts[{index}]");
        let Some(mut part) = opt_object(Some(part), &part_path)? else {
            continue;
        };
        if let Some(blob) = opt_object(
            take(&mut part, "inlineData"),
            &format!("{part_path}.inlineData"),
        )? {
            output.push(ToolOutput::File(decode_blob(
                blob,
                &format!("{part_path}.inlineData"),
                camel(part),
            )?));
        } else if let Some(file) = opt_object(
            take(&mut part, "fileData"),
            &format!("{part_path}.fileData"),
        )? {
            output.push(ToolOutput::File(decode_file(
                file,
                &format!("{part_path}.fileData"),
                camel(part),
            )?));
        } else {
            return Err(invalid_value(
                &part_path,
                "function response parts hold inlineData or fileData",
            ));
        }
    }
    if !response.is_empty() {
        extras.insert("functionResponse".into(), Value::Object(camel(response)));
    }
    Ok(ToolResultPart {
        call_id: ids.response(id, name.as_deref()),
        name,
        output,
        is_error,
        options: gemini_options(extras),
    })
}

/// `inlineData {mimeType, data, displayName?}`: base64 bytes.
fn decode_blob(mut blob: Object, path: &str, mut extras: Object) -> Result<FilePart, ClientError> {
    let media_type = string(take(&mut blob, "mimeType"), &format!("{path}.mimeType"))?;
    let data = string(take(&mut blob, "data"), &format!("{path}.data"))?;
    let filename = opt_string(
        take(&mut blob, "displayName"),
        &format!("{path}.displayName"),
    )?;
    if !blob.is_empty() {
        extras.insert("inlineData".into(), Value::Object(camel(blob)));
    }
    Ok(FilePart {
        media_type,
        data: FileData::Base64(data),
        filename,
        options: gemini_options(extras),
    })
}

/// `fileData {mimeType?, fileUri, displayName?}`: a URL the upstream fetches.
fn decode_file(mut file: Object, path: &str, mut extras: Object) -> Result<FilePart, ClientError> {
    let uri = string(take(&mut file, "fileUri"), &format!("{path}.fileUri"))?;
    let media_type = opt_string(take(&mut file, "mimeType"), &format!("{path}.mimeType"))?
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let filename = opt_string(
        take(&mut file, "displayName"),
        &format!("{path}.displayName"),
    )?;
    if !file.is_empty() {
        extras.insert("fileData".into(), Value::Object(camel(file)));
    }
    Ok(FilePart {
        media_type,
        data: FileData::Url(uri),
        filename,
        options: gemini_options(extras),
    })
}

/// Whether `object` has the field `camel` in either spelling.
fn has(object: &Object, camel: &str) -> bool {
    object.contains_key(camel) || object.contains_key(&super::fields::snake_case(camel))
}

/// Leftovers with camelCase keys, nulls dropped.
fn camel(mut object: Object) -> Object {
    object.retain(|_, value| !value.is_null());
    super::fields::camel_keys(object)
}
