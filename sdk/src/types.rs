//! The IR and contract types under friendly names, with constructors that keep
//! adapters short.
//!
//! These are the generated WIT types themselves (no conversion cost at the boundary);
//! this module only re-exports them from the hidden bindings and adds `impl` blocks.

use crate::__bindings::provider::exports::plugboard::adapter::translator;
use crate::__bindings::provider::plugboard::adapter::types;

pub use crate::__bindings::fixup::exports::plugboard::adapter::filter::{
    AppliesTo, FixupContext, FixupInfo, Hooks,
};
pub use crate::__bindings::provider::plugboard::adapter::host::LogLevel;
pub use crate::credentials::{
    AuthorizationCodeSpec, BodyEncoding, ClientRegistration, CredentialKind, DeviceCodeSpec,
    ExchangeSpec, HeaderPlacement, LoginInput, Obtain, Placement, PollPending, RefreshSpec,
    SetupAnswer, SetupContext, SetupRequest, SetupStep, TokenAnswer, TokenCall, TokenValue,
};
pub use translator::{
    Account, AccountFacts, AdapterInfo, CallContext, Endpoint, ModelInfo, QuotaWindow, ReadContext,
};
pub use types::{
    AdapterError, ChatRequest, Delta, Dialect, ErrorClass, ErrorKind, FileData, FilePart, Finish,
    FinishReason, GenerationParams, HttpRequest, Json, JsonSchemaFormat, Message, Part,
    ReasoningConfig, ReasoningEnd, ReasoningPart, ResponseFormat, ResponseHead, ResponseMetadata,
    Role, StreamEvent, TextPart, Tool, ToolCallPart, ToolChoice, ToolInputStart, ToolOutput,
    ToolResultPart, UpstreamError, Usage,
};

impl AdapterError {
    /// An error of the given kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        AdapterError {
            kind,
            message: message.into(),
        }
    }
    /// The client's request cannot be served as sent.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }
    /// The target cannot do what was asked.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }
    /// The upstream failed or sent something unreadable.
    pub fn upstream(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Upstream, message)
    }
    /// A bug in the adapter.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}

impl Role {
    /// The lower-case wire name (`system`, `user`, `assistant`, `tool`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

impl TextPart {
    /// Text without options.
    pub fn new(text: impl Into<String>) -> Self {
        TextPart {
            text: text.into(),
            options: None,
        }
    }
}

impl Part {
    /// A text part without options.
    pub fn text(text: impl Into<String>) -> Self {
        Part::Text(TextPart::new(text))
    }
    /// A tool call part.
    pub fn tool_call(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        Part::ToolCall(ToolCallPart::new(id, name, arguments))
    }
    /// A successful tool result with one text output.
    pub fn tool_result_text(call_id: impl Into<String>, output: impl Into<String>) -> Self {
        Part::ToolResult(ToolResultPart {
            call_id: call_id.into(),
            name: None,
            output: vec![ToolOutput::Text(output.into())],
            is_error: false,
            options: None,
        })
    }
}

impl ToolCallPart {
    /// A tool call without options; `arguments` is serialised JSON.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        ToolCallPart {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
            options: None,
        }
    }
}

impl Message {
    /// A message of the given role and parts.
    pub fn new(role: Role, parts: Vec<Part>) -> Self {
        Message {
            role,
            parts,
            options: None,
        }
    }
    /// A user turn with one text part.
    pub fn user_text(text: impl Into<String>) -> Self {
        Self::new(Role::User, vec![Part::text(text)])
    }
    /// An assistant turn with one text part.
    pub fn assistant_text(text: impl Into<String>) -> Self {
        Self::new(Role::Assistant, vec![Part::text(text)])
    }
    /// A system turn with one text part.
    pub fn system_text(text: impl Into<String>) -> Self {
        Self::new(Role::System, vec![Part::text(text)])
    }
    /// All text parts joined, for upstreams that take a plain string.
    pub fn joined_text(&self) -> String {
        self.parts
            .iter()
            .filter_map(|part| match part {
                Part::Text(text) => Some(text.text.as_str()),
                _ => None,
            })
            .collect()
    }
}

