"""Medians over rounds, the issue's targets, and the two result files.

Every "added" number is per round first (the system minus the direct-to-mock baseline
of the same upstream dialect, measured in the same round) and then the median over
rounds, so slow drift of the machine cancels out of the comparison.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

from systems import System

REQUIRED = ["direct", "floor", "floor-json", "plugboard-passthrough", "plugboard-ops-off",
            "plugboard-translated",
            "plugboard-fixups", "tensorzero", "litellm"]
CHUNKS = 64
COMMAND = "just bench"


def _median(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 1) if values else None


def _get(record: dict, *path: str) -> float | None:
    for key in path:
        if not isinstance(record, dict) or key not in record:
            return None
        record = record[key]
    return record if isinstance(record, (int, float)) else None


def _added(measured: list[dict], name: str, baseline: str, *path: str, variant: str | None = None,
           scale: float = 1.0) -> float | None:
    per_round = []
    for record in measured:
        own = record.get(name, {})
        if variant:
            own = own.get("variants", {})
            own = {"latency": own.get(variant)}
        mine, base = _get(own, *path), _get(record.get(baseline, {}), *path)
        if mine is not None and base is not None:
            per_round.append((mine - base) / scale)
    return _median(per_round)


def _mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)


def system_results(system: System, measured: list[dict], rss_idle: dict, rss_after: dict,
                   idle_connections: dict, streams: dict) -> dict:
    """The numbers of one system, medians over rounds."""
    if system.unavailable:
        return {"available": False, "reason": system.unavailable}
    name, base = system.name, system.route.baseline
    own = lambda *path: _median([_get(r.get(name, {}), *path) for r in measured])  # noqa: E731
    out = {
        "available": True,
        "note": system.note or None,
        "baseline": base,
        "p50_us": own("latency", "p50_us"),
        "p99_us": own("latency", "p99_us"),
        "added_p50_us": _added(measured, name, base, "latency", "p50_us"),
        "added_p99_us": _added(measured, name, base, "latency", "p99_us"),
        "added_mean_us": _added(measured, name, base, "latency", "mean_us"),
        "max_rps": own("throughput", "max_rps"),
        "saturation_rps": None if own("saturation", "rps") is None else round(own("saturation", "rps")),
        "saturation_p99_ms": own("saturation", "p99_ms"),
        "ttft_p99_us": own("sse", "ttft", "p99_us"),
        "ttft_added_p50_us": _added(measured, name, base, "sse", "ttft", "p50_us"),
        "ttft_added_p99_us": _added(measured, name, base, "sse", "ttft", "p99_us"),
        "chunk_added_p50_us": _added(measured, name, base, "sse", "body", "p50_us", scale=CHUNKS),
        "gap_added_p99_us": _added(measured, name, base, "sse", "gap", "p99_us"),
        "rss_idle_mb": _mb(rss_idle.get(name)),
        "rss_after_load_mb": _mb(rss_after.get(name)),
    }
    if name in streams and "rss_held_kb" in streams[name]:
        held = streams[name]
        out["rss_1000_streams_mb"] = _mb(held["rss_held_kb"])
        out["kb_per_stream"] = held["kb_per_connection"]
        out["pss_kb_per_stream"] = held.get("pss_kb_per_connection")
        out["streams_held"] = held["open"]
    if name in idle_connections and idle_connections[name].get("kb_per_connection") is not None:
        out["bytes_per_idle_connection"] = round(idle_connections[name]["kb_per_connection"] * 1024)
    for variant, route in system.variants.items():
        out.setdefault("variants", {})[variant] = {
            "baseline": route.baseline,
            "added_p50_us": _added(measured, name, route.baseline, "latency", "p50_us", variant=variant),
            "added_p99_us": _added(measured, name, route.baseline, "latency", "p99_us", variant=variant),
        }
    return out


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}{unit}" if isinstance(value, int) else f"{value}{unit}"


def _verdict(measured, target, lower_is_better: bool = True, unit: str = "",
             strict: bool = False) -> str:
    """`strict`: the target is to be ahead of `target` (another system's figure), so
    an equal figure is a tie, not met."""
    if measured is None or target is None:
        return "not measured"
    if strict and measured == target:
        return "tied, not ahead"
    met = measured <= target if lower_is_better else measured >= target
    if met:
        return "met"
    gap = measured - target if lower_is_better else target - measured
    return f"missed by {_fmt(round(gap, 1), unit)}"


def targets(systems: dict, swap: dict, ops: dict) -> list[dict]:
    """Issue 4's targets against this run's numbers."""
    pt, fx = systems.get("plugboard-passthrough", {}), systems.get("plugboard-fixups", {})
    floor, tz, ll = systems.get("floor", {}), systems.get("tensorzero", {}), systems.get("litellm", {})
    rows = []

    def row(what, measured, target, lower=True, unit="", strict=False):
        rows.append({"target": what, "measured": measured, "goal": target,
                     "status": _verdict(measured, target, lower, unit, strict), "unit": unit})

    row(f"usage store + metrics on vs off (passthrough, median p50 of {ops.get('processes')} fresh "
        "processes each way): on − off ≤ 10 µs", ops.get("p50_on_minus_off_us"), 10, unit=" µs")
    row("translated + 2 fixups: added p50 ≤ 100 µs", fx.get("added_p50_us"), 100, unit=" µs")
    row("translated + 2 fixups: added p99 ≤ 300 µs", fx.get("added_p99_us"), 300, unit=" µs")
    for pct in ("p50", "p99"):
        floor_added = floor.get(f"added_{pct}_us")
        goal = None if floor_added is None else round(max(floor_added, 1.0) * 1.3, 1)
        row(f"passthrough: added {pct} ≤ 1.3× floor's ({_fmt(floor_added)} µs)",
            pt.get(f"added_{pct}_us"), goal, unit=" µs")
    floor_rps = floor.get("max_rps")
    row("throughput ≥ 80% of the floor's", pt.get("max_rps"),
        None if floor_rps is None else round(floor_rps * 0.8), lower=False, unit=" rps")
    row("throughput ahead of TensorZero", pt.get("max_rps"), tz.get("max_rps"), lower=False, unit=" rps",
        strict=True)
    row("translated + 2 fixups: max rps ahead of TensorZero", fx.get("max_rps"), tz.get("max_rps"),
        lower=False, unit=" rps", strict=True)
    ll_rate = ll.get("max_rps") or ll.get("saturation_rps")
    ll_basis = "max_rps" if ll.get("max_rps") else "saturation_rps (its p99 never met 5 ms)"
    row(f"throughput ≥ 30× LiteLLM ({ll_basis})", pt.get("max_rps"),
        None if not ll_rate else round(ll_rate * 30), lower=False, unit=" rps")
    for label, system in (("passthrough", pt), ("translated + fixups", fx)):
        row(f"{label}: added TTFT p99 ≤ 300 µs", system.get("ttft_added_p99_us"), 300, unit=" µs")
        row(f"{label}: per-chunk added cost ≤ 10 µs (median)", system.get("chunk_added_p50_us"), 10, unit=" µs")
    row("idle RSS ≤ 40 MB (6 components)", pt.get("rss_idle_mb"), 40, unit=" MB")
    row("≤ 64 KB per active stream at 1,000 streams", pt.get("kb_per_stream"), 64, unit=" KB")
    new, cached = swap.get("new_build", {}), swap.get("cached_build", {})
    row("hot swap: new build serving ≤ 1 s after the file lands", new.get("swap_serving_ms"), 1000, unit=" ms")
    row("hot swap: cached build serving ≤ 100 ms", cached.get("swap_serving_ms"), 100, unit=" ms")
    failures = None if "failed" not in new else new.get("failed", 0) + cached.get("failed", 0)
    row("hot swap: zero failed requests", failures, 0)
    return rows


def source_state(root: Path) -> tuple[str, list[str]]:
    """The commit being built and measured, and the files that differ from it, read when
    the run starts (the checkout is shared: HEAD may move during a run)."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                           capture_output=True, text=True).stdout.splitlines()
    return commit, [line[3:] for line in dirty if line.strip()]


def machine() -> dict:
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (StopIteration, FileNotFoundError):
        pass
    memory_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                         if line.startswith("MemTotal")))
    load = os.getloadavg()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(memory_kb / 1024 / 1024, 1),
            "kernel": platform.release(), "os": platform.platform(),
            "load_average_at_end": [round(x, 2) for x in load],
            "shared": "a shared 2-core development machine; other builds may have run during the "
                      "benchmark (see load_average_at_end)"}


