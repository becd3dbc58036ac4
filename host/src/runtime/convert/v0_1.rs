//! Host IR <-> `plugboard:adapter@0.1.0`, both directions, for every type.
//!
//! Conversions consume their input where the caller owns it, so strings and byte
//! buffers move instead of being copied. `options` objects cross the boundary as
//! JSON text (the WIT `json` type); text a guest sends back that does not parse is
//! kept as a JSON string rather than dropped, so nothing a client sent disappears.

use serde_json::Value;

use crate::ir;
use crate::runtime::bindings::v0_1::fixup::exports::plugboard::adapter::filter as wit_filter;
use crate::runtime::bindings::v0_1::provider::exports::plugboard::adapter::translator as wit_translator;
use crate::runtime::bindings::v0_1::types as wit;
use crate::runtime::{
    Account, AuthScheme, DecodeContext, EncodeContext, FixupInfo, Hooks, ModelInfo, ProviderInfo,
    SandboxContext,
};

// ---------------------------------------------------------------- options (JSON)

fn options_to_wit(options: ir::Options) -> Option<String> {
    options.map(|value| value.to_string())
}

fn options_from_wit(options: Option<String>) -> ir::Options {
    options.map(|text| match serde_json::from_str::<Value>(&text) {
        Ok(value) => value,
        Err(error) => {
            tracing::debug!(%error, "guest sent options that are not JSON; kept as a string");
            Value::String(text)
        }
    })
}

// ---------------------------------------------------------------- request parts

impl From<ir::Role> for wit::Role {
    fn from(role: ir::Role) -> Self {
        match role {
            ir::Role::System => wit::Role::System,
            ir::Role::User => wit::Role::User,
            ir::Role::Assistant => wit::Role::Assistant,
            ir::Role::Tool => wit::Role::Tool,
        }
    }
}

impl From<wit::Role> for ir::Role {
    fn from(role: wit::Role) -> Self {
        match role {
            wit::Role::System => ir::Role::System,
            wit::Role::User => ir::Role::User,
            wit::Role::Assistant => ir::Role::Assistant,
            wit::Role::Tool => ir::Role::Tool,
        }
    }
}

impl From<ir::TextPart> for wit::TextPart {
    fn from(part: ir::TextPart) -> Self {
        Self { text: part.text, options: options_to_wit(part.options) }
    }
}

impl From<wit::TextPart> for ir::TextPart {
    fn from(part: wit::TextPart) -> Self {
        Self { text: part.text, options: options_from_wit(part.options) }
    }
}

impl From<ir::ReasoningPart> for wit::ReasoningPart {
    fn from(part: ir::ReasoningPart) -> Self {
        Self {
            text: part.text,
            signature: part.signature,
            redacted: part.redacted,
            options: options_to_wit(part.options),
        }
    }
}

impl From<wit::ReasoningPart> for ir::ReasoningPart {
    fn from(part: wit::ReasoningPart) -> Self {
        Self {
            text: part.text,
            signature: part.signature,
            redacted: part.redacted,
            options: options_from_wit(part.options),
        }
    }
}

impl From<ir::FileData> for wit::FileData {
    fn from(data: ir::FileData) -> Self {
        match data {
            ir::FileData::Url(url) => wit::FileData::Url(url),
            ir::FileData::Base64(bytes) => wit::FileData::Base64(bytes),
        }
    }
}

impl From<wit::FileData> for ir::FileData {
    fn from(data: wit::FileData) -> Self {
        match data {
            wit::FileData::Url(url) => ir::FileData::Url(url),
            wit::FileData::Base64(bytes) => ir::FileData::Base64(bytes),
        }
    }
}

impl From<ir::FilePart> for wit::FilePart {
    fn from(part: ir::FilePart) -> Self {
        Self {
            media_type: part.media_type,
            data: part.data.into(),
            filename: part.filename,
            options: options_to_wit(part.options),
        }
    }
}

impl From<wit::FilePart> for ir::FilePart {
    fn from(part: wit::FilePart) -> Self {
        Self {
            media_type: part.media_type,
            data: part.data.into(),
            filename: part.filename,
            options: options_from_wit(part.options),
        }
    }
}

impl From<ir::ToolCallPart> for wit::ToolCallPart {
    fn from(part: ir::ToolCallPart) -> Self {
        Self {
            id: part.id,
            name: part.name,
            arguments: part.arguments,
            options: options_to_wit(part.options),
        }
    }
}