impl Tool {
    /// A tool with a serialised JSON schema for its arguments.
    pub fn new(name: impl Into<String>, input_schema: impl Into<String>) -> Self {
        Tool {
            name: name.into(),
            description: None,
            input_schema: input_schema.into(),
            options: None,
        }
    }
    /// The same tool with a description.
    pub fn described(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

impl Dialect {
    /// The dialect as people call it, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Dialect::OpenaiChat => "OpenAI Chat",
            Dialect::OpenaiResponses => "OpenAI Responses",
            Dialect::AnthropicMessages => "Anthropic Messages",
            Dialect::Gemini => "Gemini generateContent",
        }
    }

    /// For [`Encode::encode_native`](crate::Encode::encode_native) of an adapter
    /// with one native dialect (`self`): `Ok` when the host asks for it, otherwise the
    /// `unsupported` error naming the adapter, what it passes through and what was asked.
    pub fn passthrough_only(self, asked: Dialect, adapter: &str) -> Result<(), AdapterError> {
        if asked == self {
            return Ok(());
        }
        Err(AdapterError::unsupported(format!(
            "the {adapter} adapter passes through {} only, not {asked:?}",
            self.name()
        )))
    }
}

impl ReasoningConfig {
    /// The effort for an upstream that takes a level (OpenAI's `low`/`medium`/`high`):
    /// as named, or derived from a token budget (what Anthropic-style clients send):
    /// up to 2048 tokens is `low`, up to 16384 `medium`, more `high`.
    pub fn effort_level(&self) -> Option<String> {
        if let Some(effort) = &self.effort {
            return Some(effort.clone());
        }
        self.budget_tokens.map(|budget| {
            match budget {
                0..=2048 => "low",
                2049..=16384 => "medium",
                _ => "high",
            }
            .to_string()
        })
    }
}

impl ChatRequest {
    /// An empty, non-streaming request (the model is the call's, not the request's).
    pub fn new() -> Self {
        ChatRequest {
            system: Vec::new(),
            messages: Vec::new(),
            tools: Vec::new(),
            tool_choice: None,
            params: GenerationParams::default(),
            stream: false,
            options: None,
        }
    }
    /// Adds a system block.
    pub fn with_system(mut self, text: impl Into<String>) -> Self {
        self.system.push(TextPart::new(text));
        self
    }
    /// Appends a message.
    pub fn with_message(mut self, message: Message) -> Self {
        self.messages.push(message);
        self
    }
    /// Appends a tool.
    pub fn with_tool(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }
    /// Sets whether the client wants a stream.
    pub fn streaming(mut self, stream: bool) -> Self {
        self.stream = stream;
        self
    }
    /// The system blocks as one text, joined by blank lines (`None` when there are
    /// none): for upstreams that take one system prompt (several in a row break some
    /// servers' templates).
    pub fn system_text(&self) -> Option<String> {
        if self.system.is_empty() {
            return None;
        }
        let parts: Vec<&str> = self.system.iter().map(|part| part.text.as_str()).collect();
        Some(parts.join("\n\n"))
    }
}

