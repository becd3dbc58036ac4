"""opencode (an OpenAI-compatible Chat client) served by the gemini adapter: the scripted
Gemini upstream asks for opencode's `bash` tool, opencode runs `echo hi` and sends the
output back, and the upstream's final text is what opencode prints."""

from conftest import (
    FINAL_TEXT,
    TASK,
    ShellTool,
    explain,
    run_cli,
    scripted_model,
    subscription_refusals,
    tool_results,
    write_json,
)

MODEL = "gemini-scripted"


def test_opencode_runs_a_shell_tool_through_the_gemini_adapter(plugboard, mock, home):
    gateway = plugboard("gemini", MODEL)
    mock.answer_with(scripted_model(ShellTool("bash", {"command": "echo hi", "description": "Print hi"})))
    write_json(home / ".config" / "opencode" / "opencode.json", {
        "$schema": "https://opencode.ai/config.json",
        "provider": {"pb": {
            "npm": "@ai-sdk/openai-compatible",
            "name": "Plugboard",
            "options": {"baseURL": gateway.base_url + "/v1", "apiKey": gateway.api_key},
            "models": {MODEL: {"name": MODEL, "tool_call": True}},
        }},
        "model": f"pb/{MODEL}",
        # Its title request goes to the same model, so no request names a model Plugboard lacks.
        "small_model": f"pb/{MODEL}",
        "autoupdate": False,
        "share": "disabled",
        "permission": {"bash": "allow", "edit": "allow"},
    })

    run = run_cli(home, ["opencode", "run", TASK], {"OPENCODE_DISABLE_MODELS_FETCH": "1", "OPENCODE_DISABLE_AUTOUPDATE": "1"})

    assert run.returncode == 0, explain(run, mock)
    assert FINAL_TEXT in run.output, explain(run, mock)
    assert any("hi" in result for result in tool_results(mock.received)), explain(run, mock)
    assert {r.dialect for r in mock.received if r.method == "POST"} == {"gemini"}, explain(run, mock)


def test_opencode_runs_a_shell_tool_through_an_antigravity_subscription_account(plugboard, mock, home):
    """opencode (OpenAI Chat) to an Antigravity account from a CLIProxyAPI auth folder:
    the strict Code Assist mock answers only its token, and only for its project."""
    model = "gemini-3-flash"
    gateway = plugboard("antigravity", model, account="antigravity")
    mock.answer_with(scripted_model(ShellTool("bash", {"command": "echo hi", "description": "Print hi"})))
    write_json(home / ".config" / "opencode" / "opencode.json", {
        "$schema": "https://opencode.ai/config.json",
        "provider": {"pb": {
            "npm": "@ai-sdk/openai-compatible",
            "name": "Plugboard",
            "options": {"baseURL": gateway.base_url + "/v1", "apiKey": gateway.api_key},
            "models": {model: {"name": model, "tool_call": True}},
        }},
        "model": f"pb/{model}",
        "small_model": f"pb/{model}",
        "autoupdate": False,
        "share": "disabled",
        "permission": {"bash": "allow", "edit": "allow"},
    })

    run = run_cli(home, ["opencode", "run", TASK], {"OPENCODE_DISABLE_MODELS_FETCH": "1", "OPENCODE_DISABLE_AUTOUPDATE": "1"})

    assert run.returncode == 0, explain(run, mock)
    assert FINAL_TEXT in run.output, explain(run, mock)
    assert any("hi" in result for result in tool_results(mock.received)), explain(run, mock)
    assert {r.dialect for r in mock.received if r.method == "POST"} == {"code-assist"}, explain(run, mock)
    assert subscription_refusals(mock.received, "antigravity") == [], explain(run, mock)
