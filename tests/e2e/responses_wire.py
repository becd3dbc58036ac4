"""The OpenAI Responses API as the mock upstream speaks it (`POST /v1/responses`): request
checks that mirror the real API's 400s, and replies rendered as a `response` object or as
the SSE event sequence `response.created` … `response.completed`.

Reasoning comes back as a `reasoning` item with a summary; its `encrypted_content` (the
reply's signature) is included only when the request's `include` asks for
`reasoning.encrypted_content`, as the real API does. With `store: false` a reasoning item
sent back without `encrypted_content` cannot be resolved, and the real API refuses it.
"""

from __future__ import annotations

import json
import time

from openai_wire import API_KEY, error_body  # same keys, same error shape
from replies import ErrorReply, Reply, TextBlock, ThinkingBlock, ToolUseBlock, chunk_text, next_id

__all__ = ["API_KEY", "error_body", "Invalid", "validate", "last_user_text", "response_json", "sse_events"]

_FIELDS = {
    "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "stream",
    "store", "include", "reasoning", "max_output_tokens", "temperature", "top_p", "metadata",
    "previous_response_id", "text", "truncation", "user", "prompt_cache_key", "service_tier",
    "safety_identifier", "background", "max_tool_calls", "prompt", "stream_options",
    "top_logprobs", "conversation",
}
_USER_PARTS = {"input_text", "input_image", "input_file", "input_audio"}
_ASSISTANT_PARTS = {"output_text", "refusal"}
_ITEM_TYPES = {
    "message", "function_call", "function_call_output", "reasoning", "item_reference",
    "custom_tool_call", "custom_tool_call_output", "web_search_call", "local_shell_call",
    "local_shell_call_output", "additional_tools",
}

# OpenAI's encrypted reasoning is a Fernet token, which always begins like this; the
# real API refuses `encrypted_content` it did not make.
FERNET_PREFIX = "gAAAAA"


