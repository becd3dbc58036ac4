"""Fixtures for the real coding CLIs: the scripted upstream from tests/e2e, a Plugboard
per story, a throwaway HOME per CLI run, and a runner that bounds each run and shows
everything (CLI output, upstream requests, Plugboard log) when a story fails.

`just test-cli` installs the CLIs (`npm ci` in this folder) and builds the host and the
components before pytest runs; nothing here installs or builds anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))

import code_assist_wire  # noqa: E402
import codex_wire  # noqa: E402
import kiro_wire  # noqa: E402
from anthropic_wire import OAUTH_BETA, OAUTH_TOKEN  # noqa: E402
from mock_upstream import MockUpstream, Received  # noqa: E402
from plugboard_server import LIVE, Plugboard, provider  # noqa: E402
from upstream_fixtures import mock, upstream  # noqa: E402, F401 - fixtures, found by name
from replies import text, tool_call  # noqa: E402
from upstream_view import Result, read  # noqa: E402

BIN = HERE / "node_modules" / ".bin"
# How long one CLI run may take, seconds (a healthy run takes 5-30 s).
RUN_TIMEOUT = int(os.environ.get("PLUGBOARD_CLI_TIMEOUT", "120"))
# What the scripted model answers once it has seen the tool's output.
FINAL_TEXT = "The command printed hi. PLUGBOARD-CLI-DONE"
TASK = "Run the shell command `echo hi` with your shell tool, then tell me what it printed."
# The subscription accounts a story can serve from a credential store (the `account`
# of the `plugboard` fixture): the Codex backend's token and ChatGPT account the mock
# issued, and the Claude OAuth token it takes as a bearer with the OAuth beta.
CODEX_TOKEN, CODEX_ACCOUNT = next(iter(codex_wire.TOKENS.items()))
# The Kiro token the generation mock issued with a profile ARN (a social login's).
KIRO_TOKEN, KIRO_PROFILE_ARN = next((t, arn) for t, arn in kiro_wire.TOKENS.items() if arn)


@dataclass
class ShellTool:
    """How the scripted model calls one CLI's own shell tool: its name as the CLI
    declares it, and the arguments in the CLI's own shape."""

    name: str
    arguments: dict


def tool_results(received: list[Received]) -> list[str]:
    """Texts of every tool result the upstream received, in any dialect."""
    out = []
    for request in received:
        if request.method == "POST" and request.dialect != "unknown" and request.status == 200:
            out += [part.text for part in read(request).parts(Result)]
    return out


def scripted_model(shell: ShellTool):
    """A responder for the mock: the CLI's main request (the one declaring its shell
    tool) first gets a call to that tool; once a tool result is in the conversation it
    gets FINAL_TEXT; any side request (titles, routers, summaries) gets short text."""

    def respond(received: Received):
        if received.dialect == "unknown" or not isinstance(received.body, dict):
            return None
        conversation = read(received)
        if any("hi" in part.text for part in conversation.parts(Result)):
            return text(FINAL_TEXT)
        if shell.name in conversation.tools:
            return tool_call(shell.name, shell.arguments)
        return text("Echo hi")

    return respond


def subscription_refusals(received: list[Received], account: str) -> list[str]:
    """Every way the upstream's requests failed to carry the stored `account` as its
    provider wants it (empty when all did): `codex`, a bearer of the backend's token with
    that token's `chatgpt-account-id`; `kiro`, its bearer and its profile ARN in the body;
    `claude`, the OAuth token as a bearer with the
    OAuth beta and no `x-api-key`; `antigravity`, its token as a bearer and its project in
    the Code Assist envelope. Any request the mock refused is named too."""
    problems = []
    posts = [r for r in received if r.method == "POST"]
    if not posts:
        return ["the upstream received no request"]
    for i, r in enumerate(posts):
        where = f"request {i} ({r.path})"
        if r.status != 200:
            problems.append(f"{where}: the mock answered {r.status}, not 200")
        if account == "antigravity":
            token, project = next(iter(code_assist_wire.TOKENS.items()))
            if r.headers.get("authorization") != f"Bearer {token}":
                problems.append(f"{where}: not the antigravity account's bearer")
            if not isinstance(r.body, dict) or r.body.get("project") != project:
                problems.append(f"{where}: the envelope does not name the account's project")
        elif account == "kiro":
            if r.headers.get("authorization") != f"Bearer {KIRO_TOKEN}":
                problems.append(f"{where}: not the kiro account's bearer")
            if not isinstance(r.body, dict) or r.body.get("profileArn") != KIRO_PROFILE_ARN:
                problems.append(f"{where}: the body does not name the account's profile ARN")
        elif account == "codex":
            if r.headers.get("authorization") != f"Bearer {CODEX_TOKEN}":
                problems.append(f"{where}: not the codex account's bearer")
            if r.headers.get("chatgpt-account-id") != CODEX_ACCOUNT:
                problems.append(f"{where}: chatgpt-account-id is {r.headers.get('chatgpt-account-id')!r}")
        else:
            if r.headers.get("authorization") != f"Bearer {OAUTH_TOKEN}":
                problems.append(f"{where}: not the Claude OAuth bearer")
            if "x-api-key" in r.headers:
                problems.append(f"{where}: an x-api-key was sent")
            if OAUTH_BETA not in [b.strip() for b in r.headers.get("anthropic-beta", "").split(",")]:
                problems.append(f"{where}: anthropic-beta lacks {OAUTH_BETA}")
    return problems


def declared_tools(received: list[Received]) -> list[str]:
    """Tool names declared by the requests that declared any (for failure messages)."""
    return sorted({name for r in received if r.dialect != "unknown" and r.status == 200 for name in read(r).tools})


