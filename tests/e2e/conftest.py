"""Fixtures: the scripted upstream, and real `plugboard serve` processes pointed at it.

Nothing here builds anything: `just test` builds the debug host and every component
before pytest runs. When a test fails, the logs of every Plugboard still running are
attached to its report.
"""

from __future__ import annotations

import openai
import pytest

from mock_upstream import MockUpstream
from plugboard_server import LIVE, Plugboard, provider
from upstream_fixtures import mock, upstream  # noqa: F401 - fixtures, found by name

# Model names the shared gateway serves, one provider entry each.
CLAUDE_MODEL = "claude-mock-1"
GPT_MODEL = "gpt-mock-1"
WITH_FIRST_USER_TURN = "kiro-mock-fixed"
WITHOUT_FIXUPS = "kiro-mock-raw"
WITH_MERGE_TURNS = "merge-mock"
# An Anthropic upstream behind a request fixup: Anthropic clients take the IR path.
CLAUDE_WITH_FIXUP = "claude-mock-fixed"
# A Gemini upstream behind a request fixup: Gemini clients take the IR path.
GEMINI_WITH_FIXUP = "gemini-mock-fixed"
GEMINI_MODEL = "gemini-mock-1"
RESPONSES_MODEL = "responses-mock-1"
# Which adapter serves each model of the shared gateway.
ADAPTER_OF = {CLAUDE_MODEL: "anthropic", GPT_MODEL: "openai", GEMINI_MODEL: "gemini", RESPONSES_MODEL: "openai-responses"}


@pytest.fixture(scope="session")
def gateway(upstream: MockUpstream, tmp_path_factory) -> Plugboard:
    """One Plugboard shared by the stories that do not change its config: an Anthropic
    and an OpenAI provider, and three fixup set-ups, all served by the mock."""
    server = Plugboard(
        tmp_path_factory.mktemp("gateway"),
        providers=[
            provider("claude-upstream", "anthropic", upstream, [{"name": CLAUDE_MODEL, "alias": "claude"}]),
            provider("gpt-upstream", "openai", upstream, [GPT_MODEL]),
            provider("kiro-fixed", "openai", upstream, [WITH_FIRST_USER_TURN], fixups=["first-user-turn"]),
            provider("kiro-raw", "openai", upstream, [WITHOUT_FIXUPS], fixups=[]),
            provider("merged", "openai", upstream, [WITH_MERGE_TURNS], fixups=["merge-turns"]),
            provider("claude-fixed", "anthropic", upstream, [CLAUDE_WITH_FIXUP], fixups=["first-user-turn"]),
            provider("gemini-fixed", "gemini", upstream, [GEMINI_WITH_FIXUP], fixups=["first-user-turn"]),
            provider("gemini-upstream", "gemini", upstream, [GEMINI_MODEL]),
            provider("responses-upstream", "openai-responses", upstream, [RESPONSES_MODEL]),
        ],
    )
    server.start()
    server.loaded = server.loaded_providers()
    yield server
    server.stop()


@pytest.fixture
def client(gateway: Plugboard) -> openai.OpenAI:
    """The official OpenAI SDK pointed at the shared gateway (no SDK retries, so a
    failure shows as it happened)."""
    return openai.OpenAI(base_url=gateway.base_url + "/v1", api_key=gateway.api_key, max_retries=0, timeout=30)


@pytest.fixture
def served(gateway: Plugboard):
    """`served(model)`: the model, or a skip when its adapter is not built yet."""

    def check(model: str) -> str:
        if ADAPTER_OF[model] not in gateway.loaded:
            pytest.skip(f"adapter {ADAPTER_OF[model]} is not built")
        return model

    return check


@pytest.fixture
def launch(tmp_path):
    """Start a Plugboard with a config of the test's own; stopped after the test."""
    started: list[Plugboard] = []

    def start(providers: list, **settings) -> Plugboard:
        workdir = tmp_path / f"plugboard-{len(started)}"
        workdir.mkdir()
        server = Plugboard(workdir, providers, **settings)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in LIVE:
            tail = server.log_text()[-20_000:]
            report.sections.append((f"plugboard log ({server.workdir.name}, port {server.port})", tail))
