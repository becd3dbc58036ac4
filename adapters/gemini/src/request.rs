//! IR request to a Gemini `GenerateContentRequest` body.
//!
//! Provider-keyed extras read here (all under `gemini`):
//! - request `options.gemini`: `generationConfig` (an object merged into ours, its keys
//!   win), `tools` (entries appended after our function declarations, e.g.
//!   `{"googleSearch": {}}`), and every other key (`safetySettings`, `cachedContent`,
//!   `labels`, `toolConfig`...) set on the body as given, last, so it wins;
//! - text and tool-call part `options.gemini.thoughtSignature`: echoed on the part;
//! - tool `options.gemini`: keys added to the function declaration (e.g. `behavior`).

use std::collections::HashMap;

use plugboard_sdk::json::{
    f32_as_written, insert_at_positions, kept_at_positions, parse_ir_json, provider_options,
};
use plugboard_sdk::prelude::*;
use plugboard_sdk::schema::gemini_compatible;
use serde_json::Map;

use crate::ID;

/// The documented placeholder signature for a function call whose real signature is
/// unknown (history from another provider, or compacted): Gemini 3 refuses a model
/// turn's first function call without one, and accepts this value instead.
pub const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

/// Encode `request` as a Gemini body (the model rides in the URL, not the body).
pub fn encode_body(request: &ChatRequest, model: &str) -> Result<Value, AdapterError> {
    let mut body = Map::new();
    let (contents, in_turn_system) = encode_contents(&request.messages)?;
    let system: Vec<Value> = request
        .system
        .iter()
        .map(|part| part.text.as_str())
        .chain(in_turn_system.iter().map(String::as_str))
        .filter(|text| !text.is_empty())
        .map(|text| json!({"text": text}))
        .collect();
    if !system.is_empty() {
        body.insert("systemInstruction".into(), json!({"parts": system}));
    }
    body.insert("contents".into(), Value::Array(contents));
    let extras = provider_options(&request.options, ID).unwrap_or_default();
    let mut tools = Vec::new();
    if !request.tools.is_empty() {
        let declarations = request
            .tools
            .iter()
            .map(encode_tool)
            .collect::<Result<Vec<_>, _>>()?;
        tools.push(json!({"functionDeclarations": declarations}));
    }
    if let Some(Value::Array(extra_tools)) = extras.get("tools") {
        tools.extend(extra_tools.iter().cloned());
    }
    if !tools.is_empty() {
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = &request.tool_choice {
        body.insert("toolConfig".into(), encode_tool_choice(choice));
    }
    let mut config = encode_generation_config(&request.params, model)?;
    if let Some(Value::Object(extra_config)) = extras.get("generationConfig") {
        config.extend(extra_config.clone());
    }
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    for (key, value) in extras {
        if key != "tools" && key != "generationConfig" {
            body.insert(key, value);
        }
    }
    Ok(Value::Object(body))
}

/// Messages to `contents` with strictly alternating `user`/`model` roles (consecutive
/// turns of one role merge); system turns inside the conversation are returned apart,
/// for `systemInstruction` (Gemini has no system role in `contents`).
/// One content of the body being built.
struct Content {
    role: &'static str,
    parts: Vec<Value>,
    /// Parts the IR could not carry, with their index in the content.
    unknown: Vec<(usize, Value)>,
    /// Fields of the client's `Content` besides `role` and `parts`.
    fields: Map<String, Value>,
}

fn encode_contents(messages: &[Message]) -> Result<(Vec<Value>, Vec<String>), AdapterError> {
    let mut call_names: HashMap<&str, &str> = HashMap::new();
    let mut contents: Vec<Content> = Vec::new();
    let mut system = Vec::new();
    for message in messages {
        let (role, parts) = match message.role {
            Role::System => {
                system.push(message.joined_text());
                continue;
            }
            Role::Assistant => ("model", encode_model_parts(message, &mut call_names)),
            Role::User | Role::Tool => ("user", encode_user_parts(message, &call_names)?),
        };
        // Parts a Gemini client sent that have no IR form (`executableCode`,
        // `codeExecutionResult`...), indexed within their content. Contents alternate
        // roles, so one merged content here is one content as the client sent it.
        let unknown = kept_at_positions(&message.options, ID, "unknownParts", "part");
        if parts.is_empty() && unknown.is_empty() {
            continue;
        }
        let mut fields = provider_options(&message.options, ID).unwrap_or_default();
        fields.remove("unknownParts");
        match contents.last_mut() {
            Some(last) if last.role == role => {
                last.parts.extend(parts);
                last.unknown.extend(unknown);
                for (key, value) in fields {
                    last.fields.entry(key).or_insert(value);
                }
            }
            _ => contents.push(Content {
                role,
                parts,
                unknown,
                fields,
            }),
        }
    }
    let contents = contents
        .into_iter()
        .map(|mut content| {
            insert_at_positions(&mut content.parts, content.unknown);
            let mut out = content.fields;
            out.insert("role".into(), json!(content.role));
            out.insert("parts".into(), Value::Array(content.parts));
            Value::Object(out)
        })
        .collect();
    Ok((contents, system))
}

fn encode_model_parts<'a>(
    message: &'a Message,
    call_names: &mut HashMap<&'a str, &'a str>,
) -> Vec<Value> {
    let mut parts = Vec::new();
    let mut first_call = true;
    for part in &message.parts {
        match part {
            Part::Text(text) if !text.text.is_empty() => {
                let mut out = Map::new();
                out.insert("text".into(), json!(text.text));
                if let Some(signature) = signature_option(&text.options) {
                    out.insert("thoughtSignature".into(), json!(signature));
                }
                parts.push(with_kept_fields(Value::Object(out), &text.options));
            }
            // Unsigned thought text is dropped: Gemini reads nothing from it.
            Part::Reasoning(reasoning) => {
                if let Some(signature) = &reasoning.signature {
                    parts.push(json!({
                        "text": reasoning.text,
                        "thought": true,
                        "thoughtSignature": signature,
                    }));
                }
            }
            Part::ToolCall(call) => {
                call_names.insert(&call.id, &call.name);
                let args = serde_json::from_str::<Value>(&call.arguments)
                    .ok()
                    .filter(Value::is_object)
                    .unwrap_or_else(|| json!({}));
                let mut out = Map::new();
                out.insert(
                    "functionCall".into(),
                    json!({"id": call.id, "name": call.name, "args": args}),
                );
                // Only the first call of a turn carries a signature (parallel calls
                // share it); when it has none, the documented placeholder stands in.
                match signature_option(&call.options) {
                    Some(signature) => {
                        out.insert("thoughtSignature".into(), json!(signature));
                    }
                    None if first_call => {
                        out.insert("thoughtSignature".into(), json!(SKIP_SIGNATURE));
                    }
                    None => {}
                }
                first_call = false;
                parts.push(with_kept_fields(Value::Object(out), &call.options));
            }
            Part::File(file) => parts.push(encode_file(file)),
            _ => {}
        }
    }
    parts
}

