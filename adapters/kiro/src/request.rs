//! The IR request as Kiro's `generateAssistantResponse` body:
//! `{"conversationState": {history, currentMessage, …}, "profileArn": …}`.
//!
//! The generic structural rules (a first user turn, alternating turns, every tool call
//! answered and every result answering a call) are the default fixups' work
//! (`first-user-turn`, `merge-turns`, `tool-pairs`); the encoding keeps them by
//! construction anyway, so a request that reaches it without those fixups is still
//! well formed. What only Kiro wants is done here (every rule, with its source, is in
//! `docs/adapters/kiro.md`):
//!
//! - user and tool messages form one user turn (tool results in its
//!   `userInputMessageContext.toolResults`), assistant messages one assistant turn
//!   (tool calls in `toolUses`, never an empty `toolUses`);
//! - the last turn is `currentMessage` and must be the user's: a conversation ending
//!   with the assistant (a prefill) keeps it in history and asks to `Continue`;
//! - no empty `content`: a user turn of only tool results says
//!   [`TOOL_RESULTS_TEXT`], another empty user turn [`CONTINUE_TEXT`], an empty
//!   assistant turn [`EMPTY_ASSISTANT_TEXT`]; an empty tool result says
//!   [`EMPTY_RESULT_TEXT`];
//! - tools go in the current message's context; a tool name over [`MAX_TOOL_NAME`]
//!   characters is shortened (restored in the answer), an empty description becomes
//!   `Tool: <name>`, a long one is cut at [`MAX_DESCRIPTION`] characters, and the schema
//!   keys Kiro refuses are removed; a tool named in history but not declared gets a
//!   placeholder spec;
//! - the system prompt (and the thinking switch, in-band) opens the first user turn's
//!   content, which stays the same from turn to turn;
//! - images travel as `images` (`format` from the media type, raw base64).

use std::collections::{HashMap, HashSet};

use plugboard_sdk::prelude::*;

use crate::model::kiro_model_id;
use crate::{GENERATE_PATH, PROFILE_ARN};

/// Kiro's `origin` for requests of the Kiro IDE's agent.
pub const ORIGIN: &str = "AI_EDITOR";
/// The longest tool name Kiro takes (sources say 64; one says 63, see the doc).
pub const MAX_TOOL_NAME: usize = 64;
/// The longest tool description sent (the lowest limit any source reports).
pub const MAX_DESCRIPTION: usize = 9216;
/// Content of a user turn that only carries tool results.
pub const TOOL_RESULTS_TEXT: &str = "Tool results provided.";
/// Content of an otherwise empty user turn.
pub const CONTINUE_TEXT: &str = "Continue";
/// Content of an empty assistant turn.
pub const EMPTY_ASSISTANT_TEXT: &str = ".";
/// Output of a tool result that had none.
pub const EMPTY_RESULT_TEXT: &str = "(the tool returned no output)";
/// Output of the result added for a tool call whose result is missing.
pub const LOST_RESULT_TEXT: &str =
    "The result of this tool call was lost when the conversation history was shortened.";
/// The thinking budget sent when the request enables thinking without one.
pub const DEFAULT_THINKING_BUDGET: u32 = 16_000;
/// Schema keys removed from tool input schemas (Kiro answers them with 400).
pub const REFUSED_SCHEMA_KEYS: &[&str] = &["additionalProperties", "$schema"];

/// What the encoding produced, and what the decoder needs from it.
#[derive(Debug, Default, Clone)]
pub struct Encoded {
    /// The body.
    pub body: Value,
    /// Shortened tool name → the client's name.
    pub tool_names: HashMap<String, String>,
    /// Thinking was asked for (inline `<thinking>` tags are read as reasoning).
    pub thinking: bool,
}

/// One Kiro turn while it is being built.
#[derive(Debug)]
enum Turn {
    User {
        text: Vec<String>,
        images: Vec<Value>,
        results: Vec<Value>,
    },
    Assistant {
        text: Vec<String>,
        uses: Vec<Value>,
    },
}

