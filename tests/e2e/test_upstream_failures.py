"""Stories of upstream failures: the adapter classifies them, and routing decides. A rate
limited provider is cooled down and the next provider serving the model takes over; a
request the upstream calls malformed goes back to the client at once, untried elsewhere."""

import openai
import pytest

from plugboard_server import provider
from replies import ErrorReply, overloaded, rate_limited

MODEL = "shared-mock"


@pytest.fixture
def two_providers(launch, mock):
    """`MODEL` served first by an Anthropic account, then by an OpenAI one (failover)."""
    server = launch([
        provider("primary", "anthropic", mock, [MODEL]),
        provider("secondary", "openai", mock, [MODEL]),
    ])
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key=server.api_key, max_retries=0, timeout=30)


def ask(client, text="hi"):
    return client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": text}])


def test_a_rate_limited_provider_fails_over_and_then_cools_down(two_providers, mock):
    mock.queue(rate_limited(retry_after=60))

    first = ask(two_providers, "first")
    assert first.choices[0].message.content == "echo: first"
    assert [(r.dialect, r.status) for r in mock.received] == [("anthropic", 429), ("openai", 200)]

    mock.reset()
    second = ask(two_providers, "second")
    assert second.choices[0].message.content == "echo: second"
    assert [r.dialect for r in mock.received] == ["openai"], "the cooling provider is skipped"


def test_an_overloaded_provider_fails_over(two_providers, mock):
    mock.queue(overloaded())

    answer = ask(two_providers)
    assert answer.choices[0].message.content == "echo: hi"
    assert [(r.dialect, r.status) for r in mock.received] == [("anthropic", 529), ("openai", 200)]


def test_a_request_the_upstream_refuses_is_not_retried_elsewhere(two_providers, mock):
    mock.queue(ErrorReply(400, "invalid_request", "messages.0.content: text content blocks must be non-empty (mock)"))

    with pytest.raises(openai.BadRequestError) as refused:
        ask(two_providers)
    assert "text content blocks must be non-empty" in refused.value.message
    assert [(r.dialect, r.status) for r in mock.received] == [("anthropic", 400)]
