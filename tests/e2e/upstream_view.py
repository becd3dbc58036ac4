"""What an upstream received, read back into one dialect-neutral shape, so a story can
assert "the upstream got the tool result" once for all four upstream dialects.

A conversation is a system prompt and turns; each turn is a role (`user` or
`assistant`) and parts:

- `Text(text)`
- `Image(mime, data)` (base64 data)
- `Call(id, name, args)` (args as a dict; Gemini calls may have no id)
- `Result(id, name, text)` (the tool's output as text; Gemini's is JSON of `response`)
- `Reasoning(text, signature)` (signature None when the dialect has no field for it)
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

import gemini_wire
from mock_upstream import Received


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Image:
    mime: str
    data: str


@dataclass(frozen=True)
class Call:
    id: str | None
    name: str
    args: dict


@dataclass(frozen=True)
class Result:
    id: str | None
    name: str | None
    text: str


@dataclass(frozen=True)
class Reasoning:
    text: str
    signature: str | None


@dataclass
class Conversation:
    """One upstream request in neutral form."""

    dialect: str
    model: str | None
    system: str
    turns: list[tuple[str, list]]
    tools: list[str]
    stream: bool
    # Did the request ask for reasoning (thinking / reasoning_effort / thinkingConfig)?
    asks_reasoning: bool
    raw: dict = field(repr=False, default_factory=dict)

    def parts(self, kind: type, role: str | None = None) -> list:
        """Every part of this type, in order, optionally only from turns of `role`."""
        return [p for r, parts in self.turns if role in (None, r) for p in parts if isinstance(p, kind)]

    @property
    def roles(self) -> list[str]:
        return [role for role, _ in self.turns]


def read(received: Received) -> Conversation:
    """The conversation an upstream request carried, whatever its dialect."""
    reader = {
        "anthropic": _anthropic, "openai": _chat, "openai-responses": _responses, "codex": _responses,
        "gemini": _gemini, "code-assist": _code_assist, "kiro": _kiro,
    }.get(received.dialect)
    assert reader, f"not an LLM API request: {received.method} {received.path}"
    return reader(received)


def _kiro(received: Received) -> Conversation:
    """Kiro's `conversationState`: history entries then the current user message; tool
    results and tool declarations ride in `userInputMessageContext`. Kiro has no system
    field (the adapter opens the first user turn with it), so `system` is empty."""
    state = received.body["conversationState"]
    current = state["currentMessage"]["userInputMessage"]
    turns = []
    for entry in [*state.get("history", []), state["currentMessage"]]:
        [(kind, message)] = entry.items()
        parts = [Text(message["content"])] if message.get("content") else []
        context = message.get("userInputMessageContext") or {}
        for result in context.get("toolResults") or []:
            texts = [c.get("text") if "text" in c else json.dumps(c.get("json")) for c in result.get("content", [])]
            parts.append(Result(result.get("toolUseId"), None, "".join(t or "" for t in texts)))
        for use in message.get("toolUses") or []:
            parts.append(Call(use.get("toolUseId"), use.get("name"), use.get("input") or {}))
        turns.append(("user" if kind == "userInputMessage" else "assistant", parts))
    tools = [t["toolSpecification"]["name"] for t in (current.get("userInputMessageContext") or {}).get("tools") or []]
    return Conversation("kiro", current.get("modelId"), "", turns, tools, True,
                        "<thinking_mode>" in json.dumps(state), received.body)


def _data_url(url: str) -> Image:
    head, data = url.split(",", 1)
    return Image(head.removeprefix("data:").split(";")[0], data)


def _text_of(content) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content if isinstance(b, dict))


def _anthropic(received: Received) -> Conversation:
    body = received.body
    turns = []
    for message in body["messages"]:
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        parts = []
        for block in blocks:
            kind = block.get("type")
            if kind == "text":
                parts.append(Text(block["text"]))
            elif kind == "image":
                parts.append(Image(block["source"].get("media_type"), block["source"].get("data")))
            elif kind == "tool_use":
                parts.append(Call(block["id"], block["name"], block["input"]))
            elif kind == "tool_result":
                parts.append(Result(block["tool_use_id"], None, _text_of(block.get("content"))))
            elif kind == "thinking":
                parts.append(Reasoning(block["thinking"], block["signature"]))
            elif kind == "redacted_thinking":
                parts.append(Reasoning("", block["data"]))
        turns.append((message["role"], parts))
    return Conversation(
        "anthropic", body.get("model"), _text_of(body.get("system")), turns,
        [t.get("name") for t in body.get("tools") or []], bool(body.get("stream")),
        bool(body.get("thinking")) and body["thinking"].get("type") != "disabled", body,
    )


def _chat(received: Received) -> Conversation:
    body = received.body
    system, turns = [], []
    for message in body["messages"]:
        role, content = message["role"], message.get("content")
        if role in ("system", "developer"):
            system.append(_text_of(content))
            continue
        parts = []
        if message.get("reasoning_content"):
            parts.append(Reasoning(message["reasoning_content"], None))
        if isinstance(content, list):
            for part in content:
                if part["type"] == "text":
                    parts.append(Text(part["text"]))
                elif part["type"] == "image_url":
                    parts.append(_data_url(part["image_url"]["url"]))
        elif content and role != "tool":
            parts.append(Text(content))
        for call in message.get("tool_calls") or []:
            parts.append(Call(call["id"], call["function"]["name"], json.loads(call["function"]["arguments"] or "{}")))
        if role == "tool":
            parts.append(Result(message.get("tool_call_id"), None, _text_of(content)))
            role = "user"
        if turns and turns[-1][0] == role and role == "user" and isinstance(parts[0], Result):
            turns[-1][1].extend(parts)  # parallel tool results: one neutral user turn
        else:
            turns.append((role, parts))
    return Conversation(
        "openai", body.get("model"), "\n".join(system), turns,
        [t["function"]["name"] for t in body.get("tools") or []], bool(body.get("stream")),
        bool(body.get("reasoning_effort")), body,
    )


def _responses(received: Received) -> Conversation:
    body = received.body
    system = [body["instructions"]] if body.get("instructions") else []
    items = body.get("input")
    items = [{"type": "message", "role": "user", "content": items}] if isinstance(items, str) else items or []
    turns: list[tuple[str, list]] = []

    def add(role: str, part) -> None:
        if turns and turns[-1][0] == role:
            turns[-1][1].append(part)
        else:
            turns.append((role, [part]))

    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            role, content = item["role"], item.get("content")
            if role in ("system", "developer"):
                system.append(_text_of(content) if not isinstance(content, list) else "".join(p.get("text", "") for p in content))
                continue
            for part in [{"type": "input_text", "text": content}] if isinstance(content, str) else content:
                if part["type"] in ("input_text", "output_text"):
                    add(role, Text(part["text"]))
                elif part["type"] == "input_image":
                    add(role, _data_url(part["image_url"]))
        elif kind == "function_call":
            add("assistant", Call(item["call_id"], item["name"], json.loads(item["arguments"] or "{}")))
        elif kind == "function_call_output":
            output = item["output"]
            add("user", Result(item["call_id"], None, output if isinstance(output, str) else json.dumps(output)))
        elif kind == "reasoning":
            add("assistant", Reasoning("".join(s.get("text", "") for s in item.get("summary") or []), item.get("encrypted_content")))
    return Conversation(
        "openai-responses", body.get("model"), "\n".join(system), turns,
        [t.get("name") for t in body.get("tools") or []], bool(body.get("stream")),
        bool((body.get("reasoning") or {}).get("effort")), body,
    )


def _code_assist(received: Received) -> Conversation:
    """Cloud Code Assist: a Gemini body inside the `request` of its envelope."""
    return _gemini(dataclasses.replace(received, body=received.body["request"]))


def _gemini(received: Received) -> Conversation:
    body = gemini_wire.normalized(received.body)
    turns = []
    for content in body["contents"]:
        parts = []
        for part in content["parts"]:
            signature = part.get("thoughtSignature")
            if part.get("thought"):
                parts.append(Reasoning(part.get("text", ""), signature))
                continue
            if signature:
                # Gemini may sign the part after the thought (a call, or text).
                parts.append(Reasoning("", signature))
            if "text" in part:
                parts.append(Text(part["text"]))
            elif "inlineData" in part:
                parts.append(Image(part["inlineData"]["mimeType"], part["inlineData"]["data"]))
            elif "functionCall" in part:
                call = part["functionCall"]
                parts.append(Call(call.get("id"), call["name"], call.get("args") or {}))
            elif "functionResponse" in part:
                answer = part["functionResponse"]
                parts.append(Result(answer.get("id"), answer["name"], json.dumps(answer.get("response"))))
        turns.append(("assistant" if content["role"] == "model" else "user", parts))
    thinking = (body.get("generationConfig") or {}).get("thinkingConfig") or {}
    return Conversation(
        "gemini", received.model, _text_of((body.get("systemInstruction") or {}).get("parts")), turns,
        [d["name"] for t in body.get("tools") or [] for d in t.get("functionDeclarations") or []],
        ":streamGenerateContent" in received.path,
        bool(thinking.get("includeThoughts") or thinking.get("thinkingBudget") or thinking.get("thinkingLevel")), body,
    )