def criterion_results(root: Path) -> dict | None:
    """Point estimates of `cargo bench -p plugboard`, when its output is present."""
    found = {}
    for estimates in sorted((root / "target" / "criterion").glob("**/new/estimates.json")):
        name = str(estimates.parent.parent.relative_to(root / "target" / "criterion"))
        data = json.loads(estimates.read_text())
        found[name] = {"mean_ns": round(data["mean"]["point_estimate"], 1),
                       "median_ns": round(data["median"]["point_estimate"], 1)}
    return found or None


def write_results(*, root: Path, config: dict, systems: dict[str, System], measured: list[dict],
                  rss_idle: dict, rss_after: dict, ops: dict, idle_connections: dict,
                  streams: dict,
                  swap: dict, cold: dict, mock_stats: dict, micro: dict, elapsed_s: float,
                  oha: str | None,
                  source: tuple[str, list[str]]) -> dict:
    by_name = {name: system_results(systems[name], measured, rss_idle, rss_after, idle_connections,
                                    streams) if name in systems else
               {"available": False, "reason": "not started"} for name in REQUIRED}
    if by_name.get("plugboard-ops-off", {}).get("available"):
        # Per round, the passthrough route with the store and metrics on minus off.
        by_name["plugboard-ops-off"]["p50_on_minus_off_us"] = _added(
            measured, "plugboard-passthrough", "plugboard-ops-off", "latency", "p50_us")
        by_name["plugboard-ops-off"]["p99_on_minus_off_us"] = _added(
            measured, "plugboard-passthrough", "plugboard-ops-off", "latency", "p99_us")
    if "direct-messages" in systems:
        by_name["direct"]["variants"] = {"messages": system_results(
            systems["direct-messages"], measured, rss_idle, rss_after, {}, {})}
    commit, dirty = source
    results = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": COMMAND + (" (BENCH_QUICK=1)" if config["quick"] else ""),
        "commit": commit,
        # Files that differed from that commit when the run was made (the checkout is shared).
        "uncommitted_changes": dirty,
        "machine": machine(),
        "settings": config | {"oha": oha, "chunks_per_stream": CHUNKS},
        "elapsed_s": round(elapsed_s),
        "systems": by_name,
        "targets": targets(by_name, swap, ops),
        # `ops_cost` in phases.py: the store and metrics on and off, fresh processes.
        "ops_cost": ops,
        "hot_swap": swap,
        "cold_start": cold,
        "idle_connections": idle_connections,
        "held_streams": streams,
        "mock_stats": mock_stats,
        # Measured by this run (`micro` in phases.py), from a cleared target/criterion.
        "criterion": criterion_results(root) if "skipped" not in micro else None,
        "micro": micro,
        "rounds": measured,
    }
    out = root / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "latest.md").write_text(markdown(results))
    if not config["quick"]:
        update_readme(root, results)
    return results


