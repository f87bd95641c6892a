"""6: how many gateways one bridge process serves at the default intervals on this machine.

The real command line (`python -m bridge run`) with N gateways at its own defaults (no `poll:`
section), one simulator each (all in the rig's process, not the bridge's). Which endpoints each
poll group reads, and at what interval, is asked of the bridge itself (a worker on the same
scenario), so a group is never measured against another's interval. Lateness is read at the
simulator: the gap between two answers of a group's own endpoint to the same gateway, minus the
interval; `late_groups` says which groups missed (the grid group, where the live data vouch for
the relay, at the relay's check interval: the live group carries the outage then). The window
opens once every gateway was polled twice and the start-up discovery burst is on the broker.
The bridge's CPU share is its process CPU time over the window's wall time.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

import yaml

from bench.common import REPO, cpu_seconds, load_average, percentile, rss_mb
from bench.report import INFO, Figure, status_of
from bench.sections import Bench
from bench.tap import READINGS
from bridge.gateway.relay_watch import CHECK_S, relay_watched

TARGET = 500  # gateways one process serves at the defaults (issue 17)
LATE_SHARE = 0.10  # a poll more than 10% of its interval late is a miss...
# ...or, for the 1 s groups, more than this: a grid poll 0.5 s late still detects an outage
# within the 2 s target (1 s interval + 0.5 s + a real gateway's relay answer, at most 0.35 s).
LATE_FLOOR_S = 0.5
READY_BASE_S, READY_PER_GATEWAY_S = 25.0, 0.15  # the start: every gateway probes ~20 endpoints
DISCOVERY_QUIET_S, DISCOVERY_MAX_S = 2.0, 300.0


def scale(b: Bench, steps_wanted: tuple[int, ...] | None = None) -> None:
    """Steps of N gateways until one misses; a step that would overrun the section's time
    budget is not started (`--scale 100,200,400,800` asks for a longer ramp)."""
    p = b.params
    poll = _poll(p.scale_quick_interval)
    groups = _groups(b, poll)
    meters_s = groups.get("meters", ((), 10.0))[1]
    sims: list[dict] = []
    steps: list[dict] = []
    began = time.monotonic()
    budget = p.scale_budget_s if steps_wanted is None else float("inf")
    for n in steps_wanted or p.scale_steps:
        expected = READY_BASE_S + READY_PER_GATEWAY_S * n / 2 + meters_s + p.scale_window_s
        if steps and time.monotonic() - began + expected > budget:
            steps.append({"n": n, "not_tried": True})
            break
        if len(sims) < n:
            sims += b.rig.call(
                "add", b.spec.kind, b.spec.name, b.spec.jitter, n - len(sims), "9994", True, timeout=60 + n
            )
        step = _step(b, sims[:n], poll, groups, p.scale_window_s)
        step["load_average"] = load_average()
        steps.append(step)
        if not step.get("on_time"):
            break
    b.report.details["scale"] = {"groups": groups, "steps": steps}
    _report(b, steps)


def _poll(quick_interval: float | None) -> dict[str, float]:
    """The `poll:` section: empty at the defaults; quick mode sets every group under a minute
    (the live group's "auto" included) to `quick_interval` (the configuration's floor is 5 s)."""
    from bridge.config import PollIntervals

    if not quick_interval:
        return {}
    base = PollIntervals()
    names = [f.name for f in fields(PollIntervals)]
    return {k: quick_interval for k in names if base.interval(k, fast_live=True) < 60}


def _groups(b: Bench, poll: dict[str, float]) -> dict[str, tuple[tuple[str, ...], float]]:
    """What the bridge reads in each poll group on this scenario, and every how many seconds:
    a worker probes one of the scenario's gateways and says (the live group's "auto" is per
    gateway)."""
    from bridge.config import PollIntervals

    h = b.harness(PollIntervals(**poll))
    try:
        h.step()
        w = h.worker
        groups = {g: (eps, w.schedule.interval(g)) for g, eps in w.groups.items() if eps and w.schedule.interval(g) > 0}
        if relay_watched(w.groups, w.schedule):  # the live data vouch for the relay: its own reads are the checks
            groups["grid"] = (groups["grid"][0], CHECK_S)
        return groups
    finally:
        h.close()


def write_config(descs: list[dict], b: Bench, poll: dict, workdir: Path, base_topic: str = "scale") -> Path:
    gateways = [
        {
            "host": f"https://{d['host']}:{d['port']}",
            "token": d["token"],
            "tls": {"fingerprint": d["fingerprint"]},
            "token_cache": str(workdir / f"{d['serial']}.jwt"),
        }
        for d in descs
    ]
    config = {
        "gateways": gateways,
        "log_level": "WARNING",
        "cache_dir": str(workdir),
        "mqtt": {
            "host": b.broker[0],
            "port": b.broker[1],
            "base_topic": base_topic,
            "client_id": f"bench-{base_topic}-{os.getpid()}-{len(descs)}",
            "instance_id": f"bench-{base_topic}-{os.getpid()}-{len(descs)}",  # its own availability topic
        },
        "cloud": {
            "enlighten_url": descs[0]["cloud_url"],
            "entrez_url": descs[0]["cloud_url"],
            "ca_file": descs[0]["ca_file"],
        },
        **({"poll": poll} if poll else {}),
    }
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _step(b: Bench, descs: list[dict], poll: dict, groups: dict, window: float) -> dict:
    n, indexes = len(descs), [d["index"] for d in descs]
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        config = write_config(descs, b, poll, Path(tmp))
        b.rig.call("reset", indexes)
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        with open(Path(tmp) / "bridge.log", "w+") as log:
            return _measure(b, n, indexes, groups, window, config, env, log)


def _measure(b: Bench, n: int, indexes: list[int], groups: dict, window: float, config: Path, env: dict, log) -> dict:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "run", "-c", str(config)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        started, rig_started = time.monotonic(), b.rig.call("cpu")
        limit = READY_BASE_S + READY_PER_GATEWAY_S * n + groups.get("meters", ((), 10.0))[1]
        ready = b.rig.call("wait_stamps", indexes, READINGS, 2, limit, timeout=limit + 30)
        startup_s = time.monotonic() - started
        if not ready or proc.poll() is not None:
            bridge_cpu = cpu_seconds(proc.pid) if proc.poll() is None else 0.0
            rig_cpu = b.rig.call("cpu") - rig_started
            log.seek(0)
            return {
                "n": n,
                "on_time": False,
                "error": f"not every gateway was polled twice within {limit:.0f} s of the start "
                f"(meanwhile the bridge used {_share(bridge_cpu, startup_s)} of one core, the simulators "
                f"{_share(rig_cpu, startup_s)})",
                "log": log.read()[-600:],
            }
        burst_s = _discovery_sent(b) + startup_s
        t0, c0, r0 = time.monotonic(), cpu_seconds(proc.pid), b.rig.call("cpu")
        time.sleep(window)
        c1, r1, t1 = cpu_seconds(proc.pid), b.rig.call("cpu"), time.monotonic()
        rss = rss_mb(proc.pid)
        watched = {g: _own_endpoint(g, groups) for g, (_, interval) in groups.items() if interval < window}
        stamps = b.rig.call("stamps", indexes, [e for e in watched.values() if e], 0.0)
    finally:
        _stop(proc)
    late = {g: _lateness(stamps, e, groups[g][1]) for g, e in watched.items() if e}
    worst = {g: max(v, default=0.0) for g, v in late.items()}
    late_groups = late_beyond_limit(worst, {g: groups[g][1] for g in worst})
    return {
        "n": n,
        "on_time": not late_groups,
        "late_groups": late_groups,
        "startup_s": startup_s,
        "discovery_s": burst_s,
        "cpu_share": (c1 - c0) / (t1 - t0),
        "rig_cpu_share": (r1 - r0) / (t1 - t0),
        "rss_mb": rss,
        "worst_late_s": worst,
        "intervals": {g: groups[g][1] for g in worst},
        "p99_late_s": {g: percentile(v, 99) for g, v in late.items()},
        "polls": {g: len(v) for g, v in late.items()},
    }


def _discovery_sent(b: Bench) -> float:
    """Seconds until the bridge's start-up discovery burst is on the broker (no new config for
    DISCOVERY_QUIET_S): hundreds of retained configs per gateway, sent in slices that polls and
    states overtake, but whose sending takes the bridge's CPU while it lasts. The window measures
    the steady state after it; the note gives its length."""
    started = time.monotonic()
    b.rig.call("subscribe", b.broker[0], b.broker[1], ["homeassistant/#"])
    try:
        seen, quiet_since = 0, time.monotonic()
        while time.monotonic() - quiet_since < DISCOVERY_QUIET_S and time.monotonic() - started < DISCOVERY_MAX_S:
            time.sleep(0.5)
            count = len(b.rig.call("messages", 0.0, "/config"))
            if count != seen:
                seen, quiet_since = count, time.monotonic()
        return quiet_since - started
    finally:
        b.rig.call("unsubscribe")


def _share(cpu_s: float, wall_s: float) -> str:
    return f"{cpu_s / wall_s:.0%}" if wall_s > 0 else "?"


def late_limit_s(interval: float) -> float:
    return max(LATE_SHARE * interval, LATE_FLOOR_S)


def late_beyond_limit(worst_late: dict[str, float], intervals: dict[str, float]) -> list[str]:
    """The groups whose latest poll came later than their limit allows: the verdict of a step."""
    return [g for g, late in worst_late.items() if late > late_limit_s(intervals[g])]


def _own_endpoint(group: str, groups: dict) -> str | None:
    """The group's first endpoint that no other group reads: its answers are this group's polls."""
    others = {e for g, (eps, _) in groups.items() if g != group for e in eps}
    return next((e for e in groups[group][0] if e not in others), None)


def _lateness(stamps: dict, path: str, interval: float) -> list[float]:
    """Gaps between successive answers of `path` to each gateway, minus the interval.

    The first answer of each endpoint is the probe at startup, not a scheduled poll: left out."""
    late = []
    for per_path in stamps.values():
        times = list(per_path.get(path, ()))[1:]
        late += [max(0.0, b - a - interval) for a, b in itertools.pairwise(times)]
    return late


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _report(b: Bench, steps: list[dict]) -> None:
    tried = [s for s in steps if not s.get("not_tried")]
    ok = [s for s in tried if s.get("on_time")]
    fail = next((s for s in tried if not s.get("on_time")), None)
    untried = next((s for s in steps if s.get("not_tried")), None)
    quick = " (quick mode: 5 s groups)" if b.params.scale_quick_interval else ""
    served = ok[-1]["n"] if ok else 0
    why = "" if fail is None else (" (not ready at" if "error" in fail else " (late at") + f" {fail['n']})"
    measured = [s for s in tried if "rss_mb" in s]
    per_step = "; ".join(_describe(s) for s in steps)
    if len(measured) >= 2:
        a, z = measured[0], measured[-1]
        per_step += f"; RSS per extra gateway {(z['rss_mb'] - a['rss_mb']) / (z['n'] - a['n']):.2f} MB"
    if untried:
        per_step += f"; N={untried['n']} not tried within the bench's time budget (bench/run.py --scale ...)"
    limits = f"a group is late when a poll comes more than {LATE_SHARE:.0%} of its interval or {LATE_FLOOR_S} s late"
    b.report.add(
        Figure(
            "6",
            "Gateways one bridge process serves at the default intervals" + quick,
            f"{'>= ' if fail is None and ok else ''}{served}{why}",
            "-" if quick else f">= {TARGET}",  # the quick run's few gateways say nothing of the target
            INFO if quick else status_of(served >= TARGET),
            f"{limits}; {per_step}",
        )
    )
    if measured:
        last = measured[-1]
        b.report.add(
            Figure(
                "6",
                f"At {last['n']} gateways: bridge CPU, simulators, RSS",
                f"{last['cpu_share']:.0%} of one core ({last['cpu_share'] / (os.cpu_count() or 1):.0%} of the "
                f"machine), RSS {last['rss_mb']:.0f} MB",
                note=f"simulators (other process) {last['rig_cpu_share']:.0%} of one core; {_saturated(last)}",
            )
        )


def _saturated(step: dict) -> str:
    """What runs out first: a process uses at most one core (the interpreter lock), the machine
    has os.cpu_count()."""
    busiest = max(
        ("the bridge's core", step["cpu_share"]), ("the simulators' core", step["rig_cpu_share"]), key=lambda kv: kv[1]
    )
    machine = (step["cpu_share"] + step["rig_cpu_share"]) / (os.cpu_count() or 1)
    if busiest[1] >= 0.8:
        return f"saturating first: {busiest[0]} ({busiest[1]:.0%})"
    return f"nothing saturated yet (busiest: {busiest[0]}, {busiest[1]:.0%}; bridge and simulators {machine:.0%} of the machine)"


def _describe(s: dict) -> str:
    if s.get("not_tried"):
        return f"N={s['n']}: not tried"
    if "error" in s:
        return f"N={s['n']}: {s['error']} (load average {s.get('load_average', '?')})"
    late = ", ".join(f"{g} (every {_every(g, s)}) worst {v:.2f} s" for g, v in s["worst_late_s"].items())
    return (
        f"N={s['n']}: bridge CPU {s['cpu_share']:.0%} of one core, simulators {s['rig_cpu_share']:.0%}, RSS "
        f"{s['rss_mb']:.0f} MB, startup {s['startup_s']:.1f} s, discovery on the broker after "
        f"{s['discovery_s']:.1f} s, {late}"
        + (f", LATE: {', '.join(s['late_groups'])}" if s["late_groups"] else "")
        + f", load average {s['load_average']}"
    )


def _every(group: str, step: dict) -> str:
    return f"{step['intervals'][group]:g} s" if group in step.get("intervals", {}) else "?"
