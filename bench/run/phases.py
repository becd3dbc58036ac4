"""The phases of a run: build, tools, warm-up, interleaved rounds, memory, swap, cold start,
micro-benchmarks.

Rounds interleave the systems: each round measures every system's latency, then every
system's streams, then every system's throughput, so a drift of the (shared, 2-core)
machine during the run lands on all of them alike; the report takes medians over rounds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

import measure
from measure import Tools
from procs import Spawned, StartFailed, free_port
from requests import chat_route
from systems import (CLIENT_KEY, Binaries, System, plugboard_config, prepare_adapters_dir,
                     start_plugboard_copy)

ORDER = ["direct", "direct-messages", "floor", "floor-json", "plugboard-passthrough",
         "plugboard-ops-off", "plugboard-translated", "plugboard-fixups", "tensorzero", "litellm"]
# Pinned: the newest oha release that builds on rustc 1.95 here.
OHA_VERSION = "1.16.0"
# Python peers are slow; they get fewer requests per measurement so a round stays short.
SLOW = {"litellm"}


def build(root: Path, micro_wanted: bool) -> None:
    """Release build of the host and the harness, every component (tests included), and
    the micro-benchmarks (built now so no compile runs between measurements)."""
    subprocess.run(["rustup", "target", "add", "wasm32-wasip2"], check=True, cwd=root,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["cargo", "build", "--release", "-p", "plugboard", "-p", "bench-mock-upstream",
                    "-p", "bench-floor", "-p", "bench-loadgen"], check=True, cwd=root)
    subprocess.run(["adapters/build.sh", "--tests"], check=True, cwd=root)
    if micro_wanted:
        subprocess.run(["cargo", "bench", "-p", "plugboard", "--no-run"], check=True, cwd=root)


def ensure_oha(say) -> str | None:
    """oha from PATH or ~/.cargo/bin, installed (pinned, --locked) when missing."""
    found = shutil.which("oha") or next(
        (str(p) for p in [Path.home() / ".cargo" / "bin" / "oha"] if p.exists()), None)
    if found:
        return found
    say(f"installing oha {OHA_VERSION} (cargo install --locked; a few minutes, once)")
    done = subprocess.run(["cargo", "install", "oha", "--version", OHA_VERSION, "--locked"])
    if done.returncode != 0:
        return None
    return str(Path.home() / ".cargo" / "bin" / "oha")


def ensure_venv(root: Path, venv: Path, say) -> str | None:
    """The peers' venv from bench/requirements.txt, rebuilt when that file changes.
    Returns None when ready, or why the peers cannot run."""
    requirements = root / "bench" / "requirements.txt"
    want = hashlib.sha256(requirements.read_bytes()).hexdigest()
    stamp = venv / "requirements.sha256"
    if stamp.exists() and stamp.read_text().strip() == want:
        return None
    say("installing LiteLLM and TensorZero into target/bench-venv (once)")
    try:
        subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                        "-r", str(requirements)], check=True)
    except subprocess.CalledProcessError as error:
        return f"installing bench/requirements.txt failed: {error}"
    stamp.write_text(want)
    return None


def available(systems: dict[str, System]) -> list[System]:
    return [systems[n] for n in ORDER if n in systems and not systems[n].unavailable]


def warm_up(tools: Tools, systems: dict[str, System], say) -> None:
    """One short latency run per route; a system none of whose requests succeed is
    marked unavailable with the first error (so a broken route never yields numbers)."""
    small = Tools(**{**tools.__dict__, "latency_requests": 50, "max_seconds": 10})
    for system in available(systems):
        for route in [system.route, *system.variants.values()]:
            try:
                result = measure.latency(small, route)
            except Exception as error:  # noqa: BLE001 - recorded, never hidden
                result = {"count": 0, "first_error": str(error)}
            if result["count"] == 0 or result.get("errors"):
                system.unavailable = f"warm-up failed on {route.url}: {result.get('first_error')}"
                say(f"{system.name}: {system.unavailable[:300]}")
                break


def rss_snapshot(systems: dict[str, System]) -> dict[str, int | None]:
    return {s.name: s.proc.rss_kb() for s in available(systems) if s.proc}


def _guard(say, label: str, action):
    try:
        return action()
    except Exception as error:  # noqa: BLE001 - a failed measurement is recorded, not fatal
        say(f"{label} failed: {str(error)[:300]}")
        return {"error": str(error)[:1000]}


def rounds(tools: Tools, systems: dict[str, System], config: dict, say) -> list[dict]:
    """R rounds of (latency, streams, throughput) over every system, in ORDER."""
    measured: list[dict] = []
    for number in range(config["rounds"]):
        say(f"round {number + 1}/{config['rounds']}: latency")
        record: dict[str, dict] = {s.name: {} for s in available(systems)}
        for system in available(systems):
            slow = system.name in SLOW
            record[system.name]["latency"] = _guard(
                say, f"{system.name} latency", lambda: measure.latency(tools, system.route, slow))
            for name, route in system.variants.items():
                record[system.name].setdefault("variants", {})[name] = _guard(
                    say, f"{system.name}/{name} latency", lambda: measure.latency(tools, route, slow))
        say(f"round {number + 1}/{config['rounds']}: streams of 64 chunks")
        for system in available(systems):
            record[system.name]["sse"] = _guard(
                say, f"{system.name} sse", lambda: measure.sse(tools, system.route, system.name in SLOW))
        if tools.oha:
            say(f"round {number + 1}/{config['rounds']}: throughput (oha rate search)")
            for system in available(systems):
                if system.name == "direct-messages":
                    continue
                # Every round searches afresh (from 1,000 rps, doubling): a round that
                # started from an earlier round's result inherited its bad luck.
                search = _guard(say, f"{system.name} rate search",
                                lambda: measure.rate_search(tools, system.route, 1000.0, 2.0,
                                                            config["search_probes"]))
                record[system.name]["throughput"] = search
                record[system.name]["saturation"] = _guard(
                    say, f"{system.name} saturation", lambda: measure.oha(tools, system.route, None, 32))
                say(f"  {system.name}: max_rps {search.get('max_rps')}, "
                    f"saturation {record[system.name]['saturation'].get('rps')}")
        measured.append(record)
    return measured


def ops_cost(tools: Tools, bins: Binaries, logs: Path, run_dir: Path, adapters: Path,
             mock: Spawned, hold: Spawned, swap_upstream: str, processes: int, say) -> dict:
    """What the usage store and metrics cost a request: `processes` fresh Plugboards with
    them on and as many with them off, started and measured alternately (on, off, then
    off, on, ...), one concurrency-1 latency run each on the passthrough route.

    Why fresh processes rather than the two long-lived ones of the rounds: on this
    2-core machine two processes of one binary and one config differ at the p50 by
    tens of µs for as long as they live (where their threads and memory landed), more
    than the cost measured. The median over several processes each way cancels that.
    """
    samples: dict[str, list[float]] = {"on": [], "off": []}
    for number in range(processes):
        order = ["on", "off"] if number % 2 == 0 else ["off", "on"]
        for variant in order:
            name = f"plugboard-ops-{variant}-{number + 1}"
            db = run_dir / f"{name}.db" if variant == "on" else None
            try:
                proc, route = start_plugboard_copy(bins, logs, run_dir, adapters, run_dir / "cache",
                                                   mock, hold, swap_upstream, name, db)
            except StartFailed as error:
                say(f"  {name} did not start: {str(error)[:200]}")
                continue
            try:
                result = _guard(say, f"{name} latency", lambda: measure.latency(tools, route))
            finally:
                proc.stop()
            if result.get("p50_us") is not None:
                samples[variant].append(result["p50_us"])
    out: dict = {"processes": processes,
                 "on_p50_us": samples["on"], "off_p50_us": samples["off"]}
    if samples["on"] and samples["off"]:
        out["p50_on_minus_off_us"] = round(
            statistics.median(samples["on"]) - statistics.median(samples["off"]), 1)
        out["off_p50_range_us"] = [min(samples["off"]), max(samples["off"])]
        say(f"  store + metrics on − off, median of {processes} processes each: "
            f"{out['p50_on_minus_off_us']} µs (off processes ranged "
            f"{min(samples['off'])}–{max(samples['off'])} µs)")
    return out


def memory_idle_connections(tools: Tools, systems: dict[str, System], say) -> dict[str, dict]:
    """1,000 idle keep-alive connections (one request each) to each proxy: bytes each."""
    out = {}
    for system in available(systems):
        if system.name in ("direct", "direct-messages") or not system.proc:
            continue
        if system.name in ("plugboard-translated", "plugboard-fixups", "plugboard-ops-off"):
            continue  # same process as plugboard-passthrough, or its twin
        out[system.name] = _guard(say, f"{system.name} idle connections",
                                  lambda: measure.hold(tools, system.route, system.proc, 1000, "idle"))
    return out


def memory_streams(tools: Tools, systems: dict[str, System], count: int, say) -> dict[str, dict]:
    """`count` concurrent streams held open mid-stream (slow mock): RSS with them."""
    out = {}
    for system in available(systems):
        if not system.hold_route or not system.proc or system.name == "direct":
            continue
        out[system.name] = _guard(say, f"{system.name} {count} streams",
                                  lambda: measure.hold(tools, system.hold_route, system.proc, count, "stream"))
        say(f"  {system.name}: {out[system.name].get('open')} streams open, "
            f"{out[system.name].get('kb_per_connection')} KB each")
    return out


def _component_listed(health_url: str, component: str) -> bool:
    with urllib.request.urlopen(health_url, timeout=5) as answer:
        document = json.load(answer)
    return any(c.get("id") == component for c in document.get("components", []))


def swap(tools: Tools, root: Path, plugboard: Spawned, adapters_dir: Path, upstream: str, say) -> dict:
    """Drops test-stamp v1 in, then swaps v1 -> v2 (new build: compiled on arrival) and
    v2 -> v1 (its compiled form cached), each under load with failures counted."""
    test_adapters = root / "target" / "test-adapters"
    v1, v2 = test_adapters / "test-stamp.wasm", test_adapters / "test-stamp-v2.wasm"
    if not (v1.exists() and v2.exists()):
        return {"error": "target/test-adapters/test-stamp{,-v2}.wasm missing (adapters/build.sh --tests)"}
    health = f"http://{plugboard.announced}/healthz"
    dest = adapters_dir / "test-stamp.wasm"
    staging = adapters_dir / "test-stamp.wasm.incoming"
    shutil.copy(v1, staging)
    staging.rename(dest)
    landed = time.monotonic()
    while not _component_listed(health, "test-stamp"):
        if time.monotonic() - landed > 30:
            return {"error": "test-stamp v1 never appeared in /healthz"}
        time.sleep(0.005)
    added_ms = round((time.monotonic() - landed) * 1000, 1)
    route = chat_route(f"http://{plugboard.announced}/v1", "bench-swap",
                       [f"Authorization: Bearer {CLIENT_KEY}"])
    results = {"first_load_ms": added_ms}
    for label, new, stamp in (("new_build", v2, "v2"), ("cached_build", v1, "v1")):
        argv = [tools.loadgen, "swap", *route.loadgen_args(), "--healthz", health,
                "--component", "test-stamp", "--new-wasm", str(new), "--dest", str(dest),
                "--upstream-listen", upstream, "--expect-stamp", stamp, "--workers", "4"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            results[label] = {"error": done.stderr.strip()[-600:]}
        else:
            results[label] = json.loads(done.stdout.strip().splitlines()[-1])
        say(f"  swap {label}: {results[label]}")
    return results


def cold_start(tools: Tools, bins: Binaries, run_dir: Path, mock: Spawned, say) -> dict:
    """A fresh Plugboard (six components) timed to its first proxied 200: first with an
    empty compile cache, then again with the cache it filled."""
    where = run_dir / "cold"
    adapters = prepare_adapters_dir(bins.root, where / "adapters")
    cache = where / "cache"
    results = {}
    for label in ("uncached", "cached"):
        listen = f"127.0.0.1:{free_port()}"
        config = where / f"plugboard-{label}.yaml"
        config.write_text(plugboard_config(listen, adapters, cache, mock.announced, mock.announced,
                                           "127.0.0.1:9"))
        route = chat_route(f"http://{listen}/v1", "bench-pt", [f"Authorization: Bearer {CLIENT_KEY}"])
        argv = [tools.loadgen, "cold-start", *route.loadgen_args(), "--log",
                str(run_dir / "logs" / f"cold-{label}.log"), "--",
                bins.path("plugboard"), "serve", "--config", str(config)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        results[label] = (json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0
                          else {"error": done.stderr.strip()[-600:]})
        say(f"  cold start {label}: {results[label]}")
    return results


def mock_stats(mock: Spawned) -> dict:
    """The mock's own count of requests, rejected bodies and injected errors."""
    try:
        with urllib.request.urlopen(f"http://{mock.announced}/stats", timeout=5) as answer:
            return json.load(answer)
    except Exception as error:  # noqa: BLE001
        return {"error": str(error)}