impl From<wit::ToolCallPart> for ir::ToolCallPart {
    fn from(part: wit::ToolCallPart) -> Self {
        Self {
            id: part.id,
            name: part.name,
            arguments: part.arguments,
            options: options_from_wit(part.options),
        }
    }
}

impl From<ir::ToolOutput> for wit::ToolOutput {
    fn from(output: ir::ToolOutput) -> Self {
        match output {
            ir::ToolOutput::Text(text) => wit::ToolOutput::Text(text),
            ir::ToolOutput::File(file) => wit::ToolOutput::File(file.into()),
        }
    }
}

impl From<wit::ToolOutput> for ir::ToolOutput {
    fn from(output: wit::ToolOutput) -> Self {
        match output {
            wit::ToolOutput::Text(text) => ir::ToolOutput::Text(text),
            wit::ToolOutput::File(file) => ir::ToolOutput::File(file.into()),
        }
    }
}

impl From<ir::ToolResultPart> for wit::ToolResultPart {
    fn from(part: ir::ToolResultPart) -> Self {
        Self {
            call_id: part.call_id,
            name: part.name,
            output: part.output.into_iter().map(Into::into).collect(),
            is_error: part.is_error,
            options: options_to_wit(part.options),
        }
    }
}

impl From<wit::ToolResultPart> for ir::ToolResultPart {
    fn from(part: wit::ToolResultPart) -> Self {
        Self {
            call_id: part.call_id,
            name: part.name,
            output: part.output.into_iter().map(Into::into).collect(),
            is_error: part.is_error,
            options: options_from_wit(part.options),
        }
    }
}

impl From<ir::Part> for wit::Part {
    fn from(part: ir::Part) -> Self {
        match part {
            ir::Part::Text(p) => wit::Part::Text(p.into()),
            ir::Part::Reasoning(p) => wit::Part::Reasoning(p.into()),
            ir::Part::File(p) => wit::Part::File(p.into()),
            ir::Part::ToolCall(p) => wit::Part::ToolCall(p.into()),
            ir::Part::ToolResult(p) => wit::Part::ToolResult(p.into()),
        }
    }
}

impl From<wit::Part> for ir::Part {
    fn from(part: wit::Part) -> Self {
        match part {
            wit::Part::Text(p) => ir::Part::Text(p.into()),
            wit::Part::Reasoning(p) => ir::Part::Reasoning(p.into()),
            wit::Part::File(p) => ir::Part::File(p.into()),
            wit::Part::ToolCall(p) => ir::Part::ToolCall(p.into()),
            wit::Part::ToolResult(p) => ir::Part::ToolResult(p.into()),
        }
    }
}

impl From<ir::Message> for wit::Message {
    fn from(message: ir::Message) -> Self {
        Self {
            role: message.role.into(),
            parts: message.parts.into_iter().map(Into::into).collect(),
            options: options_to_wit(message.options),
        }
    }
}

impl From<wit::Message> for ir::Message {
    fn from(message: wit::Message) -> Self {
        Self {
            role: message.role.into(),
            parts: message.parts.into_iter().map(Into::into).collect(),
            options: options_from_wit(message.options),
        }
    }
}

impl From<ir::Tool> for wit::Tool {
    fn from(tool: ir::Tool) -> Self {
        Self {
            name: tool.name,
            description: tool.description,
            input_schema: tool.input_schema,
            options: options_to_wit(tool.options),
        }
    }
}

impl From<wit::Tool> for ir::Tool {
    fn from(tool: wit::Tool) -> Self {
        Self {
            name: tool.name,
            description: tool.description,
            input_schema: tool.input_schema,
            options: options_from_wit(tool.options),
        }
    }
}

impl From<ir::ToolChoice> for wit::ToolChoice {
    fn from(choice: ir::ToolChoice) -> Self {
        match choice {
            ir::ToolChoice::Auto => wit::ToolChoice::Auto,
            ir::ToolChoice::None => wit::ToolChoice::None,
            ir::ToolChoice::Required => wit::ToolChoice::Required,
            ir::ToolChoice::Tool(name) => wit::ToolChoice::Tool(name),
        }
    }
}

impl From<wit::ToolChoice> for ir::ToolChoice {
    fn from(choice: wit::ToolChoice) -> Self {
        match choice {
            wit::ToolChoice::Auto => ir::ToolChoice::Auto,
            wit::ToolChoice::None => ir::ToolChoice::None,
            wit::ToolChoice::Required => ir::ToolChoice::Required,
            wit::ToolChoice::Tool(name) => ir::ToolChoice::Tool(name),
        }
    }
}

