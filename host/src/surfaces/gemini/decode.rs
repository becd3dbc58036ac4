//! A `GenerateContentRequest` body, into a [`Decoded`] IR request.
//!
//! The decoder removes each field it understands; what the IR has no field for
//! (`safetySettings`, `cachedContent`, `labels`, built-in tools such as `googleSearch`,
//! `generationConfig` knobs such as `responseModalities`, the whole `thinkingConfig`)
//! lands in `request.options["gemini"]` under its camelCase name, so a Gemini upstream
//! can get every field back and nothing a client sent is silently dropped.

use serde_json::Value;

use super::contents::{decode_contents, decode_system};
use super::fields::{
    Object, camel_keys, gemini_options, invalid_value, missing, opt_array, opt_bool, opt_f32,
    opt_i64, opt_object, opt_string, opt_u32, string, take, wrong_type,
};
use super::schema::{SchemaKind, to_json_schema};
use crate::ir::{
    ChatRequest, Dialect, GenerationParams, JsonSchemaFormat, ReasoningConfig, ResponseFormat,
    Tool, ToolChoice,
};
use crate::surfaces::{ClientError, Decoded, ErrorKind};

/// The schema a function gets when it declares no parameters: no arguments.
const EMPTY_PARAMETERS: &str = r#"{"type":"object","properties":{}}"#;

/// Decodes a `:generateContent` / `:streamGenerateContent` body for `model` (from the
/// URL, with or without its `models/` prefix); `stream` says which of the two it was.
pub fn decode(body: &[u8], model: &str, stream: bool) -> Result<Decoded, ClientError> {
    decode_request(parse_object(body)?, model, stream)
}

/// Decodes a `:countTokens` body: either `{"generateContentRequest": {...}}` (what the
/// SDKs send when a system instruction or tools are counted) or a bare `{"contents"}`.
pub fn decode_count_tokens(body: &[u8], model: &str) -> Result<Decoded, ClientError> {
    let mut body = parse_object(body)?;
    match opt_object(
        take(&mut body, "generateContentRequest"),
        "generateContentRequest",
    )? {
        Some(inner) => decode_request(inner, model, false),
        None => decode_request(body, model, false),
    }
}

fn parse_object(body: &[u8]) -> Result<Object, ClientError> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ClientError::new(
            ErrorKind::InvalidRequest,
            "Invalid JSON payload received. The request body must be a JSON object.",
        )
        .code("invalid_json")),
        Err(e) => Err(ClientError::new(
            ErrorKind::InvalidRequest,
            format!("Invalid JSON payload received. {e}"),
        )
        .code("invalid_json")),
    }
}

fn decode_request(mut body: Object, url_model: &str, stream: bool) -> Result<Decoded, ClientError> {
    // The body's `model` (countTokens' inner request has one) only stands in for a URL
    // that named none.
    let body_model = opt_string(take(&mut body, "model"), "model")?;
    let model = [url_model, body_model.as_deref().unwrap_or_default()]
        .into_iter()
        .map(|name| name.strip_prefix("models/").unwrap_or(name))
        .find(|name| !name.is_empty())
        .ok_or_else(|| missing("model"))?
        .to_owned();

    let contents =
        opt_array(take(&mut body, "contents"), "contents")?.ok_or_else(|| missing("contents"))?;
    let messages = decode_contents(contents)?;
    let system = decode_system(take(&mut body, "systemInstruction"))?;
    let mut kept = Object::new();
    let tools = decode_tools(take(&mut body, "tools"), &mut kept)?;
    let tool_choice = decode_tool_config(take(&mut body, "toolConfig"), &mut kept)?;
    let params = decode_generation_config(take(&mut body, "generationConfig"), &mut kept)?;

    body.retain(|_, value| !value.is_null());
    kept.extend(camel_keys(body));
    let request = ChatRequest {
        system,
        messages,
        tools,
        tool_choice,
        params,
        stream,
        options: gemini_options(kept),
    };
    Ok(Decoded {
        dialect: Dialect::Gemini,
        model,
        stream,
        // Gemini always reports usageMetadata on the last chunk.
        include_usage: true,
        request,
    })
}

