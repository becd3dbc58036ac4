//! A Messages request body, into a [`Decoded`] IR request.
//!
//! Each field the decoder understands is removed from the body object; whatever is left
//! (`metadata`, `context_management`, `service_tier`, `container`, `mcp_servers`,
//! unknown fields...) lands in `request.options["anthropic"]` verbatim, where the
//! Anthropic adapter splices it back into the upstream body. Fields the IR carries only
//! approximately are translated *and* kept there too (`output_config` apart from its
//! `format`, a non-`enabled` `thinking`, the whole `tools` array when it holds server
//! tools), so an Anthropic upstream gets what the client sent. Structured output
//! (`output_config.format`, or the older top-level `output_format`) becomes the IR's
//! `response_format`, which every adapter encodes in its own dialect (the Anthropic
//! adapter as `output_config.format` again).

use serde_json::Value;

use super::content::{decode_messages, decode_system};
use super::fields::{
    Object, anthropic_options, invalid_value, missing, object, opt_array, opt_bool, opt_f32,
    opt_object, opt_string, opt_u32, string, wrong_type,
};
use crate::ir::{
    ChatRequest, Dialect, GenerationParams, JsonSchemaFormat, ReasoningConfig, ResponseFormat,
    Tool, ToolChoice,
};
use crate::surfaces::{ClientError, Decoded, ErrorKind};

/// Decodes a `POST /v1/messages` (or `/v1/messages/count_tokens`) body.
pub fn decode(body: &[u8]) -> Result<Decoded, ClientError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ClientError::new(
            ErrorKind::InvalidRequest,
            format!("There was an error parsing the body: {e}"),
        )
    })?;
    let Value::Object(mut body) = value else {
        return Err(ClientError::new(
            ErrorKind::InvalidRequest,
            "The request body must be a JSON object",
        ));
    };

    let model = string(body.remove("model"), "model")?;
    let items =
        opt_array(body.remove("messages"), "messages")?.ok_or_else(|| missing("messages"))?;
    if items.is_empty() {
        return Err(invalid_value(
            "messages",
            "at least one message is required",
        ));
    }
    let messages = decode_messages(items)?;
    let system = decode_system(body.remove("system"))?;
    let stream = opt_bool(body.remove("stream"), "stream")?.unwrap_or(false);

    let (tools, verbatim_tools) = decode_tools(body.remove("tools"))?;
    if let Some(all) = verbatim_tools {
        body.insert("tools".to_owned(), all);
    }
    let (tool_choice, parallel_tool_calls) = decode_tool_choice(body.remove("tool_choice"))?;
    let mut params = decode_params(&mut body)?;
    params.parallel_tool_calls = parallel_tool_calls;

    let request = ChatRequest {
        system,
        messages,
        tools,
        tool_choice,
        params,
        stream,
        options: anthropic_options(body),
    };
    Ok(Decoded {
        dialect: Dialect::AnthropicMessages,
        model,
        stream,
        include_usage: false,
        request,
    })
}

