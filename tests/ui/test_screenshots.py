"""The documentation's screenshots (docs/ui.md), taken from a server with something to show:
three provider entries (an OpenAI key, a Claude subscription account, a GitHub Copilot
account with its quota), two named client keys and an API-created one, a fixup loaded,
traffic from both keys and one account cooling after a 429. Every page in light at
1280x800, the overview and accounts in dark, the overview and accounts at phone width.

They land in target/ui-screenshots/; `PLUGBOARD_UI_SCREENSHOTS=update` also copies them
into docs/ui/ (commit those). The story is also a walk through every page: each must show
its own content, with no script error (the `new_context` fixture checks that)."""

from __future__ import annotations

import re
import time

import anthropic
import openai
import pytest
from playwright.sync_api import expect

from device_login import ApprovingCopilotMock
from pages import DESKTOP, LIVE_WITHIN_MS, PHONE, claude_account_file, go, management, shot, sign_in
from plugboard_server import TEST_ADAPTERS, built, provider
from replies import rate_limited, text

GPT, CLAUDE = "gpt-4o-mini", "claude-sonnet-4-6"
KEYS = {"alice": "sk-ui-alice-0123456789abcdef", "ci-runner": "sk-ui-ci-0123456789abcdef"}
GITHUB_TOKEN = "ghu_screenshotAccount0123456789abcdefgh"