/// `tools[]`: every `functionDeclarations` entry becomes an IR tool; built-in tools
/// (`googleSearch`, `codeExecution`, `urlContext`, ...) are kept in `kept["tools"]`.
fn decode_tools(value: Option<Value>, kept: &mut Object) -> Result<Vec<Tool>, ClientError> {
    let items = opt_array(value, "tools")?.unwrap_or_default();
    let mut tools = Vec::new();
    let mut other_tools = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let path = format!("tools[{index}]");
        let Some(mut tool) = opt_object(Some(item), &path)? else {
            continue;
        };
        let declarations = opt_array(
            take(&mut tool, "functionDeclarations"),
            &format!("{path}.functionDeclarations"),
        )?
        .unwrap_or_default();
        for (position, declaration) in declarations.into_iter().enumerate() {
            let path = format!("{path}.functionDeclarations[{position}]");
            let Some(declaration) = opt_object(Some(declaration), &path)? else {
                return Err(missing(&path));
            };
            tools.push(decode_declaration(declaration, &path)?);
        }
        tool.retain(|_, value| !value.is_null());
        if !tool.is_empty() {
            other_tools.push(Value::Object(camel_keys(tool)));
        }
    }
    if !other_tools.is_empty() {
        kept.insert("tools".into(), Value::Array(other_tools));
    }
    Ok(tools)
}

/// One `FunctionDeclaration`: `parametersJsonSchema` wins over `parameters` when both
/// come, as it does at Gemini.
fn decode_declaration(mut declaration: Object, path: &str) -> Result<Tool, ClientError> {
    let name = string(take(&mut declaration, "name"), &format!("{path}.name"))?;
    let description = opt_string(
        take(&mut declaration, "description"),
        &format!("{path}.description"),
    )?;
    let json_schema = take(&mut declaration, "parametersJsonSchema");
    let gemini_schema = take(&mut declaration, "parameters");
    let schema = match (json_schema, gemini_schema) {
        (Some(schema @ Value::Object(_)), _) => to_json_schema(schema, SchemaKind::Json),
        (None | Some(Value::Null), Some(schema @ Value::Object(_))) => {
            to_json_schema(schema, SchemaKind::Gemini)
        }
        (None | Some(Value::Null), None | Some(Value::Null)) => {
            serde_json::from_str(EMPTY_PARAMETERS).expect("a constant schema parses")
        }
        (Some(other), _) => {
            return Err(wrong_type(
                &format!("{path}.parametersJsonSchema"),
                "an object",
                &other,
            ));
        }
        (_, Some(other)) => {
            return Err(wrong_type(
                &format!("{path}.parameters"),
                "an object",
                &other,
            ));
        }
    };
    declaration.retain(|_, value| !value.is_null());
    Ok(Tool {
        name,
        description,
        input_schema: schema.to_string(),
        options: gemini_options(camel_keys(declaration)),
    })
}

