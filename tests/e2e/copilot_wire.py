"""GitHub and GitHub Copilot as one scripted server, strict the way the real ones are
(facts: shared/providers/copilot-kiro.md PART A). It listens on 127.0.0.1 and answers

GitHub (reached directly; a provider entry points its `device`, `token`, `exchange` and
`user` endpoints here):
- `POST /login/device/code`: Copilot's client id and a scope required; answers
  `device_code`, `user_code`, `verification_uri`, `expires_in`, `interval`;
- `POST /login/oauth/access_token`: the device grant for a device code it issued;
  answers **200** with `error: authorization_pending` the first `pending_polls` times,
  then (with `slow_down`) once `error: slow_down` (and `slow_down` again for any poll
  that comes before the interval grew by 5 s), then the GitHub token `ghu_…`;
- `GET /copilot_internal/v2/token`: `Authorization: token <a GitHub token it issued or
  knows>` (a bearer is refused); answers a fresh Copilot token (`tid=…;exp=…;
  proxy-ep=…;…:hmac`), `expires_at` = now + `token_lifetime`, `refresh_in`, and
  `endpoints.api` = `api_base` (a `*.githubcopilot.com` name on this server's port,
  reached through it as an HTTP proxy), counting exchanges per GitHub token;
- `GET /copilot_internal/user`: the account's plan and `quota_snapshots`.

Copilot's API (under `api_base`, as a proxy target, or directly):
- every call needs `Authorization: Bearer <a Copilot token it issued, not expired or
  revoked>` (401 otherwise), `Copilot-Integration-Id`, `Editor-Version` (400 when
  missing, 466 below `MIN_EDITOR`), `Editor-Plugin-Version` and `X-Github-Api-Version`
  (466 below `MIN_API_VERSION`); `X-Initiator` is recorded, and must be `user` or `agent` on
  a generation call (a read such as `GET /models` may leave it out: it is billing, not a read's);
- `GET /models`: the list, each with `supported_endpoints`;
- `POST /chat/completions`, `/responses`, `/v1/messages`: the model must be listed (400
  `model_not_supported`) and served on that path (400 `unsupported_api_for_model`),
  then the body is checked by the strict `openai_wire`, `responses_wire` and
  `anthropic_wire` rules (`/v1/messages` wants `anthropic-version`) and answered in
  that dialect, streamed (Chat's SSE ends with usage and `[DONE]`) or not.

Copilot's failures are injected as queued `ErrorReply`s of kind `quota_exceeded` (402),
`rate_limited` (429, `retry-after`), `prompt_too_long` (400
`model_max_prompt_tokens_exceeded`), `model_not_supported` (400) or `client_too_old` (466).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import anthropic_wire
import openai_wire
import responses_wire
from replies import ErrorReply, Reply, text

# Copilot's public OAuth client id.
CLIENT_ID = "Iv1.b507a08c87ecfe98"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# The oldest `Editor-Version` (VS Code) and `X-Github-Api-Version` the API still takes.
MIN_EDITOR = (1, 109, 2)
MIN_API_VERSION = "2025-05-01"
# The API host an exchange names (the port is the mock's own).
API_HOST = "api.individual.githubcopilot.com"

# The models the account may use, with the routes each is served on (a Copilot
# `/models` answer, trimmed).
MODELS = [
    {"id": "gpt-4.1", "name": "GPT-4.1", "vendor": "Azure OpenAI", "capabilities": {
        "family": "gpt-4.1", "type": "chat", "tokenizer": "o200k_base",
        "limits": {"max_context_window_tokens": 128000, "max_prompt_tokens": 128000, "max_output_tokens": 16384},
        "supports": {"tool_calls": True, "parallel_tool_calls": True, "streaming": True, "vision": True}},
     "supported_endpoints": ["/chat/completions", "/responses"]},
    {"id": "claude-sonnet-4.6", "name": "Claude Sonnet 4.6", "vendor": "Anthropic", "capabilities": {
        "family": "claude-sonnet-4.6", "type": "chat", "tokenizer": "o200k_base",
        "limits": {"max_context_window_tokens": 200000, "max_prompt_tokens": 128000, "max_output_tokens": 64000},
        "supports": {"tool_calls": True, "streaming": True, "vision": True}},
     "supported_endpoints": ["/chat/completions", "/v1/messages"]},
    {"id": "gpt-5.1-codex", "name": "GPT-5.1-Codex", "vendor": "OpenAI", "capabilities": {
        "family": "gpt-5.1-codex", "type": "chat", "tokenizer": "o200k_base",
        "limits": {"max_context_window_tokens": 400000, "max_prompt_tokens": 128000, "max_output_tokens": 128000},
        "supports": {"tool_calls": True, "streaming": True}},
     "supported_endpoints": ["/responses"]},
    # Listed by the upstream only: the adapter's own table does not know it.
    {"id": "gemini-2.5-pro", "name": "Gemini 2.5 Pro", "vendor": "Google", "capabilities": {
        "family": "gemini-2.5-pro", "type": "chat", "tokenizer": "o200k_base",
        "limits": {"max_context_window_tokens": 128000, "max_prompt_tokens": 128000, "max_output_tokens": 64000},
        "supports": {"tool_calls": True, "streaming": True}},
     "supported_endpoints": ["/chat/completions"]},
    {"id": "text-embedding-3-small", "name": "Embedding V3 small", "vendor": "Azure OpenAI", "capabilities": {
        "family": "text-embedding-3-small", "type": "embeddings", "limits": {"max_inputs": 512}},
     "supported_endpoints": ["/embeddings"]},
]

API_PATHS = {"/chat/completions", "/responses", "/v1/messages"}


@dataclass
class Received:
    """One request as the server saw it."""

    method: str
    host: str
    path: str
    headers: dict
    body: object
    # The GitHub token of the account it was made for (API calls: through its Copilot token).
    account: str | None = None
    status: int = 0
    at: float = field(default_factory=time.monotonic)

    @property
    def initiator(self) -> str | None:
        return self.headers.get("x-initiator")


@dataclass
class CopilotToken:
    github: str
    expires_at: int
    revoked: bool = False


def _version(text: str) -> tuple:
    try:
        return tuple(int(n) for n in text.split("."))
    except ValueError:
        return ()


def copilot_error(status: int, code: str, message: str, headers: dict | None = None) -> tuple:
    """Copilot's error shape: `{"error": {"message", "code"}}`."""
    body = {"error": {"message": message, "code": code}}
    return status, {"content-type": "application/json", **(headers or {})}, json.dumps(body).encode()


