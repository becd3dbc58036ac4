"""`just bench`: build in release, start every system, measure them interleaved, report.

    python3 bench/run                 # the full run (about 20 minutes)
    BENCH_QUICK=1 python3 bench/run   # one short round (about 3 minutes), same outputs

Environment: BENCH_QUICK=1 (smoke run), BENCH_ROUNDS=N (override rounds),
BENCH_SKIP_BUILD=1 (use the binaries already built), BENCH_NO_PEERS=1 (skip LiteLLM and
TensorZero; they are then recorded as not run), BENCH_NO_MICRO=1 (skip the criterion
micro-benchmarks), LITELLM_MASTER_KEY (LiteLLM's master
key; a fixed local one when unset). Writes bench/results/latest.json and latest.md;
logs and generated configs go to target/bench-run/.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from measure import Tools
from phases import (build, cold_start, ensure_oha, ensure_venv, memory_idle_connections,
                    memory_streams, micro, mock_stats, ops_cost, rounds, rss_snapshot, swap,
                    warm_up)
from procs import free_port, raise_fd_limit, stop_all
from report import source_state, write_results
from systems import (Binaries, System, direct_systems, start_floors, start_litellm,
                     start_mocks, start_plugboard, start_tensorzero)

ROOT = Path(__file__).resolve().parents[2]


def settings() -> dict:
    quick = os.environ.get("BENCH_QUICK") == "1"
    rounds = int(os.environ.get("BENCH_ROUNDS", "1" if quick else "5"))
    return {
        "quick": quick,
        "rounds": rounds,
        "latency_requests": 500 if quick else 2000,
        "sse_streams": 60 if quick else 200,
        "probe_s": 1.5 if quick else 2.5,
        "search_probes": 6 if quick else 8,
        "max_seconds": 3.0 if quick else 6.0,
        "held_streams": 1000,
        "ops_cost_processes": 4 if quick else 8,
    }


def main() -> int:
    started = time.time()
    config = settings()
    raise_fd_limit()
    run_dir = ROOT / "target" / "bench-run"
    shutil.rmtree(run_dir, ignore_errors=True)
    logs = run_dir / "logs"
    logs.mkdir(parents=True)
    say = lambda message: print(f"[bench {time.time() - started:6.1f}s] {message}", flush=True)  # noqa: E731

    source = source_state(ROOT)
    micro_wanted = os.environ.get("BENCH_NO_MICRO") != "1"
    if os.environ.get("BENCH_SKIP_BUILD") != "1":
        say("building release binaries and components")
        build(ROOT, micro_wanted)
    oha = ensure_oha(say)
    venv = ROOT / "target" / "bench-venv"
    peers_wanted = os.environ.get("BENCH_NO_PEERS") != "1"
    venv_problem = ensure_venv(ROOT, venv, say) if peers_wanted else "skipped (BENCH_NO_PEERS=1)"

    bins = Binaries(ROOT)
    tools = Tools(loadgen=bins.path("bench-loadgen"), oha=oha,
                  latency_requests=config["latency_requests"], sse_streams=config["sse_streams"],
                  probe_s=config["probe_s"], max_seconds=config["max_seconds"])
    say("starting mocks, floors, plugboard and peers")
    mock, hold_mock = start_mocks(bins, logs)
    systems: dict[str, System] = {s.name: s for s in direct_systems(mock, hold_mock)}
    systems |= {s.name: s for s in start_floors(bins, logs, mock)}
    swap_upstream = f"127.0.0.1:{free_port()}"
    plugboard, plugboard_systems, adapters_dir = start_plugboard(bins, logs, run_dir, mock, hold_mock,
                                                                 swap_upstream)
    systems |= plugboard_systems
    if venv_problem:
        systems["tensorzero"] = System("tensorzero", unavailable=venv_problem)
        systems["litellm"] = System("litellm", unavailable=venv_problem)
    else:
        systems["tensorzero"] = start_tensorzero(ROOT, venv, logs, run_dir, mock, hold_mock)
        systems["litellm"] = start_litellm(ROOT, venv, logs, mock, hold_mock)
    for system in systems.values():
        if system.unavailable:
            say(f"{system.name} unavailable: {system.unavailable[:300]}")

    say("warming up every route")
    warm_up(tools, systems, say)
    rss_idle = rss_snapshot(systems)
    measured = rounds(tools, systems, config, say)
    rss_after = rss_snapshot(systems)
    say(f"usage store + metrics: {config['ops_cost_processes']} fresh processes each way")
    ops = ops_cost(tools, bins, logs, run_dir, adapters_dir, mock, hold_mock, swap_upstream,
                   config["ops_cost_processes"], say)
    say("memory: idle keep-alive connections, then 1,000 held streams")
    idle_connections = memory_idle_connections(tools, systems, say)
    streams = memory_streams(tools, systems, config["held_streams"], say)
    say("hot swap under load")
    swapped = swap(tools, ROOT, plugboard, adapters_dir, swap_upstream, say)
    say("cold start")
    cold = cold_start(tools, bins, run_dir, mock, say)
    stats = mock_stats(mock)
    stop_all()
    if micro_wanted:
        say("micro-benchmarks (cargo bench -p plugboard), with every server stopped")
        micro_results = micro(ROOT, run_dir, config["quick"], say)
    else:
        micro_results = {"skipped": "BENCH_NO_MICRO=1"}

    results = write_results(
        root=ROOT, config=config, systems=systems, measured=measured, rss_idle=rss_idle,
        rss_after=rss_after, ops=ops, idle_connections=idle_connections, streams=streams, swap=swapped,
        cold=cold, mock_stats=stats, micro=micro_results, elapsed_s=time.time() - started, oha=oha,
        source=source)
    say(f"wrote bench/results/latest.json and latest.md ({results['elapsed_s']:.0f}s)")
    print((ROOT / "bench" / "results" / "latest.md").read_text())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        stop_all()
