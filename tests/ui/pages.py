"""What the browser stories share: signing in, following the nav, screenshots, reading
the page's storage, and the management API seen directly (to check what the page did)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import httpx

from plugboard_server import REPO, TARGET, Plugboard

# The management key of every server the suite starts.
MANAGEMENT_KEY = "mk-plugboard-ui-tests-0123456789"
# Where the tests leave their screenshots; `PLUGBOARD_UI_SCREENSHOTS=update` copies the
# documentation ones into docs/ui/ as well.
SHOTS = TARGET / "ui-screenshots"
DOC_SHOTS = REPO / "docs" / "ui"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# How long the page may take to show a live change (it polls every 2 s or less).
LIVE_WITHIN_MS = 10_000


def claude_account_file(email: str) -> dict:
    """A Claude subscription account as CLIProxyAPI writes it (Plugboard reads it as it is);
    its token is the one the scripted Anthropic API takes."""
    from anthropic_wire import OAUTH_TOKEN

    return {"type": "claude", "access_token": OAUTH_TOKEN, "refresh_token": "sk-ant-ort01-not-used-0123456789",
            "email": email, "expired": "2099-01-01T00:00:00Z", "disabled": False}


def management(server: Plugboard):
    """An httpx client on the server's management API, with its key."""
    return httpx.Client(base_url=server.base_url + "/v0/management",
                        headers={"Authorization": f"Bearer {server.management_key}"}, timeout=30)


def sign_in(page, server: Plugboard, key: str | None = None, route: str = "") -> None:
    """Open the page (at `#/route` when given), sign in with the key, wait for the nav."""
    page.goto(server.base_url + "/ui/" + (f"#/{route}" if route else ""))
    page.locator("#signin input#key").fill(key or server.management_key)
    page.locator("#signin").get_by_role("button", name="Sign in").click()
    page.locator("nav").get_by_role("link", name="Overview").wait_for()


def go(page, name: str) -> None:
    """Follow the nav link named `name` (e.g. "Client keys")."""
    page.locator("nav").get_by_role("link", name=name, exact=True).click()


def shot(page, name: str, doc: bool = False, full_page: bool = False) -> Path:
    """A PNG of the page: target/ui-screenshots/NAME.png for the documentation's set
    (`doc=True`, copied into docs/ui/ when PLUGBOARD_UI_SCREENSHOTS=update), else
    target/ui-screenshots/stories/NAME.png."""
    folder = SHOTS if doc else SHOTS / "stories"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page, animations="disabled", caret="hide")
    if doc and os.environ.get("PLUGBOARD_UI_SCREENSHOTS") == "update":
        DOC_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOC_SHOTS / path.name)
    return path


def storage(page) -> dict:
    """Everything the page keeps in session and local storage, as {'session': {...}, 'local': {...}}."""
    return page.evaluate("""() => {
        const dump = s => Object.fromEntries(Array.from({length: s.length}, (_, i) => [s.key(i), s.getItem(s.key(i))]));
        return {session: dump(sessionStorage), local: dump(localStorage)};
    }""")


def words(text: str) -> str:
    """Whitespace collapsed, for comparing what a person reads."""
    return re.sub(r"\s+", " ", text).strip()


# Lines the suite prints at its end (the cold-load figures), whatever the capture mode.
SUMMARY: list[str] = []
