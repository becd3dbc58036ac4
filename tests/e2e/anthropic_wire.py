"""The Anthropic Messages API as the mock upstream speaks it: request checks that
mirror the real API's 400s, and replies rendered as a `message` or as SSE with
`event:` lines (message_start … message_stop)."""

from __future__ import annotations

import json
import re

from replies import ErrorReply, Reply, TextBlock, ThinkingBlock, ToolUseBlock, chunk_text, next_id

API_KEY = "sk-ant-mock-upstream"
# A Claude subscription (OAuth) access token, as `claude-oauth` accounts hold.
OAUTH_TOKEN = "sk-ant-oat01-mock-subscription"
# The beta flag the real API requires with an OAuth bearer token.
OAUTH_BETA = "oauth-2025-04-20"

# Top-level fields the real API accepts; anything else is "Extra inputs are not permitted".
_FIELDS = {
    "model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream",
    "temperature", "top_k", "top_p", "tools", "tool_choice", "thinking", "service_tier",
    "container", "mcp_servers", "context_management", "output_config",
    # The structured-outputs beta's spelling, still accepted during the transition.
    "output_format",
}

# Every thinking signature this upstream has issued (in any reply, to any test): like
# the real API, it takes back only its own ("Invalid `signature` in `thinking` block").
ISSUED_SIGNATURES: set[str] = set()

_USER_BLOCKS = {"text", "image", "document", "tool_result", "search_result"}
_ASSISTANT_BLOCKS = {"text", "thinking", "redacted_thinking", "tool_use", "server_tool_use", "web_search_tool_result"}

_ERROR_TYPES = {
    "rate_limit": "rate_limit_error",
    "overloaded": "overloaded_error",
    "invalid_request": "invalid_request_error",
    "authentication": "authentication_error",
    "server": "api_error",
}


class Invalid(Exception):
    """The request breaks a rule the real API enforces (answered with 400)."""


def check_auth(headers: dict) -> ErrorReply | None:
    """The real API wants an `anthropic-version` and either an API key in `x-api-key` or
    a subscription's OAuth token as a bearer, with the OAuth beta flag; an OAuth token in
    `x-api-key`, or a bearer without the flag, is refused."""
    bearer = headers.get("authorization", "")
    if bearer:
        if bearer != f"Bearer {OAUTH_TOKEN}" or "x-api-key" in headers:
            return ErrorReply(401, "authentication", "Invalid bearer token")
        betas = {b.strip() for b in headers.get("anthropic-beta", "").split(",")}
        if OAUTH_BETA not in betas:
            return ErrorReply(401, "authentication", "OAuth authentication is currently not supported.")
    elif headers.get("x-api-key") != API_KEY:
        return ErrorReply(401, "authentication", "invalid x-api-key")
    if not headers.get("anthropic-version"):
        return ErrorReply(400, "invalid_request", "anthropic-version: header is required")
    return None


def validate(body) -> None:
    """Raise `Invalid` for anything the real Messages API would refuse."""
    if not isinstance(body, dict):
        raise Invalid("request body must be a JSON object")
    extra = sorted(set(body) - _FIELDS)
    if extra:
        raise Invalid(f"{extra[0]}: Extra inputs are not permitted")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise Invalid("model: Field required")
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
        raise Invalid("max_tokens: Field required (a positive integer)")
    _validate_system(body.get("system"))
    _validate_messages(body.get("messages"))
    if _refuses_prefill(body["model"]) and body["messages"][-1].get("role") == "assistant":
        raise Invalid("This model does not support assistant message prefill. "
                      "The conversation must end with a user message.")
    for i, tool in enumerate(body.get("tools") or []):
        if "type" in tool and tool.get("type") != "custom":
            continue  # server tools (web_search...) have their own shapes
        if not isinstance(tool.get("name"), str) or not isinstance(tool.get("input_schema"), dict):
            raise Invalid(f"tools.{i}: name and input_schema are required")
    _validate_output_config(body)
    choice = body.get("tool_choice")
    if choice is not None and (not isinstance(choice, dict) or choice.get("type") not in {"auto", "any", "tool", "none"}):
        raise Invalid("tool_choice: must be an object with type auto, any, tool or none")


