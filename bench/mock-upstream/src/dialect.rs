//! Which API dialect a request speaks, and the cheap check that its body really
//! is that dialect.
//!
//! The check deserialises into borrowed, allocation-free shapes: arrays are
//! walked element by element ([`CheckedSeq`]) instead of collected, strings are
//! only confirmed to be strings ([`AnyString`]), and everything the mock does
//! not care about is skipped by serde_json's scanner. A translation that sends,
//! say, a `system` role inside Anthropic `messages`, or Chat `messages` to the
//! Gemini endpoint, gets the dialect's 400 instead of a fast 200.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};

/// One of the four upstream APIs the mock imitates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAI Chat Completions, `POST /v1/chat/completions`.
    Chat,
    /// OpenAI Responses, `POST /v1/responses`.
    Responses,
    /// Anthropic Messages, `POST /v1/messages`.
    Anthropic,
    /// Gemini `generateContent` / `streamGenerateContent`.
    Gemini,
}

impl Dialect {
    /// Every dialect, in the order the canned bodies are stored.
    pub const ALL: [Dialect; 4] = [
        Dialect::Chat,
        Dialect::Responses,
        Dialect::Anthropic,
        Dialect::Gemini,
    ];

    /// Position in [`Dialect::ALL`], used to index the canned bodies.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What a request path asks for: the dialect, and for Gemini (whose stream is
/// chosen by the path, not the body) whether it streams and in which framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// The dialect the body must speak.
    pub dialect: Dialect,
    /// Gemini only: `Some(framing)` for `:streamGenerateContent`, `None` otherwise.
    pub gemini_stream: Option<GeminiFraming>,
}

/// How Gemini frames `streamGenerateContent`: SSE with `?alt=sse`, else one
/// JSON array of the chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeminiFraming {
    /// `?alt=sse`: `data:` events.
    Sse,
    /// No `alt=sse`: a JSON array holding every chunk.
    JsonArray,
}

/// Maps a request path (and query) to the dialect served there, or `None` for
/// a path the real APIs do not have.
pub fn route(path: &str, query: Option<&str>) -> Option<Route> {
    let plain = |dialect| {
        Some(Route {
            dialect,
            gemini_stream: None,
        })
    };
    match path {
        "/v1/chat/completions" => plain(Dialect::Chat),
        "/v1/responses" => plain(Dialect::Responses),
        "/v1/messages" => plain(Dialect::Anthropic),
        _ => {
            let model_and_method = path.strip_prefix("/v1beta/models/")?;
            let (model, method) = model_and_method.rsplit_once(':')?;
            if model.is_empty() || model.contains('/') {
                return None;
            }
            let gemini_stream = match method {
                "generateContent" => None,
                "streamGenerateContent" => {
                    let sse = query.is_some_and(|q| q.split('&').any(|pair| pair == "alt=sse"));
                    Some(if sse {
                        GeminiFraming::Sse
                    } else {
                        GeminiFraming::JsonArray
                    })
                }
                _ => return None,
            };
            Some(Route {
                dialect: Dialect::Gemini,
                gemini_stream,
            })
        }
    }
}

/// The outcome of checking a body: whether the client asked for a stream (from
/// the body's `stream` field; Gemini takes it from the path instead).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked {
    /// The body's `"stream": true`.
    pub stream: bool,
}

/// Checks that `body` is a request of `dialect`, returning a short reason when
/// it is not (used as the 400's message).
pub fn check(dialect: Dialect, body: &[u8]) -> Result<Checked, String> {
    let parsed = match dialect {
        Dialect::Chat => serde_json::from_slice::<ChatRequest>(body).map(|r| r.stream),
        Dialect::Responses => serde_json::from_slice::<ResponsesRequest>(body).map(|r| r.stream),
        Dialect::Anthropic => serde_json::from_slice::<AnthropicRequest>(body).map(|r| r.stream),
        Dialect::Gemini => serde_json::from_slice::<GeminiRequest>(body).map(|_| None),
    };
    let stream =
        parsed.map_err(|error| format!("body is not a valid {dialect:?} request: {error}"))?;
    Ok(Checked {
        stream: stream.unwrap_or(false),
    })
}

