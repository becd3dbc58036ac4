"""Claude Code (an Anthropic Messages client) served by the openai adapter: the scripted
OpenAI-compatible upstream asks for Claude Code's `Bash` tool, Claude Code runs
`echo hi` and sends the output back, and the upstream's final text is what it prints.
The same run through a ChatGPT subscription: the `codex` adapter, its one account a
stored `codex` file, the strict Codex backend mock upstream; and through a Kiro
subscription: the `kiro` adapter, CLIProxyAPI's `kiro` file of a social login, the strict
Kiro mock (event-stream answers; every structural refusal of the real API)."""

from conftest import (
    FINAL_TEXT, TASK, ShellTool, explain, run_cli, scripted_model, subscription_refusals, tool_results,
)

MODEL = "gpt-scripted"
BASH = ShellTool("Bash", {"command": "echo hi", "description": "Print hi"})


def run_claude_code(home, gateway, model):
    return run_cli(home, ["claude", "-p", TASK, "--allowedTools", "Bash", "--model", model], {
        "ANTHROPIC_BASE_URL": gateway.base_url,
        "ANTHROPIC_API_KEY": gateway.api_key,
        # Every model Claude Code picks on its own (titles, summaries) is the scripted one.
        "ANTHROPIC_MODEL": model,
        "ANTHROPIC_SMALL_FAST_MODEL": model,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": model,
        "ANTHROPIC_DEFAULT_SONNET_MODEL": model,
        "ANTHROPIC_DEFAULT_OPUS_MODEL": model,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_MAX_RETRIES": "1",
    })


def test_claude_code_runs_bash_through_the_openai_adapter(plugboard, mock, home):
    gateway = plugboard("openai", MODEL)
    mock.answer_with(scripted_model(BASH))

    run = run_claude_code(home, gateway, MODEL)

    assert run.returncode == 0, explain(run, mock)
    assert FINAL_TEXT in run.output, explain(run, mock)
    assert any("hi" in result for result in tool_results(mock.received)), explain(run, mock)
    assert {r.dialect for r in mock.received if r.method == "POST"} == {"openai"}, explain(run, mock)


def test_claude_code_runs_bash_through_a_codex_subscription_account(plugboard, mock, home):
    gateway = plugboard("codex", "gpt-5-codex", account="codex")
    mock.answer_with(scripted_model(BASH))

    run = run_claude_code(home, gateway, "gpt-5-codex")

    assert run.returncode == 0, explain(run, mock)
    assert FINAL_TEXT in run.output, explain(run, mock)
    assert any("hi" in result for result in tool_results(mock.received)), explain(run, mock)
    assert {r.dialect for r in mock.received if r.method == "POST"} == {"codex"}, explain(run, mock)
    assert subscription_refusals(mock.received, "codex") == [], explain(run, mock)


def test_claude_code_runs_bash_through_a_kiro_subscription_account(plugboard, mock, home):
    gateway = plugboard("kiro", "claude-sonnet-4-5", account="kiro")
    mock.answer_with(scripted_model(BASH))

    run = run_claude_code(home, gateway, "claude-sonnet-4-5")

    assert run.returncode == 0, explain(run, mock)
    assert FINAL_TEXT in run.output, explain(run, mock)
    assert any("hi" in result for result in tool_results(mock.received)), explain(run, mock)
    assert {r.dialect for r in mock.received if r.method == "POST"} == {"kiro"}, explain(run, mock)
    assert subscription_refusals(mock.received, "kiro") == [], explain(run, mock)
