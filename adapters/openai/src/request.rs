//! IR request to an OpenAI Chat Completions body.

use plugboard_sdk::json::{f32_as_written, parse_ir_json, provider_options};
use plugboard_sdk::prelude::*;
use serde_json::Map;

use crate::ID;

/// Which upstream dialect of Chat Completions to write: OpenAI itself is strict about
/// two parameters that compatible servers (vLLM, llama.cpp, OpenRouter, DeepSeek...)
/// handle the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// api.openai.com: `max_completion_tokens` (reasoning models refuse `max_tokens`),
    /// and no `top_k` (an unrecognised argument there).
    OpenAi,
    /// Anything else: `max_tokens`, which every compatible server knows, and `top_k`.
    Compatible,
}

impl Flavor {
    /// The flavor a base URL implies.
    pub fn for_base_url(base_url: &str) -> Self {
        if base_url.contains("://api.openai.com") {
            Flavor::OpenAi
        } else {
            Flavor::Compatible
        }
    }
}

/// Encode `request` for upstream model `model`.
pub fn encode_body(
    request: &ChatRequest,
    model: &str,
    flavor: Flavor,
) -> Result<Value, AdapterError> {
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(encode_messages(request)?));
    if !request.tools.is_empty() {
        body.insert(
            "tools".into(),
            Value::Array(
                request
                    .tools
                    .iter()
                    .map(encode_tool)
                    .collect::<Result<_, _>>()?,
            ),
        );
    }
    if let Some(choice) = &request.tool_choice {
        body.insert("tool_choice".into(), encode_tool_choice(choice));
    }
    encode_params(&request.params, flavor, &mut body)?;
    if request.stream {
        body.insert("stream".into(), json!(true));
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    // Provider-keyed extras (`user`, `store`, `service_tier`...) are the client's own
    // words for this upstream: they go in as given, last, so they win.
    if let Some(extra) = provider_options(&request.options, ID) {
        body.extend(extra);
    }
    // ...except that a streamed answer must still report usage (accounting needs it),
    // whatever else the client put in its `stream_options`.
    if request.stream {
        let options = body.entry("stream_options").or_insert_with(|| json!({}));
        if let Value::Object(options) = options {
            options.insert("include_usage".into(), json!(true));
        } else {
            *options = json!({"include_usage": true});
        }
    }
    Ok(Value::Object(body))
}

fn encode_messages(request: &ChatRequest) -> Result<Vec<Value>, AdapterError> {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if let Some(text) = request.system_text() {
        messages.push(json!({"role": "system", "content": text}));
    }
    for message in &request.messages {
        let emitted = messages.len();
        match message.role {
            Role::System => {
                messages.push(json!({"role": "system", "content": message.joined_text()}))
            }
            Role::Assistant => messages.push(encode_assistant(message)),
            Role::User | Role::Tool => encode_user_or_tool(message, &mut messages)?,
        }
        if messages.len() > emitted {
            let last = messages.last_mut().expect("one was pushed");
            with_message_fields(last, message);
        }
    }
    Ok(messages)
}

/// A Chat client's message fields the IR has no slot for (`name`, an assistant's
/// `refusal` or `audio`, unknown ones), kept in the message's options, back on the
/// message this one became (for a turn split into tool and user messages, the last).
/// What the adapter set itself wins, except that a later `developer` message keeps
/// its role.
fn with_message_fields(out: &mut Value, message: &Message) {
    let (Some(fields), Value::Object(out)) = (provider_options(&message.options, ID), out) else {
        return;
    };
    for (key, value) in fields {
        if key == "role" {
            if message.role == Role::System && value == "developer" {
                out.insert(key, value);
            }
            continue;
        }
        out.entry(key).or_insert(value);
    }
}

/// Assistant text and tool calls. Reasoning parts are dropped: Chat Completions has no
/// input field for them, and DeepSeek refuses `reasoning_content` sent back.
fn encode_assistant(message: &Message) -> Value {
    let text = message.joined_text();
    let tool_calls: Vec<Value> = message
        .parts
        .iter()
        .filter_map(|part| match part {
            Part::ToolCall(call) => Some(json!({
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            })),
            _ => None,
        })
        .collect();
    let mut out = Map::new();
    out.insert("role".into(), json!("assistant"));
    out.insert(
        "content".into(),
        if text.is_empty() && !tool_calls.is_empty() {
            Value::Null
        } else {
            json!(text)
        },
    );
    if !tool_calls.is_empty() {
        out.insert("tool_calls".into(), Value::Array(tool_calls));
    }
    Value::Object(out)
}

