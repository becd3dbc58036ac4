//! The `response` object and its output items, shared by the stream (whose first and
//! last events carry the object) and the non-streaming answer.
//!
//! Item ids are derived from the response id and the item's position, so the streamed
//! and the collected forms of one upstream answer are identical.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::{OPENAI, RESPONSES};
use crate::ir::{ChatRequest, FinishReason, Part, ResponseFormat, ToolChoice, Usage};
use crate::surfaces::ClientError;
use crate::surfaces::collect::Collected;
use crate::surfaces::opaque_reasoning;

/// What a response echoes of its request (`tools`, `tool_choice`, `temperature`...),
/// and which tool names need a `custom_tool_call` or a `namespace` on the way back.
#[derive(Debug, Clone, Default)]
pub struct RequestEcho {
    /// Request fields the response object repeats, over the defaults.
    fields: Map<String, Value>,
    /// Names of `custom` tools.
    custom_tools: Vec<String>,
    /// (flattened name, namespace, name in the namespace).
    namespaced: Vec<(String, String, String)>,
}

impl RequestEcho {
    /// The echo of a decoded request.
    pub fn from_request(request: &ChatRequest) -> Self {
        let mut echo = RequestEcho::default();
        let mut tools = Vec::new();
        for tool in &request.tools {
            let openai = tool.options.as_ref().and_then(|o| o.get(OPENAI));
            let field = |key: &str| openai.and_then(|o| o.get(key)).cloned();
            if let (Some(Value::String(namespace)), Some(Value::String(name))) =
                (field("namespace"), field("name"))
            {
                echo.namespaced.push((tool.name.clone(), namespace, name));
            }
            let custom = field("type").is_some_and(|t| t == "custom");
            if custom {
                echo.custom_tools.push(tool.name.clone());
                tools.push(json!({
                    "type": "custom",
                    "name": tool.name,
                    "description": field("description"),
                    "format": field("format").unwrap_or_else(|| json!({"type": "text"})),
                }));
            } else {
                tools.push(json!({
                    "type": "function",
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": serde_json::from_str::<Value>(&tool.input_schema).unwrap_or(Value::Null),
                    "strict": field("strict").unwrap_or(Value::Bool(false)),
                }));
            }
        }
        let kept = request.options.as_ref().and_then(|o| o.get(RESPONSES));
        if let Some(Value::Array(hosted)) = kept.and_then(|k| k.get("tools")) {
            tools.extend(hosted.iter().cloned());
        }
        let fields = &mut echo.fields;
        fields.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = &request.tool_choice {
            fields.insert("tool_choice".into(), tool_choice_json(choice, kept));
        }
        let params = &request.params;
        if let Some(parallel) = params.parallel_tool_calls {
            fields.insert("parallel_tool_calls".into(), json!(parallel));
        }
        if let Some(max) = params.max_tokens {
            fields.insert("max_output_tokens".into(), json!(max));
        }
        if let Some(t) = params.temperature {
            fields.insert("temperature".into(), float(t));
        }
        if let Some(p) = params.top_p {
            fields.insert("top_p".into(), float(p));
        }
        let summary = kept.and_then(|k| k.pointer("/reasoning/summary")).cloned();
        let effort = params.reasoning.as_ref().and_then(|r| r.effort.clone());
        if effort.is_some() || summary.is_some() {
            fields.insert(
                "reasoning".into(),
                json!({"effort": effort, "summary": summary}),
            );
        }
        let format = match &params.response_format {
            None | Some(ResponseFormat::Text) => json!({"type": "text"}),
            Some(ResponseFormat::JsonObject) => json!({"type": "json_object"}),
            Some(ResponseFormat::JsonSchema(schema)) => json!({
                "type": "json_schema",
                "name": schema.name,
                "schema": serde_json::from_str::<Value>(&schema.schema).unwrap_or(Value::Null),
                "strict": schema.strict,
                "description": schema.description,
            }),
        };
        let verbosity = kept
            .and_then(|k| k.pointer("/text/verbosity"))
            .cloned()
            .unwrap_or_else(|| json!("medium"));
        fields.insert(
            "text".into(),
            json!({"format": format, "verbosity": verbosity}),
        );
        if let Some(Value::Object(openai)) = request.options.as_ref().and_then(|o| o.get(OPENAI)) {
            for (key, value) in openai {
                fields.insert(key.clone(), value.clone());
            }
        }
        if let Some(truncation) = kept.and_then(|k| k.get("truncation")) {
            fields.insert("truncation".into(), truncation.clone());
        }
        echo
    }

