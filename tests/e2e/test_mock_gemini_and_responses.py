"""The mock's Gemini and Responses dialects, checked with the official SDKs talking to it
directly (no Plugboard in between): if the SDKs built for the real APIs parse what the
mock sends, and the mock refuses what the real APIs refuse, the other stories can trust it."""

import json

import httpx
import openai
import pytest
from google import genai
from google.genai import types

from mock_upstream import GEMINI_KEY, OPENAI_KEY
from replies import overloaded, rate_limited, text, thinking_then_text, tool_call


@pytest.fixture
def gemini(mock):
    return genai.Client(api_key=GEMINI_KEY, http_options=types.HttpOptions(base_url=mock.base_url))


@pytest.fixture
def responses(mock):
    return openai.OpenAI(base_url=mock.base_url + "/v1", api_key=OPENAI_KEY, max_retries=0)


def test_gemini_sdk_reads_a_thought_a_function_call_and_usage(gemini, mock):
    # A thought signature is base64 bytes on the wire, as on the real API.
    reply = thinking_then_text("Weather needs a tool.", "Let me check.", signature="c2lnLWctMQ==")
    reply.blocks += tool_call("get_weather", {"city": "Paris"}).blocks
    mock.queue(reply)

    answer = gemini.models.generate_content(
        model="gemini-mock", contents="Weather in Paris?",
        config=types.GenerateContentConfig(
            tools=[types.Tool(function_declarations=[types.FunctionDeclaration(
                name="get_weather", parameters_json_schema={"type": "object", "properties": {"city": {"type": "string"}}})])],
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        ),
    )

    parts = answer.candidates[0].content.parts
    assert (parts[0].thought, parts[0].text, parts[0].thought_signature) == (True, "Weather needs a tool.", b"sig-g-1")
    assert answer.function_calls[0].name == "get_weather" and answer.function_calls[0].args == {"city": "Paris"}
    assert answer.usage_metadata.thoughts_token_count == 4
    assert mock.last().dialect == "gemini" and mock.last().headers["x-goog-api-key"] == GEMINI_KEY


def test_gemini_sdk_streams_text_with_usage_on_the_last_chunk(gemini, mock):
    mock.queue(text("A streamed Gemini answer.", input_tokens=9, output_tokens=6))

    chunks = list(gemini.models.generate_content_stream(model="gemini-mock", contents="go"))

    assert "".join(c.text or "" for c in chunks) == "A streamed Gemini answer."
    assert len(chunks) > 2
    assert chunks[-1].usage_metadata.prompt_token_count == 9
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert "alt=sse" in mock.last().query


def test_gemini_refuses_what_the_real_api_refuses(mock):
    url = mock.base_url + "/v1beta/models/gemini-mock:generateContent"
    key = {"x-goog-api-key": GEMINI_KEY}
    user = {"role": "user", "parts": [{"text": "hi"}]}

    two_user_turns = httpx.post(url, headers=key, json={"contents": [user, user]})
    assert two_user_turns.status_code == 400
    assert two_user_turns.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "alternate" in two_user_turns.json()["error"]["message"]

    schema_keys = httpx.post(url, headers=key, json={"contents": [user], "tools": [{"functionDeclarations": [{
        "name": "f", "parameters": {"type": "object", "additionalProperties": False, "properties": {}}}]}]})
    assert schema_keys.status_code == 400 and "additionalProperties" in schema_keys.json()["error"]["message"]

    chat_body = httpx.post(url, headers=key, json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert chat_body.status_code == 400 and 'Unknown name "messages"' in chat_body.json()["error"]["message"]

    assert httpx.post(url, headers={"x-goog-api-key": "wrong"}, json={"contents": [user]}).status_code == 400
    assert httpx.post(url, json={"contents": [user]}).status_code == 403

    # snake_case proto names are as valid as camelCase ones, as on the real API.
    assert httpx.post(url, headers=key, json={"contents": [user], "system_instruction": {"parts": [{"text": "be brief"}]}}).status_code == 200


def test_gemini_rate_limit_is_resource_exhausted(mock):
    mock.queue(rate_limited(retry_after=7))
    answer = httpx.post(mock.base_url + "/v1beta/models/m:generateContent", headers={"x-goog-api-key": GEMINI_KEY},
                        json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    assert answer.status_code == 429
    assert answer.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert answer.json()["error"]["details"][0]["retryDelay"] == "7s"


def test_responses_sdk_reads_reasoning_text_and_a_function_call(responses, mock):
    reply = thinking_then_text("Think first.", "Calling.", signature="enc-1")
    reply.blocks += tool_call("get_weather", {"city": "Oslo"}).blocks
    mock.queue(reply)

    answer = responses.responses.create(model="gpt-mock", input="Weather in Oslo?", store=False,
                                        include=["reasoning.encrypted_content"])

    kinds = [item.type for item in answer.output]
    assert kinds == ["reasoning", "message", "function_call"]
    assert answer.output[0].encrypted_content == "enc-1"
    assert answer.output[0].summary[0].text == "Think first."
    assert answer.output_text == "Calling."
    assert json.loads(answer.output[2].arguments) == {"city": "Oslo"}


def test_responses_sdk_streams_the_real_event_sequence(responses, mock):
    mock.queue(thinking_then_text("Hmm.", "Streamed answer."))

    events = list(responses.responses.create(model="gpt-mock", input="go", stream=True))

    names = [e.type for e in events]
    assert names[0] == "response.created" and names[-1] == "response.completed"
    assert "response.reasoning_summary_text.delta" in names
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "Streamed answer."
    assert events[-1].response.usage.output_tokens == 5


def test_responses_refuses_what_the_real_api_refuses(mock):
    url = mock.base_url + "/v1/responses"
    auth = {"authorization": f"Bearer {OPENAI_KEY}"}

    chat_body = httpx.post(url, headers=auth, json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert chat_body.status_code == 400 and "Unknown parameter: 'messages'" in chat_body.json()["error"]["message"]

    orphan = httpx.post(url, headers=auth, json={"model": "m", "input": [
        {"type": "function_call_output", "call_id": "call_x", "output": "hi"}]})
    assert orphan.status_code == 400 and "No tool call found" in orphan.json()["error"]["message"]

    stateless_reasoning = httpx.post(url, headers=auth, json={"model": "m", "store": False, "input": [
        {"role": "user", "content": "hi"}, {"type": "reasoning", "id": "rs_1", "summary": []}]})
    assert stateless_reasoning.status_code == 400 and "not persisted" in stateless_reasoning.json()["error"]["message"]

    chat_tool = httpx.post(url, headers=auth, json={"model": "m", "input": "hi", "tools": [
        {"type": "function", "function": {"name": "f", "parameters": {}}}]})
    assert chat_tool.status_code == 400 and "tools[0].name" in chat_tool.json()["error"]["message"]


def test_responses_overloaded_is_an_openai_shaped_503(mock):
    mock.queue(overloaded())
    answer = httpx.post(mock.base_url + "/v1/responses", headers={"authorization": f"Bearer {OPENAI_KEY}"},
                        json={"model": "m", "input": "hi"})
    assert answer.status_code == 503 and answer.json()["error"]["type"] == "server_error"
