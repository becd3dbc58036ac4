"""Kiro's generation API as the mock upstream speaks it (`POST /generateAssistantResponse`,
REST JSON, and `POST /` with `x-amz-target: …GenerateAssistantResponse`), strict the way
the real one is (facts: shared/providers/copilot-kiro.md §B7-B10 and its mock checklist).

It refuses, with the bodies the real API sends:
- a bearer token it did not issue (`TOKENS`): 403 "The bearer token included in the
  request is invalid.";
- the profile ARN: a token issued with one (social, IdC) needs exactly it in
  `profileArn` (missing: 400 "profileArn is required"; another: 403); a token issued
  without one (Builder ID, API key) refuses any (403, as one Kiro client reports);
- a body over `SIZE_LIMIT` bytes: 400 `CONTENT_LENGTH_EXCEEDS_THRESHOLD`;
- an unknown `modelId`: 400 `INVALID_MODEL_ID`;
- anything structurally wrong, all with the one generic 400 `{"message":"Improperly
  formed request.","reason":null}`: no `chatTriggerType: MANUAL` or empty
  `conversationId`; history starting with the assistant; roles not alternating (the
  current message is the user's, so history ends with the assistant); empty `content`;
  an empty `toolUses`; a `toolResult` answering no `toolUse` of the assistant turn just
  before; a `toolUse` with no result in the next user turn; duplicate `toolUseId`s;
  tool results with no tools declared; a tool used in history not declared in the
  current message (names compared case-insensitively); a tool name over
  `MAX_TOOL_NAME` characters, an empty description or one over `MAX_DESCRIPTION`;
  schema keys Kiro refuses (`additionalProperties`, `$schema`, an empty `required`);
  images that are not raw base64 of a known format.

It answers `application/vnd.amazon.eventstream` frames, CRCs computed with
`zlib.crc32`: `assistantResponseEvent` text deltas, `reasoningContentEvent` for thinking
blocks (or inline `<thinking>` tags with `inline_thinking`), `toolUseEvent` start /
input fragments / stop, then `meteringEvent` and `contextUsageEvent` (the reply's input
tokens as a percentage of a 200k window). Failures a test queues: `suspended()`,
`monthly_quota()`, `capacity()`, `too_long()`, `bearer_invalid()`, and
`exception_mid_stream()` (an exception frame inside the 200 stream).
"""

from __future__ import annotations

import json
import re
import struct
import zlib

from replies import ErrorReply, Reply, TextBlock, ThinkingBlock, ToolUseBlock, chunk_text

# The path under the mock's root; the provider entry's `base` endpoint is the mock's root.
PATH = "/generateAssistantResponse"
# The official SDK style: `POST /` with this target.
TARGET = "AmazonCodeWhispererStreamingService.GenerateAssistantResponse"

PROFILE_ARN_A = "arn:aws:codewhisperer:us-east-1:111122223333:profile/KIROMOCKA"
# Access tokens the mock issued, and the profile ARN each must send (None: none).
TOKENS: dict[str, str | None] = {
    "kiro-access-token-A-0123456789": PROFILE_ARN_A,
    "kiro-access-token-B-0123456789": None,
}

MODELS = {"auto", "claude-sonnet-4", "claude-sonnet-4.5", "claude-sonnet-4.6", "claude-opus-4.5",
          "claude-opus-4.6", "claude-haiku-4.5", "CLAUDE_3_7_SONNET_20250219_V1_0"}
SIZE_LIMIT = 600_000
MAX_TOOL_NAME = 64
MAX_DESCRIPTION = 10_240
REFUSED_SCHEMA_KEYS = ("additionalProperties", "$schema")
IMAGE_FORMATS = {"png", "jpeg", "gif", "webp"}
WINDOW = 200_000


def issue(token: str, profile_arn: str | None) -> None:
    """Accept `token` from now on (the auth mock calls this when it hands one out)."""
    TOKENS[token] = profile_arn


class Improper(Exception):
    """The request breaks a structural rule; the argument says which (for the test's eyes
    only: the real API says nothing more than "Improperly formed request.")."""


def _json(status: int, body: dict, headers: dict | None = None) -> tuple:
    return status, {"content-type": "application/json", **(headers or {})}, json.dumps(body).encode()