fn encode_user_parts(
    message: &Message,
    call_names: &HashMap<&str, &str>,
) -> Result<Vec<Value>, AdapterError> {
    let mut parts = Vec::new();
    let mut files = Vec::new();
    for part in &message.parts {
        match part {
            Part::Text(text) if !text.text.is_empty() => {
                parts.push(with_kept_fields(json!({"text": text.text}), &text.options));
            }
            Part::File(file) => parts.push(encode_file(file)),
            Part::ToolResult(result) => {
                let name = result
                    .name
                    .as_deref()
                    .or_else(|| call_names.get(result.call_id.as_str()).copied())
                    .ok_or_else(|| {
                        AdapterError::invalid_request(format!(
                            "the tool result for call `{}` names no tool and no earlier call has that id; Gemini needs the function name",
                            result.call_id
                        ))
                    })?;
                let mut text = String::new();
                for output in &result.output {
                    match output {
                        ToolOutput::Text(piece) => text.push_str(piece),
                        // Files a tool returned follow the responses in the same turn.
                        ToolOutput::File(file) => files.push(encode_file(file)),
                    }
                }
                let response = json!({"functionResponse": {
                    "id": result.call_id,
                    "name": name,
                    "response": tool_response(&text, result.is_error),
                }});
                parts.push(with_kept_fields(response, &result.options));
            }
            _ => {}
        }
    }
    parts.extend(files);
    Ok(parts)
}

/// `functionResponse.response` must be an object: a JSON object output goes as is,
/// anything else is wrapped as `{"result": ...}` (`{"error": ...}` for a failure).
fn tool_response(text: &str, is_error: bool) -> Value {
    let parsed = serde_json::from_str::<Value>(text).ok();
    if let Some(object @ Value::Object(_)) = &parsed
        && !is_error
    {
        return object.clone();
    }
    let value = parsed
        .filter(|value| !value.is_string())
        .unwrap_or_else(|| json!(text));
    if is_error {
        json!({"error": value})
    } else {
        json!({"result": value})
    }
}

fn encode_file(file: &FilePart) -> Value {
    let part = match &file.data {
        FileData::Base64(data) => {
            json!({"inlineData": {"mimeType": file.media_type, "data": data}})
        }
        FileData::Url(url) => json!({"fileData": {"mimeType": file.media_type, "fileUri": url}}),
    };
    with_kept_fields(part, &file.options)
}

/// The payload fields of a Gemini part: a part has one of them.
const PAYLOADS: [&str; 7] = [
    "text",
    "functionCall",
    "functionResponse",
    "inlineData",
    "fileData",
    "executableCode",
    "codeExecutionResult",
];

