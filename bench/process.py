"""Real processes side by side: `python -m bridge run` with one gateway at its defaults, and
pyenphase as Home Assistant runs it (update() every 60 s), each on a simulator of its own.

Start-up CPU: the process's CPU time (/proc) from exec until its first state is on the broker
(the bridge) or its first update() has returned (pyenphase): interpreter, imports, probe. Both
start from compiled bytecode, as installed packages do.
Steady CPU per minute: after a warm-up, CPU time over a window of whole minutes. RSS at the
end of the window, beside the floor under it: the interpreter with the project's five
dependencies imported and nothing else, in a process of its own.
"""

from __future__ import annotations

import compileall
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import REPO, cpu_seconds, rss_mb
from bench.report import SKIPPED, Figure, status_of
from bench.scale import write_config
from bench.sections import Bench

RSS_TARGET_MB = 30.0
READY_TIMEOUT_S = 60.0
DEPENDENCIES = "import requests, jwt, tenacity, yaml, paho.mqtt.client"
NO_PYENPHASE = "pyenphase is not installed in this interpreter: run bench/setup and use bench/.venv/bin/python"
_RSS = "import re; print(re.search(r'VmRSS:\\s+(\\d+)', open('/proc/self/status').read()).group(1))"


def real_processes(b: Bench) -> None:
    p = b.params
    ours, theirs = b.rig.call("add", b.spec.kind, b.spec.name, b.spec.jitter, 2, "9996")
    _compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="bench-process-") as tmp:
        config = write_config([ours], b, {}, Path(tmp), base_topic="process")
        b.rig.call("subscribe", b.broker[0], b.broker[1], [f"process/{ours['serial']}/state"])
        procs: list[subprocess.Popen] = []
        try:
            bridge = _start([sys.executable, "-m", "bridge", "run", "-c", str(config)], procs, Path(tmp) / "bridge.log")
            bridge_start = _bridge_ready(b, bridge)
            pe = _start_pyenphase(b, theirs, procs, Path(tmp) / "pyenphase.log")
            pe_start = _pyenphase_ready(pe) if pe else None
            time.sleep(p.process_warmup_s)
            measured = _window(b, [bridge, *([pe] if pe else [])], [ours, theirs], p.process_window_s)
        finally:
            b.rig.call("unsubscribe")
            for proc in procs:
                _stop(proc)
    _report(b, bridge_start, pe_start, measured, _dependency_floor())


def _compile_bytecode() -> None:
    """The bridge starts from bytecode, as an installed one does (pip compiles at install, the
    Docker image too) and as pyenphase does from site-packages. An editable checkout run with
    PYTHONDONTWRITEBYTECODE set would otherwise compile every module from source at each start
    (~90 ms of the start-up CPU). Written to the checkout's `__pycache__/` (ignored by git)."""
    compileall.compile_dir(REPO / "bridge", quiet=1)


def _start(command: list[str], procs: list[subprocess.Popen], log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=out, text=True)
    procs.append(proc)
    return proc


def _start_pyenphase(b: Bench, desc: dict, procs: list, log: Path) -> subprocess.Popen | None:
    from bench import pyenphase_side

    if pyenphase_side.available() is None:
        return None
    host_port = f"{desc['host']}:{desc['port']}"
    every = str(b.params.process_pe_every_s)
    return _start([sys.executable, "-m", "bench.pyenphase_side", host_port, desc["token"], every], procs, log)


def _bridge_ready(b: Bench, proc: subprocess.Popen) -> float:
    """CPU seconds of the bridge when its first state is on the broker."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        if b.rig.call("messages", 0.0, "/state"):
            return cpu_seconds(proc.pid)
        time.sleep(0.01)
    raise RuntimeError(f"the bridge published no state within {READY_TIMEOUT_S:g} s (exit code {proc.poll()})")


def _pyenphase_ready(proc: subprocess.Popen) -> float:
    """CPU seconds of pyenphase's process when its first update() has returned."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], READY_TIMEOUT_S)
    if not ready or proc.stdout.readline().strip() != "ready":
        raise RuntimeError(f"pyenphase did not finish its first update within {READY_TIMEOUT_S:g} s")
    return cpu_seconds(proc.pid)


