"""Figures 2 and 3 on the in-process bridge with the fake clock, and the bench's context.

2 CPU and wall per full cycle against pyenphase's update(), and where the bridge's CPU goes;
3 latency from the gateway's answer to the message on the broker, and startup to the first
state on the broker.
"""

from __future__ import annotations

import cProfile
import pstats
import time
from dataclasses import dataclass

from bench.common import SimSpec, median, percentile
from bench.harness import Harness, default_poll
from bench.params import Params
from bench.report import SKIPPED, Figure, Report, status_of
from bench.service import Service
from bench.tap import READINGS
from tests.support.clock import FakeClock


@dataclass
class Bench:
    rig: Service
    broker: tuple[str, int]
    spec: SimSpec
    params: Params
    report: Report
    main: dict  # the simulated gateway every in-process section reads
    pe: Service | None = None  # pyenphase's process, None when not installed
    pe_reason: str = ""

    def harness(self, poll=None, clock: bool = True, desc: dict | None = None) -> Harness:
        return Harness([desc or self.main], self.broker, poll or default_poll(), FakeClock() if clock else None)

    def counts(self, desc: dict | None = None) -> dict:
        return self.rig.call("counts", [(desc or self.main)["index"]])

    def reset(self, desc: dict | None = None) -> None:
        self.rig.call("reset", [(desc or self.main)["index"]])


# --- 2 CPU per full cycle -----------------------------------------------------------------------


def cpu_cycle(b: Bench, pe: dict | None) -> None:
    p = b.params
    h = b.harness()
    try:
        h.step()
        for _ in range(2):
            h.full_cycle()  # warm up: connections, caches, discovery sent once
        b.reset()
        cpu, wall = [], []
        for _ in range(p.cpu_repeats):
            c0, walls = time.process_time(), []
            for _ in range(p.cpu_cycles):
                w0 = time.perf_counter()
                h.full_cycle()
                walls.append(time.perf_counter() - w0)
            h.publisher.flush(5)  # paho's network thread has sent and been acknowledged
            cpu.append((time.process_time() - c0) / p.cpu_cycles)
            wall.append(median(walls))
        requests = b.counts()["all_requests"] / (p.cpu_repeats * p.cpu_cycles)
        shares = _profile_shares(h, max(3, p.cpu_cycles))
    finally:
        h.close()
    ours, ours_wall = median(cpu), median(wall)
    b.report.details["cpu"] = {
        "bridge_runs": cpu,
        "bridge_wall": wall,
        "bridge_requests": requests,
        "profile_shares": shares,
        "pyenphase": pe,
    }
    spread = f"runs {min(cpu) * 1e3:.1f}-{max(cpu) * 1e3:.1f} ms"
    breakdown = ", ".join(f"{k} {v:.0%}" for k, v in shares.items())
    if pe is None:
        b.report.add(
            Figure(
                "2",
                "CPU per full cycle (parse, build, publish)",
                f"bridge {ours * 1e3:.1f} ms",
                "<= 0.5x pyenphase",
                SKIPPED,
                f"{b.pe_reason}; {spread}; where it goes: {breakdown}",
            )
        )
        return
    ratio = ours / pe["cpu_s"]
    b.report.add(
        Figure(
            "2",
            "CPU per full cycle (parse, build, publish)",
            f"bridge {ours * 1e3:.1f} ms vs pyenphase {pe['cpu_s'] * 1e3:.1f} ms = {ratio:.2f}x",
            "<= 0.5x pyenphase",
            status_of(ratio <= 0.5),
            f"medians of {p.cpu_repeats} runs of {p.cpu_cycles} cycles ({spread}); requests per cycle: bridge "
            f"{requests:.0f}, pyenphase {pe['requests']:.0f}; bridge CPU by part: {breakdown}",
        ),
        Figure(
            "2", "Wall time per full cycle", f"bridge {ours_wall * 1e3:.1f} ms vs pyenphase {pe['wall_s'] * 1e3:.1f} ms"
        ),
    )


_BUCKETS = (  # (label, substrings of the profiled function's file or name), first match wins
    (
        "HTTP+TLS client",
        (
            "requests/",
            "urllib3/",
            "http/client.py",
            "ssl.py",
            "socket.py",
            "_ssl.",
            "_socket.",
            "select.",
            "selectors.py",
            "tenacity/",
            "bridge/envoy.py",
            "bridge/transport.py",
            "bridge/tls.py",
            "email/",
            "urllib/",
            "http/cookie",
            "bridge/auth.py",
        ),
    ),
    ("JSON", ("json/",)),
    ("discovery", ("bridge/discovery",)),
    ("parse+state", ("bridge/model/",)),
    ("MQTT publish", ("paho/", "bridge/publisher.py")),
)


def _profile_shares(h: Harness, cycles: int) -> dict[str, float]:
    """Where the bridge's CPU goes in a full cycle, by module, from a CPU-time profile.

    Built-ins (isinstance, str methods, the C JSON encoder...) have no module: their time goes
    to the bucket of whoever called them."""
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(cycles):
        h.full_cycle()
    profile.disable()
    stats = pstats.Stats(profile).stats
    memo: dict = {}
    totals: dict[str, float] = {}
    for func, (_, _, tottime, _, callers) in stats.items():
        own = _bucket(func)
        if own != "other" or not callers:
            totals[own] = totals.get(own, 0.0) + tottime
            continue
        for caller, edge in callers.items():  # edge = (calls, primitive calls, tottime, cumtime)
            label = _caller_bucket(caller, stats, memo, 0)
            totals[label] = totals.get(label, 0.0) + edge[2]
    whole = sum(totals.values()) or 1.0
    return {k: v / whole for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}


