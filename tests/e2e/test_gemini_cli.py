"""Stories of the `gemini-cli` adapter (Google accounts through Cloud Code Assist)
against the strict scripted service of `code_assist_wire`: two accounts in an auth dir
(one in Plugboard's own form, one as CLIProxyAPI's `gemini` file left it), the SDKs
users bring, and a spent quota that fails over. The mock refuses a bare Gemini body, a
missing or foreign project and a missing bearer, so every story also checks that the
envelope was right.
"""

from __future__ import annotations

import json

import anthropic
import httpx
import openai
import pytest

import code_assist_wire
from plugboard_server import provider
from replies import text, tool_call
from upstream_view import Call, Result, read

MODEL = "gemini-2.5-pro"
TOKEN_A, TOKEN_B = list(code_assist_wire.TOKENS)
PROJECT_OF = dict(code_assist_wire.TOKENS)
WEATHER = {"name": "get_weather", "description": "Current weather for a city.",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def plugboard_file(token: str, email: str) -> dict:
    """An account as `plugboard login` stores it."""
    return {"type": "gemini-cli", "plugboard": 1, "access_token": token, "expired": "2099-01-01T00:00:00Z",
            "email": email, "attributes": {"project-id": PROJECT_OF[token]}}


def cliproxyapi_file(token: str, email: str) -> dict:
    """An account as CLIProxyAPI's Gemini CLI login left it (`type: gemini`, `project_id`)."""
    return {"type": "gemini", "email": email, "project_id": PROJECT_OF[token], "auto": False, "checked": True,
            "token": {"access_token": token, "token_type": "Bearer", "refresh_token": "1//mock-refresh",
                      "expiry": "2099-01-01T00:00:00Z", "token_uri": "https://oauth2.googleapis.com/token",
                      "scopes": ["https://www.googleapis.com/auth/cloud-platform"]}}


@pytest.fixture
def gcli(launch, mock, tmp_path):
    """A Plugboard whose `gcli` entry (adapter `gemini-cli`) serves the two accounts of
    the auth dir, its `base` endpoint at the mock's Code Assist."""
    auth = tmp_path / "auth"
    auth.mkdir()
    (auth / "gemini-cli-a@example.com.json").write_text(json.dumps(plugboard_file(TOKEN_A, "a@example.com")))
    (auth / f"gemini-b@example.com-{PROJECT_OF[TOKEN_B]}.json").write_text(
        json.dumps(cliproxyapi_file(TOKEN_B, "b@example.com")))
    entry = provider("gcli", "gemini-cli", mock, [MODEL], **{"api-keys": [], "accounts": "auth-dir"})
    del entry["base-url"]
    entry["endpoints"] = {"base": mock.base_url}
    return launch([entry], **{"auth-dir": str(auth)})


def statuses(mock) -> list[int]:
    return [r.status for r in mock.received]


def project(received) -> str:
    """The project a request billed to (the mock checked it is the token's)."""
    return received.body["project"]


def assert_envelope(received, streamed: bool) -> None:
    assert received.dialect == "code-assist"
    assert received.path == ("/v1internal:streamGenerateContent" if streamed else "/v1internal:generateContent")
    assert ("alt=sse" in received.query) == streamed
    assert set(received.body) == {"model", "project", "request"}
    assert received.body["model"] == MODEL
    assert PROJECT_OF[received.headers["authorization"].removeprefix("Bearer ")] == project(received)
    # Honest identity: no Gemini CLI user agent or API client header of Plugboard's making.
    assert "geminicli" not in received.headers.get("user-agent", "").lower()
    assert "x-goog-api-client" not in received.headers


def gemini_view(received):
    """The inner Gemini request, read back as if it had gone to the Gemini API."""
    inner = type(received)(received.method, "/v1beta/models/" + MODEL + ":generateContent", "", received.headers,
                           received.body["request"], received.raw)
    return read(inner)


def test_chat_completions_not_streamed(gcli, mock):
    mock.queue(text("Paris.", input_tokens=21, output_tokens=3))
    client = openai.OpenAI(base_url=gcli.base_url + "/v1", api_key=gcli.api_key, max_retries=0, timeout=30)

    answer = client.chat.completions.create(
        model=MODEL, temperature=0.2, max_tokens=100,
        messages=[{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Capital of France?"}])

    assert answer.choices[0].message.content == "Paris."
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (21, 3)
    assert statuses(mock) == [200]
    sent = mock.last()
    assert_envelope(sent, streamed=False)
    request = sent.body["request"]
    assert request["systemInstruction"] == {"parts": [{"text": "You are terse."}]}
    assert request["generationConfig"]["maxOutputTokens"] == 100
    assert gemini_view(sent).system == "You are terse."


def test_chat_completions_streamed(gcli, mock):
    sentence = "The sky is clear over Paris today."
    mock.queue(text(sentence, input_tokens=30, output_tokens=9, pace=0.01))
    client = openai.OpenAI(base_url=gcli.base_url + "/v1", api_key=gcli.api_key, max_retries=0, timeout=30)

    chunks = list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Sky?"}],
                                                 stream=True, stream_options={"include_usage": True}))

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == sentence
    assert chunks[-1].usage.completion_tokens == 9
    assert statuses(mock) == [200]
    assert_envelope(mock.last(), streamed=True)


def test_anthropic_messages_streamed_with_a_tool_round_trip(gcli, mock):
    client = anthropic.Anthropic(base_url=gcli.base_url, api_key=gcli.api_key, max_retries=0, timeout=30)
    mock.queue(tool_call("get_weather", {"city": "Paris"}, preamble="Checking."))
    messages = [{"role": "user", "content": "Weather in Paris?"}]

    with client.messages.stream(model=MODEL, max_tokens=256, system="Be brief.", tools=[WEATHER],
                                messages=messages) as stream:
        first = stream.get_final_message()

    assert first.stop_reason == "tool_use"
    [use] = [block for block in first.content if block.type == "tool_use"]
    assert (use.name, use.input) == ("get_weather", {"city": "Paris"})
    assert_envelope(mock.last(), streamed=True)
    assert mock.last().body["request"]["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"

    mock.queue(text("Sunny, 22°C."))
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny, 22C"}]}]
    second = client.messages.create(model=MODEL, max_tokens=256, tools=[WEATHER], messages=messages)

    assert second.content[0].text == "Sunny, 22°C."
    assert statuses(mock) == [200, 200]
    sent = mock.last()
    assert_envelope(sent, streamed=False)
    [call] = gemini_view(sent).parts(Call, "assistant")
    [result] = gemini_view(sent).parts(Result, "user")
    assert (call.name, call.args) == ("get_weather", {"city": "Paris"}) and "sunny, 22C" in result.text


def test_a_spent_quota_rests_the_account_and_the_request_fails_over(gcli, mock):
    mock.queue(code_assist_wire.quota_exhausted("3600s"), text("from the other account"))
    client = openai.OpenAI(base_url=gcli.base_url + "/v1", api_key=gcli.api_key, max_retries=0, timeout=30)

    answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])

    assert answer.choices[0].message.content == "from the other account"
    limited, served = mock.received
    assert (limited.status, served.status) == (429, 200)
    assert project(limited) != project(served)
    # The spent account rests (RetryInfo said an hour): the next requests go to the other.
    for turn in ("again", "and again"):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": turn}])
        assert project(mock.last()) == project(served)
    assert statuses(mock) == [429, 200, 200, 200]


def test_no_capacity_fails_over_too(gcli, mock):
    mock.queue(code_assist_wire.ErrorReply(503, "overloaded", "no capacity"), text("served elsewhere"))
    client = openai.OpenAI(base_url=gcli.base_url + "/v1", api_key=gcli.api_key, max_retries=0, timeout=30)

    chunks = list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True))

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "served elsewhere"
    busy, served = mock.received
    assert (busy.status, served.status) == (503, 200)
    assert project(busy) != project(served)


