//! A Chat Completions request body, into a [`Decoded`] IR request.
//!
//! The decoder removes each field it understands from the body object; whatever is left
//! (`user`, `metadata`, `logit_bias`, `service_tier`, unknown vendor fields...) lands in
//! `request.options["openai"]` verbatim, so an OpenAI upstream can get all of it back and
//! nothing a client sent is silently dropped.

use serde_json::Value;

use super::fields::{
    Object, invalid_value, missing, object, openai_options, opt_array, opt_bool, opt_f32, opt_i64,
    opt_object, opt_string, opt_u32, string, wrong_type,
};
use super::messages::decode_messages;
use crate::ir::{
    ChatRequest, Dialect, GenerationParams, JsonSchemaFormat, ReasoningConfig, ResponseFormat,
    Tool, ToolChoice,
};
use crate::surfaces::{ClientError, Decoded, ErrorKind};

/// The schema a function tool gets when it declares no `parameters` (OpenAI's default:
/// a function that takes no arguments).
const EMPTY_PARAMETERS: &str = r#"{"type":"object","properties":{}}"#;

/// Decodes a `POST /v1/chat/completions` body.
pub fn decode(body: &[u8]) -> Result<Decoded, ClientError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ClientError::new(
            ErrorKind::InvalidRequest,
            format!("could not parse the JSON body: {e}"),
        )
        .code("invalid_json")
    })?;
    let Value::Object(mut body) = value else {
        return Err(ClientError::new(
            ErrorKind::InvalidRequest,
            "the request body must be a JSON object",
        )
        .code("invalid_json"));
    };

    let model = string(body.remove("model"), "model")?;
    let items =
        opt_array(body.remove("messages"), "messages")?.ok_or_else(|| missing("messages"))?;
    if items.is_empty() {
        return Err(invalid_value("messages", "expected a non-empty array").code("empty_array"));
    }
    let conversation = decode_messages(items)?;

    if let Some(n) = opt_u32(body.remove("n"), "n")?
        && n != 1
    {
        return Err(invalid_value(
            "n",
            format!("this proxy returns exactly one choice, so n must be 1 (got {n})"),
        ));
    }

    let stream = opt_bool(body.remove("stream"), "stream")?.unwrap_or(false);
    let include_usage = stream_options(&mut body)?;
    let tools = decode_tools(body.remove("tools"))?;
    let tool_choice = decode_tool_choice(body.remove("tool_choice"))?;
    let params = decode_params(&mut body)?;

    body.retain(|_, value| !value.is_null());
    let request = ChatRequest {
        system: conversation.system,
        messages: conversation.messages,
        tools,
        tool_choice,
        params,
        stream,
        options: openai_options(body),
    };
    Ok(Decoded {
        dialect: Dialect::OpenaiChat,
        model,
        stream,
        include_usage,
        request,
    })
}

/// `stream_options.include_usage`; any other stream option stays in the body's leftovers.
fn stream_options(body: &mut Object) -> Result<bool, ClientError> {
    let Some(mut options) = opt_object(body.remove("stream_options"), "stream_options")? else {
        return Ok(false);
    };
    let include_usage = opt_bool(
        options.remove("include_usage"),
        "stream_options.include_usage",
    )?
    .unwrap_or(false);
    if !options.is_empty() {
        body.insert("stream_options".to_owned(), Value::Object(options));
    }
    Ok(include_usage)
}

/// Sampling, length and format controls.
fn decode_params(body: &mut Object) -> Result<GenerationParams, ClientError> {
    // `max_completion_tokens` replaced `max_tokens`; when both come, the newer one wins.
    let max_tokens = opt_u32(body.remove("max_tokens"), "max_tokens")?;
    let max_completion_tokens = opt_u32(
        body.remove("max_completion_tokens"),
        "max_completion_tokens",
    )?;
    let effort = opt_string(body.remove("reasoning_effort"), "reasoning_effort")?;
    Ok(GenerationParams {
        max_tokens: max_completion_tokens.or(max_tokens),
        temperature: opt_f32(body.remove("temperature"), "temperature")?,
        top_p: opt_f32(body.remove("top_p"), "top_p")?,
        top_k: None,
        stop: decode_stop(body.remove("stop"))?,
        seed: opt_i64(body.remove("seed"), "seed")?,
        presence_penalty: opt_f32(body.remove("presence_penalty"), "presence_penalty")?,
        frequency_penalty: opt_f32(body.remove("frequency_penalty"), "frequency_penalty")?,
        reasoning: effort.map(|effort| ReasoningConfig {
            effort: Some(effort),
            budget_tokens: None,
        }),
        response_format: decode_response_format(body.remove("response_format"))?,
        parallel_tool_calls: opt_bool(body.remove("parallel_tool_calls"), "parallel_tool_calls")?,
    })
}

