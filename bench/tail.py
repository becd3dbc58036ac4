"""The rate search's deciding moment, repeated: how often each system's p99 stays under
5 ms at one rate right after the probes that overloaded it.

    python3 bench/tail.py NAME=BINARY[:ENV=VALUE,...] [NAME=BINARY ...]

`just bench` finds a system's max rps by doubling from 1,000 until a probe fails twice
(at 4,000 for every Plugboard route and TensorZero on this machine), then probes once
between the last pass and that failure (2,828), each probe 2.5 s of open-loop load with
oha's latency correction. A single probe decides the figure, so this script repeats the
same sequence many times on every system in turn and says how often the last probe
passed. Environment: TAIL_RATES (the sequence, default `4000,4000,2828`), TAIL_REPS (8),
AB_ROUTE (bench-fx), AB_TENSORZERO (1); AB_ADAPTERS and AB_OPS as in `bench/ab.py`,
which starts the systems. Build the release binaries and components first.
"""
from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "run"))

from ab import ROOT, load, start_systems  # noqa: E402
from measure import P99_LIMIT_MS  # noqa: E402
from phases import ensure_oha  # noqa: E402

PROBE_S = 2.5  # as `just bench` (bench/run/__main__.py, `probe_s`)


def probe(oha: str, route, rate: float) -> float | None:
    """One `just bench` probe at `rate` (`ab.load`: open loop, latency correction, the
    rate's connections); its p99 in ms."""
    return load(oha, route, PROBE_S, rate)["p99_ms"]


def main(specs: list[str]) -> None:
    if not specs and os.environ.get("AB_TENSORZERO", "1") != "1":
        sys.exit(__doc__)
    rates = [float(rate) for rate in os.environ.get("TAIL_RATES", "4000,4000,2828").split(",")]
    reps = int(os.environ.get("TAIL_REPS", "8"))
    oha = ensure_oha(print)
    if not oha:
        sys.exit("oha is missing and could not be installed")
    mock, systems = start_systems(specs, os.environ.get("AB_ROUTE", "bench-fx"),
                                  ROOT / "target" / "bench-tail")
    last: dict[str, list[float]] = {name: [] for name in systems}
    try:
        for rep in range(1, reps + 1):
            for name, (_, route) in systems.items():
                p99s = [probe(oha, route, rate) for rate in rates]
                last[name].append(p99s[-1] if p99s[-1] is not None else float("inf"))
                print(f"rep {rep} {name}: " + ", ".join(
                    f"{int(rate)} rps p99 {p99} ms" for rate, p99 in zip(rates, p99s)), flush=True)
    finally:
        for proc, _ in systems.values():
            proc.stop()
        mock.stop()
    print(f"\nthe last probe ({int(rates[-1])} rps) over {reps} repetitions:")
    for name, values in last.items():
        passed = sum(value < P99_LIMIT_MS for value in values)
        print(f"  {name}: p99 median {statistics.median(values)} ms, under {P99_LIMIT_MS} ms "
              f"{passed}/{len(values)}")


if __name__ == "__main__":
    main(sys.argv[1:])
