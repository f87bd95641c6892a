"""Ensemble bodies of the living gateway: IQ Batteries (ENCHARGE), the IQ System Controller
(ENPOWER) and its relay (reference §2, §3); their settings pages are in `settings.py`. AC
Batteries are not part of the ensemble: only secctrl's ACB_* aggregates show them here.

/ivp/ensemble/inventory, /ivp/ensemble/relay, /ivp/ensemble/status, /ivp/ensemble/secctrl and
/ivp/ensemble/power (key "devices:", mW).
"""

from __future__ import annotations

from typing import Any

from bridge.simulator.scenario import Battery, Scenario
from bridge.simulator.snapshot import Snapshot

INSTALLED = 1735689600  # 2025-01-01: when the simulated installer commissioned the system
PHASE_NAMES = ("ph-a", "ph-b", "ph-c")


def battery_serials(s: Scenario) -> list[str]:
    b = s.encharge
    if b is None:
        return []
    return [f"{b.serial_prefix}{(s.seed * 53 + u * 7) % 100000:05d}"[:12] for u in range(b.units)]


def _grid_mode(snap: Snapshot) -> str:
    return "multimode-ongrid" if snap.grid_up else "multimode-offgrid"


def _unit_powers(s: Scenario, b: Battery, snap: Snapshot) -> list[float]:
    """Each battery's power (W, + discharging): the phase's share split over its units."""
    units = b.units
    per_phase = [sum(1 for u in range(units) if u % s.phases == p) for p in range(s.phases)]
    return [snap.power.battery_ph[u % s.phases] / per_phase[u % s.phases] for u in range(units)]


def _admin(snap: Snapshot) -> str:
    return "closed" if snap.mains_closed else "open"


def _reserve(b: Battery, snap: Snapshot) -> float:
    return snap.reserve_soc if snap.reserve_soc is not None else b.reserve_soc


def _soc(snap: Snapshot) -> int:
    return round(snap.soc or 0)


def inventory(s: Scenario, snap: Snapshot) -> list[dict[str, Any]]:
    groups = []
    b = s.encharge
    if b is not None:
        powers = zip(battery_serials(s), _unit_powers(s, b, snap), strict=True)
        groups.append(
            {
                "type": "ENCHARGE",
                "devices": [_encharge(s, b, snap, serial, unit, power) for unit, (serial, power) in enumerate(powers)],
            }
        )
    if s.has_enpower:
        groups.append({"type": "ENPOWER", "devices": [_enpower(s, snap)]})
    return groups


def _common(serial: str, part: str, snap: Snapshot, image: str) -> dict[str, Any]:
    return {
        "part_num": part,
        "serial_num": serial,
        "installed": INSTALLED,
        "device_status": ["envoy.global.ok", "prop.done"],
        "last_rpt_date": int(snap.t) - 17,
        "created_date": INSTALLED,
        "img_load_date": INSTALLED,
        "img_pnum_running": image,
        "communicating": True,
    }


def _encharge(s: Scenario, b: Battery, snap: Snapshot, serial: str, unit: int, power: float) -> dict[str, Any]:
    device = _common(serial, b.part_num, snap, "4.0.7313_rel/31.17")
    temperature = round(19 + abs(power) / 400)
    device.update(
        {
            "admin_state": 6,
            "admin_state_str": "ENCHG_STATE_READY",
            "bmu_fw_version": "4.1.12",
            "sleep_enabled": False,
            "percentFull": _soc(snap),
            "temperature": temperature,
            "maxCellTemp": temperature + 1,
            "reported_enc_grid_state": _grid_mode(snap),
            "comm_level_sub_ghz": 4,
            "comm_level_2_4_ghz": 4,
            "led_status": 12,
            "dc_switch_off": False,
            "encharge_rev": 3,
            "encharge_capacity": round(b.capacity_wh),
            "phase": PHASE_NAMES[unit % s.phases],
            "der_index": unit + 1,
        }
    )
    return device


def _enpower(s: Scenario, snap: Snapshot) -> dict[str, Any]:
    device = _common(s.enpower_serial, "865-00400-r22", snap, "4.0.5760_rel/31.17")
    device.update(
        {
            "admin_state": 24 if snap.grid_up else 25,
            "admin_state_str": "ENPWR_STATE_OPER_CLOSED" if snap.grid_up else "ENPWR_STATE_OPER_OPEN",
            "temperature": 79,  # °F: the Enpower reports Fahrenheit
            "comm_level_sub_ghz": 5,
            "comm_level_2_4_ghz": 5,
            "mains_admin_state": _admin(snap),
            "mains_oper_state": "closed" if snap.grid_up else "open",
            "Enpwr_grid_mode": _grid_mode(snap),
            "Enchg_grid_mode": _grid_mode(snap),
            "Enpwr_relay_state_bm": 15868 if snap.grid_up else 112,
            "Enpwr_curr_state_id": 16 if snap.grid_up else 9,
        }
    )
    return device


