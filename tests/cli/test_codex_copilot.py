"""Codex CLI (an OpenAI Responses client) served from a GitHub Copilot account: the
entry's one account is a stored `copilot` file (the GitHub token only); Plugboard
exchanges it for a Copilot token at the scripted GitHub + Copilot of
`tests/e2e/copilot_wire.py`, whose `endpoints.api` (a `*.githubcopilot.com` name on the
mock's port, reached with the mock as Plugboard's HTTP proxy) is where the requests go.
The model is a Codex model, served on Copilot's `/responses`; the scripted model asks
for Codex's shell tool, Codex runs `echo hi` and sends the output back, and the final
text is what Codex prints. The tool-result turn is billed as `agent`.
"""

from __future__ import annotations

import json
import shutil

from conftest import FINAL_TEXT, TASK, run_cli, write_json
from copilot_wire import API_HOST, CopilotMock
from plugboard_server import ADAPTERS, Plugboard, built
from replies import text, tool_call

# A name Codex does not know (so it declares its generic `exec_command` tool), aliased
# to the Copilot model that serves it.
ALIAS, UPSTREAM = "copilot-codex", "gpt-5.1-codex"
GITHUB_TOKEN = "ghu_mockCodexCliAccount0123456789abcd"


def scripted(received):
    """The main request first gets a call to `exec_command`; once its output is in the
    input, the final text; side requests get short text."""
    body = received.body if isinstance(received.body, dict) else {}
    items = body.get("input") if isinstance(body.get("input"), list) else []
    if any(i.get("type") == "function_call_output" and "hi" in json.dumps(i.get("output")) for i in items
           if isinstance(i, dict)):
        return text(FINAL_TEXT)
    if any(isinstance(t, dict) and t.get("name") == "exec_command" for t in body.get("tools") or []):
        return tool_call("exec_command", {"cmd": "echo hi"})
    return text("Echo hi")


def test_codex_runs_exec_command_through_a_copilot_account(tmp_path, monkeypatch, home):
    mock = CopilotMock(known_github_tokens=(GITHUB_TOKEN,))
    auth = tmp_path / "auth"
    write_json(auth / "copilot-octo.json",
               {"type": "copilot", "plugboard": 1, "access_token": GITHUB_TOKEN, "username": "octo"})
    adapters = tmp_path / "adapters"
    adapters.mkdir()
    shutil.copy(built(ADAPTERS / "copilot.wasm"), adapters / "copilot.wasm")
    workdir = tmp_path / "plugboard"
    workdir.mkdir()
    entry = {"name": "copilot", "adapter": "copilot", "accounts": "auth-dir", "endpoints": mock.endpoints(),
             "models": [{"name": UPSTREAM, "alias": ALIAS}]}
    gateway = Plugboard(workdir, [entry], adapters, **{"auth-dir": str(auth)})
    mock.answer_with(scripted)
    try:
        # Only Plugboard uses the mock as its proxy; the CLI talks to Plugboard directly.
        with monkeypatch.context() as env:
            for name in ("HTTP_PROXY", "http_proxy"):
                env.setenv(name, mock.base_url)
            for name in ("NO_PROXY", "no_proxy"):
                env.setenv(name, "127.0.0.1,localhost")
            gateway.start()
        codex_home = home / ".codex"
        codex_home.mkdir()
        (codex_home / "config.toml").write_text(f'''
model = "{ALIAS}"
model_provider = "pb"
check_for_update_on_startup = false

[model_providers.pb]
name = "Plugboard"
base_url = "{gateway.base_url}/v1"
env_key = "PB_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false

[otel]
exporter = "none"
''')
        run = run_cli(home, ["codex", "exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
                             TASK], {"PB_KEY": gateway.api_key, "CODEX_HOME": str(codex_home)})

        calls = mock.api_calls()
        story = f"{run.output[-4000:]}\n--- calls ---\n" + "\n".join(
            f"{c.path} {c.status} {c.initiator} {c.host}" for c in calls) + f"\n--- log ---\n{gateway.log_text()[-4000:]}"
        assert run.returncode == 0, story
        assert FINAL_TEXT in run.output, story
        assert calls and all(c.path == "/responses" and c.status == 200 for c in calls), story
        assert {c.host for c in calls} == {f"{API_HOST}:{mock.port}"}, story
        assert all(c.account == GITHUB_TOKEN and c.body["model"] == UPSTREAM for c in calls), story
        results = [c for c in calls if any(isinstance(i, dict) and i.get("type") == "function_call_output"
                                           for i in c.body.get("input") or [])]
        assert results and all(c.initiator == "agent" for c in results), story
        assert calls[0].initiator == "user", story
        assert mock.exchanges[GITHUB_TOKEN] == 1, story
    finally:
        gateway.stop()
        mock.close()