/// Tool results become one `tool` message each, in order, ahead of the turn's other
/// content (Chat requires them right after the assistant's calls). Files a tool
/// returned cannot ride in a `tool` message, so they follow in a user message.
fn encode_user_or_tool(message: &Message, messages: &mut Vec<Value>) -> Result<(), AdapterError> {
    let mut content = Vec::new();
    let mut tool_files = Vec::new();
    for part in &message.parts {
        match part {
            Part::ToolResult(result) => {
                let mut text = String::new();
                for output in &result.output {
                    match output {
                        ToolOutput::Text(piece) => text.push_str(piece),
                        ToolOutput::File(file) => tool_files.push(encode_file(file)?),
                    }
                }
                messages
                    .push(json!({"role": "tool", "tool_call_id": result.call_id, "content": text}));
            }
            Part::Text(text) => {
                let mut part = json!({"type": "text", "text": text.text});
                // A part's own fields (`cache_control`...), kept by the Chat surface.
                if let (Some(fields), Value::Object(out)) =
                    (provider_options(&text.options, ID), &mut part)
                {
                    for (key, value) in fields {
                        out.entry(key).or_insert(value);
                    }
                }
                content.push(part);
            }
            Part::File(file) => content.push(encode_file(file)?),
            // A user turn has no place for reasoning or calls; they cannot be meant.
            Part::Reasoning(_) | Part::ToolCall(_) => {}
        }
    }
    content.extend(tool_files);
    if content.is_empty() {
        return Ok(());
    }
    // Plain string content when the turn is one bare text: the form every server accepts.
    let content = match content.as_slice() {
        [single]
            if single["type"] == "text" && single.as_object().is_some_and(|o| o.len() == 2) =>
        {
            single["text"].clone()
        }
        _ => Value::Array(content),
    };
    messages.push(json!({"role": "user", "content": content}));
    Ok(())
}

fn encode_file(file: &FilePart) -> Result<Value, AdapterError> {
    let url = match &file.data {
        FileData::Url(url) => url.clone(),
        FileData::Base64(data) => format!("data:{};base64,{data}", file.media_type),
    };
    if file.media_type.starts_with("image/") {
        let mut image = Map::new();
        image.insert("url".into(), json!(url));
        if let Some(detail) =
            provider_options(&file.options, ID).and_then(|options| options.get("detail").cloned())
        {
            image.insert("detail".into(), detail);
        }
        return Ok(json!({"type": "image_url", "image_url": image}));
    }
    match &file.data {
        FileData::Base64(_) => {
            let mut inner = Map::new();
            inner.insert("file_data".into(), json!(url));
            if let Some(name) = &file.filename {
                inner.insert("filename".into(), json!(name));
            }
            Ok(json!({"type": "file", "file": inner}))
        }
        FileData::Url(_) => Err(AdapterError::unsupported(format!(
            "Chat Completions takes {} files inline only, not by URL",
            file.media_type
        ))),
    }
}

fn encode_tool(tool: &Tool) -> Result<Value, AdapterError> {
    let mut function = Map::new();
    function.insert("name".into(), json!(tool.name));
    if let Some(description) = &tool.description {
        function.insert("description".into(), json!(description));
    }
    function.insert(
        "parameters".into(),
        parse_ir_json(&tool.input_schema, "a tool's input schema")?,
    );
    if let Some(strict) =
        provider_options(&tool.options, ID).and_then(|options| options.get("strict").cloned())
    {
        function.insert("strict".into(), strict);
    }
    Ok(json!({"type": "function", "function": function}))
}

fn encode_tool_choice(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
    }
}

fn encode_params(
    params: &GenerationParams,
    flavor: Flavor,
    body: &mut Map<String, Value>,
) -> Result<(), AdapterError> {
    if let Some(max) = params.max_tokens {
        let key = if flavor == Flavor::OpenAi {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        body.insert(key.into(), json!(max));
    }
    let floats = [
        ("temperature", params.temperature),
        ("top_p", params.top_p),
        ("presence_penalty", params.presence_penalty),
        ("frequency_penalty", params.frequency_penalty),
    ];
    for (key, value) in floats {
        if let Some(value) = value {
            body.insert(key.into(), f32_as_written(value));
        }
    }
    if let (Some(top_k), Flavor::Compatible) = (params.top_k, flavor) {
        body.insert("top_k".into(), json!(top_k));
    }
    if !params.stop.is_empty() {
        body.insert("stop".into(), json!(params.stop));
    }
    if let Some(seed) = params.seed {
        body.insert("seed".into(), json!(seed));
    }
    if let Some(effort) = params
        .reasoning
        .as_ref()
        .and_then(ReasoningConfig::effort_level)
    {
        body.insert("reasoning_effort".into(), json!(effort));
    }
    match &params.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => {
            body.insert("response_format".into(), json!({"type": "json_object"}));
        }
        Some(ResponseFormat::JsonSchema(format)) => {
            let mut schema = Map::new();
            schema.insert("name".into(), json!(format.name));
            if let Some(description) = &format.description {
                schema.insert("description".into(), json!(description));
            }
            schema.insert(
                "schema".into(),
                parse_ir_json(&format.schema, "the response format schema")?,
            );
            schema.insert("strict".into(), json!(format.strict));
            body.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": schema}),
            );
        }
    }
    if let Some(parallel) = params.parallel_tool_calls {
        body.insert("parallel_tool_calls".into(), json!(parallel));
    }
    Ok(())
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