/// Chat Completions: `model` and a non-empty `messages` array.
#[derive(Deserialize)]
struct ChatRequest {
    #[serde(rename = "model")]
    _model: AnyString,
    #[serde(rename = "messages")]
    _messages: CheckedSeq<ChatMessage>,
    #[serde(default)]
    stream: Option<bool>,
}

/// A Chat message: a known role, and `content` unless it is an assistant turn
/// that only calls tools.
#[derive(Deserialize)]
#[serde(try_from = "RawChatMessage")]
struct ChatMessage;

#[derive(Deserialize)]
struct RawChatMessage {
    role: ChatRole,
    #[serde(default)]
    content: Option<IgnoredAny>,
    #[serde(default)]
    tool_calls: Option<IgnoredAny>,
}

#[derive(Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum ChatRole {
    System,
    Developer,
    User,
    Assistant,
    Tool,
    Function,
}

impl TryFrom<RawChatMessage> for ChatMessage {
    type Error = &'static str;
    fn try_from(raw: RawChatMessage) -> Result<Self, Self::Error> {
        let calls_tools = raw.role == ChatRole::Assistant && raw.tool_calls.is_some();
        if raw.content.is_some() || calls_tools {
            Ok(ChatMessage)
        } else {
            Err("a chat message needs `content` (only an assistant tool call may omit it)")
        }
    }
}

/// Responses: `model` and `input` (a string or an array of items).
#[derive(Deserialize)]
struct ResponsesRequest {
    #[serde(rename = "model")]
    _model: AnyString,
    #[serde(rename = "input")]
    _input: IgnoredAny,
    #[serde(default)]
    stream: Option<bool>,
}

/// Anthropic Messages: `model`, `max_tokens`, and `messages` whose roles are
/// only `user` and `assistant` (a `system` role belongs in the top-level field).
#[derive(Deserialize)]
struct AnthropicRequest {
    #[serde(rename = "model")]
    _model: AnyString,
    #[serde(rename = "max_tokens")]
    _max_tokens: u64,
    #[serde(rename = "messages")]
    _messages: CheckedSeq<AnthropicMessage>,
    #[serde(default)]
    stream: Option<bool>,
}

#[derive(Deserialize)]
struct AnthropicMessage {
    #[serde(rename = "role")]
    _role: AnthropicRole,
    #[serde(rename = "content")]
    _content: IgnoredAny,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum AnthropicRole {
    User,
    Assistant,
}

/// Gemini: non-empty `contents`, each with a non-empty `parts` array and, when
/// present, a `user` or `model` role.
#[derive(Deserialize)]
struct GeminiRequest {
    #[serde(rename = "contents")]
    _contents: CheckedSeq<GeminiContent>,
}

#[derive(Deserialize)]
struct GeminiContent {
    #[serde(default, rename = "role")]
    _role: Option<GeminiRole>,
    #[serde(rename = "parts")]
    _parts: CheckedSeq<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum GeminiRole {
    User,
    Model,
}

/// A JSON string whose value is not kept (so escapes cost no allocation).
struct AnyString;

impl<'de> Deserialize<'de> for AnyString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StringVisitor;
        impl Visitor<'_> for StringVisitor {
            type Value = AnyString;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<AnyString, E> {
                Ok(AnyString)
            }
        }
        deserializer.deserialize_str(StringVisitor)
    }
}

/// A non-empty JSON array whose elements each deserialise as `T`, checked one
/// at a time and dropped, so no `Vec` is built.
struct CheckedSeq<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for CheckedSeq<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SeqVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for SeqVisitor<T> {
            type Value = CheckedSeq<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a non-empty array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut count = 0usize;
                while seq.next_element::<T>()?.is_some() {
                    count += 1;
                }
                if count == 0 {
                    return Err(de::Error::invalid_length(0, &self));
                }
                Ok(CheckedSeq(PhantomData))
            }
        }
        deserializer.deserialize_seq(SeqVisitor(PhantomData))
    }
}

#[cfg(test)]
#[path = "dialect_tests.rs"]
mod tests;
