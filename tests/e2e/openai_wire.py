"""The OpenAI Chat Completions API as the mock upstream speaks it: request checks that
mirror the real API's 400s, and replies rendered as a `chat.completion` or as SSE
`data: {chat.completion.chunk}` frames ending with `data: [DONE]`.

Reasoning is rendered the way OpenAI-compatible reasoning upstreams (DeepSeek, vLLM)
send it: `reasoning_content` beside `content`, with no signature (Chat Completions has
no field for one, and no input field to send reasoning back)."""

from __future__ import annotations

import json
import time

from replies import ErrorReply, Reply, TextBlock, ThinkingBlock, ToolUseBlock, chunk_text, next_id

API_KEY = "sk-openai-mock-upstream"

# Top-level fields the real API accepts; others get "Unrecognized request argument".
# `top_k` is not one of api.openai.com's, but the mock listens on 127.0.0.1, where the
# openai adapter (rightly) speaks to an OpenAI-compatible server (vLLM, Ollama,
# llama.cpp, OpenRouter), and those accept it.
_FIELDS = {"top_k",
    "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "n",
    "stream", "stream_options", "stop", "presence_penalty", "frequency_penalty", "logit_bias",
    "logprobs", "top_logprobs", "user", "tools", "tool_choice", "parallel_tool_calls",
    "response_format", "seed", "reasoning_effort", "modalities", "audio", "metadata", "store",
    "service_tier", "prediction", "web_search_options", "verbosity", "prompt_cache_key",
    "safety_identifier", "functions", "function_call",
}
_ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
_PART_TYPES = {"text", "image_url", "input_audio", "file", "refusal"}

# kind -> (status override, error type, code)
_ERRORS = {
    "rate_limit": (None, "requests", "rate_limit_exceeded"),
    "overloaded": (503, "server_error", None),
    "invalid_request": (None, "invalid_request_error", None),
    "authentication": (None, "invalid_request_error", "invalid_api_key"),
    "server": (None, "server_error", None),
}


class Invalid(Exception):
    """The request breaks a rule the real API enforces (answered with 400)."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param


def check_auth(headers: dict) -> ErrorReply | None:
    """The real API wants `Authorization: Bearer <key>`."""
    if headers.get("authorization") != f"Bearer {API_KEY}":
        return ErrorReply(401, "authentication", "Incorrect API key provided.")
    return None


def validate(body) -> None:
    """Raise `Invalid` for anything the real Chat Completions API would refuse."""
    if not isinstance(body, dict):
        raise Invalid("We could not parse the JSON body of your request.")
    extra = sorted(set(body) - _FIELDS)
    if extra:
        raise Invalid(f"Unrecognized request argument supplied: {extra[0]}", extra[0])
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise Invalid("you must provide a model parameter", "model")
    if "stream_options" in body and not body.get("stream"):
        raise Invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options")
    _validate_messages(body.get("messages"))
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not spec.get("name"):
            raise Invalid("Missing required parameter: 'response_format.json_schema.name'.", "response_format.json_schema.name")
    for i, tool in enumerate(body.get("tools") or []):
        function = tool.get("function") if isinstance(tool, dict) else None
        if tool.get("type") != "function" or not isinstance(function, dict) or not function.get("name"):
            raise Invalid(f"Invalid value for 'tools[{i}]': expected a function tool with a name.", f"tools[{i}]")


def _validate_messages(messages) -> None:
    if not isinstance(messages, list) or not messages:
        raise Invalid("'messages' must contain at least one message.", "messages")
    pending: set[str] = set()
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in _ROLES:
            raise Invalid(f"Invalid value: '{role}'. Supported values are: {sorted(_ROLES)}.", f"messages[{i}].role")
        content = message.get("content")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in pending:
                raise Invalid("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", f"messages[{i}].role")
            pending.discard(call_id)
        elif pending:
            raise Invalid("An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'.", f"messages[{i - 1}]")
        if content is None:
            if role != "assistant" or not message.get("tool_calls"):
                raise Invalid(f"Invalid value for 'content': expected a string, got null.", f"messages[{i}].content")
        elif isinstance(content, list):
            for j, part in enumerate(content):
                if not isinstance(part, dict) or part.get("type") not in _PART_TYPES:
                    raise Invalid(f"Invalid content part type.", f"messages[{i}].content[{j}].type")
        elif not isinstance(content, str):
            raise Invalid("Invalid type for 'content'.", f"messages[{i}].content")
        if role == "assistant":
            for j, call in enumerate(message.get("tool_calls") or []):
                function = call.get("function") or {}
                if call.get("type") != "function" or not call.get("id") or not isinstance(function.get("arguments"), str) or not function.get("name"):
                    raise Invalid("Invalid tool call: id, type 'function', name and string arguments are required.", f"messages[{i}].tool_calls[{j}]")
            pending = {c["id"] for c in message.get("tool_calls") or []}
    if pending:
        raise Invalid("An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'.", "messages")


def last_user_text(body: dict) -> str:
    """The text of the last user or tool turn, for echo replies."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") not in {"user", "tool"}:
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        return " ".join(p.get("text", "") for p in content or [] if isinstance(p, dict))
    return ""


