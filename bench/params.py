"""How much of everything: the full bench (figures for docs/performance.md) or --quick (CI)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Params:
    quick: bool
    load_minutes: float  # simulated minutes of the schedule per load measurement
    pyenphase_updates: int  # updates counted for pyenphase's load
    cpu_repeats: int  # repeats of the CPU measurement (the median is reported)
    cpu_cycles: int  # full cycles per repeat
    latency_cycles: int
    startup_repeats: int
    memory_cycles: int
    outage_gateways: int  # each one samples another phase of the poll schedule
    outage_trials: int
    outage_quick_interval: float | None  # quick mode shortens the fast groups to this
    scale_steps: tuple[int, ...]
    scale_window_s: float
    scale_quick_interval: float | None
    scale_budget_s: float  # no new scale step starts after this much time in the section
    process_warmup_s: float  # real processes: seconds before the steady window
    process_window_s: float  # whole minutes in the full run, so pyenphase's updates count exactly
    process_pe_every_s: float  # pyenphase's update interval (Home Assistant: 60 s)


FULL = Params(
    quick=False,
    load_minutes=60,
    pyenphase_updates=20,
    cpu_repeats=7,
    cpu_cycles=20,
    latency_cycles=300,
    startup_repeats=5,
    memory_cycles=10_000,
    outage_gateways=4,
    outage_trials=3,
    outage_quick_interval=None,
    scale_steps=(100, 250, 500),
    scale_window_s=12.0,
    scale_quick_interval=None,
    scale_budget_s=200.0,
    process_warmup_s=30.0,
    process_window_s=180.0,
    process_pe_every_s=60.0,
)

QUICK = Params(
    quick=True,
    load_minutes=10,
    pyenphase_updates=3,
    cpu_repeats=2,
    cpu_cycles=3,
    latency_cycles=30,
    startup_repeats=2,
    memory_cycles=300,
    outage_gateways=2,
    outage_trials=1,
    outage_quick_interval=1.0,
    scale_steps=(3,),
    scale_window_s=6.0,
    scale_quick_interval=5.0,
    scale_budget_s=30.0,
    process_warmup_s=2.0,
    process_window_s=10.0,
    process_pe_every_s=5.0,
)
