"""Starting every system a run compares, each with the routes it is measured on.

A system is one process (or, for `direct`, the mock itself) plus its routes: the main
route (what latency, streams and throughput use), extra variants measured alongside,
and a route to the slow mock for holding 1,000 streams. A peer that cannot start is
kept with the reason, so the results say why it has no numbers.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from procs import Spawned, StartFailed, free_port, wait_http
from requests import Route, chat_route, messages_route

CLIENT_KEY = "sk-bench-client"
LITELLM_KEY_ENV = "LITELLM_MASTER_KEY"


@dataclass
class System:
    """One compared system, as measured."""

    name: str
    route: Route | None = None
    proc: Spawned | None = None
    variants: dict[str, Route] = field(default_factory=dict)
    hold_route: Route | None = None
    unavailable: str | None = None
    note: str = ""


@dataclass
class Binaries:
    """The release binaries a run uses."""

    root: Path

    def path(self, name: str) -> str:
        return str(self.root / "target" / "release" / name)


def start_mocks(bins: Binaries, logs: Path) -> tuple[Spawned, Spawned]:
    """The main mock (64 back-to-back chunks per stream) and the slow one for held
    streams (one chunk a second, so a stream stays open for a minute)."""
    main = Spawned("mock-main", [bins.path("bench-mock-upstream"), "--listen", "127.0.0.1:0",
                                 "--threads", "2", "--chunks", "64", "--body-size", "1024"], logs)
    main.wait_announced()
    hold = Spawned("mock-hold", [bins.path("bench-mock-upstream"), "--listen", "127.0.0.1:0",
                                 "--threads", "1", "--chunks", "64",
                                 "--chunk-interval-us", "1000000"], logs)
    hold.wait_announced()
    return main, hold


def direct_systems(mock: Spawned, hold: Spawned) -> list[System]:
    """The mock's own ceiling: the client straight at it, for each upstream dialect."""
    base = f"http://{mock.announced}"
    return [
        System("direct", chat_route(f"{base}/v1", "bench"), mock,
               hold_route=chat_route(f"http://{hold.announced}/v1", "bench")),
        System("direct-messages", messages_route(base, "bench"), mock),
    ]


def start_floors(bins: Binaries, logs: Path, mock: Spawned) -> list[System]:
    """The hyper floor proxy: bytes unchanged, and with a JSON parse and re-serialise."""
    systems = []
    for name, extra in (("floor", []), ("floor-json", ["--json"])):
        try:
            proc = Spawned(name, [bins.path("bench-floor"), "--listen", "127.0.0.1:0", "--upstream",
                                  f"http://{mock.announced}", "--threads", "2", *extra], logs)
            proc.wait_announced()
            systems.append(System(name, chat_route(f"http://{proc.announced}/v1", "bench"), proc))
        except (StartFailed, OSError) as error:
            systems.append(System(name, unavailable=str(error)))
    return systems


def plugboard_config(listen: str, adapters: Path, cache: Path, mock: str, hold: str,
                     swap_upstream: str, usage_db: Path | None = None) -> str:
    """One Plugboard serving every measured route, each a provider entry by model alias.
    With `usage_db`, the usage store writes there and metrics count (as `serve` does by
    default); without, both are off (the side-by-side "ops off" process)."""
    if usage_db is None:
        ops = "usage:\n  enabled: false\nmetrics:\n  enabled: false\n"
    else:
        ops = f"usage:\n  path: {usage_db}\nmetrics:\n  enabled: true\n"
    return f"""# Written by bench/run for one benchmark run.
listen: {listen}
api-keys: [{CLIENT_KEY}]
adapters-dir: {adapters}
cache-dir: {cache}
log-level: warn
{ops}providers:
  - name: passthrough
    adapter: openai
    base-url: http://{mock}/v1
    models: [{{name: bench, alias: bench-pt}}]
  - name: translated
    adapter: anthropic
    base-url: http://{mock}
    models: [{{name: bench, alias: bench-tr}}]
  - name: fixups
    adapter: anthropic
    base-url: http://{mock}
    models: [{{name: bench, alias: bench-fx}}]
    fixups: [first-user-turn, merge-turns]
  - name: hold
    adapter: openai
    base-url: http://{hold}/v1
    models: [{{name: bench, alias: bench-hold}}]
  - name: swap
    adapter: openai
    base-url: http://{swap_upstream}/v1
    models: [{{name: bench, alias: bench-swap}}]
    fixups: [test-stamp]
"""


