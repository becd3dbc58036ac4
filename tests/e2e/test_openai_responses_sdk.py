"""Stories of the official `openai` Python SDK's Responses API (`client.responses`) talking
to Plugboard, stateless like Codex (`store=False`): served by each provider adapter."""

import json

import pytest

from conftest import CLAUDE_MODEL, GEMINI_MODEL, GPT_MODEL, RESPONSES_MODEL
from replies import text, tool_call
from upstream_view import Call, Result, Text, read

ROUTES = [pytest.param(GPT_MODEL, id="openai-adapter"), pytest.param(CLAUDE_MODEL, id="anthropic-adapter"),
          pytest.param(GEMINI_MODEL, id="gemini-adapter"), pytest.param(RESPONSES_MODEL, id="openai-responses-adapter")]
WEATHER = {"type": "function", "name": "get_weather", "description": "Current weather for a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


@pytest.mark.parametrize("model", ROUTES)
def test_a_response_comes_back(client, mock, served, model):
    mock.queue(text("Paris.", input_tokens=21, output_tokens=3))

    answer = client.responses.create(model=served(model), instructions="You are terse.", input="Capital of France?", store=False)

    assert answer.output_text == "Paris." and answer.status == "completed"
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (21, 3)
    sent = read(mock.last())
    assert sent.system == "You are terse." and sent.turns == [("user", [Text("Capital of France?")])]


@pytest.mark.parametrize("model", ROUTES)
def test_a_streamed_response_ends_with_response_completed(client, mock, served, model):
    sentence = "The sky is clear over Paris today."
    mock.queue(text(sentence, input_tokens=30, output_tokens=9, pace=0.01))

    events = list(client.responses.create(model=served(model), input="How is the sky?", store=False, stream=True))

    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == sentence and len(deltas) > 1
    assert events[-1].response.usage.output_tokens == 9
    assert read(mock.last()).stream


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("model", ROUTES)
def test_a_function_call_round_trip(client, mock, served, model, stream):
    mock.queue(tool_call("get_weather", {"city": "Paris"}))
    conversation = [{"role": "user", "content": "What's the weather in Paris?"}]

    first = _respond(client, served(model), conversation, stream)
    [call] = [item for item in first.output if item.type == "function_call"]
    assert (call.name, json.loads(call.arguments)) == ("get_weather", {"city": "Paris"}) and call.call_id

    mock.queue(text("Sunny, 22°C."))
    conversation += [item.model_dump(exclude_none=True) for item in first.output]
    conversation.append({"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 22C"})
    second = _respond(client, model, conversation, stream)

    assert second.output_text == "Sunny, 22°C."
    sent = read(mock.last())
    [sent_call] = sent.parts(Call, "assistant")
    [result] = sent.parts(Result, "user")
    assert (sent_call.name, sent_call.args) == ("get_weather", {"city": "Paris"})
    assert "sunny, 22C" in result.text


def _respond(client, model, conversation, stream):
    """One turn; streamed turns are read back from their `response.completed` event."""
    if not stream:
        return client.responses.create(model=model, input=conversation, tools=[WEATHER], store=False)
    with client.responses.stream(model=model, input=conversation, tools=[WEATHER], store=False) as events:
        return events.get_final_response()
