"""Gemini CLI (a Gemini API client) served by the openai adapter: the scripted
OpenAI-compatible upstream asks for Gemini CLI's `run_shell_command` tool, Gemini CLI
runs `echo hi` and sends the output back, and the upstream's final text is what it prints.
The same run through a ChatGPT subscription: the `codex` adapter, its one account a
stored `codex` file, the strict Codex backend mock upstream."""

from conftest import (
    FINAL_TEXT, TASK, ShellTool, explain, run_cli, scripted_model, subscription_refusals, tool_results, write_json,
)

MODEL = "gpt-scripted"
SHELL = ShellTool("run_shell_command", {"command": "echo hi", "description": "Print hi"})


def run_gemini_cli(home, gateway, model):
    write_json(home / ".gemini" / "settings.json", {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
    })
    # `-m` names the model, so Gemini CLI skips its router request.
    return run_cli(home, ["gemini", "-p", TASK, "--yolo", "-m", model], {
        "GOOGLE_GEMINI_BASE_URL": gateway.base_url,
        "GEMINI_API_KEY": gateway.api_key,
        "GEMINI_CLI_TRUST_WORKSPACE": "true",
    })


def test_gemini_cli_runs_a_shell_command_through_the_openai_adapter(plugboard, mock, home):
    gateway = plugboard("openai", MODEL)
    mock.answer_with(scripted_model(SHELL))

    run = run_gemini_cli(home, gateway, MODEL)

    assert run.returncode == 0, explain(run, mock)
    assert FINAL_TEXT in run.output, explain(run, mock)
    assert any("hi" in result for result in tool_results(mock.received)), explain(run, mock)
    assert {r.dialect for r in mock.received if r.method == "POST"} == {"openai"}, explain(run, mock)


def test_gemini_cli_runs_a_shell_command_through_a_codex_subscription_account(plugboard, mock, home):
    gateway = plugboard("codex", "gpt-5-codex", account="codex")
    mock.answer_with(scripted_model(SHELL))

    run = run_gemini_cli(home, gateway, "gpt-5-codex")

    assert run.returncode == 0, explain(run, mock)
    assert FINAL_TEXT in run.output, explain(run, mock)
    assert any("hi" in result for result in tool_results(mock.received)), explain(run, mock)
    assert {r.dialect for r in mock.received if r.method == "POST"} == {"codex"}, explain(run, mock)
    assert subscription_refusals(mock.received, "codex") == [], explain(run, mock)
