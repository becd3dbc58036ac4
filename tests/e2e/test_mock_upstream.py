"""The scripted upstream is itself tested first: if it did not behave like the real
APIs, every other story in this suite would prove nothing. These talk to the mock
directly, without Plugboard in between."""

import json

import httpx
import openai
import pytest

from mock_upstream import ANTHROPIC_KEY, OPENAI_KEY
from replies import overloaded, rate_limited, text, thinking_then_text, tool_call

ANTHROPIC_HEADERS = {"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}


def sse_events(body: str) -> list[tuple[str, dict]]:
    """(event name, data) pairs of an Anthropic SSE body."""
    events = []
    for frame in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_the_official_openai_sdk_accepts_the_mock_as_openai(mock):
    client = openai.OpenAI(base_url=mock.base_url + "/v1", api_key=OPENAI_KEY, max_retries=0)
    mock.queue(text("Hello there."))
    plain = client.chat.completions.create(model="gpt-mock", messages=[{"role": "user", "content": "hi"}])
    assert plain.choices[0].message.content == "Hello there."
    assert plain.usage.prompt_tokens == 17

    mock.queue(tool_call("get_weather", {"city": "Paris"}))
    stream = client.chat.completions.create(
        model="gpt-mock", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "weather?"}],
        tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
    )
    chunks = list(stream)
    arguments = "".join(c.choices[0].delta.tool_calls[0].function.arguments or "" for c in chunks if c.choices and c.choices[0].delta.tool_calls)
    assert json.loads(arguments) == {"city": "Paris"}
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]
    assert chunks[-1].usage.completion_tokens == 5
    assert mock.last().headers["authorization"] == f"Bearer {OPENAI_KEY}"


def test_the_mock_refuses_a_wrong_openai_key_like_the_real_api(mock):
    client = openai.OpenAI(base_url=mock.base_url + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        client.chat.completions.create(model="gpt-mock", messages=[{"role": "user", "content": "hi"}])
    assert refused.value.body["code"] == "invalid_api_key"


def test_the_mock_refuses_an_anthropic_body_sent_to_openai(mock):
    response = httpx.post(
        mock.base_url + "/v1/chat/completions",
        headers={"authorization": f"Bearer {OPENAI_KEY}"},
        json={"model": "gpt-mock", "max_tokens": 10, "system": "be brief", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "system"


def test_the_mock_streams_anthropic_sse_with_event_lines(mock):
    mock.queue(thinking_then_text("Let me think.", "Sunny.", signature="sig-1"))
    response = httpx.post(
        mock.base_url + "/v1/messages", headers=ANTHROPIC_HEADERS,
        json={"model": "claude-mock", "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": "weather?"}]},
    )
    assert response.status_code == 200
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert "ping" in names
    deltas = [data["delta"] for name, data in events if name == "content_block_delta"]
    assert "".join(d.get("thinking", "") for d in deltas) == "Let me think."
    assert {"type": "signature_delta", "signature": "sig-1"} in deltas
    assert "".join(d.get("text", "") for d in deltas) == "Sunny."
    assert events[-2][1]["delta"]["stop_reason"] == "end_turn"


def test_the_mock_streams_anthropic_tool_input_as_json_deltas(mock):
    mock.queue(tool_call("get_weather", {"city": "Paris"}))
    response = httpx.post(
        mock.base_url + "/v1/messages", headers=ANTHROPIC_HEADERS,
        json={"model": "claude-mock", "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": "weather?"}]},
    )
    events = sse_events(response.text)
    start = next(data for name, data in events if name == "content_block_start")
    assert start["content_block"]["name"] == "get_weather"
    partial = "".join(data["delta"]["partial_json"] for name, data in events if name == "content_block_delta")
    assert json.loads(partial) == {"city": "Paris"}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_the_mock_holds_anthropic_requests_to_the_real_rules(mock):
    def post(body, headers=ANTHROPIC_HEADERS):
        return httpx.post(mock.base_url + "/v1/messages", headers=headers, json=body)

    wrong_key = post({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}, {"x-api-key": "nope", "anthropic-version": "2023-06-01"})
    assert wrong_key.status_code == 401
    assert wrong_key.json() == {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}

    no_max_tokens = post({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert no_max_tokens.status_code == 400

    system_in_messages = post({"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}, {"role": "user", "content": "hi"}]})
    assert system_in_messages.status_code == 400

    unanswered_tool_use = post({"model": "m", "max_tokens": 5, "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]},
        {"role": "user", "content": "and?"},
    ]})
    assert unanswered_tool_use.status_code == 400
    assert "tool_result" in unanswered_tool_use.json()["error"]["message"]


def test_the_mock_plays_queued_errors_then_falls_back_to_echo(mock):
    mock.queue(rate_limited(retry_after=3), overloaded())
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "ping"}]}
    limited = httpx.post(mock.base_url + "/v1/messages", headers=ANTHROPIC_HEADERS, json=body)
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "3")
    assert limited.json()["error"]["type"] == "rate_limit_error"
    busy = httpx.post(mock.base_url + "/v1/messages", headers=ANTHROPIC_HEADERS, json=body)
    assert (busy.status_code, busy.json()["error"]["type"]) == (529, "overloaded_error")
    echoed = httpx.post(mock.base_url + "/v1/messages", headers=ANTHROPIC_HEADERS, json=body)
    assert echoed.json()["content"] == [{"type": "text", "text": "echo: ping"}]
    assert [r.status for r in mock.received] == [429, 529, 200]