impl From<ir::ReasoningConfig> for wit::ReasoningConfig {
    fn from(config: ir::ReasoningConfig) -> Self {
        Self { effort: config.effort, budget_tokens: config.budget_tokens }
    }
}

impl From<wit::ReasoningConfig> for ir::ReasoningConfig {
    fn from(config: wit::ReasoningConfig) -> Self {
        Self { effort: config.effort, budget_tokens: config.budget_tokens }
    }
}

impl From<ir::ResponseFormat> for wit::ResponseFormat {
    fn from(format: ir::ResponseFormat) -> Self {
        match format {
            ir::ResponseFormat::Text => wit::ResponseFormat::Text,
            ir::ResponseFormat::JsonObject => wit::ResponseFormat::JsonObject,
            ir::ResponseFormat::JsonSchema(s) => wit::ResponseFormat::JsonSchema(wit::JsonSchemaFormat {
                name: s.name,
                schema: s.schema,
                strict: s.strict,
                description: s.description,
            }),
        }
    }
}

impl From<wit::ResponseFormat> for ir::ResponseFormat {
    fn from(format: wit::ResponseFormat) -> Self {
        match format {
            wit::ResponseFormat::Text => ir::ResponseFormat::Text,
            wit::ResponseFormat::JsonObject => ir::ResponseFormat::JsonObject,
            wit::ResponseFormat::JsonSchema(s) => ir::ResponseFormat::JsonSchema(ir::JsonSchemaFormat {
                name: s.name,
                schema: s.schema,
                strict: s.strict,
                description: s.description,
            }),
        }
    }
}

impl From<ir::GenerationParams> for wit::GenerationParams {
    fn from(p: ir::GenerationParams) -> Self {
        Self {
            max_tokens: p.max_tokens,
            temperature: p.temperature,
            top_p: p.top_p,
            top_k: p.top_k,
            stop: p.stop,
            seed: p.seed,
            presence_penalty: p.presence_penalty,
            frequency_penalty: p.frequency_penalty,
            reasoning: p.reasoning.map(Into::into),
            response_format: p.response_format.map(Into::into),
            parallel_tool_calls: p.parallel_tool_calls,
        }
    }
}

impl From<wit::GenerationParams> for ir::GenerationParams {
    fn from(p: wit::GenerationParams) -> Self {
        Self {
            max_tokens: p.max_tokens,
            temperature: p.temperature,
            top_p: p.top_p,
            top_k: p.top_k,
            stop: p.stop,
            seed: p.seed,
            presence_penalty: p.presence_penalty,
            frequency_penalty: p.frequency_penalty,
            reasoning: p.reasoning.map(Into::into),
            response_format: p.response_format.map(Into::into),
            parallel_tool_calls: p.parallel_tool_calls,
        }
    }
}

impl From<ir::ChatRequest> for wit::ChatRequest {
    fn from(r: ir::ChatRequest) -> Self {
        Self {
            model: r.model,
            system: r.system.into_iter().map(Into::into).collect(),
            messages: r.messages.into_iter().map(Into::into).collect(),
            tools: r.tools.into_iter().map(Into::into).collect(),
            tool_choice: r.tool_choice.map(Into::into),
            params: r.params.into(),
            stream: r.stream,
            options: options_to_wit(r.options),
        }
    }
}

impl From<wit::ChatRequest> for ir::ChatRequest {
    fn from(r: wit::ChatRequest) -> Self {
        Self {
            model: r.model,
            system: r.system.into_iter().map(Into::into).collect(),
            messages: r.messages.into_iter().map(Into::into).collect(),
            tools: r.tools.into_iter().map(Into::into).collect(),
            tool_choice: r.tool_choice.map(Into::into),
            params: r.params.into(),
            stream: r.stream,
            options: options_from_wit(r.options),
        }
    }
}

impl From<ir::Dialect> for wit::Dialect {
    fn from(dialect: ir::Dialect) -> Self {
        match dialect {
            ir::Dialect::OpenaiChat => wit::Dialect::OpenaiChat,
            ir::Dialect::OpenaiResponses => wit::Dialect::OpenaiResponses,
            ir::Dialect::AnthropicMessages => wit::Dialect::AnthropicMessages,
            ir::Dialect::Gemini => wit::Dialect::Gemini,
        }
    }
}

