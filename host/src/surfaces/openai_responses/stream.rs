//! IR stream events into Responses SSE, in the order the real API sends them:
//! `response.created` and `response.in_progress`; for each output item
//! `response.output_item.added`, its part and delta events, `response.output_item.done`;
//! then `response.completed` with the whole response (Codex needs it to end a turn), or
//! `response.failed` on an error. Every event is `event: <type>` plus a `data:` JSON with
//! the same `type` and a running `sequence_number`.

use std::io::Write as _;

use serde_json::{Value, json};

use super::response::{
    RequestEcho, ResponseState, call_item, custom_input, encrypted_content, error_json, item_id,
    message_item, now_unix, output_text, reasoning_item, response_id, response_object, status,
    usage_json,
};
use crate::ir::{Finish, ResponseMetadata, StreamEvent, ToolCallPart};
use crate::surfaces::{ClientError, Decoded, StreamEncoder};

/// Encodes one response as Responses SSE.
#[derive(Debug)]
pub struct ResponsesStreamEncoder {
    /// The model name the client asked for.
    model: String,
    /// What the response object repeats of the request.
    echo: RequestEcho,
    /// `resp_...`, fixed by the first event.
    id: String,
    /// Unix seconds, fixed by the first event.
    created_at: u64,
    /// The next `sequence_number`.
    sequence: u64,
    /// Output items in the order they began; the position is the `output_index`.
    items: Vec<Item>,
    /// Nothing more may be written (after the terminal event).
    ended: bool,
}

/// One output item as it streams.
#[derive(Debug)]
struct Item {
    kind: Kind,
    /// The IR block or call id it answers.
    block: String,
    /// Its `id` on the wire.
    id: String,
    /// Text, reasoning text or call arguments so far.
    text: String,
    /// Reasoning: a summary part was announced.
    summary_open: bool,
    /// Reasoning: `encrypted_content`.
    encrypted: Option<String>,
    /// Calls: the tool name.
    name: String,
    /// `output_item.done` went out.
    done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Message,
    Reasoning,
    FunctionCall,
    CustomCall,
}

impl ResponsesStreamEncoder {
    /// An encoder naming `model`, for a request whose tools are unknown: calls go back
    /// as `function_call` items, the echo fields keep their defaults.
    pub fn new(model: &str) -> Self {
        Self::with_echo(model, RequestEcho::default())
    }

    /// An encoder naming `model` that answers `decoded` (custom tools get
    /// `custom_tool_call` items, namespaced tools their namespace, the response echoes
    /// the request's settings).
    pub fn for_request(model: &str, decoded: &Decoded) -> Self {
        Self::with_echo(model, RequestEcho::from_request(&decoded.request))
    }

    fn with_echo(model: &str, echo: RequestEcho) -> Self {
        Self {
            model: model.to_owned(),
            echo,
            id: String::new(),
            created_at: 0,
            sequence: 0,
            items: Vec::new(),
            ended: false,
        }
    }

    /// Writes one SSE frame; `fields` is the event's JSON object without `type` and
    /// `sequence_number`.
    fn send(&mut self, kind: &str, fields: Value, out: &mut Vec<u8>) {
        let mut event = json!({"type": kind, "sequence_number": self.sequence});
        self.sequence += 1;
        if let (Some(event), Value::Object(fields)) = (event.as_object_mut(), fields) {
            event.extend(fields);
        }
        write!(out, "event: {kind}\ndata: ").expect("writing to a Vec cannot fail");
        serde_json::to_writer(&mut *out, &event).expect("a JSON value always serialises");
        out.extend_from_slice(b"\n\n");
    }

