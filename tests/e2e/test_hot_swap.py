"""Stories of hot swap: an operator replaces a fixup's `.wasm` while clients keep
sending requests. No request may fail, and within 2 s the upstream must see the new
version's work. A file that is refused, for any reason (not a valid component, an id
another file provides), never replaces or removes a good one."""

import os
import shutil
import time

import pytest

from plugboard_server import ADAPTERS, TEST_ADAPTERS, built, provider
from steady_load import SteadyLoad

STAMP_HEADER = "x-plugboard-stamp"
MODEL = "stamp-mock"
SWAP_DEADLINE = 2.0


@pytest.fixture
def stamped(launch, mock, tmp_path):
    """A Plugboard whose adapters directory is the test's own, holding the standard
    components plus `test-stamp` v1, configured as the only fixup of one provider."""
    adapters = tmp_path / "adapters"
    adapters.mkdir()
    for component in built(ADAPTERS).glob("*.wasm"):
        shutil.copy(component, adapters)
    shutil.copy(built(TEST_ADAPTERS / "test-stamp.wasm"), adapters / "test-stamp.wasm")
    server = launch([provider("stamped", "openai", mock, [MODEL], fixups=["test-stamp"])], adapters_dir=adapters)
    server.adapters = adapters
    return server


def replace_by_rename(source, target):
    """How careful tools deploy: write beside, then rename over (atomic)."""
    partial = target.with_name("." + target.name + ".partial")
    shutil.copyfile(source, partial)
    os.replace(partial, target)


def replace_in_place(source, target):
    """How `cp` deploys: truncate and rewrite the same file (the watcher may see it half-written)."""
    shutil.copyfile(source, target)


def stamps_between(mock, start: float, end: float = float("inf")) -> list[str]:
    return [r.headers.get(STAMP_HEADER, "<none>") for r in mock.received if start <= r.at < end]


@pytest.mark.parametrize("replace", [replace_by_rename, replace_in_place], ids=["rename", "copy-in-place"])
def test_swapping_a_fixup_under_load_loses_no_request(stamped, mock, replace):
    v2 = built(TEST_ADAPTERS / "test-stamp-v2.wasm")
    with SteadyLoad(stamped.base_url, stamped.api_key, MODEL) as load:
        time.sleep(2.0)
        swapped_at = time.monotonic()
        replace(v2, stamped.adapters / "test-stamp.wasm")
        time.sleep(4.0)

    assert load.count() > 20, "the load generator barely ran"
    assert load.failures == [], f"{len(load.failures)} of {load.count()} requests failed during the swap, first: {load.failures[0]}"

    assert set(stamps_between(mock, 0, swapped_at)) == {"v1"}, "before the swap, v1 stamps every request"
    first_v2 = next((r.at for r in mock.received if r.headers.get(STAMP_HEADER) == "v2"), None)
    assert first_v2 is not None, "the upstream never saw the v2 stamp"
    assert first_v2 - swapped_at < SWAP_DEADLINE, f"v2 appeared {first_v2 - swapped_at:.2f}s after the swap"
    settled = stamps_between(mock, swapped_at + SWAP_DEADLINE)
    assert settled and set(settled) == {"v2"}, f"after {SWAP_DEADLINE}s every request must carry v2: {sorted(set(settled))}"


def test_files_that_are_not_valid_components_are_refused_and_service_goes_on(stamped, mock):
    garbage = stamped.adapters / "garbage.wasm"
    wrong_world = stamped.adapters / "test-wrong-world.wasm"
    with SteadyLoad(stamped.base_url, stamped.api_key, MODEL, threads=2) as load:
        time.sleep(1.0)
        garbage.write_bytes(b"\0asm this is not a component at all" * 10)
        shutil.copy(built(TEST_ADAPTERS / "test-wrong-world.wasm"), wrong_world)
        refused = _wait_until_reported(stamped, ["garbage.wasm", "test-wrong-world.wasm"], within=5.0)
        time.sleep(1.0)

    assert refused, f"neither /healthz nor the log named both refused files:\n{stamped.health()}"
    assert load.failures == [], f"{len(load.failures)} requests failed, first: {load.failures[0]}"
    assert set(stamps_between(mock, 0)) == {"v1"}, "the good fixup stays in force"

    # The offline listing refuses the same files and still lists the good components.
    listing = stamped.cli("adapters", "list", "--adapters", str(stamped.adapters))
    output = listing.stdout + listing.stderr
    assert listing.returncode == 0, output
    loaded = [line.split()[1] for line in output.splitlines() if line.startswith(("provider", "fixup"))]
    assert {"openai", "test-stamp"} <= set(loaded), output
    refusals = [line for line in output.splitlines() if line.startswith("refused")]
    assert any("garbage.wasm" in line for line in refusals), output
    assert any("test-wrong-world.wasm" in line for line in refusals), output


@pytest.mark.parametrize("replace", [replace_by_rename, replace_in_place], ids=["rename", "copy-in-place"])
def test_a_provider_copied_over_another_is_refused_and_the_old_one_keeps_serving(stamped, mock, replace):
    """`cp anthropic.wasm openai.wasm` under load: the copy claims `anthropic`, which
    anthropic.wasm already provides, so it is refused, and the `openai` adapter that
    was loaded from openai.wasm goes on serving every request."""
    openai_file = stamped.adapters / "openai.wasm"
    with SteadyLoad(stamped.base_url, stamped.api_key, MODEL) as load:
        time.sleep(1.0)
        replace(built(ADAPTERS / "anthropic.wasm"), openai_file)
        reported = _wait_until_logged(stamped, 'provider id "anthropic" is already provided by', within=5.0)
        time.sleep(2.0)

    assert load.count() > 20, "the load generator barely ran"
    assert load.failures == [], f"{len(load.failures)} of {load.count()} requests failed, first: {load.failures[0]}"
    assert reported, "the log never named the duplicate id"
    refusal = next(line for line in stamped.log_text().splitlines() if "already provided by" in line)
    assert "openai.wasm" in refusal and "openai@" in refusal, f"names the file and what stays: {refusal}"

    # The offline listing shows the file as refused, for the same reason.
    listing = stamped.cli("adapters", "list", "--adapters", str(stamped.adapters))
    output = listing.stdout + listing.stderr
    refusals = [line for line in output.splitlines() if line.startswith("refused")]
    assert any("openai.wasm" in line and "anthropic" in line for line in refusals), output

    # Restored, it is served as before and nothing is refused any more.
    replace_by_rename(built(ADAPTERS / "openai.wasm"), openai_file)
    time.sleep(1.0)
    with SteadyLoad(stamped.base_url, stamped.api_key, MODEL, threads=1) as after:
        time.sleep(1.0)
    assert after.count() > 0 and after.failures == []


def _wait_until_logged(server, text: str, within: float) -> bool:
    """True once `text` shows in the server's log."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if text in server.log_text():
            return True
        time.sleep(0.1)
    return False


def _wait_until_reported(server, names: list[str], within: float) -> bool:
    """True once every name shows in /healthz or in the server's log."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        seen = str(server.health()) + server.log_text()
        if all(name in seen for name in names):
            return True
        time.sleep(0.2)
    return False
