"""RSS of a process that is only the bridge: one worker, real HTTPS, a real broker.

Runs in its own process (bench.service), so what it reports is the bridge's footprint and not
the bench's (simulators, pyenphase, statistics).
"""

from __future__ import annotations

import gc
import time

from bench.common import rss_mb
from bench.harness import Harness, default_poll
from bridge.heap import Heap
from tests.support.clock import FakeClock

START_WAIT_S = 10.0  # the read-back window is 1 s; the flush waits for the broker's acknowledgements


class MemoryRun:
    def __init__(self, desc: dict, broker: tuple[str, int]):
        clock = FakeClock()
        self.harness = Harness([desc], broker, default_poll(), clock)
        self.heap = Heap(clock.monotonic)  # ticked as `run`'s main loop ticks it, on the same clock

    def run(self, cycles: int, samples: int = 10) -> dict:
        """RSS after start (setup, the first publish, the read-back of retained discovery configs
        and the discovery burst it releases, acknowledged), then every cycles/samples steps. The
        read-back ends on real time (a second after connecting): sampled before it, its one-off
        burst of some 500 configs counted as growth of the steady state."""
        h = self.harness
        h.step()
        h.publisher.wait_discovery_ready(START_WAIT_S)
        h.publisher.flush(START_WAIT_S)
        gc.collect()
        started = rss_mb()
        points = [(0, started)]
        every = max(1, cycles // samples)
        t0 = time.perf_counter()
        for done in range(1, cycles + 1):
            h.step()
            self.heap.tick()
            if done % every == 0 or done == cycles:
                points.append((done, rss_mb()))
        return {
            "start_mb": started,
            "points": points,
            "seconds": time.perf_counter() - t0,
            "published": h.published(),
            "errors": h.worker.diagnostics.get("errors", 0),
        }

    def close(self) -> None:
        self.heap.release()
        self.harness.close()


# --- the section, run from bench/run.py ------------------------------------------------------------

LIMIT_MB = 30.0  # issue 17: under 30 MB after 10,000 cycles
FLAT_MB = 2.0  # growth allowed after the first fifth of the cycles (allocator warm-up aside)


def start(b):
    """Start the memory run in its own process; `finish` reports it (it may overlap with the
    outage measurement, which waits on the poll schedule most of the time)."""
    from bench.service import Service

    own = b.rig.call("add", b.spec.kind, b.spec.name, b.spec.jitter, 1, "9995")[0]  # not shared with others
    run = Service("bench.memory", "MemoryRun", own, b.broker)
    run.begin("run", b.params.memory_cycles)
    return run


def finish(b, run) -> None:
    from bench.report import Figure, status_of

    cycles = b.params.memory_cycles
    try:
        res = run.end(timeout=120 + cycles * 0.05)
    finally:
        run.close()
    points = res["points"]
    start_mb, end = res["start_mb"], points[-1][1]
    warm_at, warm = points[max(1, len(points) // 5)]
    growth = end - warm
    ok = end < LIMIT_MB and growth < FLAT_MB
    b.report.details["memory"] = res
    b.report.add(
        Figure(
            "5",
            f"RSS after start -> after {cycles:,} cycles",
            f"{start_mb:.1f} MB -> {end:.1f} MB (+{end - start_mb:.1f} MB; +{growth:.2f} MB after cycle {warm_at:,})",
            f"< {LIMIT_MB:.0f} MB, flat (< {FLAT_MB:.0f} MB growth)",
            status_of(ok),
            f"a process that is only the bridge (one gateway, default intervals, fake clock, real HTTPS and broker); "
            f"{cycles:,} steps in {res['seconds']:.0f} s; MiB at cycle: "
            + ", ".join(f"{n:,}: {mb:.1f}" for n, mb in points),
        )
    )