def _improper(why: str) -> tuple:
    # The rule broken rides in a header the real API does not send, so a failing test
    # can say which; the body is exactly the real one.
    status, headers, body = _json(400, {"message": "Improperly formed request.", "reason": None})
    return status, {**headers, "x-mock-rule": why}, body


def check(headers: dict, path: str, raw: bytes, body) -> tuple | None:
    """The refusal (status, headers, body) for a request the real API would not serve,
    or None."""
    auth = headers.get("authorization", "")
    token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
    if token not in TOKENS:
        return _json(403, {"message": "The bearer token included in the request is invalid.", "reason": None})
    if path == "/" and headers.get("x-amz-target") != TARGET:
        return _json(400, {"message": "Unknown operation", "reason": None})
    if len(raw) > SIZE_LIMIT:
        return _json(400, {"message": "Input is too long.", "reason": "CONTENT_LENGTH_EXCEEDS_THRESHOLD"})
    if not isinstance(body, dict) or not isinstance(body.get("conversationState"), dict):
        return _json(400, {"message": "Improperly formed request.", "reason": None})
    expected_arn, sent_arn = TOKENS[token], body.get("profileArn")
    if expected_arn and sent_arn is None:
        return _json(400, {"message": "profileArn is required for this request.", "reason": None})
    if expected_arn and sent_arn != expected_arn:
        return _json(403, {"__type": "com.amazon.aws.codewhisperer#AccessDeniedException",
                           "message": "User is not authorized to access this profile.", "reason": None})
    if not expected_arn and sent_arn is not None:
        return _json(403, {"__type": "com.amazon.aws.codewhisperer#AccessDeniedException",
                           "message": "The bearer token included in the request is invalid.", "reason": None})
    try:
        validate(body["conversationState"])
    except Improper as e:
        return _improper(str(e))
    except InvalidModel:
        return _json(400, {"message": "Invalid model. Please select a different model to continue.",
                           "reason": "INVALID_MODEL_ID"})
    return None


class InvalidModel(Exception):
    pass


def _turns(state: dict) -> list[tuple[str, dict]]:
    history = state.get("history", [])
    if not isinstance(history, list):
        raise Improper("history is not a list")
    current = state.get("currentMessage")
    if not isinstance(current, dict) or set(current) != {"userInputMessage"}:
        raise Improper("currentMessage must be a userInputMessage")
    turns = []
    for entry in [*history, current]:
        if not isinstance(entry, dict) or len(entry) != 1:
            raise Improper("a history entry must hold exactly one message")
        [(kind, message)] = entry.items()
        if kind not in ("userInputMessage", "assistantResponseMessage") or not isinstance(message, dict):
            raise Improper(f"unknown history entry {kind}")
        turns.append(("user" if kind == "userInputMessage" else "assistant", message))
    return turns


def _check_schema(schema, where: str) -> None:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in REFUSED_SCHEMA_KEYS:
                raise Improper(f"{where}: schema key {key}")
            if key == "required" and value == []:
                raise Improper(f"{where}: empty required")
            if key == "properties" and isinstance(value, dict):
                for sub in value.values():
                    _check_schema(sub, where)
            elif key not in ("enum", "const", "default", "examples"):
                _check_schema(value, where)
    elif isinstance(schema, list):
        for item in schema:
            _check_schema(item, where)


