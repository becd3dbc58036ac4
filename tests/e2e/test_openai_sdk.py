"""Stories of the official `openai` Python SDK talking to Plugboard, each told twice:
once served by the `anthropic` adapter, once by the `openai` adapter. Each checks what
the client saw AND what the upstream received."""

import json
import time

import pytest

from conftest import CLAUDE_MODEL, GPT_MODEL
from mock_upstream import ANTHROPIC_KEY, OPENAI_KEY, joined_text
from plugboard_server import CLIENT_KEY
from replies import text, thinking_then_text, tool_call

ROUTES = [pytest.param(CLAUDE_MODEL, id="anthropic-adapter"), pytest.param(GPT_MODEL, id="openai-adapter")]

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def assert_upstream_is_authenticated_with_its_own_key(received):
    """The upstream gets the provider's key, never the client's key for Plugboard."""
    if received.dialect == "anthropic":
        assert received.headers["x-api-key"] == ANTHROPIC_KEY
        assert received.headers.get("anthropic-version")
    else:
        assert received.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert all(CLIENT_KEY not in value for value in received.headers.values())


@pytest.mark.parametrize("model", ROUTES)
def test_a_plain_completion_comes_back_and_the_upstream_got_its_own_dialect(client, mock, model):
    mock.queue(text("Paris.", input_tokens=21, output_tokens=3))

    answer = client.chat.completions.create(
        model=model,
        messages=[{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Capital of France?"}],
    )

    assert answer.choices[0].message.content == "Paris."
    assert answer.choices[0].finish_reason == "stop"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (21, 3)

    received = mock.last()
    assert_upstream_is_authenticated_with_its_own_key(received)
    body = received.body
    assert body["model"] == model
    if received.dialect == "anthropic":
        assert received.path == "/v1/messages"
        # System hoisted out of the conversation; max_tokens always set (the API requires it).
        assert joined_text(body["system"]) == "You are terse."
        assert [m["role"] for m in body["messages"]] == ["user"]
        assert joined_text(body["messages"][0]["content"]) == "Capital of France?"
        assert isinstance(body["max_tokens"], int) and body["max_tokens"] > 0
    else:
        assert received.path == "/v1/chat/completions"
        assert [(m["role"], joined_text(m["content"])) for m in body["messages"]] == [
            ("system", "You are terse."), ("user", "Capital of France?"),
        ]


@pytest.mark.parametrize("model", ROUTES)
def test_a_streamed_completion_arrives_piece_by_piece_with_usage_at_the_end(client, mock, model):
    sentence = "The sky is clear over Paris today."
    mock.queue(thinking_then_text("The user wants weather.", sentence, input_tokens=30, output_tokens=9, pace=0.04))

    started = time.monotonic()
    arrivals = []
    chunks = []
    stream = client.chat.completions.create(
        model=model, stream=True, stream_options={"include_usage": True}, max_completion_tokens=77,
        messages=[{"role": "user", "content": "How is the sky in Paris?"}],
    )
    for chunk in stream:
        chunks.append(chunk)
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic() - started)

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == sentence
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None, "include_usage asks for a final usage chunk"
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (30, 9)
    # Text is forwarded as the upstream produces it, not buffered to the end.
    assert len(arrivals) > 1 and arrivals[-1] - arrivals[0] > 0.15, arrivals

    received = mock.last()
    assert_upstream_is_authenticated_with_its_own_key(received)
    body = received.body
    if received.dialect == "anthropic":
        assert body["max_tokens"] == 77
    else:
        assert 77 in (body.get("max_tokens"), body.get("max_completion_tokens"))


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("model", ROUTES)
def test_a_tool_call_round_trip(client, mock, model, stream):
    # Turn 1: the model asks for the weather.
    mock.queue(tool_call("get_weather", {"city": "Paris"}))
    conversation = [
        {"role": "system", "content": "Use tools when they help."},
        {"role": "user", "content": "What's the weather in Paris?"},
    ]
    first = _complete(client, model, conversation, stream)
    assert first["finish_reason"] == "tool_calls"
    [call] = first["tool_calls"]
    assert call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    assert call["id"]

    asked = mock.last().body
    if mock.last().dialect == "anthropic":
        [tool] = asked["tools"]
        assert tool["name"] == "get_weather"
        assert tool["input_schema"] == WEATHER_TOOL["function"]["parameters"]
        assert joined_text(asked["system"]) == "Use tools when they help."
    else:
        assert [t["function"]["name"] for t in asked["tools"]] == ["get_weather"]

    # Turn 2: the client runs the tool and sends its result; the model answers.
    mock.queue(text("It is sunny and 22°C in Paris."))
    conversation += [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call["id"], "type": "function", "function": {"name": "get_weather", "arguments": call["arguments"]}},
        ]},
        {"role": "tool", "tool_call_id": call["id"], "content": "sunny, 22C"},
    ]
    second = _complete(client, model, conversation, stream)
    assert second["content"] == "It is sunny and 22°C in Paris."
    assert second["finish_reason"] == "stop"

    received = mock.last()
    messages = received.body["messages"]
    if received.dialect == "anthropic":
        # Anthropic carries tool results as tool_result blocks in a user turn, right
        # after the assistant turn that holds the matching tool_use block.
        assert [m["role"] for m in messages] == ["user", "assistant", "user"]
        [tool_use] = [b for b in messages[1]["content"] if b["type"] == "tool_use"]
        assert (tool_use["id"], tool_use["name"], tool_use["input"]) == (call["id"], "get_weather", {"city": "Paris"})
        [result] = [b for b in messages[2]["content"] if b["type"] == "tool_result"]
        assert result["tool_use_id"] == call["id"]
        assert joined_text(result["content"]) == "sunny, 22C"
    else:
        assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool"]
        assert messages[2]["tool_calls"][0]["id"] == call["id"]
        assert json.loads(messages[2]["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}
        assert (messages[3]["tool_call_id"], joined_text(messages[3]["content"])) == (call["id"], "sunny, 22C")


def _complete(client, model, messages, stream) -> dict:
    """One turn, streamed or not, reduced to what the client application uses."""
    if not stream:
        choice = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL]).choices[0]
        calls = [{"id": c.id, "name": c.function.name, "arguments": c.function.arguments} for c in choice.message.tool_calls or []]
        return {"content": choice.message.content, "tool_calls": calls, "finish_reason": choice.finish_reason}
    content, calls, finish = "", {}, None
    for chunk in client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL], stream=True):
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        content += delta.content or ""
        for piece in delta.tool_calls or []:
            call = calls.setdefault(piece.index, {"id": "", "name": "", "arguments": ""})
            call["id"] = piece.id or call["id"]
            if piece.function:
                call["name"] += piece.function.name or ""
                call["arguments"] += piece.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    return {"content": content or None, "tool_calls": [calls[i] for i in sorted(calls)], "finish_reason": finish}
