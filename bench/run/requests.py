"""The request every system is measured with, in each client dialect, and where it goes.

One conversation (system prompt, a user turn, the assistant's answer, a second user
turn) so that translation has real work: a system prompt to lift out, turns to map,
and a shape the fixups (first-user-turn, merge-turns) must inspect.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

SYSTEM_PROMPT = "You are a terse assistant. Answer in one short sentence."
TURNS = [
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris."},
    {"role": "user", "content": "And of Italy? Answer with the city name only."},
]


def chat_body(model: str, stream: bool) -> bytes:
    """An OpenAI Chat Completions request."""
    body = {
        "model": model,
        "messages": [{"role": "system", "content": SYSTEM_PROMPT}, *TURNS],
        "max_tokens": 256,
        "temperature": 0.2,
    }
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


def messages_body(model: str, stream: bool) -> bytes:
    """The same conversation as an Anthropic Messages request."""
    body = {
        "model": model,
        "max_tokens": 256,
        "system": SYSTEM_PROMPT,
        "messages": TURNS,
        "temperature": 0.2,
    }
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


@dataclass
class Route:
    """One request shape against one system: URL, headers, bodies (JSON and stream),
    and which direct-to-mock route it is compared with."""

    url: str
    body: bytes
    stream_body: bytes
    headers: list[str] = field(default_factory=list)
    baseline: str = "direct"

    def loadgen_args(self, stream: bool = False) -> list[str]:
        args = ["--url", self.url, "--body", (self.stream_body if stream else self.body).decode()]
        for header in self.headers:
            args += ["--header", header]
        return args

    def oha_args(self) -> list[str]:
        args = ["-m", "POST", "-T", "application/json", "-d", self.body.decode()]
        for header in self.headers:
            args += ["-H", header]
        return args + [self.url]


def chat_route(base: str, model: str, headers: list[str] | None = None,
               baseline: str = "direct") -> Route:
    """A Chat Completions route at `base` (which ends in /v1 or its equivalent)."""
    return Route(f"{base}/chat/completions", chat_body(model, False), chat_body(model, True),
                 headers or [], baseline)


def messages_route(base: str, model: str, headers: list[str] | None = None,
                   baseline: str = "direct") -> Route:
    """A Messages route at `base` (the host root; the path adds /v1/messages)."""
    return Route(f"{base}/v1/messages", messages_body(model, False), messages_body(model, True),
                 ["anthropic-version: 2023-06-01", *(headers or [])], baseline)