impl From<wit::Dialect> for ir::Dialect {
    fn from(dialect: wit::Dialect) -> Self {
        match dialect {
            wit::Dialect::OpenaiChat => ir::Dialect::OpenaiChat,
            wit::Dialect::OpenaiResponses => ir::Dialect::OpenaiResponses,
            wit::Dialect::AnthropicMessages => ir::Dialect::AnthropicMessages,
            wit::Dialect::Gemini => ir::Dialect::Gemini,
        }
    }
}

// ---------------------------------------------------------------- HTTP

impl From<ir::HttpRequest> for wit::HttpRequest {
    fn from(r: ir::HttpRequest) -> Self {
        Self { method: r.method, url: r.url, headers: r.headers, body: r.body }
    }
}

impl From<wit::HttpRequest> for ir::HttpRequest {
    fn from(r: wit::HttpRequest) -> Self {
        Self { method: r.method, url: r.url, headers: r.headers, body: r.body }
    }
}

impl From<ir::ResponseHead> for wit::ResponseHead {
    fn from(h: ir::ResponseHead) -> Self {
        Self { status: h.status, headers: h.headers }
    }
}

impl From<wit::ResponseHead> for ir::ResponseHead {
    fn from(h: wit::ResponseHead) -> Self {
        Self { status: h.status, headers: h.headers }
    }
}

// ---------------------------------------------------------------- stream events

impl From<ir::FinishReason> for wit::FinishReason {
    fn from(reason: ir::FinishReason) -> Self {
        match reason {
            ir::FinishReason::Stop => wit::FinishReason::Stop,
            ir::FinishReason::Length => wit::FinishReason::Length,
            ir::FinishReason::ContentFilter => wit::FinishReason::ContentFilter,
            ir::FinishReason::ToolCalls => wit::FinishReason::ToolCalls,
            ir::FinishReason::Error => wit::FinishReason::Error,
            ir::FinishReason::Other => wit::FinishReason::Other,
        }
    }
}

impl From<wit::FinishReason> for ir::FinishReason {
    fn from(reason: wit::FinishReason) -> Self {
        match reason {
            wit::FinishReason::Stop => ir::FinishReason::Stop,
            wit::FinishReason::Length => ir::FinishReason::Length,
            wit::FinishReason::ContentFilter => ir::FinishReason::ContentFilter,
            wit::FinishReason::ToolCalls => ir::FinishReason::ToolCalls,
            wit::FinishReason::Error => ir::FinishReason::Error,
            wit::FinishReason::Other => ir::FinishReason::Other,
        }
    }
}

impl From<ir::Usage> for wit::Usage {
    fn from(u: ir::Usage) -> Self {
        Self {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            cache_read_tokens: u.cache_read_tokens,
            cache_write_tokens: u.cache_write_tokens,
            reasoning_tokens: u.reasoning_tokens,
        }
    }
}

impl From<wit::Usage> for ir::Usage {
    fn from(u: wit::Usage) -> Self {
        Self {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            cache_read_tokens: u.cache_read_tokens,
            cache_write_tokens: u.cache_write_tokens,
            reasoning_tokens: u.reasoning_tokens,
        }
    }
}

impl From<ir::Finish> for wit::Finish {
    fn from(f: ir::Finish) -> Self {
        Self {
            reason: f.reason.into(),
            raw_reason: f.raw_reason,
            usage: f.usage.into(),
            options: options_to_wit(f.options),
        }
    }
}

impl From<wit::Finish> for ir::Finish {
    fn from(f: wit::Finish) -> Self {
        Self {
            reason: f.reason.into(),
            raw_reason: f.raw_reason,
            usage: f.usage.into(),
            options: options_from_wit(f.options),
        }
    }
}

impl From<ir::ResponseMetadata> for wit::ResponseMetadata {
    fn from(m: ir::ResponseMetadata) -> Self {
        Self { id: m.id, model: m.model, created: m.created }
    }
}

impl From<wit::ResponseMetadata> for ir::ResponseMetadata {
    fn from(m: wit::ResponseMetadata) -> Self {
        Self { id: m.id, model: m.model, created: m.created }
    }
}

impl From<ir::ErrorKind> for wit::ErrorKind {
    fn from(kind: ir::ErrorKind) -> Self {
        match kind {
            ir::ErrorKind::InvalidRequest => wit::ErrorKind::InvalidRequest,
            ir::ErrorKind::Unsupported => wit::ErrorKind::Unsupported,
            ir::ErrorKind::Upstream => wit::ErrorKind::Upstream,
            ir::ErrorKind::Internal => wit::ErrorKind::Internal,
        }
    }
}

