"""Stories of the `copilot` adapter (a GitHub Copilot subscription) against the strict
scripted GitHub + Copilot of `copilot_wire`: `plugboard login` runs GitHub's device flow
(answered 200 with `authorization_pending` and `slow_down`), the store keeps only the
GitHub token, and `plugboard serve` exchanges it for a Copilot token whose
`endpoints.api` (a `*.githubcopilot.com` name on the mock's port, reached with the mock
as HTTP proxy) becomes the account's API base. One OpenAI client reaches a GPT model on
`/chat/completions`, a Claude model on `/v1/messages` and a Codex model on `/responses`;
`X-Initiator` says who wrote the last turn; a spent premium quota (402) cools the
account and fails over.
"""

from __future__ import annotations

import json
import shutil
import time

import anthropic
import httpx
import openai
import pytest

import copilot_wire
from copilot_wire import CopilotMock
from plugboard_server import ADAPTERS, Plugboard, built
from replies import text, tool_call

GPT, CLAUDE, CODEX = "gpt-4.1", "claude-sonnet-4.6", "gpt-5.1-codex"
# GitHub tokens the mock knows without a login (accounts written to the auth dir).
TOKEN_A = "ghu_mockAccountA0123456789abcdefghijkl"
TOKEN_B = "ghu_mockAccountB0123456789abcdefghijkl"
WEATHER_FN = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
WEATHER_TOOL = {"name": "get_weather", "description": "Current weather for a city.",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def account_file(token: str, user: str) -> dict:
    """An account as Plugboard stores a Copilot login: the GitHub token only."""
    return {"type": "copilot", "plugboard": 1, "access_token": token, "username": user}


class Copilot:
    """A mock, an auth dir and a Plugboard whose `copilot` entry (adapter `copilot`) uses
    them; `start()` serves."""

    def __init__(self, workdir, adapters, monkeypatch, accounts: dict, **mock_settings) -> None:
        self.mock = CopilotMock(known_github_tokens=tuple(accounts), **mock_settings)
        # The exchange names the API on a Copilot host: reached through the mock as a
        # proxy; GitHub's side (127.0.0.1) directly, as are the tests' own clients.
        for name in ("HTTP_PROXY", "http_proxy"):
            monkeypatch.setenv(name, self.mock.base_url)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.setenv(name, "127.0.0.1,localhost")
        self.auth = workdir / "auth"
        self.auth.mkdir()
        for token, user in accounts.items():
            (self.auth / f"copilot-{user}.json").write_text(json.dumps(account_file(token, user)))
        self.entry = {"name": "copilot", "adapter": "copilot", "models": [GPT, CLAUDE, CODEX],
                      "accounts": "auth-dir", "endpoints": self.mock.endpoints()}
        self.workdir = workdir
        self.adapters = adapters
        self.gateway: Plugboard | None = None

    def plugboard(self) -> Plugboard:
        if self.gateway is None:
            self.gateway = Plugboard(self.workdir, [self.entry], self.adapters, **{"auth-dir": str(self.auth)})
            self.gateway.config_path.write_text(json.dumps(self.gateway.config, indent=2))
        return self.gateway

    def start(self) -> Plugboard:
        return self.plugboard().start()

    def openai(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.gateway.base_url + "/v1", api_key=self.gateway.api_key, max_retries=0,
                             timeout=30)

    def close(self) -> None:
        if self.gateway:
            self.gateway.stop()
        self.mock.close()


@pytest.fixture(scope="module")
def copilot_only(tmp_path_factory):
    """An adapters dir with the copilot component alone: each server compiles only it."""
    adapters = tmp_path_factory.mktemp("copilot-adapters")
    shutil.copy(built(ADAPTERS / "copilot.wasm"), adapters / "copilot.wasm")
    return adapters


@pytest.fixture
def setup(tmp_path, monkeypatch, copilot_only):
    made: list[Copilot] = []

    def make(accounts: dict | None = None, **mock_settings) -> Copilot:
        copilot = Copilot(tmp_path, copilot_only, monkeypatch, accounts or {}, **mock_settings)
        made.append(copilot)
        return copilot

    yield make
    for copilot in made:
        copilot.close()


def bearer(received) -> str:
    return received.headers["authorization"].removeprefix("Bearer ")


def assert_api_call(received, mock: CopilotMock, path: str) -> None:
    """A generation call as Copilot wants it: on the exchanged API host, the Copilot
    token (not the GitHub one) as bearer, the required headers, nothing forged."""
    assert (received.path, received.status) == (path, 200), (received.path, received.status)
    assert received.host == f"{copilot_wire.API_HOST}:{mock.port}"
    assert bearer(received).startswith("tid=")
    headers = received.headers
    assert headers["copilot-integration-id"] == "vscode-chat"
    assert headers["editor-version"].startswith("vscode/")
    assert headers["editor-plugin-version"].startswith("copilot-chat/")
    assert headers["x-github-api-version"]
    assert headers["openai-intent"] == "conversation-panel"
    assert not any(name.startswith("vscode-") for name in headers), headers


def test_a_device_login_keeps_the_github_token_and_one_client_reaches_gpt_and_claude(setup):
    copilot = setup(pending_polls=2, slow_down=True)
    mock = copilot.mock
    gateway = copilot.plugboard()

    login = gateway.cli("login", "copilot", "--no-browser", "--config", str(gateway.config_path))

    assert login.returncode == 0, login.stdout + login.stderr
    shown = next(line for line in login.stderr.splitlines() if "enter the code" in line)
    assert f"Open {mock.base_url}/login/device " in shown and "MOCK-" in shown
    polls = [r for r in mock.received if r.path == "/login/oauth/access_token"]
    # Two `authorization_pending`, one `slow_down` (the next poll waited the 5 s more,
    # or the mock would have said `slow_down` again), then the token: all answered 200.
    assert len(polls) == 4 and {r.status for r in polls} == {200}
    assert all(r.body["client_id"] == copilot_wire.CLIENT_ID for r in polls)
    [start] = [r for r in mock.received if r.path == "/login/device/code"]
    assert start.body["scope"] == "read:user"
    [github_token] = mock.issued_github
    [file] = list(copilot.auth.glob("*.json"))
    stored = json.loads(file.read_text())
    assert stored["type"] == "copilot" and stored["access_token"] == github_token
    assert "tid=" not in file.read_text(), "the short-lived Copilot token is never stored"
    assert github_token not in login.stdout + login.stderr

    copilot.start()
    client = copilot.openai()
    answer = client.chat.completions.create(model=GPT, messages=[{"role": "user", "content": "Say hi"}])
    chunks = list(client.chat.completions.create(model=CLAUDE, stream=True, max_tokens=200,
                                                 messages=[{"role": "user", "content": "Say bonjour"}]))

    assert answer.choices[0].message.content == "echo: Say hi"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: Say bonjour"
    gpt_call, claude_call = mock.api_calls()
    assert_api_call(gpt_call, mock, "/chat/completions")
    assert_api_call(claude_call, mock, "/v1/messages")
    assert claude_call.headers["anthropic-version"] == "2023-06-01"
    assert claude_call.body["model"] == CLAUDE and claude_call.body["stream"] is True
    assert gpt_call.account == claude_call.account == github_token
    # The exchange presented the GitHub token as `token …`, once for both requests.
    [exchange] = [r for r in mock.received if r.path == "/copilot_internal/v2/token"]
    assert exchange.headers["authorization"] == f"token {github_token}"
    assert mock.exchanges[github_token] == 1
    assert bearer(gpt_call) == bearer(claude_call)
    # The client's own User-Agent goes on; no other program's is made up.
    assert gpt_call.headers["user-agent"].startswith("OpenAI/Python")
    assert gpt_call.initiator == claude_call.initiator == "user"
    log = gateway.log_text()
    assert github_token not in log and bearer(gpt_call) not in log


def test_the_copilot_token_is_renewed_before_it_expires_and_after_a_401(setup):
    # It lives 300 s + 12 s: the adapter's 300 s lead makes it due 12 s after the exchange.
    copilot = setup({TOKEN_A: "octo-a"}, token_lifetime=312)
    mock = copilot.mock
    copilot.start()
    client = copilot.openai()

    def ask(what: str) -> str:
        return client.chat.completions.create(model=GPT, messages=[{"role": "user", "content": what}]
                                              ).choices[0].message.content

    assert ask("one") == "echo: one"
    assert ask("two") == "echo: two"
    first, second = mock.api_calls()
    assert mock.exchanges[TOKEN_A] == 1 and bearer(first) == bearer(second), "cached while fresh"

    time.sleep(13)
    assert ask("three") == "echo: three"
    assert mock.exchanges[TOKEN_A] == 2, "renewed once due"
    assert bearer(mock.api_calls()[-1]) != bearer(first)

    # Revoked early: the API says 401, the host exchanges again and retries once.
    mock.revoke_copilot_tokens()
    assert ask("four") == "echo: four"
    refused, served = mock.api_calls()[-2:]
    assert (refused.status, served.status) == (401, 200)
    assert mock.exchanges[TOKEN_A] == 3 and bearer(served) != bearer(refused)


def test_x_initiator_is_user_on_a_persons_turn_and_agent_on_a_tool_result_turn(setup):
    copilot = setup({TOKEN_A: "octo-a"})
    mock = copilot.mock
    copilot.start()
    client = copilot.openai()
    mock.queue(tool_call("get_weather", {"city": "Paris"}), text("Sunny, 22°C."))
    messages = [{"role": "user", "content": "Weather in Paris?"}]

    first = client.chat.completions.create(model=GPT, tools=[WEATHER_FN], messages=messages, stream=True)
    calls = [c.choices[0].delta.tool_calls for c in first if c.choices and c.choices[0].delta.tool_calls]
    call_id = calls[0][0].id
    messages += [{"role": "assistant", "content": None, "tool_calls": [{"id": call_id, "type": "function", "function": {
        "name": "get_weather", "arguments": json.dumps({"city": "Paris"})}}]},
        {"role": "tool", "tool_call_id": call_id, "content": "sunny, 22C"}]
    second = client.chat.completions.create(model=GPT, tools=[WEATHER_FN], messages=messages)

    assert second.choices[0].message.content == "Sunny, 22°C."
    asked, answered = mock.api_calls()
    assert (asked.initiator, answered.initiator) == ("user", "agent")
    assert answered.body["messages"][-1]["role"] == "tool"
    # A person's next question after the tool loop is a user turn again.
    messages += [{"role": "assistant", "content": "Sunny, 22°C."}, {"role": "user", "content": "And Lyon?"}]
    client.chat.completions.create(model=GPT, messages=messages)
    assert mock.api_calls()[-1].initiator == "user"

    # The same from an Anthropic client on a Claude model: its tool-result-only user turn.
    claude = anthropic.Anthropic(base_url=copilot.gateway.base_url, api_key=copilot.gateway.api_key, max_retries=0,
                                 timeout=30)
    mock.queue(tool_call("get_weather", {"city": "Paris"}), text("Sunny."))
    turns = [{"role": "user", "content": "Weather in Paris?"}]
    use_turn = claude.messages.create(model=CLAUDE, max_tokens=256, tools=[WEATHER_TOOL], messages=turns)
    [use] = [b for b in use_turn.content if b.type == "tool_use"]
    turns += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in use_turn.content]},
              {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]}]
    done = claude.messages.create(model=CLAUDE, max_tokens=256, tools=[WEATHER_TOOL], messages=turns)
    assert done.content[0].text == "Sunny."
    asked, answered = mock.api_calls()[-2:]
    assert (asked.path, answered.path) == ("/v1/messages", "/v1/messages")
    assert (asked.initiator, answered.initiator) == ("user", "agent")