impl Default for ChatRequest {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpRequest {
    /// A `POST` with a JSON body and `content-type: application/json`. Adapters build
    /// their upstream request with [`CallContext::post_json`] instead, which adds what
    /// every upstream request needs (base URL, `accept`, the config's extra headers).
    pub fn post_json(url: impl Into<String>, body: Vec<u8>) -> Self {
        HttpRequest {
            method: "POST".into(),
            url: url.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body,
        }
    }
    /// A `GET` of `url` with no body (an account setup's lookup).
    pub fn get(url: impl Into<String>) -> Self {
        HttpRequest {
            method: "GET".into(),
            url: url.into(),
            headers: vec![("accept".into(), "application/json".into())],
            body: Vec::new(),
        }
    }
    /// Adds a header (builder style).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    /// Adds the provider entry's `config: {extra-headers: {name: value}}`, in config
    /// order. Private to the SDK: [`CallContext::post_json`] is the one place that
    /// calls it, so no adapter can forget it.
    pub(crate) fn with_extra_headers(mut self) -> Self {
        self.headers.extend(crate::host::extra_headers());
        self
    }
    /// Adds `accept: text/event-stream` when `streaming` (builder style).
    pub fn accepting_event_stream_if(self, streaming: bool) -> Self {
        if streaming {
            self.with_header("accept", "text/event-stream")
        } else {
            self
        }
    }
    /// Merges comma-separated list values into header `name` (e.g. `anthropic-beta`):
    /// the values every `name` header on the request already holds, then `values`,
    /// trimmed, empty ones dropped, each kept once in first-seen order, as one header
    /// in place of the old ones. No header is added when nothing is left.
    pub fn merge_list_header<I, S>(mut self, name: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut merged: Vec<String> = Vec::new();
        let mut add = |value: &str| {
            for item in value.split(',').map(str::trim) {
                if !item.is_empty() && !merged.iter().any(|kept| kept == item) {
                    merged.push(item.to_string());
                }
            }
        };
        for (_, value) in self
            .headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
        {
            add(value);
        }
        for value in values {
            add(value.as_ref());
        }
        self.headers
            .retain(|(key, _)| !key.eq_ignore_ascii_case(name));
        if !merged.is_empty() {
            self.headers.push((name.to_string(), merged.join(",")));
        }
        self
    }
    /// The first value of a header, names compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

impl ResponseHead {
    /// A response head from borrowed header pairs: what tests of `classify_error` and
    /// decoders build.
    pub fn new(status: u16, headers: &[(&str, &str)]) -> Self {
        ResponseHead {
            status,
            headers: headers
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        }
    }
    /// The first value of a header, names compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// The first value of `name` in a header list, case-insensitively.
pub fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

impl Finish {
    /// A finish with a reason, the upstream's raw word for it and usage.
    pub fn new(reason: FinishReason, raw_reason: Option<String>, usage: Usage) -> Self {
        Finish {
            reason,
            raw_reason,
            usage,
            options: None,
        }
    }
}

impl StreamEvent {
    /// More text for block `id`.
    pub fn text_delta(id: impl Into<String>, delta: impl Into<String>) -> Self {
        StreamEvent::TextDelta(Delta {
            id: id.into(),
            delta: delta.into(),
        })
    }
    /// More reasoning for block `id`.
    pub fn reasoning_delta(id: impl Into<String>, delta: impl Into<String>) -> Self {
        StreamEvent::ReasoningDelta(Delta {
            id: id.into(),
            delta: delta.into(),
        })
    }
    /// A fragment of tool call `id`'s arguments.
    pub fn tool_input_delta(id: impl Into<String>, delta: impl Into<String>) -> Self {
        StreamEvent::ToolInputDelta(Delta {
            id: id.into(),
            delta: delta.into(),
        })
    }
    /// A tool call's arguments begin streaming.
    pub fn tool_input_start(id: impl Into<String>, name: impl Into<String>) -> Self {
        StreamEvent::ToolInputStart(ToolInputStart {
            id: id.into(),
            name: name.into(),
        })
    }
    /// The end of the response.
    pub fn finish(reason: FinishReason, raw_reason: Option<String>, usage: Usage) -> Self {
        StreamEvent::Finish(Finish::new(reason, raw_reason, usage))
    }
}

impl ModelInfo {
    /// A model known only by id.
    pub fn new(id: impl Into<String>) -> Self {
        ModelInfo {
            id: id.into(),
            display_name: None,
            context_window: None,
            max_output_tokens: None,
            routes: Vec::new(),
        }
    }
    /// The same model, served on the upstream API route `route` (e.g.
    /// `/chat/completions`); call once per route.
    pub fn route(mut self, route: impl Into<String>) -> Self {
        self.routes.push(route.into());
        self
    }
    /// Whether the upstream said it serves this model on `route`.
    pub fn serves_route(&self, route: &str) -> bool {
        self.routes.iter().any(|r| r == route)
    }
    /// The same model with its context window and output limit.
    pub fn limits(mut self, context_window: u32, max_output_tokens: u32) -> Self {
        self.context_window = Some(context_window);
        self.max_output_tokens = Some(max_output_tokens);
        self
    }
}

impl AdapterInfo {
    /// Info with no models, native dialects, credential kinds, endpoints, hosts or
    /// default fixups; add them with the builder methods below.
    pub fn new(
        id: impl Into<String>,
        version: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        AdapterInfo {
            id: id.into(),
            version: version.into(),
            description: description.into(),
            models: Vec::new(),
            native_dialects: Vec::new(),
            credential_kinds: Vec::new(),
            endpoints: Vec::new(),
            hosts: Vec::new(),
            default_fixups: Vec::new(),
        }
    }
    /// Adds a model it knows.
    pub fn model(mut self, model: ModelInfo) -> Self {
        self.models.push(model);
        self
    }
    /// Adds a client dialect the upstream speaks natively (enables passthrough; the
    /// call must then implement [`Call::encode_native`](crate::Call::encode_native)).
    pub fn native(mut self, dialect: Dialect) -> Self {
        self.native_dialects.push(dialect);
        self
    }
    /// Adds a way an account may hold its secret; the first whose `obtain` is `key`
    /// serves the entry's `api-keys`.
    pub fn credential_kind(mut self, kind: CredentialKind) -> Self {
        self.credential_kinds.push(kind);
        self
    }
    /// Adds a named URL. Its host joins `hosts` (once) unless the URL has a
    /// `{placeholder}` in its host, whose hosts the adapter lists with [`Self::host`].
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        if let Some(host) = url_host(&endpoint.url)
            && !host.contains('{')
        {
            self = self.host(host);
        }
        self.endpoints.push(endpoint);
        self
    }
    /// Adds a named URL that only the user's browser opens (an OAuth authorize page):
    /// the host never sends to it, so its host is not added to `hosts`.
    pub fn browser_endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoints.push(endpoint);
        self
    }
    /// The `base` endpoint: the upstream's base URL.
    pub fn base(self, url: impl Into<String>) -> Self {
        self.endpoint(Endpoint::new(Endpoint::BASE, url, "the upstream API"))
    }
    /// Adds a host it needs to reach (exact name or `*.suffix`), once.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        let host = host.into();
        if !self.hosts.contains(&host) {
            self.hosts.push(host);
        }
        self
    }
    /// Adds a fixup the host applies before configured ones.
    pub fn default_fixup(mut self, id: impl Into<String>) -> Self {
        self.default_fixups.push(id.into());
        self
    }
    /// The URL of endpoint `name`, when declared.
    pub fn endpoint_url(&self, name: &str) -> Option<&str> {
        self.endpoints
            .iter()
            .find(|endpoint| endpoint.name == name)
            .map(|endpoint| endpoint.url.as_str())
    }
}

