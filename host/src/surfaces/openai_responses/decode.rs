//! A Responses request body, into a [`Decoded`] IR request.
//!
//! Fields go three ways. What the IR models becomes IR. What Chat Completions also
//! accepts (`store`, `metadata`, `prompt_cache_key`, `service_tier`, `user`,
//! `safety_identifier`, `prompt_cache_retention`) goes to `options.openai`, which the
//! OpenAI adapter splices into its upstream body. Everything else (Responses-only:
//! `include`, `truncation`, `reasoning.summary`, `text.verbosity`, hosted tools, unknown
//! fields) goes to `options["openai-responses"]`: kept, but never spliced into a Chat
//! Completions body, which would refuse it. Features that need responses stored
//! server-side are refused.

use serde_json::Value;

use super::fields::{
    Object, invalid_value, missing, opt_bool, opt_f32, opt_object, opt_string, opt_u32, string,
    unsupported, wrong_type,
};
use super::items::decode_input;
use super::tools::{Tools, decode_tool_choice};
use super::{OPENAI, RESPONSES};
use crate::ir::{
    ChatRequest, Dialect, GenerationParams, JsonSchemaFormat, ReasoningConfig, ResponseFormat,
};
use crate::surfaces::{ClientError, Decoded, ErrorKind};

/// Top-level fields Chat Completions accepts as well, passed to `options.openai`.
const CHAT_COMPATIBLE: [&str; 7] = [
    "store",
    "metadata",
    "prompt_cache_key",
    "prompt_cache_retention",
    "service_tier",
    "user",
    "safety_identifier",
];

/// Decodes a `POST /v1/responses` body.
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
    refuse_stored_state(&mut body)?;

    let model = string(body.remove("model"), "model")?;
    let instructions = opt_string(body.remove("instructions"), "instructions")?;
    let input = match body.remove("input") {
        None | Some(Value::Null) => return Err(missing("input")),
        Some(input) => input,
    };
    let conversation = decode_input(instructions, input)?;

    let mut kept = Object::new();
    let mut tools = Tools::default();
    if let Some(items) = body.remove("tools").filter(|v| !v.is_null()) {
        let Value::Array(items) = items else {
            return Err(wrong_type("tools", "an array", &items));
        };
        tools.add(items, "tools")?;
    }
    tools.add(conversation.declared_tools, "input[].tools")?;
    if !tools.hosted.is_empty() {
        kept.insert("tools".to_owned(), Value::Array(tools.hosted));
    }
    if !conversation.kept_items.is_empty() {
        kept.insert(
            "input_items".to_owned(),
            Value::Array(conversation.kept_items),
        );
    }
    let tool_choice = decode_tool_choice(body.remove("tool_choice"), &mut kept)?;

    let stream = opt_bool(body.remove("stream"), "stream")?.unwrap_or(false);
    let params = GenerationParams {
        max_tokens: opt_u32(body.remove("max_output_tokens"), "max_output_tokens")?,
        temperature: opt_f32(body.remove("temperature"), "temperature")?,
        top_p: opt_f32(body.remove("top_p"), "top_p")?,
        reasoning: decode_reasoning(body.remove("reasoning"), &mut kept)?,
        response_format: decode_text(body.remove("text"), &mut kept)?,
        parallel_tool_calls: opt_bool(body.remove("parallel_tool_calls"), "parallel_tool_calls")?,
        ..Default::default()
    };

    let mut openai = Object::new();
    for key in CHAT_COMPATIBLE {
        if let Some(value) = body.remove(key).filter(|v| !v.is_null()) {
            openai.insert(key.to_owned(), value);
        }
    }
    body.retain(|_, value| !value.is_null());
    kept.extend(body);

    let mut options = Object::new();
    if !openai.is_empty() {
        options.insert(OPENAI.to_owned(), Value::Object(openai));
    }
    if !kept.is_empty() {
        options.insert(RESPONSES.to_owned(), Value::Object(kept));
    }
    let request = ChatRequest {
        system: conversation.system,
        messages: conversation.messages,
        tools: tools.tools,
        tool_choice,
        params,
        stream,
        options: (!options.is_empty()).then_some(Value::Object(options)),
    };
    Ok(Decoded {
        dialect: Dialect::OpenaiResponses,
        model,
        stream,
        // Responses always reports usage in its final event.
        include_usage: false,
        request,
    })
}

