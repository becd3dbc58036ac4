"""The scripted upstream as pytest fixtures, shared by the e2e, CLI and browser suites:
each suite's conftest imports them (`from upstream_fixtures import mock, upstream`)."""

from __future__ import annotations

import pytest

from mock_upstream import MockUpstream


@pytest.fixture(scope="session")
def upstream() -> MockUpstream:
    """One scripted upstream for the whole session."""
    server = MockUpstream()
    yield server
    server.close()


@pytest.fixture
def mock(upstream: MockUpstream) -> MockUpstream:
    """The scripted upstream, with no queued replies and no recorded requests."""
    upstream.reset()
    yield upstream
    upstream.reset()
