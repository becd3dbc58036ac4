"""The accounts page: live states and adding an account from the browser.

- A Claude subscription account (a CLIProxyAPI-style file in the auth dir) shows "ok";
  the scripted upstream rate-limits it (429 with a retry-after) and the row turns
  "cooling until …" by itself, without a reload.
- A GitHub Copilot account is added from the browser: the page starts the device login
  of the scripted GitHub (`device_login.ApprovingCopilotMock`), shows the code and the
  verification link; the test opens the link in a new tab as a person would, types the
  code and presses "Authorize"; the page says "Added" and the table lists the account.
- Removing an account asks first; cancelled, nothing changes.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import anthropic
import pytest
from playwright.sync_api import expect

from device_login import ApprovingCopilotMock
from oauth_pkce import ScriptedOAuth
from pages import LIVE_WITHIN_MS, claude_account_file, go, management, shot, sign_in
from plugboard_server import provider
from replies import rate_limited

MODEL = "claude-ui-1"


@pytest.fixture
def claude(launch, mock):
    server = launch([provider("claude-sub", "anthropic", mock, [MODEL], **{"api-keys": [], "accounts": "auth-dir"})],
                    components=("anthropic",), accounts={"claude-me@example.com.json": claude_account_file("me@example.com")})
    with management(server) as api:
        [account] = api.get("/accounts").json()["accounts"]
    server.account_id = account["id"]
    return server


def choose(page, text: str) -> None:
    """In the first visible select offering an option that names `text`, pick it (with one
    entry the form may have it picked already)."""
    for select in page.locator("select:visible").all():
        for option in select.locator("option").all():
            if text in option.inner_text():
                select.select_option(value=option.get_attribute("value") or option.inner_text())
                return


def row_of(page, account_id: str):
    return page.locator(f'tr[data-account="{account_id}"]')


def test_a_rate_limited_account_turns_cooling_without_a_reload(claude, mock, page):
    sign_in(page, claude, route="accounts")
    go(page, "Accounts")
    row = row_of(page, claude.account_id)
    expect(row.locator("[data-field=state]")).to_have_text(re.compile(r"^\s*ok"), timeout=LIVE_WITHIN_MS)
    expect(row.locator("[data-field=type]")).to_contain_text("claude")
    expect(row.locator("[data-field=provider]")).to_contain_text("claude-sub")
    expect(row.locator("[data-field=label]")).to_contain_text("me@example.com")
    page.evaluate("() => { window.__sameDocument = true; }")

    mock.queue(rate_limited(600))
    client = anthropic.Anthropic(base_url=claude.base_url, api_key=claude.api_key, max_retries=0, timeout=30)
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(model=MODEL, max_tokens=32, messages=[{"role": "user", "content": "hi"}])

    state = row.locator("[data-field=state]")
    expect(state).to_have_text(re.compile(r"^\s*cooling until "), timeout=LIVE_WITHIN_MS)
    assert page.evaluate("() => window.__sameDocument === true"), "the page was reloaded"
    # The time shown is about ten minutes ahead (a clock time or a date-time).
    assert re.search(r"\d{1,2}:\d{2}", state.inner_text()), state.inner_text()
    with management(claude) as api:
        [listed] = api.get("/accounts").json()["accounts"]
    assert listed["state"] == "cooling"
    shot(page, "accounts")


def test_removing_an_account_asks_first_and_cancel_keeps_it(claude, page):
    sign_in(page, claude)
    go(page, "Accounts")
    row = row_of(page, claude.account_id)
    expect(row).to_be_visible(timeout=LIVE_WITHIN_MS)

    row.get_by_role("button", name="Remove").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Remove")).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()

    expect(page.locator("dialog[open]")).to_have_count(0)
    page.wait_for_timeout(2500)  # one live refresh later it is still there
    expect(row).to_be_visible()
    assert (claude.auth_dir / "claude-me@example.com.json").exists()
    with management(claude) as api:
        assert [a["id"] for a in api.get("/accounts").json()["accounts"]] == [claude.account_id]


def test_disable_asks_first_then_the_row_says_disabled_and_enable_restores_it(claude, page):
    sign_in(page, claude)
    go(page, "Accounts")
    row = row_of(page, claude.account_id)

    row.get_by_role("button", name="Disable").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_role("button", name="Disable").click()

    expect(row.locator("[data-field=state]")).to_have_text(re.compile(r"^\s*disabled: "), timeout=LIVE_WITHIN_MS)
    stored = json.loads((claude.auth_dir / "claude-me@example.com.json").read_text())
    assert stored["disabled"] is True
    row.get_by_role("button", name="Enable").click()
    expect(row.locator("[data-field=state]")).to_have_text(re.compile(r"^\s*ok"), timeout=LIVE_WITHIN_MS)


@pytest.fixture
def github():
    mock = ApprovingCopilotMock()
    yield mock
    mock.close()


def test_an_account_added_through_the_device_flow_is_listed(launch, github, new_context):
    server = launch([{"name": "copilot", "adapter": "copilot", "models": ["gpt-4.1"], "accounts": "auth-dir",
                      "endpoints": github.endpoints()}], components=("copilot",))
    context = new_context()
    page = context.new_page()
    sign_in(page, server)
    go(page, "Accounts")

    page.get_by_role("button", name="Add account").click()
    choose(page, "copilot")
    shot(page, "accounts-add")
    page.get_by_role("button", name="Start login").click()

    code = page.locator("[data-testid=device-code]")
    expect(code).to_have_text(re.compile(r"MOCK-[0-9A-F]{4}"), timeout=LIVE_WITHIN_MS)
    link = page.locator("a[data-testid=verification-url]")
    assert link.get_attribute("href") == github.base_url + "/login/device"
    assert link.get_attribute("target") == "_blank"
    status = page.locator("[data-testid=login-status]")
    expect(status).to_be_visible()
    assert "Added" not in status.inner_text()
    shot(page, "accounts-device-code")

    # The person opens the link in a new tab, types the code, presses Authorize.
    with context.expect_page() as opened:
        link.click()
    github_tab = opened.value
    github_tab.wait_for_load_state()
    github_tab.get_by_label(re.compile("Enter the code")).fill(code.inner_text().strip())
    github_tab.get_by_role("button", name="Authorize").click()
    expect(github_tab.get_by_role("status")).to_contain_text("authorized")
    github_tab.close()

    expect(status).to_contain_text("Added", timeout=30_000)
    with management(server) as api:
        [account] = api.get("/accounts").json()["accounts"]
    assert account["id"] in status.inner_text()
    row = row_of(page, account["id"])
    expect(row).to_be_visible(timeout=LIVE_WITHIN_MS)
    expect(row.locator("[data-field=type]")).to_contain_text("copilot")
    expect(row.locator("[data-field=state]")).to_have_text(re.compile(r"^\s*ok"))
    [token] = github.issued_github
    [file] = list(server.auth_dir.glob("copilot-*.json"))
    assert json.loads(file.read_text())["access_token"] == token
    assert token not in page.content(), "the page never shows a token"


@pytest.fixture
def oauth():
    server = ScriptedOAuth()
    yield server
    server.close()


def test_an_account_added_by_pasting_the_redirect_on_a_headless_server(launch, oauth, new_context):
    """The browser is not on the server's machine: the authorization page's redirect to the
    login's loopback address does not load, and the person pastes that address into the
    page. A pasted address from another login (its state differs) is refused in words and
    the login keeps waiting."""
    server = launch([{"name": "sub", "adapter": "test-oauth", "models": ["m"], "accounts": "auth-dir",
                      "endpoints": oauth.endpoints()}], components=("test-oauth",))
    context = new_context()
    page = context.new_page()
    sign_in(page, server)
    go(page, "Accounts")
    page.get_by_role("button", name="Add account").click()
    choose(page, "sub")
    page.locator("select#login-kind").select_option("pkce")
    page.get_by_role("button", name="Start login").click()

    link = page.locator("a[data-testid=authorize-url]")
    expect(link).to_be_visible(timeout=LIVE_WITHIN_MS)
    authorize = urlsplit(link.get_attribute("href"))
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == oauth.base_url + "/authorize"
    redirect_uri = parse_qs(authorize.query)["redirect_uri"][0]
    assert link.get_attribute("target") == "_blank"
    shot(page, "accounts-authorize-link")

    # The redirect to the server's loopback listener does not load from where the
    # browser is; the address it ended on is what the person copies. (Playwright does not
    # route a redirect's target, so the approval's answer is taken here: its location
    # recorded, the navigation failing as the unreachable address would.)
    landed: list[str] = []

    def approval(route):
        if route.request.method != "POST":
            return route.fallback()
        answer = route.fetch(max_redirects=0)
        location = answer.headers["location"]
        assert location.startswith(redirect_uri), location
        landed.append(location)
        return route.abort("connectionrefused")

    context.route(oauth.base_url + "/authorize", approval)
    with context.expect_page() as opened:
        link.click()
    tab = opened.value
    tab.wait_for_load_state()
    expect(tab.get_by_role("heading")).to_contain_text("wants to access your account")
    tab.get_by_role("button", name="Approve").click()
    tab.wait_for_timeout(500)
    assert len(landed) == 1 and "code=" in landed[0], landed
    tab.close()

    status = page.locator("[data-testid=login-status]")
    box = page.locator("textarea[name=redirect]")
    forged = re.sub(r"state=[^&]+", "state=forged-state", landed[0])
    box.fill(forged)
    page.get_by_role("button", name="Complete").click()
    refused = page.locator("[role=alert]").filter(has_text=re.compile(r"state|another login|not this login", re.I))
    expect(refused).not_to_have_count(0)
    assert "{" not in " ".join(refused.all_inner_texts())
    assert "Added" not in status.inner_text()

    box.fill(landed[0])
    page.get_by_role("button", name="Complete").click()
    expect(status).to_contain_text("Added", timeout=30_000)
    with management(server) as api:
        [account] = api.get("/accounts").json()["accounts"]
    assert account["id"] in status.inner_text()
    row = row_of(page, account["id"])
    expect(row).to_be_visible(timeout=LIVE_WITHIN_MS)
    expect(row.locator("[data-field=state]")).to_have_text(re.compile(r"^\s*ok"))
    assert oauth.approvals == 1
    for token in oauth.issued_access:
        assert token not in page.content()
