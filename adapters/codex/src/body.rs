//! The Codex backend's body rules, in one place, applied to every request whichever
//! path built it (the IR through the Responses translator, or a Responses client's own
//! body in passthrough).
//!
//! The backend (`POST {base}/responses`) takes the Responses wire with these
//! differences (facts: `shared/providers/mainline-subscriptions.md` §1.7):
//! - it always streams (`stream: true`) and stores nothing (`store: false`), so
//!   reasoning travels encrypted: `include` is exactly `["reasoning.encrypted_content"]`;
//! - `instructions` must be present (`""` when the client gave none); Plugboard never
//!   puts Codex's own system prompt there;
//! - `input` is a list (a plain string becomes one user message), and a `system`
//!   message is sent as a `developer` one;
//! - the fields in [`REFUSED_FIELDS`] are refused with 400 `Unsupported parameter`;
//! - `service_tier` is accepted only as `priority`;
//! - `parallel_tool_calls` only with tools;
//! - the hosted search tool is `web_search` (not `web_search_preview*`);
//! - content parts carry no `prompt_cache_breakpoint`.
//!
//! Everything else (encrypted reasoning items a client sends back, unknown fields)
//! survives untouched.

use plugboard_sdk::prelude::*;
use serde_json::Map;

/// Top-level fields the backend refuses (`400 Unsupported parameter: ...`); removed.
pub const REFUSED_FIELDS: &[&str] = &[
    "max_output_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "truncation",
    "prompt_cache_options",
    "prompt_cache_retention",
    "user",
    "context_management",
    "previous_response_id",
    "generate",
    "safety_identifier",
    "stream_options",
];

/// The only `include` the backend is sent: stateless turns need reasoning back encrypted.
pub const INCLUDE: &str = "reasoning.encrypted_content";

/// Hosted tool types the backend knows as `web_search`.
const WEB_SEARCH_ALIASES: &[&str] = &["web_search_preview", "web_search_preview_2025_03_11"];

/// Apply every rule to a Responses `body` for upstream model `model`.
pub fn apply(body: &mut Map<String, Value>, model: &str) {
    body.insert("model".into(), json!(model));
    body.insert("stream".into(), json!(true));
    body.insert("store".into(), json!(false));
    body.insert("include".into(), json!([INCLUDE]));
    if body.get("instructions").is_none_or(Value::is_null) {
        body.insert("instructions".into(), json!(""));
    }
    for field in REFUSED_FIELDS {
        body.remove(*field);
    }
    if body.get("service_tier").and_then(Value::as_str) != Some("priority") {
        body.remove("service_tier");
    }
    normalise_input(body);
    let has_tools = match body.get_mut("tools") {
        Some(Value::Array(tools)) => {
            for tool in tools.iter_mut() {
                rename_web_search(tool);
            }
            !tools.is_empty()
        }
        _ => false,
    };
    if !has_tools {
        body.remove("parallel_tool_calls");
    }
}

/// `input` as a list of items: a string wrapped as one user message; `system`
/// messages sent as `developer`; no `prompt_cache_breakpoint` on content parts.
fn normalise_input(body: &mut Map<String, Value>) {
    if let Some(Value::String(text)) = body.get("input") {
        let message = json!({
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        });
        body.insert("input".into(), json!([message]));
    }
    let Some(Value::Array(items)) = body.get_mut("input") else {
        return;
    };
    for item in items.iter_mut().filter_map(Value::as_object_mut) {
        let is_message = item
            .get("type")
            .and_then(Value::as_str)
            .is_none_or(|kind| kind == "message");
        if is_message && item.get("role").and_then(Value::as_str) == Some("system") {
            item.insert("role".into(), json!("developer"));
        }
        if let Some(Value::Array(parts)) = item.get_mut("content") {
            for part in parts.iter_mut().filter_map(Value::as_object_mut) {
                part.remove("prompt_cache_breakpoint");
            }
        }
    }
}

fn rename_web_search(tool: &mut Value) {
    let alias = tool
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|kind| WEB_SEARCH_ALIASES.contains(&kind));
    if alias {
        tool["type"] = json!("web_search");
    }
}

/// The IR path: the Responses translator's body, the request's system text sent as a
/// leading developer message (as Codex's own Chat translation does) rather than as
/// `instructions`, then [`apply`].
pub fn from_ir(mut request: ChatRequest, model: &str) -> Result<Value, AdapterError> {
    if let Some(text) = request.system_text() {
        let system = Message::system_text(text);
        request.system.clear();
        request.messages.insert(0, system);
    }
    let mut body = match adapter_openai_responses::request::encode_body(&request, model)? {
        Value::Object(body) => body,
        other => {
            return Err(AdapterError::internal(format!(
                "the Responses translator built {other}, not an object"
            )));
        }
    };
    apply(&mut body, model);
    Ok(Value::Object(body))
}

/// The passthrough path: a Responses client's own body, parsed, [`apply`]'d and written
/// again; with whether the client asked for a stream (the backend always streams).
pub fn from_client(body: &[u8], model: &str) -> Result<(Vec<u8>, bool), AdapterError> {
    let Value::Object(mut body) = parse_client_json(body, "the Responses request body")? else {
        return Err(AdapterError::invalid_request(
            "the Responses request body must be a JSON object",
        ));
    };
    let client_streams = body.get("stream").and_then(Value::as_bool) == Some(true);
    apply(&mut body, model);
    Ok((to_json_bytes(&Value::Object(body)), client_streams))
}