def quota_exceeded() -> ErrorReply:
    """The premium allowance is spent: 402 `quota_exceeded`."""
    return ErrorReply(402, "quota_exceeded", "You have no quota")


def rate_limited(retry_after: int = 30) -> ErrorReply:
    """A model's usage window is full: 429 `rate_limited` with `retry-after`."""
    return ErrorReply(429, "rate_limited", "Sorry, you have exceeded your Claude Sonnet 4.6 token usage, please try "
                      "again later or switch to Auto.", retry_after)


def prompt_too_long() -> ErrorReply:
    return ErrorReply(400, "prompt_too_long", "prompt token count of 138898 exceeds the limit of 128000")


def model_not_supported() -> ErrorReply:
    return ErrorReply(400, "model_not_supported", "The requested model is not supported.")


_CODES = {"quota_exceeded": "quota_exceeded", "rate_limited": "rate_limited",
          "prompt_too_long": "model_max_prompt_tokens_exceeded", "model_not_supported": "model_not_supported"}


def error_body(reply: ErrorReply) -> tuple:
    """(status, headers, body) of an injected failure."""
    if reply.kind == "client_too_old":
        return 466, {"content-type": "text/plain"}, reply.message.encode()
    headers = {"retry-after": str(reply.retry_after)} if reply.retry_after is not None else {}
    return copilot_error(reply.status, _CODES.get(reply.kind, reply.kind), reply.message, headers)


