"""One measurement each: the load client's modes and oha, run and parsed.

Every function runs one short measurement against one route and returns plain numbers;
rounds, medians and comparisons are the orchestrator's business.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from dataclasses import dataclass

from procs import Spawned
from requests import Route

P99_LIMIT_MS = 5.0
ERROR_LIMIT = 0.001


@dataclass
class Tools:
    """Paths of the load client and oha, and how long each measurement runs."""

    loadgen: str
    oha: str | None
    latency_requests: int
    sse_streams: int
    probe_s: float
    max_seconds: float


def _json_lines(argv: list[str], timeout: float) -> list[dict]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[1]} failed ({done.returncode}): {done.stderr.strip()[-600:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def latency(tools: Tools, route: Route, slow: bool = False) -> dict:
    """Concurrency-1 latency: p50/p99/mean µs of send-to-last-byte."""
    requests = tools.latency_requests // (4 if slow else 1)
    argv = [tools.loadgen, "latency", *route.loadgen_args(), "--requests", str(requests),
            "--warmup", str(max(20, requests // 10)), "--max-seconds", str(tools.max_seconds)]
    return _json_lines(argv, tools.max_seconds * 3 + 60)[0]


def sse(tools: Tools, route: Route, slow: bool = False) -> dict:
    """Sequential streams: TTFB, first-token time, body duration, gaps (µs)."""
    streams = tools.sse_streams // (4 if slow else 1)
    argv = [tools.loadgen, "sse", *route.loadgen_args(stream=True), "--requests", str(streams),
            "--warmup", str(max(5, streams // 10)), "--max-seconds", str(tools.max_seconds)]
    return _json_lines(argv, tools.max_seconds * 3 + 60)[0]


def hold(tools: Tools, route: Route, proc: Spawned, connections: int, kind: str) -> dict:
    """Holds `connections` streams (or idle keep-alives) open; RSS before and while held."""
    before, pss_before = proc.rss_kb(), proc.pss_kb()
    argv = [tools.loadgen, "hold", *route.loadgen_args(stream=(kind == "stream")),
            "--connections", str(connections), "--kind", kind, "--open-timeout-s", "30",
            "--hold-seconds", "120"]
    child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdin is not None
        ready = json.loads(child.stdout.readline() or "{}")
        time.sleep(0.5)  # let the last allocations settle before reading memory
        during, pss_during = proc.rss_kb(), proc.pss_kb()
        child.stdin.close()
        done = json.loads(child.stdout.readline() or "{}")
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
    if not ready:
        raise RuntimeError(f"hold produced no report: {child.stderr.read() if child.stderr else ''}")
    opened = max(ready.get("open", 0), 1)
    per_kb = (during - before) / opened if before and during else None
    pss_per_kb = (pss_during - pss_before) / opened if pss_before and pss_during else None
    return {"kind": kind, "requested": connections, "open": ready.get("open"),
            "failed": ready.get("failed"), "first_error": ready.get("first_error"),
            "open_ms": ready.get("open_ms"), "ended_early": done.get("ended_early"),
            "rss_before_kb": before, "rss_held_kb": during,
            "kb_per_connection": None if per_kb is None else round(per_kb, 1),
            "pss_before_kb": pss_before, "pss_held_kb": pss_during,
            "pss_kb_per_connection": None if pss_per_kb is None else round(pss_per_kb, 1)}


WARMUP_S = 0.5


def _oha_numbers(csv_text: str, seconds: float) -> dict:
    """Numbers from oha's per-request CSV, leaving out the first WARMUP_S: oha opens its
    connections then, and with latency correction that start-up would otherwise be most
    of a short probe's p99."""
    durations, failures = [], 0
    for line in csv_text.splitlines()[1:]:
        fields = line.split(",")
        if len(fields) < 7 or float(fields[0]) < WARMUP_S:
            continue
        if fields[6].strip() == "200":
            durations.append(float(fields[4]))
        else:
            failures += 1
    durations.sort()
    total = len(durations) + failures
    window = max(seconds - WARMUP_S, 1e-9)

    def pct(p: float) -> float | None:
        if not durations:
            return None
        return round(durations[min(len(durations) - 1, math.ceil(p * len(durations)) - 1)] * 1e3, 3)

    return {"rps": round(len(durations) / window, 1), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "error_rate": round(failures / total, 5) if total else 1.0, "samples": total}


def connections_for(rate: float) -> int:
    """Enough connections for the rate at ~2 ms each (Little's law, 2x headroom), and no
    more: every idle extra connection only adds scheduling noise to the p99 on 2 cores."""
    return int(min(max(rate * 0.002, 8), 128))


def oha(tools: Tools, route: Route, rate: float | None, connections: int | None = None) -> dict:
    """One oha run: open loop at `rate` with latency correction, or closed loop if None."""
    assert tools.oha
    connections = connections or (connections_for(rate) if rate else 32)
    argv = [tools.oha, "-z", f"{tools.probe_s}s", "-c", str(connections), "--no-tui",
            "--output-format", "csv"]
    if rate is not None:
        argv += ["-q", str(int(rate)), "--latency-correction"]
    done = subprocess.run(argv + route.oha_args(), capture_output=True, text=True,
                          timeout=tools.probe_s + 60)
    if done.returncode != 0 and not done.stdout:
        raise RuntimeError(f"oha failed: {done.stderr.strip()[-400:]}")
    numbers = _oha_numbers(done.stdout, tools.probe_s)
    numbers["rate"] = rate
    numbers["ok"] = (rate is not None and numbers["p99_ms"] is not None
                     and numbers["p99_ms"] < P99_LIMIT_MS and numbers["error_rate"] < ERROR_LIMIT
                     and numbers["rps"] >= 0.9 * rate)
    return numbers


def rate_search(tools: Tools, route: Route, start: float, growth: float, max_probes: int,
                precision: float = 1.1, floor_rate: float = 20.0, cap: float = 200_000) -> dict:
    """Highest open-loop rate whose p99 < 5 ms with < 0.1% errors (and that is actually
    sustained). Grows from `start` by `growth` until a probe fails, then bisects
    (geometrically) until the bracket is within `precision`; shrinks below `start` when
    the first probe already fails. The first failing rate is probed twice (see
    `confirmed_failure`)."""
    probes: list[dict] = []
    best, failed = 0.0, None
    rate = start

    def probe(at: float) -> bool:
        result = oha(tools, route, at)
        probes.append(result)
        return result["ok"]

    def confirmed_failure(at: float) -> bool:
        """The first failure is probed again before it counts: on a shared machine one
        hiccup (another process's burst) can push a p99 past 5 ms at any rate, and
        taken at face value it sends the search down by quarters to a rate the system
        sustains many times over."""
        if probe(at):
            return False
        return len(probes) >= max_probes or not probe(at)

    while len(probes) < max_probes and failed is None and rate <= cap:
        if not confirmed_failure(rate):
            best, rate = rate, rate * growth
        else:
            failed = rate
    while len(probes) < max_probes and failed is not None:
        low = best if best else failed / 4
        if failed / max(low, 1e-9) <= precision or (not best and failed <= floor_rate):
            break
        middle = math.sqrt(low * failed) if best else low
        if probe(middle):
            best = middle
        else:
            failed = middle
    return {"max_rps": round(best), "probes": [
        {k: p[k] for k in ("rate", "rps", "p99_ms", "error_rate", "ok")} for p in probes]}
