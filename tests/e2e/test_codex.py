"""Stories of the `codex` adapter (a ChatGPT subscription through the Codex backend)
against the strict scripted backend of `codex_wire`: two Plugboard `codex` accounts in
an auth dir, every SDK the users bring, usage limits that fail over. The mock refuses
whatever the real backend refuses, so every story also checks that no refusal happened.
"""

from __future__ import annotations

import json

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types

import codex_wire
from plugboard_server import provider
from replies import text, thinking_then_text, tool_call
from upstream_view import Call, Result, read

MODEL = "gpt-5-codex"
TOKEN_A, TOKEN_B = list(codex_wire.TOKENS)
ACCOUNT_OF = dict(codex_wire.TOKENS)
# A Fernet-shaped encrypted reasoning payload, as the backend hands out.
ENCRYPTED = "gAAAAABmock-encrypted-reasoning-0001"
WEATHER = {"name": "get_weather", "description": "Current weather for a city.",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def account_file(token: str, email: str) -> dict:
    return {"type": "codex", "plugboard": 1, "access_token": token, "expired": "2099-01-01T00:00:00Z",
            "email": email, "attributes": {"chatgpt-account-id": ACCOUNT_OF[token]}}


@pytest.fixture
def codex(launch, mock, tmp_path):
    """A Plugboard whose `chatgpt` entry (adapter `codex`) serves two accounts of the
    auth dir, its `base` endpoint at the mock's Codex backend."""
    auth = tmp_path / "auth"
    auth.mkdir()
    for token, email in [(TOKEN_A, "a@example.com"), (TOKEN_B, "b@example.com")]:
        (auth / f"codex-{email}.json").write_text(json.dumps(account_file(token, email)))
    entry = provider("chatgpt", "codex", mock, [MODEL], **{"api-keys": [], "accounts": "auth-dir"})
    del entry["base-url"]
    entry["endpoints"] = {"base": mock.base_url + "/backend-api/codex"}
    return launch([entry], **{"auth-dir": str(auth)})


def statuses(mock) -> list[int]:
    return [r.status for r in mock.received]


def account(received) -> str:
    """The account a request was made with (the mock checked the header matches)."""
    return received.headers["chatgpt-account-id"]


def assert_backend_rules(received) -> None:
    body = received.body
    assert received.dialect == "codex"
    assert body["stream"] is True and body["store"] is False
    assert body["include"] == ["reasoning.encrypted_content"]
    assert isinstance(body["instructions"], str)
    assert received.headers["accept"] == "text/event-stream"
    assert ACCOUNT_OF[received.headers["authorization"].removeprefix("Bearer ")] == account(received)


def test_chat_completions_not_streamed_are_served_from_the_backends_stream(codex, mock):
    mock.queue(text("Paris.", input_tokens=21, output_tokens=3))
    client = openai.OpenAI(base_url=codex.base_url + "/v1", api_key=codex.api_key, max_retries=0, timeout=30)

    answer = client.chat.completions.create(
        model=MODEL, temperature=0.2, max_tokens=100, top_p=0.9, user="u-1",
        messages=[{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Capital of France?"}])

    assert answer.choices[0].message.content == "Paris."
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (21, 3)
    assert statuses(mock) == [200]
    sent = mock.last()
    assert_backend_rules(sent)
    assert sent.body["instructions"] == "", "no Codex system prompt is injected"
    assert sent.body["input"][0]["role"] == "developer"
    assert read(sent).system == "You are terse."
    # Honest identity: nothing the client did not send.
    assert "originator" not in sent.headers and "session_id" not in sent.headers
    assert "codex" not in sent.headers.get("user-agent", "")


def test_chat_completions_streamed(codex, mock):
    sentence = "The sky is clear over Paris today."
    mock.queue(text(sentence, input_tokens=30, output_tokens=9, pace=0.01))
    client = openai.OpenAI(base_url=codex.base_url + "/v1", api_key=codex.api_key, max_retries=0, timeout=30)

    chunks = list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Sky?"}],
                                                 stream=True, stream_options={"include_usage": True}))

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == sentence
    assert chunks[-1].usage.completion_tokens == 9
    assert statuses(mock) == [200]
    assert_backend_rules(mock.last())


def test_responses_passthrough_sends_encrypted_reasoning_back_and_the_clients_own_headers(codex, mock):
    """Codex CLI's way: stateless turns carrying the encrypted reasoning of the last one,
    with its own originator and session; the fields the backend refuses are dropped."""
    client = openai.OpenAI(base_url=codex.base_url + "/v1", api_key=codex.api_key, max_retries=0, timeout=30)
    own = {"originator": "codex_cli_rs", "session_id": "sess-e2e-1", "version": "0.46.0"}
    mock.queue(thinking_then_text("List the files first.", "Running ls.", signature=ENCRYPTED))

    first = client.responses.create(model=MODEL, instructions="You are a coding agent.", input="list files",
                                    store=False, include=["reasoning.encrypted_content"], temperature=0.3,
                                    max_output_tokens=500, extra_headers=own)

    assert first.output_text == "Running ls."
    [reasoning] = [item for item in first.output if item.type == "reasoning"]
    assert reasoning.encrypted_content == ENCRYPTED
    sent = mock.last()
    assert_backend_rules(sent)
    assert sent.body["instructions"] == "You are a coding agent."
    assert all(sent.headers.get(name) == value for name, value in own.items())

    mock.queue(text("Done.", pace=0.01))
    conversation = [item.model_dump(exclude_none=True) for item in first.output]
    conversation.append({"role": "user", "content": "thanks"})
    with client.responses.stream(model=MODEL, input=conversation, store=False, extra_headers=own) as events:
        second = events.get_final_response()

    assert second.output_text == "Done."
    assert statuses(mock) == [200, 200]
    sent = mock.last()
    assert_backend_rules(sent)
    [echoed] = [item for item in sent.body["input"] if item.get("type") == "reasoning"]
    assert echoed["encrypted_content"] == ENCRYPTED


def test_anthropic_messages_streamed_with_a_tool_round_trip(codex, mock):
    client = anthropic.Anthropic(base_url=codex.base_url, api_key=codex.api_key, max_retries=0, timeout=30)
    mock.queue(tool_call("get_weather", {"city": "Paris"}, preamble="Checking."))
    messages = [{"role": "user", "content": "Weather in Paris?"}]

    with client.messages.stream(model=MODEL, max_tokens=256, system="Be brief.", tools=[WEATHER],
                                messages=messages) as stream:
        first = stream.get_final_message()

    assert first.stop_reason == "tool_use"
    [use] = [block for block in first.content if block.type == "tool_use"]
    assert (use.name, use.input) == ("get_weather", {"city": "Paris"})

    mock.queue(text("Sunny, 22°C."))
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny, 22C"}]}]
    with client.messages.stream(model=MODEL, max_tokens=256, tools=[WEATHER], messages=messages) as stream:
        second = stream.get_final_message()

    assert second.content[0].text == "Sunny, 22°C."
    assert statuses(mock) == [200, 200]
    sent = mock.last()
    assert_backend_rules(sent)
    [call] = read(sent).parts(Call, "assistant")
    [result] = read(sent).parts(Result, "user")
    assert (call.name, call.args) == ("get_weather", {"city": "Paris"}) and "sunny, 22C" in result.text
    assert "max_output_tokens" not in sent.body


def test_google_genai_generate_content(codex, mock):
    mock.queue(text("Paris.", input_tokens=21, output_tokens=3))
    client = genai.Client(api_key=codex.api_key, http_options=types.HttpOptions(base_url=codex.base_url, timeout=30_000))

    answer = client.models.generate_content(model=MODEL, contents="Capital of France?",
                                            config=types.GenerateContentConfig(system_instruction="You are terse.",
                                                                               temperature=0.1))

    assert answer.text == "Paris."
    assert statuses(mock) == [200]
    assert_backend_rules(mock.last())


def test_a_usage_limit_rests_the_account_and_the_request_fails_over(codex, mock):
    mock.queue(codex_wire.usage_limit(resets_in_seconds=3600), text("from the other account"))
    client = openai.OpenAI(base_url=codex.base_url + "/v1", api_key=codex.api_key, max_retries=0, timeout=30)

    answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])

    assert answer.choices[0].message.content == "from the other account"
    limited, served = mock.received
    assert (limited.status, served.status) == (429, 200)
    assert account(limited) != account(served)
    # The limited account rests: the next requests all go to the other one.
    for turn in ("again", "and again"):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": turn}])
        assert account(mock.last()) == account(served)
    assert statuses(mock) == [429, 200, 200, 200]