impl From<wit::ErrorKind> for ir::ErrorKind {
    fn from(kind: wit::ErrorKind) -> Self {
        match kind {
            wit::ErrorKind::InvalidRequest => ir::ErrorKind::InvalidRequest,
            wit::ErrorKind::Unsupported => ir::ErrorKind::Unsupported,
            wit::ErrorKind::Upstream => ir::ErrorKind::Upstream,
            wit::ErrorKind::Internal => ir::ErrorKind::Internal,
        }
    }
}

impl From<ir::AdapterError> for wit::AdapterError {
    fn from(e: ir::AdapterError) -> Self {
        Self { kind: e.kind.into(), message: e.message }
    }
}

impl From<wit::AdapterError> for ir::AdapterError {
    fn from(e: wit::AdapterError) -> Self {
        Self { kind: e.kind.into(), message: e.message }
    }
}

impl From<ir::StreamEvent> for wit::StreamEvent {
    fn from(event: ir::StreamEvent) -> Self {
        use ir::StreamEvent as E;
        match event {
            E::ResponseMetadata(m) => wit::StreamEvent::ResponseMetadata(m.into()),
            E::TextStart(id) => wit::StreamEvent::TextStart(id),
            E::TextDelta { id, delta } => wit::StreamEvent::TextDelta(wit::Delta { id, delta }),
            E::TextEnd(id) => wit::StreamEvent::TextEnd(id),
            E::ReasoningStart(id) => wit::StreamEvent::ReasoningStart(id),
            E::ReasoningDelta { id, delta } => wit::StreamEvent::ReasoningDelta(wit::Delta { id, delta }),
            E::ReasoningEnd { id, signature, redacted } => {
                wit::StreamEvent::ReasoningEnd(wit::ReasoningEnd { id, signature, redacted })
            }
            E::ToolInputStart { id, name } => {
                wit::StreamEvent::ToolInputStart(wit::ToolInputStart { id, name })
            }
            E::ToolInputDelta { id, delta } => wit::StreamEvent::ToolInputDelta(wit::Delta { id, delta }),
            E::ToolInputEnd(id) => wit::StreamEvent::ToolInputEnd(id),
            E::ToolCall(call) => wit::StreamEvent::ToolCall(call.into()),
            E::Finish(finish) => wit::StreamEvent::Finish(finish.into()),
            E::Raw(bytes) => wit::StreamEvent::Raw(bytes),
            E::Error(error) => wit::StreamEvent::Error(error.into()),
        }
    }
}

impl From<wit::StreamEvent> for ir::StreamEvent {
    fn from(event: wit::StreamEvent) -> Self {
        use ir::StreamEvent as E;
        match event {
            wit::StreamEvent::ResponseMetadata(m) => E::ResponseMetadata(m.into()),
            wit::StreamEvent::TextStart(id) => E::TextStart(id),
            wit::StreamEvent::TextDelta(d) => E::TextDelta { id: d.id, delta: d.delta },
            wit::StreamEvent::TextEnd(id) => E::TextEnd(id),
            wit::StreamEvent::ReasoningStart(id) => E::ReasoningStart(id),
            wit::StreamEvent::ReasoningDelta(d) => E::ReasoningDelta { id: d.id, delta: d.delta },
            wit::StreamEvent::ReasoningEnd(end) => {
                E::ReasoningEnd { id: end.id, signature: end.signature, redacted: end.redacted }
            }
            wit::StreamEvent::ToolInputStart(start) => E::ToolInputStart { id: start.id, name: start.name },
            wit::StreamEvent::ToolInputDelta(d) => E::ToolInputDelta { id: d.id, delta: d.delta },
            wit::StreamEvent::ToolInputEnd(id) => E::ToolInputEnd(id),
            wit::StreamEvent::ToolCall(call) => E::ToolCall(call.into()),
            wit::StreamEvent::Finish(finish) => E::Finish(finish.into()),
            wit::StreamEvent::Raw(bytes) => E::Raw(bytes),
            wit::StreamEvent::Error(error) => E::Error(error.into()),
        }
    }
}

/// Events from a guest, in host form.
pub fn events_from_wit(events: Vec<wit::StreamEvent>) -> Vec<ir::StreamEvent> {
    events.into_iter().map(Into::into).collect()
}

/// Events for a guest, in WIT form.
pub fn events_to_wit(events: Vec<ir::StreamEvent>) -> Vec<wit::StreamEvent> {
    events.into_iter().map(Into::into).collect()
}