def production_adapters(root: Path) -> list[Path]:
    return sorted((root / "target" / "adapters").glob("*.wasm"))


def prepare_adapters_dir(root: Path, where: Path) -> Path:
    """A fresh adapters dir holding the production components only (the six)."""
    if where.exists():
        shutil.rmtree(where)
    where.mkdir(parents=True)
    for wasm in production_adapters(root):
        shutil.copy(wasm, where / wasm.name)
    return where


def wait_components(health_url: str, count: int, timeout_s: float, proc: Spawned) -> None:
    """Plugboard answers /healthz before its components are compiled and loaded; the run
    starts once every one is listed."""
    deadline = time.monotonic() + timeout_s
    while True:
        with urllib.request.urlopen(health_url, timeout=5) as answer:
            health = json.load(answer)
        listed, refused = health.get("components", []), health.get("refused", [])
        if len(listed) >= count:
            return
        if refused:
            raise StartFailed(f"plugboard refused components (host and components built from "
                              f"different contracts?): {refused}")
        if time.monotonic() > deadline or not proc.alive():
            raise StartFailed(f"plugboard listed {len(listed)} of {count} components after "
                              f"{timeout_s}s: {proc.log_tail()}")
        time.sleep(0.05)


def start_plugboard(bins: Binaries, logs: Path, run_dir: Path, mock: Spawned, hold: Spawned,
                    swap_upstream: str) -> tuple[Spawned, dict[str, System], Path]:
    """Plugboard with the six production components; returns its three systems."""
    adapters = prepare_adapters_dir(bins.root, run_dir / "adapters")
    cache = run_dir / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    listen = f"127.0.0.1:{free_port()}"
    config = run_dir / "plugboard.yaml"
    usage_db = run_dir / "usage.db"
    for stale in run_dir.glob("usage.db*"):
        stale.unlink()
    config.write_text(plugboard_config(listen, adapters, cache, mock.announced, hold.announced,
                                       swap_upstream, usage_db))
    proc = Spawned("plugboard", [bins.path("plugboard"), "serve", "--config", str(config)], logs,
                   env={"RUST_LOG": "warn"})
    proc.drain_stdout()
    proc.announced = listen
    wait_http(f"http://{listen}/healthz", 60, proc)
    wait_components(f"http://{listen}/healthz", len(production_adapters(bins.root)), 180, proc)
    base = f"http://{listen}"
    auth = [f"Authorization: Bearer {CLIENT_KEY}"]
    ops_off = start_plugboard_ops_off(bins, logs, run_dir, adapters, cache, mock, hold,
                                      swap_upstream)
    systems = {
        "plugboard-passthrough": System(
            "plugboard-passthrough", chat_route(f"{base}/v1", "bench-pt", auth), proc,
            hold_route=chat_route(f"{base}/v1", "bench-hold", auth)),
        "plugboard-translated": System(
            "plugboard-translated",
            chat_route(f"{base}/v1", "bench-tr", auth, baseline="direct-messages"), proc,
            variants={"anthropic-client-to-openai": messages_route(
                base, "bench-pt", [f"x-api-key: {CLIENT_KEY}"], baseline="direct")},
            note="Chat client -> anthropic adapter; the variant is an Anthropic client -> openai adapter"),
        "plugboard-fixups": System(
            "plugboard-fixups",
            chat_route(f"{base}/v1", "bench-fx", auth, baseline="direct-messages"), proc,
            note="Chat client -> anthropic adapter with fixups first-user-turn, merge-turns"),
        "plugboard-ops-off": ops_off,
    }
    return proc, systems, adapters


def start_plugboard_ops_off(bins: Binaries, logs: Path, run_dir: Path, adapters: Path, cache: Path,
                            mock: Spawned, hold: Spawned, swap_upstream: str) -> System:
    """A second Plugboard, the same config with the usage store and metrics off, measured
    on the passthrough route side by side with the first (store and metrics on)."""
    try:
        proc, route = start_plugboard_copy(bins, logs, run_dir, adapters, cache, mock, hold,
                                           swap_upstream, "plugboard-ops-off", None)
    except StartFailed as error:
        return System("plugboard-ops-off", unavailable=str(error))
    return System("plugboard-ops-off", route, proc,
                  note="plugboard-passthrough's route with usage.enabled and metrics.enabled false")


