"""Interleaved A/B of Plugboard builds (and TensorZero) on one route: saturation
throughput, CPU per request and resident set, round by round, medians at the end.

    python3 bench/ab.py NAME=BINARY[:ENV=VALUE,...] [NAME=BINARY ...]

Each build serves its own process on the `just bench` config, against one mock
upstream; every round measures each process in turn, so a slow minute of the shared
machine hits every build alike. Environment: AB_ROUTE (bench-fx: translated + 2
fixups; bench-tr, bench-pt), AB_ROUNDS (5), AB_SECONDS (6, per measurement),
AB_RATE (also the CPU per request and the p99 at this open-loop rate, rps; off by
default), AB_TENSORZERO (1: measure it too, from target/bench-venv). Build the release
binaries and the components first (`just bench` does, or `cargo build --release` and
`adapters/build.sh`); copy each build's `target/release/plugboard` aside to compare
builds, or give one binary with an `LD_PRELOAD` to compare allocators. Two
pseudo-variables: AB_ADAPTERS=DIR serves that build from its own adapters dir (every
`*.wasm` of DIR over the production components), to compare builds of the components;
AB_OPS=off serves it with the usage store and metrics off (as `plugboard-ops-off` in
`just bench`).
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench" / "run"))

from measure import _oha_numbers, connections_for  # noqa: E402
from phases import ensure_oha  # noqa: E402
from procs import Spawned, free_port, wait_http  # noqa: E402
from requests import chat_route  # noqa: E402
from systems import (CLIENT_KEY, Binaries, plugboard_config, prepare_adapters_dir,  # noqa: E402
                     production_adapters, start_tensorzero, wait_components)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def load(oha: str, route, seconds: float, rate: float | None = None) -> dict:
    """One oha run; `all` counts every answered request, warm-up included."""
    connections = connections_for(rate) if rate else 32
    argv = [oha, "-z", f"{seconds}s", "-c", str(connections), "--no-tui", "--output-format", "csv"]
    if rate:
        argv += ["-q", str(int(rate)), "--latency-correction"]
    done = subprocess.run(argv + route.oha_args(), capture_output=True, text=True,
                          timeout=seconds + 60)
    numbers = _oha_numbers(done.stdout, seconds)
    numbers["all"] = sum(1 for line in done.stdout.splitlines()[1:] if line.count(",") >= 6)
    return numbers


def start_systems(specs: list[str], route_model: str, run: Path) -> tuple[Spawned, dict]:
    """The mock upstream, then one Plugboard per `NAME=BINARY[:ENV=VALUE,...]` spec (and
    TensorZero unless AB_TENSORZERO=0), each ready; returns the mock and
    `{name: (process, route)}`. `bench/tail.py` starts its systems here too."""
    logs = run / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    bins = Binaries(ROOT)
    mock = Spawned("mock", [bins.path("bench-mock-upstream"), "--listen", "127.0.0.1:0",
                            "--threads", "2", "--chunks", "64", "--body-size", "1024"], logs)
    mock.wait_announced()
    adapters = prepare_adapters_dir(ROOT, run / "adapters")
    systems = {}
    for spec in specs:
        name, _, rest = spec.partition("=")
        binary, _, env_text = rest.partition(":")
        env = dict(item.split("=", 1) for item in env_text.split(",") if item)
        home = run / name
        home.mkdir(exist_ok=True)
        served = adapters
        if "AB_ADAPTERS" in env:
            served = prepare_adapters_dir(ROOT, home / "adapters")
            for wasm in Path(env.pop("AB_ADAPTERS")).glob("*.wasm"):
                shutil.copy(wasm, served / wasm.name)
        for stale in home.glob("usage.db*"):
            stale.unlink()
        listen = f"127.0.0.1:{free_port()}"
        config = home / "plugboard.yaml"
        ops = env.pop("AB_OPS", "on")
        if ops not in ("on", "off"):
            sys.exit(f"{name}: AB_OPS is `on` or `off`, not `{ops}`")
        usage_db = None if ops == "off" else home / "usage.db"
        config.write_text(plugboard_config(listen, served, run / "cache", mock.announced,
                                           mock.announced, mock.announced, usage_db))
        proc = Spawned(name, [binary, "serve", "--config", str(config)], logs,
                       env={"RUST_LOG": "warn", **env})
        proc.drain_stdout()
        wait_http(f"http://{listen}/healthz", 60, proc)
        wait_components(f"http://{listen}/healthz", len(production_adapters(ROOT)), 180, proc)
        print(f"{name}: idle RSS {rss_mb(proc.pid)} MB", flush=True)
        systems[name] = (proc, chat_route(f"http://{listen}/v1", route_model,
                                          [f"Authorization: Bearer {CLIENT_KEY}"]))
    if os.environ.get("AB_TENSORZERO", "1") == "1":
        tz = start_tensorzero(ROOT, ROOT / "target" / "bench-venv", logs, run, mock, mock)
        if tz.route is None:
            print(f"tensorzero: {tz.unavailable}", flush=True)
        else:
            systems["tensorzero"] = (tz.proc, tz.route)
    return mock, systems


def main(specs: list[str]) -> None:
    if not specs:
        sys.exit(__doc__)
    route_model = os.environ.get("AB_ROUTE", "bench-fx")
    rounds = int(os.environ.get("AB_ROUNDS", "5"))
    seconds = float(os.environ.get("AB_SECONDS", "6"))
    rate = float(os.environ.get("AB_RATE", "0")) or None
    oha = ensure_oha(print)
    if not oha:
        sys.exit("oha is missing and could not be installed")
    mock, systems = start_systems(specs, route_model, ROOT / "target" / "bench-ab")
    for proc, route in systems.values():
        load(oha, route, 3)
    results: dict[str, dict[str, list[float]]] = {name: {} for name in systems}
    for round_number in range(1, rounds + 1):
        for name, (proc, route) in systems.items():
            row = results[name]
            before = cpu_seconds(proc.pid)
            numbers = load(oha, route, seconds)
            spent = cpu_seconds(proc.pid) - before
            row.setdefault("saturation rps", []).append(numbers["rps"])
            row.setdefault("CPU µs/request", []).append(
                round(spent / max(numbers["all"], 1) * 1e6, 1))
            row.setdefault("RSS MB", []).append(rss_mb(proc.pid))
            if rate:
                before = cpu_seconds(proc.pid)
                numbers = load(oha, route, seconds, rate)
                spent = cpu_seconds(proc.pid) - before
                row.setdefault(f"CPU µs/request at {int(rate)} rps", []).append(
                    round(spent / max(numbers["all"], 1) * 1e6, 1))
                row.setdefault(f"p99 ms at {int(rate)} rps", []).append(numbers["p99_ms"])
            print(f"round {round_number} {name}: " + ", ".join(
                f"{key} {values[-1]}" for key, values in row.items()), flush=True)
    print(f"\nmedians over {rounds} rounds, route {route_model}:")
    for name, row in results.items():
        print(f"  {name}: " + ", ".join(
            f"{key} {statistics.median(values)}" for key, values in row.items()))
    for proc, _ in systems.values():
        proc.stop()
    mock.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
