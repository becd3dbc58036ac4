"""Codex (an OpenAI Responses client) served by the anthropic adapter: the scripted
Anthropic upstream asks for Codex's shell tool (`exec_command`, which Codex declares for
a model it does not know), Codex runs `echo hi` and sends the output back, and the
upstream's final text is what Codex prints. The same run through a Claude subscription:
the entry's one account is a stored CLIProxyAPI `claude` file (a `claude-oauth` account),
sent as a bearer with the OAuth beta."""

from conftest import (
    FINAL_TEXT, TASK, ShellTool, explain, run_cli, scripted_model, subscription_refusals, tool_results,
)

MODEL = "claude-scripted"
EXEC = ShellTool("exec_command", {"cmd": "echo hi"})


def run_codex(home, gateway, model):
    codex_home = home / ".codex"
    codex_home.mkdir()
    (codex_home / "config.toml").write_text(f'''
model = "{model}"
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
    return run_cli(home, ["codex", "exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox", TASK],
                   {"PB_KEY": gateway.api_key, "CODEX_HOME": str(codex_home)})


def test_codex_runs_exec_command_through_the_anthropic_adapter(plugboard, mock, home):
    gateway = plugboard("anthropic", MODEL)
    mock.answer_with(scripted_model(EXEC))

    run = run_codex(home, gateway, MODEL)

    assert run.returncode == 0, explain(run, mock)
    assert FINAL_TEXT in run.output, explain(run, mock)
    assert any("hi" in result for result in tool_results(mock.received)), explain(run, mock)
    assert {r.dialect for r in mock.received if r.method == "POST"} == {"anthropic"}, explain(run, mock)


def test_codex_runs_exec_command_through_a_claude_oauth_account(plugboard, mock, home):
    gateway = plugboard("anthropic", MODEL, account="claude")
    mock.answer_with(scripted_model(EXEC))

    run = run_codex(home, gateway, MODEL)

    assert run.returncode == 0, explain(run, mock)
    assert FINAL_TEXT in run.output, explain(run, mock)
    assert any("hi" in result for result in tool_results(mock.received)), explain(run, mock)
    assert {r.dialect for r in mock.received if r.method == "POST"} == {"anthropic"}, explain(run, mock)
    assert subscription_refusals(mock.received, "claude") == [], explain(run, mock)
