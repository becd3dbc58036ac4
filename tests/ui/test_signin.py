"""Signing in: the page shell is public, every figure is behind the management key. The
right key opens the overview and lives in session storage only (gone with the tab); a
wrong key is refused in words and kept nowhere; repeated wrong keys lock the address out
and the page says when to retry; signing out forgets the key."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from pages import LIVE_WITHIN_MS, MANAGEMENT_KEY, shot, sign_in, storage
from plugboard_server import provider

WRONG_KEY = "mk-not-the-right-one-9876543210"


def signin_form(page):
    form = page.locator("form#signin")
    expect(form).to_be_visible()
    key = form.locator("input#key")
    expect(key).to_have_attribute("type", "password")
    expect(page.get_by_label("Management key")).to_be_visible()
    return form, key


def test_the_root_redirects_to_the_page_and_the_shell_is_public(gateway):
    root = httpx.get(gateway.base_url + "/", follow_redirects=False, timeout=10)
    assert root.status_code in (301, 302, 303, 307, 308), root.status_code
    assert root.headers["location"].rstrip("/").endswith("/ui")

    shell = httpx.get(gateway.base_url + "/ui/", timeout=10)
    assert shell.status_code == 200 and "text/html" in shell.headers["content-type"]
    # The figures are not: the API answers nothing without the key.
    assert httpx.get(gateway.base_url + "/v0/management/status", timeout=10).status_code == 401


def test_the_right_key_opens_the_overview_and_stays_in_session_storage_only(gateway, page):
    page.goto(gateway.base_url + "/")
    assert page.url.startswith(gateway.base_url + "/ui/")
    form, key = signin_form(page)
    shot(page, "signin")

    key.fill(gateway.management_key)
    form.get_by_role("button", name="Sign in").click()

    nav = page.locator("nav")
    for name in ("Overview", "Accounts", "Usage", "Components", "Client keys", "Config"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(r"#/overview$"))
    expect(page.locator('section[data-provider="gpt-upstream"]')).to_be_visible(timeout=LIVE_WITHIN_MS)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    kept = storage(page)
    assert gateway.management_key in kept["session"].values()
    assert not any(gateway.management_key in value for value in kept["local"].values())
    assert gateway.management_key not in repr(page.context.cookies())

    # A reload keeps the session (the tab's storage); a new tab context does not.
    page.reload()
    expect(page.locator("nav").get_by_role("link", name="Accounts", exact=True)).to_be_visible()
    other = page.context.browser.new_context().new_page()
    other.goto(gateway.base_url + "/ui/")
    expect(other.locator("form#signin")).to_be_visible()
    other.context.close()


def test_a_wrong_key_is_refused_in_words_and_not_kept(gateway, page):
    page.goto(gateway.base_url + "/ui/")
    form, key = signin_form(page)

    key.fill(WRONG_KEY)
    form.get_by_role("button", name="Sign in").click()

    alert = form.locator("[role=alert]")
    expect(alert).to_contain_text(re.compile(r"refused|wrong|not accepted|invalid", re.I))
    said = alert.inner_text()
    assert "{" not in said and "invalid_management_key" not in said, f"words, not JSON: {said!r}"
    expect(page.locator("nav").get_by_role("link", name="Accounts", exact=True)).to_have_count(0)
    kept = storage(page)
    assert not any(WRONG_KEY in value for area in kept.values() for value in area.values()), kept
    shot(page, "signin-refused")

    # The right key still works after a refusal.
    key.fill(gateway.management_key)
    form.get_by_role("button", name="Sign in").click()
    expect(page.locator("nav").get_by_role("link", name="Overview", exact=True)).to_be_visible()


def test_repeated_wrong_keys_lock_out_and_the_page_says_when_to_retry(launch, mock, page):
    server = launch([provider("gpt-upstream", "openai", mock, ["gpt-mock-1"])],
                    management={"key": MANAGEMENT_KEY, "max-failures": 2, "lockout-s": 600})
    page.goto(server.base_url + "/ui/")
    form, key = signin_form(page)
    alert = form.locator("[role=alert]")
    for _ in range(2):
        key.fill(WRONG_KEY)
        form.get_by_role("button", name="Sign in").click()
        expect(alert).to_be_visible()

    key.fill(WRONG_KEY)
    form.get_by_role("button", name="Sign in").click()

    expect(alert).to_contain_text(re.compile(r"retry|try again|locked", re.I))
    said = alert.inner_text()
    assert re.search(r"\d", said), f"says when: {said!r}"


def test_sign_out_forgets_the_key(gateway, page):
    sign_in(page, gateway)

    page.get_by_role("button", name="Sign out").click()

    expect(page.locator("form#signin")).to_be_visible()
    kept = storage(page)
    assert not any(gateway.management_key in value for area in kept.values() for value in area.values())
    page.reload()
    expect(page.locator("form#signin")).to_be_visible()


def tab_to(page, matches: str, most: int = 40) -> None:
    """Press Tab until the focused element satisfies the JS predicate `matches(el)`."""
    for _ in range(most):
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!el && ({matches})(el); }}"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached an element matching {matches}")


def test_sign_in_and_the_pages_are_reachable_from_the_keyboard(gateway, page):
    page.goto(gateway.base_url + "/ui/")
    expect(page.locator("form#signin")).to_be_visible()

    tab_to(page, "el => el.id === 'key'")
    page.keyboard.type(gateway.management_key)
    page.keyboard.press("Enter")
    expect(page.locator("nav").get_by_role("link", name="Accounts", exact=True)).to_be_visible()

    for name, route in (("Accounts", "accounts"), ("Usage", "usage"), ("Client keys", "keys")):
        tab_to(page, f"el => el.tagName === 'A' && el.textContent.trim() === {name!r}")
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(rf"#/{route}$"))
    focused = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle + ' ' + "
                            "getComputedStyle(document.activeElement).boxShadow")
    assert focused.split()[0] != "none" or "rgb" in focused, f"the focused link shows no focus ring: {focused}"