@pytest.mark.parametrize("stream", [False, True], ids=["not-streamed", "streamed"])
def test_a_spent_premium_quota_cools_the_account_and_the_request_fails_over(setup, stream):
    copilot = setup({TOKEN_A: "octo-a", TOKEN_B: "octo-b"})
    mock = copilot.mock
    copilot.start()
    client = copilot.openai()
    mock.queue(copilot_wire.quota_exceeded())

    def ask(model: str, what: str) -> str:
        messages = [{"role": "user", "content": what}]
        if not stream:
            return client.chat.completions.create(model=model, max_tokens=100, messages=messages).choices[0].message.content
        chunks = client.chat.completions.create(model=model, max_tokens=100, messages=messages, stream=True)
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    assert ask(CLAUDE, "hi") == "echo: hi"
    spent, served = mock.api_calls()
    assert (spent.status, served.status) == (402, 200)
    assert spent.account != served.account
    assert served.body.get("stream", False) is stream
    # The spent account rests: the other one serves what follows.
    assert ask(GPT, "again") == "echo: again"
    assert ask(CLAUDE, "and again") == "echo: and again"
    assert [r.account for r in mock.api_calls()[2:]] == [served.account] * 2
    assert [r.status for r in mock.api_calls()] == [402, 200, 200, 200]
    assert mock.exchanges[spent.account] == 1 and mock.exchanges[served.account] == 1


