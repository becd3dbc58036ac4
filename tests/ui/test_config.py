"""The config page: the config in force, secrets redacted; an edit with a wrong key is
refused with each error inline at its line, the text kept and nothing changed; a good
edit applies (the generation in status rises, the renamed model is served) and the
secrets the page never saw keep working."""

from __future__ import annotations

import re

import httpx
import openai
from playwright.sync_api import expect

from pages import go, management, shot, sign_in
from mock_upstream import OPENAI_KEY
from plugboard_server import CLIENT_KEY, provider

MODEL, RENAMED = "gpt-config-1", "gpt-config-renamed"


def generation(server) -> int | None:
    with management(server) as api:
        return (api.get("/status").json().get("config") or {}).get("generation")


def ask(server, model: str) -> str:
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key=server.api_key, max_retries=0, timeout=30)
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}]
                                          ).choices[0].message.content


def test_a_wrong_key_is_refused_inline_and_a_good_edit_applies(launch, mock, page):
    server = launch([provider("gpt-upstream", "openai", mock, [MODEL])])
    on_disk = server.config_path.read_text()
    before = generation(server)
    sign_in(page, server)
    go(page, "Config")

    editor = page.locator("textarea#config-text")
    expect(editor).to_have_value(re.compile(MODEL))
    shown = editor.input_value()
    assert "[redacted]" in shown
    for secret in (server.management_key, CLIENT_KEY, OPENAI_KEY):
        assert secret not in shown, "a secret reached the page"
    shot(page, "config")

    # Two wrong keys (`base-uri` for `base-url`, and one at the top): refused, each
    # listed on its own with its line.
    wrong = shown.replace("base-url", "base-uri", 1).rstrip("\n") + "\nno-such-key: 1\n"
    assert "base-uri" in wrong
    editor.fill(wrong)
    page.get_by_role("button", name="Save").click()
    errors = page.locator("ul#config-errors li")
    expect(errors).to_have_count(2)
    listed = errors.all_inner_texts()
    for key in ("base-uri", "no-such-key"):
        wrong_line = next(n for n, line in enumerate(wrong.splitlines(), 1) if key in line)
        assert any(key in e and re.search(rf"\bline {wrong_line}\b", e, re.I) for e in listed), (key, wrong_line, listed)
    assert editor.input_value() == wrong, "the text is kept for fixing"
    assert server.config_path.read_text() == on_disk
    assert generation(server) == before
    assert ask(server, MODEL) == "echo: hi"
    shot(page, "config-refused")

    # A good edit: the model renamed. It applies; the redacted secrets are kept.
    editor.fill(shown.replace(MODEL, RENAMED))
    page.get_by_role("button", name="Save").click()
    expect(page.locator("ul#config-errors li")).to_have_count(0)
    expect(page.locator("[role=alert], [role=status]").filter(has_text=re.compile("generation|applied|saved", re.I))
           ).not_to_have_count(0)
    after = generation(server)
    assert after is not None and (before is None or after > before), (before, after)
    assert ask(server, RENAMED) == "echo: hi"
    assert RENAMED in server.config_path.read_text()
    models = httpx.get(server.base_url + "/v1/models", headers={"Authorization": f"Bearer {server.api_key}"}).json()
    assert [m["id"] for m in models["data"]] == [RENAMED]
