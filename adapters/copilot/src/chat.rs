//! Copilot's Chat Completions route: `adapter-openai`'s translation, with one difference
//! in the answer. Copilot sends a model's reasoning as `reasoning_text` (facts §A6),
//! where OpenAI-compatible servers say `reasoning_content`; [`CopilotChatState`] renames
//! it before `adapter-openai`'s decoder reads the chunk, so the reasoning reaches the
//! client as reasoning instead of being dropped. (`reasoning_opaque`, Gemini's thought
//! signature, is not kept: see docs/adapters/copilot.md.)

use adapter_openai::Chat;
use adapter_openai::decode::ChatState;
use plugboard_sdk::prelude::*;

/// Copilot's name for reasoning text in a Chat answer.
pub const REASONING_TEXT: &str = "reasoning_text";
/// The name `adapter-openai` reads.
const REASONING_CONTENT: &str = "reasoning_content";

/// One Chat Completions attempt on Copilot: `POST {base}/chat/completions`.
pub struct CopilotChat;

impl Encode for CopilotChat {
    type State = CopilotChatState;

    fn encode(
        &mut self,
        ctx: &CallContext,
        request: ChatRequest,
    ) -> Result<HttpRequest, AdapterError> {
        Chat.encode(ctx, request)
    }
}

/// `adapter-openai`'s Chat answer state, fed chunks with `reasoning_text` renamed.
#[derive(Default)]
pub struct CopilotChatState(ChatState);

impl ResponseState for CopilotChatState {
    const STREAM_EVENT: &'static str = ChatState::STREAM_EVENT;

    fn matters_for_accounting(event: &SseEvent) -> bool {
        ChatState::matters_for_accounting(event)
    }

    fn take_stream_event(
        &mut self,
        data: &Value,
        out: &mut EventWriter,
    ) -> Result<(), AdapterError> {
        match renamed(data, "delta") {
            Some(data) => self.0.take_stream_event(&data, out),
            None => self.0.take_stream_event(data, out),
        }
    }

    fn take_whole_document(
        &mut self,
        document: Value,
        out: &mut EventWriter,
    ) -> Result<(), AdapterError> {
        let document = renamed(&document, "message").unwrap_or(document);
        self.0.take_whole_document(document, out)
    }

    fn end(&mut self, out: &mut EventWriter) {
        self.0.end(out)
    }
}

/// A copy of `chunk` whose `choices[].{inner}.reasoning_text` is `reasoning_content`
/// (kept when both are there), or `None` when no choice carries `reasoning_text`.
fn renamed(chunk: &Value, inner: &str) -> Option<Value> {
    let says = |choice: &Value| {
        choice
            .get(inner)
            .is_some_and(|part| part.get(REASONING_TEXT).is_some())
    };
    let choices = chunk.get("choices")?.as_array()?;
    if !choices.iter().any(says) {
        return None;
    }
    let mut chunk = chunk.clone();
    for choice in chunk["choices"].as_array_mut()?.iter_mut() {
        if let Some(Value::Object(part)) = choice.get_mut(inner)
            && let Some(text) = part.remove(REASONING_TEXT)
            && !part.contains_key(REASONING_CONTENT)
        {
            part.insert(REASONING_CONTENT.into(), text);
        }
    }
    Some(chunk)
}
