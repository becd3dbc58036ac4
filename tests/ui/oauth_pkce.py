"""A scripted OAuth 2.0 authorization server with PKCE, for the `test-oauth` component's
`pkce` login (client `test-oauth-client`), strict the way claude.ai's and
auth.openai.com's are, and with a page a person approves:

- `GET /authorize`: the client, `response_type=code`, a `state`, and `code_challenge`
  with `code_challenge_method=S256` are required (else a 400 page, never a redirect);
  answers an HTML page "… wants to access your account" with an "Approve" button;
- `POST /authorize`: the approval; 302 to the `redirect_uri` with `code` and `state`;
- `POST /token` (form): `authorization_code` (the code single use, the same client and
  redirect URI, `code_verifier` whose S256 is the challenge) and `refresh_token`; answers
  an access token, a refresh token, `expires_in` and an unsigned id token with an email.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

CLIENT_ID = "test-oauth-client"
EMAIL = "person@example.com"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def id_token(email: str) -> str:
    """An unsigned JWT carrying the account's email."""
    return ".".join([b64url(b'{"alg":"none","typ":"JWT"}'), b64url(json.dumps({"email": email}).encode()),
                     "mock-signature"])


class ScriptedOAuth:
    """The server; `endpoints()` is a `test-oauth` entry's `endpoints:`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.codes: dict[str, dict] = {}
        self.issued_access: list[str] = []
        self.refresh_tokens: set[str] = set()
        self.approvals = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.oauth = self
        threading.Thread(target=self._server.serve_forever, name="scripted-oauth", daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def endpoints(self) -> dict:
        return {"base": self.base_url + "/api", "authorize": self.base_url + "/authorize",
                "token": self.base_url + "/token", "device": self.base_url + "/device/code",
                "exchange": self.base_url + "/exchange"}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _tokens(self) -> dict:
        access, refresh = "mock-at-" + secrets.token_hex(12), "mock-rt-" + secrets.token_hex(12)
        with self._lock:
            self.issued_access.append(access)
            self.refresh_tokens.add(refresh)
        return {"access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": refresh,
                "id_token": id_token(EMAIL)}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        pass

    @property
    def oauth(self) -> ScriptedOAuth:
        return self.server.oauth

    def _form(self) -> dict:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
        return {k: v[0] for k, v in parse_qs(raw).items()}

    def _request_problem(self, p: dict) -> str | None:
        if p.get("client_id") != CLIENT_ID:
            return "invalid_client: unknown client_id"
        if p.get("response_type") != "code":
            return "unsupported_response_type"
        if not p.get("state"):
            return "invalid_request: state missing"
        if not p.get("code_challenge") or p.get("code_challenge_method") != "S256":
            return "invalid_request: PKCE S256 required"
        if not p.get("redirect_uri", "").startswith("http://127.0.0.1:"):
            return "invalid_request: redirect_uri not registered"
        return None

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path != "/authorize":
            return self._send(404, "text/plain", b"not found")
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        problem = self._request_problem(params)
        if problem:
            return self._send(400, "text/plain", problem.encode())
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in params.items())
        page = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>Authorize (scripted)</title></head>"
                f"<body><main><h1>Plugboard wants to access your account</h1><p>Signed in as {EMAIL}.</p>"
                f'<form method="post" action="/authorize">{hidden}<button type="submit">Approve</button></form>'
                f"</main></body></html>")
        return self._send(200, "text/html; charset=utf-8", page.encode())

    def do_POST(self):
        path = urlsplit(self.path).path
        form = self._form()
        if path == "/authorize":
            problem = self._request_problem(form)
            if problem:
                return self._send(400, "text/plain", problem.encode())
            code = "mock-code-" + secrets.token_hex(8)
            with self.oauth._lock:
                self.oauth.codes[code] = {"redirect_uri": form["redirect_uri"], "challenge": form["code_challenge"],
                                          "used": False}
                self.oauth.approvals += 1
            target = form["redirect_uri"] + "?" + urlencode({"code": code, "state": form["state"]})
            self.send_response(302)
            self.send_header("location", target)
            self.send_header("content-length", "0")
            self.end_headers()
            return None
        if path != "/token":
            return self._send(404, "text/plain", b"not found")
        if form.get("client_id") != CLIENT_ID:
            return self._error(401, "invalid_client", "client authentication failed")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            with self.oauth._lock:
                issued = self.oauth.codes.get(form.get("code", ""))
                if issued is None or issued["used"]:
                    return self._error(400, "invalid_grant", "unknown or used code")
                issued["used"] = True
            if issued["redirect_uri"] != form.get("redirect_uri"):
                return self._error(400, "invalid_grant", "redirect_uri differs from the authorization request")
            verifier = form.get("code_verifier", "")
            if b64url(hashlib.sha256(verifier.encode()).digest()) != issued["challenge"]:
                return self._error(400, "invalid_grant", "code_verifier does not match the challenge")
            return self._json(200, self.oauth._tokens())
        if grant == "refresh_token":
            with self.oauth._lock:
                known = form.get("refresh_token") in self.oauth.refresh_tokens
                self.oauth.refresh_tokens.discard(form.get("refresh_token"))
            if not known:
                return self._error(400, "invalid_grant", "unknown refresh token")
            return self._json(200, self.oauth._tokens())
        return self._error(400, "unsupported_grant_type", str(grant))

    def _error(self, status: int, code: str, description: str) -> None:
        self._json(status, {"error": code, "error_description": description})

    def _json(self, status: int, document: dict) -> None:
        self._send(status, "application/json", json.dumps(document).encode())

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
