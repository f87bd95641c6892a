"""/ivp/livedata/status and /ivp/livedata/stream of the living gateway (reference §2.1, §2.2).

The meters block is a pure function of the scenario and one physics snapshot, in the 8.x shape
(per-phase keys, is_split_phase, phase_count), signed integers in mW and mVA: pv >= 0 when
producing, storage + discharging / - charging, grid + import / - export. Each phase is rounded
to mW first; load and every aggregate are sums of those integers, so load = pv + storage + grid
+ generator holds exactly, per phase and in aggregate. No scenario has a generator: its meter
reads zeros, as on real gateways without one. Whether the stream is on, and which sample the
status shows while it is off, is `stream.LiveStream`'s business.
"""

from __future__ import annotations

import json
from typing import Any

from bridge.simulator.electrical import PF
from bridge.simulator.ensemble import INSTALLED
from bridge.simulator.scenario import Scenario
from bridge.simulator.snapshot import Snapshot

STATUS_PATH = "/ivp/livedata/status"
STREAM_PATH = "/ivp/livedata/stream"
INFO_DISABLED = "Last available status data shown. Live stream not enabled. Enable using /ivp/livedata/stream/ API"
METERS = ("pv", "storage", "grid", "load", "generator")
# Apparent power from each flow's nominal power factor, signed like the flow (real ones can be negative).
METER_PF = {
    "pv": PF["production"],
    "storage": PF["storage"],
    "grid": PF["net-consumption"],
    "load": PF["total-consumption"],
    "generator": PF["production"],
}
RELAY_OPEN, RELAY_CLOSED, NO_CONTROLLER = 0, 1, 13  # main_relay_state (reference §2.1's table)
GEN_RELAY_WITH_CONTROLLER, GEN_RELAY_WITHOUT = 5, 0  # as seen in the field, meaning unknown
TASK_ID = 1813978567


def meters(s: Scenario, snap: Snapshot) -> dict[str, Any]:
    """The `meters` block at the snapshot's moment."""
    battery = s.installed_battery
    soc = round(snap.soc or 0) if battery is not None else 0
    energy = round(snap.energy_wh or 0) if battery is not None else 0
    encharge, acb = s.encharge is not None, s.acb is not None
    block: dict[str, Any] = {
        "last_update": int(snap.t),
        "soc": soc,
        "main_relay_state": _main_relay(s, snap),
        "gen_relay_state": GEN_RELAY_WITH_CONTROLLER if s.has_enpower else GEN_RELAY_WITHOUT,
        "backup_bat_mode": 1 if battery is not None else 0,
        "backup_soc": round(snap.reserve_soc or 0) if battery is not None else 0,
        "is_split_phase": int(s.phase_mode == "split"),
        "phase_count": s.phases,
        "enc_agg_soc": soc if encharge else 0,
        "enc_agg_energy": energy if encharge else 0,
        "acb_agg_soc": soc if acb else 0,
        "acb_agg_energy": energy if acb else 0,
    }
    flows = phase_flows(snap)
    block.update({name: meter_result(flows[name], METER_PF[name]) for name in METERS})
    return block


def _main_relay(s: Scenario, snap: Snapshot) -> int:
    if not s.has_enpower:
        return NO_CONTROLLER
    return RELAY_CLOSED if snap.grid_up else RELAY_OPEN


def _mw(watts: tuple[float, ...]) -> tuple[int, ...]:
    return tuple(round(w * 1000) for w in watts)


def phase_flows(snap: Snapshot) -> dict[str, tuple[int, ...]]:
    """Per phase, mW, with the gateway's signs; load is the sum of the others."""
    power = snap.power
    flows = {
        "pv": _mw(power.production_ph),
        "storage": _mw(power.battery_ph),  # the physics' battery is + discharging already
        "grid": _mw(power.net_ph),
        "generator": (0,) * len(power.net_ph),
    }
    flows["load"] = tuple(sum(phase) for phase in zip(*flows.values(), strict=True))
    return flows


def meter_result(phases: tuple[int, ...], pf: float) -> dict[str, int]:
    """One MeterResult: aggregate and phases a, b, c (unused phases read 0)."""
    active = (*phases, 0, 0, 0)[:3]
    apparent = tuple(round(p / pf) for p in active)
    result = {"agg_p_mw": sum(active), "agg_s_mva": sum(apparent)}
    result.update({f"agg_p_ph_{name}_mw": p for name, p in zip("abc", active, strict=True)})
    result.update({f"agg_s_ph_{name}_mva": va for name, va in zip("abc", apparent, strict=True)})
    return result


def status(block: dict[str, Any], enabled: bool, status_reads: int, stream_requests: int) -> dict[str, Any]:
    """The whole status document around a meters block; the "info" notice only while off."""
    body: dict[str, Any] = {} if enabled else {"info": INFO_DISABLED}
    body["connection"] = {
        "mqtt_state": "connected",
        "prov_state": "configured",
        "auth_state": "ok",
        "sc_stream": "enabled" if enabled else "disabled",
        "sc_debug": "disabled",
    }
    body["meters"] = block
    body["tasks"] = {"task_id": TASK_ID, "timestamp": INSTALLED}
    body["counters"] = {
        "main_CfgLoad": 1,
        "sc_SendStreamCtrl": stream_requests,
        "rest_Status": status_reads,
    }
    return body


def stream_request(raw: bytes) -> int | None:
    """The `enable` of a stream request, 0 or 1; None for anything else (the gateway's 400)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, nested beyond reason
        return None
    enable = data.get("enable") if isinstance(data, dict) else None
    return enable if type(enable) is int and enable in (0, 1) else None


def bad_request(info: str) -> bytes:
    return json.dumps({"status": 400, "error": "Bad Request", "info": info}).encode()


def stream_reply(enabled: bool) -> bytes:
    return json.dumps({"sc_stream": "enabled" if enabled else "disabled"}).encode()