/// The host name of an absolute URL (`https://host:port/path` gives `host`).
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host.split(':').next()?,
    };
    (!host.is_empty()).then_some(host)
}

impl Endpoint {
    /// The name of the upstream's base URL endpoint.
    pub const BASE: &'static str = "base";

    /// A named URL with one line for humans.
    pub fn new(
        name: impl Into<String>,
        url: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Endpoint {
            name: name.into(),
            url: url.into(),
            description: description.into(),
        }
    }
}

impl FixupInfo {
    /// Info that applies to every request. The hooks are filled in by the export glue
    /// from the ones the [`Fixup`](crate::Fixup) implements; whatever is set here is
    /// replaced.
    pub fn new(
        id: impl Into<String>,
        version: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        FixupInfo {
            id: id.into(),
            version: version.into(),
            description: description.into(),
            hooks: Hooks::empty(),
            applies_to: AppliesTo::any(),
        }
    }
    /// Restricts which requests the fixup is for (builder style).
    pub fn applies_to(mut self, applies_to: AppliesTo) -> Self {
        self.applies_to = applies_to;
        self
    }
}

impl AppliesTo {
    /// Every request.
    pub fn any() -> Self {
        AppliesTo {
            dialects: Vec::new(),
            adapters: Vec::new(),
            models: Vec::new(),
        }
    }
    /// Requests served by these adapter ids only.
    pub fn adapters(ids: &[&str]) -> Self {
        Self::any().and_adapters(ids)
    }
    /// Also restricted to these adapter ids (builder style).
    pub fn and_adapters(mut self, ids: &[&str]) -> Self {
        self.adapters.extend(ids.iter().map(|id| id.to_string()));
        self
    }
    /// Also restricted to these client dialects (builder style).
    pub fn and_dialects(mut self, dialects: &[Dialect]) -> Self {
        self.dialects.extend_from_slice(dialects);
        self
    }
    /// Also restricted to these upstream models; a trailing `*` matches any suffix
    /// (builder style).
    pub fn and_models(mut self, models: &[&str]) -> Self {
        self.models
            .extend(models.iter().map(|model| model.to_string()));
        self
    }
}

