"""Raw-HTTP clients for Plugboard's four surfaces (OpenAI Chat, OpenAI Responses,
Anthropic Messages, Gemini), each writing a dialect-neutral conversation in its own wire
format and reading the answer, JSON or SSE, back into one neutral `Answer`.

They are deliberately plain httpx: the matrix checks the wire formats themselves, and
the official SDKs have their own stories (test_*_sdk.py). Parts are the ones of
`upstream_view`, so a test can hand an answer straight back as the next assistant turn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import httpx

from upstream_view import Call, Image, Reasoning, Result, Text


@dataclass
class Answer:
    """What a client application takes from one answer."""

    status: int
    text: str = ""
    calls: list[Call] = field(default_factory=list)
    reasoning: list[Reasoning] = field(default_factory=list)
    # "stop" or "tool", whatever the dialect calls them.
    finish: str | None = None
    usage: tuple[int, int] | None = None
    # The error body when status is not 200.
    error: dict | None = None
    # Events (SSE) or the one document, for a failure message.
    raw: object = None

    def as_turn(self) -> tuple[str, list]:
        """The answer as the assistant turn a client sends back next time."""
        return ("assistant", [*self.reasoning, *([Text(self.text)] if self.text else []), *self.calls])


@dataclass
class Tool:
    name: str
    description: str
    schema: dict


def sse_data(body: str) -> list[dict]:
    """The JSON `data:` payloads of an SSE body, `[DONE]` left out."""
    out = []
    for line in body.splitlines():
        if line.startswith("data:"):
            payload = line[5:].strip()
            if payload and payload != "[DONE]":
                out.append(json.loads(payload))
    return out


def _data_url(image: Image) -> str:
    return f"data:{image.mime};base64,{image.data}"


class SurfaceClient:
    """One client dialect. `send` posts a conversation and returns the neutral answer."""

    name = ""

    def __init__(self, base_url: str, key: str) -> None:
        self.base_url, self.key = base_url, key

    def send(self, model: str, turns: list, *, system: str = "", tools: list[Tool] = (), stream: bool = False,
             reasoning: bool = False) -> Answer:
        path, headers, body = self.request(model, turns, system, list(tools), stream, reasoning)
        with httpx.stream("POST", self.base_url + path, headers=headers, json=body, timeout=60) as response:
            response.read()
        if response.status_code != 200:
            try:
                error = response.json()
            except ValueError:
                error = {"raw": response.text}
            return Answer(response.status_code, error=error, raw=response.text)
        if stream:
            assert response.headers["content-type"].startswith("text/event-stream"), response.headers
            return self.read_stream(response.text)
        return self.read_json(response.json())

    def request(self, model, turns, system, tools, stream, reasoning) -> tuple[str, dict, dict]:
        raise NotImplementedError

    def read_json(self, body: dict) -> Answer:
        raise NotImplementedError

    def read_stream(self, body: str) -> Answer:
        raise NotImplementedError


class ChatClient(SurfaceClient):
    """OpenAI Chat Completions (`POST /v1/chat/completions`)."""

    name = "chat"

    def request(self, model, turns, system, tools, stream, reasoning):
        messages = [{"role": "system", "content": system}] if system else []
        for role, parts in turns:
            if role == "user":
                content = [
                    {"type": "text", "text": p.text} if isinstance(p, Text) else {"type": "image_url", "image_url": {"url": _data_url(p)}}
                    for p in parts if isinstance(p, (Text, Image))
                ]
                if content:
                    plain = len(content) == 1 and content[0]["type"] == "text"
                    messages.append({"role": "user", "content": content[0]["text"] if plain else content})
                messages += [{"role": "tool", "tool_call_id": p.id, "content": p.text} for p in parts if isinstance(p, Result)]
            else:
                message = {"role": "assistant", "content": "".join(p.text for p in parts if isinstance(p, Text)) or None}
                thought = "".join(p.text for p in parts if isinstance(p, Reasoning))
                if thought:
                    message["reasoning_content"] = thought  # DeepSeek's field: no signature
                calls = [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.args)}}
                         for c in parts if isinstance(c, Call)]
                if calls:
                    message["tool_calls"] = calls
                messages.append(message)
        body = {"model": model, "messages": messages}
        if tools:
            body["tools"] = [{"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.schema}} for t in tools]
        if stream:
            body |= {"stream": True, "stream_options": {"include_usage": True}}
        if reasoning:
            body["reasoning_effort"] = "low"
        return "/v1/chat/completions", {"authorization": f"Bearer {self.key}"}, body

    def read_json(self, body):
        choice = body["choices"][0]
        message = choice["message"]
        calls = [Call(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"])) for c in message.get("tool_calls") or []]
        reasoning = [Reasoning(message["reasoning_content"], None)] if message.get("reasoning_content") else []
        usage = body.get("usage")
        return Answer(200, message.get("content") or "", calls, reasoning, _chat_finish(choice["finish_reason"]),
                      (usage["prompt_tokens"], usage["completion_tokens"]) if usage else None, raw=body)

    def read_stream(self, body):
        chunks = sse_data(body)
        answer = Answer(200, raw=chunks)
        thought, calls = "", {}
        assert body.rstrip().endswith("data: [DONE]"), "a Chat stream ends with [DONE]"
        for chunk in chunks:
            if chunk.get("usage"):
                answer.usage = (chunk["usage"]["prompt_tokens"], chunk["usage"]["completion_tokens"])
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or {}
                answer.text += delta.get("content") or ""
                thought += delta.get("reasoning_content") or ""
                for piece in delta.get("tool_calls") or []:
                    call = calls.setdefault(piece["index"], {"id": None, "name": "", "arguments": ""})
                    call["id"] = piece.get("id") or call["id"]
                    call["name"] += (piece.get("function") or {}).get("name") or ""
                    call["arguments"] += (piece.get("function") or {}).get("arguments") or ""
                answer.finish = _chat_finish(choice.get("finish_reason")) or answer.finish
        answer.calls = [Call(c["id"], c["name"], json.loads(c["arguments"] or "{}")) for _, c in sorted(calls.items())]
        answer.reasoning = [Reasoning(thought, None)] if thought else []
        return answer


def _chat_finish(reason):
    return {"stop": "stop", "tool_calls": "tool", None: None}.get(reason, reason)


class ResponsesClient(SurfaceClient):
    """OpenAI Responses (`POST /v1/responses`), stateless like Codex: `store: false`, and
    reasoning carried back as `encrypted_content`."""

    name = "responses"

    def request(self, model, turns, system, tools, stream, reasoning):
        items = []
        for role, parts in turns:
            if role == "user":
                content = [
                    {"type": "input_text", "text": p.text} if isinstance(p, Text) else {"type": "input_image", "image_url": _data_url(p)}
                    for p in parts if isinstance(p, (Text, Image))
                ]
                if content:
                    items.append({"type": "message", "role": "user", "content": content})
                items += [{"type": "function_call_output", "call_id": p.id, "output": p.text} for p in parts if isinstance(p, Result)]
                continue
            for p in parts:
                if isinstance(p, Reasoning):
                    item = {"type": "reasoning", "summary": [{"type": "summary_text", "text": p.text}] if p.text else []}
                    if p.signature:
                        item["encrypted_content"] = p.signature
                    items.append(item)
                elif isinstance(p, Text):
                    items.append({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": p.text}]})
                elif isinstance(p, Call):
                    items.append({"type": "function_call", "call_id": p.id, "name": p.name, "arguments": json.dumps(p.args)})
        body = {"model": model, "input": items, "store": False, "stream": stream}
        if system:
            body["instructions"] = system
        if tools:
            body["tools"] = [{"type": "function", "name": t.name, "description": t.description, "parameters": t.schema} for t in tools]
        if reasoning:
            body |= {"reasoning": {"effort": "low", "summary": "auto"}, "include": ["reasoning.encrypted_content"]}
        return "/v1/responses", {"authorization": f"Bearer {self.key}"}, body

    def read_json(self, body):
        return self._from_items(body["output"], body.get("usage"), body)

    def read_stream(self, body):
        events = sse_data(body)
        kinds = [e["type"] for e in events]
        assert kinds and kinds[0] == "response.created", kinds[:3]
        assert kinds[-1] == "response.completed", f"Codex needs response.completed last: {kinds[-3:]}"
        done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
        answer = self._from_items(done, events[-1]["response"].get("usage"), events)
        # The text must also have streamed as deltas, not only arrived in the final items.
        assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == answer.text
        return answer

    def _from_items(self, items, usage, raw):
        answer = Answer(200, raw=raw)
        for item in items:
            if item["type"] == "message":
                answer.text += "".join(c.get("text", "") for c in item["content"] if c["type"] == "output_text")
            elif item["type"] == "function_call":
                answer.calls.append(Call(item["call_id"], item["name"], json.loads(item["arguments"] or "{}")))
            elif item["type"] == "reasoning":
                text = "".join(s.get("text", "") for s in item.get("summary") or [])
                answer.reasoning.append(Reasoning(text, item.get("encrypted_content")))
        answer.finish = "tool" if answer.calls else "stop"
        answer.usage = (usage["input_tokens"], usage["output_tokens"]) if usage else None
        return answer


class MessagesClient(SurfaceClient):
    """Anthropic Messages (`POST /v1/messages`)."""

    name = "messages"

    def request(self, model, turns, system, tools, stream, reasoning):
        messages = []
        for role, parts in turns:
            blocks = []
            for p in parts:
                if isinstance(p, Reasoning) and not p.text and p.signature:
                    blocks.append({"type": "redacted_thinking", "data": p.signature})
                elif isinstance(p, Reasoning):
                    blocks.append({"type": "thinking", "thinking": p.text, "signature": p.signature or ""})
                elif isinstance(p, Text):
                    blocks.append({"type": "text", "text": p.text})
                elif isinstance(p, Image):
                    blocks.append({"type": "image", "source": {"type": "base64", "media_type": p.mime, "data": p.data}})
                elif isinstance(p, Call):
                    blocks.append({"type": "tool_use", "id": p.id, "name": p.name, "input": p.args})
                elif isinstance(p, Result):
                    blocks.append({"type": "tool_result", "tool_use_id": p.id, "content": p.text})
            messages.append({"role": role, "content": blocks})
        body = {"model": model, "messages": messages, "max_tokens": 2048, "stream": stream}
        if system:
            body["system"] = system
        if tools:
            body["tools"] = [{"name": t.name, "description": t.description, "input_schema": t.schema} for t in tools]
        if reasoning:
            body["thinking"] = {"type": "enabled", "budget_tokens": 1024}
        return "/v1/messages", {"x-api-key": self.key, "anthropic-version": "2023-06-01"}, body

    def read_json(self, body):
        return self._from_blocks(body["content"], body["stop_reason"], body["usage"], body)

    def read_stream(self, body):
        frames = [f for f in body.replace("\r\n", "\n").split("\n\n") if f.strip()]
        assert all(f.startswith("event: ") for f in frames), "Claude Code needs event: lines"
        events = sse_data(body)
        blocks, stop, usage = {}, None, {}
        for event in events:
            kind = event["type"]
            if kind == "message_start":
                usage |= event["message"]["usage"]
            elif kind == "content_block_start":
                blocks[event["index"]] = dict(event["content_block"], _json="")
            elif kind == "content_block_delta":
                block, delta = blocks[event["index"]], event["delta"]
                if delta["type"] == "text_delta":
                    block["text"] += delta["text"]
                elif delta["type"] == "thinking_delta":
                    block["thinking"] += delta["thinking"]
                elif delta["type"] == "signature_delta":
                    block["signature"] = delta["signature"]
                elif delta["type"] == "input_json_delta":
                    block["_json"] += delta["partial_json"]
            elif kind == "message_delta":
                stop = event["delta"].get("stop_reason") or stop
                usage |= event.get("usage") or {}
        assert events and events[-1]["type"] == "message_stop", [e["type"] for e in events[-2:]]
        for block in blocks.values():
            if block["type"] == "tool_use":
                block["input"] = json.loads(block["_json"] or "{}")
        return self._from_blocks([blocks[i] for i in sorted(blocks)], stop, usage, events)

    def _from_blocks(self, blocks, stop, usage, raw):
        answer = Answer(200, raw=raw, finish={"end_turn": "stop", "tool_use": "tool"}.get(stop, stop))
        for block in blocks:
            if block["type"] == "text":
                answer.text += block["text"]
            elif block["type"] == "thinking":
                answer.reasoning.append(Reasoning(block["thinking"], block.get("signature")))
            elif block["type"] == "redacted_thinking":
                answer.reasoning.append(Reasoning("", block["data"]))
            elif block["type"] == "tool_use":
                answer.calls.append(Call(block["id"], block["name"], block["input"]))
        answer.usage = (usage.get("input_tokens"), usage.get("output_tokens"))
        return answer


class GeminiClient(SurfaceClient):
    """Gemini (`POST /v1beta/models/{m}:generateContent` / `:streamGenerateContent?alt=sse`),
    declaring tools with `parametersJsonSchema` like Gemini CLI."""

    name = "gemini"

    def request(self, model, turns, system, tools, stream, reasoning):
        contents = []
        for role, parts in turns:
            out = []
            for p in parts:
                if isinstance(p, Reasoning):
                    thought = {"text": p.text, "thought": True}
                    if p.signature:
                        thought["thoughtSignature"] = p.signature
                    out.append(thought)
                elif isinstance(p, Text):
                    out.append({"text": p.text})
                elif isinstance(p, Image):
                    out.append({"inlineData": {"mimeType": p.mime, "data": p.data}})
                elif isinstance(p, Call):
                    out.append({"functionCall": {"name": p.name, "args": p.args} | ({"id": p.id} if p.id else {})})
                elif isinstance(p, Result):
                    out.append({"functionResponse": {"name": p.name, "response": {"output": p.text}} | ({"id": p.id} if p.id else {})})
            contents.append({"role": "model" if role == "assistant" else "user", "parts": out})
        body = {"contents": contents}
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        if tools:
            body["tools"] = [{"functionDeclarations": [
                {"name": t.name, "description": t.description, "parametersJsonSchema": t.schema} for t in tools]}]
        if reasoning:
            body["generationConfig"] = {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024}}
        action = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return f"/v1beta/models/{model}:{action}", {"x-goog-api-key": self.key}, body

    def read_json(self, body):
        return self._from_chunks([body], body)

    def read_stream(self, body):
        chunks = sse_data(body)
        assert chunks, "an empty Gemini stream"
        return self._from_chunks(chunks, chunks)

    def _from_chunks(self, chunks, raw):
        answer = Answer(200, raw=raw)
        for chunk in chunks:
            for candidate in chunk.get("candidates") or []:
                for part in (candidate.get("content") or {}).get("parts") or []:
                    if part.get("thought"):
                        answer.reasoning.append(Reasoning(part.get("text", ""), part.get("thoughtSignature")))
                        continue
                    if part.get("thoughtSignature"):
                        answer.reasoning.append(Reasoning("", part["thoughtSignature"]))
                    if "functionCall" in part:
                        call = part["functionCall"]
                        answer.calls.append(Call(call.get("id"), call["name"], call.get("args") or {}))
                    elif "text" in part:
                        answer.text += part["text"]
                answer.finish = candidate.get("finishReason") or answer.finish
            usage = chunk.get("usageMetadata")
            if usage:
                answer.usage = (usage.get("promptTokenCount"), usage.get("candidatesTokenCount"))
        if answer.finish == "STOP":
            answer.finish = "tool" if answer.calls else "stop"
        answer.reasoning = _merged(answer.reasoning)
        return answer


def _merged(pieces: list[Reasoning]) -> list[Reasoning]:
    """Gemini streams one thought as many parts, the signature on the last (or on a part
    of its own): one reasoning, as google-genai's callers accumulate it."""
    if not pieces:
        return []
    signature = next((p.signature for p in reversed(pieces) if p.signature), None)
    return [Reasoning("".join(p.text for p in pieces), signature)]


SURFACES = {c.name: c for c in (ChatClient, ResponsesClient, MessagesClient, GeminiClient)}
