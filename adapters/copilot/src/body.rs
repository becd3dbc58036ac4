//! Copilot's body rules, applied after the route's translation built the body.
//!
//! `/responses`: only the Responses API's own top-level fields ([`RESPONSES_FIELDS`]) go
//! to Copilot. A Responses client's fields that are its own (Codex CLI's
//! `client_metadata`) reach the translation as client options and would be sent on as
//! given; Copilot's API is not the client's usual upstream, so they are dropped, as is
//! `service_tier`, which Copilot refuses (facts §A6).

use plugboard_sdk::json::parse_json_as;
use plugboard_sdk::prelude::*;

/// The top-level fields a `/responses` body may carry to Copilot.
pub const RESPONSES_FIELDS: &[&str] = &[
    "model",
    "input",
    "instructions",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "stream",
    "store",
    "include",
    "reasoning",
    "max_output_tokens",
    "temperature",
    "top_p",
    "metadata",
    "previous_response_id",
    "text",
    "truncation",
    "user",
    "prompt_cache_key",
    "safety_identifier",
    "max_tool_calls",
    "stream_options",
    "top_logprobs",
];

/// `http` (a `/responses` request) with its body's other top-level fields removed.
pub fn responses_only(mut http: HttpRequest) -> Result<HttpRequest, AdapterError> {
    let mut body = parse_json_as(&http.body, ErrorKind::Internal, "the Responses body")?;
    if let Value::Object(fields) = &mut body {
        fields.retain(|name, _| RESPONSES_FIELDS.contains(&name.as_str()));
    }
    http.body = to_json_bytes(&body);
    Ok(http)
}