def account_file(account: str) -> tuple[str, dict]:
    """The file name and content of one stored subscription account: `codex` (Plugboard's
    own file, the ChatGPT account id as an attribute) or `claude` (CLIProxyAPI's `claude`
    file, as a user's existing auth folder holds it)."""
    if account == "codex":
        return "codex-me@example.com.json", {
            "plugboard": 1, "type": "codex", "access_token": CODEX_TOKEN, "expired": "2099-01-01T00:00:00Z",
            "email": "me@example.com", "attributes": {"chatgpt-account-id": CODEX_ACCOUNT},
        }
    if account == "antigravity":
        token, project = next(iter(code_assist_wire.TOKENS.items()))
        return "antigravity-me@example.com.json", {
            "type": "antigravity", "access_token": token, "refresh_token": "1//not-used-here",
            "expired": "2099-01-01T00:00:00Z", "email": "me@example.com", "project_id": project,
        }
    if account == "kiro":
        # CLIProxyAPI's `kiro` file of a social (Google/GitHub) login.
        return "kiro-me@example.com.json", {
            "type": "kiro", "auth_method": "social", "access_token": KIRO_TOKEN,
            "refresh_token": "aorAAAA-not-used-here", "expires_at": "2099-01-01T00:00:00Z",
            "profile_arn": KIRO_PROFILE_ARN, "region": "us-east-1", "email": "me@example.com",
        }
    if account == "claude":
        return "claude-me@example.com.json", {
            "type": "claude", "id_token": "", "access_token": OAUTH_TOKEN,
            "refresh_token": "sk-ant-ort01-not-used-here-0123456789", "last_refresh": "2026-12-06T09:00:00Z",
            "email": "me@example.com", "expired": "2099-01-01T00:00:00Z", "disabled": False,
        }
    raise ValueError(f"no stored account of type {account!r} (codex, claude, antigravity or kiro)")


@pytest.fixture
def plugboard(tmp_path, upstream):
    """Start a Plugboard serving `model` (and any `aliases` of it) through `adapter`.

    With `account` (`codex` or `claude`), the entry has no API key: it takes its one
    account from an auth dir holding that subscription's stored file (`accounts:
    auth-dir`), and a `codex` entry's `base` endpoint is the mock's Codex backend."""
    started: list[Plugboard] = []

    def start(adapter: str, model: str, aliases: tuple[str, ...] = (), account: str | None = None) -> Plugboard:
        models = [model] + [{"name": model, "alias": alias} for alias in aliases]
        workdir = tmp_path / "plugboard"
        workdir.mkdir()
        entry = provider(f"scripted-{adapter}", adapter, upstream, models, fixups=[])
        settings = {}
        if account is not None:
            auth = tmp_path / "auth"
            name, content = account_file(account)
            write_json(auth / name, content)
            settings["auth-dir"] = str(auth)
            entry.update({"api-keys": [], "accounts": "auth-dir"})
        if adapter == "codex":
            del entry["base-url"]
            entry["endpoints"] = {"base": upstream.base_url + "/backend-api/codex"}
        if adapter == "kiro":
            del entry["base-url"]
            entry["endpoints"] = {"base": upstream.base_url, "usage": upstream.base_url + "/getUsageLimits"}
        if adapter == "antigravity":
            del entry["base-url"]
            entry["endpoints"] = {"base": upstream.base_url}
        server = Plugboard(workdir, [entry], **settings)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@dataclass
class CliRun:
    """One finished CLI run."""

    command: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def home(tmp_path) -> Path:
    """A throwaway HOME (and work directory) for one CLI run."""
    path = tmp_path / "home"
    (path / "work").mkdir(parents=True)
    return path


def run_cli(home: Path, command: list[str], env: dict) -> CliRun:
    """Run a CLI non-interactively in `home/work`, with HOME and the XDG dirs inside
    `home`, telemetry and update checks off, bounded by RUN_TIMEOUT."""
    binary = BIN / command[0]
    if not binary.exists():
        pytest.fail(f"{binary} is missing: run `just test-cli` (it runs `npm ci` in tests/cli)")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_", "GEMINI_", "GOOGLE_", "CODEX_", "OPENCODE_", "CLAUDE_"))}
    full_env = {
        **base,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "NO_COLOR": "1",
        "CI": "1",
        "DO_NOT_TRACK": "1",
        "NO_UPDATE_NOTIFIER": "1",
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        **env,
    }
    argv = [str(binary), *command[1:]]
    try:
        done = subprocess.run(argv, cwd=home / "work", env=full_env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=RUN_TIMEOUT)
        return CliRun(command, done.returncode, done.stdout, done.stderr)
    except subprocess.TimeoutExpired as late:
        out = late.stdout.decode(errors="replace") if isinstance(late.stdout, bytes) else late.stdout or ""
        err = late.stderr.decode(errors="replace") if isinstance(late.stderr, bytes) else late.stderr or ""
        return CliRun(command, -1, out, err + f"\n[timed out after {RUN_TIMEOUT}s]")


def explain(run: CliRun, mock: MockUpstream) -> str:
    """Everything needed to see why a CLI story failed."""
    requests = "\n".join(
        f"  {r.method} {r.path}?{r.query} -> {r.status} model={r.model}" for r in mock.received
    )
    return (
        f"{' '.join(run.command)} exited {run.returncode}\n--- stdout ---\n{run.stdout[-6000:]}\n"
        f"--- stderr ---\n{run.stderr[-6000:]}\n--- upstream requests ---\n{requests}\n"
        f"--- tools declared ---\n{declared_tools(mock.received)}\n--- tool results ---\n{tool_results(mock.received)}"
    )


def write_json(path: Path, value: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in LIVE:
            report.sections.append((f"plugboard log (port {server.port})", server.log_text()[-20_000:]))