README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


def update_readme(root: Path, results: dict) -> None:
    """Puts a full run's table into the README's Performance section (between markers)."""
    readme = root / "README.md"
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_START}\n{markdown(results)}{README_END}{tail}")


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"Run `{results['command']}` on {results['date']} (commit {results['commit']}"
        + (f", plus uncommitted changes to {len(results['uncommitted_changes'])} files of the shared "
           "checkout" if results["uncommitted_changes"] else "") + "), "
        f"{m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB; {m['shared']}; "
        f"{results['settings']['rounds']} interleaved round(s), medians over rounds. "
        "Added = the system minus direct-to-mock in the same round, concurrency 1.",
        "",
        "| system | added p50 µs | added p99 µs | max rps (p99 < 5 ms) | saturation rps | "
        "TTFT added p99 µs | per-chunk added µs | RSS idle MB | RSS 1,000 streams MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in REQUIRED:
        s = results["systems"][name]
        if not s.get("available"):
            lines.append(f"| {name} | not run: {str(s.get('reason'))[:120]} | | | | | | | |")
            continue
        lines.append("| " + " | ".join([name] + [_fmt(s.get(k)) for k in (
            "added_p50_us", "added_p99_us", "max_rps", "saturation_rps", "ttft_added_p99_us",
            "chunk_added_p50_us", "rss_idle_mb", "rss_1000_streams_mb")]) + " |")
    variant = results["systems"].get("plugboard-translated", {}).get("variants", {}).get(
        "anthropic-client-to-openai")
    if variant:
        lines += ["", f"Anthropic client → `openai` adapter (the other translated direction): added "
                      f"p50 {_fmt(variant['added_p50_us'])} µs, p99 {_fmt(variant['added_p99_us'])} µs."]
    held = [(name, results["systems"][name]) for name in REQUIRED
            if results["systems"][name].get("kb_per_stream") is not None]
    if held:
        lines += ["", "Memory per held stream (1,000 streams), RSS / PSS (PSS counts a page shared "
                      "by several mappings once): " + "; ".join(
                          f"{name} {_fmt(s['kb_per_stream'])} / {_fmt(s.get('pss_kb_per_stream'))} KB"
                          for name, s in held) + "."]
    ops = results.get("ops_cost") or {}
    if ops.get("on_p50_us") and ops.get("off_p50_us"):
        lines += ["", f"Usage store + metrics, p50 µs of {ops['processes']} fresh processes each way "
                      f"(passthrough, concurrency 1): on {', '.join(_fmt(v) for v in ops['on_p50_us'])}; "
                      f"off {', '.join(_fmt(v) for v in ops['off_p50_us'])}; median on − off "
                      f"{_fmt(ops.get('p50_on_minus_off_us'))} µs."]
    swap, cold = results["hot_swap"], results["cold_start"]
    lines += ["", f"Cold start to first proxied 200: {_fmt(cold.get('uncached', {}).get('cold_start_ms'))} ms "
                  f"(empty compile cache), {_fmt(cold.get('cached', {}).get('cold_start_ms'))} ms (cached). "
                  f"Hot swap: new build serving after {_fmt(swap.get('new_build', {}).get('swap_serving_ms'))} ms, "
                  f"cached build after {_fmt(swap.get('cached_build', {}).get('swap_serving_ms'))} ms; failed "
                  f"requests {_fmt(swap.get('new_build', {}).get('failed'))} + "
                  f"{_fmt(swap.get('cached_build', {}).get('failed'))}.",
              "", "| target | measured | status |", "| --- | ---: | --- |"]
    for row in results["targets"]:
        lines.append(f"| {row['target']} | {_fmt(row['measured'], row['unit'])} | {row['status']} |")
    lines += micro_markdown(results)
    return "\n".join(lines) + "\n"