    /// Whether calls to `name` go back as `custom_tool_call` items.
    pub(super) fn is_custom(&self, name: &str) -> bool {
        self.custom_tools.iter().any(|custom| custom == name)
    }

    /// The name and namespace a call to the IR tool `name` goes back with.
    pub(super) fn client_name<'a>(&'a self, name: &'a str) -> (&'a str, Option<&'a str>) {
        match self.namespaced.iter().find(|(flat, _, _)| flat == name) {
            Some((_, namespace, inner)) => (inner, Some(namespace)),
            None => (name, None),
        }
    }
}

fn tool_choice_json(choice: &ToolChoice, kept: Option<&Value>) -> Value {
    if let Some(allowed) = kept.and_then(|k| k.get("tool_choice")) {
        return allowed.clone();
    }
    match choice {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Tool(name) => json!({"type": "function", "name": name}),
    }
}

/// An `f32` as the decimal the client wrote (`0.7`, not `0.699999988`).
fn float(value: f32) -> Value {
    value
        .to_string()
        .parse::<f64>()
        .map(|v| json!(v))
        .unwrap_or(Value::Null)
}

/// The response id: the upstream's when already one, behind `resp_` otherwise, else
/// fresh.
pub(super) fn response_id(upstream: Option<&str>) -> String {
    match upstream {
        Some(id) if id.starts_with("resp_") => id.to_owned(),
        Some(id) if !id.is_empty() => format!("resp_{id}"),
        _ => format!("resp_{}", unique_suffix()),
    }
}

/// The id of the output item at `index`: `msg_`, `rs_`, `fc_` or `ctc_`, then the
/// response id's suffix and the position.
pub(super) fn item_id(prefix: &str, response_id: &str, index: usize) -> String {
    let base = response_id.strip_prefix("resp_").unwrap_or(response_id);
    format!("{prefix}_{base}_{index}")
}

/// 24 hex digits, unique within this process and unlikely to repeat across restarts.
fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut z = nanos
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    format!("{z:016x}{:08x}", (z >> 17) as u32)
}

/// Unix seconds now.
pub(super) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A finished `message` item with one `output_text` part.
pub(super) fn message_item(id: &str, text: &str, status: &str) -> Value {
    json!({
        "id": id,
        "type": "message",
        "status": status,
        "content": [output_text(text)],
        "role": "assistant",
    })
}

/// An `output_text` content part.
pub(super) fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text})
}

/// A `reasoning` item: the reasoning text as one summary part, and the opaque payload
/// as `encrypted_content`.
pub(super) fn reasoning_item(id: &str, text: &str, encrypted: Option<&str>) -> Value {
    let summary = if text.is_empty() {
        json!([])
    } else {
        json!([{"type": "summary_text", "text": text}])
    };
    let mut item = json!({"id": id, "type": "reasoning", "summary": summary});
    if let Some(encrypted) = encrypted {
        item["encrypted_content"] = json!(encrypted);
    }
    item
}

/// What goes in `encrypted_content` for reasoning with a redacted payload or a
/// signature: clients send it back verbatim, and the decoder tells the two apart.
pub(super) fn encrypted_content(signature: Option<&str>, redacted: Option<&str>) -> Option<String> {
    opaque_reasoning::as_redacted(signature, redacted)
}

/// A `function_call` or `custom_tool_call` item (the latter takes the `input` out of
/// the `{"input": ...}` arguments).
pub(super) fn call_item(
    echo: &RequestEcho,
    id: &str,
    call_id: &str,
    name: &str,
    arguments: &str,
    status: &str,
) -> Value {
    let (client_name, namespace) = echo.client_name(name);
    if echo.is_custom(name) {
        return json!({
            "id": id,
            "type": "custom_tool_call",
            "status": status,
            "call_id": call_id,
            "name": client_name,
            "input": custom_input(arguments),
        });
    }
    let mut item = json!({
        "id": id,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call_id,
        "name": client_name,
    });
    if let Some(namespace) = namespace {
        item["namespace"] = json!(namespace);
    }
    item
}

/// The free-form input of a custom tool call: the `input` string of its arguments, or
/// the arguments themselves when a model ignored the schema.
pub(super) fn custom_input(arguments: &str) -> String {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(mut fields)) => match fields.remove("input") {
            Some(Value::String(input)) => input,
            _ => arguments.to_owned(),
        },
        _ => arguments.to_owned(),
    }
}

