//! IR request to a Responses API body (`POST /responses`).
//!
//! Provider-keyed extras read here:
//! - request `options.openai` (fields Chat Completions shares: `store`, `metadata`,
//!   `prompt_cache_key`, `service_tier`, `user`, `safety_identifier`...): set on the
//!   body as given, last, so they win;
//! - request `options["openai-responses"]` (Responses-only fields the Responses
//!   surface kept: `include`, `truncation`, `reasoning.summary`, `text.verbosity`,
//!   hosted `tools`, unknown fields): objects (`reasoning`, `text`) are merged into ours,
//!   `tools` appended, `include` joined, anything else set as given;
//! - tool `options.openai`: `type: "custom"` (a free-form custom tool, with `format`),
//!   `strict`;
//! - tool-call and tool-result `options.openai.type == "custom"`: `custom_tool_call`
//!   and `custom_tool_call_output` items (arguments `{"input": ...}` carry the input);
//! - reasoning part `options.openai`: marks reasoning that came from OpenAI, whose
//!   `redacted` payload goes back as `encrypted_content`.

use std::collections::HashSet;

use plugboard_sdk::json::{f32_as_written, parse_ir_json, provider_options};
use plugboard_sdk::prelude::*;
use serde_json::Map;

use crate::{ID, OPENAI};

/// Encode `request` for upstream model `model`.
pub fn encode_body(request: &ChatRequest, model: &str) -> Result<Value, AdapterError> {
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    if let Some(instructions) = request.system_text() {
        body.insert("instructions".into(), json!(instructions));
    }
    body.insert(
        "input".into(),
        Value::Array(encode_input(&request.messages)?),
    );
    if !request.tools.is_empty() {
        let tools = request
            .tools
            .iter()
            .map(encode_tool)
            .collect::<Result<Vec<_>, _>>()?;
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = &request.tool_choice {
        body.insert(
            "tool_choice".into(),
            encode_tool_choice(choice, &request.tools),
        );
    }
    encode_params(&request.params, &mut body)?;
    // Stateless: nothing is kept at OpenAI, so reasoning must travel encrypted.
    body.insert("store".into(), json!(false));
    if request.stream {
        body.insert("stream".into(), json!(true));
    }
    if let Some(extras) = provider_options(&request.options, ID) {
        splice_responses_extras(&mut body, extras);
    }
    // `options.openai` is shared with Chat Completions clients: only the fields the
    // Responses API also takes go in; a Chat-only field (`logit_bias`, `top_k`...)
    // would get the whole request refused.
    if let Some(extras) = provider_options(&request.options, OPENAI) {
        body.extend(
            extras
                .into_iter()
                .filter(|(key, _)| SHARED_WITH_CHAT.contains(&key.as_str())),
        );
    }
    Ok(Value::Object(body))
}

/// Top-level fields of `options.openai` the Responses API accepts as Chat clients send them.
const SHARED_WITH_CHAT: &[&str] = &[
    "metadata",
    "prompt_cache_key",
    "prompt_cache_retention",
    "safety_identifier",
    "service_tier",
    "store",
    "top_logprobs",
    "user",
];

fn splice_responses_extras(body: &mut Map<String, Value>, extras: Map<String, Value>) {
    for (key, value) in extras {
        match (key.as_str(), body.get_mut(&key), value) {
            ("reasoning" | "text", Some(Value::Object(mine)), Value::Object(theirs)) => {
                mine.extend(theirs);
            }
            ("tools" | "include", Some(Value::Array(mine)), Value::Array(theirs)) => {
                for item in theirs {
                    if !mine.contains(&item) {
                        mine.push(item);
                    }
                }
            }
            (_, _, value) => {
                body.insert(key, value);
            }
        }
    }
}

fn is_custom(options: &Option<Json>) -> bool {
    provider_options(options, OPENAI)
        .is_some_and(|openai| openai.get("type").and_then(Value::as_str) == Some("custom"))
}

fn encode_input(messages: &[Message]) -> Result<Vec<Value>, AdapterError> {
    let mut items = Vec::new();
    let mut custom_calls: HashSet<&str> = HashSet::new();
    for message in messages {
        match message.role {
            Role::System => items.push(json!({
                "type": "message",
                "role": "system",
                "content": [{"type": "input_text", "text": message.joined_text()}],
            })),
            Role::Assistant => encode_assistant(message, &mut custom_calls, &mut items),
            Role::User | Role::Tool => encode_user(message, &custom_calls, &mut items)?,
        }
    }
    Ok(items)
}

/// Assistant parts in order: reasoning items, output text grouped into message items,
/// and call items.
fn encode_assistant<'a>(
    message: &'a Message,
    custom_calls: &mut HashSet<&'a str>,
    items: &mut Vec<Value>,
) {
    let mut text = Vec::new();
    let flush = |text: &mut Vec<Value>, items: &mut Vec<Value>| {
        if !text.is_empty() {
            items.push(json!({
                "type": "message",
                "role": "assistant",
                "content": std::mem::take(text),
            }));
        }
    };
    for part in &message.parts {
        match part {
            Part::Text(part) if !part.text.is_empty() => {
                text.push(json!({"type": "output_text", "text": part.text}));
            }
            Part::Reasoning(reasoning) => {
                if let Some(encrypted) = reasoning
                    .redacted
                    .as_ref()
                    .filter(|payload| from_openai(reasoning, payload))
                {
                    flush(&mut text, items);
                    let summary: Vec<Value> = if reasoning.text.is_empty() {
                        Vec::new()
                    } else {
                        vec![json!({"type": "summary_text", "text": reasoning.text})]
                    };
                    items.push(json!({
                        "type": "reasoning",
                        "summary": summary,
                        "encrypted_content": encrypted,
                    }));
                }
            }
            Part::ToolCall(call) => {
                flush(&mut text, items);
                if is_custom(&call.options) {
                    custom_calls.insert(&call.id);
                    let input = serde_json::from_str::<Value>(&call.arguments)
                        .ok()
                        .and_then(|args| {
                            args.get("input")
                                .and_then(Value::as_str)
                                .map(str::to_string)
                        })
                        .unwrap_or_default();
                    items.push(json!({
                        "type": "custom_tool_call",
                        "call_id": call.id,
                        "name": call.name,
                        "input": input,
                    }));
                } else {
                    items.push(json!({
                        "type": "function_call",
                        "call_id": call.id,
                        "name": call.name,
                        "arguments": call.arguments,
                    }));
                }
            }
            _ => {}
        }
    }
    flush(&mut text, items);
}