@pytest.fixture
def showcase(launch, mock, monkeypatch):
    github = ApprovingCopilotMock(known_github_tokens=(GITHUB_TOKEN,))
    # Copilot's API host (its model list) is reached through the scripted GitHub as a proxy,
    # as in tests/e2e/test_copilot.py; everything on 127.0.0.1 directly.
    monkeypatch.setenv("HTTP_PROXY", github.base_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    server = launch(
        [
            provider("openai-main", "openai", mock, [GPT]),
            provider("claude-max", "anthropic", mock, [CLAUDE], **{"api-keys": [], "accounts": "auth-dir"}),
            {"name": "copilot", "adapter": "copilot", "models": ["gpt-4.1"], "accounts": "auth-dir",
             "endpoints": github.endpoints()},
        ],
        components=("openai", "anthropic", "copilot", "history-trim"),
        accounts={
            "claude-me@example.com.json": claude_account_file("me@example.com"),
            "copilot-octocat.json": {"type": "copilot", "plugboard": 1, "access_token": GITHUB_TOKEN,
                                     "username": "octocat"},
        },
        **{"client-keys": [{"name": name, "key": key, "rpm": 60} for name, key in KEYS.items()]},
    )
    with management(server) as api:
        # A component the host refuses (another world): listed with its reason.
        wrong = built(TEST_ADAPTERS / "test-wrong-world.wasm").read_bytes()
        assert api.put("/adapters/test-wrong-world.wasm", content=wrong).status_code == 422
        assert api.post("/client-keys", json={"name": "laptop", "limits": {"rpm": 30, "tpm": 200000}}
                        ).status_code == 201
    # Traffic: both keys, both dialects, streamed and not; then a 429 cools the subscription.
    tokens = iter(range(120, 100_000, 377))
    for n in range(8):
        key = list(KEYS.values())[n % 2]
        mock.queue(text("fine", input_tokens=next(tokens), output_tokens=next(tokens) // 3))
        if n % 3 == 2:
            client = anthropic.Anthropic(base_url=server.base_url, api_key=key, max_retries=0, timeout=30)
            client.messages.create(model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": "hi"}])
        else:
            client = openai.OpenAI(base_url=server.base_url + "/v1", api_key=key, max_retries=0, timeout=30)
            for _ in client.chat.completions.create(model=GPT, messages=[{"role": "user", "content": "hi"}],
                                                    stream=True, stream_options={"include_usage": True}):
                pass
    mock.queue(rate_limited(1800))
    with pytest.raises(anthropic.RateLimitError):
        anthropic.Anthropic(base_url=server.base_url, api_key=KEYS["alice"], max_retries=0, timeout=30
                            ).messages.create(model=CLAUDE, max_tokens=64, messages=[{"role": "user", "content": "x"}])
    time.sleep(1.5)  # the usage writer commits within a second
    with management(server) as api:
        # Only the count: the exact figures are test_usage.py's story. (Now and then an
        # OpenAI SDK stream read to its end is recorded as `client_disconnected` without
        # its tokens: the SDK closes after `[DONE]` while the host still waits for the
        # upstream's end -- a host race, reported, not this page's business.)
        total = api.get("/usage").json()["total"]
        assert total["requests"] == 9, api.get("/usage/export", params={"format": "csv"}).text
    yield server
    github.close()


def walk(page, server, dark: bool = False) -> None:
    suffix = "-dark" if dark else ""
    sign_in(page, server)
    expect(page.locator('section[data-provider="openai-main"] [data-metric=rpm]')).to_be_visible(
        timeout=LIVE_WITHIN_MS)
    expect(page.locator('section[data-provider="claude-max"]')).to_be_visible()
    page.wait_for_timeout(500)
    shot(page, "overview" + suffix, doc=True)

    go(page, "Accounts")
    expect(page.locator("tr[data-account] [data-field=state]").filter(has_text="cooling until ")).to_have_count(
        1, timeout=LIVE_WITHIN_MS)
    # The Copilot account's premium allowance as a bar: 300 of 1500 used (the scripted
    # GitHub's quota snapshot: 1200 remaining).
    bar = page.locator('tr[data-account="copilot-octocat"] [data-field=quota] [role=progressbar]')
    expect(bar).to_have_count(1, timeout=LIVE_WITHIN_MS)
    assert (bar.get_attribute("aria-valuenow"), bar.get_attribute("aria-valuemax")) == ("300", "1500")
    shot(page, "accounts" + suffix, doc=True)
    if dark:
        return

    page.get_by_role("button", name="Add account").click()
    expect(page.get_by_role("button", name="Start login")).to_be_visible()
    shot(page, "accounts-add", doc=True)
    page.keyboard.press("Escape")

    go(page, "Usage")
    page.locator("select[name=group-by]").select_option("client-key")
    expect(page.locator("table[data-testid=usage-table] tbody tr", has_text="alice")).to_be_visible()
    expect(page.locator("[data-testid=usage-chart] canvas").first).to_be_visible()
    page.wait_for_timeout(300)
    shot(page, "usage", doc=True)

    go(page, "Components")
    expect(page.locator('tr[data-component="history-trim"]')).to_be_visible()
    expect(page.locator('tr[data-refused="test-wrong-world.wasm"]')).to_be_visible()
    shot(page, "components", doc=True)

    go(page, "Client keys")
    expect(page.locator('tr[data-key="laptop"]')).to_be_visible()
    shot(page, "keys", doc=True)

    go(page, "Config")
    expect(page.locator("textarea#config-text")).to_have_value(re.compile(r"\[redacted\]"))
    shot(page, "config", doc=True)


def test_screenshots_of_every_page(showcase, new_context):
    light = new_context(viewport=DESKTOP, color_scheme="light").new_page()
    light.goto(showcase.base_url + "/ui/")
    expect(light.locator("form#signin")).to_be_visible()
    shot(light, "signin", doc=True)
    walk(light, showcase)

    dark = new_context(viewport=DESKTOP, color_scheme="dark").new_page()
    walk(dark, showcase, dark=True)
    background = dark.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert background != light.evaluate("() => getComputedStyle(document.body).backgroundColor"), \
        "dark mode has a background of its own"

    phone = new_context(viewport=PHONE, color_scheme="light", is_mobile=True, has_touch=True,
                        device_scale_factor=1).new_page()
    sign_in(phone, showcase)
    expect(phone.locator('section[data-provider="openai-main"]')).to_be_visible(timeout=LIVE_WITHIN_MS)
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the overview scrolls sideways on a phone ({width}px)"
    shot(phone, "overview-phone", doc=True)
    phone.goto(showcase.base_url + "/ui/#/accounts")
    expect(phone.locator("tr[data-account]")).to_have_count(2, timeout=LIVE_WITHIN_MS)
    shot(phone, "accounts-phone", doc=True)
