"""Stories of the official `google-genai` Python SDK talking to Plugboard's Gemini surface
(3.4.0 calls `/v1/models/...`, and declares functions with snake_case
`parameters_json_schema`): passed through to a Gemini upstream, or translated for an
Anthropic or an OpenAI-compatible upstream."""

import pytest
from google import genai
from google.genai import types

from conftest import CLAUDE_MODEL, GEMINI_MODEL, GPT_MODEL
from replies import text, tool_call
from upstream_view import Call, Result, Text, read

ROUTES = [pytest.param(GEMINI_MODEL, id="gemini-adapter"), pytest.param(CLAUDE_MODEL, id="anthropic-adapter"),
          pytest.param(GPT_MODEL, id="openai-adapter")]
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False}


@pytest.fixture
def gemini(gateway) -> genai.Client:
    return genai.Client(api_key=gateway.api_key, http_options=types.HttpOptions(base_url=gateway.base_url, timeout=30_000))


@pytest.mark.parametrize("model", ROUTES)
def test_generate_content(gemini, mock, served, model):
    mock.queue(text("Paris.", input_tokens=21, output_tokens=3))

    answer = gemini.models.generate_content(model=served(model), contents="Capital of France?",
                                            config=types.GenerateContentConfig(system_instruction="You are terse."))

    assert answer.text == "Paris."
    assert answer.candidates[0].finish_reason == types.FinishReason.STOP
    assert (answer.usage_metadata.prompt_token_count, answer.usage_metadata.candidates_token_count) == (21, 3)
    sent = read(mock.last())
    assert sent.system == "You are terse." and sent.turns == [("user", [Text("Capital of France?")])]


@pytest.mark.parametrize("model", ROUTES)
def test_generate_content_stream(gemini, mock, served, model):
    sentence = "The sky is clear over Paris today."
    mock.queue(text(sentence, input_tokens=30, output_tokens=9, pace=0.01))

    chunks = list(gemini.models.generate_content_stream(model=served(model), contents="How is the sky?"))

    assert "".join(c.text or "" for c in chunks) == sentence and len(chunks) > 1
    assert chunks[-1].usage_metadata.candidates_token_count == 9
    assert read(mock.last()).stream


@pytest.mark.parametrize("model", ROUTES)
def test_function_calling_without_automatic_calls(gemini, mock, served, model):
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[types.FunctionDeclaration(
            name="get_weather", description="Current weather for a city.", parameters_json_schema=SCHEMA)])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    question = types.Content(role="user", parts=[types.Part.from_text(text="What's the weather in Paris?")])
    mock.queue(tool_call("get_weather", {"city": "Paris"}))

    first = gemini.models.generate_content(model=served(model), contents=[question], config=config)

    [call] = first.function_calls
    assert (call.name, call.args) == ("get_weather", {"city": "Paris"})
    asked = read(mock.last())
    assert asked.tools == ["get_weather"]
    if asked.dialect == "gemini":
        # The JSON schema rides in parametersJsonSchema, which takes any JSON schema.
        [declaration] = asked.raw["tools"][0]["functionDeclarations"]
        assert declaration.get("parametersJsonSchema", {}).get("properties") == SCHEMA["properties"]

    mock.queue(text("Sunny, 22°C."))
    answer = types.Part.from_function_response(name="get_weather", response={"output": "sunny, 22C"})
    if call.id:
        answer.function_response.id = call.id
    second = gemini.models.generate_content(
        model=model, config=config,
        contents=[question, first.candidates[0].content, types.Content(role="user", parts=[answer])])

    assert second.text == "Sunny, 22°C."
    sent = read(mock.last())
    [sent_call] = sent.parts(Call, "assistant")
    [result] = sent.parts(Result, "user")
    assert (sent_call.name, sent_call.args) == ("get_weather", {"city": "Paris"})
    assert "sunny, 22C" in result.text