impl Turn {
    fn user() -> Turn {
        Turn::User {
            text: Vec::new(),
            images: Vec::new(),
            results: Vec::new(),
        }
    }
    fn is_user(&self) -> bool {
        matches!(self, Turn::User { .. })
    }
}

/// Encode `request` for the call `ctx` (see the module docs).
pub fn encode(ctx: &CallContext, request: &ChatRequest) -> Result<Encoded, AdapterError> {
    let model = kiro_model_id(&ctx.model);
    let thinking = model.thinking || thinking_asked(request);
    let mut names = ToolNames::default();

    // System: the request's, and system turns before the first other turn.
    let mut system: Vec<String> = request.system.iter().map(|p| p.text.clone()).collect();
    let mut turns: Vec<Turn> = Vec::new();
    for message in &request.messages {
        let user_side = !matches!(message.role, Role::Assistant);
        if message.role == Role::System && turns.is_empty() {
            system.push(message.joined_text());
            continue;
        }
        let continues = turns.last().is_some_and(|t| t.is_user() == user_side);
        if !continues {
            turns.push(if user_side {
                Turn::user()
            } else {
                Turn::Assistant {
                    text: Vec::new(),
                    uses: Vec::new(),
                }
            });
        }
        let turn = turns.last_mut().expect("pushed above");
        for part in &message.parts {
            add_part(turn, part, &mut names)?;
        }
    }

    // First turn the user's; last turn the user's.
    if !turns.first().is_some_and(Turn::is_user) {
        turns.insert(0, Turn::user());
        if let Some(Turn::User { text, .. }) = turns.first_mut() {
            text.push(".".into());
        }
    }
    if !turns.last().is_some_and(Turn::is_user) {
        turns.push(Turn::user());
    }
    repair_pairs(&mut turns);

    // The system prompt and the thinking switch open the first user turn.
    let mut preamble = String::new();
    if thinking {
        let budget = thinking_budget(request);
        preamble.push_str(&format!(
            "<thinking_mode>enabled</thinking_mode><max_thinking_length>{budget}</max_thinking_length>"
        ));
    }
    let system: Vec<String> = system
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .collect();
    if !system.is_empty() {
        if !preamble.is_empty() {
            preamble.push('\n');
        }
        preamble.push_str(&system.join("\n\n"));
    }

    // Tools: declared ones, then placeholders for names only history uses.
    let mut tools: Vec<Value> = request
        .tools
        .iter()
        .map(|tool| tool_spec(tool, &mut names))
        .collect::<Result<_, _>>()?;
    let declared: HashSet<String> = tools
        .iter()
        .filter_map(|t| t.pointer("/toolSpecification/name").and_then(Value::as_str))
        .map(str::to_ascii_lowercase)
        .collect();
    let mut placeholders: Vec<String> = Vec::new();
    for turn in &turns {
        if let Turn::Assistant { uses, .. } = turn {
            for name in uses.iter().filter_map(|u| u["name"].as_str()) {
                let lower = name.to_ascii_lowercase();
                if !declared.contains(&lower)
                    && !placeholders.iter().any(|p| p.to_ascii_lowercase() == lower)
                {
                    placeholders.push(name.to_string());
                }
            }
        }
    }
    tools.extend(placeholders.into_iter().map(|name| {
        json!({"toolSpecification": {
            "name": name,
            "description": "Tool used in conversation history",
            "inputSchema": {"json": {"type": "object", "properties": {}}},
        }})
    }));

    let last = turns.len() - 1;
    let mut history = Vec::with_capacity(last);
    let mut current = Value::Null;
    for (index, turn) in turns.into_iter().enumerate() {
        let preamble = (index == 0).then_some(preamble.as_str());
        let tools = (index == last).then_some(tools.as_slice());
        let value = turn_json(turn, &model.id, preamble, tools);
        if index == last {
            current = value;
        } else {
            history.push(value);
        }
    }

    let mut state = Map::new();
    state.insert("agentTaskType".into(), json!("vibe"));
    state.insert("chatTriggerType".into(), json!("MANUAL"));
    state.insert(
        "conversationId".into(),
        json!(conversation_id(history.first().unwrap_or(&current))),
    );
    state.insert("currentMessage".into(), current);
    if !history.is_empty() {
        state.insert("history".into(), Value::Array(history));
    }
    let mut body = Map::new();
    body.insert("conversationState".into(), Value::Object(state));
    if let Some(arn) = ctx
        .attribute(PROFILE_ARN)
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        body.insert("profileArn".into(), json!(arn));
    }
    Ok(Encoded {
        body: Value::Object(body),
        tool_names: names.restore,
        thinking,
    })
}