impl UpstreamError {
    /// A classified upstream failure with the upstream's message.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        UpstreamError {
            class,
            message: message.into(),
        }
    }
}

impl ErrorClass {
    /// The retry hint in milliseconds, for the classes that carry one.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            ErrorClass::RateLimited(ms)
            | ErrorClass::QuotaExhausted(ms)
            | ErrorClass::Overloaded(ms) => *ms,
            _ => None,
        }
    }
    /// The same class with retry hint `ms` where the class carries one (others unchanged).
    pub fn with_retry_after_ms(self, ms: Option<u64>) -> Self {
        match self {
            ErrorClass::RateLimited(_) => ErrorClass::RateLimited(ms),
            ErrorClass::QuotaExhausted(_) => ErrorClass::QuotaExhausted(ms),
            ErrorClass::Overloaded(_) => ErrorClass::Overloaded(ms),
            other => other,
        }
    }
    /// Whether the host rests the account for it (rate-limited, quota-exhausted,
    /// overloaded): the classes a throttling frame inside a 2xx stream means.
    pub fn rests_the_account(&self) -> bool {
        matches!(
            self,
            ErrorClass::RateLimited(_) | ErrorClass::QuotaExhausted(_) | ErrorClass::Overloaded(_)
        )
    }
}

impl CallContext {
    /// The URL of endpoint `name`, resolved for this account by the host.
    pub fn endpoint(&self, name: &str) -> Option<&str> {
        self.endpoints
            .iter()
            .find(|(endpoint, _)| endpoint == name)
            .map(|(_, url)| url.as_str())
    }
    /// The `base` endpoint without trailing `/` (empty if the host gave none, which it
    /// does not for an adapter that declares one).
    pub fn base_url(&self) -> &str {
        self.endpoint(Endpoint::BASE)
            .unwrap_or("")
            .trim_end_matches('/')
    }
    /// A header the client sent (name case-insensitive); credentials never reach here.
    pub fn client_header(&self, name: &str) -> Option<&str> {
        find_header(&self.client_headers, name)
    }
    /// A non-secret attribute of the account serving the call.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        find_value(&self.account.attributes, name)
    }
    /// The upstream request every adapter starts from, built in one place:
    /// `POST {base}{path}` (`path` starts with `/` and may carry a query) with the JSON
    /// `body`, `content-type: application/json`, `accept: text/event-stream` when
    /// `streaming`, and the provider entry's configured `extra-headers` last.
    pub fn post_json(&self, path: &str, body: Vec<u8>, streaming: bool) -> HttpRequest {
        HttpRequest::post_json(format!("{}{path}", self.base_url()), body)
            .accepting_event_stream_if(streaming)
            .with_extra_headers()
    }
    /// A context for tests: account `test` holding an `api-key`, model `model`, an
    /// OpenAI Chat client that does not stream, and `base_url` as the `base` endpoint.
    pub fn for_tests(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        CallContext {
            account: Account {
                id: "test".into(),
                attributes: Vec::new(),
            },
            credential_kind: "api-key".into(),
            model: model.into(),
            client_dialect: Dialect::OpenaiChat,
            stream: false,
            client_headers: Vec::new(),
            endpoints: vec![(Endpoint::BASE.into(), base_url.into())],
            model_info: None,
        }
    }
}

