"""What the physics hands the endpoint bodies: the power flows at one instant and a snapshot of
the home (flows, energy counters, state of charge, grid). Plain frozen data, so the bodies
depend on its shape only, never on how the physics computes it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Power:
    """Power flows at one instant, W. battery > 0 discharges; net > 0 imports."""

    t: float
    production: float
    load: float
    battery: float
    net: float
    production_ph: tuple[float, ...]
    load_ph: tuple[float, ...]
    battery_ph: tuple[float, ...]
    net_ph: tuple[float, ...]
    pv_available: float
    curtailed: bool = False
    dark: bool = False  # grid down and nothing to island with: the whole house is off


@dataclass(frozen=True)
class Snapshot:
    """The home at one simulated moment; counters in Wh (lifetime, today, last7, yesterday)."""

    t: float
    power: Power
    counters: dict[str, float]
    today: dict[str, float]
    last7: dict[str, float]
    yesterday: dict[str, float]
    soc: float | None  # %
    energy_wh: float | None
    capacity_wh: float | None
    grid_up: bool
    report_t: float  # the inverters' last report
    report_w: float
    reserve_soc: float | None = None  # % kept for outages, as set now (None without batteries)
    mains_closed: bool = True  # the System Controller's mains relay as commanded (admin state)
