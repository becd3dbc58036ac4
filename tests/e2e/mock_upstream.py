"""A scripted upstream on 127.0.0.1 that answers like the real Anthropic Messages API
(`POST /v1/messages`), the real OpenAI Chat Completions API (`POST /v1/chat/completions`),
the real OpenAI Responses API (`POST /v1/responses`), the real Gemini API
(`POST /v1beta/models/{m}:generateContent` and `:streamGenerateContent[?alt=sse]`) and
the ChatGPT Codex backend (`POST /backend-api/codex/responses`, see `codex_wire`),
Cloud Code Assist (`POST /v1internal:generateContent` and `:streamGenerateContent`, see
`code_assist_wire`) and Kiro (`POST /generateAssistantResponse`, AWS event-stream
answers, see `kiro_wire`).

Tests queue the replies they want (`mock.queue(text("hi"), tool_call(...))`), or install
a responder that picks a reply from the request (`mock.answer_with(fn)`, for clients
that send side requests of their own); with neither, the mock echoes the last user text
(`echo: …`). Every request is recorded
(headers with lower-case names, parsed JSON body, arrival time) for assertions. A body
that is not valid for the endpoint's dialect gets the real API's 400, so a broken
translation cannot pass by accident.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import anthropic_wire
import code_assist_wire
import codex_wire
import gemini_wire
import kiro_wire
import openai_wire
import responses_wire
from replies import ErrorReply, Reply, text

ANTHROPIC_KEY = anthropic_wire.API_KEY
OPENAI_KEY = openai_wire.API_KEY
GEMINI_KEY = gemini_wire.API_KEY


@dataclass
class Received:
    """One request as the upstream saw it."""

    method: str
    path: str
    query: str
    headers: dict
    body: object
    raw: bytes
    at: float = field(default_factory=time.monotonic)
    # The status the mock answered with.
    status: int = 0

    @property
    def dialect(self) -> str:
        """Which API was called: anthropic, openai (Chat Completions), openai-responses,
        gemini, codex, code-assist, kiro, or unknown."""
        if self.path == "/v1/messages":
            return "anthropic"
        if self.path == "/v1/chat/completions":
            return "openai"
        if self.path == "/v1/responses":
            return "openai-responses"
        if self.path == codex_wire.PATH:
            return "codex"
        if gemini_wire.PATH.match(self.path):
            return "gemini"
        if code_assist_wire.PATH.match(self.path):
            return "code-assist"
        if self.path == kiro_wire.PATH or (self.path == "/" and "x-amz-target" in self.headers):
            return "kiro"
        return "unknown"

    @property
    def model(self) -> str | None:
        """The model asked for: in the body, or in the URL for Gemini."""
        if self.dialect == "gemini":
            return gemini_wire.PATH.match(self.path).group(2)
        return self.body.get("model") if isinstance(self.body, dict) else None


def joined_text(content) -> str:
    """Text of a recorded message content in either dialect: a string or a list of blocks."""
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content or [] if isinstance(block, dict))


class MockUpstream:
    """The scripted upstream. Start with `MockUpstream()`, stop with `close()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._replies: deque = deque()
        self._responder = None
        self._received: list[Received] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.mock = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="mock-upstream", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` (Anthropic base URL; OpenAI's adds `/v1`)."""
        return f"http://127.0.0.1:{self.port}"

    def queue(self, *replies: Reply | ErrorReply) -> None:
        """Answer the next requests with these replies, in order."""
        with self._lock:
            self._replies.extend(replies)

    def answer_with(self, responder) -> None:
        """Answer every request the queue does not with `responder(received)`: a reply,
        or None for the echo. For clients whose side requests (titles, routers) would
        otherwise eat queued replies in an order no test controls."""
        with self._lock:
            self._responder = responder

    def reset(self) -> None:
        """Forget queued replies, the responder and recorded requests."""
        with self._lock:
            self._replies.clear()
            self._received.clear()
            self._responder = None

    @property
    def received(self) -> list[Received]:
        """Every request so far, oldest first (a copy)."""
        with self._lock:
            return list(self._received)

    def last(self) -> Received:
        """The most recent request; fails the test if there was none."""
        received = self.received
        assert received, "the upstream received no request"
        return received[-1]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_reply(self, received: Received, echo: str) -> Reply | ErrorReply:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
            responder = self._responder
        reply = responder(received) if responder else None
        return reply if reply is not None else text(f"echo: {echo}")

    def _record(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keep-alive: every answer has Content-Length or is chunked.
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        pass  # keep pytest output clean; requests are recorded instead

    @property
    def mock(self) -> MockUpstream:
        return self.server.mock

    def do_POST(self):
        url = urlsplit(self.path)
        raw = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self._received = Received("POST", url.path, url.query, headers, body, raw)
        self.mock._record(self._received)
        dialect = self._received.dialect
        if dialect == "anthropic":
            self._anthropic(headers, body)
        elif dialect == "openai":
            self._openai(headers, body)
        elif dialect == "openai-responses":
            self._responses(headers, body)
        elif dialect == "gemini":
            self._gemini(url, headers, body)
        elif dialect == "codex":
            self._codex(headers, body)
        elif dialect == "code-assist":
            self._code_assist(url, headers, body)
        elif dialect == "kiro":
            self._kiro(url, headers, raw, body)
        else:
            self._send(404, {"content-type": "application/json"}, b'{"error":"not found"}')

    def do_GET(self):
        url = urlsplit(self.path)
        self._received = Received("GET", url.path, url.query, {k.lower(): v for k, v in self.headers.items()}, None, b"")
        self.mock._record(self._received)
        self._send(404, {"content-type": "application/json"}, b'{"error":"not found"}')

    def _anthropic(self, headers: dict, body) -> None:
        refused = anthropic_wire.check_auth(headers)
        if refused:
            return self._send(*anthropic_wire.error_body(refused))
        try:
            if body is None:
                raise anthropic_wire.Invalid("There was an error parsing the body of your request as JSON.")
            anthropic_wire.validate(body)
        except anthropic_wire.Invalid as e:
            return self._send(*anthropic_wire.error_body(ErrorReply(400, "invalid_request", str(e))))
        reply = self.mock._next_reply(self._received, anthropic_wire.last_user_text(body))
        if isinstance(reply, ErrorReply):
            return self._send(*anthropic_wire.error_body(reply))
        if body.get("stream"):
            return self._stream(anthropic_wire.sse_events(reply, body["model"]), reply.pace)
        return self._send(200, {"content-type": "application/json"}, anthropic_wire.message_json(reply, body["model"]))

    def _openai(self, headers: dict, body) -> None:
        refused = openai_wire.check_auth(headers)
        if refused:
            return self._send(*openai_wire.error_body(refused))
        try:
            if body is None:
                raise openai_wire.Invalid("We could not parse the JSON body of your request.")
            openai_wire.validate(body)
        except openai_wire.Invalid as e:
            return self._send(*openai_wire.error_body(ErrorReply(400, "invalid_request", str(e)), e.param))
        reply = self.mock._next_reply(self._received, openai_wire.last_user_text(body))
        if isinstance(reply, ErrorReply):
            return self._send(*openai_wire.error_body(reply))
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return self._stream(openai_wire.sse_events(reply, body["model"], include_usage), reply.pace)
        return self._send(200, {"content-type": "application/json"}, openai_wire.completion_json(reply, body["model"]))

    def _responses(self, headers: dict, body) -> None:
        refused = openai_wire.check_auth(headers)
        if refused:
            return self._send(*responses_wire.error_body(refused))
        try:
            if body is None:
                raise responses_wire.Invalid("We could not parse the JSON body of your request.")
            responses_wire.validate(body)
        except responses_wire.Invalid as e:
            return self._send(*responses_wire.error_body(ErrorReply(400, "invalid_request", str(e)), e.param))
        reply = self.mock._next_reply(self._received, responses_wire.last_user_text(body))
        if isinstance(reply, ErrorReply):
            return self._send(*responses_wire.error_body(reply))
        if body.get("stream"):
            return self._stream(responses_wire.sse_events(reply, body), reply.pace)
        return self._send(200, {"content-type": "application/json"}, responses_wire.response_json(reply, body))

    def _codex(self, headers: dict, body) -> None:
        refused = codex_wire.check(headers, body)
        if refused:
            return self._send(*refused)
        reply = self.mock._next_reply(self._received, responses_wire.last_user_text(body))
        if isinstance(reply, ErrorReply):
            return self._send(*codex_wire.error_body(reply))
        return self._stream(codex_wire.sse_events(reply, body), reply.pace)

    def _code_assist(self, url, headers: dict, body) -> None:
        refused = code_assist_wire.check(headers, body)
        if refused:
            return self._send(*refused)
        model = body["model"]
        reply = self.mock._next_reply(self._received, gemini_wire.last_user_text(body["request"]))
        if isinstance(reply, ErrorReply):
            return self._send(*code_assist_wire.error_body(reply, model))
        method = code_assist_wire.PATH.match(url.path).group(1)
        if method == "generateContent":
            return self._send(200, {"content-type": "application/json; charset=UTF-8"},
                              code_assist_wire.response_json(reply, model))
        if "alt=sse" not in url.query.split("&"):
            return self._send(*code_assist_wire._error(400, "INVALID_ARGUMENT", "the mock streams with alt=sse only"))
        return self._stream(code_assist_wire.sse_events(reply, model), reply.pace)

    def _kiro(self, url, headers: dict, raw: bytes, body) -> None:
        refused = kiro_wire.check(headers, url.path, raw, body)
        if refused:
            return self._send(*refused)
        state = body["conversationState"]
        reply = self.mock._next_reply(self._received, kiro_wire.last_user_text(state))
        if isinstance(reply, ErrorReply):
            return self._send(*kiro_wire.error_body(reply))
        model = state["currentMessage"]["userInputMessage"]["modelId"]
        return self._stream(kiro_wire.events(reply, model), reply.pace, "application/vnd.amazon.eventstream")

    def _gemini(self, url, headers: dict, body) -> None:
        refused = gemini_wire.check_auth(headers, url.query)
        if refused:
            return self._send(*gemini_wire.error_body(refused))
        _, _, model, action = gemini_wire.PATH.match(url.path).group(0, 1, 2, 3)
        try:
            if body is None:
                raise gemini_wire.Invalid("Invalid JSON payload received.")
            body = gemini_wire.validate(body)
        except gemini_wire.Invalid as e:
            return self._send(*gemini_wire.error_body(ErrorReply(400, "invalid_request", str(e))))
        if action == "countTokens":
            return self._send(200, {"content-type": "application/json"}, json.dumps({"totalTokens": 17}).encode())
        reply = self.mock._next_reply(self._received, gemini_wire.last_user_text(body))
        if isinstance(reply, ErrorReply):
            return self._send(*gemini_wire.error_body(reply))
        if action == "generateContent":
            return self._send(200, {"content-type": "application/json; charset=UTF-8"}, gemini_wire.response_json(reply, model))
        if "alt=sse" in url.query.split("&"):
            return self._stream(gemini_wire.sse_events(reply, model), reply.pace)
        return self._stream(gemini_wire.json_array_stream(reply, model), reply.pace, "application/json; charset=UTF-8")

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _send(self, status: int, headers: dict, body: bytes) -> None:
        # Recorded before answering: a test reads it as soon as its client has the answer.
        self._received.status = status
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _stream(self, frames, pace: float, content_type: str = "text/event-stream; charset=utf-8") -> None:
        """SSE (or another streamed body) over chunked transfer encoding, one flush per frame."""
        self._received.status = 200
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        try:
            for frame in frames:
                self.wfile.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
                self.wfile.flush()
                if pace:
                    time.sleep(pace)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away mid-stream