// ---------------------------------------------------------------- translator world

impl From<wit_translator::AuthScheme> for AuthScheme {
    fn from(auth: wit_translator::AuthScheme) -> Self {
        match auth {
            wit_translator::AuthScheme::None => AuthScheme::None,
            wit_translator::AuthScheme::Bearer => AuthScheme::Bearer,
            wit_translator::AuthScheme::Header(h) => AuthScheme::Header { name: h.name, prefix: h.prefix },
            wit_translator::AuthScheme::Query(name) => AuthScheme::Query(name),
        }
    }
}

impl From<AuthScheme> for wit_translator::AuthScheme {
    fn from(auth: AuthScheme) -> Self {
        match auth {
            AuthScheme::None => wit_translator::AuthScheme::None,
            AuthScheme::Bearer => wit_translator::AuthScheme::Bearer,
            AuthScheme::Header { name, prefix } => {
                wit_translator::AuthScheme::Header(wit_translator::HeaderAuth { name, prefix })
            }
            AuthScheme::Query(name) => wit_translator::AuthScheme::Query(name),
        }
    }
}

impl From<wit_translator::ModelInfo> for ModelInfo {
    fn from(m: wit_translator::ModelInfo) -> Self {
        Self {
            id: m.id,
            display_name: m.display_name,
            context_window: m.context_window,
            max_output_tokens: m.max_output_tokens,
        }
    }
}

impl From<ModelInfo> for wit_translator::ModelInfo {
    fn from(m: ModelInfo) -> Self {
        Self {
            id: m.id,
            display_name: m.display_name,
            context_window: m.context_window,
            max_output_tokens: m.max_output_tokens,
        }
    }
}

impl From<wit_translator::AdapterInfo> for ProviderInfo {
    fn from(info: wit_translator::AdapterInfo) -> Self {
        Self {
            id: info.id,
            version: info.version,
            contract_version: info.contract_version,
            description: info.description,
            models: info.models.into_iter().map(Into::into).collect(),
            native_dialects: info.native_dialects.into_iter().map(Into::into).collect(),
            auth: info.auth.into(),
            hosts: info.hosts,
            default_base_url: info.default_base_url,
            default_fixups: info.default_fixups,
        }
    }
}

impl From<ProviderInfo> for wit_translator::AdapterInfo {
    fn from(info: ProviderInfo) -> Self {
        Self {
            id: info.id,
            version: info.version,
            contract_version: info.contract_version,
            description: info.description,
            models: info.models.into_iter().map(Into::into).collect(),
            native_dialects: info.native_dialects.into_iter().map(Into::into).collect(),
            auth: info.auth.into(),
            hosts: info.hosts,
            default_base_url: info.default_base_url,
            default_fixups: info.default_fixups,
        }
    }
}

impl From<&Account> for wit_translator::Account {
    fn from(a: &Account) -> Self {
        Self { id: a.id.clone(), base_url: a.base_url.clone(), attributes: a.attributes.clone() }
    }
}

impl From<wit_translator::Account> for Account {
    fn from(a: wit_translator::Account) -> Self {
        Self { id: a.id, base_url: a.base_url, attributes: a.attributes }
    }
}

impl From<&EncodeContext> for wit_translator::EncodeContext {
    fn from(c: &EncodeContext) -> Self {
        Self { account: (&c.account).into(), model: c.model.clone() }
    }
}

impl From<wit_translator::EncodeContext> for EncodeContext {
    fn from(c: wit_translator::EncodeContext) -> Self {
        Self { account: c.account.into(), model: c.model }
    }
}

impl From<DecodeContext> for wit_translator::DecodeContext {
    fn from(c: DecodeContext) -> Self {
        Self {
            head: c.head.into(),
            streaming: c.streaming,
            passthrough: c.passthrough.map(Into::into),
        }
    }
}

impl From<wit_translator::DecodeContext> for DecodeContext {
    fn from(c: wit_translator::DecodeContext) -> Self {
        Self {
            head: c.head.into(),
            streaming: c.streaming,
            passthrough: c.passthrough.map(Into::into),
        }
    }
}