GOOD = {"model": MODEL, "project": PROJECT_OF[TOKEN_A],
        "request": {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}}


@pytest.mark.parametrize("body, status, says", [
    ({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}, 400, 'Unknown name "contents"'),
    ({"model": MODEL, "request": GOOD["request"]}, 400, "project is required"),
    ({**GOOD, "project": PROJECT_OF[TOKEN_B]}, 403, "Permission denied"),
    ({**GOOD, "request": {"contents": [{"role": "model", "parts": [{"text": "hi"}]}]}}, 400, "start with a user turn"),
    ({"model": MODEL, "project": PROJECT_OF[TOKEN_A]}, 400, "request is required"),
], ids=["bare-gemini-body", "no-project", "foreign-project", "bad-inner-request", "no-request"])
def test_the_mock_refuses_what_code_assist_refuses(mock, body, status, says):
    """The strict mock itself: a request the real service would refuse gets its refusal,
    so a story cannot pass with a wrong envelope."""
    url = mock.base_url + "/v1internal:generateContent"
    headers = {"authorization": f"Bearer {TOKEN_A}"}
    refused = httpx.post(url, json=body, headers=headers, timeout=10)
    message = refused.json()["error"]["message"]
    assert (refused.status_code, says in message) == (status, True), message
    assert httpx.post(url, json=GOOD, headers=headers, timeout=10).status_code == 200


