"""Fixtures of the browser suite: headless Chromium (Debian's package, never a downloaded
browser) driven by Playwright's sync API, and a real `plugboard serve` per test with a
management key, pointed at the scripted upstreams of `tests/e2e` (imported from there,
not copied).

Nothing here builds anything: `just test-ui` (and `just test`) builds the page, the host
and the components first. A missing Chromium is a failure that says how to install it,
never a silent skip.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))

from mock_upstream import MockUpstream  # noqa: E402
from pages import DESKTOP, MANAGEMENT_KEY, SHOTS  # noqa: E402
from plugboard_server import ADAPTERS, LIVE, TEST_ADAPTERS, Plugboard, built, provider  # noqa: E402
from upstream_fixtures import mock, upstream  # noqa: E402, F401 - fixtures, found by name

# The browser the suite drives: Debian's `chromium` package.
CHROMIUM = Path(os.environ.get("PLUGBOARD_CHROMIUM", "/usr/bin/chromium"))
# Flags for a closed network: without the background-networking ones Chromium's own
# connections (component updates, sync, QUIC probes) are refused and slow everything.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
# The fixups an adapter asks for by default (its `info()`): copied along with it.
DEFAULT_FIXUPS = {"anthropic": ("prefill",), "kiro": ("first-user-turn", "merge-turns", "tool-pairs")}


def chromium_or_fail() -> Path:
    """The Chromium binary; a failure naming the package when it is missing."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is missing ({CHROMIUM} does not exist): the browser tests drive Debian's package; "
            "install it with `sudo apt-get install chromium` (no browser is downloaded at test time)",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def playwright_driver():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the `playwright` Python package is missing from .venv: run `just test-ui` "
                    "(it installs tests/requirements.txt)", pytrace=False)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver):
    """One headless Chromium for the session; each test gets a fresh context (cold cache,
    empty storage)."""
    executable = chromium_or_fail()
    chromium = playwright_driver.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


class Watched:
    """What a page did that no story may allow: uncaught script errors, console errors, and
    any request leaving loopback (the page fetches nothing from outside)."""

    def __init__(self) -> None:
        self.page_errors: list[str] = []
        self.console_errors: list[str] = []
        self.outside: list[str] = []

    def attach(self, context) -> None:
        def route(r):
            host = urlsplit(r.request.url).hostname or ""
            if r.request.url.startswith(("data:", "blob:", "about:")) or host in ("127.0.0.1", "localhost", "::1"):
                r.continue_()
            else:
                self.outside.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        context.on("page", self.watch_page)

    def watch_page(self, page) -> None:
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("console", lambda message: message.type == "error" and self.console_errors.append(message.text))


@pytest.fixture
def new_context(browser, request):
    """`new_context(**options)`: a fresh browser context (1280x800 unless told), watched;
    closed after the test, which fails if a page threw or reached outside loopback."""
    made: list = []
    watched = Watched()

    def make(**options):
        options.setdefault("viewport", DESKTOP)
        options.setdefault("accept_downloads", True)
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        watched.attach(context)
        made.append(context)
        return context

    yield make
    failed = getattr(request.node, "failed_call", False)
    for index, context in enumerate(made):
        if failed:
            for n, page in enumerate(context.pages):
                try:
                    (SHOTS / "failures").mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(SHOTS / "failures" / f"{request.node.name}-{index}-{n}.png"))
                except Exception:  # noqa: BLE001 - best effort, the failure itself is reported
                    pass
        context.close()
    assert not watched.page_errors, f"the page threw: {watched.page_errors}"
    assert not watched.outside, f"the page reached outside loopback: {watched.outside}"


@pytest.fixture
def page(new_context):
    """A page in a fresh 1280x800 context."""
    return new_context().new_page()


@pytest.fixture
def launch(tmp_path):
    """`launch(providers, components=("openai",), **settings)`: a Plugboard with the
    management key, an auth dir of its own (`server.auth_dir`) and an adapters dir holding
    only the named components and their adapters' default fixups (copied, so an upload
    changes this test's dir alone)."""
    started: list[Plugboard] = []

    def start(providers: list, components=("openai",), accounts: dict | None = None, **settings) -> Plugboard:
        workdir = tmp_path / f"plugboard-{len(started)}"
        workdir.mkdir()
        adapters = workdir / "adapters"
        adapters.mkdir()
        wanted = list(components) + [f for c in components for f in DEFAULT_FIXUPS.get(c, ()) if f not in components]
        for name in wanted:
            # A test component (`test-*`) comes from target/test-adapters.
            source = (TEST_ADAPTERS if name.startswith("test-") else ADAPTERS) / f"{name}.wasm"
            shutil.copy(built(source), adapters / f"{name}.wasm")
        auth = workdir / "auth"
        auth.mkdir(mode=0o700)
        for file_name, document in (accounts or {}).items():
            (auth / file_name).write_text(json.dumps(document, indent=2))
        settings.setdefault("management", {"key": MANAGEMENT_KEY})
        settings.setdefault("auth-dir", str(auth))
        server = Plugboard(workdir, providers, adapters, **settings)
        server.auth_dir = auth
        server.management_key = MANAGEMENT_KEY
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def gateway(launch, mock) -> Plugboard:
    """A plain server: one OpenAI entry on the scripted upstream."""
    return launch([provider("gpt-upstream", "openai", mock, ["gpt-mock-1"])])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        item.failed_call = True
    if report.failed:
        for server in LIVE:
            tail = server.log_text()[-20_000:]
            report.sections.append((f"plugboard log ({server.workdir.name}, port {server.port})", tail))


def pytest_terminal_summary(terminalreporter):
    from pages import SUMMARY

    if SUMMARY:
        terminalreporter.section("web page figures")
        for line in SUMMARY:
            terminalreporter.write_line(line)