def validate(state: dict) -> None:
    """Raise Improper (or InvalidModel) for a conversationState the real API refuses."""
    if state.get("chatTriggerType") != "MANUAL":
        raise Improper("chatTriggerType must be MANUAL")
    if not isinstance(state.get("conversationId"), str) or not state["conversationId"]:
        raise Improper("conversationId is empty")
    turns = _turns(state)
    if turns[0][0] != "user":
        raise Improper("history starts with an assistant message")
    for (role, _), (next_role, _) in zip(turns, turns[1:]):
        if role == next_role:
            raise Improper(f"two {role} messages in a row")
    declared: set[str] = set()
    has_results = False
    used: set[str] = set()
    seen_ids: set[str] = set()
    pending: list[str] = []
    for index, (role, message) in enumerate(turns):
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise Improper(f"{role} message {index} has empty content")
        if role == "assistant":
            if pending:
                raise Improper(f"toolUses {pending} have no toolResults")
            uses = message.get("toolUses")
            if uses is not None:
                if not isinstance(uses, list) or not uses:
                    raise Improper("toolUses is empty")
                for use in uses:
                    if not isinstance(use, dict) or not use.get("toolUseId") or not use.get("name") \
                            or not isinstance(use.get("input"), dict):
                        raise Improper("a toolUse needs toolUseId, name and an input object")
                    if use["toolUseId"] in seen_ids:
                        raise Improper(f"duplicate toolUseId {use['toolUseId']}")
                    seen_ids.add(use["toolUseId"])
                    used.add(use["name"].lower())
                pending = [use["toolUseId"] for use in uses]
            continue
        if message.get("modelId") not in MODELS:
            raise InvalidModel()
        if message.get("origin") != "AI_EDITOR":
            raise Improper("origin must be AI_EDITOR")
        for image in message.get("images") or []:
            source = (image or {}).get("source") or {}
            data = source.get("bytes")
            if image.get("format") not in IMAGE_FORMATS or not isinstance(data, str) or data.startswith("data:") \
                    or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", data):
                raise Improper("an image must be raw base64 of png, jpeg, gif or webp")
        context = message.get("userInputMessageContext") or {}
        results = context.get("toolResults") or []
        answered = []
        for result in results:
            if not isinstance(result, dict) or result.get("toolUseId") not in pending:
                raise Improper(f"orphaned toolResult {result.get('toolUseId') if isinstance(result, dict) else result}")
            if result["toolUseId"] in answered:
                raise Improper(f"toolUseId {result['toolUseId']} answered twice")
            answered.append(result["toolUseId"])
            parts = result.get("content")
            if not isinstance(parts, list) or not parts or not all(
                    isinstance(p, dict) and (("text" in p and str(p["text"]).strip()) or "json" in p) for p in parts):
                raise Improper("a toolResult needs non-empty content")
            if result.get("status", "success") not in ("success", "error"):
                raise Improper("toolResult status must be success or error")
        missing = [tool_id for tool_id in pending if tool_id not in answered]
        if missing:
            raise Improper(f"toolUses {missing} have no toolResults")
        pending = []
        has_results = has_results or bool(results)
        for tool in context.get("tools") or []:
            spec = (tool or {}).get("toolSpecification")
            if not isinstance(spec, dict):
                raise Improper("a tool must be a toolSpecification")
            name, description = spec.get("name"), spec.get("description")
            if not isinstance(name, str) or not 0 < len(name) <= MAX_TOOL_NAME:
                raise Improper(f"tool name {name!r} is empty or longer than {MAX_TOOL_NAME}")
            if not isinstance(description, str) or not description.strip() or len(description) > MAX_DESCRIPTION:
                raise Improper(f"tool {name}: description empty or over {MAX_DESCRIPTION}")
            schema = (spec.get("inputSchema") or {}).get("json")
            if not isinstance(schema, dict):
                raise Improper(f"tool {name}: inputSchema.json must be an object")
            _check_schema(schema, f"tool {name}")
            if index == len(turns) - 1:
                declared.add(name.lower())
    if (has_results or used) and not declared:
        raise Improper("tool results or uses without any tools declared")
    undeclared = used - declared
    if undeclared:
        raise Improper(f"tools {sorted(undeclared)} used in history are not declared")


def last_user_text(state: dict) -> str:
    try:
        return state["currentMessage"]["userInputMessage"]["content"]
    except (KeyError, TypeError):
        return ""


# ---- failures a test queues ----

def suspended(user_id: str = "u-mock-1") -> ErrorReply:
    return ErrorReply(403, "suspended", f"Your User ID ({user_id}) temporarily is suspended. We've locked your "
                      "account as a security precaution. To restore access, please contact our support team to "
                      "verify your identity: https://aws.amazon.com/contact-us/")


def monthly_quota() -> ErrorReply:
    return ErrorReply(402, "monthly_quota", "You have reached the limit.")


def capacity() -> ErrorReply:
    return ErrorReply(429, "capacity", "I am experiencing high traffic, please try again shortly.")


def too_long() -> ErrorReply:
    return ErrorReply(400, "too_long", "Input is too long.")


def bearer_invalid() -> ErrorReply:
    return ErrorReply(403, "bearer", "The bearer token included in the request is invalid.")