/// Encrypted reasoning is only worth sending to OpenAI when OpenAI made it: the part
/// says so in `options.openai`, or the payload has the shape OpenAI's has (a Fernet
/// token, `gAAAAA...`). Another provider's redacted reasoning would be refused.
fn from_openai(reasoning: &ReasoningPart, payload: &str) -> bool {
    provider_options(&reasoning.options, OPENAI).is_some() || payload.starts_with("gAAAAA")
}

/// Tool results become output items ahead of the turn's own content (they answer the
/// calls just before); text and files become one user message item.
fn encode_user(
    message: &Message,
    custom_calls: &HashSet<&str>,
    items: &mut Vec<Value>,
) -> Result<(), AdapterError> {
    let mut content = Vec::new();
    for part in &message.parts {
        match part {
            Part::Text(text) if !text.text.is_empty() => {
                content.push(json!({"type": "input_text", "text": text.text}));
            }
            Part::File(file) => content.push(encode_file(file)?),
            Part::ToolResult(result) => {
                let custom =
                    is_custom(&result.options) || custom_calls.contains(result.call_id.as_str());
                let kind = if custom {
                    "custom_tool_call_output"
                } else {
                    "function_call_output"
                };
                items.push(json!({
                    "type": kind,
                    "call_id": result.call_id,
                    "output": encode_tool_output(&result.output)?,
                }));
            }
            _ => {}
        }
    }
    if !content.is_empty() {
        items.push(json!({"type": "message", "role": "user", "content": content}));
    }
    Ok(())
}