impl From<wit_translator::ErrorClass> for ir::ErrorClass {
    fn from(class: wit_translator::ErrorClass) -> Self {
        use wit_translator::ErrorClass as C;
        match class {
            C::RateLimited(r) => ir::ErrorClass::RateLimited { retry_after_ms: r.after_ms },
            C::QuotaExhausted(r) => ir::ErrorClass::QuotaExhausted { retry_after_ms: r.after_ms },
            C::AuthExpired => ir::ErrorClass::AuthExpired,
            C::ContextTooLong => ir::ErrorClass::ContextTooLong,
            C::Overloaded(r) => ir::ErrorClass::Overloaded { retry_after_ms: r.after_ms },
            C::BadRequest => ir::ErrorClass::BadRequest,
            C::Other => ir::ErrorClass::Other,
        }
    }
}

impl From<ir::ErrorClass> for wit_translator::ErrorClass {
    fn from(class: ir::ErrorClass) -> Self {
        use wit_translator::{ErrorClass as C, RetryAfter};
        match class {
            ir::ErrorClass::RateLimited { retry_after_ms } => C::RateLimited(RetryAfter { after_ms: retry_after_ms }),
            ir::ErrorClass::QuotaExhausted { retry_after_ms } => {
                C::QuotaExhausted(RetryAfter { after_ms: retry_after_ms })
            }
            ir::ErrorClass::AuthExpired => C::AuthExpired,
            ir::ErrorClass::ContextTooLong => C::ContextTooLong,
            ir::ErrorClass::Overloaded { retry_after_ms } => C::Overloaded(RetryAfter { after_ms: retry_after_ms }),
            ir::ErrorClass::BadRequest => C::BadRequest,
            ir::ErrorClass::Other => C::Other,
        }
    }
}

impl From<wit_translator::ClassifiedError> for ir::ClassifiedError {
    fn from(e: wit_translator::ClassifiedError) -> Self {
        Self { class: e.class.into(), message: e.message }
    }
}

impl From<ir::ClassifiedError> for wit_translator::ClassifiedError {
    fn from(e: ir::ClassifiedError) -> Self {
        Self { class: e.class.into(), message: e.message }
    }
}

// ---------------------------------------------------------------- filter world

impl From<wit_filter::Hooks> for Hooks {
    fn from(hooks: wit_filter::Hooks) -> Self {
        Self {
            request: hooks.contains(wit_filter::Hooks::REQUEST),
            upstream_request: hooks.contains(wit_filter::Hooks::UPSTREAM_REQUEST),
            events: hooks.contains(wit_filter::Hooks::EVENTS),
        }
    }
}

impl From<Hooks> for wit_filter::Hooks {
    fn from(hooks: Hooks) -> Self {
        let mut flags = wit_filter::Hooks::empty();
        if hooks.request {
            flags |= wit_filter::Hooks::REQUEST;
        }
        if hooks.upstream_request {
            flags |= wit_filter::Hooks::UPSTREAM_REQUEST;
        }
        if hooks.events {
            flags |= wit_filter::Hooks::EVENTS;
        }
        flags
    }
}

impl From<wit_filter::FixupInfo> for FixupInfo {
    fn from(info: wit_filter::FixupInfo) -> Self {
        Self {
            id: info.id,
            version: info.version,
            contract_version: info.contract_version,
            description: info.description,
            hooks: info.hooks.into(),
        }
    }
}

impl From<FixupInfo> for wit_filter::FixupInfo {
    fn from(info: FixupInfo) -> Self {
        Self {
            id: info.id,
            version: info.version,
            contract_version: info.contract_version,
            description: info.description,
            hooks: info.hooks.into(),
        }
    }
}