def test_an_editors_apps_json_and_a_cliproxyapi_file_import_and_serve(setup, tmp_path):
    """Accounts a user already has: a Copilot editor's `apps.json` and CLIProxyAPI's
    `github-copilot` file import as `copilot` accounts holding the GitHub token, and
    serve through the exchange like a login's."""
    editor_token, cpa_token = TOKEN_A, TOKEN_B
    copilot = setup()
    mock = copilot.mock
    mock.github_tokens.update({editor_token, cpa_token})
    apps = tmp_path / "github-copilot" / "apps.json"
    apps.parent.mkdir()
    apps.write_text(json.dumps({f"github.com:{copilot_wire.CLIENT_ID}": {
        "user": "octo-editor", "oauth_token": editor_token, "githubAppId": copilot_wire.CLIENT_ID}}))
    cpa = tmp_path / "cli-proxy-api" / "github-copilot-octo-cpa.json"
    cpa.parent.mkdir()
    cpa.write_text(json.dumps({"access_token": cpa_token, "token_type": "bearer", "scope": "read:user",
                               "username": "octo-cpa", "email": "", "name": "Octo", "type": "github-copilot"}))
    gateway = copilot.plugboard()

    imported = gateway.cli("accounts", "import", str(apps), str(cpa), "--config", str(gateway.config_path))

    assert imported.returncode == 0, imported.stdout + imported.stderr
    stored = [json.loads(f.read_text()) for f in copilot.auth.glob("*.json")]
    assert sorted(s.get("access_token") or s.get("github_token") for s in stored) == sorted([editor_token, cpa_token])
    copilot.start()
    mock.queue(copilot_wire.quota_exceeded())
    answer = copilot.openai().chat.completions.create(model=GPT, messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "echo: hi"
    spent, served = mock.api_calls()
    assert {spent.account, served.account} == {editor_token, cpa_token}
    assert_api_call(served, mock, "/chat/completions")


def test_a_codex_model_goes_to_responses_and_streams_usage_back(setup):
    copilot = setup({TOKEN_A: "octo-a"})
    mock = copilot.mock
    copilot.start()
    client = copilot.openai()
    mock.queue(text("Patched.", input_tokens=40, output_tokens=6))

    chunks = list(client.chat.completions.create(model=CODEX, stream=True, stream_options={"include_usage": True},
                                                 messages=[{"role": "user", "content": "Fix the bug"}]))

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Patched."
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (40, 6)
    [call] = mock.api_calls()
    assert_api_call(call, mock, "/responses")
    assert call.body["model"] == CODEX and call.initiator == "user"


def test_a_responses_client_on_a_codex_model_keeps_its_tool_loop_on_responses(setup):
    copilot = setup({TOKEN_A: "octo-a"})
    mock = copilot.mock
    copilot.start()
    client = copilot.openai()
    shell = {"type": "function", "name": "shell", "description": "Run a command.",
             "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}}
    mock.queue(tool_call("shell", {"cmd": "echo hi"}), text("It printed hi."))

    with client.responses.stream(model=CODEX, input="Run echo hi", tools=[shell]) as stream:
        first = stream.get_final_response()
    [call] = [item for item in first.output if item.type == "function_call"]
    second = client.responses.create(model=CODEX, tools=[shell], input=[
        {"role": "user", "content": "Run echo hi"},
        {"type": "function_call", "call_id": call.call_id, "name": "shell", "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "hi"}])

    assert (call.name, json.loads(call.arguments)) == ("shell", {"cmd": "echo hi"})
    assert second.output_text == "It printed hi."
    asked, answered = mock.api_calls()
    for sent in (asked, answered):
        assert_api_call(sent, mock, "/responses")
    assert (asked.initiator, answered.initiator) == ("user", "agent")
    assert answered.body["input"][-1]["type"] == "function_call_output"


def test_copilots_refusals_reach_the_client_classified(setup):
    copilot = setup({TOKEN_A: "octo-a"})
    mock = copilot.mock
    copilot.start()
    client = copilot.openai()

    mock.queue(copilot_wire.prompt_too_long())
    with pytest.raises(openai.BadRequestError) as too_long:
        client.chat.completions.create(model=GPT, messages=[{"role": "user", "content": "a very long prompt"}])
    assert "exceeds the limit" in str(too_long.value)

    mock.queue(copilot_wire.rate_limited(retry_after=30))
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model=CLAUDE, max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    assert [r.status for r in mock.api_calls()] == [400, 429]


def test_stale_version_strings_are_refused_with_466_and_the_message_says_where_to_change_them(setup):
    copilot = setup({TOKEN_A: "octo-a"})
    # An entry can set the version strings itself; here it sets one that is too old.
    copilot.entry["config"] = {"extra-headers": {"editor-version": "vscode/1.95.0"}}
    copilot.start()

    with pytest.raises(openai.APIStatusError) as refused:
        copilot.openai().chat.completions.create(model=GPT, messages=[{"role": "user", "content": "hi"}])

    [call] = copilot.mock.api_calls()
    assert (call.status, call.headers["editor-version"]) == (466, "vscode/1.95.0")
    assert refused.value.status_code == 400
    assert "adapters/copilot/src/headers.rs" in str(refused.value)


def test_the_mock_refuses_what_copilot_refuses(setup):
    """The strict mock itself, so no story passes with a wrong request."""
    mock = setup({TOKEN_A: "octo-a"}).mock
    exchange = mock.base_url + "/copilot_internal/v2/token"
    assert httpx.get(exchange, headers={"authorization": f"Bearer {TOKEN_A}"}).status_code == 401
    assert httpx.get(exchange, headers={"authorization": "token ghu_unknown"}).status_code == 401
    copilot_token = httpx.get(exchange, headers={"authorization": f"token {TOKEN_A}"}).json()["token"]
    url = mock.base_url + "/chat/completions"
    body = {"model": GPT, "messages": [{"role": "user", "content": "hi"}]}
    good = {"authorization": f"Bearer {copilot_token}", "copilot-integration-id": "vscode-chat",
            "editor-version": "vscode/1.109.2", "editor-plugin-version": "copilot-chat/0.35.0",
            "x-github-api-version": "2025-10-01", "x-initiator": "user"}
    assert httpx.post(url, json=body, headers=good).status_code == 200
    for broken, status in [({"authorization": f"Bearer {TOKEN_A}"}, 401), ({"editor-version": ""}, 400),
                           ({"editor-version": "vscode/1.100.0"}, 466), ({"x-github-api-version": "2025-04-01"}, 466),
                           ({"x-initiator": ""}, 400)]:
        assert httpx.post(url, json=body, headers={**good, **broken}).status_code == status, broken
    assert httpx.post(url, json={**body, "model": CODEX}, headers=good).json()["error"]["code"] == "unsupported_api_for_model"
    assert httpx.post(url, json={**body, "model": "gpt-9"}, headers=good).json()["error"]["code"] == "model_not_supported"
    models = httpx.get(mock.base_url + "/models", headers=good).json()["data"]
    assert {m["id"]: m["supported_endpoints"] for m in models}[CLAUDE] == ["/chat/completions", "/v1/messages"]
    mock.revoke_copilot_tokens()
    assert httpx.post(url, json=body, headers=good).status_code == 401


def test_the_accounts_quota_and_models_are_read_and_a_model_only_the_upstream_lists_is_served(setup):
    """The `quota` read (`copilot_internal/user`, with the GitHub token) and the `models`
    read (`/models` on the exchanged API host, with the Copilot token) run when the
    server starts: `accounts list` shows the premium-interaction quota, and a model the
    adapter's table does not know but the account's `/models` lists is listed and served
    on the route `/models` names."""
    copilot = setup({TOKEN_A: "octo"})
    del copilot.entry["models"]  # the adapter's table plus what the reads find
    mock = copilot.mock
    gateway = copilot.start()
    client = copilot.openai()

    deadline, listed = time.monotonic() + 15, []
    while time.monotonic() < deadline and "gemini-2.5-pro" not in listed:
        listed = [model.id for model in client.models.list()]
        time.sleep(0.2)
    assert "gemini-2.5-pro" in listed
    answer = client.chat.completions.create(model="gemini-2.5-pro", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content
    calls = [r for r in mock.received if r.path in copilot_wire.API_PATHS]
    assert_api_call(calls[-1], mock, "/chat/completions")
    assert calls[-1].body["model"] == "gemini-2.5-pro"

    reads = [r for r in mock.received if r.path in ("/copilot_internal/user", "/models")]
    user = next(r for r in reads if r.path == "/copilot_internal/user")
    assert user.headers["authorization"] == f"token {TOKEN_A}"
    models = next(r for r in reads if r.path == "/models")
    assert models.host == f"{copilot_wire.API_HOST}:{mock.port}"
    assert bearer(models).startswith("tid=")

    deadline, shown = time.monotonic() + 15, ""
    while time.monotonic() < deadline and "premium_interactions" not in shown:
        shown = gateway.cli("accounts", "list", "--config", str(gateway.config_path)).stdout
        time.sleep(0.5)
    assert "premium_interactions 300/1500" in shown, shown
    as_json = json.loads(gateway.cli("accounts", "list", "--json", "--config", str(gateway.config_path)).stdout)
    assert "ghu_" not in json.dumps(as_json)
