"""Cloud Code Assist (`v1internal`, what Gemini CLI and Antigravity accounts use) as the
mock upstream speaks it: `POST /v1internal:generateContent` and
`POST /v1internal:streamGenerateContent?alt=sse`, strict the way the real one is
(facts: shared/providers/mainline-subscriptions.md §3.3-3.4, §4.4, §4.7).

It refuses, with Google's error shape:
- no bearer token, or one it did not issue (`TOKENS`): 401 UNAUTHENTICATED;
- a body that is not the envelope `{"model", "project", "request": {...}}`: a bare
  Gemini body (`contents` at the top) or any unknown top-level field is a 400
  "Unknown name"; no `project` is a 400; a project the token may not use is a 403
  PERMISSION_DENIED;
- then everything the Gemini API refuses in `request` (`gemini_wire.validate`).

It answers in the envelope: one `{"response": GenerateContentResponse, "traceId"}`, or
SSE whose every `data:` line is `{"response": chunk, "traceId"}`. Errors: `rate_limit`
is a 429 RESOURCE_EXHAUSTED with ErrorInfo `RATE_LIMIT_EXCEEDED` and RetryInfo,
`quota_exhausted` the same with `QUOTA_EXHAUSTED` (a spent account), `overloaded` a 503
"No capacity available".
"""

from __future__ import annotations

import json
import re

import gemini_wire
from replies import ErrorReply, Reply, next_id

PATH = re.compile(r"^/v1internal:(generateContent|streamGenerateContent)$")

# Access tokens the mock issued, and the project each may bill to.
TOKENS = {
    "ya29.code-assist-A-0123456789": "proj-gemini-cli-a",
    "ya29.code-assist-B-0123456789": "proj-gemini-cli-b",
}

# Top-level envelope fields: Gemini CLI's, and Antigravity's additions.
ENVELOPE_FIELDS = {"model", "project", "request", "user_prompt_id", "requestType", "requestId", "userAgent",
                   "enabledCreditTypes"}


def _error(status: int, name: str, message: str, details: list | None = None) -> tuple:
    error = {"code": status, "message": message, "status": name}
    if details:
        error["details"] = details
    return status, {"content-type": "application/json; charset=UTF-8"}, json.dumps({"error": error}).encode()


def check(headers: dict, body) -> tuple | None:
    """The refusal (status, headers, body) for a request the real service would not
    serve, or None."""
    auth = headers.get("authorization", "")
    project = TOKENS.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
    if project is None:
        return _error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access "
                      "token, login cookie or other valid authentication credential.")
    if not isinstance(body, dict):
        return _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
    for key in body:
        if key not in ENVELOPE_FIELDS:
            return _error(400, "INVALID_ARGUMENT", f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.')
    if not body.get("model"):
        return _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument: model is required.")
    if not body.get("project"):
        return _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument: project is required.")
    if body["project"] != project:
        return _error(403, "PERMISSION_DENIED", f"Permission denied on resource project {body['project']}.")
    if not isinstance(body.get("request"), dict):
        return _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument: request is required.")
    try:
        gemini_wire.validate(body["request"])
    except gemini_wire.Invalid as e:
        return _error(400, "INVALID_ARGUMENT", str(e))
    return None


def rate_limited(retry_delay: str = "0.847655010s") -> ErrorReply:
    """A short rate limit: 429 `RATE_LIMIT_EXCEEDED` with `RetryInfo.retryDelay`."""
    return ErrorReply(429, "rate_limit", "Resource has been exhausted (e.g. check quota).", headers={"retry-delay": retry_delay})


def quota_exhausted(retry_delay: str = "3600s") -> ErrorReply:
    """The account's quota is spent: 429 `QUOTA_EXHAUSTED` with `RetryInfo.retryDelay`."""
    return ErrorReply(429, "quota_exhausted", "You have exhausted your capacity on this model. Your quota will reset "
                      "after 1h0m0s.", headers={"retry-delay": retry_delay})


def error_body(reply: ErrorReply, model: str) -> tuple:
    """(status, headers, body) of a failed answer."""
    if reply.kind in ("rate_limit", "quota_exhausted"):
        delay = reply.headers.get("retry-delay", f"{reply.retry_after or 1}s")
        reason = "RATE_LIMIT_EXCEEDED" if reply.kind == "rate_limit" else "QUOTA_EXHAUSTED"
        return _error(429, "RESOURCE_EXHAUSTED", reply.message, [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
             "domain": "cloudcode-pa.googleapis.com", "metadata": {"model": model, "quotaResetDelay": delay}},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay},
        ])
    if reply.kind == "overloaded":
        return _error(503, "UNAVAILABLE", f"No capacity available for model {model} on the server")
    if reply.kind == "authentication":
        return _error(401, "UNAUTHENTICATED", reply.message)
    return _error(reply.status, "INTERNAL" if reply.status >= 500 else "INVALID_ARGUMENT", reply.message)


def response_json(reply: Reply, model: str) -> bytes:
    """A complete answer in the envelope."""
    inner = json.loads(gemini_wire.response_json(reply, model))
    return json.dumps({"response": inner, "traceId": next_id("trace-")}).encode()


def sse_events(reply: Reply, model: str):
    """`alt=sse`: each Gemini chunk in the envelope."""
    trace = next_id("trace-")
    for frame in gemini_wire.sse_events(reply, model):
        chunk = json.loads(frame.decode().removeprefix("data: "))
        yield f"data: {json.dumps({'response': chunk, 'traceId': trace})}\r\n\r\n".encode()
