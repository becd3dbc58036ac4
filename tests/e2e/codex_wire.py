"""The ChatGPT Codex backend as the mock upstream speaks it
(`POST /backend-api/codex/responses`), strict the way the real one is
(facts: shared/providers/mainline-subscriptions.md §1.5-1.9).

It refuses, with bodies shaped like the real ones:
- no bearer token, or one it did not issue (`TOKENS`): 401;
- no `chatgpt-account-id` header: 400; one that is not the token's account: 401;
- a body that does not stream (`stream` not true): 400 "Stream must be set to true";
- a body that stores (`store` not false): 400 "Store must be set to false";
- `instructions` missing (it may be empty), `input` not a list;
- any field the backend does not take (`temperature`, `max_output_tokens`, ...):
  400 "Unsupported parameter: <field>"; `service_tier` other than `priority`;
- `web_search_preview*` tools (the backend knows `web_search`), `system` input messages
  (Codex clients send `developer`; the strictest reading of what peers do);
- then everything the Responses API itself refuses (`responses_wire.validate`), among it
  a reasoning item sent back without the `encrypted_content` it was given.

It answers Responses SSE only (`response.created` ... `response.completed` with usage; a
`function_call` item for tool calls), and can be told to answer the usage limit (HTTP
429 `usage_limit_reached` with `resets_in_seconds`/`resets_at`) or to fail inside the
200 stream with `response.failed`.
"""

from __future__ import annotations

import json
import time

import responses_wire
from replies import ErrorReply, Reply

# The path under the mock's root; the provider entry's `base` is `<mock>/backend-api/codex`.
PATH = "/backend-api/codex/responses"

# Access tokens the mock issued, and the ChatGPT account each belongs to.
TOKENS = {
    "codex-access-token-A-0123456789": "acct-codex-A",
    "codex-access-token-B-0123456789": "acct-codex-B",
}

# Top-level fields the backend refuses outright.
REFUSED_FIELDS = [
    "max_output_tokens", "max_completion_tokens", "temperature", "top_p", "truncation",
    "prompt_cache_options", "prompt_cache_retention", "user", "context_management",
    "previous_response_id", "generate", "safety_identifier", "stream_options",
]


def _detail(status: int, message: str) -> tuple:
    """The backend's plain refusal shape: `{"detail": "..."}`."""
    return status, {"content-type": "application/json"}, json.dumps({"detail": message}).encode()


def check(headers: dict, body) -> tuple | None:
    """The refusal (status, headers, body) for a request the real backend would not
    serve, or None."""
    auth = headers.get("authorization", "")
    if not auth.startswith("Bearer "):
        return 401, {"content-type": "application/json"}, json.dumps({"error": {
            "message": "Missing bearer or basic authentication in header",
            "type": "invalid_request_error", "param": None, "code": None}}).encode()
    account = TOKENS.get(auth[len("Bearer "):])
    if account is None:
        return 401, {"content-type": "application/json"}, json.dumps({"error": {
            "message": "Provided authentication token is expired. Please try signing in again.",
            "type": "invalid_request_error", "param": None, "code": "token_expired"}}).encode()
    sent = headers.get("chatgpt-account-id")
    if not sent:
        return _detail(400, "Missing chatgpt-account-id header")
    if sent != account:
        return _detail(401, "The chatgpt-account-id does not match the authenticated user")
    if not isinstance(body, dict):
        return _detail(400, "Invalid JSON body")
    if body.get("stream") is not True:
        return _detail(400, "Stream must be set to true")
    if body.get("store") is not False:
        return _detail(400, "Store must be set to false")
    for field in REFUSED_FIELDS:
        if field in body:
            return _detail(400, f"Unsupported parameter: {field}")
    if "service_tier" in body and body["service_tier"] != "priority":
        return _detail(400, f"Unsupported service_tier: {body['service_tier']}")
    if not isinstance(body.get("instructions"), str):
        return _detail(400, "Instructions are required")
    if not isinstance(body.get("input"), list):
        return _detail(400, "Input must be a list")
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and str(tool.get("type", "")).startswith("web_search_preview"):
            return _detail(400, f"Unsupported tool type: {tool['type']}")
    for item in body["input"]:
        if isinstance(item, dict) and item.get("type", "message") == "message" and item.get("role") == "system":
            return _detail(400, "System messages are not allowed")
    try:
        responses_wire.validate(body)
    except responses_wire.Invalid as e:
        return _detail(400, str(e))
    return None


def usage_limit(resets_in_seconds: int = 3600, with_resets_at: bool = True) -> ErrorReply:
    """The plan's usage limit: HTTP 429 `usage_limit_reached` (its reset in
    `retry_after`, rendered as `resets_in_seconds` and `resets_at`)."""
    kind = "usage_limit" if with_resets_at else "usage_limit_in"
    return ErrorReply(429, kind, "The usage limit has been reached", resets_in_seconds)


def failed_mid_stream(code: str = "server_is_overloaded", after_events: int = 1) -> Reply:
    """A 200 stream that ends with `response.failed` (error `code`) after `after_events`
    events."""
    error = ErrorReply(200, code, "Our servers are currently overloaded. Please try again later.")
    return Reply([], stream_error=error, error_after_events=after_events)


def _error_object(reply: ErrorReply) -> dict:
    if reply.kind.startswith("usage_limit"):
        error = {"type": "usage_limit_reached", "message": reply.message, "plan_type": "plus",
                 "resets_in_seconds": reply.retry_after}
        if reply.kind == "usage_limit":
            error["resets_at"] = int(time.time()) + (reply.retry_after or 0)
        return error
    kinds = {"rate_limit": "rate_limit_exceeded", "overloaded": "server_is_overloaded",
             "server": "server_error", "authentication": "invalid_api_key"}
    return {"type": kinds.get(reply.kind, reply.kind), "code": kinds.get(reply.kind, reply.kind),
            "message": reply.message}


def error_body(reply: ErrorReply) -> tuple:
    """(status, headers, body) of a failed answer."""
    headers = {"content-type": "application/json"}
    if reply.retry_after is not None and not reply.kind.startswith("usage_limit"):
        headers["retry-after"] = str(reply.retry_after)
    return reply.status, headers, json.dumps({"error": _error_object(reply)}).encode()


def sse_events(reply: Reply, body: dict):
    """The Responses SSE of `reply`; with a `stream_error`, the first
    `error_after_events` events and then `response.failed`."""
    if reply.stream_error is None:
        yield from responses_wire.sse_events(reply, body)
        return
    events = list(responses_wire.sse_events(reply, body))[: reply.error_after_events]
    yield from events
    failed = {"type": "response.failed", "sequence_number": len(events), "response": {
        "id": "resp_failed_mock", "object": "response", "status": "failed", "model": body["model"],
        "output": [], "usage": None, "error": _error_object(reply.stream_error)}}
    yield f"event: response.failed\ndata: {json.dumps(failed)}\n\n".encode()
