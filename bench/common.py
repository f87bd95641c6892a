"""Shared pieces: the scenario to use, statistics, process CPU and RSS (Mosquitto: tests/support/mqtt.py)."""

from __future__ import annotations

import inspect
import os
import statistics
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CAPTURES = REPO.parent / "shared" / "fixtures" / "envoy"
# The largest capture with a grid device (an Enpower) and three CTs, for when the living
# simulator is not there: its relay is flipped by rewriting the bodies (bench/rig.py).
FALLBACK_CAPTURE = "8.2.127_with_3cts_and_battery_split"
LIVING_SCENARIO = "three_phase_battery"  # 3 phases, 3 CTs, 24 inverters, 3 batteries, Enpower
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class SimSpec:
    """What each simulated gateway serves: a living scenario or a capture folder."""

    kind: str  # "scenario" | "capture"
    name: str  # scenario name or capture folder
    jitter: bool = True  # captures only: vary the meter readings so the state changes

    @property
    def label(self) -> str:
        return f"living scenario `{self.name}`" if self.kind == "scenario" else f"capture `{Path(self.name).name}`"


def living_available() -> bool:
    try:
        from bridge.simulator import Simulator
        from bridge.simulator.scenario import load_scenario

        load_scenario(LIVING_SCENARIO)
    except Exception:
        return False
    params = inspect.signature(Simulator).parameters
    return "scenario" in params and hasattr(Simulator, "trigger")


def choose_spec() -> SimSpec:
    """The largest scenario there is: the living three-phase battery system if it has landed,
    else the largest capture with an Enpower, else the built-in capture."""
    if living_available():
        return SimSpec("scenario", LIVING_SCENARIO)
    if (CAPTURES / FALLBACK_CAPTURE).is_dir():
        return SimSpec("capture", str(CAPTURES / FALLBACK_CAPTURE))
    from bridge.simulator import DEFAULT_CAPTURE

    return SimSpec("capture", str(DEFAULT_CAPTURE))


def static_spec() -> SimSpec:
    """A gateway whose answers never change: what a quiet night looks like to the bridge."""
    if (CAPTURES / FALLBACK_CAPTURE).is_dir():
        return SimSpec("capture", str(CAPTURES / FALLBACK_CAPTURE), jitter=False)
    from bridge.simulator import DEFAULT_CAPTURE

    return SimSpec("capture", str(DEFAULT_CAPTURE), jitter=False)


# --- statistics and /proc ----------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (p99 of 300 samples is the 297th smallest)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size from /proc/PID/status (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc status")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (every thread), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model})"


def load_average() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"
