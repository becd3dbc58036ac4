"""Stories of a Claude Pro/Max subscription running out of its usage window. The real
API answers such a request with a 429 `rate_limit_error` whose
`anthropic-ratelimit-unified-*` headers say which window (5 h, 7 d, 7 d other) is
`rejected` and when it resets. Plugboard rests the account until that reset (capped by
`retry.max-retry-after-s`), not for the few seconds of `Retry-After`: the request fails
over to the next account, and later requests skip the spent one without calling it."""

import re
import time

import anthropic
import pytest

from anthropic_wire import API_KEY, OAUTH_TOKEN
from plugboard_server import provider
from replies import ErrorReply

MODEL = "claude-limits-1"
TWO_HOURS = 2 * 3600


def window_spent(reset_in_s: float) -> ErrorReply:
    """The 429 of a subscription whose 5 h window is spent, resetting in `reset_in_s`
    (unix seconds, as the real API sends them), with a short Retry-After that must not
    be what the account rests for."""
    reset = f"{time.time() + reset_in_s:.3f}"
    return ErrorReply(
        429, "rate_limit", "This request would exceed your account's rate limit. Please try again later.",
        retry_after=5,
        headers={
            "anthropic-ratelimit-unified-status": "rejected",
            "anthropic-ratelimit-unified-5h-status": "rejected",
            "anthropic-ratelimit-unified-5h-reset": reset,
            "anthropic-ratelimit-unified-7d-status": "allowed",
            "anthropic-ratelimit-unified-7d-reset": f"{time.time() + 5 * 86400:.0f}",
            "anthropic-ratelimit-unified-reset": reset,
            "anthropic-ratelimit-unified-representative-claim": "five_hour",
        },
    )


def ask(client, text):
    return client.messages.create(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": text}])


def rest_of(log: str, account: str) -> float:
    """The `rest_s` the log gives for `account` (the last time it rested)."""
    rests = [
        float(m.group(1))
        for line in log.splitlines()
        if "account resting" in line and account in line
        for m in [re.search(r"rest_s=([0-9.]+)", line)]
        if m
    ]
    assert rests, f"no rest logged for {account}:\n{log}"
    return rests[-1]


def subscription_then_key(launch, mock, **settings):
    """One entry: the subscription `max-a` first in rotation, then the API key `team-b`."""
    server = launch(
        [provider("claude", "anthropic", mock, [MODEL], **{
            "api-keys": [],
            "accounts": [
                {"name": "max-a", "kind": "claude-oauth", "secret": OAUTH_TOKEN},
                {"name": "team-b", "kind": "api-key", "secret": API_KEY},
            ],
        })],
        **settings,
    )
    client = anthropic.Anthropic(base_url=server.base_url, api_key=server.api_key, max_retries=0, timeout=30)
    return server, client


def test_a_spent_window_fails_over_and_rests_the_subscription_until_its_reset(launch, mock):
    server, client = subscription_then_key(launch, mock)
    mock.queue(window_spent(TWO_HOURS))

    first = ask(client, "first")
    later = [ask(client, f"later {i}") for i in range(3)]

    assert first.content[0].text == "echo: first"
    assert [r.content[0].text for r in later] == ["echo: later 0", "echo: later 1", "echo: later 2"]
    refused, *served = mock.received
    assert refused.status == 429 and refused.headers["authorization"] == f"Bearer {OAUTH_TOKEN}"
    assert len(served) == 4
    assert all(r.headers.get("x-api-key") == API_KEY and "authorization" not in r.headers for r in served), \
        "once refused, the subscription is skipped: every later request goes to the key"
    rest = rest_of(server.log_text(), "claude:max-a")
    assert TWO_HOURS - 120 < rest <= TWO_HOURS + 1, f"rests until the reset, not Retry-After's 5 s: {rest}"
    assert "out of quota" in server.log_text()
    assert OAUTH_TOKEN not in server.log_text()


def test_the_rest_is_capped_by_max_retry_after_and_the_next_request_says_so(launch, mock):
    server = launch(
        [provider("claude", "anthropic", mock, [MODEL], **{
            "api-keys": [], "accounts": [{"name": "max-a", "kind": "claude-oauth", "secret": OAUTH_TOKEN}],
        })],
        retry={"max-retry-after-s": 3600},
    )
    client = anthropic.Anthropic(base_url=server.base_url, api_key=server.api_key, max_retries=0, timeout=30)
    mock.queue(window_spent(TWO_HOURS))

    with pytest.raises(anthropic.RateLimitError):
        ask(client, "spent")
    with pytest.raises(anthropic.RateLimitError) as resting:
        ask(client, "again")

    assert len(mock.received) == 1, "the resting account is not called again"
    message = resting.value.message
    assert "every account serving" in message and "out of quota" in message, message
    retry_after = int(resting.value.response.headers["retry-after"])
    assert 3500 < retry_after <= 3600, f"capped at retry.max-retry-after-s: {retry_after}"
    assert "longer than retry.max-retry-after-s" in server.log_text()
    assert 3599 <= rest_of(server.log_text(), "claude:max-a") <= 3600
