"""What the scripted upstream answers, independent of the dialect it speaks.

A test queues replies (`text`, `tool_call`, `error`...) on the mock; the mock renders
each one in the dialect of the endpoint that was hit (Anthropic Messages or OpenAI Chat
Completions), as one JSON document or as an SSE stream, whichever the request asked for.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

_ids = itertools.count(1)


def next_id(prefix: str) -> str:
    """A fresh id shaped like the real API's (`msg_…`, `toolu_…`, `call_…`)."""
    return f"{prefix}{next(_ids):08d}mock"


@dataclass
class TextBlock:
    """Plain answer text, streamed in `chunks` pieces."""

    text: str


@dataclass
class ThinkingBlock:
    """Anthropic extended thinking with its signature (OpenAI renders nothing for it)."""

    thinking: str
    signature: str = "sig-mock-0001"


@dataclass
class ToolUseBlock:
    """A call to a client-side tool; `arguments` is the JSON object of arguments."""

    name: str
    arguments: dict
    id: str = field(default_factory=lambda: next_id("toolu_"))


@dataclass
class Reply:
    """A successful answer: content blocks in order, then a stop reason and usage."""

    blocks: list
    input_tokens: int = 17
    output_tokens: int = 5
    # Seconds to sleep between streamed events, so a client sees a real stream.
    pace: float = 0.0
    # Streamed only: after this many events the stream carries the dialect's error
    # frame (`stream_error`) and ends, inside the 200 (Anthropic's mid-stream
    # `overloaded_error`, for instance).
    stream_error: "ErrorReply | None" = None
    error_after_events: int = 1

    @property
    def has_tool_use(self) -> bool:
        return any(isinstance(b, ToolUseBlock) for b in self.blocks)


@dataclass
class ErrorReply:
    """An upstream failure. `kind` is dialect-neutral: rate_limit, overloaded,
    invalid_request, authentication, server."""

    status: int
    kind: str
    message: str
    retry_after: int | None = None
    # Further response headers, sent as they are (Anthropic's
    # `anthropic-ratelimit-unified-*`, for instance).
    headers: dict = field(default_factory=dict)


def text(answer: str, **kw) -> Reply:
    """A reply that says `answer`."""
    return Reply([TextBlock(answer)], **kw)


def thinking_then_text(thought: str, answer: str, signature: str = "sig-mock-0001", **kw) -> Reply:
    """A reply that reasons first (Anthropic thinking block), then says `answer`."""
    return Reply([ThinkingBlock(thought, signature), TextBlock(answer)], **kw)


def tool_call(name: str, arguments: dict, preamble: str | None = None, **kw) -> Reply:
    """A reply in which the model calls tool `name`, optionally after some text."""
    blocks: list = [TextBlock(preamble)] if preamble else []
    blocks.append(ToolUseBlock(name, arguments))
    return Reply(blocks, **kw)


def rate_limited(retry_after: int = 1) -> ErrorReply:
    """429 with a `retry-after` header."""
    return ErrorReply(429, "rate_limit", "Number of requests has exceeded your rate limit (mock).", retry_after)


def overloaded() -> ErrorReply:
    """Anthropic's 529 overloaded_error (OpenAI: 503)."""
    return ErrorReply(529, "overloaded", "Overloaded (mock).")


def overloaded_mid_stream(after_events: int = 1) -> Reply:
    """A 200 stream that breaks off with an `overloaded_error` frame after
    `after_events` events (Anthropic's mid-stream shape)."""
    return Reply([TextBlock("never finished")], stream_error=overloaded(), error_after_events=after_events)


def chunk_text(s: str, size: int = 4) -> list[str]:
    """Split text into stream-sized pieces (never empty: one empty piece for "")."""
    return [s[i : i + size] for i in range(0, len(s), size)] or [""]