/// Splice back what a Gemini client sent on a part that the IR has no field for:
/// part-level fields (`videoMetadata`, `mediaResolution`, `partMetadata`, unknown ones)
/// and the kept fields of its payload (`functionCall`, `functionResponse`,
/// `inlineData`, `fileData`), which the Gemini surface stores in the part's options.
/// What this adapter set itself wins; the thought signature is placed by the callers,
/// whose rules differ per part kind.
fn with_kept_fields(mut part: Value, options: &Option<Json>) -> Value {
    let (Some(kept), Value::Object(out)) = (provider_options(options, ID), &mut part) else {
        return part;
    };
    for (key, value) in kept {
        if key == "thoughtSignature" || key == "thought" {
            continue;
        }
        match (out.get_mut(&key), value) {
            (Some(Value::Object(payload)), Value::Object(fields)) => {
                for (field, value) in fields {
                    payload.entry(field).or_insert(value);
                }
            }
            (Some(_), _) => {}
            // Kept fields of a payload this part no longer has (translated elsewhere).
            (None, _) if PAYLOADS.contains(&key.as_str()) => {}
            (None, value) => {
                out.insert(key, value);
            }
        }
    }
    part
}

fn signature_option(options: &Option<Json>) -> Option<String> {
    provider_options(options, ID)?
        .get("thoughtSignature")?
        .as_str()
        .map(str::to_string)
}

/// A function declaration; `parameters` in the schema subset Gemini takes, and left
/// out for a tool without parameters (Gemini refuses an object with no properties).
fn encode_tool(tool: &Tool) -> Result<Value, AdapterError> {
    let mut declaration = Map::new();
    declaration.insert("name".into(), json!(tool.name));
    if let Some(description) = &tool.description {
        declaration.insert("description".into(), json!(description));
    }
    let schema = gemini_compatible(&parse_ir_json(&tool.input_schema, "a tool's input schema")?);
    let has_properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|properties| !properties.is_empty());
    if has_properties || schema.get("type").is_some_and(|kind| kind != "object") {
        declaration.insert("parameters".into(), schema);
    }
    if let Some(extra) = provider_options(&tool.options, ID) {
        declaration.extend(extra);
    }
    Ok(Value::Object(declaration))
}

fn encode_tool_choice(choice: &ToolChoice) -> Value {
    let config = match choice {
        ToolChoice::Auto => json!({"mode": "AUTO"}),
        ToolChoice::None => json!({"mode": "NONE"}),
        ToolChoice::Required => json!({"mode": "ANY"}),
        ToolChoice::Tool(name) => json!({"mode": "ANY", "allowedFunctionNames": [name]}),
    };
    json!({"functionCallingConfig": config})
}

fn encode_generation_config(
    params: &GenerationParams,
    model: &str,
) -> Result<Map<String, Value>, AdapterError> {
    let mut config = Map::new();
    if let Some(max) = params.max_tokens {
        config.insert("maxOutputTokens".into(), json!(max));
    }
    let floats = [
        ("temperature", params.temperature),
        ("topP", params.top_p),
        ("presencePenalty", params.presence_penalty),
        ("frequencyPenalty", params.frequency_penalty),
    ];
    for (key, value) in floats {
        if let Some(value) = value {
            config.insert(key.into(), f32_as_written(value));
        }
    }
    if let Some(top_k) = params.top_k {
        config.insert("topK".into(), json!(top_k));
    }
    if !params.stop.is_empty() {
        config.insert("stopSequences".into(), json!(params.stop));
    }
    if let Some(seed) = params.seed {
        config.insert("seed".into(), json!(seed));
    }
    match &params.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => {
            config.insert("responseMimeType".into(), json!("application/json"));
        }
        Some(ResponseFormat::JsonSchema(format)) => {
            config.insert("responseMimeType".into(), json!("application/json"));
            // `responseJsonSchema` takes JSON Schema as written (unlike `responseSchema`).
            config.insert(
                "responseJsonSchema".into(),
                parse_ir_json(&format.schema, "the response format schema")?,
            );
        }
    }
    if let Some(reasoning) = &params.reasoning
        && let Some(thinking) = thinking_config(reasoning, model)
    {
        config.insert("thinkingConfig".into(), thinking);
    }
    Ok(config)
}

/// `thinkingConfig`: a token budget goes as `thinkingBudget`; an effort goes as
/// `thinkingLevel` to Gemini 3 models and as a budget to older ones (which have no
/// levels). The two fields are never sent together (Gemini refuses that).
fn thinking_config(reasoning: &ReasoningConfig, model: &str) -> Option<Value> {
    let effort = reasoning.effort.as_deref();
    if let Some(budget) = reasoning.budget_tokens {
        return Some(json!({"includeThoughts": budget > 0, "thinkingBudget": budget}));
    }
    let effort = effort?;
    if model.trim_start_matches("models/").starts_with("gemini-3") {
        let level = if effort == "none" { "minimal" } else { effort };
        return Some(json!({"includeThoughts": true, "thinkingLevel": level}));
    }
    let budget = match effort {
        "none" => 0,
        "minimal" => 128,
        "low" => 1024,
        "medium" => 8192,
        _ => 24576,
    };
    Some(json!({"includeThoughts": budget > 0, "thinkingBudget": budget}))
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
