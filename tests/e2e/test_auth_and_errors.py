"""Stories at the front door: who may use Plugboard, in which of the key styles real
clients send, and the errors a client gets for requests that cannot be served. Errors
come in the OpenAI shape (`{"error": {"message", "type", "param", "code"}}`) and never
reach the upstream."""

import httpx
import pytest

from conftest import CLAUDE_MODEL, GPT_MODEL
from plugboard_server import CLIENT_KEY, SECOND_CLIENT_KEY

HELLO = {"model": GPT_MODEL, "messages": [{"role": "user", "content": "hello"}]}


def post(gateway, body=HELLO, headers=None, params=None, content=None) -> httpx.Response:
    url = gateway.base_url + "/v1/chat/completions"
    if content is not None:
        return httpx.post(url, content=content, headers={"content-type": "application/json", **(headers or {})}, timeout=30)
    return httpx.post(url, json=body, headers=headers or {}, params=params, timeout=30)


def assert_openai_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"]
    return error


def test_health_needs_no_key(gateway):
    response = httpx.get(gateway.base_url + "/healthz", timeout=5)
    assert response.status_code == 200
    assert isinstance(response.json(), dict)


def test_a_request_without_a_key_is_refused(gateway, mock):
    assert_openai_error(post(gateway), 401)
    assert mock.received == []


def test_a_request_with_a_wrong_key_is_refused(gateway, mock):
    assert_openai_error(post(gateway, headers={"authorization": "Bearer sk-not-ours"}), 401)
    assert_openai_error(post(gateway, headers={"x-api-key": "sk-not-ours"}), 401)
    assert mock.received == []


@pytest.mark.parametrize(
    "style",
    [
        {"headers": {"authorization": f"Bearer {CLIENT_KEY}"}},
        {"headers": {"x-api-key": CLIENT_KEY}},
        {"headers": {"x-goog-api-key": CLIENT_KEY}},
        {"params": {"key": CLIENT_KEY}},
        {"headers": {"authorization": f"Bearer {SECOND_CLIENT_KEY}"}},
    ],
    ids=["bearer", "x-api-key", "x-goog-api-key", "query-key", "second-key"],
)
def test_every_key_style_real_clients_use_is_accepted(gateway, mock, style):
    response = post(gateway, **style)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "echo: hello"


def test_an_unknown_model_gets_a_404_naming_it(gateway, mock):
    error = assert_openai_error(post(gateway, {**HELLO, "model": "gpt-9-imaginary"}, {"x-api-key": CLIENT_KEY}), 404)
    assert "gpt-9-imaginary" in error["message"]
    assert mock.received == []


def test_malformed_json_gets_a_400(gateway, mock):
    assert_openai_error(post(gateway, headers={"x-api-key": CLIENT_KEY}, content=b'{"model": "gpt-mock-1", "messages": ['), 400)
    assert mock.received == []


def test_models_are_listed_and_an_alias_routes_to_its_model(gateway, mock):
    listed = httpx.get(gateway.base_url + "/v1/models", headers={"x-api-key": CLIENT_KEY}, timeout=5)
    assert listed.status_code == 200
    ids = {model["id"] for model in listed.json()["data"]}
    assert {GPT_MODEL, "claude"} <= ids, ids

    answer = post(gateway, {**HELLO, "model": "claude"}, {"x-api-key": CLIENT_KEY})
    assert answer.status_code == 200, answer.text
    assert mock.last().body["model"] == CLAUDE_MODEL


def test_a_model_can_be_pinned_to_one_provider_entry_by_name(gateway, mock):
    answer = post(gateway, {**HELLO, "model": f"gpt-upstream/{GPT_MODEL}"}, {"x-api-key": CLIENT_KEY})
    assert answer.status_code == 200, answer.text
    assert (mock.last().dialect, mock.last().body["model"]) == ("openai", GPT_MODEL)