class Invalid(Exception):
    """The request breaks a rule the real API enforces (answered with 400)."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.param = param


def validate(body) -> None:
    """Raise `Invalid` for anything the real Responses API would refuse."""
    if not isinstance(body, dict):
        raise Invalid("We could not parse the JSON body of your request.")
    for key in body:
        if key not in _FIELDS:
            raise Invalid(f"Unknown parameter: '{key}'.", key)
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise Invalid("Missing required parameter: 'model'.", "model")
    items = body.get("input")
    if isinstance(items, list):
        _validate_items(items, body.get("store", True) is False)
    elif not isinstance(items, str) and body.get("previous_response_id") is None:
        raise Invalid("Missing required parameter: 'input'.", "input")
    for i, tool in enumerate(body.get("tools") or []):
        if not isinstance(tool, dict) or not tool.get("type"):
            raise Invalid(f"Missing required parameter: 'tools[{i}].type'.", f"tools[{i}].type")
        if tool["type"] == "function" and not tool.get("name"):
            # The Chat Completions shape ({"type":"function","function":{...}}) lands here.
            raise Invalid(f"Missing required parameter: 'tools[{i}].name'.", f"tools[{i}].name")
    fmt = (body.get("text") or {}).get("format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        if not fmt.get("name"):
            raise Invalid("Missing required parameter: 'text.format.name'.", "text.format.name")
        if not isinstance(fmt.get("schema"), dict):
            raise Invalid("Missing required parameter: 'text.format.schema'.", "text.format.schema")
    effort = (body.get("reasoning") or {}).get("effort")
    if effort is not None and effort not in {"none", "minimal", "low", "medium", "high", "xhigh"}:
        raise Invalid(f"Invalid value: '{effort}'. Supported values are: 'minimal', 'low', 'medium', and 'high'.", "reasoning.effort")


def _validate_items(items: list, stateless: bool) -> None:
    calls: set[str] = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise Invalid(f"Invalid type for 'input[{i}]': expected an object.", f"input[{i}]")
        kind = item.get("type", "message" if "role" in item else None)
        if kind not in _ITEM_TYPES:
            raise Invalid(f"Invalid value: '{kind}'. Supported values are: {sorted(_ITEM_TYPES)}.", f"input[{i}].type")
        if kind == "message":
            _validate_message(item, i)
        elif kind == "function_call":
            if not item.get("call_id") or not item.get("name") or not isinstance(item.get("arguments"), str):
                raise Invalid(f"Missing required parameter: 'input[{i}].call_id', 'name' and string 'arguments'.", f"input[{i}]")
            calls.add(item["call_id"])
        elif kind == "function_call_output":
            if item.get("call_id") not in calls:
                raise Invalid(f"No tool call found for function call output with call_id {item.get('call_id')}.", "input")
            if not isinstance(item.get("output"), (str, list)):
                raise Invalid(f"Invalid type for 'input[{i}].output': expected a string.", f"input[{i}].output")
        elif kind == "reasoning":
            if not isinstance(item.get("summary"), list):
                raise Invalid(f"Missing required parameter: 'input[{i}].summary'.", f"input[{i}].summary")
            if stateless and not item.get("encrypted_content"):
                raise Invalid(
                    f"Item with id '{item.get('id')}' not found. Items are not persisted when `store` is set to false. "
                    "Try again with `store` set to true, or remove this item from your input.", "input")
            if item.get("encrypted_content") and not item["encrypted_content"].startswith(FERNET_PREFIX):
                raise Invalid("The encrypted content for item could not be verified. Reason: Encrypted content could not be decrypted or parsed.", f"input[{i}].encrypted_content")


def _validate_message(item: dict, i: int) -> None:
    role = item.get("role")
    if role not in {"user", "assistant", "system", "developer"}:
        raise Invalid(f"Invalid value: '{role}'. Supported values are: 'assistant', 'system', 'developer', and 'user'.", f"input[{i}].role")
    content = item.get("content")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise Invalid(f"Invalid type for 'input[{i}].content'.", f"input[{i}].content")
    allowed = _ASSISTANT_PARTS if role == "assistant" else _USER_PARTS
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in allowed:
            raise Invalid(f"Invalid value: '{kind}'. Supported values are: {sorted(allowed)}.", f"input[{i}].content[{j}].type")
        if kind == "input_image" and not (part.get("image_url") or part.get("file_id")):
            raise Invalid(f"Missing required parameter: 'input[{i}].content[{j}].image_url'.", f"input[{i}].content[{j}].image_url")


def last_user_text(body: dict) -> str:
    """The text of the last user message or function output, for echo replies."""
    items = body.get("input")
    if isinstance(items, str):
        return items
    for item in reversed(items or []):
        kind = item.get("type", "message")
        if kind == "function_call_output":
            output = item.get("output")
            return output if isinstance(output, str) else json.dumps(output)
        if kind == "message" and item.get("role") == "user":
            content = item.get("content")
            if isinstance(content, str):
                return content
            return " ".join(p.get("text", "") for p in content or [] if isinstance(p, dict))
    return ""


def _wants_encrypted_reasoning(body: dict) -> bool:
    return "reasoning.encrypted_content" in (body.get("include") or [])


def _items(reply: Reply, body: dict) -> list[dict]:
    """The finished output items of a reply."""
    items = []
    for block in reply.blocks:
        if isinstance(block, ThinkingBlock):
            item = {"id": next_id("rs_"), "type": "reasoning", "summary": [{"type": "summary_text", "text": block.thinking}]}
            if _wants_encrypted_reasoning(body):
                item["encrypted_content"] = block.signature
            items.append(item)
        elif isinstance(block, TextBlock):
            items.append({
                "id": next_id("msg_"), "type": "message", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": block.text, "annotations": [], "logprobs": []}],
            })
        elif isinstance(block, ToolUseBlock):
            items.append({
                "id": next_id("fc_"), "type": "function_call", "status": "completed",
                "call_id": block.id, "name": block.name, "arguments": json.dumps(block.arguments),
            })
    return items


def _usage(reply: Reply) -> dict:
    reasoning = 4 if any(isinstance(b, ThinkingBlock) for b in reply.blocks) else 0
    return {
        "input_tokens": reply.input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": reply.output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": reply.input_tokens + reply.output_tokens,
    }


def _response(body: dict, status: str, output: list, usage: dict | None) -> dict:
    return {
        "id": body["_response_id"], "object": "response", "created_at": body["_created_at"],
        "status": status, "error": None, "incomplete_details": None,
        "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
        "model": body["model"], "output": output, "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"), "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "store": body.get("store", True), "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}}, "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [], "top_p": body.get("top_p", 1.0), "truncation": "disabled",
        "usage": usage, "user": None, "metadata": body.get("metadata") or {},
    }


def _stamped(body: dict) -> dict:
    return {**body, "_response_id": next_id("resp_"), "_created_at": int(time.time())}


def response_json(reply: Reply, body: dict) -> bytes:
    """A complete `response` object."""
    body = _stamped(body)
    return json.dumps(_response(body, "completed", _items(reply, body), _usage(reply))).encode()


def sse_events(reply: Reply, body: dict):
    """The SSE events of a streamed response, in the real API's order, each with an
    `event:` line and a `sequence_number`."""
    body = _stamped(body)
    sequence = iter(range(1_000_000))

    def event(kind: str, **data) -> bytes:
        payload = {"type": kind, "sequence_number": next(sequence), **data}
        return f"event: {kind}\ndata: {json.dumps(payload)}\n\n".encode()

    yield event("response.created", response=_response(body, "in_progress", [], None))
    yield event("response.in_progress", response=_response(body, "in_progress", [], None))
    items = _items(reply, body)
    for index, item in enumerate(items):
        ids = {"item_id": item["id"], "output_index": index}
        if item["type"] == "reasoning":
            yield event("response.output_item.added", output_index=index, item={**item, "summary": []})
            text = item["summary"][0]["text"]
            yield event("response.reasoning_summary_part.added", **ids, summary_index=0, part={"type": "summary_text", "text": ""})
            for piece in chunk_text(text):
                yield event("response.reasoning_summary_text.delta", **ids, summary_index=0, delta=piece)
            yield event("response.reasoning_summary_text.done", **ids, summary_index=0, text=text)
            yield event("response.reasoning_summary_part.done", **ids, summary_index=0, part={"type": "summary_text", "text": text})
        elif item["type"] == "message":
            yield event("response.output_item.added", output_index=index, item={**item, "status": "in_progress", "content": []})
            text = item["content"][0]["text"]
            empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            yield event("response.content_part.added", **ids, content_index=0, part=empty)
            for piece in chunk_text(text):
                yield event("response.output_text.delta", **ids, content_index=0, delta=piece, logprobs=[])
            yield event("response.output_text.done", **ids, content_index=0, text=text, logprobs=[])
            yield event("response.content_part.done", **ids, content_index=0, part=item["content"][0])
        else:
            yield event("response.output_item.added", output_index=index, item={**item, "status": "in_progress", "arguments": ""})
            for piece in chunk_text(item["arguments"], 7):
                yield event("response.function_call_arguments.delta", **ids, delta=piece)
            yield event("response.function_call_arguments.done", **ids, arguments=item["arguments"])
        yield event("response.output_item.done", output_index=index, item=item)
    yield event("response.completed", response=_response(body, "completed", items, _usage(reply)))
