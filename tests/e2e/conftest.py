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

# Model names the shared gateway serves, one provider entry each.
CLAUDE_MODEL = "claude-mock-1"
GPT_MODEL = "gpt-mock-1"
WITH_FIRST_USER_TURN = "kiro-mock-fixed"
WITHOUT_FIXUPS = "kiro-mock-raw"
WITH_MERGE_TURNS = "merge-mock"


@pytest.fixture(scope="session")
def upstream() -> MockUpstream:
    server = MockUpstream()
    yield server
    server.close()


@pytest.fixture
def mock(upstream: MockUpstream) -> MockUpstream:
    """The scripted upstream, with no queued replies and no recorded requests."""
    upstream.reset()
    yield upstream
    upstream.reset()


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
        ],
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(gateway: Plugboard) -> openai.OpenAI:
    """The official OpenAI SDK pointed at the shared gateway (no SDK retries, so a
    failure shows as it happened)."""
    return openai.OpenAI(base_url=gateway.base_url + "/v1", api_key=gateway.api_key, max_retries=0, timeout=30)


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