/// `stop`: a string or an array of strings.
fn decode_stop(value: Option<Value>) -> Result<Vec<String>, ClientError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(stop)) => Ok(vec![stop]),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| match item {
                Value::String(stop) => Ok(stop),
                other => Err(wrong_type(&format!("stop[{index}]"), "a string", &other)),
            })
            .collect(),
        Some(other) => Err(wrong_type(
            "stop",
            "a string or an array of strings",
            &other,
        )),
    }
}

/// `tools[]`: function tools only; `strict` and unknown function fields ride in options.
fn decode_tools(value: Option<Value>) -> Result<Vec<Tool>, ClientError> {
    let items = opt_array(value, "tools")?.unwrap_or_default();
    let mut tools = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let path = format!("tools[{index}]");
        let mut fields = object(Some(item), &path)?;
        let kind = string(fields.remove("type"), &format!("{path}.type"))?;
        if kind != "function" {
            return Err(invalid_value(
                &format!("{path}.type"),
                format!(
                    "unsupported tool type '{kind}'; only 'function' tools can be routed to every provider"
                ),
            ));
        }
        let mut function = object(fields.remove("function"), &format!("{path}.function"))?;
        let name = string(function.remove("name"), &format!("{path}.function.name"))?;
        let description = opt_string(
            function.remove("description"),
            &format!("{path}.function.description"),
        )?;
        let input_schema = match function.remove("parameters") {
            None | Some(Value::Null) => EMPTY_PARAMETERS.to_owned(),
            Some(schema @ Value::Object(_)) => schema.to_string(),
            Some(other) => {
                return Err(wrong_type(
                    &format!("{path}.function.parameters"),
                    "an object",
                    &other,
                ));
            }
        };
        function.extend(fields);
        function.retain(|_, value| !value.is_null());
        tools.push(Tool {
            name,
            description,
            input_schema,
            options: openai_options(function),
        });
    }
    Ok(tools)
}

/// `tool_choice`: `"auto" | "none" | "required"` or `{"type":"function","function":{"name"}}`.
fn decode_tool_choice(value: Option<Value>) -> Result<Option<ToolChoice>, ClientError> {
    const EXPECTED: &str = "expected 'auto', 'none', 'required' or {\"type\":\"function\",\"function\":{\"name\":...}}";
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(choice)) => match choice.as_str() {
            "auto" => Ok(Some(ToolChoice::Auto)),
            "none" => Ok(Some(ToolChoice::None)),
            "required" => Ok(Some(ToolChoice::Required)),
            other => Err(invalid_value(
                "tool_choice",
                format!("'{other}' is not a choice; {EXPECTED}"),
            )),
        },
        Some(Value::Object(mut fields)) => {
            let kind = opt_string(fields.remove("type"), "tool_choice.type")?;
            if kind.as_deref().is_some_and(|kind| kind != "function") {
                return Err(invalid_value("tool_choice.type", EXPECTED));
            }
            let mut function = object(fields.remove("function"), "tool_choice.function")?;
            let name = string(function.remove("name"), "tool_choice.function.name")?;
            Ok(Some(ToolChoice::Tool(name)))
        }
        Some(other) => Err(wrong_type("tool_choice", "a string or an object", &other)),
    }
}

/// `response_format`: `text`, `json_object`, or `json_schema` with its schema.
fn decode_response_format(value: Option<Value>) -> Result<Option<ResponseFormat>, ClientError> {
    let Some(mut fields) = opt_object(value, "response_format")? else {
        return Ok(None);
    };
    let kind = string(fields.remove("type"), "response_format.type")?;
    match kind.as_str() {
        "text" => Ok(Some(ResponseFormat::Text)),
        "json_object" => Ok(Some(ResponseFormat::JsonObject)),
        "json_schema" => {
            let mut spec = object(fields.remove("json_schema"), "response_format.json_schema")?;
            let name = opt_string(spec.remove("name"), "response_format.json_schema.name")?;
            let schema = match spec.remove("schema") {
                None | Some(Value::Null) => "{}".to_owned(),
                Some(schema @ Value::Object(_)) => schema.to_string(),
                Some(other) => {
                    return Err(wrong_type(
                        "response_format.json_schema.schema",
                        "an object",
                        &other,
                    ));
                }
            };
            Ok(Some(ResponseFormat::JsonSchema(JsonSchemaFormat {
                name: name.unwrap_or_else(|| "response".to_owned()),
                schema,
                strict: opt_bool(spec.remove("strict"), "response_format.json_schema.strict")?
                    .unwrap_or(false),
                description: opt_string(
                    spec.remove("description"),
                    "response_format.json_schema.description",
                )?,
            })))
        }
        other => Err(invalid_value(
            "response_format.type",
            format!("'{other}' is not a format; expected 'text', 'json_object' or 'json_schema'"),
        )),
    }
}
