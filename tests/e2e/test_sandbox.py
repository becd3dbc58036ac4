"""Stories of misbehaving components: an adapter that loops forever, one that eats
memory without end, one that panics. Each request that reaches one gets a clear 500
naming the component and what went wrong, within a bounded time, and Plugboard goes
on serving everyone else."""

import shutil
import threading
import time

import httpx
import pytest

from plugboard_server import ADAPTERS, TEST_ADAPTERS, Plugboard, built, provider

HEALTHY_MODEL = "healthy-mock"
GUEST_CALL_TIMEOUT_MS = 1000
BOUND_SECONDS = 5.0

MISBEHAVIOURS = [
    pytest.param("spin-mock", "test-spin", ["time limit", "timeout", "timed out", "deadline"], id="endless-loop"),
    pytest.param("hog-mock", "test-hog", ["memory"], id="endless-allocation"),
    pytest.param("panic-mock", "test-panic", ["test-panic: deliberate", "panic"], id="panic"),
]


@pytest.fixture(scope="module")
def sandboxed(upstream, tmp_path_factory) -> Plugboard:
    workdir = tmp_path_factory.mktemp("sandboxed")
    adapters = workdir / "adapters"
    adapters.mkdir()
    for component in built(ADAPTERS).glob("*.wasm"):
        shutil.copy(component, adapters)
    for name in ["test-spin", "test-hog", "test-panic"]:
        shutil.copy(built(TEST_ADAPTERS / f"{name}.wasm"), adapters)
    server = Plugboard(
        workdir,
        providers=[
            provider("healthy", "openai", upstream, [HEALTHY_MODEL]),
            provider("spinner", "test-spin", upstream, ["spin-mock"]),
            provider("hog", "test-hog", upstream, ["hog-mock"]),
            provider("panicker", "test-panic", upstream, ["panic-mock"]),
        ],
        adapters_dir=adapters,
        limits={"guest-call-timeout-ms": GUEST_CALL_TIMEOUT_MS, "guest-memory-mb": 64},
        # One attempt: the bound below is for one guest call, not for retries of it.
        retry={"max-attempts": 1},
    )
    server.start()
    yield server
    server.stop()


def ask(server: Plugboard, model: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.post(
        server.base_url + "/v1/chat/completions",
        headers={"authorization": f"Bearer {server.api_key}"},
        json={"model": model, "messages": [{"role": "user", "content": "hello"}]},
        timeout=30,
    )
    return response, time.monotonic() - started


@pytest.mark.parametrize("model, component, reasons", MISBEHAVIOURS)
def test_a_misbehaving_component_fails_its_request_clearly_and_harms_no_one_else(sandboxed, mock, model, component, reasons):
    for attempt in range(2):  # the second time proves the broken instance was thrown away cleanly
        response, took = ask(sandboxed, model)
        assert response.status_code == 500, f"attempt {attempt}: {response.status_code} {response.text}"
        message = response.json()["error"]["message"]
        assert component in message, f"the error must name the component: {message!r}"
        assert any(reason in message.lower() for reason in reasons), f"the error must say why ({reasons}): {message!r}"
        assert took < BOUND_SECONDS, f"attempt {attempt} took {took:.1f}s"

    healthy, _ = ask(sandboxed, HEALTHY_MODEL)
    assert healthy.status_code == 200, healthy.text
    assert healthy.json()["choices"][0]["message"]["content"] == "echo: hello"
    assert [r.body["model"] for r in mock.received] == [HEALTHY_MODEL], "nothing from the broken provider reached the upstream"


def test_a_hung_component_does_not_block_other_requests_meanwhile(sandboxed, mock):
    spinning = threading.Thread(target=ask, args=(sandboxed, "spin-mock"))
    spinning.start()
    time.sleep(0.2)
    healthy, took = ask(sandboxed, HEALTHY_MODEL)
    spinning.join()
    assert healthy.status_code == 200, healthy.text
    assert took < GUEST_CALL_TIMEOUT_MS / 1000, f"a healthy request waited {took:.2f}s behind a spinning guest"