def _bucket(func: tuple) -> str:
    where = f"{func[0]} {func[2]}"
    return next((label for label, keys in _BUCKETS if any(k in where for k in keys)), "other")


def _caller_bucket(func: tuple, stats: dict, memo: dict, depth: int) -> str:
    """The bucket of `func`, or of its biggest caller when it has none (a few levels up)."""
    if func in memo:
        return memo[func]
    label = _bucket(func)
    if label == "other" and depth < 6 and func in stats and stats[func][4]:
        biggest = max(stats[func][4].items(), key=lambda kv: kv[1][3])[0]
        memo[func] = "other"  # cycles in the call graph end here
        label = _caller_bucket(biggest, stats, memo, depth + 1)
    memo[func] = label
    return label


# --- 3 latency and startup ------------------------------------------------------------------------


def latency(b: Bench) -> None:
    """Samples are the steps that read the meters (the 1 s groups' steps between them publish
    no new state); those taken before the start-up read-back and its discovery burst were over
    (the broker's configs read back for a second, then the missing ones sent in slices that
    states overtake) are counted apart, as setup."""
    p = b.params
    h = b.harness()
    grid_paths = ("/ivp/ensemble/relay", "/ivp/ensemble/inventory")
    calls: list[float] = []  # when the worker hands the state to the publisher
    publish_state = h.publisher.publish_state
    state_topic = h.topic("state")

    def timed_publish_state(topic, *args, **kwargs):
        if topic == state_topic:
            calls.append(time.monotonic())
        return publish_state(topic, *args, **kwargs)

    h.publisher.publish_state = timed_publish_state
    try:
        b.rig.call("subscribe", b.broker[0], b.broker[1], [state_topic])
        h.step()
        samples, in_burst, after_meters, to_publisher, unchanged, steps = [], [], [], [], 0, 0
        while len(samples) < p.latency_cycles and steps < 20 * p.latency_cycles:
            steps += 1
            bursting, t0 = h.publisher.bursting, time.monotonic()
            h.step()
            stamps = b.rig.call("stamps", [b.main["index"]], [READINGS, *grid_paths], t0)[b.main["index"]]
            if not stamps[READINGS]:
                continue  # a step of the 1 s groups only: no new state to time
            got = b.rig.call("latency_sample", b.main["index"], READINGS, "/state")
            if got is None:
                unchanged += 1
                continue
            if bursting:
                in_burst.append(got)
                continue
            samples.append(got)
            answered = stamps[READINGS][-1]
            later = [t for path in grid_paths for t in stamps[path]]
            after_meters.append(max(later, default=answered) - answered)
            handed = [c for c in calls if c >= answered]
            if handed:
                to_publisher.append(handed[0] - answered)
    finally:
        b.rig.call("unsubscribe")
        h.close()
    p50, p99 = percentile(samples, 50), percentile(samples, 99)
    b.report.details["latency"] = {
        "samples": samples,
        "in_startup_burst": in_burst,
        "after_meters": after_meters,
        "to_publisher": to_publisher,
        "unchanged": unchanged,
    }
    if p99 is None:
        b.report.add(
            Figure(
                "3",
                "Latency: gateway answer -> state on broker",
                "no samples",
                "p99 < 10 ms",
                SKIPPED,
                "the state never changed between polls",
            )
        )
        return
    rest, handed = median(after_meters), median(to_publisher)
    burst = (
        f"; {len(in_burst)} more polls during the start-up read-back and its discovery burst, counted as setup "
        f"(worst {max(in_burst) * 1e3:.1f} ms)"
        if in_burst
        else ""
    )
    note = (
        f"{len(samples)} meter polls at the default intervals (the steps between them read the 1 s groups only)"
        + burst
        + (f"; {unchanged} polls published no state (unchanged)" if unchanged else "")
        + (
            f"; median split: {handed * 1e3:.1f} ms from the meters answer until the worker hands the state to "
            f"the publisher (of which {rest * 1e3:.1f} ms reading the rest of the step: the grid group), "
            f"{(p50 - handed) * 1e3:.1f} ms publisher -> paho -> Mosquitto -> subscriber"
            if handed
            else ""
        )
    )
    b.report.add(
        Figure(
            "3",
            "Latency: gateway answer -> state on broker",
            f"p50 {p50 * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms",
            "p99 < 10 ms",
            status_of(p99 < 0.010),
            note,
        )
    )


def startup(b: Bench) -> None:
    got = []
    b.rig.call("subscribe", b.broker[0], b.broker[1], [f"envoy/{b.main['serial']}/state"])
    try:
        for _ in range(b.params.startup_repeats):
            h = b.harness()
            try:
                since = time.monotonic()
                h.step()
                got.append(b.rig.call("startup_sample", b.main["index"], since, "/state"))
            finally:
                h.close()
    finally:
        b.rig.call("unsubscribe")
    values = [g for g in got if g is not None]
    worst = max(values) if values else None
    b.report.details["startup"] = got
    b.report.add(
        Figure(
            "3",
            "Startup: first gateway answer -> first state on broker",
            f"median {median(values) * 1e3:.0f} ms, worst {worst * 1e3:.0f} ms" if values else "none",
            "< 1 s",
            status_of(worst is not None and worst < 1.0 and len(values) == len(got)),
            f"{len(got)} fresh starts (/info, session, probe of every endpoint, first publish)",
        )
    )
