//! The request side: chat request, its parts, tools, parameters, HTTP request and
//! response head.

use super::super::{options_from_wit, options_to_wit};
use crate::ir;
use crate::runtime::bindings::v0_1::types as wit;

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

/// A host request for a 0.1 guest, whose `chat-request` still carries the model.
pub fn chat_request_to_wit(r: ir::ChatRequest, model: String) -> wit::ChatRequest {
    wit::ChatRequest {
        model,
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