def start_plugboard_copy(bins: Binaries, logs: Path, run_dir: Path, adapters: Path, cache: Path,
                         mock: Spawned, hold: Spawned, swap_upstream: str, name: str,
                         usage_db: Path | None) -> tuple[Spawned, Route]:
    """Another Plugboard on the run's config (store and metrics on when `usage_db` is
    given, else off), on its own port and the shared compile cache; returns it and its
    passthrough route. Raises StartFailed (after stopping it) if it does not come up."""
    listen = f"127.0.0.1:{free_port()}"
    config = run_dir / f"{name}.yaml"
    config.write_text(plugboard_config(listen, adapters, cache, mock.announced, hold.announced,
                                       swap_upstream, usage_db))
    proc = Spawned(name, [bins.path("plugboard"), "serve", "--config", str(config)],
                   logs, env={"RUST_LOG": "warn"})
    proc.drain_stdout()
    proc.announced = listen
    try:
        wait_http(f"http://{listen}/healthz", 60, proc)
        wait_components(f"http://{listen}/healthz", len(production_adapters(bins.root)), 180, proc)
    except StartFailed:
        proc.stop()
        raise
    return proc, chat_route(f"http://{listen}/v1", "bench-pt", [f"Authorization: Bearer {CLIENT_KEY}"])


def start_tensorzero(root: Path, venv: Path, logs: Path, run_dir: Path, mock: Spawned,
                     hold: Spawned) -> System:
    """TensorZero's gateway, as its PyPI wheel embeds it, on the OpenAI-compatible route."""
    python = venv / "bin" / "python"
    if not python.exists():
        return System("tensorzero", unavailable=f"no bench venv at {venv}")
    template = (root / "bench" / "peers" / "tensorzero.toml").read_text()
    config = run_dir / "tensorzero.toml"
    config.write_text(template.replace("{UPSTREAM_BASE}", f"http://{mock.announced}/v1/")
                      .replace("{HOLD_BASE}", f"http://{hold.announced}/v1/"))
    proc = Spawned("tensorzero", [str(python), str(root / "bench" / "peers" / "tensorzero_gateway.py"),
                                  str(config)], logs, env={"RUST_LOG": "warn"})
    try:
        base = proc.wait_announced(90)
    except StartFailed as error:
        proc.stop()
        return System("tensorzero", unavailable=str(error))
    return System("tensorzero", chat_route(base, "tensorzero::model_name::bench"), proc,
                  hold_route=chat_route(base, "tensorzero::model_name::bench-hold"),
                  note="tensorzero wheel's embedded gateway (_start_http_gateway), observability off")


def start_litellm(root: Path, venv: Path, logs: Path, mock: Spawned, hold: Spawned) -> System:
    """LiteLLM proxy, offline, master key from the environment, logging and callbacks off."""
    exe = venv / "bin" / "litellm"
    if not exe.exists():
        return System("litellm", unavailable=f"litellm is not installed in {venv}")
    key = os.environ.get(LITELLM_KEY_ENV) or "sk-bench-litellm-master"
    port = free_port()
    env = {
        LITELLM_KEY_ENV: key,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
        "DISABLE_SCHEMA_UPDATE": "True",
        "BENCH_UPSTREAM_BASE": f"http://{mock.announced}/v1",
        "BENCH_HOLD_BASE": f"http://{hold.announced}/v1",
    }
    proc = Spawned("litellm", [str(exe), "--config", str(root / "bench" / "peers" / "litellm.yaml"),
                               "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1",
                               "--telemetry", "False",
                               "--log_config", str(root / "bench" / "peers" / "litellm-logging.json")],
                   logs, env=env)
    proc.drain_stdout()
    proc.announced = f"127.0.0.1:{port}"
    try:
        wait_http(f"http://127.0.0.1:{port}/health/liveliness", 180, proc)
    except StartFailed as error:
        proc.stop()
        return System("litellm", unavailable=str(error))
    auth = [f"Authorization: Bearer {key}"]
    base = f"http://127.0.0.1:{port}/v1"
    return System("litellm", chat_route(base, "bench", auth), proc,
                  hold_route=chat_route(base, "bench-hold", auth),
                  note="litellm proxy, one uvicorn worker, offline cost map, callbacks off")
