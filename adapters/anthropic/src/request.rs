//! IR request to an Anthropic Messages body.

use plugboard_sdk::json::{
    f32_as_written, insert_at_positions, kept_at_positions, parse_ir_json, provider_options,
};
use plugboard_sdk::prelude::*;
use serde_json::Map;

use crate::ID;
use crate::schema::structured_output_schema;

/// `max_tokens` is required by the API; used when the client set none.
pub const DEFAULT_MAX_TOKENS: u32 = 8192;

/// The smallest thinking budget the API accepts.
pub const MIN_THINKING_BUDGET: u32 = 1024;

/// Thinking budget for an effort name. The API takes a token budget, clients often
/// name an effort: `minimal` and `low` get the API's minimum (1024), `medium` 4096,
/// `high` 16384; an unknown name counts as `medium`.
pub fn budget_for_effort(effort: &str) -> u32 {
    match effort {
        "minimal" | "low" => MIN_THINKING_BUDGET,
        "high" => 16_384,
        _ => 4_096,
    }
}

/// Encode `request` for upstream model `model`.
pub fn encode_body(request: &ChatRequest, model: &str) -> Result<Value, AdapterError> {
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    let mut max_tokens = request.params.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);

    let mut system: Vec<Value> = request
        .system
        .iter()
        .filter(|part| !part.text.is_empty())
        .map(encode_text)
        .collect();
    // The API has no system turns inside `messages`: their instructions join the system
    // prompt, in order, which is where the model reads instructions.
    for message in request
        .messages
        .iter()
        .filter(|message| message.role == Role::System)
    {
        system.extend(message.parts.iter().filter_map(|part| match part {
            Part::Text(text) if !text.text.is_empty() => Some(encode_text(text)),
            _ => None,
        }));
    }
    let native_format = native_output_format(&request.params.response_format, model)?;
    if native_format.is_none()
        && let Some(instruction) = json_format_instruction(&request.params.response_format)?
    {
        system.push(json!({"type": "text", "text": instruction}));
    }
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }
    body.insert(
        "messages".into(),
        Value::Array(encode_messages(&request.messages)?),
    );

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
    if let Some(choice) = encode_tool_choice(
        request.tool_choice.as_ref(),
        request.params.parallel_tool_calls,
    ) {
        body.insert("tool_choice".into(), choice);
    }

    let params = &request.params;
    let thinking_budget = params.reasoning.as_ref().and_then(|reasoning| {
        reasoning
            .budget_tokens
            .or_else(|| reasoning.effort.as_deref().map(budget_for_effort))
    });
    // The budget must stay below max_tokens; a client that capped max_tokens lower
    // than the budget meant the cap, so the budget shrinks (or thinking goes).
    let thinking_budget = thinking_budget
        .map(|budget| budget.max(MIN_THINKING_BUDGET))
        .and_then(|budget| {
            if budget < max_tokens {
                Some(budget)
            } else if params.max_tokens.is_none() {
                max_tokens = budget + DEFAULT_MAX_TOKENS;
                Some(budget)
            } else {
                (max_tokens > MIN_THINKING_BUDGET).then(|| max_tokens - 1)
            }
        });
    body.insert("max_tokens".into(), json!(max_tokens));
    if let Some(budget) = thinking_budget {
        body.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": budget}),
        );
    }
    // With thinking on, the API refuses temperature other than 1 and any top_k.
    if thinking_budget.is_none() {
        if let Some(temperature) = params.temperature {
            body.insert("temperature".into(), f32_as_written(temperature));
        }
        if let Some(top_k) = params.top_k {
            body.insert("top_k".into(), json!(top_k));
        }
    }
    if let Some(top_p) = params.top_p {
        body.insert("top_p".into(), f32_as_written(top_p));
    }
    if !params.stop.is_empty() {
        body.insert("stop_sequences".into(), json!(params.stop));
    }
    if request.stream {
        body.insert("stream".into(), json!(true));
    }
    if let Some(format) = native_format {
        body.insert("output_config".into(), json!({"format": format}));
    }
    // Provider-keyed extras (`metadata`, `service_tier`, `container`...) go in as given;
    // an `output_config` of the client's (`effort`) joins the one built here.
    if let Some(extra) = provider_options(&request.options, ID) {
        for (key, value) in extra {
            match (body.get_mut(&key), value) {
                (Some(Value::Object(ours)), Value::Object(theirs)) if key == "output_config" => {
                    for (field, value) in theirs {
                        ours.entry(field).or_insert(value);
                    }
                }
                (_, value) => {
                    body.insert(key, value);
                }
            }
        }
    }
    Ok(Value::Object(body))
}