def error_body(reply: ErrorReply, param: str | None = None) -> tuple[int, dict, bytes]:
    """Status, headers and body of an error, as the real API shapes them."""
    status, kind, code = _ERRORS[reply.kind]
    headers = {"content-type": "application/json", "x-request-id": next_id("req_")}
    if reply.retry_after is not None:
        headers["retry-after"] = str(reply.retry_after)
    body = {"error": {"message": reply.message, "type": kind, "param": param, "code": code}}
    return status or reply.status, headers, json.dumps(body).encode()


def _finish_reason(reply: Reply) -> str:
    return "tool_calls" if reply.has_tool_use else "stop"


def _usage(reply: Reply) -> dict:
    return {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.input_tokens + reply.output_tokens,
    }


def completion_json(reply: Reply, model: str) -> bytes:
    """A complete `chat.completion` object."""
    text = "".join(b.text for b in reply.blocks if isinstance(b, TextBlock))
    calls = [
        {"id": b.id, "type": "function", "function": {"name": b.name, "arguments": json.dumps(b.arguments)}}
        for b in reply.blocks if isinstance(b, ToolUseBlock)
    ]
    message = {"role": "assistant", "content": text or None, "refusal": None}
    reasoning = "".join(b.thinking for b in reply.blocks if isinstance(b, ThinkingBlock))
    if reasoning:
        message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = calls
    completion = {
        "id": next_id("chatcmpl-"), "object": "chat.completion", "created": int(time.time()),
        "model": model, "system_fingerprint": None,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": _finish_reason(reply)}],
        "usage": _usage(reply),
    }
    return json.dumps(completion).encode()


def sse_events(reply: Reply, model: str, include_usage: bool):
    """The SSE frames of a streamed completion, in the real API's order."""
    base = {"id": next_id("chatcmpl-"), "object": "chat.completion.chunk", "created": int(time.time()), "model": model, "system_fingerprint": None}

    def chunk(delta: dict, finish: str | None = None) -> bytes:
        data = {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if include_usage:
            data["usage"] = None
        return f"data: {json.dumps(data)}\n\n".encode()

    yield chunk({"role": "assistant", "content": "", "refusal": None})
    call_index = 0
    for block in reply.blocks:
        if isinstance(block, TextBlock):
            for piece in chunk_text(block.text):
                yield chunk({"content": piece})
        elif isinstance(block, ThinkingBlock):
            for piece in chunk_text(block.thinking):
                yield chunk({"reasoning_content": piece})
        elif isinstance(block, ToolUseBlock):
            yield chunk({"tool_calls": [{"index": call_index, "id": block.id, "type": "function", "function": {"name": block.name, "arguments": ""}}]})
            for piece in chunk_text(json.dumps(block.arguments), 7):
                yield chunk({"tool_calls": [{"index": call_index, "function": {"arguments": piece}}]})
            call_index += 1
    yield chunk({}, _finish_reason(reply))
    if include_usage:
        yield f"data: {json.dumps({**base, 'choices': [], 'usage': _usage(reply)})}\n\n".encode()
    yield b"data: [DONE]\n\n"
