//! The host-native IR: the provider-neutral request and event types every surface
//! decodes into and encodes from. They mirror `wit/plugboard-adapter@*/types.wit`;
//! `runtime::convert` maps them to and from each supported WIT version, so surfaces and
//! routing never depend on generated bindings.
//!
//! `options` fields hold provider-keyed JSON (`{"anthropic": {...}}`): the escape hatch
//! for anything the IR has no field for.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Provider-keyed extras: a JSON object keyed by adapter id, or `None`.
pub type Options = Option<Value>;

/// Who speaks a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions inside the conversation.
    System,
    /// The client.
    User,
    /// The model.
    Assistant,
    /// Tool results.
    Tool,
}

/// Plain text with extras.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TextPart {
    /// The text.
    pub text: String,
    /// Provider-keyed extras.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Options,
}

/// Model reasoning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ReasoningPart {
    /// Readable reasoning text.
    pub text: String,
    /// Provider signature, sent back verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Opaque encrypted reasoning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted: Option<String>,
    /// Provider-keyed extras.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Options,
}

/// Where a file's bytes are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileData {
    /// A URL the upstream fetches.
    Url(String),
    /// Base64 bytes (standard alphabet).
    Base64(String),
}

/// An image or other file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilePart {
    /// IANA media type.
    pub media_type: String,
    /// The content.
    pub data: FileData,
    /// Optional file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Provider-keyed extras.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Options,
}

/// A call the model made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallPart {
    /// Call id.
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments, a serialised JSON object.
    pub arguments: String,
    /// Provider-keyed extras.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Options,
}

/// One piece of tool output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolOutput {
    /// Text.
    Text(String),
    /// A file.
    File(FilePart),
}

/// A tool result sent by the client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResultPart {
    /// The call it answers.
    pub call_id: String,
    /// The tool's name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The output.
    pub output: Vec<ToolOutput>,
    /// True when the tool failed.
    #[serde(default)]
    pub is_error: bool,
    /// Provider-keyed extras.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Options,
}

/// One typed piece of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Part {
    /// Text.
    Text(TextPart),
    /// Reasoning.
    Reasoning(ReasoningPart),
    /// A file.
    File(FilePart),
    /// A tool call.
    ToolCall(ToolCallPart),
    /// A tool result.
    ToolResult(ToolResultPart),
}

/// One turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// Content, in order.
    pub parts: Vec<Part>,
    /// Provider-keyed extras.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Options,
}

/// A client-side tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// Name.
    pub name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON schema of the arguments, serialised.
    pub input_schema: String,
    /// Provider-keyed extras.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Options,
}

/// How the model may use tools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tools.
    None,
    /// Some tool must be called.
    Required,
    /// This tool must be called.
    Tool(String),
}

/// Reasoning controls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ReasoningConfig {
    /// `minimal`, `low`, `medium`, `high`.
    pub effort: Option<String>,
    /// Token budget.
    pub budget_tokens: Option<u32>,
}

/// A JSON schema the answer follows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonSchemaFormat {
    /// Name.
    pub name: String,
    /// The schema, serialised.
    pub schema: String,
    /// Strict adherence.
    pub strict: bool,
    /// What it is for.
    pub description: Option<String>,
}

/// Shape of the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResponseFormat {
    /// Free text.
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON following a schema.
    JsonSchema(JsonSchemaFormat),
}

/// Sampling and length controls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GenerationParams {
    /// Most tokens to generate.
    pub max_tokens: Option<u32>,
    /// Temperature.
    pub temperature: Option<f32>,
    /// Nucleus sampling.
    pub top_p: Option<f32>,
    /// Top-k.
    pub top_k: Option<u32>,
    /// Stop sequences.
    #[serde(default)]
    pub stop: Vec<String>,
    /// Seed.
    pub seed: Option<i64>,
    /// Presence penalty.
    pub presence_penalty: Option<f32>,
    /// Frequency penalty.
    pub frequency_penalty: Option<f32>,
    /// Reasoning controls.
    pub reasoning: Option<ReasoningConfig>,
    /// Answer format.
    pub response_format: Option<ResponseFormat>,
    /// Parallel tool calls allowed.
    pub parallel_tool_calls: Option<bool>,
}

/// A chat request in IR form. The model is not part of it (as in contract 0.2): the
/// surface's [`crate::surfaces::Decoded`] holds the client's name, routing picks the
/// upstream id, and the sandbox's `CallContext` carries that to the guests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ChatRequest {
    /// System prompt blocks.
    #[serde(default)]
    pub system: Vec<TextPart>,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Tools.
    #[serde(default)]
    pub tools: Vec<Tool>,
    /// Tool choice.
    pub tool_choice: Option<ToolChoice>,
    /// Sampling and length.
    #[serde(default)]
    pub params: GenerationParams,
    /// Whether the client wants a stream.
    pub stream: bool,
    /// Provider-keyed extras.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Options,
}

