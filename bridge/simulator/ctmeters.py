"""CT meter bodies of the living gateway: /ivp/meters and /ivp/meters/readings (reference §2).

One meter per CT of the scenario; readings carry the totals and always three channels, the
unused phases all zero as real firmware sends them. Energy comes from the physics' counters.
"""

from __future__ import annotations

from typing import Any

from bridge.simulator.electrical import PF, electrical, frequency, phase_powers, phase_voltage, r3
from bridge.simulator.scenario import Scenario
from bridge.simulator.snapshot import Snapshot

METER_EID = 704643328  # eids of the CTs as firmware numbers them: one every 256
CHANNEL_EID = 1778385169
CHANNELS = 3  # readings always list three channels; unused phases are all zero (real quirk)
# CT measurementType -> (counter of energy delivered, counter of energy received, power field)
CT_FLOWS = {
    "production": ("production", None, "production"),
    "net-consumption": ("import", "export", "net"),
    "total-consumption": ("load", None, "load"),
    "storage": ("discharged", "charged", "battery"),
}
PRODUCTION_CT_RCVD_WH = 120.4  # what the production CT counted backwards once, long ago


def meters(s: Scenario) -> list[dict[str, Any]]:
    return [
        {
            "eid": METER_EID + 256 * k,
            "state": "enabled",
            "measurementType": ct,
            "phaseMode": s.phase_mode,
            "phaseCount": s.phases,
            "meteringStatus": "normal",
            "statusFlags": [],
        }
        for k, ct in enumerate(s.cts)
    ]


def meter_readings(s: Scenario, snap: Snapshot) -> list[dict[str, Any]]:
    volts = [phase_voltage(s, snap, p) for p in range(s.phases)]
    readings = []
    for k, ct in enumerate(s.cts):
        channels = [
            _reading(s, snap, ct, CHANNEL_EID + 256 * k + p, p, volts[p] if p < s.phases else 0.0)
            for p in range(CHANNELS)
        ]
        total = _reading(s, snap, ct, METER_EID + 256 * k, None, sum(volts))  # multiphase: sum
        total["current"] = r3(sum(ch["current"] for ch in channels))
        total["channels"] = channels
        readings.append(total)
    return readings


def _reading(s: Scenario, snap: Snapshot, ct: str, eid: int, phase: int | None, voltage: float) -> dict[str, Any]:
    dlvd_name, rcvd_name, field = CT_FLOWS[ct]
    unused = phase is not None and phase >= s.phases
    suffix = "" if phase is None else f":{phase}"
    if unused:
        power = dlvd = rcvd = 0.0
    else:
        power = getattr(snap.power, field) if phase is None else phase_powers(snap, field)[phase]
        dlvd = snap.counters[dlvd_name + suffix]
        rcvd = snap.counters[rcvd_name + suffix] if rcvd_name else _fixed_rcvd(ct, phase, s.phases)
    e = electrical(power, voltage, PF[ct])
    apparent_energy = (dlvd + rcvd) / PF[ct]
    return {
        "eid": eid,
        "timestamp": int(snap.t),
        "actEnergyDlvd": r3(dlvd),
        "actEnergyRcvd": r3(rcvd),
        "apparentEnergy": r3(apparent_energy),
        "reactEnergyLagg": r3((dlvd + rcvd) * 0.14),
        "reactEnergyLead": r3((dlvd + rcvd) * 0.001),
        "instantaneousDemand": r3(power),
        "activePower": r3(power),
        "apparentPower": r3(e["s"]),
        "reactivePower": r3(e["q"]),
        "pwrFactor": round(e["pf"], 3),
        "voltage": r3(voltage),
        "current": r3(e["i"]),
        "freq": frequency(s, snap),
    }


def _fixed_rcvd(ct: str, phase: int | None, phases: int) -> float:
    if ct != "production":
        return 0.0
    return PRODUCTION_CT_RCVD_WH if phase is None else PRODUCTION_CT_RCVD_WH / phases