def _validate_output_config(body: dict) -> None:
    """Structured outputs: `output_config.format` (or the older `output_format`, not
    both) is `{"type": "json_schema", "schema": {...}}`, every object schema closed with
    `additionalProperties: false`, as the real API demands."""
    config = body.get("output_config")
    if config is not None:
        if not isinstance(config, dict):
            raise Invalid("output_config: Input should be a valid dictionary")
    current = (config or {}).get("format")
    legacy = body.get("output_format")
    if current is not None and legacy is not None:
        raise Invalid("output_format: use output_config.format only")
    for path, fmt in (("output_config.format", current), ("output_format", legacy)):
        if fmt is None:
            continue
        if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
            raise Invalid(f"{path}.type: Input should be 'json_schema'")
        if not isinstance(fmt.get("schema"), dict):
            raise Invalid(f"{path}.schema: Field required")
        _require_closed_objects(fmt["schema"], f"{path}.schema")


def _require_closed_objects(schema, path: str) -> None:
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
        raise Invalid(f"{path}: For 'object' type, 'additionalProperties' must be explicitly set to false")
    for name, sub in (schema.get("properties") or {}).items():
        _require_closed_objects(sub, f"{path}.properties.{name}")
    if "items" in schema:
        _require_closed_objects(schema["items"], f"{path}.items")


def _refuses_prefill(model: str) -> bool:
    """Claude 4.6 and later refuse a final assistant message (Anthropic's migration
    notes; `shared/providers/conversation-repairs.md`)."""
    found = re.search(r"claude-(?:opus|sonnet|haiku)-(\d+)-(\d+)", model)
    return bool(found) and (int(found[1]), int(found[2])) >= (4, 6)


def _validate_system(system) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list) or any(not isinstance(b, dict) or b.get("type") != "text" for b in system):
        raise Invalid("system: must be a string or a list of text blocks")


def _validate_messages(messages) -> None:
    if not isinstance(messages, list) or not messages:
        raise Invalid("messages: at least one message is required")
    pending_tool_ids: set[str] = set()
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in {"user", "assistant"}:
            raise Invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        blocks = _blocks(message.get("content"), i)
        last = i == len(messages) - 1
        if not blocks and not (last and role == "assistant"):
            raise Invalid(f"messages.{i}: all messages must have non-empty content except for the optional final assistant message")
        allowed = _USER_BLOCKS if role == "user" else _ASSISTANT_BLOCKS
        answered = set()
        for j, block in enumerate(blocks):
            kind = block.get("type")
            if kind not in allowed:
                raise Invalid(f"messages.{i}.content.{j}.type: '{kind}' is not allowed in a {role} message")
            if kind == "text" and not block.get("text"):
                raise Invalid(f"messages.{i}.content.{j}: text content blocks must be non-empty")
            if kind == "tool_use" and not (isinstance(block.get("id"), str) and isinstance(block.get("input"), dict) and block.get("name")):
                raise Invalid(f"messages.{i}.content.{j}: tool_use needs id, name and an input object")
            if kind == "thinking" and not isinstance(block.get("signature"), str):
                raise Invalid(f"messages.{i}.content.{j}.signature: Field required")
            if kind == "thinking" and block["signature"] not in ISSUED_SIGNATURES:
                # Only a signature the API issued validates (an empty one never does):
                # reasoning another provider signed is refused, as the real API does.
                raise Invalid(f"messages.{i}.content.{j}: Invalid `signature` in `thinking` block")
            if kind == "tool_result":
                answered.add(block.get("tool_use_id"))
        if pending_tool_ids - answered:
            raise Invalid(f"messages.{i}: tool_use ids were found without tool_result blocks immediately after: {sorted(pending_tool_ids - answered)}")
        if answered - pending_tool_ids:
            raise Invalid(f"messages.{i}: unexpected tool_use_id found in tool_result blocks: {sorted(answered - pending_tool_ids)}")
        pending_tool_ids = {b["id"] for b in blocks if b.get("type") == "tool_use"}


def _blocks(content, i: int) -> list:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list) or any(not isinstance(b, dict) for b in content):
        raise Invalid(f"messages.{i}.content: must be a string or a list of content blocks")
    return content


