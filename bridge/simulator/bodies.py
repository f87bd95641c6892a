"""Endpoint bodies of the living gateway, in the shapes real firmware sends (reference §2).

Pure functions of the scenario and one physics snapshot: /info, /production(.json),
/api/v1/production, /api/v1/production/inverters and /ivp/pdm/device_data. The CT meters are
in `ctmeters.py`, the ensemble (batteries, relay) in `ensemble.py`, live data in `livedata.py`.
"""

from __future__ import annotations

from typing import Any

from bridge.simulator.ctmeters import CHANNEL_EID
from bridge.simulator.electrical import PF, electrical, frequency, phase_powers, phase_voltage, r3
from bridge.simulator.noise import hash01, value_noise
from bridge.simulator.physics import REPORT_S
from bridge.simulator.scenario import Scenario
from bridge.simulator.snapshot import Snapshot

INVERTER_ID = 553648384


def info_xml(s: Scenario, firmware: str, t: float) -> bytes:
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<envoy_info>
  <time>{int(t)}</time>
  <device>
    <sn>{s.serial}</sn>
    <pn>{s.part_number}</pn>
    <software>D{firmware}</software>
    <euaid>4c8675</euaid>
    <seqnum>0</seqnum>
    <apiver>1</apiver>
    <imeter>{"true" if s.metered else "false"}</imeter>
  </device>
  <web-tokens>true</web-tokens>
  <package name='app'>
    <pn>500-00002-r01</pn>
    <version>{firmware}</version>
    <build>simulated</build>
  </package>
  <build_info>
    <build_id>envoy-mqtt-bridge simulator scenario "{s.name}"</build_id>
    <build_time_gmt>1764676800</build_time_gmt>
    <release_stage>700-GA</release_stage>
  </build_info>
