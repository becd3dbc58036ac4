//! The conversions between the host IR and the generated types that are the same in
//! every contract version, written once.
//!
//! Each version's bindings are their own generated type family (`bindings::v0_1::types`,
//! `bindings::v0_2::types`, ...) whose records, variants and enums have identical names
//! and fields for most of the IR: roles, parts, messages, tools, parameters, the HTTP
//! request and response head, usage, finish, deltas. They are distinct Rust types, so
//! one generic function cannot serve them without a trait per type; a `macro_rules!`
//! macro writes the same `From` impls for each family instead. Each version's folder
//! invokes [`shared_ir_conversions!`] and keeps what differs hand-written beside it.

#[cfg(test)]
pub(super) mod tests;

/// Writes, in the invoking module, the conversions whose shape is the same in every
/// contract version: `From` both ways for every shared type, `chat_request_to_wit`,
/// `events_from_wit` and `events_to_wit`, and the world-level `model-info` and
/// `hooks`. Brings `ir`, `wit`, `wit_translator` and `wit_filter` into scope there.
///
/// - `types`, `translator`, `filter`: the version's generated `types` interface and
///   its exported `translator` and `filter` interfaces.
/// - `chat_request_extra`: fields of the version's `chat-request` that the host IR
///   does not have, which `chat_request_to_wit` takes as arguments.
/// - `stream_error`: how the version carries a stream's error, both ways
///   (`stream-event::error`'s payload differs between versions).
///
/// Conversions consume their input, so strings and byte buffers move instead of being
/// copied; `options` cross as JSON text through `options_to_wit` and `options_from_wit`.
macro_rules! shared_ir_conversions {
    (
        types: $types:path,
        translator: $translator:path,
        filter: $filter:path,
        chat_request_extra: { $($extra:ident: $extra_ty:ty),* $(,)? },
        stream_error: { to_wit: $error_to_wit:path, from_wit: $error_from_wit:path $(,)? } $(,)?
    ) => {
        use $crate::ir;
        use $crate::runtime::convert::{options_from_wit, options_to_wit};
        use $types as wit;
        use $translator as wit_translator;
        use $filter as wit_filter;

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
                Self {
                    text: part.text,
                    options: options_to_wit(part.options),
                }
            }
        }

        impl From<wit::TextPart> for ir::TextPart {
            fn from(part: wit::TextPart) -> Self {
                Self {
                    text: part.text,
                    options: options_from_wit(part.options),
                }
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
                Self {
                    effort: config.effort,
                    budget_tokens: config.budget_tokens,
                }
            }
        }

        impl From<wit::ReasoningConfig> for ir::ReasoningConfig {
            fn from(config: wit::ReasoningConfig) -> Self {
                Self {
                    effort: config.effort,
                    budget_tokens: config.budget_tokens,
                }
            }
        }

        impl From<ir::ResponseFormat> for wit::ResponseFormat {
            fn from(format: ir::ResponseFormat) -> Self {
                match format {
                    ir::ResponseFormat::Text => wit::ResponseFormat::Text,
                    ir::ResponseFormat::JsonObject => wit::ResponseFormat::JsonObject,
                    ir::ResponseFormat::JsonSchema(s) => {
                        wit::ResponseFormat::JsonSchema(wit::JsonSchemaFormat {
                            name: s.name,
                            schema: s.schema,
                            strict: s.strict,
                            description: s.description,
                        })
                    }
                }
            }
        }

        impl From<wit::ResponseFormat> for ir::ResponseFormat {
            fn from(format: wit::ResponseFormat) -> Self {
                match format {
                    wit::ResponseFormat::Text => ir::ResponseFormat::Text,
                    wit::ResponseFormat::JsonObject => ir::ResponseFormat::JsonObject,
                    wit::ResponseFormat::JsonSchema(s) => {
                        ir::ResponseFormat::JsonSchema(ir::JsonSchemaFormat {
                            name: s.name,
                            schema: s.schema,
                            strict: s.strict,
                            description: s.description,
                        })
                    }
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

        /// A host request in this version's form; `$extra` are the fields this
        /// version's `chat-request` has and the host IR does not (0.1's `model`).
        pub fn chat_request_to_wit(r: ir::ChatRequest $(, $extra: $extra_ty)*) -> wit::ChatRequest {
            wit::ChatRequest {
                $($extra,)*
                system: r.system.into_iter().map(Into::into).collect(),
                messages: r.messages.into_iter().map(Into::into).collect(),
                tools: r.tools.into_iter().map(Into::into).collect(),
                tool_choice: r.tool_choice.map(Into::into),
                params: r.params.into(),
                stream: r.stream,
                options: options_to_wit(r.options),
            }
        }

        impl From<wit::ChatRequest> for ir::ChatRequest {
            fn from(r: wit::ChatRequest) -> Self {
                Self {
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

        // HTTP

        impl From<ir::HttpRequest> for wit::HttpRequest {
            fn from(r: ir::HttpRequest) -> Self {
                Self {
                    method: r.method,
                    url: r.url,
                    headers: r.headers,
                    body: r.body,
                }
            }
        }

        impl From<wit::HttpRequest> for ir::HttpRequest {
            fn from(r: wit::HttpRequest) -> Self {
                Self {
                    method: r.method,
                    url: r.url,
                    headers: r.headers,
                    body: r.body,
                }
            }
        }

        impl From<ir::ResponseHead> for wit::ResponseHead {
            fn from(h: ir::ResponseHead) -> Self {
                Self {
                    status: h.status,
                    headers: h.headers,
                }
            }
        }

        impl From<wit::ResponseHead> for ir::ResponseHead {
            fn from(h: wit::ResponseHead) -> Self {
                Self {
                    status: h.status,
                    headers: h.headers,
                }
            }
        }


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
                Self {
                    id: m.id,
                    model: m.model,
                    created: m.created,
                }
            }
        }

        impl From<wit::ResponseMetadata> for ir::ResponseMetadata {
            fn from(m: wit::ResponseMetadata) -> Self {
                Self {
                    id: m.id,
                    model: m.model,
                    created: m.created,
                }
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
                Self {
                    kind: e.kind.into(),
                    message: e.message,
                }
            }
        }

        impl From<wit::AdapterError> for ir::AdapterError {
            fn from(e: wit::AdapterError) -> Self {
                Self {
                    kind: e.kind.into(),
                    message: e.message,
                }
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
                    E::ReasoningDelta { id, delta } => {
                        wit::StreamEvent::ReasoningDelta(wit::Delta { id, delta })
                    }
                    E::ReasoningEnd {
                        id,
                        signature,
                        redacted,
                    } => wit::StreamEvent::ReasoningEnd(wit::ReasoningEnd {
                        id,
                        signature,
                        redacted,
                    }),
                    E::ToolInputStart { id, name } => {
                        wit::StreamEvent::ToolInputStart(wit::ToolInputStart { id, name })
                    }
                    E::ToolInputDelta { id, delta } => {
                        wit::StreamEvent::ToolInputDelta(wit::Delta { id, delta })
                    }
                    E::ToolInputEnd(id) => wit::StreamEvent::ToolInputEnd(id),
                    E::ToolCall(call) => wit::StreamEvent::ToolCall(call.into()),
                    E::Finish(finish) => wit::StreamEvent::Finish(finish.into()),
                    E::Raw(bytes) => wit::StreamEvent::Raw(bytes),
                    E::Error(error) => wit::StreamEvent::Error($error_to_wit(error)),
                }
            }
        }

        impl From<wit::StreamEvent> for ir::StreamEvent {
            fn from(event: wit::StreamEvent) -> Self {
                use ir::StreamEvent as E;
                match event {
                    wit::StreamEvent::ResponseMetadata(m) => E::ResponseMetadata(m.into()),
                    wit::StreamEvent::TextStart(id) => E::TextStart(id),
                    wit::StreamEvent::TextDelta(d) => E::TextDelta {
                        id: d.id,
                        delta: d.delta,
                    },
                    wit::StreamEvent::TextEnd(id) => E::TextEnd(id),
                    wit::StreamEvent::ReasoningStart(id) => E::ReasoningStart(id),
                    wit::StreamEvent::ReasoningDelta(d) => E::ReasoningDelta {
                        id: d.id,
                        delta: d.delta,
                    },
                    wit::StreamEvent::ReasoningEnd(end) => E::ReasoningEnd {
                        id: end.id,
                        signature: end.signature,
                        redacted: end.redacted,
                    },
                    wit::StreamEvent::ToolInputStart(start) => E::ToolInputStart {
                        id: start.id,
                        name: start.name,
                    },
                    wit::StreamEvent::ToolInputDelta(d) => E::ToolInputDelta {
                        id: d.id,
                        delta: d.delta,
                    },
                    wit::StreamEvent::ToolInputEnd(id) => E::ToolInputEnd(id),
                    wit::StreamEvent::ToolCall(call) => E::ToolCall(call.into()),
                    wit::StreamEvent::Finish(finish) => E::Finish(finish.into()),
                    wit::StreamEvent::Raw(bytes) => E::Raw(bytes),
                    wit::StreamEvent::Error(error) => E::Error($error_from_wit(error)),
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


        impl From<wit_translator::ModelInfo> for $crate::runtime::ModelInfo {
            fn from(m: wit_translator::ModelInfo) -> Self {
                Self {
                    id: m.id,
                    display_name: m.display_name,
                    context_window: m.context_window,
                    max_output_tokens: m.max_output_tokens,
                }
            }
        }

        impl From<wit_filter::Hooks> for $crate::runtime::Hooks {
            fn from(hooks: wit_filter::Hooks) -> Self {
                Self {
                    request: hooks.contains(wit_filter::Hooks::REQUEST),
                    upstream_request: hooks.contains(wit_filter::Hooks::UPSTREAM_REQUEST),
                    events: hooks.contains(wit_filter::Hooks::EVENTS),
                }
            }
        }
    };
}

pub(crate) use shared_ir_conversions;