    /// `response.created` and `response.in_progress`, once, named after the upstream's
    /// identity when the first event carries it.
    fn start(&mut self, metadata: Option<&ResponseMetadata>, out: &mut Vec<u8>) {
        if !self.id.is_empty() {
            return;
        }
        self.id = response_id(metadata.and_then(|m| m.id.as_deref()));
        self.created_at = metadata.and_then(|m| m.created).unwrap_or_else(now_unix);
        for kind in ["response.created", "response.in_progress"] {
            let response = self.response("in_progress", None, Value::Null, Value::Null);
            self.send(kind, json!({"response": response}), out);
        }
    }

    fn response(
        &self,
        status: &str,
        usage: Option<Value>,
        incomplete: Value,
        error: Value,
    ) -> Value {
        let output = self
            .items
            .iter()
            .filter(|item| item.done)
            .map(|item| self.final_item(item))
            .collect();
        response_object(
            ResponseState {
                id: &self.id,
                created_at: self.created_at,
                model: &self.model,
                status,
                output,
                usage,
                incomplete_details: incomplete,
                error,
            },
            &self.echo,
        )
    }

    fn final_item(&self, item: &Item) -> Value {
        match item.kind {
            Kind::Message => message_item(&item.id, &item.text, "completed"),
            Kind::Reasoning => reasoning_item(&item.id, &item.text, item.encrypted.as_deref()),
            Kind::FunctionCall | Kind::CustomCall => call_item(
                &self.echo,
                &item.id,
                &item.block,
                &item.name,
                &item.text,
                "completed",
            ),
        }
    }

    /// The open item of `kind` answering `block`, if any.
    fn find(&self, kind: Kind, block: &str) -> Option<usize> {
        if block.is_empty() && matches!(kind, Kind::FunctionCall) {
            return None;
        }
        self.items.iter().rposition(|item| {
            item.block == block
                && (item.kind == kind
                    || matches!((item.kind, kind), (Kind::CustomCall, Kind::FunctionCall)))
        })
    }

    /// Opens an item and announces it.
    fn open(&mut self, kind: Kind, block: &str, name: &str, out: &mut Vec<u8>) -> usize {
        let index = self.items.len();
        let kind = if kind == Kind::FunctionCall && self.echo.is_custom(name) {
            Kind::CustomCall
        } else {
            kind
        };
        let prefix = match kind {
            Kind::Message => "msg",
            Kind::Reasoning => "rs",
            Kind::FunctionCall => "fc",
            Kind::CustomCall => "ctc",
        };
        let id = item_id(prefix, &self.id, index);
        let added = match kind {
            Kind::Message => json!({
                "id": id, "type": "message", "status": "in_progress", "content": [], "role": "assistant",
            }),
            Kind::Reasoning => json!({"id": id, "type": "reasoning", "summary": []}),
            Kind::FunctionCall | Kind::CustomCall => {
                call_item(&self.echo, &id, block, name, "", "in_progress")
            }
        };
        self.items.push(Item {
            kind,
            block: block.to_owned(),
            id: id.clone(),
            text: String::new(),
            summary_open: false,
            encrypted: None,
            name: name.to_owned(),
            done: false,
        });
        self.send(
            "response.output_item.added",
            json!({"output_index": index, "item": added}),
            out,
        );
        if kind == Kind::Message {
            self.send(
                "response.content_part.added",
                json!({"item_id": id, "output_index": index, "content_index": 0, "part": output_text("")}),
                out,
            );
        }
        index
    }

    /// The open item for `block`, opened now if the adapter skipped its start.
    fn open_or_find(&mut self, kind: Kind, block: &str, out: &mut Vec<u8>) -> usize {
        match self.find(kind, block) {
            Some(index) if !self.items[index].done => index,
            _ => self.open(kind, block, "", out),
        }
    }

    fn text_delta(&mut self, block: &str, delta: &str, out: &mut Vec<u8>) {
        let index = self.open_or_find(Kind::Message, block, out);
        if delta.is_empty() {
            return;
        }
        self.items[index].text.push_str(delta);
        let id = self.items[index].id.clone();
        self.send(
            "response.output_text.delta",
            json!({"item_id": id, "output_index": index, "content_index": 0, "delta": delta, "logprobs": []}),
            out,
        );
    }