impl ReadContext {
    /// A non-secret attribute of the account that was read.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        find_value(&self.attributes, name)
    }
    /// The answer's body as JSON, or an upstream error naming the read.
    pub fn json(&self) -> Result<serde_json::Value, AdapterError> {
        serde_json::from_slice(&self.body).map_err(|error| {
            AdapterError::upstream(format!(
                "the `{}` read answered {} with a body that is not JSON: {error}",
                self.read, self.status
            ))
        })
    }
    /// A context for tests: read `read` of an account of kind `kind` answered 200 with
    /// `body`.
    pub fn for_tests(kind: &str, read: &str, body: &[u8]) -> Self {
        ReadContext {
            credential_kind: kind.into(),
            read: read.into(),
            attributes: Vec::new(),
            status: 200,
            body: body.to_vec(),
        }
    }
}

impl Default for AccountFacts {
    fn default() -> Self {
        AccountFacts {
            quota: Vec::new(),
            models: Vec::new(),
            attributes: Vec::new(),
        }
    }
}

impl QuotaWindow {
    /// A window named `name` counting `unit`, `used` of `limit` (`None`: unlimited).
    pub fn new(
        name: impl Into<String>,
        unit: impl Into<String>,
        used: f64,
        limit: Option<f64>,
    ) -> Self {
        QuotaWindow {
            name: name.into(),
            used,
            limit,
            unit: unit.into(),
            resets_at: None,
        }
    }
    /// The same window, resetting at `unix_s`.
    pub fn resets_at(mut self, unix_s: u64) -> Self {
        self.resets_at = Some(unix_s);
        self
    }
}

/// The value of `name` in a list of (name, value) pairs, names compared exactly.
pub fn find_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