/// The HTTP request for an encoded body: `POST {base}/generateAssistantResponse`.
pub fn http_request(ctx: &CallContext, encoded: &Encoded) -> HttpRequest {
    let mut request = ctx
        .post_json(GENERATE_PATH, to_json_bytes(&encoded.body), false)
        .with_header(
            "accept",
            "application/vnd.amazon.eventstream, application/json",
        )
        .with_header("x-amzn-kiro-agent-mode", "vibe")
        .with_header("x-amzn-codewhisperer-optout", "true");
    let kind = ctx.credential_kind.to_ascii_lowercase();
    if kind.contains("api-key") || kind.contains("api_key") {
        request = request.with_header("tokentype", "API_KEY");
    }
    request
}

type Map = serde_json::Map<String, Value>;

/// Whether the request enables reasoning (a budget above zero or an effort other
/// than `none`).
fn thinking_asked(request: &ChatRequest) -> bool {
    request.params.reasoning.as_ref().is_some_and(|r| {
        r.budget_tokens != Some(0)
            && r.effort.as_deref() != Some("none")
            && (r.budget_tokens.is_some() || r.effort.is_some())
    })
}

fn thinking_budget(request: &ChatRequest) -> u32 {
    let Some(reasoning) = &request.params.reasoning else {
        return DEFAULT_THINKING_BUDGET;
    };
    if let Some(budget) = reasoning.budget_tokens {
        return budget;
    }
    match reasoning.effort.as_deref() {
        Some("minimal" | "low") => 4_000,
        Some("high") => 32_000,
        _ => DEFAULT_THINKING_BUDGET,
    }
}

/// Tool names as sent: shortened when too long, with the way back.
#[derive(Default)]
struct ToolNames {
    /// Sent name → client name (shortened ones only).
    restore: HashMap<String, String>,
}

impl ToolNames {
    fn sent(&mut self, name: &str) -> String {
        if name.chars().count() <= MAX_TOOL_NAME {
            return name.to_string();
        }
        let prefix: String = name.chars().take(MAX_TOOL_NAME - 9).collect();
        let short = format!("{prefix}_{:08x}", fnv1a(name.as_bytes()) as u32);
        self.restore.insert(short.clone(), name.to_string());
        short
    }
}