    fn reasoning_delta(&mut self, block: &str, delta: &str, out: &mut Vec<u8>) {
        let index = self.open_or_find(Kind::Reasoning, block, out);
        if delta.is_empty() {
            return;
        }
        let id = self.items[index].id.clone();
        if !self.items[index].summary_open {
            self.items[index].summary_open = true;
            self.send(
                "response.reasoning_summary_part.added",
                json!({"item_id": id, "output_index": index, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}),
                out,
            );
        }
        self.items[index].text.push_str(delta);
        self.send(
            "response.reasoning_summary_text.delta",
            json!({"item_id": id, "output_index": index, "summary_index": 0, "delta": delta}),
            out,
        );
    }

    fn arguments_delta(&mut self, call: &str, delta: &str, out: &mut Vec<u8>) {
        let index = self.open_or_find(Kind::FunctionCall, call, out);
        if delta.is_empty() {
            return;
        }
        self.items[index].text.push_str(delta);
        // A custom call's input is a string inside JSON arguments: it goes out whole,
        // decoded, when the call ends.
        if self.items[index].kind == Kind::FunctionCall {
            let id = self.items[index].id.clone();
            self.send(
                "response.function_call_arguments.delta",
                json!({"item_id": id, "output_index": index, "delta": delta}),
                out,
            );
        }
    }

    /// The complete call: authoritative for the arguments; whatever the input events
    /// did not send goes out now, then the call ends.
    fn tool_call(&mut self, call: &ToolCallPart, out: &mut Vec<u8>) {
        let index = match self.find(Kind::FunctionCall, &call.id) {
            Some(index) if self.items[index].done => return,
            Some(index) => index,
            None => self.open(Kind::FunctionCall, &call.id, &call.name, out),
        };
        if self.items[index].name.is_empty() {
            self.items[index].name.clone_from(&call.name);
        }
        let sent = self.items[index].text.clone();
        match call.arguments.strip_prefix(sent.as_str()) {
            Some(rest) => self.arguments_delta(&call.id, rest, out),
            // The upstream revised what it streamed; the done event carries the truth.
            None => self.items[index].text.clone_from(&call.arguments),
        }
        self.close(index, out);
    }

    /// Ends item `index` with its done events.
    fn close(&mut self, index: usize, out: &mut Vec<u8>) {
        if self.items[index].done {
            return;
        }
        let item = &self.items[index];
        let (id, text, kind) = (item.id.clone(), item.text.clone(), item.kind);
        match kind {
            Kind::Message => {
                self.send(
                    "response.output_text.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "text": text, "logprobs": []}),
                    out,
                );
                self.send(
                    "response.content_part.done",
                    json!({"item_id": id, "output_index": index, "content_index": 0, "part": output_text(&text)}),
                    out,
                );
            }
            Kind::Reasoning if item.summary_open => {
                self.send(
                    "response.reasoning_summary_text.done",
                    json!({"item_id": id, "output_index": index, "summary_index": 0, "text": text}),
                    out,
                );
                self.send(
                    "response.reasoning_summary_part.done",
                    json!({"item_id": id, "output_index": index, "summary_index": 0, "part": {"type": "summary_text", "text": text}}),
                    out,
                );
            }
            Kind::Reasoning => {}
            Kind::FunctionCall => {
                let arguments = if text.is_empty() {
                    "{}".to_owned()
                } else {
                    text
                };
                self.items[index].text.clone_from(&arguments);
                self.send(
                    "response.function_call_arguments.done",
                    json!({"item_id": id, "output_index": index, "arguments": arguments}),
                    out,
                );
            }
            Kind::CustomCall => {
                let input = custom_input(&text);
                if !input.is_empty() {
                    self.send(
                        "response.custom_tool_call_input.delta",
                        json!({"item_id": id, "output_index": index, "delta": input}),
                        out,
                    );
                }
                self.send(
                    "response.custom_tool_call_input.done",
                    json!({"item_id": id, "output_index": index, "input": input}),
                    out,
                );
            }
        }
        self.items[index].done = true;
        let item = self.final_item(&self.items[index]);
        self.send(
            "response.output_item.done",
            json!({"output_index": index, "item": item}),
            out,
        );
    }

