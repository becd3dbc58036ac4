"""Stories of an error frame inside a 200 stream. Anthropic ends a stream it cannot
finish with an `error` event (`overloaded_error`) while the status stays 200; the
`anthropic` adapter classifies the frame like the 529 it stands for, so the account
rests exactly as after a 529 answer, and the request fails over when nothing reached
the client yet."""

import openai
import pytest

from plugboard_server import provider
from replies import overloaded_mid_stream

MODEL = "stream-error-mock"


@pytest.fixture
def two_providers(launch, mock):
    """`MODEL` served first by an Anthropic account, then by an OpenAI one."""
    server = launch([
        provider("primary", "anthropic", mock, [MODEL]),
        provider("secondary", "openai", mock, [MODEL]),
    ])
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key=server.api_key, max_retries=0, timeout=30), server


def stream_text(client, text):
    stream = client.chat.completions.create(
        model=MODEL, stream=True, messages=[{"role": "user", "content": text}]
    )
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)


def test_an_overloaded_frame_before_any_content_fails_over_and_rests_the_account(two_providers, mock):
    client, server = two_providers
    mock.queue(overloaded_mid_stream(after_events=1))

    assert stream_text(client, "first") == "echo: first"
    assert [(r.dialect, r.status) for r in mock.received] == [("anthropic", 200), ("openai", 200)]

    mock.reset()
    assert stream_text(client, "second") == "echo: second"
    assert [r.dialect for r in mock.received] == ["openai"], "the account that sent the frame rests"
    assert "overloaded" in server.log_text().lower()


def test_on_native_passthrough_the_frame_rests_the_account_too(launch, mock):
    """An Anthropic client to the `anthropic` adapter goes through byte passthrough; the
    adapter still reads the `overloaded_error` frame's class, so the account rests and
    the next request goes to the other account."""
    import anthropic

    server = launch([
        provider("primary", "anthropic", mock, [MODEL]),
        provider("secondary", "anthropic", mock, [MODEL]),
    ])
    client = anthropic.Anthropic(base_url=server.base_url, api_key=server.api_key, max_retries=0, timeout=30)
    mock.queue(overloaded_mid_stream(after_events=1))

    def stream(text):
        with client.messages.stream(
            model=MODEL, max_tokens=32, messages=[{"role": "user", "content": text}]
        ) as events:
            return events.get_final_text()

    try:
        first = stream("first")
    except anthropic.APIStatusError as error:  # the frame came after the client's first bytes
        first = f"error: {error}"
    assert "echo: first" in first or "overloaded" in first.lower(), first
    mock.reset()
    assert stream("second") == "echo: second"
    assert len(mock.received) == 1
    requests = [line for line in server.log_text().splitlines() if 'method="POST"' in line]
    assert 'provider="secondary"' in requests[-1], "the account that sent the frame rests"
    assert "overloaded" in server.log_text().lower()