def test_the_mock_wants_a_bearer_it_issued_and_answers_wrapped(mock):
    url = mock.base_url + "/v1internal:streamGenerateContent?alt=sse"
    for headers in [{}, {"authorization": "Bearer ya29.not-issued"}, {"x-goog-api-key": TOKEN_A}]:
        assert httpx.post(url, json=GOOD, headers=headers, timeout=10).status_code == 401, headers
    mock.queue(text("wrapped"))
    streamed = httpx.post(url, json=GOOD, headers={"authorization": f"Bearer {TOKEN_A}"}, timeout=10)
    frames = [json.loads(line[len("data: "):]) for line in streamed.text.splitlines() if line.startswith("data: ")]
    assert frames and all(set(frame) == {"response", "traceId"} for frame in frames)
    assert "".join(p.get("text", "") for f in frames for p in f["response"]["candidates"][0]["content"]["parts"]) == "wrapped"
    mock.queue(code_assist_wire.rate_limited("0.847655010s"))
    limited = httpx.post(url, json=GOOD, headers={"authorization": f"Bearer {TOKEN_A}"}, timeout=10)
    error = limited.json()["error"]
    assert (limited.status_code, error["status"]) == (429, "RESOURCE_EXHAUSTED")
    assert {"reason": "RATE_LIMIT_EXCEEDED"}.items() <= error["details"][0].items()
    assert error["details"][1]["retryDelay"] == "0.847655010s"


def test_antigravity_sends_an_agent_envelope_from_a_cliproxyapi_account(launch, mock, tmp_path):
    """The `antigravity` adapter shares the envelope: an account CLIProxyAPI left
    (`type: antigravity`, `project_id`), a Gemini model without `maxOutputTokens`."""
    auth = tmp_path / "auth"
    auth.mkdir()
    (auth / "antigravity-a@example.com.json").write_text(json.dumps({
        "type": "antigravity", "access_token": TOKEN_A, "refresh_token": "1//mock-refresh", "expires_in": 3599,
        "timestamp": 4070908800000, "expired": "2099-01-01T00:00:00Z", "email": "a@example.com",
        "project_id": PROJECT_OF[TOKEN_A]}))
    entry = provider("ag", "antigravity", mock, ["gemini-3-flash"], **{"api-keys": [], "accounts": "auth-dir"})
    del entry["base-url"]
    entry["endpoints"] = {"base": mock.base_url}
    gateway = launch([entry], **{"auth-dir": str(auth)})
    mock.queue(text("Hello from Antigravity.", pace=0.01))
    client = openai.OpenAI(base_url=gateway.base_url + "/v1", api_key=gateway.api_key, max_retries=0, timeout=30)

    chunks = list(client.chat.completions.create(model="gemini-3-flash", max_tokens=50, stream=True,
                                                 messages=[{"role": "user", "content": "hi"}]))

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello from Antigravity."
    sent = mock.last()
    assert (sent.status, sent.path, sent.body["project"]) == (200, "/v1internal:streamGenerateContent", PROJECT_OF[TOKEN_A])
    assert set(sent.body) == {"model", "project", "request", "requestType"} and sent.body["requestType"] == "agent"
    assert "maxOutputTokens" not in sent.body["request"].get("generationConfig", {})
    assert "antigravity" not in sent.headers.get("user-agent", "")