</envoy_info>
""".encode()


# --- /production.json ------------------------------------------------------------------------


def production_report(s: Scenario, snap: Snapshot, details: bool) -> dict[str, Any]:
    report: dict[str, Any] = {"production": [inverters_entry(s, snap)]}
    if s.metered and "production" in s.cts:
        report["production"].append(eim_entry(s, snap, "production", details))
    if s.metered and "net-consumption" in s.cts:
        report["consumption"] = [
            eim_entry(s, snap, "total-consumption", details),
            eim_entry(s, snap, "net-consumption", details),
        ]
    report["storage"] = [acb_entry(s, snap)]
    return report


def acb_entry(s: Scenario, snap: Snapshot) -> dict[str, Any]:
    """The AC Batteries as a whole (positive wNow = discharging); zeros without any."""
    if s.acb is None:
        return {"type": "acb", "activeCount": 0, "readingTime": 0, "wNow": 0, "whNow": 0, "state": "idle"}
    watts = round(snap.power.battery)
    return {
        "type": "acb",
        "activeCount": s.acb.units,
        "readingTime": int(snap.t),
        "wNow": watts,
        "whNow": round(snap.energy_wh or 0),
        "state": "charging" if watts < 0 else "discharging" if watts > 0 else "idle",
        "percentFull": round(snap.soc or 0),
    }


def inverters_entry(s: Scenario, snap: Snapshot) -> dict[str, Any]:
    reports = inverter_reports(s, snap)
    return {
        "type": "inverters",
        "activeCount": s.pv.inverters,
        "readingTime": int(snap.report_t),
        "wNow": sum(r["lastReportWatts"] for r in reports),
        "whLifetime": round(snap.counters["inverters"]),
    }


def _eim_values(snap: Snapshot, kind: str, phase: int | None) -> tuple[float, float, float, float]:
    """(power, lifetime, today, last seven days) of one eim measurement, total or one phase."""
    suffix = "" if phase is None else f":{phase}"
    if kind == "net-consumption":  # balanced: import minus export, can go down

        def energy(counters: dict[str, float]) -> float:
            return counters["import" + suffix] - counters["export" + suffix]

        field = "net"
    else:
        name = "production" if kind == "production" else "load"

        def energy(counters: dict[str, float]) -> float:
            return counters[name + suffix]

        field = "production" if kind == "production" else "load"
    power = getattr(snap.power, field) if phase is None else phase_powers(snap, field)[phase]
    return power, energy(snap.counters), energy(snap.today), energy(snap.last7)


def _eim_fields(kind: str, values: tuple[float, float, float, float], voltage: float) -> dict[str, Any]:
    power, lifetime, today, last7 = values
    e = electrical(power, voltage, PF[kind])
    pf = PF[kind]
    return {
        "wNow": r3(power),
        "whLifetime": r3(lifetime),
        "varhLeadLifetime": r3(abs(lifetime) * 0.001),
        "varhLagLifetime": r3(abs(lifetime) * 0.14),
        "vahLifetime": r3(abs(lifetime) / pf),
        "rmsCurrent": r3(e["i"]),
        "rmsVoltage": r3(voltage),
        "reactPwr": r3(e["q"]),
        "apprntPwr": r3(e["s"]),
        "pwrFactor": round(e["pf"], 2),
        "whToday": r3(today),
        "whLastSevenDays": r3(last7),
        "vahToday": r3(abs(today) / pf),
        "varhLeadToday": r3(abs(today) * 0.001),
        "varhLagToday": r3(abs(today) * 0.14),
    }


def eim_entry(s: Scenario, snap: Snapshot, kind: str, details: bool) -> dict[str, Any]:
    volts = [phase_voltage(s, snap, p) for p in range(s.phases)]
    entry = {"type": "eim", "activeCount": 1, "measurementType": kind, "readingTime": int(snap.t)}
    entry.update(_eim_fields(kind, _eim_values(snap, kind, None), sum(volts)))  # multiphase: sum
    lines = [_eim_fields(kind, _eim_values(snap, kind, p), volts[p]) for p in range(s.phases)]
    entry["rmsCurrent"] = r3(sum(line["rmsCurrent"] for line in lines))
    if details and s.phases > 1:
        entry["lines"] = lines
    return entry


def api_v1_production(s: Scenario, snap: Snapshot) -> dict[str, Any]:
    if s.metered and "production" in s.cts:
        power, lifetime = snap.power.production, snap.counters["production"]
        today, week = snap.today["production"], snap.last7["production"]
    else:  # standard gateways count what the inverters report
        power = sum(r["lastReportWatts"] for r in inverter_reports(s, snap))
        lifetime, today, week = (snap.counters["inverters"], snap.today["inverters"], snap.last7["inverters"])
    return {
        "wattHoursToday": round(today),
        "wattHoursSevenDays": round(week),
        "wattHoursLifetime": round(lifetime),
        "wattsNow": round(power),
    }


# --- inverters -------------------------------------------------------------------------------


def _weights(s: Scenario) -> list[float]:
    raw = [1 + 0.08 * (hash01(i, s.seed + 77) - 0.5) for i in range(s.pv.inverters)]
    total = sum(raw)
    return [w * len(raw) / total for w in raw]


def inverter_serial(s: Scenario, i: int) -> str:
    return f"{s.pv.serial_prefix}{(s.seed * 37 + i * 13) % 100000:05d}"[:12]


def inverter_reports(s: Scenario, snap: Snapshot) -> list[dict[str, Any]]:
    """What each microinverter said in its last 5-minute report."""
    count = max(1, s.pv.inverters)
    reports = []
    for i, weight in enumerate(_weights(s)):
        offset = int(hash01(i, s.seed + 78) * 40)  # reports trickle in over 40 s
        reports.append(
            {
                "serialNumber": inverter_serial(s, i),
                "lastReportDate": int(snap.report_t) - offset,
                "devType": 1,
                "lastReportWatts": round(snap.report_w / count * weight),
                "maxReportWatts": round(s.pv.inverter_w * weight * 1.04),
            }
        )
    return reports


def device_data(s: Scenario, snap: Snapshot) -> dict[str, Any]:
    count = max(1, s.pv.inverters)
    data: dict[str, Any] = {}
    for i, (report, weight) in enumerate(zip(inverter_reports(s, snap), _weights(s), strict=True)):
        share = weight / count
        watts = report["lastReportWatts"]
        volts = phase_voltage(s, snap, i % s.phases)
        channel = {
            "chanEid": CHANNEL_EID + 0x1000000 + i * 256,
            "created": report["lastReportDate"],
            "wattHours": {
                "today": round(snap.today["inverters"] * share),
                "yesterday": round(snap.yesterday["inverters"] * share),
                "week": round(snap.last7["inverters"] * share),
            },
            "watts": {"now": watts, "nowUsed": 0, "max": report["maxReportWatts"]},
            "lastReading": _last_reading(s, snap, i, watts, volts, report["lastReportDate"]),
            "lifetime": {
                "createdTime": 1700000000,
                "duration": max(0, int(snap.t) - 1700000000),
                "joulesProduced": round(snap.counters["inverters"] * share * 3600),
            },
        }
        data[str(INVERTER_ID + i * 256)] = {
            "devName": "pcu",
            "sn": report["serialNumber"],
            "active": True,
            "modGone": False,
            "channels": [channel],
        }
    data["deviceCount"] = count
    data["deviceDataLimit"] = 50
    return data


def _last_reading(s: Scenario, snap: Snapshot, i: int, watts: int, volts: float, end: int) -> dict[str, Any]:
    dc_volts = 32.0 + 6.0 * value_noise(snap.report_t, 3600, s.seed + i) if watts else 0.0
    return {
        "eid": CHANNEL_EID + 0x1000000 + i * 256,
        "interval_type": 0,
        "endDate": end,
        "duration": REPORT_S,
        "flags": 0,
        "flags_hex": "0x0000000000000000",
        "joulesProduced": watts * REPORT_S,
        "acVoltageINmV": round(volts * 1000),
        "acFrequencyINmHz": round(frequency(s, snap) * 1000),
        "dcVoltageINmV": round(dc_volts * 1000),
        "dcCurrentINmA": round(watts / 0.96 / dc_volts * 1000) if dc_volts else 0,
        "channelTemp": round(12 + watts / 12),
        "pwrConvErrSecs": 0,
        "pwrConvMaxErrCycles": 0,
        "joulesUsed": 0,
        "leadingVArs": 0,
        "laggingVArs": round(watts * 0.12),
        "acCurrentInmA": round(watts / volts * 1000),
        "l1NAcVoltageInmV": 0,
        "l2NAcVoltageInmV": 0,
        "l3NAcVoltageInmV": 0,
        "rssi": 110,
        "issi": 68,
    }
