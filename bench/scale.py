"""6: how many gateways one bridge process serves at the default intervals on this machine.

The real command line (`python -m bridge run`) with N gateways, one simulator each (all in
the rig's process). A poll group "misses its interval" when a poll starts more than 10% of the
interval late; lateness is read from the simulator's side: the gap between two answers of the
group's first endpoint to the same gateway, minus the interval. The bridge's CPU share is its
process CPU time over the window's wall time.
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
from bench.report import Figure
from bench.sections import Bench
from bench.tap import INVENTORY, READINGS, RELAY

LATE_SHARE = 0.10  # a poll more than 10% of its interval late is a miss
READY_BASE_S, READY_PER_GATEWAY_S = 25.0, 0.15  # the start: every gateway probes ~20 endpoints


def scale(b: Bench, steps_wanted: tuple[int, ...] | None = None) -> None:
    """Steps of N gateways until one misses; a step that would overrun the section's time
    budget is not started (`--scale 100,200,400,800` asks for a longer ramp)."""
    p = b.params
    poll = _poll(p.scale_quick_interval)
    meters_s = poll.get("meters", 10.0)
    grid_s = poll.get("grid", 10.0)
    sims: list[dict] = []
    steps: list[dict] = []
    began = time.monotonic()
    budget = p.scale_budget_s if steps_wanted is None else float("inf")
    for n in steps_wanted or p.scale_steps:
        expected = READY_BASE_S + READY_PER_GATEWAY_S * n / 2 + meters_s + p.scale_window_s
        if steps and time.monotonic() - began + expected > budget:
            steps.append({"n": n, "missed": False, "not_tried": True})
            break
        if len(sims) < n:
            sims += b.rig.call(
                "add", b.spec.kind, b.spec.name, b.spec.jitter, n - len(sims), "9994", True, timeout=60 + n
            )
        step = _step(b, sims[:n], poll, {"meters": meters_s, "grid": grid_s}, p.scale_window_s)
        step["load_average"] = load_average()
        steps.append(step)
        if step["missed"]:
            break
    b.report.details["scale"] = steps
    _report(b, steps, poll)


def _poll(quick_interval: float | None) -> dict[str, float]:
    from bridge.config import PollIntervals

    base = PollIntervals()
    values = {f.name: base.interval(f.name) for f in fields(PollIntervals)}  # live: "auto" as 5 s
    if quick_interval:  # the configuration's floor is 5 s
        values = {k: (quick_interval if v < 60 else v) for k, v in values.items()}
    return values


def _config(descs: list[dict], b: Bench, poll: dict, workdir: Path) -> Path:
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
            "base_topic": "scale",
            "client_id": f"bench-scale-{os.getpid()}-{len(descs)}",
        },
        "cloud": {
            "enlighten_url": descs[0]["cloud_url"],
            "entrez_url": descs[0]["cloud_url"],
            "ca_file": descs[0]["ca_file"],
        },
        "poll": poll,
    }
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _step(b: Bench, descs: list[dict], poll: dict, intervals: dict, window: float) -> dict:
    n, indexes = len(descs), [d["index"] for d in descs]
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        config = _config(descs, b, poll, Path(tmp))
        b.rig.call("reset", indexes)
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        with open(Path(tmp) / "bridge.log", "w+") as log:
            return _measure(b, n, indexes, intervals, window, config, env, log)


def _measure(
    b: Bench, n: int, indexes: list[int], intervals: dict, window: float, config: Path, env: dict, log
) -> dict:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "run", "-c", str(config)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        started = time.monotonic()
        limit = READY_BASE_S + READY_PER_GATEWAY_S * n + intervals["meters"]
        ready = b.rig.call("wait_stamps", indexes, READINGS, 2, limit, timeout=limit + 30)
        startup_s = time.monotonic() - started
        if not ready or proc.poll() is not None:
            log.seek(0)
            return {
                "n": n,
                "missed": True,
                "error": f"not every gateway was polled twice within {limit:.0f} s",
                "log": log.read()[-600:],
            }
        t0, c0, r0 = time.monotonic(), cpu_seconds(proc.pid), b.rig.call("cpu")
        time.sleep(window)
        c1, r1, t1 = cpu_seconds(proc.pid), b.rig.call("cpu"), time.monotonic()
        rss = rss_mb(proc.pid)
        stamps = b.rig.call("stamps", indexes, [READINGS, RELAY, INVENTORY], 0.0)
    finally:
        _stop(proc)
    late = {
        "meters": _lateness(stamps, (READINGS,), intervals["meters"]),
        "grid": _lateness(stamps, (RELAY, INVENTORY), intervals["grid"]),
    }
    worst = {g: max(v, default=0.0) for g, v in late.items()}
    missed = any(worst[g] > LATE_SHARE * intervals[g] for g in worst)
    return {
        "n": n,
        "missed": missed,
        "startup_s": startup_s,
        "cpu_share": (c1 - c0) / (t1 - t0),
        "rig_cpu_share": (r1 - r0) / (t1 - t0),
        "rss_mb": rss,
        "worst_late_s": worst,
        "p99_late_s": {g: percentile(v, 99) for g, v in late.items()},
        "polls": {g: len(v) for g, v in late.items()},
    }


def _lateness(stamps: dict, paths: tuple[str, ...], interval: float) -> list[float]:
    """Gaps between successive polls of the group's first endpoint, minus the interval.

    The first answer of each endpoint is the probe at startup, not a scheduled poll: left out."""
    late = []
    for per_path in stamps.values():
        times = next((per_path[p] for p in paths if per_path.get(p)), [])[1:]
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


def _report(b: Bench, steps: list[dict], poll: dict) -> None:
    tried = [s for s in steps if not s.get("not_tried")]
    ok = [s for s in tried if not s["missed"]]
    miss = next((s for s in tried if s["missed"]), None)
    untried = next((s for s in steps if s.get("not_tried")), None)
    quick = " (quick mode: 5 s groups)" if b.params.scale_quick_interval else ""
    if miss is None:
        served = f">= {ok[-1]['n']} (no miss up to the largest step)" if ok else "-"
    else:
        served = f"{ok[-1]['n'] if ok else 0} (missed at {miss['n']})"
    per_step = "; ".join(_describe(s) for s in steps)
    measured = [s for s in tried if "rss_mb" in s]
    if len(measured) >= 2:
        a, z = measured[0], measured[-1]
        per_step += f"; RSS per extra gateway {(z['rss_mb'] - a['rss_mb']) / (z['n'] - a['n']):.2f} MB"
    if untried:
        per_step += f"; N={untried['n']} not tried within the bench's time budget (bench/run.py --scale ...)"
    b.report.add(
        Figure("6", "Gateways one bridge process serves at the default intervals" + quick, served, note=per_step)
    )
    at100 = next((s for s in steps if s["n"] == 100 and "cpu_share" in s), None)
    if at100:
        b.report.add(
            Figure(
                "6",
                "CPU share at 100 gateways",
                f"{at100['cpu_share']:.0%} of one core ({at100['cpu_share'] / (os.cpu_count() or 1):.0%} "
                f"of the machine), RSS {at100['rss_mb']:.0f} MB",
                note=f"simulators (another process) {at100['rig_cpu_share']:.0%} of one core",
            )
        )


def _describe(s: dict) -> str:
    if s.get("not_tried"):
        return f"N={s['n']}: not tried"
    if "error" in s:
        return f"N={s['n']}: {s['error']} (load average {s.get('load_average', '?')})"
    late = ", ".join(f"{g} worst {v:.2f} s" for g, v in s["worst_late_s"].items())
    return (
        f"N={s['n']}: bridge CPU {s['cpu_share']:.0%}, simulators {s['rig_cpu_share']:.0%}, RSS "
        f"{s['rss_mb']:.0f} MB, startup {s['startup_s']:.1f} s, {late}, load average {s['load_average']}"
    )
