"""The scripted GitHub of `tests/e2e/copilot_wire.py`, with the one thing a browser story
needs that the CLI stories did not: a person's approval. Its verification page
(`GET /login/device`) is a small HTML form where the user types the code the page showed
and presses "Authorize"; until then every device poll answers `authorization_pending`,
as GitHub does. Everything else (the device endpoints' strictness, the token exchange,
the Copilot API) is `copilot_wire`'s, reused as it is.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs

import copilot_wire
from copilot_wire import CopilotMock

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Device activation (scripted GitHub)</title></head>
<body><main>
<h1>Device activation</h1>
{message}
<form method="post" action="/login/device">
<label>Enter the code displayed on your device <input name="user_code" autocomplete="off"></label>
<button type="submit">Authorize</button>
</form>
</main></body></html>
"""


class ApprovingCopilotMock(CopilotMock):
    """`CopilotMock` whose device logins wait for an approval on its verification page
    (or `approve(user_code)`)."""

    def __init__(self, **settings) -> None:
        settings.setdefault("pending_polls", 0)
        settings.setdefault("slow_down", False)
        super().__init__(**settings)
        self._codes: dict[str, str] = {}  # user code -> device code
        self.approved: set[str] = set()  # device codes
        self._server.RequestHandlerClass = _Handler

    def _start_device(self) -> dict:
        started = super()._start_device()
        with self._lock:
            self._codes[started["user_code"]] = started["device_code"]
        return started

    def approve(self, user_code: str) -> bool:
        """The person approved `user_code`; False for a code this server never issued."""
        with self._lock:
            device = self._codes.get(user_code.strip().upper())
            if device is None:
                return False
            self.approved.add(device)
            return True

    def _poll(self, device_code: str) -> dict:
        with self._lock:
            waiting = device_code in self._codes.values() and device_code not in self.approved
        if waiting:
            return {"error": "authorization_pending", "error_description": "The authorization request is still pending."}
        return super()._poll(device_code)


class _Handler(copilot_wire._Handler):
    """copilot_wire's handler, plus the verification page."""

    def do_GET(self):
        if self.path.split("?")[0] == "/login/device":
            self._begin("GET")
            return self._page(200, "")
        return super().do_GET()

    def do_POST(self):
        if self.path.split("?")[0] == "/login/device":
            raw = self._read_body()
            code = parse_qs(raw.decode()).get("user_code", [""])[0]
            self._received = copilot_wire.Received("POST", self.headers.get("host", ""), "/login/device",
                                                   {k.lower(): v for k, v in self.headers.items()}, {"user_code": code})
            self.mock._record(self._received)
            if self.mock.approve(code):
                return self._page(200, f"<p role=status>Device {html.escape(code)} authorized. "
                                       "You may close this tab.</p>")
            return self._page(400, f"<p role=alert>No pending login has the code {html.escape(code)}.</p>")
        return super().do_POST()

    def _page(self, status: int, message: str) -> None:
        self._send(status, {"content-type": "text/html; charset=utf-8"}, PAGE.format(message=message).encode())