/// Client API dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// OpenAI Chat Completions.
    OpenaiChat,
    /// OpenAI Responses.
    OpenaiResponses,
    /// Anthropic Messages.
    AnthropicMessages,
    /// Gemini generateContent.
    Gemini,
}

/// An HTTP request built by a guest, sent by the host.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpRequest {
    /// Method.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// Status and headers of an upstream response.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResponseHead {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
}

/// Unified finish reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FinishReason {
    /// Natural end.
    Stop,
    /// Token limit.
    Length,
    /// Safety filter.
    ContentFilter,
    /// Waiting for tool results.
    ToolCalls,
    /// Upstream failure.
    Error,
    /// Anything else.
    Other,
}

/// Token accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Usage {
    /// Prompt tokens, cached included.
    pub input_tokens: Option<u64>,
    /// Generated tokens, reasoning included.
    pub output_tokens: Option<u64>,
    /// Prompt tokens read from cache.
    pub cache_read_tokens: Option<u64>,
    /// Prompt tokens written to cache.
    pub cache_write_tokens: Option<u64>,
    /// Reasoning tokens.
    pub reasoning_tokens: Option<u64>,
}

/// End of a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finish {
    /// Unified reason.
    pub reason: FinishReason,
    /// Upstream's own reason.
    pub raw_reason: Option<String>,
    /// Usage.
    pub usage: Usage,
    /// Provider-keyed extras.
    pub options: Options,
}

/// Identity of the response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ResponseMetadata {
    /// Upstream id.
    pub id: Option<String>,
    /// Answering model.
    pub model: Option<String>,
    /// Unix seconds.
    pub created: Option<u64>,
}

/// Classification of an adapter-raised error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The request cannot be served as sent.
    InvalidRequest,
    /// The target cannot do what was asked.
    Unsupported,
    /// The upstream failed or sent garbage.
    Upstream,
    /// An adapter bug.
    Internal,
}

/// An error an adapter returned (not a trap).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdapterError {
    /// Classification.
    pub kind: ErrorKind,
    /// Client-facing message.
    pub message: String,
}

/// One event of a response stream.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// Response identity.
    ResponseMetadata(ResponseMetadata),
    /// Text block begins (block id).
    TextStart(String),
    /// Text fragment.
    TextDelta { id: String, delta: String },
    /// Text block ends.
    TextEnd(String),
    /// Reasoning block begins.
    ReasoningStart(String),
    /// Reasoning fragment.
    ReasoningDelta { id: String, delta: String },
    /// Reasoning block ends.
    ReasoningEnd {
        id: String,
        signature: Option<String>,
        redacted: Option<String>,
    },
    /// Tool call begins streaming.
    ToolInputStart { id: String, name: String },
    /// Arguments fragment.
    ToolInputDelta { id: String, delta: String },
    /// Arguments complete.
    ToolInputEnd(String),
    /// The complete tool call.
    ToolCall(ToolCallPart),
    /// The end.
    Finish(Finish),
    /// Bytes for the client (passthrough).
    Raw(Vec<u8>),
    /// The upstream reported an error mid-stream, classified like a non-2xx answer
    /// (contract 0.1's unclassified `adapter-error` arrives as class `Other`).
    Error(UpstreamError),
}

/// Routing meaning of an upstream failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Cool the account down.
    RateLimited { retry_after_ms: Option<u64> },
    /// Quota exhausted.
    QuotaExhausted { retry_after_ms: Option<u64> },
    /// Credential expired.
    AuthExpired,
    /// The account may not use this service (suspended, no subscription): disable it
    /// for a while and try the next.
    AccountDisabled,
    /// This account cannot serve this model: try the next one without resting it.
    ModelUnavailable,
    /// Prompt too long; do not retry.
    ContextTooLong,
    /// Upstream overloaded; try elsewhere.
    Overloaded { retry_after_ms: Option<u64> },
    /// Malformed request; do not retry.
    BadRequest,
    /// Anything else.
    Other,
}

/// A classified upstream failure: from a non-2xx answer (`classify-error`) or an
/// error frame inside a 2xx stream ([`StreamEvent::Error`]); routed alike.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamError {
    /// The class.
    pub class: ErrorClass,
    /// Upstream's message.
    pub message: String,
}
