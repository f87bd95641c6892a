#!/usr/bin/env python3
"""Where a full cycle's CPU goes, function by function: a profiling aid, not a bench figure.

    bench/.venv/bin/python bench/profile_cycle.py [--cycles 50] [--top 30] [--steps 0]

The same set-up as `run.py --only cpu` (the living scenario in its own process, a real
Mosquitto, the bridge in-process on a fake clock): after two warm-up cycles, `--cycles` full
cycles (or, with `--steps N`, N steps at the default intervals) run under cProfile. It prints
the CPU time per cycle without the profiler, the Python function calls per cycle (a count, so
steady on a busy machine), and the top functions by own and by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `bridge` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import choose_spec
from bench.harness import Harness, default_poll
from bench.service import Service
from tests.support.clock import FakeClock
from tests.support.mqtt import Mosquitto


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--steps", type=int, default=0, help="steps at the default intervals instead of full cycles")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--save", help="also write the raw profile here (for pstats)")
    args = parser.parse_args()
    spec = choose_spec()
    folder = tempfile.TemporaryDirectory(prefix="bench-profile-")
    broker = Mosquitto(Path(folder.name), log_all=False)
    broker.start()
    rig = Service("bench.rig", "Rig")
    try:
        desc = rig.call("add", spec.kind, spec.name, spec.jitter, 1, "9991")[0]
        harness = Harness([desc], (broker.host, broker.port), default_poll(), FakeClock())
        try:
            _profile(harness, args)
        finally:
            harness.close()
    finally:
        rig.close()
        broker.stop()
        folder.cleanup()
    return 0


def _profile(h: Harness, args: argparse.Namespace) -> None:
    h.step()
    for _ in range(2):
        h.full_cycle()  # warm up: connections, caches, discovery sent once
    run, n, what = (h.step, args.steps, "step") if args.steps else (h.full_cycle, args.cycles, "full cycle")
    c0 = time.process_time()
    for _ in range(n):
        run()
    h.publisher.flush(5)
    plain = (time.process_time() - c0) / n
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(n):
        run()
    profile.disable()
    if args.save:
        profile.dump_stats(args.save)
    stats = pstats.Stats(profile)
    calls = sum(entry[1] for entry in stats.stats.values())  # type: ignore[attr-defined]
    print(
        f"{n} x {what}: CPU {plain * 1e3:.2f} ms per {what} (no profiler); {calls / n:,.0f} function calls per {what}"
    )
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    sys.exit(main())