def exception_mid_stream(after_events: int = 0) -> Reply:
    """A 200 stream that breaks off with a `ThrottlingException` frame
    (INSUFFICIENT_MODEL_CAPACITY) after `after_events` events."""
    return Reply([TextBlock("never finished")], stream_error=capacity(), error_after_events=after_events)


_ERRORS = {
    "suspended": ("AccessDeniedException", "TEMPORARILY_SUSPENDED"),
    "monthly_quota": (None, "MONTHLY_REQUEST_COUNT"),
    "capacity": ("ThrottlingException", "INSUFFICIENT_MODEL_CAPACITY"),
    "too_long": (None, "CONTENT_LENGTH_EXCEEDS_THRESHOLD"),
    "bearer": (None, None),
    "rate_limit": ("ThrottlingException", None),
    "overloaded": ("ServiceUnavailableException", "MODEL_TEMPORARILY_UNAVAILABLE"),
    "server": ("InternalServerException", None),
}


def _error_object(reply: ErrorReply) -> tuple[str | None, dict]:
    exception_type, reason = _ERRORS.get(reply.kind, ("ValidationException", None))
    body = {"message": reply.message, "reason": reason}
    if exception_type:
        body["__type"] = f"com.amazon.aws.codewhisperer#{exception_type}"
    return exception_type, body


def error_body(reply: ErrorReply) -> tuple:
    """(status, headers, body) of a failed answer."""
    headers = {"x-amzn-errortype": _error_object(reply)[0] or "ValidationException"}
    if reply.retry_after is not None:
        headers["retry-after"] = str(reply.retry_after)
    headers.update(reply.headers)
    return _json(reply.status, _error_object(reply)[1], headers)


# ---- the event stream ----

def _header(name: str, value: str) -> bytes:
    name_bytes, value_bytes = name.encode(), value.encode()
    return bytes([len(name_bytes)]) + name_bytes + b"\x07" + struct.pack(">H", len(value_bytes)) + value_bytes


def frame(headers: dict, payload: bytes) -> bytes:
    """One event-stream message: prelude (total and headers lengths, their CRC-32),
    string headers, payload, CRC-32 of everything before it."""
    block = b"".join(_header(name, value) for name, value in headers.items())
    total = 12 + len(block) + len(payload) + 4
    prelude = struct.pack(">II", total, len(block))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + block + payload
    return message + struct.pack(">I", zlib.crc32(message))


def event(event_type: str, payload: dict) -> bytes:
    return frame({":message-type": "event", ":event-type": event_type, ":content-type": "application/json"},
                 json.dumps(payload).encode())


def exception(exception_type: str, payload: dict) -> bytes:
    return frame({":message-type": "exception", ":exception-type": exception_type,
                  ":content-type": "application/json"}, json.dumps(payload).encode())


def events(reply: Reply, model: str, inline_thinking: bool = False):
    """The frames of `reply`; with a `stream_error`, the first `error_after_events`
    frames and then an exception frame."""
    frames = []
    for block in reply.blocks:
        if isinstance(block, ThinkingBlock):
            if inline_thinking:
                frames.append(event("assistantResponseEvent", {"content": f"<thinking>{block.thinking}</thinking>\n\n"}))
            else:
                frames.append(event("reasoningContentEvent", {"text": block.thinking, "signature": block.signature}))
        elif isinstance(block, TextBlock):
            frames += [event("assistantResponseEvent", {"content": piece, "modelId": model})
                       for piece in chunk_text(block.text)]
        elif isinstance(block, ToolUseBlock):
            frames.append(event("toolUseEvent", {"toolUseId": block.id, "name": block.name}))
            frames += [event("toolUseEvent", {"toolUseId": block.id, "name": block.name, "input": piece})
                       for piece in chunk_text(json.dumps(block.arguments), 7)]
            frames.append(event("toolUseEvent", {"toolUseId": block.id, "name": block.name, "stop": True}))
    frames.append(event("meteringEvent", {"unit": "credit", "unitPlural": "credits", "usage": 0.01}))
    frames.append(event("contextUsageEvent", {"contextUsagePercentage": reply.input_tokens * 100 / WINDOW}))
    if reply.stream_error is not None:
        exception_type, body = _error_object(reply.stream_error)
        frames = frames[: reply.error_after_events]
        frames.append(exception(exception_type or "InternalServerException", body))
    yield from frames
