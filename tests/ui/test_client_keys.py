"""The client keys page: a key created in the browser is shown once and works at once with
the limits set; revoking asks first (cancel keeps it working), then the key stops
working; limits can be edited."""

from __future__ import annotations

import re

import openai
import pytest
from playwright.sync_api import expect

from pages import go, management, shot, sign_in
from plugboard_server import provider

MODEL = "gpt-mock-1"


def ask(server, key: str) -> str:
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key=key, max_retries=0, timeout=30)
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hello"}])
    return reply.choices[0].message.content


def create_form(page):
    """The create form (opened with "Create key" when it is behind a button)."""
    name = page.locator("input[name=name]")
    if not name.is_visible():
        page.get_by_role("button", name="Create key").click()
    return page.locator("form", has=page.locator("input[name=name]"))


def test_a_created_key_is_shown_once_works_and_a_revoke_asks_first(launch, mock, page):
    server = launch([provider("gpt-upstream", "openai", mock, [MODEL])])
    sign_in(page, server)
    go(page, "Client keys")

    form = create_form(page)
    form.locator("input[name=name]").fill("ci-bot")
    form.locator("input[name=rpm]").fill("30")
    form.locator("input[name=models]").fill(MODEL)
    form.locator("button[type=submit]").click()

    shown = page.locator("[data-testid=new-key]")
    expect(shown).to_contain_text(re.compile(r"sk-pb-[0-9a-f]{48}"))
    key = re.search(r"sk-pb-[0-9a-f]{48}", shown.inner_text()).group(0)
    row = page.locator('tr[data-key="ci-bot"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("30")
    shot(page, "keys")
    assert ask(server, key) == "echo: hello"
    with management(server) as api:
        [listed] = [k for k in api.get("/client-keys").json()["client-keys"] if k["name"] == "ci-bot"]
    assert listed["limits"]["rpm"] == 30 and listed["limits"]["models"] == [MODEL]

    # Shown once: after a reload the page has it nowhere.
    page.reload()
    expect(row).to_be_visible()
    expect(page.locator("[data-testid=new-key]")).to_have_count(0)
    # Its counters now: the one request just made.
    expect(row).to_contain_text(re.compile(r"\b1 req"))
    assert key not in page.content()

    # Revoke, cancelled: nothing happens.
    row.get_by_role("button", name="Revoke").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.get_by_role("button", name="Revoke")).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator("dialog[open]")).to_have_count(0)
    expect(row).to_be_visible()
    assert ask(server, key) == "echo: hello"

    # Revoke, confirmed: gone from the table and refused at once.
    row.get_by_role("button", name="Revoke").click()
    page.locator("dialog[open]").get_by_role("button", name="Revoke").click()
    expect(row).to_have_count(0)
    with pytest.raises(openai.AuthenticationError):
        ask(server, key)


def test_limits_are_edited_in_place(launch, mock, page):
    server = launch([provider("gpt-upstream", "openai", mock, [MODEL])])
    with management(server) as api:
        created = api.post("/client-keys", json={"name": "team", "limits": {"rpm": 100}})
        assert created.status_code in (200, 201), created.text
    sign_in(page, server)
    go(page, "Client keys")
    row = page.locator('tr[data-key="team"]')
    expect(row).to_contain_text("100")

    row.get_by_role("button", name="Edit limits").click()
    limits = page.locator("form", has=page.locator("input[name=rpm]")).filter(has_not=page.locator("input[name=name]"))
    if not limits.count():
        limits = page.locator("dialog[open] form, form:has(input[name=rpm])").last
    limits.locator("input[name=rpm]").fill("7")
    limits.locator("button[type=submit]").click()

    expect(row).to_contain_text("7")
    with management(server) as api:
        [listed] = [k for k in api.get("/client-keys").json()["client-keys"] if k["name"] == "team"]
    assert listed["limits"]["rpm"] == 7