def test_a_failure_inside_the_200_stream_fails_over_before_the_client_sees_a_byte(codex, mock):
    mock.queue(codex_wire.failed_mid_stream("server_is_overloaded"), text("recovered"))
    client = openai.OpenAI(base_url=codex.base_url + "/v1", api_key=codex.api_key, max_retries=0, timeout=30)

    chunks = list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True))

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "recovered"
    failed, served = mock.received
    assert (failed.status, served.status) == (200, 200)
    assert account(failed) != account(served)


@pytest.mark.parametrize("change, status, says", [
    ({"stream": False}, 400, "Stream must be set to true"),
    ({"store": True}, 400, "Store must be set to false"),
    ({"temperature": 0.2}, 400, "Unsupported parameter: temperature"),
    ({"max_output_tokens": 10}, 400, "Unsupported parameter: max_output_tokens"),
    ({"instructions": None}, 400, "Instructions are required"),
    ({"input": "hi"}, 400, "Input must be a list"),
    ({"tools": [{"type": "web_search_preview"}]}, 400, "Unsupported tool type"),
    ({"input": [{"type": "reasoning", "id": "rs_1", "summary": []}]}, 400, "not persisted"),
], ids=lambda v: str(v)[:30])
def test_the_mock_refuses_what_the_backend_refuses(mock, change, status, says):
    """The strict mock itself: a body or header the backend would refuse gets its
    refusal, so a story cannot pass with a request the real backend would not take."""
    good = {"model": MODEL, "instructions": "", "input": [{"role": "user", "content": "hi"}],
            "stream": True, "store": False, "include": ["reasoning.encrypted_content"]}
    headers = {"authorization": f"Bearer {TOKEN_A}", "chatgpt-account-id": ACCOUNT_OF[TOKEN_A]}
    url = mock.base_url + codex_wire.PATH
    body = {key: value for key, value in {**good, **change}.items() if value is not None}
    refused = httpx.post(url, json=body, headers=headers, timeout=10)
    assert (refused.status_code, says in refused.text) == (status, True), refused.text
    assert httpx.post(url, json=good, headers=headers, timeout=10).status_code == 200


def test_the_mock_wants_the_bearer_and_its_account(mock):
    good = {"model": MODEL, "instructions": "", "input": [{"role": "user", "content": "hi"}],
            "stream": True, "store": False}
    url = mock.base_url + codex_wire.PATH
    for headers, status in [
        ({}, 401),
        ({"authorization": "Bearer not-issued"}, 401),
        ({"authorization": f"Bearer {TOKEN_A}"}, 400),
        ({"authorization": f"Bearer {TOKEN_A}", "chatgpt-account-id": ACCOUNT_OF[TOKEN_B]}, 401),
    ]:
        assert httpx.post(url, json=good, headers=headers, timeout=10).status_code == status, headers
    mock.queue(codex_wire.usage_limit(resets_in_seconds=60))
    limited = httpx.post(url, json=good, timeout=10,
                         headers={"authorization": f"Bearer {TOKEN_A}", "chatgpt-account-id": ACCOUNT_OF[TOKEN_A]})
    error = limited.json()["error"]
    assert (limited.status_code, error["type"], error["resets_in_seconds"]) == (429, "usage_limit_reached", 60)