def relay(s: Scenario, snap: Snapshot) -> dict[str, Any]:
    if not s.has_enpower:  # present on every firmware 7+ gateway, meaningless without an Enpower
        return {
            "mains_admin_state": "closed",
            "mains_oper_state": "closed",
            "der1_state": 0,
            "der2_state": 0,
            "Enchg_grid_mode": "grid-tied",
            "Solar_grid_mode": "unknown",
        }
    return {
        "mains_admin_state": _admin(snap),
        "mains_oper_state": "closed" if snap.grid_up else "open",
        "der1_state": 0,
        "der2_state": 0,
        "Enchg_grid_mode": _grid_mode(snap),
        "Solar_grid_mode": _grid_mode(snap),
    }


def secctrl(s: Scenario, snap: Snapshot) -> dict[str, Any]:
    body = {
        "shutdown": False,
        "freq_bias_hz": 0.0,
        "voltage_bias_v": 0.0,
        "freq_bias_hz_q8": 0,
        "voltage_bias_v_q5": 0,
        "freq_bias_hz_phaseb": 0.0,
        "voltage_bias_v_phaseb": 0.0,
        "freq_bias_hz_q8_phaseb": 0,
        "voltage_bias_v_q5_phaseb": 0,
        "freq_bias_hz_phasec": 0.0,
        "voltage_bias_v_phasec": 0.0,
        "freq_bias_hz_q8_phasec": 0,
        "voltage_bias_v_q5_phasec": 0,
    }
    zero = dict.fromkeys(
        (
            "configured_backup_soc",
            "adjusted_backup_soc",
            "agg_soc",
            "Max_energy",
            "ENC_agg_soc",
            "ENC_agg_soh",
            "ENC_agg_backup_energy",
            "ENC_agg_avail_energy",
            "Enc_commissioned_capacity",
            "Enc_max_available_capacity",
            "ACB_agg_soc",
            "ACB_agg_energy",
        ),
        0,
    )
    body.update(zero)
    b = s.installed_battery
    if b is None:
        return body
    capacity = round(snap.capacity_wh or 0)
    body.update(
        {
            "configured_backup_soc": round(_reserve(b, snap)),
            "adjusted_backup_soc": round(_reserve(b, snap)),
            "agg_soc": _soc(snap),
            "Max_energy": capacity,
            **(_encharge_aggregates(b, snap, capacity) if b.kind == "encharge" else _acb_aggregates(snap)),
            "VLS_Limit": round(b.very_low_soc),
            "soc_rec_enabled": False,
            "soc_recovery_entry": 2,
            "soc_recovery_exit": 10,
            "Commission_in_progress": False,
            "ESS_in_progress": False,
        }
    )
    return body


def _encharge_aggregates(b: Battery, snap: Snapshot, capacity: int) -> dict[str, Any]:
    return {
        "ENC_agg_soc": _soc(snap),
        "ENC_agg_soh": 100,
        "ENC_agg_backup_energy": round(capacity * _reserve(b, snap) / 100),
        "ENC_agg_avail_energy": round(snap.energy_wh or 0),
        "Enc_commissioned_capacity": capacity,
        "Enc_max_available_capacity": capacity,
    }


def _acb_aggregates(snap: Snapshot) -> dict[str, Any]:
    return {"ACB_agg_soc": _soc(snap), "ACB_agg_energy": round(snap.energy_wh or 0)}


def power(s: Scenario, snap: Snapshot) -> dict[str, Any]:
    b = s.encharge
    if b is None:
        return {"devices:": []}
    return {
        "devices:": [
            {
                "serial_num": serial,
                "real_power_mw": round(watts * 1000),
                "apparent_power_mva": round(abs(watts) * 1000 / 0.98),
                "soc": _soc(snap),
            }
            for serial, watts in zip(battery_serials(s), _unit_powers(s, b, snap), strict=True)
        ]
    }


def _encharge_status(s: Scenario, b: Battery, snap: Snapshot) -> dict[str, dict[str, Any]]:
    return {
        serial: {
            "device_type": 13,
            "admin_state": 6,
            "admin_state_str": "ENCHG_STATE_READY",
            "reported_grid_mode": _grid_mode(snap),
            "phase": unit % s.phases + 1,
            "encharge_capacity": round(b.capacity_wh),
            "encharge_rated_power": round(b.max_power_w),
        }
        for unit, serial in enumerate(battery_serials(s))
    }


def status(s: Scenario, snap: Snapshot) -> dict[str, Any]:
    b = s.encharge
    serial_nums = _encharge_status(s, b, snap) if b is not None else {}
    if s.has_enpower:
        serial_nums[s.enpower_serial] = {
            "device_type": 12,
            "admin_state": 24 if snap.grid_up else 25,
            "reported_grid_mode": _grid_mode(snap),
        }
    ticks = int(snap.t - INSTALLED) // 5
    return {
        "inventory": {"serial_nums": serial_nums},
        "counters": {
            "api_ecagtInit": 1,
            "api_ecagtTick": ticks,
            "api_ecagtGetRelayState": ticks,
            "rest_StatusGet": ticks // 60,
            "rest_InventoryGet": ticks // 2,
        },
        "secctrl": secctrl(s, snap),
        "relay": relay(s, snap),
        "profile": {"message": "Obsolete API, please use ivp/arf/profile"},
        "fakeit": {"fake_inventory_mode": False},
    }
