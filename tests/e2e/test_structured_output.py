"""Stories of structured output across dialects: an Anthropic client's
`output_config.format` (and the older `output_format` the AI SDK, litellm and LangChain
send) reaches OpenAI, Responses and Gemini upstreams in their own dialect, passes
unchanged to an Anthropic upstream, and an OpenAI client's `response_format` reaches an
Anthropic upstream as `output_config.format` on a model that has structured outputs.
Each checks what the upstream received and that the client got the JSON back."""

import json

import anthropic
import httpx
import openai
import pytest

from conftest import CLAUDE_MODEL, GEMINI_MODEL, GPT_MODEL, RESPONSES_MODEL
from plugboard_server import provider
from replies import text

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
ANSWER = '{"name": "Ada", "age": 36}'
QUESTION = [{"role": "user", "content": "Who wrote the first program? Name and age at the time."}]


def schema_in_upstream_dialect(received) -> dict:
    """The schema the upstream request carries, read in the upstream's own dialect."""
    body = received.body
    if received.dialect == "openai":
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "response"
        assert fmt["json_schema"]["strict"] is True
        return fmt["json_schema"]["schema"]
    if received.dialect == "openai-responses":
        fmt = body["text"]["format"]
        assert fmt["type"] == "json_schema" and fmt["name"] == "response" and fmt["strict"] is True
        return fmt["schema"]
    if received.dialect == "gemini":
        config = body["generationConfig"]
        assert config["responseMimeType"] == "application/json"
        return config["responseJsonSchema"]
    if received.dialect == "anthropic":
        assert "output_format" not in body
        assert body["output_config"]["format"]["type"] == "json_schema"
        return body["output_config"]["format"]["schema"]
    raise AssertionError(f"unexpected upstream {received.dialect}")


TRANSLATED = [pytest.param(GPT_MODEL, id="openai"), pytest.param(RESPONSES_MODEL, id="openai-responses"),
              pytest.param(GEMINI_MODEL, id="gemini")]


@pytest.fixture
def claude(gateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.base_url, api_key=gateway.api_key, max_retries=0, timeout=30)


@pytest.mark.parametrize("model", TRANSLATED)
def test_the_anthropic_sdk_s_output_config_format_reaches_each_upstream_in_its_dialect(claude, mock, served, model):
    mock.queue(text(ANSWER))

    answer = claude.messages.create(
        model=served(model), max_tokens=256, messages=QUESTION,
        extra_body={"output_config": {"format": {"type": "json_schema", "schema": PERSON}}},
    )

    assert json.loads(answer.content[0].text) == {"name": "Ada", "age": 36}
    assert schema_in_upstream_dialect(mock.last()) == PERSON