def _window(b: Bench, procs: list[subprocess.Popen], descs: list[dict], seconds: float) -> list[dict]:
    """Per process: CPU per minute, gateway requests per minute and RSS over `seconds` of real time."""
    indexes = [d["index"] for d in descs[: len(procs)]]
    b.rig.call("reset", indexes)
    t0, cpu0 = time.monotonic(), [cpu_seconds(p.pid) for p in procs]
    time.sleep(seconds)
    cpu1, minutes = [cpu_seconds(p.pid) for p in procs], (time.monotonic() - t0) / 60
    return [
        {
            "cpu_per_min_s": (c1 - c0) / minutes,
            "requests_per_min": b.rig.call("counts", [i])["all_requests"] / minutes,
            "rss_mb": rss_mb(proc.pid),
        }
        for proc, i, c0, c1 in zip(procs, indexes, cpu0, cpu1, strict=True)
    ]


def _dependency_floor() -> float:
    out = subprocess.run([sys.executable, "-c", f"{DEPENDENCIES}; {_RSS}"], capture_output=True, text=True, check=True)
    return int(out.stdout) / 1024


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _report(b: Bench, bridge_start: float, pe_start: float | None, measured: list[dict], floor: float) -> None:
    p, ours = b.params, measured[0]
    theirs = measured[1] if len(measured) > 1 else None
    minutes = f"{p.process_window_s:g} s after a {p.process_warmup_s:g} s warm-up"
    every = f"pyenphase every {p.process_pe_every_s:g} s"
    b.report.details["process"] = {"bridge_start_cpu_s": bridge_start, "pyenphase_start_cpu_s": pe_start}
    b.report.details["process"] |= {"measured": measured, "dependency_floor_mb": floor}
    b.report.add(
        Figure(
            "5",
            "RSS of the real `envoy-mqtt-bridge run`, one gateway",
            f"{ours['rss_mb']:.1f} MB" + (f" (pyenphase {theirs['rss_mb']:.1f} MB)" if theirs else ""),
            f"< {RSS_TARGET_MB:.0f} MB",
            status_of(ours["rss_mb"] < RSS_TARGET_MB),
            f"`python -m bridge run` at its defaults, {minutes}; the interpreter with the five dependencies "
            f"imported and nothing else ({DEPENDENCIES}): {floor:.1f} MB",
        )
    )
    if theirs is None or pe_start is None:
        for name in ("Steady CPU per minute, real processes", "Start-up CPU, real processes"):
            b.report.add(
                Figure("2" if name.startswith("Steady") else "3", name, "-", "<= pyenphase", SKIPPED, NO_PYENPHASE)
            )
        return
    ratio = ours["cpu_per_min_s"] / theirs["cpu_per_min_s"]
    b.report.add(
        Figure(
            "2",
            "Steady CPU per minute, real processes: bridge at its defaults vs pyenphase every 60 s",
            f"bridge {ours['cpu_per_min_s'] * 1e3:.0f} ms/min vs pyenphase {theirs['cpu_per_min_s'] * 1e3:.0f} ms/min "
            f"= {ratio:.2f}x",
            "<= 1x pyenphase",
            status_of(ratio <= 1.0),
            f"{minutes}, {every}; gateway requests a minute: bridge {ours['requests_per_min']:.1f}, pyenphase "
            f"{theirs['requests_per_min']:.1f}",
        ),
        Figure(
            "3",
            "Start-up CPU, real processes (exec -> first state on the broker / first update)",
            f"bridge {bridge_start * 1e3:.0f} ms vs pyenphase {pe_start * 1e3:.0f} ms",
            "<= pyenphase",
            status_of(bridge_start <= pe_start),
            "interpreter, imports (both from bytecode), /info, authentication, the probe, the first publish (pyenphase: setup, "
            "authenticate, the first update)",
        ),
    )