class CopilotMock:
    """The scripted GitHub + Copilot. `CopilotMock(pending_polls=2, slow_down=True)`."""

    def __init__(self, pending_polls: int = 2, slow_down: bool = True, token_lifetime: int = 1800,
                 known_github_tokens: tuple = ()) -> None:
        self._lock = threading.Lock()
        self.pending_polls = pending_polls
        self.slow_down = slow_down
        self.token_lifetime = token_lifetime
        self._replies: deque = deque()
        self._responder = None
        self._received: list[Received] = []
        self._devices: dict = {}  # device_code -> state
        self.github_tokens: set[str] = set(known_github_tokens)
        self.issued_github: list[str] = []
        self._copilot: dict[str, CopilotToken] = {}
        self.exchanges: Counter = Counter()
        self.plan = "individual_pro"
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.mock = self
        threading.Thread(target=self._server.serve_forever, name="copilot-mock", daemon=True).start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """This server, reached directly (GitHub's side)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """The API base an exchange names: a Copilot host on this port (reach it with this
        server as the HTTP proxy)."""
        return f"http://{API_HOST}:{self.port}"

    def endpoints(self) -> dict:
        """A provider entry's `endpoints:` pointing GitHub's side here."""
        return {"device": self.base_url + "/login/device/code", "token": self.base_url + "/login/oauth/access_token",
                "exchange": self.base_url + "/copilot_internal/v2/token",
                "user": self.base_url + "/copilot_internal/user"}

    def queue(self, *replies: Reply | ErrorReply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def answer_with(self, responder) -> None:
        """Answer every generation call the queue does not with `responder(received)`: a
        reply, or None for the echo (for real clients that send side requests)."""
        with self._lock:
            self._responder = responder

    def revoke_copilot_tokens(self) -> None:
        """Every Copilot token issued so far stops working (the API answers 401)."""
        with self._lock:
            for token in self._copilot.values():
                token.revoked = True

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def api_calls(self) -> list[Received]:
        """The generation calls (chat, responses, messages), oldest first."""
        return [r for r in self.received if r.path in API_PATHS]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- internals, called by the handler under no lock --

    def _record(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)

    def _next_reply(self, received: Received, echo: str) -> Reply | ErrorReply:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
            responder = self._responder
        reply = responder(received) if responder else None
        return reply if reply is not None else text(f"echo: {echo}")

    def _start_device(self) -> dict:
        device_code = "dc_" + secrets.token_hex(16)
        with self._lock:
            self._devices[device_code] = {"polls": 0, "interval": 1, "last": 0.0, "slowed": False, "done": False}
        return {"device_code": device_code, "user_code": "MOCK-" + secrets.token_hex(2).upper(),
                "verification_uri": self.base_url + "/login/device", "expires_in": 900, "interval": 1}

    def _poll(self, device_code: str) -> dict:
        with self._lock:
            state = self._devices.get(device_code)
            if state is None or state["done"]:
                return {"error": "incorrect_device_code", "error_description": "The device_code provided is not valid.",
                        "error_uri": "https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow"}
            now = time.monotonic()
            early = state["last"] and now - state["last"] < state["interval"] - 0.5
            state["last"] = now
            state["polls"] += 1
            if early:
                state["interval"] += 5
                return {"error": "slow_down", "error_description": "Too many requests have been made in the same "
                        "timeframe.", "interval": state["interval"]}
            if state["polls"] <= self.pending_polls:
                return {"error": "authorization_pending", "error_description": "The authorization request is still pending."}
            if self.slow_down and not state["slowed"]:
                state["slowed"] = True
                state["interval"] += 5
                return {"error": "slow_down", "error_description": "Too many requests have been made in the same "
                        "timeframe.", "interval": state["interval"]}
            state["done"] = True
            token = "ghu_" + secrets.token_hex(18)
            self.github_tokens.add(token)
            self.issued_github.append(token)
            return {"access_token": token, "token_type": "bearer", "scope": "read:user"}

    def _exchange(self, github: str) -> dict:
        now = int(time.time())
        expires_at = now + self.token_lifetime
        token = (f"tid={secrets.token_hex(16)};exp={expires_at};sku=copilot_pro;proxy-ep=proxy.individual."
                 f"githubcopilot.com;st=dotcom;chat=1;rt=1;8kp=1:{secrets.token_hex(32)}")
        with self._lock:
            self._copilot[token] = CopilotToken(github, expires_at)
            self.exchanges[github] += 1
        return {"token": token, "expires_at": expires_at, "refresh_in": max(self.token_lifetime - 300, 1),
                "annotations_enabled": True, "chat_enabled": True, "sku": "copilot_pro", "tracking_id": "mock",
                "endpoints": {"api": self.api_base, "origin-tracker": "https://origin-tracker.individual.githubcopilot.com",
                              "proxy": "https://proxy.individual.githubcopilot.com",
                              "telemetry": "https://telemetry.individual.githubcopilot.com"}}

    def _copilot_account(self, bearer: str) -> tuple[str | None, str]:
        """(GitHub token, "") for a usable Copilot token, else (None, why)."""
        with self._lock:
            token = self._copilot.get(bearer)
        if token is None:
            return None, "unauthorized: token invalid"
        if token.revoked or token.expires_at <= time.time():
            return None, "unauthorized: token expired"
        return token.github, ""

    def _user(self) -> dict:
        return {"access_type_sku": "plus_monthly_subscriber_quota", "analytics_tracking_id": "mock",
                "assigned_date": "2025-06-01T00:00:00+00:00", "can_signup_for_limited": False, "chat_enabled": True,
                "copilot_plan": self.plan, "organization_login_list": [], "organization_list": [],
                "quota_reset_date": "2027-01-01", "quota_snapshots": {
                    "chat": {"entitlement": 0, "overage_count": 0, "overage_permitted": False, "percent_remaining": 100.0,
                             "quota_id": "chat", "quota_remaining": 0.0, "remaining": 0, "unlimited": True},
                    "completions": {"entitlement": 0, "overage_count": 0, "overage_permitted": False,
                                    "percent_remaining": 100.0, "quota_id": "completions", "quota_remaining": 0.0,
                                    "remaining": 0, "unlimited": True},
                    "premium_interactions": {"entitlement": 1500, "overage_count": 0, "overage_permitted": True,
                                             "percent_remaining": 80.0, "quota_id": "premium_interactions",
                                             "quota_remaining": 1200.0, "remaining": 1200, "unlimited": False}}}


def check_api_headers(headers: dict, billed: bool = True) -> tuple | None:
    """The refusal for an API call without what the API requires, or None. `X-Initiator`
    is required on a generation call (`billed`: it decides the premium-request count);
    on a read such as `GET /models` it may be absent, and when sent it must be valid."""
    if not headers.get("copilot-integration-id"):
        return copilot_error(400, "bad_request", "missing Copilot-Integration-Id header")
    editor = headers.get("editor-version", "")
    if not editor:
        return copilot_error(400, "bad_request", "missing Editor-Version header")
    name, _, version = editor.partition("/")
    if name != "vscode" or _version(version) < MIN_EDITOR:
        return 466, {"content-type": "text/plain"}, (
            "client not supported: bad request: the VS Code version you are using is no longer supported. Please "
            "upgrade VS Code to version 1.109.2+.").encode()
    if not headers.get("editor-plugin-version"):
        return copilot_error(400, "bad_request", "missing Editor-Plugin-Version header")
    if headers.get("x-github-api-version", "") < MIN_API_VERSION:
        return 466, {"content-type": "text/plain"}, (
            "client not supported: bad request: the specified API version is no longer supported").encode()
    initiator = headers.get("x-initiator")
    if (billed or initiator is not None) and initiator not in ("user", "agent"):
        return copilot_error(400, "bad_request", "X-Initiator must be user or agent")
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        pass

    @property
    def mock(self) -> CopilotMock:
        return self.server.mock

    def _begin(self, method: str):
        url = urlsplit(self.path)  # an absolute URL when reached as a proxy
        headers = {k.lower(): v for k, v in self.headers.items()}
        raw = self._read_body() if method == "POST" else b""
        content_type = headers.get("content-type", "")
        if "application/x-www-form-urlencoded" in content_type:
            body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
        host = url.netloc or headers.get("host", "")
        self._received = Received(method, host, url.path, headers, body)
        self.mock._record(self._received)
        return url, headers, body

    def do_GET(self):
        url, headers, _ = self._begin("GET")
        if url.path in ("/copilot_internal/v2/token", "/copilot_internal/user"):
            auth = headers.get("authorization", "")
            github = auth.removeprefix("token ") if auth.startswith("token ") else None
            if github not in self.mock.github_tokens:
                return self._json(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
            self._received.account = github
            if url.path == "/copilot_internal/user":
                return self._json(200, self.mock._user())
            return self._json(200, self.mock._exchange(github))
        if url.path == "/models":
            if not self._api_auth(headers, billed=False):
                return
            return self._json(200, {"object": "list", "data": MODELS})
        return self._json(404, {"message": "Not Found"})

    def do_POST(self):
        url, headers, body = self._begin("POST")
        if url.path == "/login/device/code":
            if not isinstance(body, dict) or body.get("client_id") != CLIENT_ID:
                return self._json(200, {"error": "unauthorized_client", "error_description": "client_id is invalid"})
            if not body.get("scope"):
                return self._json(200, {"error": "invalid_scope", "error_description": "scope is required"})
            return self._json(200, self.mock._start_device())
        if url.path == "/login/oauth/access_token":
            if not isinstance(body, dict) or body.get("client_id") != CLIENT_ID:
                return self._json(200, {"error": "incorrect_client_credentials", "error_description": "bad client"})
            if body.get("grant_type") != DEVICE_GRANT:
                return self._json(200, {"error": "unsupported_grant_type", "error_description": "grant_type"})
            return self._json(200, self.mock._poll(body.get("device_code", "")))
        if url.path in API_PATHS:
            return self._generate(url.path, headers, body)
        return self._json(404, {"message": "Not Found"})

    def _api_auth(self, headers: dict, billed: bool = True) -> bool:
        auth = headers.get("authorization", "")
        github, why = self.mock._copilot_account(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else (
            None, "unauthorized: bearer token required")
        if github is None:
            self._send(*copilot_error(401, "unauthorized", why))
            return False
        self._received.account = github
        refused = check_api_headers(headers, billed)
        if refused:
            self._send(*refused)
            return False
        return True

    def _generate(self, path: str, headers: dict, body) -> None:
        if not self._api_auth(headers):
            return
        if not isinstance(body, dict):
            return self._send(*copilot_error(400, "invalid_request_body", "could not parse the request body"))
        model = next((m for m in MODELS if m["id"] == body.get("model")), None)
        if model is None or model["capabilities"]["type"] != "chat":
            return self._send(*error_body(model_not_supported()))
        if path not in model["supported_endpoints"]:
            return self._send(*copilot_error(400, "unsupported_api_for_model",
                                             f"model {model['id']} is not accessible via the {path} endpoint"))
        try:
            if path == "/chat/completions":
                openai_wire.validate(body)
                echo = openai_wire.last_user_text(body)
            elif path == "/responses":
                responses_wire.validate(body)
                echo = responses_wire.last_user_text(body)
            else:
                if not headers.get("anthropic-version"):
                    raise anthropic_wire.Invalid("anthropic-version: header is required")
                anthropic_wire.validate(body)
                echo = anthropic_wire.last_user_text(body)
        except (openai_wire.Invalid, responses_wire.Invalid, anthropic_wire.Invalid) as e:
            return self._send(*copilot_error(400, "invalid_request_body", str(e)))
        reply = self.mock._next_reply(self._received, echo)
        if isinstance(reply, ErrorReply):
            return self._send(*error_body(reply))
        streamed = bool(body.get("stream"))
        if path == "/chat/completions":
            if streamed:
                usage = bool((body.get("stream_options") or {}).get("include_usage"))
                return self._stream(openai_wire.sse_events(reply, body["model"], usage), reply.pace)
            return self._send(200, {"content-type": "application/json"}, openai_wire.completion_json(reply, body["model"]))
        if path == "/responses":
            if streamed:
                return self._stream(responses_wire.sse_events(reply, body), reply.pace)
            return self._send(200, {"content-type": "application/json"}, responses_wire.response_json(reply, body))
        # Copilot answers Claude's model id with dashes (`claude-sonnet-4-6`).
        answered = body["model"].replace(".", "-")
        if streamed:
            return self._stream(anthropic_wire.sse_events(reply, answered), reply.pace)
        return self._send(200, {"content-type": "application/json"}, anthropic_wire.message_json(reply, answered))

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

    def _json(self, status: int, document: dict) -> None:
        self._send(status, {"content-type": "application/json; charset=utf-8"}, json.dumps(document).encode())

    def _send(self, status: int, headers: dict, body: bytes) -> None:
        self._received.status = status
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _stream(self, frames, pace: float) -> None:
        self._received.status = 200
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
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
            self.close_connection = True