/// Status and `incomplete_details` for a finish reason.
pub(super) fn status(reason: Option<FinishReason>) -> (&'static str, Value) {
    match reason {
        Some(FinishReason::Length) => ("incomplete", json!({"reason": "max_output_tokens"})),
        Some(FinishReason::ContentFilter) => ("incomplete", json!({"reason": "content_filter"})),
        _ => ("completed", Value::Null),
    }
}

/// The `usage` object.
pub(super) fn usage_json(usage: &Usage) -> Value {
    let input = usage.input_tokens.unwrap_or(0);
    let output = usage.output_tokens.unwrap_or(0);
    json!({
        "input_tokens": input,
        "input_tokens_details": {"cached_tokens": usage.cache_read_tokens.unwrap_or(0)},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens.unwrap_or(0)},
        "total_tokens": input + output,
    })
}

/// The `error` of a failed response: the client error's code, or one that says what
/// kind of failure it was (Codex reads `context_length_exceeded`, `insufficient_quota`
/// and `rate_limit_exceeded`).
pub(super) fn error_json(error: &ClientError) -> Value {
    use crate::surfaces::ErrorKind;
    let code = error.code.clone().unwrap_or_else(|| {
        match error.kind {
            ErrorKind::RateLimited => "rate_limit_exceeded",
            ErrorKind::InvalidRequest | ErrorKind::NotFound | ErrorKind::PayloadTooLarge => {
                "invalid_request_error"
            }
            ErrorKind::Authentication | ErrorKind::Permission => "invalid_api_key",
            _ => "server_error",
        }
        .to_owned()
    });
    json!({"code": code, "message": error.message})
}

/// The parts of a `response` object that change as it runs.
pub(super) struct ResponseState<'a> {
    /// `resp_...`.
    pub id: &'a str,
    /// Unix seconds.
    pub created_at: u64,
    /// The client's model name.
    pub model: &'a str,
    /// `in_progress`, `completed`, `incomplete` or `failed`.
    pub status: &'a str,
    /// The output items so far.
    pub output: Vec<Value>,
    /// Usage, once known.
    pub usage: Option<Value>,
    /// Why it is incomplete.
    pub incomplete_details: Value,
    /// Why it failed.
    pub error: Value,
}

/// A complete `response` object with every field the real API sends.
pub(super) fn response_object(state: ResponseState<'_>, echo: &RequestEcho) -> Value {
    let mut object = json!({
        "id": state.id,
        "object": "response",
        "created_at": state.created_at,
        "status": state.status,
        "background": false,
        "error": state.error,
        "incomplete_details": state.incomplete_details,
        "instructions": null,
        "max_output_tokens": null,
        "max_tool_calls": null,
        "model": state.model,
        "output": state.output,
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "prompt_cache_key": null,
        "reasoning": {"effort": null, "summary": null},
        "safety_identifier": null,
        "service_tier": "default",
        "store": false,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": state.usage,
        "user": null,
        "metadata": {},
    });
    let map = object.as_object_mut().expect("built as an object");
    for (key, value) in &echo.fields {
        map.insert(key.clone(), value.clone());
    }
    object
}

/// The output items of a collected response, ids as the stream would give them.
pub(super) fn output_items(
    collected: &Collected,
    response_id: &str,
    echo: &RequestEcho,
) -> Vec<Value> {
    collected
        .parts
        .iter()
        .enumerate()
        .filter_map(|(index, part)| match part {
            Part::Text(text) => Some(message_item(
                &item_id("msg", response_id, index),
                &text.text,
                "completed",
            )),
            Part::Reasoning(reasoning) => Some(reasoning_item(
                &item_id("rs", response_id, index),
                &reasoning.text,
                encrypted_content(
                    reasoning.signature.as_deref(),
                    reasoning.redacted.as_deref(),
                )
                .as_deref(),
            )),
            Part::ToolCall(call) => {
                let prefix = if echo.is_custom(&call.name) {
                    "ctc"
                } else {
                    "fc"
                };
                Some(call_item(
                    echo,
                    &item_id(prefix, response_id, index),
                    &call.id,
                    &call.name,
                    &call.arguments,
                    "completed",
                ))
            }
            Part::File(_) | Part::ToolResult(_) => None,
        })
        .collect()
}