# The criterion figures the table shows, with what each one is.
MICRO_ROWS = [
    ("instantiate/openai", "instantiate the `openai` adapter (store + instance, pooling allocator)"),
    ("instantiate/merge-turns", "instantiate the `merge-turns` fixup"),
    ("per_chunk/decoder_push", "one SSE chunk through the decoder (host → guest → IR events)"),
    ("per_chunk/decoder_push_with_2_fixups", "the same, then through two fixups' `on-events`"),
    ("native_vs_wasm/encode_request_native", "`openai` encode-request compiled natively"),
    ("native_vs_wasm/encode_request_wasm", "the same translation in its component"),
    ("native_vs_wasm/decode_event_native", "`openai` decode of one event, native"),
    ("native_vs_wasm/decode_event_wasm", "the same in its component"),
    ("request_chain/cold", "a request's whole guest chain, instances made on the path"),
    ("request_chain/ready_instances", "the same with instances made ahead"),
    ("request_chain/reused_instances", "the same on instances the caller's earlier requests used (the default)"),
]


def micro_markdown(results: dict) -> list[str]:
    """The micro-benchmarks of this run, when it ran them."""
    criterion = results.get("criterion") or {}
    rows = [(name, what, criterion[name]["median_ns"] / 1000) for name, what in MICRO_ROWS
            if name in criterion]
    overhead = (results.get("micro") or {}).get("request_overhead") or {}
    if not rows and not overhead:
        return []
    lines = ["", "Micro-benchmarks of this run (`cargo bench -p plugboard`, medians):", "",
             "| benchmark | what | µs |", "| --- | --- | ---: |"]
    lines += [f"| `{name}` | {what} | {_fmt(round(us, 1))} |" for name, what, us in rows]
    default = next((v for k, v in overhead.items() if k.startswith("default:")), None)
    if default:
        phases = ", ".join(f"{k} {_fmt(v)}" for k, v in default["phases_median_us"].items())
        lines.append(f"| `request_overhead` default tuning | one request's guest work (openai + 2 "
                     f"fixups), p50 / p99; phases: {phases} | {_fmt(default['median_us'])} / "
                     f"{_fmt(default['p99_us'])} |")
    return lines
