//! Token counts without an upstream tokenizer: `count_tokens` (Anthropic) and
//! `countTokens` (Gemini) answer from this estimate.
//!
//! The rule, documented for clients in docs/conformance: one token per 4 bytes of
//! UTF-8 text (system, messages, reasoning, tool-call arguments, tool results, tool
//! names, descriptions and schemas), rounded up per piece, plus 4 tokens per message
//! for role framing and a flat 1,000 tokens per image or file. BPE tokenizers for
//! English prose average 3.5–4.5 bytes per token, so this errs slightly high, which is
//! the safe side for clients deciding whether a prompt fits.

use crate::ir::{ChatRequest, Part, ToolOutput};

/// Tokens per message for role and turn framing.
const PER_MESSAGE: u64 = 4;
/// Tokens charged for one image or file, whatever its size.
const PER_FILE: u64 = 1_000;

/// Estimated input tokens of `request`.
pub fn estimate(request: &ChatRequest) -> u64 {
    let text = |s: &str| (s.len() as u64).div_ceil(4);
    let system: u64 = request.system.iter().map(|block| text(&block.text)).sum();
    let tools: u64 = request
        .tools
        .iter()
        .map(|tool| {
            text(&tool.name)
                + tool.description.as_deref().map_or(0, text)
                + text(&tool.input_schema)
        })
        .sum();
    let messages: u64 = request
        .messages
        .iter()
        .map(|message| {
            PER_MESSAGE
                + message
                    .parts
                    .iter()
                    .map(|part| match part {
                        Part::Text(t) => text(&t.text),
                        Part::Reasoning(r) => text(&r.text),
                        Part::File(_) => PER_FILE,
                        Part::ToolCall(call) => text(&call.name) + text(&call.arguments),
                        Part::ToolResult(result) => result
                            .output
                            .iter()
                            .map(|output| match output {
                                ToolOutput::Text(t) => text(t),
                                ToolOutput::File(_) => PER_FILE,
                            })
                            .sum(),
                    })
                    .sum::<u64>()
        })
        .sum();
    system + tools + messages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Message, Role, TextPart, Tool};

    #[test]
    fn counts_a_quarter_token_per_byte_plus_framing_and_tools() {
        let request = ChatRequest {
            system: vec![TextPart {
                text: "be brief".into(),
                options: None,
            }],
            messages: vec![Message {
                role: Role::User,
                parts: vec![Part::Text(TextPart {
                    text: "hello world!".into(),
                    options: None,
                })],
                options: None,
            }],
            tools: vec![Tool {
                name: "echo".into(),
                description: None,
                input_schema: "{}".into(),
                options: None,
            }],
            ..ChatRequest::default()
        };
        // system 8 bytes -> 2; message 4 + 12 bytes -> 3; tool "echo" 1 + "{}" 1.
        assert_eq!(estimate(&request), 2 + 4 + 3 + 1 + 1);
    }
}