/// `previous_response_id`, `conversation`, stored `prompt` templates and `background`
/// runs all need state kept on the server between requests, which this proxy does not
/// keep: refused, saying what to do instead.
fn refuse_stored_state(body: &mut Object) -> Result<(), ClientError> {
    const RESEND: &str = "this proxy does not store responses; send the whole conversation in `input` (with `store: false`, as Codex does)";
    for key in ["previous_response_id", "conversation", "prompt"] {
        if body.get(key).is_some_and(|v| !v.is_null()) {
            let what = match key {
                "previous_response_id" => "previous_response_id cannot be resolved",
                "conversation" => "conversations cannot be resolved",
                _ => "stored prompt templates cannot be resolved",
            };
            return Err(unsupported(key, format!("{what}: {RESEND}")));
        }
        body.remove(key);
    }
    if opt_bool(body.remove("background"), "background")? == Some(true) {
        return Err(unsupported(
            "background",
            "background responses need a stored response to poll, and this proxy does not store responses; stream instead",
        ));
    }
    Ok(())
}

/// `reasoning: {effort, summary}`: the effort is IR; the summary mode is kept.
fn decode_reasoning(
    value: Option<Value>,
    kept: &mut Object,
) -> Result<Option<ReasoningConfig>, ClientError> {
    let Some(mut fields) = opt_object(value, "reasoning")? else {
        return Ok(None);
    };
    let effort = opt_string(fields.remove("effort"), "reasoning.effort")?;
    fields.retain(|_, value| !value.is_null());
    if !fields.is_empty() {
        kept.insert("reasoning".to_owned(), Value::Object(fields));
    }
    Ok(effort.map(|effort| ReasoningConfig {
        effort: Some(effort),
        budget_tokens: None,
    }))
}

/// `text: {format, verbosity}`: the format becomes the IR's response format; the
/// verbosity is kept.
fn decode_text(
    value: Option<Value>,
    kept: &mut Object,
) -> Result<Option<ResponseFormat>, ClientError> {
    let Some(mut fields) = opt_object(value, "text")? else {
        return Ok(None);
    };
    let format = match opt_object(fields.remove("format"), "text.format")? {
        None => None,
        Some(mut format) => {
            let kind = string(format.remove("type"), "text.format.type")?;
            Some(match kind.as_str() {
                "text" => ResponseFormat::Text,
                "json_object" => ResponseFormat::JsonObject,
                "json_schema" => {
                    let schema = match format.remove("schema") {
                        Some(schema @ Value::Object(_)) => schema.to_string(),
                        None | Some(Value::Null) => return Err(missing("text.format.schema")),
                        Some(other) => {
                            return Err(wrong_type("text.format.schema", "an object", &other));
                        }
                    };
                    ResponseFormat::JsonSchema(JsonSchemaFormat {
                        name: opt_string(format.remove("name"), "text.format.name")?
                            .unwrap_or_else(|| "response".to_owned()),
                        schema,
                        strict: opt_bool(format.remove("strict"), "text.format.strict")?
                            .unwrap_or(false),
                        description: opt_string(
                            format.remove("description"),
                            "text.format.description",
                        )?,
                    })
                }
                other => {
                    return Err(invalid_value(
                        "text.format.type",
                        format!(
                            "'{other}' is not a format; expected 'text', 'json_object' or 'json_schema'"
                        ),
                    ));
                }
            })
        }
    };
    fields.retain(|_, value| !value.is_null());
    if !fields.is_empty() {
        kept.insert("text".to_owned(), Value::Object(fields));
    }
    Ok(format)
}
