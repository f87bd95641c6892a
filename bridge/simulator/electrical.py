"""Electrical values of one phase, shared by the production report and the CT meters.

Voltage and frequency wander a little around the scenario's nominal values (deterministic
noise); current and reactive and apparent power follow from a power flow and the nominal power
factor of its measurement type.
"""

from __future__ import annotations

import math

from bridge.simulator.noise import value_noise
from bridge.simulator.scenario import Scenario
from bridge.simulator.snapshot import Snapshot

PF = {"production": 0.99, "net-consumption": 0.93, "total-consumption": 0.95, "storage": 0.98}


def r3(value: float) -> float:
    """Three decimals, as firmware sends them; the `+ 0.0` turns a -0.0 into 0.0."""
    return round(value + 0.0, 3) + 0.0


def phase_voltage(s: Scenario, snap: Snapshot, phase: int) -> float:
    return s.voltage * (1 + 0.012 * (value_noise(snap.t, 150, s.seed * 1000 + 20 + phase) - 0.5))


def frequency(s: Scenario, snap: Snapshot) -> float:
    return r3(s.frequency + 0.04 * (value_noise(snap.t, 90, s.seed * 1000 + 30) - 0.5))


def electrical(power: float, voltage: float, pf_nominal: float) -> dict[str, float]:
    """activePower, apparentPower, reactivePower, pwrFactor and current for one power flow."""
    if abs(power) < 0.5:
        return {"p": 0.0, "s": 0.0, "q": 0.0, "pf": 0.0, "i": 0.0}
    apparent = abs(power) / pf_nominal
    return {
        "p": power,
        "s": apparent,
        "q": apparent * math.sin(math.acos(pf_nominal)),
        "pf": math.copysign(pf_nominal, power),
        "i": apparent / voltage if voltage else 0.0,
    }


def phase_powers(snap: Snapshot, field: str) -> tuple[float, ...]:
    """Per phase, one of the snapshot's flows: "production", "load", "battery" or "net"."""
    powers: tuple[float, ...] = getattr(snap.power, f"{field}_ph")
    return powers