/// FNV-1a, 64 bits: a stable, dependency-free hash for names and ids.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A UUID-shaped id stable for one conversation (a hash of its first turn), so every
/// turn of a conversation names the same one.
fn conversation_id(first: &Value) -> String {
    let text = first.to_string();
    let high = fnv1a(text.as_bytes());
    let low = fnv1a(format!("kiro:{text}").as_bytes());
    let hex = format!("{high:016x}{low:016x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

fn add_part(turn: &mut Turn, part: &Part, names: &mut ToolNames) -> Result<(), AdapterError> {
    match (turn, part) {
        (Turn::User { text, .. } | Turn::Assistant { text, .. }, Part::Text(t)) => {
            text.push(t.text.clone())
        }
        (_, Part::Reasoning(_)) => {} // Kiro takes no reasoning back; see the doc.
        (Turn::User { images, .. }, Part::File(file)) => images.push(image(file)?),
        (Turn::Assistant { .. }, Part::File(_)) => {
            return Err(AdapterError::unsupported(
                "Kiro takes files in user turns only, not in assistant turns",
            ));
        }
        (Turn::Assistant { uses, .. }, Part::ToolCall(call)) => {
            if uses.iter().any(|u| u["toolUseId"] == call.id.as_str()) {
                return Ok(()); // a repeated id: Kiro refuses duplicates
            }
            uses.push(json!({
                "toolUseId": call.id,
                "name": names.sent(&call.name),
                "input": arguments(&call.arguments)?,
            }));
        }
        (Turn::User { text, .. }, Part::ToolCall(call)) => text.push(format!(
            "(a call to tool `{}` with arguments {})",
            call.name, call.arguments
        )),
        (Turn::User { results, .. }, Part::ToolResult(result)) => results.push(tool_result(result)),
        (Turn::Assistant { text, .. }, Part::ToolResult(result)) => {
            text.push(result_text(result));
        }
    }
    Ok(())
}

/// A tool call's arguments as the JSON object Kiro wants.
fn arguments(arguments: &str) -> Result<Value, AdapterError> {
    if arguments.trim().is_empty() {
        return Ok(json!({}));
    }
    let value = parse_ir_json(arguments, "a tool call's arguments")?;
    Ok(if value.is_object() {
        value
    } else {
        json!({ "input": value })
    })
}

fn result_text(result: &ToolResultPart) -> String {
    let text: Vec<String> = result
        .output
        .iter()
        .map(|output| match output {
            ToolOutput::Text(text) => text.clone(),
            ToolOutput::File(file) => format!("[a {} file the tool returned]", file.media_type),
        })
        .collect();
    let text = text.join("\n");
    if text.trim().is_empty() {
        EMPTY_RESULT_TEXT.to_string()
    } else {
        text
    }
}

fn tool_result(result: &ToolResultPart) -> Value {
    json!({
        "toolUseId": result.call_id,
        "content": [{"text": result_text(result)}],
        "status": if result.is_error { "error" } else { "success" },
    })
}

/// An image part as Kiro's `{"format", "source": {"bytes"}}`.
fn image(file: &FilePart) -> Result<Value, AdapterError> {
    let format = file
        .media_type
        .strip_prefix("image/")
        .map(|f| if f == "jpg" { "jpeg" } else { f })
        .filter(|f| matches!(*f, "png" | "jpeg" | "gif" | "webp"))
        .ok_or_else(|| {
            AdapterError::unsupported(format!(
                "Kiro takes png, jpeg, gif and webp images only, not {}",
                file.media_type
            ))
        })?;
    match &file.data {
        FileData::Base64(bytes) => Ok(json!({"format": format, "source": {"bytes": bytes}})),
        FileData::Url(_) => Err(AdapterError::unsupported(
            "Kiro takes images as bytes only, not by URL",
        )),
    }
}

/// A declared tool as Kiro's `toolSpecification`.
fn tool_spec(tool: &Tool, names: &mut ToolNames) -> Result<Value, AdapterError> {
    let name = names.sent(&tool.name);
    let description = match tool.description.as_deref().map(str::trim) {
        Some(d) if !d.is_empty() => d.to_string(),
        _ => format!("Tool: {}", tool.name),
    };
    let description = if description.chars().count() > MAX_DESCRIPTION {
        let cut: String = description.chars().take(MAX_DESCRIPTION - 3).collect();
        format!("{cut}...")
    } else {
        description
    };
    let schema = if tool.input_schema.trim().is_empty() {
        json!({"type": "object", "properties": {}})
    } else {
        parse_ir_json(&tool.input_schema, "a tool's input schema")?
    };
    Ok(json!({"toolSpecification": {
        "name": name,
        "description": description,
        "inputSchema": {"json": sanitize_schema(schema)},
    }}))
}

/// A schema without the keys Kiro refuses ([`REFUSED_SCHEMA_KEYS`], an empty
/// `required`), at every depth; property names are never touched.
pub fn sanitize_schema(schema: Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                if REFUSED_SCHEMA_KEYS.contains(&key.as_str()) {
                    continue;
                }
                if key == "required" && value.as_array().is_some_and(Vec::is_empty) {
                    continue;
                }
                let value = match (key.as_str(), value) {
                    (
                        "properties" | "patternProperties" | "$defs" | "definitions",
                        Value::Object(props),
                    ) => Value::Object(
                        props
                            .into_iter()
                            .map(|(name, schema)| (name, sanitize_schema(schema)))
                            .collect(),
                    ),
                    ("enum" | "const" | "default" | "examples", value) => value,
                    (_, value) => sanitize_schema(value),
                };
                out.insert(key, value);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sanitize_schema).collect()),
        other => other,
    }
}