/// A string for text-only output; a list of input parts when the tool returned files.
fn encode_tool_output(output: &[ToolOutput]) -> Result<Value, AdapterError> {
    if output
        .iter()
        .all(|piece| matches!(piece, ToolOutput::Text(_)))
    {
        let text: String = output
            .iter()
            .filter_map(|piece| match piece {
                ToolOutput::Text(text) => Some(text.as_str()),
                ToolOutput::File(_) => None,
            })
            .collect();
        return Ok(json!(text));
    }
    output
        .iter()
        .map(|piece| match piece {
            ToolOutput::Text(text) => Ok(json!({"type": "input_text", "text": text})),
            ToolOutput::File(file) => encode_file(file),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

fn encode_file(file: &FilePart) -> Result<Value, AdapterError> {
    let url = match &file.data {
        FileData::Url(url) => url.clone(),
        FileData::Base64(data) => format!("data:{};base64,{data}", file.media_type),
    };
    if file.media_type.starts_with("image/") {
        let detail = provider_options(&file.options, OPENAI)
            .and_then(|options| options.get("detail").cloned())
            .unwrap_or_else(|| json!("auto"));
        return Ok(json!({"type": "input_image", "image_url": url, "detail": detail}));
    }
    let mut out = Map::new();
    out.insert("type".into(), json!("input_file"));
    match &file.data {
        FileData::Base64(_) => out.insert("file_data".into(), json!(url)),
        FileData::Url(_) => out.insert("file_url".into(), json!(url)),
    };
    if let Some(name) = &file.filename {
        out.insert("filename".into(), json!(name));
    }
    Ok(Value::Object(out))
}

fn encode_tool(tool: &Tool) -> Result<Value, AdapterError> {
    let openai = provider_options(&tool.options, OPENAI).unwrap_or_default();
    let mut out = Map::new();
    if openai.get("type").and_then(Value::as_str) == Some("custom") {
        out.insert("type".into(), json!("custom"));
        out.insert("name".into(), json!(tool.name));
        if let Some(description) = &tool.description {
            out.insert("description".into(), json!(description));
        }
        if let Some(format) = openai.get("format") {
            out.insert("format".into(), format.clone());
        }
        return Ok(Value::Object(out));
    }
    out.insert("type".into(), json!("function"));
    out.insert("name".into(), json!(tool.name));
    if let Some(description) = &tool.description {
        out.insert("description".into(), json!(description));
    }
    out.insert(
        "parameters".into(),
        parse_ir_json(&tool.input_schema, "a tool's input schema")?,
    );
    // Responses makes functions strict unless told otherwise, and strict mode refuses
    // most schemas clients write; the client's own `strict` wins when it sent one.
    out.insert(
        "strict".into(),
        openai.get("strict").cloned().unwrap_or(json!(false)),
    );
    Ok(Value::Object(out))
}

fn encode_tool_choice(choice: &ToolChoice, tools: &[Tool]) -> Value {
    match choice {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Tool(name) => {
            let custom = tools
                .iter()
                .any(|tool| &tool.name == name && is_custom(&tool.options));
            let kind = if custom { "custom" } else { "function" };
            json!({"type": kind, "name": name})
        }
    }
}

fn encode_params(
    params: &GenerationParams,
    body: &mut Map<String, Value>,
) -> Result<(), AdapterError> {
    if let Some(max) = params.max_tokens {
        body.insert("max_output_tokens".into(), json!(max));
    }
    if let Some(temperature) = params.temperature {
        body.insert("temperature".into(), f32_as_written(temperature));
    }
    if let Some(top_p) = params.top_p {
        body.insert("top_p".into(), f32_as_written(top_p));
    }
    // `stop`, `seed`, `top_k` and the penalties have no Responses field: dropped.
    if let Some(parallel) = params.parallel_tool_calls {
        body.insert("parallel_tool_calls".into(), json!(parallel));
    }
    if let Some(effort) = params
        .reasoning
        .as_ref()
        .and_then(ReasoningConfig::effort_level)
    {
        body.insert(
            "reasoning".into(),
            json!({"effort": effort, "summary": "auto"}),
        );
        body.insert("include".into(), json!(["reasoning.encrypted_content"]));
    }
    let format = match &params.response_format {
        None | Some(ResponseFormat::Text) => None,
        Some(ResponseFormat::JsonObject) => Some(json!({"type": "json_object"})),
        Some(ResponseFormat::JsonSchema(format)) => {
            let mut out = Map::new();
            out.insert("type".into(), json!("json_schema"));
            out.insert("name".into(), json!(format.name));
            if let Some(description) = &format.description {
                out.insert("description".into(), json!(description));
            }
            out.insert(
                "schema".into(),
                parse_ir_json(&format.schema, "the response format schema")?,
            );
            out.insert("strict".into(), json!(format.strict));
            Some(Value::Object(out))
        }
    };
    if let Some(format) = format {
        body.insert("text".into(), json!({"format": format}));
    }
    Ok(())
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