    fn close_all(&mut self, out: &mut Vec<u8>) {
        for index in 0..self.items.len() {
            self.close(index, out);
        }
    }

    /// `response.completed` with the whole response; the stream is over.
    fn complete(&mut self, finish: Option<&Finish>, out: &mut Vec<u8>) {
        self.start(None, out);
        self.close_all(out);
        let (status, incomplete) = status(finish.map(|f| f.reason));
        let usage = usage_json(&finish.map(|f| f.usage).unwrap_or_default());
        let response = self.response(status, Some(usage), incomplete, Value::Null);
        self.send("response.completed", json!({"response": response}), out);
        self.ended = true;
    }
}

impl StreamEncoder for ResponsesStreamEncoder {
    fn event(&mut self, event: &StreamEvent, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        let metadata = match event {
            StreamEvent::ResponseMetadata(metadata) => Some(metadata),
            _ => None,
        };
        self.start(metadata, out);
        match event {
            StreamEvent::ResponseMetadata(_) | StreamEvent::Raw(_) => {}
            StreamEvent::TextStart(block) => {
                self.open(Kind::Message, block, "", out);
            }
            StreamEvent::TextDelta { id, delta } => self.text_delta(id, delta, out),
            StreamEvent::TextEnd(block) => {
                if let Some(index) = self.find(Kind::Message, block) {
                    self.close(index, out);
                }
            }
            StreamEvent::ReasoningStart(block) => {
                self.open(Kind::Reasoning, block, "", out);
            }
            StreamEvent::ReasoningDelta { id, delta } => self.reasoning_delta(id, delta, out),
            StreamEvent::ReasoningEnd {
                id,
                signature,
                redacted,
            } => {
                // A redacted block may come as a lone end event.
                let index = self.open_or_find(Kind::Reasoning, id, out);
                self.items[index].encrypted =
                    encrypted_content(signature.as_deref(), redacted.as_deref());
                self.close(index, out);
            }
            StreamEvent::ToolInputStart { id, name } => {
                if self.find(Kind::FunctionCall, id).is_none() {
                    self.open(Kind::FunctionCall, id, name, out);
                }
            }
            StreamEvent::ToolInputDelta { id, delta } => self.arguments_delta(id, delta, out),
            StreamEvent::ToolInputEnd(id) => {
                if let Some(index) = self.find(Kind::FunctionCall, id) {
                    self.close(index, out);
                }
            }
            StreamEvent::ToolCall(call) => self.tool_call(call, out),
            StreamEvent::Finish(finish) => self.complete(Some(finish), out),
            StreamEvent::Error(error) => self.error(&ClientError::from(error), out),
        }
    }

    /// `response.failed`: status `failed` with `error {code, message}`, the items that
    /// finished, and no usage. Codex maps the code (`context_length_exceeded`,
    /// `insufficient_quota`, `rate_limit_exceeded`...) to its own handling; the OpenAI
    /// SDKs surface it as the failed response.
    fn error(&mut self, error: &ClientError, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        self.start(None, out);
        let response = self.response("failed", None, Value::Null, error_json(error));
        self.send("response.failed", json!({"response": response}), out);
        self.ended = true;
    }

    /// An upstream that ended without a finish still gets `response.completed`: without
    /// it Codex reports "stream closed before response.completed" and retries.
    fn done(&mut self, out: &mut Vec<u8>) {
        if !self.ended {
            self.complete(None, out);
        }
    }
}