/// Does `model` take structured outputs (`output_config.format`)? The Claude API
/// serves them on Claude Opus, Sonnet and Haiku 4.5 and every later version; older
/// models (`claude-opus-4-1`, `claude-sonnet-4-20250514`, `claude-3-7-sonnet-...`) and
/// names this cannot read get the prompt instruction instead.
pub fn supports_structured_output(model: &str) -> bool {
    let mut parts = model.split('-');
    if parts.next() != Some("claude") || !matches!(parts.next(), Some("opus" | "sonnet" | "haiku"))
    {
        return false;
    }
    let Some(major) = parts.next().and_then(|p| p.parse::<u32>().ok()) else {
        return false;
    };
    // `claude-sonnet-4-20250514`: the part after the major version is a date, not a
    // minor version.
    let minor = parts
        .next()
        .filter(|p| p.len() <= 2)
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(0);
    (major, minor) >= (4, 5)
}

/// A JSON-schema response format as Anthropic's `output_config.format`, when `model`
/// [supports it](supports_structured_output) and the schema can be put in the subset
/// the API takes ([`structured_output_schema`]); `None` otherwise (and for plain JSON,
/// which has no native form), leaving the prompt instruction to ask for it.
fn native_output_format(
    format: &Option<ResponseFormat>,
    model: &str,
) -> Result<Option<Value>, AdapterError> {
    match format {
        Some(ResponseFormat::JsonSchema(format)) if supports_structured_output(model) => {
            let schema = parse_ir_json(&format.schema, "the response format schema")?;
            Ok(structured_output_schema(&schema)
                .map(|schema| json!({"type": "json_schema", "schema": schema})))
        }
        _ => Ok(None),
    }
}

/// One turn of the Messages body being built.
struct Turn {
    role: &'static str,
    blocks: Vec<Value>,
    /// Blocks the IR could not carry (`kept_blocks`), with their index in the turn.
    kept: Vec<(usize, Value)>,
}

/// Messages with the API's rules applied: tool turns become user turns, consecutive
/// turns of one role merge, tool results lead their user turn, and empty turns go.
/// Blocks an Anthropic client sent that the IR cannot carry (server tool use and
/// results, search results...) come back at their place in the turn.
fn encode_messages(messages: &[Message]) -> Result<Vec<Value>, AdapterError> {
    let mut turns: Vec<Turn> = Vec::new();
    // The previous IR message's role and where its blocks began in the current turn.
    let mut previous: Option<(Role, usize)> = None;
    for message in messages {
        let role = match message.role {
            Role::System => continue,
            Role::User | Role::Tool => "user",
            Role::Assistant => "assistant",
        };
        let mut blocks = Vec::with_capacity(message.parts.len());
        for part in &message.parts {
            if let Some(block) = encode_part(part, role)? {
                blocks.push(block);
            }
        }
        let turn = match turns.last_mut() {
            Some(turn) if turn.role == role => turn,
            _ => {
                previous = None;
                turns.push(Turn {
                    role,
                    blocks: Vec::new(),
                    kept: Vec::new(),
                });
                turns.last_mut().expect("just pushed")
            }
        };
        let start = turn.blocks.len();
        // The Anthropic surface splits one user turn into its tool results (a tool
        // message) and the rest (a user message carrying the kept blocks); their
        // indices count from the start of the whole turn.
        let origin = match previous {
            Some((Role::Tool, tool_start)) if message.role == Role::User => tool_start,
            _ => start,
        };
        turn.kept.extend(
            kept_at_positions(&message.options, ID, "kept_blocks", "block")
                .into_iter()
                .map(|(index, block)| (origin + index, block)),
        );
        turn.blocks.extend(blocks);
        previous = Some((message.role, start));
    }
    Ok(turns
        .into_iter()
        .filter(|turn| !turn.blocks.is_empty() || !turn.kept.is_empty())
        .map(|mut turn| {
            if turn.role == "user" {
                // "tool_result blocks must come first" in a user turn; the sort is stable.
                turn.blocks
                    .sort_by_key(|block| block["type"] != "tool_result");
            }
            insert_at_positions(&mut turn.blocks, turn.kept);
            json!({"role": turn.role, "content": turn.blocks})
        })
        .collect())
}

fn encode_part(part: &Part, role: &str) -> Result<Option<Value>, AdapterError> {
    Ok(match part {
        // The API refuses empty text blocks.
        Part::Text(text) if text.text.is_empty() => None,
        Part::Text(text) => Some(encode_text(text)),
        Part::Reasoning(reasoning) if role == "assistant" => encode_reasoning(reasoning),
        Part::Reasoning(_) => None,
        Part::File(file) => Some(encode_file(file)?),
        Part::ToolCall(call) => {
            let input = if call.arguments.trim().is_empty() {
                json!({})
            } else {
                parse_ir_json(&call.arguments, "tool call arguments")?
            };
            let mut block = Map::new();
            block.insert("type".into(), json!("tool_use"));
            block.insert("id".into(), json!(call.id));
            block.insert("name".into(), json!(call.name));
            block.insert("input".into(), input);
            merge_options(&mut block, &call.options);
            Some(Value::Object(block))
        }
        Part::ToolResult(result) => {
            let mut content = Vec::with_capacity(result.output.len());
            for output in &result.output {
                content.push(match output {
                    ToolOutput::Text(text) => json!({"type": "text", "text": text}),
                    ToolOutput::File(file) => encode_file(file)?,
                });
            }
            let mut block = Map::new();
            block.insert("type".into(), json!("tool_result"));
            block.insert("tool_use_id".into(), json!(result.call_id));
            let content = match content.as_slice() {
                [single] if single["type"] == "text" => single["text"].clone(),
                _ => Value::Array(content),
            };
            block.insert("content".into(), content);
            if result.is_error {
                block.insert("is_error".into(), json!(true));
            }
            merge_options(&mut block, &result.options);
            Some(Value::Object(block))
        }
    })
}