/// `toolConfig.functionCallingConfig {mode, allowedFunctionNames}` as a tool choice.
/// `ANY` with one allowed name forces that tool; what a choice cannot say (several
/// allowed names, `VALIDATED`, `retrievalConfig`) keeps the whole `toolConfig` in
/// `kept["toolConfig"]`.
fn decode_tool_config(
    value: Option<Value>,
    kept: &mut Object,
) -> Result<Option<ToolChoice>, ClientError> {
    let Some(mut config) = opt_object(value, "toolConfig")? else {
        return Ok(None);
    };
    let original = config.clone();
    let Some(mut calling) = opt_object(
        take(&mut config, "functionCallingConfig"),
        "toolConfig.functionCallingConfig",
    )?
    else {
        config.retain(|_, value| !value.is_null());
        if !config.is_empty() {
            kept.insert("toolConfig".into(), Value::Object(camel_keys(original)));
        }
        return Ok(None);
    };
    let mode = opt_string(
        take(&mut calling, "mode"),
        "toolConfig.functionCallingConfig.mode",
    )?
    .map(|mode| mode.to_ascii_uppercase());
    let names = opt_array(
        take(&mut calling, "allowedFunctionNames"),
        "toolConfig.functionCallingConfig.allowedFunctionNames",
    )?
    .unwrap_or_default()
    .into_iter()
    .enumerate()
    .map(|(index, name)| {
        string(
            Some(name),
            &format!("toolConfig.functionCallingConfig.allowedFunctionNames[{index}]"),
        )
    })
    .collect::<Result<Vec<_>, _>>()?;
    let choice = match mode.as_deref() {
        None | Some("MODE_UNSPECIFIED") | Some("AUTO") | Some("VALIDATED") => ToolChoice::Auto,
        Some("ANY") if names.len() == 1 => ToolChoice::Tool(names[0].clone()),
        Some("ANY") => ToolChoice::Required,
        Some("NONE") => ToolChoice::None,
        Some(other) => {
            return Err(invalid_value(
                "toolConfig.functionCallingConfig.mode",
                format!("'{other}' is not a mode; expected AUTO, ANY, NONE or VALIDATED"),
            ));
        }
    };
    calling.retain(|_, value| !value.is_null());
    config.retain(|_, value| !value.is_null());
    let exact = mode.as_deref() != Some("VALIDATED")
        && (names.is_empty() || (matches!(choice, ToolChoice::Tool(_))))
        && calling.is_empty()
        && config.is_empty();
    if !exact {
        let mut original = camel_keys(original);
        if let Some(Value::Object(calling)) = original.remove("functionCallingConfig") {
            original.insert(
                "functionCallingConfig".into(),
                Value::Object(camel_keys(calling)),
            );
        }
        kept.insert("toolConfig".into(), Value::Object(original));
    }
    Ok(Some(choice))
}