/// Every tool use answered in the next user turn, every result answering a use of the
/// turn before (what `tool-pairs` does on the IR, kept here on Kiro's shape): a
/// missing result is added as an error, a result without its use becomes text.
fn repair_pairs(turns: &mut [Turn]) {
    let mut pending: Vec<String> = Vec::new();
    for turn in turns.iter_mut() {
        match turn {
            Turn::Assistant { uses, .. } => {
                pending = uses
                    .iter()
                    .filter_map(|u| u["toolUseId"].as_str().map(str::to_string))
                    .collect();
            }
            Turn::User { text, results, .. } => {
                let mut kept = Vec::new();
                let mut answered = HashSet::new();
                for result in results.drain(..) {
                    let id = result["toolUseId"].as_str().unwrap_or("").to_string();
                    if pending.contains(&id) && answered.insert(id.clone()) {
                        kept.push(result);
                    } else {
                        let output = result
                            .pointer("/content/0/text")
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        text.push(format!(
                            "Output of an earlier tool call (call id `{id}`):\n{output}"
                        ));
                    }
                }
                for id in &pending {
                    if !answered.contains(id) {
                        kept.push(json!({
                            "toolUseId": id,
                            "content": [{"text": LOST_RESULT_TEXT}],
                            "status": "error",
                        }));
                    }
                }
                *results = kept;
                pending.clear();
            }
        }
    }
}

/// One turn as Kiro's history entry or current message.
fn turn_json(turn: Turn, model: &str, preamble: Option<&str>, tools: Option<&[Value]>) -> Value {
    match turn {
        Turn::User {
            text,
            images,
            results,
        } => {
            let mut content = text.join("\n\n");
            if content.trim().is_empty() {
                content = if results.is_empty() {
                    CONTINUE_TEXT
                } else {
                    TOOL_RESULTS_TEXT
                }
                .to_string();
            }
            if let Some(preamble) = preamble.filter(|p| !p.is_empty()) {
                content = format!("{preamble}\n\n{content}");
            }
            let mut message = Map::new();
            message.insert("content".into(), json!(content));
            message.insert("modelId".into(), json!(model));
            message.insert("origin".into(), json!(ORIGIN));
            if !images.is_empty() {
                message.insert("images".into(), Value::Array(images));
            }
            let mut context = Map::new();
            if let Some(tools) = tools.filter(|t| !t.is_empty()) {
                context.insert("tools".into(), Value::Array(tools.to_vec()));
            }
            if !results.is_empty() {
                context.insert("toolResults".into(), Value::Array(results));
            }
            if !context.is_empty() {
                message.insert("userInputMessageContext".into(), Value::Object(context));
            }
            json!({ "userInputMessage": message })
        }
        Turn::Assistant { text, uses } => {
            let mut content = text.join("\n\n");
            if content.trim().is_empty() {
                content = EMPTY_ASSISTANT_TEXT.to_string();
            }
            let mut message = Map::new();
            message.insert("content".into(), json!(content));
            if !uses.is_empty() {
                message.insert("toolUses".into(), Value::Array(uses));
            }
            json!({ "assistantResponseMessage": message })
        }
    }
}