impl FixupContext {
    /// A context for tests: provider entry and adapter `test`, account `test`, model
    /// `test-model`, an OpenAI Chat client.
    pub fn for_tests() -> Self {
        FixupContext {
            provider: "test".into(),
            adapter: "test".into(),
            account: "test".into(),
            model: "test-model".into(),
            client_dialect: Dialect::OpenaiChat,
            token_budget: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasoning(effort: Option<&str>, budget_tokens: Option<u32>) -> ReasoningConfig {
        ReasoningConfig {
            effort: effort.map(str::to_string),
            budget_tokens,
        }
    }

    #[test]
    fn a_named_effort_wins_and_a_budget_maps_to_the_nearest_level() {
        assert_eq!(
            reasoning(Some("minimal"), Some(50_000)).effort_level(),
            Some("minimal".into())
        );
        assert_eq!(
            reasoning(None, Some(2048)).effort_level(),
            Some("low".into())
        );
        assert_eq!(
            reasoning(None, Some(2049)).effort_level(),
            Some("medium".into())
        );
        assert_eq!(
            reasoning(None, Some(16384)).effort_level(),
            Some("medium".into())
        );
        assert_eq!(
            reasoning(None, Some(16385)).effort_level(),
            Some("high".into())
        );
        assert_eq!(reasoning(None, None).effort_level(), None);
    }

    #[test]
    fn a_streamed_request_accepts_an_event_stream_and_a_plain_one_does_not() {
        let streamed =
            HttpRequest::post_json("http://u", Vec::new()).accepting_event_stream_if(true);
        assert_eq!(streamed.header("accept"), Some("text/event-stream"));
        let plain = HttpRequest::post_json("http://u", Vec::new()).accepting_event_stream_if(false);
        assert_eq!(plain.header("accept"), None);
    }

    #[test]
    fn a_call_builds_its_upstream_request_from_the_base_endpoint_and_config() {
        crate::host::set_config_for_tests(serde_json::json!({"extra-headers": {"x-title": "pb"}}));
        let ctx = CallContext::for_tests("http://127.0.0.1:8080/v1/", "m");
        assert_eq!(ctx.base_url(), "http://127.0.0.1:8080/v1");
        assert_eq!(ctx.endpoint("token"), None);
        let streamed = ctx.post_json("/chat/completions", b"{}".to_vec(), true);
        assert_eq!(streamed.url, "http://127.0.0.1:8080/v1/chat/completions");
        assert_eq!(streamed.method, "POST");
        assert_eq!(streamed.header("content-type"), Some("application/json"));
        assert_eq!(streamed.header("accept"), Some("text/event-stream"));
        assert_eq!(streamed.header("x-title"), Some("pb"));
        let plain = ctx.post_json("/x?alt=json", Vec::new(), false);
        assert_eq!(plain.url, "http://127.0.0.1:8080/v1/x?alt=json");
        assert_eq!(plain.header("accept"), None);
        crate::host::set_config_for_tests(serde_json::json!({}));
    }

    #[test]
    fn list_headers_merge_without_duplicates_in_first_seen_order() {
        let http = HttpRequest::post_json("http://u", Vec::new())
            .with_header("Anthropic-Beta", "a, b")
            .with_header("anthropic-beta", "c")
            .merge_list_header("anthropic-beta", ["b", "d,a", ""]);
        assert_eq!(http.header("anthropic-beta"), Some("a,b,c,d"));
        assert_eq!(http.headers.len(), 2);
        let none = HttpRequest::post_json("http://u", Vec::new())
            .merge_list_header("anthropic-beta", [" "]);
        assert_eq!(none.header("anthropic-beta"), None);
    }

    #[test]
    fn endpoints_name_their_hosts_once_unless_templated() {
        let info = AdapterInfo::new("a", "1.0.0", "d")
            .base("https://api.example.com/v1")
            .endpoint(Endpoint::new(
                "token",
                "https://api.example.com:8443/oauth",
                "t",
            ))
            .endpoint(Endpoint::new(
                "region",
                "https://q.{region}.example.com",
                "r",
            ))
            .endpoint(Endpoint::new("local", "http://[::1]:9/x", "l"));
        assert_eq!(info.hosts, ["api.example.com", "::1"]);
        assert_eq!(
            info.endpoint_url("base"),
            Some("https://api.example.com/v1")
        );
        assert_eq!(info.endpoints.len(), 4);
    }

    #[test]
    fn error_classes_carry_and_replace_their_hints() {
        assert_eq!(ErrorClass::RateLimited(Some(5)).retry_after_ms(), Some(5));
        assert_eq!(ErrorClass::AuthExpired.retry_after_ms(), None);
        assert_eq!(
            ErrorClass::Overloaded(None).with_retry_after_ms(Some(9)),
            ErrorClass::Overloaded(Some(9))
        );
        assert!(ErrorClass::QuotaExhausted(None).rests_the_account());
        assert!(!ErrorClass::ModelUnavailable.rests_the_account());
        let error = UpstreamError::new(ErrorClass::Other, "x");
        assert_eq!(error.message, "x");
    }

    #[test]
    fn passthrough_of_another_dialect_is_refused_by_name() {
        assert!(
            Dialect::Gemini
                .passthrough_only(Dialect::Gemini, "gemini")
                .is_ok()
        );
        let refused = Dialect::AnthropicMessages
            .passthrough_only(Dialect::OpenaiChat, "anthropic")
            .unwrap_err();
        assert_eq!(refused.kind, ErrorKind::Unsupported);
        assert_eq!(
            refused.message,
            format!(
                "the anthropic adapter passes through Anthropic Messages only, not {:?}",
                Dialect::OpenaiChat
            )
        );
    }

    #[test]
    fn a_response_head_built_from_pairs_finds_its_headers_by_any_case() {
        let head = ResponseHead::new(429, &[("Retry-After", "7")]);
        assert_eq!(head.status, 429);
        assert_eq!(head.header("retry-after"), Some("7"));
        assert_eq!(head.header("x-missing"), None);
    }
}
