"""Stories of the official `anthropic` Python SDK talking to Plugboard's Messages surface:
passed through to an Anthropic upstream, or translated for an OpenAI-compatible or a
Gemini upstream. Each checks what the client saw AND what the upstream received."""

import anthropic
import pytest

from conftest import CLAUDE_MODEL, GEMINI_MODEL, GPT_MODEL
from replies import text, thinking_then_text, tool_call
from upstream_view import Call, Reasoning, Result, Text, read

ROUTES = [pytest.param(CLAUDE_MODEL, id="anthropic-adapter"), pytest.param(GPT_MODEL, id="openai-adapter"),
          pytest.param(GEMINI_MODEL, id="gemini-adapter")]
WEATHER = {"name": "get_weather", "description": "Current weather for a city.",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
# Base64, as a Gemini thought signature must be; opaque to Anthropic.
SIGNATURE = "c2lnLWFudGhyb3BpYy1zZGs="


@pytest.fixture
def claude(gateway) -> anthropic.Anthropic:
    """The SDK sends `Authorization: Bearer` and a recent `anthropic-version` (see CLIENTS.md)."""
    return anthropic.Anthropic(base_url=gateway.base_url, api_key=gateway.api_key, max_retries=0, timeout=30)


@pytest.mark.parametrize("model", ROUTES)
def test_a_message_comes_back_and_the_upstream_got_its_own_dialect(claude, mock, served, model):
    mock.queue(text("Paris.", input_tokens=21, output_tokens=3))

    answer = claude.messages.create(model=served(model), max_tokens=256, system="You are terse.",
                                    messages=[{"role": "user", "content": "Capital of France?"}])

    assert [(b.type, b.text) for b in answer.content] == [("text", "Paris.")]
    assert answer.stop_reason == "end_turn"
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (21, 3)
    sent = read(mock.last())
    assert sent.system == "You are terse." and sent.turns == [("user", [Text("Capital of France?")])]


@pytest.mark.parametrize("model", ROUTES)
def test_a_streamed_message_arrives_piece_by_piece(claude, mock, served, model):
    sentence = "The sky is clear over Paris today."
    mock.queue(text(sentence, input_tokens=30, output_tokens=9, pace=0.01))

    with claude.messages.stream(model=served(model), max_tokens=256,
                                messages=[{"role": "user", "content": "How is the sky?"}]) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()

    assert "".join(pieces) == sentence and len(pieces) > 1
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 9
    assert read(mock.last()).stream


@pytest.mark.parametrize("model", ROUTES)
def test_a_tool_use_round_trip(claude, mock, served, model):
    mock.queue(tool_call("get_weather", {"city": "Paris"}, preamble="Let me look."))
    conversation = [{"role": "user", "content": "What's the weather in Paris?"}]

    first = claude.messages.create(model=served(model), max_tokens=256, tools=[WEATHER], messages=conversation)

    assert first.stop_reason == "tool_use"
    [use] = [b for b in first.content if b.type == "tool_use"]
    assert (use.name, use.input) == ("get_weather", {"city": "Paris"}) and use.id
    assert read(mock.last()).tools == ["get_weather"]

    mock.queue(text("Sunny, 22°C."))
    conversation += [
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny, 22C"}]},
    ]
    second = claude.messages.create(model=model, max_tokens=256, tools=[WEATHER], messages=conversation)

    assert second.content[0].text == "Sunny, 22°C."
    sent = read(mock.last())
    [call] = sent.parts(Call, "assistant")
    [result] = sent.parts(Result, "user")
    assert (call.name, call.args) == ("get_weather", {"city": "Paris"})
    assert "sunny, 22C" in result.text


@pytest.mark.parametrize("model", [ROUTES[0], ROUTES[2]])
def test_thinking_reaches_the_client_with_its_signature_and_goes_back_upstream(claude, mock, served, model):
    mock.queue(thinking_then_text("The user wants a number.", "42.", signature=SIGNATURE))
    conversation = [{"role": "user", "content": "Pick a number."}]

    first = claude.messages.create(model=served(model), max_tokens=4096, messages=conversation,
                                   thinking={"type": "enabled", "budget_tokens": 1024})

    [thinking] = [b for b in first.content if b.type == "thinking"]
    assert (thinking.thinking, thinking.signature) == ("The user wants a number.", SIGNATURE)
    assert read(mock.last()).asks_reasoning

    mock.queue(text("84."))
    conversation += [{"role": "assistant", "content": first.content}, {"role": "user", "content": "Doubled?"}]
    second = claude.messages.create(model=model, max_tokens=4096, messages=conversation,
                                    thinking={"type": "enabled", "budget_tokens": 1024})

    assert second.content[-1].text == "84."
    sent = read(mock.last())
    assert SIGNATURE in [r.signature for r in sent.parts(Reasoning, "assistant")], "the signed thinking went back upstream"