/// Thinking goes back only with its signature (the API verifies it); reasoning from
/// another provider has none and is dropped rather than refused.
fn encode_reasoning(reasoning: &ReasoningPart) -> Option<Value> {
    match (&reasoning.redacted, &reasoning.signature) {
        (Some(data), _) if reasoning.text.is_empty() => {
            Some(json!({"type": "redacted_thinking", "data": data}))
        }
        (_, Some(signature)) => {
            Some(json!({"type": "thinking", "thinking": reasoning.text, "signature": signature}))
        }
        _ => None,
    }
}

fn encode_text(text: &TextPart) -> Value {
    let mut block = Map::new();
    block.insert("type".into(), json!("text"));
    block.insert("text".into(), json!(text.text));
    merge_options(&mut block, &text.options);
    Value::Object(block)
}

fn encode_file(file: &FilePart) -> Result<Value, AdapterError> {
    let kind = if file.media_type.starts_with("image/") {
        "image"
    } else if file.media_type == "application/pdf" {
        "document"
    } else if file.media_type.starts_with("text/") {
        // Plain-text documents travel as text sources, which carry the text itself.
        if let FileData::Base64(_) = file.data {
            return Err(AdapterError::unsupported(
                "text documents must be sent as text, not base64",
            ));
        }
        "document"
    } else {
        return Err(AdapterError::unsupported(format!(
            "Anthropic does not accept {} files",
            file.media_type
        )));
    };
    let source = match &file.data {
        FileData::Base64(data) => {
            json!({"type": "base64", "media_type": file.media_type, "data": data})
        }
        FileData::Url(url) => json!({"type": "url", "url": url}),
    };
    let mut block = Map::new();
    block.insert("type".into(), json!(kind));
    block.insert("source".into(), source);
    if let (true, Some(name)) = (kind == "document", &file.filename) {
        block.insert("title".into(), json!(name));
    }
    merge_options(&mut block, &file.options);
    Ok(Value::Object(block))
}

fn encode_tool(tool: &Tool) -> Result<Value, AdapterError> {
    let mut block = Map::new();
    block.insert("name".into(), json!(tool.name));
    if let Some(description) = &tool.description {
        block.insert("description".into(), json!(description));
    }
    block.insert(
        "input_schema".into(),
        parse_ir_json(&tool.input_schema, "a tool's input schema")?,
    );
    merge_options(&mut block, &tool.options);
    Ok(Value::Object(block))
}

fn encode_tool_choice(choice: Option<&ToolChoice>, parallel: Option<bool>) -> Option<Value> {
    let mut value = match choice {
        None if parallel == Some(false) => json!({"type": "auto"}),
        None => return None,
        Some(ToolChoice::Auto) => json!({"type": "auto"}),
        Some(ToolChoice::Required) => json!({"type": "any"}),
        Some(ToolChoice::None) => json!({"type": "none"}),
        Some(ToolChoice::Tool(name)) => json!({"type": "tool", "name": name}),
    };
    if parallel == Some(false) && value["type"] != "none" {
        value["disable_parallel_tool_use"] = json!(true);
    }
    Some(value)
}

/// For plain JSON, and a schema a model without structured outputs must follow: the
/// instruction goes in the system prompt.
fn json_format_instruction(
    format: &Option<ResponseFormat>,
) -> Result<Option<String>, AdapterError> {
    Ok(match format {
        None | Some(ResponseFormat::Text) => None,
        Some(ResponseFormat::JsonObject) => {
            Some("Respond with a single JSON object and nothing else.".into())
        }
        Some(ResponseFormat::JsonSchema(format)) => {
            let schema = parse_ir_json(&format.schema, "the response format schema")?;
            Some(format!(
                "Respond with a single JSON value that matches this JSON schema, and nothing else:\n{schema}"
            ))
        }
    })
}

/// Copy `{"anthropic": {...}}` extras (e.g. `cache_control`) into a block.
fn merge_options(block: &mut Map<String, Value>, options: &Option<Json>) {
    if let Some(extra) = provider_options(options, ID) {
        block.extend(extra);
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