@pytest.mark.parametrize("model", TRANSLATED)
def test_the_older_output_format_reaches_each_upstream_too_streamed(gateway, mock, served, model):
    mock.queue(text(ANSWER, pace=0.005))
    body = {"model": served(model), "max_tokens": 256, "messages": QUESTION, "stream": True,
            "output_format": {"type": "json_schema", "schema": PERSON}}

    with httpx.stream("POST", gateway.base_url + "/v1/messages", json=body, timeout=30,
                      headers={"x-api-key": gateway.api_key, "anthropic-version": "2023-06-01",
                               "anthropic-beta": "structured-outputs-2025-11-13"}) as response:
        assert response.status_code == 200
        events = [json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:")]

    streamed = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert json.loads(streamed) == {"name": "Ada", "age": 36}
    assert schema_in_upstream_dialect(mock.last()) == PERSON


def test_an_anthropic_upstream_gets_output_config_unchanged_on_passthrough(claude, mock, served):
    mock.queue(text(ANSWER))
    output_config = {"effort": "low", "format": {"type": "json_schema", "schema": PERSON}}

    answer = claude.messages.create(model=served(CLAUDE_MODEL), max_tokens=256, messages=QUESTION,
                                    extra_body={"output_config": output_config})

    assert json.loads(answer.content[0].text)["name"] == "Ada"
    assert mock.last().body["output_config"] == output_config


@pytest.fixture
def structured_claude(launch, mock, gateway):
    """A Plugboard whose Anthropic entry serves a model with structured outputs
    (`claude-sonnet-4-5`) and one without (`claude-opus-4-1`)."""
    if "anthropic" not in gateway.loaded:
        pytest.skip("adapter anthropic is not built")
    return launch([provider("claude-new", "anthropic", mock, [{"name": "claude-sonnet-4-5", "alias": "sonnet"},
                                                              {"name": "claude-opus-4-1", "alias": "opus-old"}])])


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_an_openai_client_s_json_schema_reaches_anthropic_as_output_config_format(structured_claude, mock, stream):
    client = openai.OpenAI(base_url=structured_claude.base_url + "/v1", api_key=structured_claude.api_key,
                           max_retries=0, timeout=30)
    mock.queue(text(ANSWER))
    response_format = {"type": "json_schema", "json_schema": {"name": "person", "strict": True, "schema": PERSON}}

    if stream:
        chunks = client.chat.completions.create(model="sonnet", messages=QUESTION, response_format=response_format,
                                                stream=True)
        content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        content = client.chat.completions.create(model="sonnet", messages=QUESTION,
                                                 response_format=response_format).choices[0].message.content

    assert json.loads(content) == {"name": "Ada", "age": 36}
    sent = mock.last()
    assert sent.dialect == "anthropic" and sent.body["model"] == "claude-sonnet-4-5"
    assert schema_in_upstream_dialect(sent) == PERSON
    assert "system" not in sent.body, "no prompt instruction besides the native format"


def test_a_model_without_structured_outputs_gets_the_schema_as_an_instruction(structured_claude, mock):
    client = openai.OpenAI(base_url=structured_claude.base_url + "/v1", api_key=structured_claude.api_key,
                           max_retries=0, timeout=30)
    mock.queue(text(ANSWER))

    client.chat.completions.create(
        model="opus-old", messages=QUESTION,
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}})

    sent = mock.last().body
    assert "output_config" not in sent
    instructions = " ".join(block["text"] for block in sent["system"])
    assert json.dumps(PERSON, separators=(",", ":")) in instructions


def test_an_open_schema_with_bounds_is_closed_for_anthropic_and_the_bounds_described(structured_claude, mock):
    client = openai.OpenAI(base_url=structured_claude.base_url + "/v1", api_key=structured_claude.api_key,
                           max_retries=0, timeout=30)
    mock.queue(text(ANSWER))
    # As pydantic writes `class Person(BaseModel): name: str; age: int = Field(ge=0)`.
    pydantic = {"title": "Person", "type": "object", "required": ["name", "age"],
                "properties": {"name": {"type": "string", "title": "Name"},
                               "age": {"type": "integer", "minimum": 0, "title": "Age"}}}

    content = client.chat.completions.create(
        model="sonnet", messages=QUESTION,
        response_format={"type": "json_schema", "json_schema": {"name": "Person", "schema": pydantic}},
    ).choices[0].message.content

    assert json.loads(content)["age"] == 36
    schema = schema_in_upstream_dialect(mock.last())
    assert schema["additionalProperties"] is False
    assert schema["properties"]["age"] == {"type": "integer", "title": "Age", "description": "{minimum: 0}"}


def test_the_mock_refuses_an_open_object_schema_as_the_real_api_does(mock):
    from mock_upstream import ANTHROPIC_KEY

    body = {"model": "claude-mock-1", "max_tokens": 16, "messages": QUESTION,
            "output_config": {"format": {"type": "json_schema", "schema": {"type": "object", "properties": {}}}}}
    response = httpx.post(mock.base_url + "/v1/messages", json=body,
                          headers={"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01"})

    assert response.status_code == 400
    assert "additionalProperties" in response.json()["error"]["message"]