/// Length, sampling and reasoning controls.
fn decode_params(body: &mut Object) -> Result<GenerationParams, ClientError> {
    let stop = match opt_array(body.remove("stop_sequences"), "stop_sequences")? {
        None => Vec::new(),
        Some(items) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| match item {
                Value::String(stop) => Ok(stop),
                _ => Err(wrong_type(
                    &format!("stop_sequences.{index}"),
                    "a valid string",
                )),
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(GenerationParams {
        // The API requires max_tokens; a missing one is tolerated (the Anthropic adapter
        // applies its default), since refusing it helps no client.
        max_tokens: opt_u32(body.remove("max_tokens"), "max_tokens")?,
        temperature: opt_f32(body.remove("temperature"), "temperature")?,
        top_p: opt_f32(body.remove("top_p"), "top_p")?,
        top_k: opt_u32(body.remove("top_k"), "top_k")?,
        stop,
        reasoning: decode_reasoning(body)?,
        response_format: decode_output_format(body)?,
        ..GenerationParams::default()
    })
}

/// The name a schema gets in dialects that require one (Anthropic's has none).
const SCHEMA_NAME: &str = "response";

/// Structured output: `output_config.format` (the current API) or the older top-level
/// `output_format` (the `structured-outputs-2025-11-13` beta, still sent by the AI SDK,
/// litellm and LangChain), both `{"type": "json_schema", "schema": {...}}`, into a
/// strict JSON-schema response format (Anthropic decodes constrained to the schema).
/// Both are consumed; `output_config` keeps its other fields (`effort`) for the
/// options, and goes when nothing else is left in it. When a client sends both, the
/// current `output_config.format` wins. Call after [`decode_reasoning`], which reads
/// `output_config` too.
fn decode_output_format(body: &mut Object) -> Result<Option<ResponseFormat>, ClientError> {
    let legacy = body.remove("output_format");
    let current = match body.get_mut("output_config") {
        Some(Value::Object(config)) => {
            let format = config.remove("format");
            if config.is_empty() {
                body.remove("output_config");
            }
            format
        }
        _ => None,
    };
    let (value, path) = match (current, legacy) {
        (Some(format), _) if !format.is_null() => (format, "output_config.format"),
        (_, Some(format)) => (format, "output_format"),
        _ => return Ok(None),
    };
    let Some(mut format) = opt_object(Some(value), path)? else {
        return Ok(None);
    };
    let kind = string(format.remove("type"), &format!("{path}.type"))?;
    if kind != "json_schema" {
        return Err(invalid_value(
            &format!("{path}.type"),
            format!("Input should be 'json_schema', got '{kind}'"),
        ));
    }
    let schema = object(format.remove("schema"), &format!("{path}.schema"))?;
    Ok(Some(ResponseFormat::JsonSchema(JsonSchemaFormat {
        name: SCHEMA_NAME.to_owned(),
        schema: Value::Object(schema).to_string(),
        strict: true,
        description: None,
    })))
}

/// `thinking` and `output_config.effort` into reasoning controls.
///
/// `enabled` carries its budget and is consumed; `adaptive` and `disabled` have no IR
/// form, so they stay in the options for an Anthropic upstream. `output_config` always
/// stays there (it may hold more than `effort`); its effort also becomes the IR effort,
/// `max` read as `high`, the IR's top level.
fn decode_reasoning(body: &mut Object) -> Result<Option<ReasoningConfig>, ClientError> {
    let effort = match body.get("output_config") {
        None | Some(Value::Null) => None,
        Some(Value::Object(config)) => {
            opt_string(config.get("effort").cloned(), "output_config.effort")?
        }
        Some(_) => return Err(wrong_type("output_config", "a valid dictionary")),
    };
    let effort = effort.map(|effort| {
        if effort == "max" {
            "high".to_owned()
        } else {
            effort
        }
    });

    let Some(mut thinking) = opt_object(body.remove("thinking"), "thinking")? else {
        return Ok(effort.map(|effort| ReasoningConfig {
            effort: Some(effort),
            budget_tokens: None,
        }));
    };
    let kind = string(thinking.get("type").cloned(), "thinking.type")?;
    match kind.as_str() {
        "enabled" => {
            let budget = opt_u32(thinking.remove("budget_tokens"), "thinking.budget_tokens")?
                .ok_or_else(|| missing("thinking.budget_tokens"))?;
            Ok(Some(ReasoningConfig {
                effort,
                budget_tokens: Some(budget),
            }))
        }
        "adaptive" => {
            body.insert("thinking".to_owned(), Value::Object(thinking));
            // Adaptive means "the model decides": on, at the client's effort if any.
            Ok(Some(ReasoningConfig {
                effort,
                budget_tokens: None,
            }))
        }
        "disabled" => {
            body.insert("thinking".to_owned(), Value::Object(thinking));
            Ok(None)
        }
        other => Err(invalid_value(
            "thinking.type",
            format!("Input should be 'enabled', 'adaptive' or 'disabled', got '{other}'"),
        )),
    }
}

/// `tools[]`: custom tools into IR tools (their extra fields such as `cache_control`,
/// `strict` or `defer_loading` in the tool's options). Server tools (`web_search_*`,
/// `bash_*`, `text_editor_*`, `code_execution_*`...) run on Anthropic's side and have no
/// IR form: when any is present, the whole array is also returned verbatim, to ride in
/// the request options so an Anthropic upstream gets every tool in the client's order.
fn decode_tools(value: Option<Value>) -> Result<(Vec<Tool>, Option<Value>), ClientError> {
    let Some(items) = opt_array(value, "tools")? else {
        return Ok((Vec::new(), None));
    };
    let mut tools = Vec::with_capacity(items.len());
    let mut has_server_tools = false;
    for (index, item) in items.iter().enumerate() {
        let path = format!("tools.{index}");
        let mut fields = object(Some(item.clone()), &path)?;
        let kind = opt_string(fields.remove("type"), &format!("{path}.type"))?;
        if kind.as_deref().is_some_and(|kind| kind != "custom") {
            has_server_tools = true;
            continue;
        }
        let name = string(fields.remove("name"), &format!("{path}.name"))?;
        let description = opt_string(fields.remove("description"), &format!("{path}.description"))?;
        let input_schema = match fields.remove("input_schema") {
            Some(schema @ Value::Object(_)) => schema.to_string(),
            None | Some(Value::Null) => return Err(missing(&format!("{path}.input_schema"))),
            Some(_) => {
                return Err(wrong_type(
                    &format!("{path}.input_schema"),
                    "a valid dictionary",
                ));
            }
        };
        tools.push(Tool {
            name,
            description,
            input_schema,
            options: anthropic_options(fields),
        });
    }
    let verbatim = has_server_tools.then(|| Value::Array(items));
    Ok((tools, verbatim))
}

/// `tool_choice` `{type: auto|any|tool|none, name?, disable_parallel_tool_use?}` into the
/// IR choice and the parallel-calls flag (`false` when parallel use is disabled).
fn decode_tool_choice(
    value: Option<Value>,
) -> Result<(Option<ToolChoice>, Option<bool>), ClientError> {
    let Some(mut fields) = opt_object(value, "tool_choice")? else {
        return Ok((None, None));
    };
    let kind = string(fields.remove("type"), "tool_choice.type")?;
    let choice = match kind.as_str() {
        "auto" => ToolChoice::Auto,
        "any" => ToolChoice::Required,
        "none" => ToolChoice::None,
        "tool" => ToolChoice::Tool(string(fields.remove("name"), "tool_choice.name")?),
        other => {
            return Err(invalid_value(
                "tool_choice.type",
                format!("Input should be 'auto', 'any', 'tool' or 'none', got '{other}'"),
            ));
        }
    };
    let disabled = opt_bool(
        fields.remove("disable_parallel_tool_use"),
        "tool_choice.disable_parallel_tool_use",
    )?;
    Ok((Some(choice), disabled.filter(|&d| d).map(|_| false)))
}
