"""The components page: loaded adapters and fixups with version, contract version and hash;
uploading a fixup `.wasm` from the browser makes it live (listed, and its file in the
adapters directory); a component the host refuses is listed with its reason, in words."""

from __future__ import annotations

import hashlib
import re

from playwright.sync_api import expect

from pages import LIVE_WITHIN_MS, go, management, shot, sign_in
from plugboard_server import ADAPTERS, TEST_ADAPTERS, built, provider

FIXUP = ADAPTERS / "history-trim.wasm"


def upload(page, path) -> None:
    page.set_input_files("input#upload", str(path))
    page.get_by_role("button", name="Upload", exact=True).click()


def test_an_uploaded_fixup_goes_live_and_a_refused_file_says_why(launch, mock, page):
    fixup = built(FIXUP)
    server = launch([provider("gpt-upstream", "openai", mock, ["gpt-mock-1"])])
    sign_in(page, server)
    go(page, "Components")

    provider_row = page.locator('tr[data-component="openai"]')
    expect(provider_row).to_be_visible()
    expect(provider_row.locator("[data-field=kind]")).to_contain_text("provider")
    expect(page.locator('tr[data-component="history-trim"]')).to_have_count(0)
    upload_input = page.locator("input#upload")
    expect(upload_input).to_have_attribute("type", "file")
    expect(upload_input).to_have_attribute("accept", ".wasm")
    expect(page.get_by_label("Upload .wasm")).to_have_count(1)

    upload(page, fixup)

    expect(page.locator("#toasts")).to_contain_text("history-trim.wasm", timeout=60_000)
    row = page.locator('tr[data-component="history-trim"]')
    expect(row).to_be_visible(timeout=LIVE_WITHIN_MS)
    expect(row.locator("[data-field=kind]")).to_contain_text("fixup")
    with management(server) as api:
        [listed] = [c for c in api.get("/adapters").json()["loaded"] if c["id"] == "history-trim"]
    expect(row.locator("[data-field=version]")).to_contain_text(listed["version"])
    expect(row.locator("[data-field=contract]")).to_contain_text(listed["contract_version"])
    shown = row.locator("[data-field=hash]").inner_text().strip().removeprefix("sha256:").rstrip("…").strip()
    assert len(shown) >= 8 and hashlib.sha256(fixup.read_bytes()).hexdigest().startswith(shown), shown
    assert (server.adapters_dir / "history-trim.wasm").read_bytes() == fixup.read_bytes()
    shot(page, "components")

    # A component of the wrong world is refused: listed with the host's reason.
    wrong = built(TEST_ADAPTERS / "test-wrong-world.wasm")
    upload(page, wrong)
    refused = page.locator('tr[data-refused="test-wrong-world.wasm"]')
    expect(refused).to_be_visible(timeout=60_000)
    with management(server) as api:
        [reason] = [r["reason"] for r in api.get("/adapters").json()["refused"] if r["file"] == "test-wrong-world.wasm"]
    expect(refused).to_contain_text(reason[:40])
    alerts = page.locator("[role=alert]")
    expect(alerts.filter(has_text=re.compile(re.escape(reason[:30]) + "|test-wrong-world"))).not_to_have_count(0)
    assert "{" not in " ".join(alerts.all_inner_texts()), "words, not JSON"
    # The fixup uploaded before is still loaded.
    expect(row).to_be_visible()


def test_a_file_that_is_not_webassembly_is_refused_in_words(launch, mock, page, tmp_path):
    server = launch([provider("gpt-upstream", "openai", mock, ["gpt-mock-1"])])
    not_wasm = tmp_path / "notes.wasm"
    not_wasm.write_text("these are notes, not a component")
    sign_in(page, server)
    go(page, "Components")

    upload(page, not_wasm)

    alert = page.locator("[role=alert]").filter(has_text="notes.wasm")
    expect(alert.or_(page.locator("[role=alert]").filter(has_text="WebAssembly"))).not_to_have_count(0)
    said = " ".join(page.locator("[role=alert]").all_inner_texts())
    assert "{" not in said, f"words, not JSON: {said!r}"
    assert not (server.adapters_dir / "notes.wasm").exists()