def last_user_text(body: dict) -> str:
    """The text of the last user turn (tool results included), for echo replies."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") != "user":
            continue
        pieces = []
        for block in _blocks(message.get("content"), 0):
            if block.get("type") == "text":
                pieces.append(block["text"])
            elif block.get("type") == "tool_result":
                content = block.get("content")
                if isinstance(content, str):
                    pieces.append(content)
                else:
                    pieces.extend(b.get("text", "") for b in content or [] if isinstance(b, dict))
        return " ".join(pieces)
    return ""


def error_body(reply: ErrorReply) -> tuple[int, dict, bytes]:
    """Status, headers and body of an error, as the real API shapes them."""
    headers = {"content-type": "application/json", "request-id": next_id("req_")}
    if reply.retry_after is not None:
        headers["retry-after"] = str(reply.retry_after)
    headers.update(reply.headers)
    body = {"type": "error", "error": {"type": _ERROR_TYPES[reply.kind], "message": reply.message}}
    return reply.status, headers, json.dumps(body).encode()


def _stop_reason(reply: Reply) -> str:
    return "tool_use" if reply.has_tool_use else "end_turn"


def _usage(reply: Reply) -> dict:
    return {
        "input_tokens": reply.input_tokens,
        "output_tokens": reply.output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def message_json(reply: Reply, model: str) -> bytes:
    """A complete `message` object."""
    content = []
    for block in reply.blocks:
        if isinstance(block, TextBlock):
            content.append({"type": "text", "text": block.text})
        elif isinstance(block, ThinkingBlock):
            ISSUED_SIGNATURES.add(block.signature)
            content.append({"type": "thinking", "thinking": block.thinking, "signature": block.signature})
        elif isinstance(block, ToolUseBlock):
            content.append({"type": "tool_use", "id": block.id, "name": block.name, "input": block.arguments})
    message = {
        "id": next_id("msg_"), "type": "message", "role": "assistant", "model": model,
        "content": content, "stop_reason": _stop_reason(reply), "stop_sequence": None,
        "usage": _usage(reply),
    }
    return json.dumps(message).encode()


def _event(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _empty_block(block) -> dict:
    """The `content_block` of a `content_block_start`: the block before its deltas."""
    if isinstance(block, TextBlock):
        return {"type": "text", "text": ""}
    if isinstance(block, ThinkingBlock):
        return {"type": "thinking", "thinking": "", "signature": ""}
    return {"type": "tool_use", "id": block.id, "name": block.name, "input": {}}


def sse_events(reply: Reply, model: str):
    """The SSE frames of a streamed message, in the real API's order; with a
    `stream_error`, the first `error_after_events` of them and then an `error` event,
    as the real API ends a stream it cannot finish (status stays 200)."""
    frames = _message_events(reply, model)
    if reply.stream_error is None:
        yield from frames
        return
    for _, frame in zip(range(reply.error_after_events), frames):
        yield frame
    error = reply.stream_error
    yield _event("error", {"type": "error", "error": {"type": _ERROR_TYPES.get(error.kind, "api_error"), "message": error.message}})


def _message_events(reply: Reply, model: str):
    start = {
        "id": next_id("msg_"), "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {**_usage(reply), "output_tokens": 1},
    }
    yield _event("message_start", {"type": "message_start", "message": start})
    for index, block in enumerate(reply.blocks):
        yield _event("content_block_start", {"type": "content_block_start", "index": index, "content_block": _empty_block(block)})
        if index == 0:
            yield _event("ping", {"type": "ping"})
        if isinstance(block, TextBlock):
            for piece in chunk_text(block.text):
                yield _event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}})
        elif isinstance(block, ThinkingBlock):
            ISSUED_SIGNATURES.add(block.signature)
            for piece in chunk_text(block.thinking):
                yield _event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": piece}})
            yield _event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {"type": "signature_delta", "signature": block.signature}})
        elif isinstance(block, ToolUseBlock):
            for piece in [""] + chunk_text(json.dumps(block.arguments), 7):
                yield _event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": piece}})
        yield _event("content_block_stop", {"type": "content_block_stop", "index": index})
    yield _event("message_delta", {
        "type": "message_delta",
        "delta": {"stop_reason": _stop_reason(reply), "stop_sequence": None},
        "usage": {"output_tokens": reply.output_tokens},
    })
    yield _event("message_stop", {"type": "message_stop"})