def micro(root: Path, run_dir: Path, quick: bool, say) -> dict:
    """`cargo bench -p plugboard`: the criterion micro-benchmarks (instantiation, per-chunk
    host-guest cost, native vs wasm) from a clean `target/criterion`, so no earlier run's
    figures can stand in for this one's, then `request_overhead` (one request's guest
    work per runtime tuning, phase by phase)."""
    shutil.rmtree(root / "target" / "criterion", ignore_errors=True)
    results: dict = {}

    def bench(name: str, args: list[str], env: dict | None = None) -> bool:
        """One bench target, its output kept in the run's logs; a failure is recorded."""
        done = subprocess.run(["cargo", "bench", "-p", "plugboard", "--bench", name, "--", *args],
                              cwd=root, capture_output=True, text=True, env=env)
        (run_dir / "logs" / f"micro-{name}.log").write_text(done.stdout + done.stderr)
        if done.returncode != 0:
            results[f"{name}_error"] = done.stderr.strip()[-600:]
        return done.returncode == 0

    bench("guest_costs", ["--warm-up-time", "0.3", "--measurement-time", "0.8"] if quick else [])
    say("  guest_costs done; request_overhead")
    overhead = run_dir / "request_overhead.json"
    if bench("request_overhead", [], {**os.environ, "REQUEST_OVERHEAD_JSON": str(overhead)}) \
            and overhead.exists():
        results["request_overhead"] = json.loads(overhead.read_text())
    return results
