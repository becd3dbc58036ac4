//! The IR and contract types under friendly names, with constructors that keep
//! adapters short.
//!
//! These are the generated WIT types themselves (no conversion cost at the boundary);
//! this module only re-exports them from the hidden bindings and adds `impl` blocks.

use crate::__bindings::provider::exports::plugboard::adapter::translator;
use crate::__bindings::provider::plugboard::adapter::types;

pub use crate::__bindings::fixup::exports::plugboard::adapter::filter::{
    FixupContext, FixupInfo, Hooks,
};
pub use crate::__bindings::provider::plugboard::adapter::host::LogLevel;
pub use translator::{
    Account, AdapterInfo, AuthScheme, ClassifiedError, DecodeContext, EncodeContext, ErrorClass,
    HeaderAuth, ModelInfo, RetryAfter,
};
pub use types::{
    AdapterError, ChatRequest, Delta, Dialect, ErrorKind, FileData, FilePart, Finish, FinishReason,
    GenerationParams, HttpRequest, Json, JsonSchemaFormat, Message, Part, ReasoningConfig,
    ReasoningEnd, ReasoningPart, ResponseFormat, ResponseHead, ResponseMetadata, Role, StreamEvent,
    TextPart, Tool, ToolCallPart, ToolChoice, ToolInputStart, ToolOutput, ToolResultPart, Usage,
};

/// The contract version this SDK implements; `info()` reports it.
pub const CONTRACT_VERSION: &str = "0.1.0";

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

    /// For [`Provider::encode_native`](crate::Provider::encode_native) of an adapter
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
    /// An empty, non-streaming request for `model`.
    pub fn new(model: impl Into<String>) -> Self {
        ChatRequest {
            model: model.into(),
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
}

impl HttpRequest {
    /// A `POST` with a JSON body and `content-type: application/json`.
    pub fn post_json(url: impl Into<String>, body: Vec<u8>) -> Self {
        HttpRequest {
            method: "POST".into(),
            url: url.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body,
        }
    }
    /// Adds a header (builder style).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    /// Adds the provider entry's `config: {extra-headers: {name: value}}` (builder
    /// style), in config order: every adapter should call this on the requests it
    /// builds, so operators can add the headers an upstream or a gateway in front of
    /// it wants (OpenRouter's `http-referer`, a gateway's routing key).
    pub fn with_extra_headers(mut self) -> Self {
        self.headers.extend(crate::host::extra_headers());
        self
    }
    /// Adds `accept: text/event-stream` when `streaming` (builder style): what an
    /// upstream that streams over SSE wants to see on a streamed request.
    pub fn accepting_event_stream_if(self, streaming: bool) -> Self {
        if streaming {
            self.with_header("accept", "text/event-stream")
        } else {
            self
        }
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
        }
    }
    /// The same model with its context window and output limit.
    pub fn limits(mut self, context_window: u32, max_output_tokens: u32) -> Self {
        self.context_window = Some(context_window);
        self.max_output_tokens = Some(max_output_tokens);
        self
    }
}

impl AdapterInfo {
    /// Info with the SDK's contract version, bearer auth and no models, hosts,
    /// native dialects, base URL or default fixups; set those fields as needed.
    pub fn new(
        id: impl Into<String>,
        version: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        AdapterInfo {
            id: id.into(),
            version: version.into(),
            contract_version: CONTRACT_VERSION.into(),
            description: description.into(),
            models: Vec::new(),
            native_dialects: Vec::new(),
            auth: AuthScheme::Bearer,
            hosts: Vec::new(),
            default_base_url: None,
            default_fixups: Vec::new(),
        }
    }
}

impl FixupInfo {
    /// Info with the SDK's contract version.
    pub fn new(
        id: impl Into<String>,
        version: impl Into<String>,
        description: impl Into<String>,
        hooks: Hooks,
    ) -> Self {
        FixupInfo {
            id: id.into(),
            version: version.into(),
            contract_version: CONTRACT_VERSION.into(),
            description: description.into(),
            hooks,
        }
    }
}

impl ClassifiedError {
    /// A classified error with the upstream's message.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        ClassifiedError {
            class,
            message: message.into(),
        }
    }
}

impl RetryAfter {
    /// A hint of `after_ms` milliseconds, when known.
    pub fn ms(after_ms: Option<u64>) -> Self {
        RetryAfter { after_ms }
    }
}

impl EncodeContext {
    /// The account's base URL, or `default` when it is empty; never with a trailing slash.
    pub fn base_url_or<'a>(&'a self, default: &'a str) -> &'a str {
        let base = if self.account.base_url.is_empty() {
            default
        } else {
            &self.account.base_url
        };
        base.trim_end_matches('/')
    }
    /// A context for tests and tools: account `test` with `base_url`.
    pub fn for_account(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        EncodeContext {
            account: Account {
                id: "test".into(),
                base_url: base_url.into(),
                attributes: Vec::new(),
            },
            model: model.into(),
            stream: false,
            client_headers: Vec::new(),
        }
    }

    /// A header the client sent (name case-insensitive); credentials never reach here.
    pub fn client_header(&self, name: &str) -> Option<&str> {
        find_header(&self.client_headers, name)
    }
}

impl DecodeContext {
    /// A context for a 200 response, streamed or not, outside passthrough.
    pub fn ok(streaming: bool) -> Self {
        DecodeContext {
            head: ResponseHead {
                status: 200,
                headers: Vec::new(),
            },
            streaming,
            passthrough: None,
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