/// The facts a fixup's `filter` constructor receives, from the sandbox context.
/// `provider` is the adapter id of the provider serving the request.
pub fn fixup_context(provider_id: &str, ctx: &SandboxContext) -> wit_filter::FixupContext {
    wit_filter::FixupContext {
        provider: provider_id.to_owned(),
        provider_name: ctx.provider_name.clone(),
        model: ctx.model.clone(),
        client_dialect: ctx.client_dialect.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rich_request() -> ir::ChatRequest {
        ir::ChatRequest {
            model: "m".into(),
            system: vec![ir::TextPart { text: "be brief".into(), options: Some(json!({"anthropic": {"cache_control": {"type": "ephemeral"}}})) }],
            messages: vec![
                ir::Message {
                    role: ir::Role::User,
                    parts: vec![
                        ir::Part::Text(ir::TextPart { text: "hi".into(), options: None }),
                        ir::Part::File(ir::FilePart {
                            media_type: "image/png".into(),
                            data: ir::FileData::Base64("AAAA".into()),
                            filename: Some("a.png".into()),
                            options: None,
                        }),
                    ],
                    options: None,
                },
                ir::Message {
                    role: ir::Role::Assistant,
                    parts: vec![
                        ir::Part::Reasoning(ir::ReasoningPart { text: "hmm".into(), signature: Some("sig".into()), redacted: None, options: None }),
                        ir::Part::ToolCall(ir::ToolCallPart { id: "c1".into(), name: "ls".into(), arguments: "{}".into(), options: None }),
                    ],
                    options: None,
                },
                ir::Message {
                    role: ir::Role::Tool,
                    parts: vec![ir::Part::ToolResult(ir::ToolResultPart {
                        call_id: "c1".into(),
                        name: Some("ls".into()),
                        output: vec![ir::ToolOutput::Text("a b".into())],
                        is_error: false,
                        options: None,
                    })],
                    options: Some(json!({"x": 1})),
                },
            ],
            tools: vec![ir::Tool { name: "ls".into(), description: None, input_schema: "{\"type\":\"object\"}".into(), options: None }],
            tool_choice: Some(ir::ToolChoice::Tool("ls".into())),
            params: ir::GenerationParams {
                max_tokens: Some(10),
                temperature: Some(0.5),
                stop: vec!["END".into()],
                seed: Some(-3),
                reasoning: Some(ir::ReasoningConfig { effort: Some("high".into()), budget_tokens: Some(100) }),
                response_format: Some(ir::ResponseFormat::JsonSchema(ir::JsonSchemaFormat {
                    name: "n".into(),
                    schema: "{}".into(),
                    strict: true,
                    description: None,
                })),
                ..Default::default()
            },
            stream: true,
            options: Some(json!({"openai": {"user": "u"}})),
        }
    }

    #[test]
    fn a_request_survives_the_round_trip_through_wit_unchanged() {
        let original = rich_request();
        let there: wit::ChatRequest = original.clone().into();
        let back: ir::ChatRequest = there.into();
        assert_eq!(back, original);
    }

    #[test]
    fn every_stream_event_survives_the_round_trip() {
        let events = vec![
            ir::StreamEvent::ResponseMetadata(ir::ResponseMetadata { id: Some("r".into()), model: None, created: Some(1) }),
            ir::StreamEvent::TextStart("t".into()),
            ir::StreamEvent::TextDelta { id: "t".into(), delta: "hé".into() },
            ir::StreamEvent::TextEnd("t".into()),
            ir::StreamEvent::ReasoningStart("r".into()),
            ir::StreamEvent::ReasoningDelta { id: "r".into(), delta: "..".into() },
            ir::StreamEvent::ReasoningEnd { id: "r".into(), signature: Some("s".into()), redacted: None },
            ir::StreamEvent::ToolInputStart { id: "c".into(), name: "ls".into() },
            ir::StreamEvent::ToolInputDelta { id: "c".into(), delta: "{".into() },
            ir::StreamEvent::ToolInputEnd("c".into()),
            ir::StreamEvent::ToolCall(ir::ToolCallPart { id: "c".into(), name: "ls".into(), arguments: "{}".into(), options: None }),
            ir::StreamEvent::Raw(vec![1, 2, 3]),
            ir::StreamEvent::Error(ir::AdapterError { kind: ir::ErrorKind::Upstream, message: "x".into() }),
            ir::StreamEvent::Finish(ir::Finish {
                reason: ir::FinishReason::ToolCalls,
                raw_reason: Some("tool_use".into()),
                usage: ir::Usage { input_tokens: Some(3), cache_read_tokens: Some(1), ..Default::default() },
                options: Some(json!({"a": [1]})),
            }),
        ];
        assert_eq!(events_from_wit(events_to_wit(events.clone())), events);
    }

    #[test]
    fn options_that_are_not_json_are_kept_as_a_string() {
        let part: ir::TextPart = wit::TextPart { text: "x".into(), options: Some("{oops".into()) }.into();
        assert_eq!(part.options, Some(Value::String("{oops".into())));
    }

    #[test]
    fn hooks_flags_map_both_ways() {
        let hooks = Hooks { request: true, upstream_request: false, events: true };
        let flags: wit_filter::Hooks = hooks.into();
        assert_eq!(Hooks::from(flags), hooks);
    }

    #[test]
    fn error_classes_keep_their_retry_hints() {
        let class = ir::ErrorClass::RateLimited { retry_after_ms: Some(1500) };
        let there: wit_translator::ErrorClass = class.into();
        assert_eq!(ir::ErrorClass::from(there), class);
    }
}
