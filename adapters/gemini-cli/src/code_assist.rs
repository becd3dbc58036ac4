//! The Cloud Code Assist envelope (`v1internal`), shared by `gemini-cli` and
//! `antigravity`: a Gemini `GenerateContentRequest` travels as
//! `{"model", "project", "request": {...}}`, and every answer (one document, each SSE
//! `data:` chunk) comes back as `{"response": {...}}`. The Gemini translation itself is
//! `adapter-gemini`'s; this module only wraps and unwraps around it.

use adapter_gemini::decode::GeminiState;
use plugboard_sdk::prelude::*;

/// The account attribute holding the Google Cloud project requests bill to
/// (CLIProxyAPI's `project_id` imports as it).
pub const PROJECT_ID: &str = "project-id";

/// The client's own identifying headers, sent on when (and only when) the client sent
/// them. Plugboard never supplies Gemini CLI's or Antigravity's values.
pub const FORWARDED_CLIENT_HEADERS: &[&str] = &["user-agent", "x-goog-api-client"];

/// The method path under the base: `/v1internal:streamGenerateContent?alt=sse` for a
/// stream, `/v1internal:generateContent` otherwise.
pub fn method_path(streaming: bool) -> &'static str {
    if streaming {
        "/v1internal:streamGenerateContent?alt=sse"
    } else {
        "/v1internal:generateContent"
    }
}

/// The project of the account serving `ctx`: its [`PROJECT_ID`] attribute, trimmed;
/// of a comma-separated list (CLIProxyAPI's `"p1,p2"`), the first. Without one the
/// request cannot be made, and the error says how to get one (`login_hint`: the
/// command that logs in).
pub fn project<'a>(ctx: &'a CallContext, login_hint: &str) -> Result<&'a str, AdapterError> {
    ctx.attribute(PROJECT_ID)
        .and_then(|value| value.split(',').map(str::trim).find(|p| !p.is_empty()))
        .ok_or_else(|| {
            AdapterError::upstream(format!(
                "the account `{}` has no `{PROJECT_ID}` attribute (its Code Assist project): \
                 log in again (`{login_hint}`, optionally with `--input {PROJECT_ID}=<project>`) \
                 or import a file that names `project_id`",
                ctx.account.id
            ))
        })
}

/// `{"model": model, "project": project, "request": request}`.
pub fn wrap(model: &str, project: &str, request: Value) -> Value {
    json!({"model": model, "project": project, "request": request})
}

/// The Gemini response inside an envelope: `value.response` when it is there, else
/// `value` itself (an error object, or an answer already bare).
pub fn unwrap(value: &Value) -> &Value {
    value
        .get("response")
        .filter(|response| response.is_object())
        .unwrap_or(value)
}

/// The upstream request for an enveloped body: `POST {base}{method_path}` with the
/// client's own identifying headers.
pub fn request(ctx: &CallContext, body: &Value, streaming: bool) -> HttpRequest {
    let mut request = ctx.post_json(method_path(streaming), to_json_bytes(body), streaming);
    for name in FORWARDED_CLIENT_HEADERS {
        if let Some(value) = ctx.client_header(name) {
            request = request.with_header(*name, value);
        }
    }
    request
}

/// Reads Code Assist answers: each chunk or document unwrapped, then read by the
/// Gemini adapter's own state.
#[derive(Default)]
pub struct CodeAssistState {
    gemini: GeminiState,
}

impl ResponseState for CodeAssistState {
    const STREAM_EVENT: &'static str = "a Code Assist stream chunk";

    fn matters_for_accounting(event: &SseEvent) -> bool {
        GeminiState::matters_for_accounting(event)
    }

    fn take_stream_event(
        &mut self,
        data: &Value,
        out: &mut EventWriter,
    ) -> Result<(), AdapterError> {
        self.gemini.take_stream_event(unwrap(data), out)
    }

    fn take_whole_document(
        &mut self,
        document: Value,
        out: &mut EventWriter,
    ) -> Result<(), AdapterError> {
        let inner = match document {
            Value::Array(items) => Value::Array(items.iter().map(unwrap).cloned().collect()),
            other => unwrap(&other).clone(),
        };
        self.gemini.take_whole_document(inner, out)
    }

    fn end(&mut self, out: &mut EventWriter) {
        self.gemini.end(out);
    }
}