/// `generationConfig`: sampling, length, format and thinking. Knobs the IR has no
/// field for, and the whole `thinkingConfig`, are kept in `kept["generationConfig"]`.
fn decode_generation_config(
    value: Option<Value>,
    kept: &mut Object,
) -> Result<GenerationParams, ClientError> {
    let Some(mut config) = opt_object(value, "generationConfig")? else {
        return Ok(GenerationParams::default());
    };
    let field = |name: &str| format!("generationConfig.{name}");
    if let Some(count) = opt_i64(
        take(&mut config, "candidateCount"),
        &field("candidateCount"),
    )? && count != 1
    {
        return Err(invalid_value(
            &field("candidateCount"),
            format!(
                "this proxy returns exactly one candidate, so candidateCount must be 1 (got {count})"
            ),
        ));
    }
    let stop = opt_array(take(&mut config, "stopSequences"), &field("stopSequences"))?
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(index, stop)| {
            string(
                Some(stop),
                &format!("generationConfig.stopSequences[{index}]"),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut extras = Object::new();
    let reasoning = decode_thinking(take(&mut config, "thinkingConfig"), &mut extras)?;
    let response_format = decode_response_format(&mut config, &mut extras)?;
    let params = GenerationParams {
        max_tokens: opt_u32(
            take(&mut config, "maxOutputTokens"),
            &field("maxOutputTokens"),
        )?,
        temperature: opt_f32(take(&mut config, "temperature"), &field("temperature"))?,
        top_p: opt_f32(take(&mut config, "topP"), &field("topP"))?,
        top_k: opt_u32(take(&mut config, "topK"), &field("topK"))?,
        stop,
        seed: opt_i64(take(&mut config, "seed"), &field("seed"))?,
        presence_penalty: opt_f32(
            take(&mut config, "presencePenalty"),
            &field("presencePenalty"),
        )?,
        frequency_penalty: opt_f32(
            take(&mut config, "frequencyPenalty"),
            &field("frequencyPenalty"),
        )?,
        reasoning,
        response_format,
        parallel_tool_calls: None,
    };
    config.retain(|_, value| !value.is_null());
    extras.extend(camel_keys(config));
    if !extras.is_empty() {
        kept.insert("generationConfig".into(), Value::Object(extras));
    }
    Ok(params)
}

/// `thinkingConfig {includeThoughts, thinkingBudget, thinkingLevel}`. A level names an
/// effort; a positive budget is a budget; `-1` (dynamic) and a bare `includeThoughts`
/// ask for thinking at the model's discretion, read as `medium`; a budget of 0 turns
/// thinking off. The object itself is kept whole, for a Gemini upstream.
fn decode_thinking(
    value: Option<Value>,
    extras: &mut Object,
) -> Result<Option<ReasoningConfig>, ClientError> {
    const PATH: &str = "generationConfig.thinkingConfig";
    let Some(mut thinking) = opt_object(value, PATH)? else {
        return Ok(None);
    };
    thinking.retain(|_, value| !value.is_null());
    let original = camel_keys(thinking.clone());
    let include = opt_bool(
        take(&mut thinking, "includeThoughts"),
        &format!("{PATH}.includeThoughts"),
    )?;
    let budget = opt_i64(
        take(&mut thinking, "thinkingBudget"),
        &format!("{PATH}.thinkingBudget"),
    )?;
    let level = opt_string(
        take(&mut thinking, "thinkingLevel"),
        &format!("{PATH}.thinkingLevel"),
    )?
    .map(|level| level.to_ascii_lowercase())
    .filter(|level| level != "thinking_level_unspecified");
    if !original.is_empty() {
        extras.insert("thinkingConfig".into(), Value::Object(original));
    }
    let reasoning = match (level, budget) {
        (_, Some(0)) => None,
        (Some(level), budget) => Some(ReasoningConfig {
            effort: Some(level),
            budget_tokens: budget.and_then(|b| u32::try_from(b).ok()),
        }),
        (None, Some(budget)) if budget > 0 => Some(ReasoningConfig {
            effort: None,
            budget_tokens: Some(u32::try_from(budget).unwrap_or(u32::MAX)),
        }),
        (None, Some(_)) => Some(ReasoningConfig {
            effort: Some("medium".into()),
            budget_tokens: None,
        }),
        (None, None) if include == Some(true) => Some(ReasoningConfig {
            effort: Some("medium".into()),
            budget_tokens: None,
        }),
        (None, None) => None,
    };
    Ok(reasoning)
}

/// `responseMimeType` with `responseJsonSchema` (JSON Schema) or `responseSchema`
/// (Gemini schema). JSON with a schema is a strict JSON schema format (Gemini enforces
/// it); JSON alone is a JSON object; `text/plain` is the default. Other types
/// (`text/x.enum`) have no IR form and are kept with their schema.
fn decode_response_format(
    config: &mut Object,
    extras: &mut Object,
) -> Result<Option<ResponseFormat>, ClientError> {
    let mime = opt_string(
        take(config, "responseMimeType"),
        "generationConfig.responseMimeType",
    )?;
    let json_schema = take(config, "responseJsonSchema").filter(|v| !v.is_null());
    let gemini_schema = take(config, "responseSchema").filter(|v| !v.is_null());
    let is_json = match mime.as_deref() {
        Some("application/json") => true,
        None | Some("") | Some("text/plain") => json_schema.is_some() || gemini_schema.is_some(),
        Some(other) => {
            extras.insert("responseMimeType".into(), Value::String(other.to_owned()));
            if let Some(schema) = json_schema {
                extras.insert("responseJsonSchema".into(), schema);
            }
            if let Some(schema) = gemini_schema {
                extras.insert("responseSchema".into(), schema);
            }
            return Ok(None);
        }
    };
    if !is_json {
        return Ok(None);
    }
    let schema = match (json_schema, gemini_schema) {
        (Some(schema @ Value::Object(_)), _) => Some(to_json_schema(schema, SchemaKind::Json)),
        (None, Some(schema @ Value::Object(_))) => Some(to_json_schema(schema, SchemaKind::Gemini)),
        (None, None) => None,
        (Some(other), _) => {
            return Err(wrong_type(
                "generationConfig.responseJsonSchema",
                "an object",
                &other,
            ));
        }
        (_, Some(other)) => {
            return Err(wrong_type(
                "generationConfig.responseSchema",
                "an object",
                &other,
            ));
        }
    };
    Ok(Some(match schema {
        Some(schema) => ResponseFormat::JsonSchema(JsonSchemaFormat {
            name: "response".to_owned(),
            schema: schema.to_string(),
            strict: true,
            description: None,
        }),
        None => ResponseFormat::JsonObject,
    }))
}
