"""Settings and home pages of the living gateway: the tariff with the batteries' storage
settings as configured, its derived schedule, the dry-contact relays' settings as installed, and
/home (reference §1, §2, §3). What was written since lives in controls.py.
"""

from __future__ import annotations

from typing import Any

from bridge.simulator.clock import SimClock
from bridge.simulator.ensemble import INSTALLED
from bridge.simulator.scenario import RELAY_IDS, Scenario
from bridge.simulator.snapshot import Snapshot

DRY_CONTACTS = RELAY_IDS


def tariff(s: Scenario) -> dict[str, Any]:
    """The tariff document as commissioned (the Enlighten cloud's copy)."""
    body = {
        "currency": {"code": "EUR" if s.frequency == 50 else "USD"},
        "logger": "mylogger",
        "date": str(INSTALLED),
        "single_rate": {"rate": 0.28, "sell": 0.07},
        "seasons": [
            {
                "id": "all_year_long",
                "start": "1/1",
                "days": [
                    {
                        "id": "all_days",
                        "days": "Mon,Tue,Wed,Thu,Fri,Sat,Sun",
                        "must_charge_start": 0,
                        "must_charge_duration": 0,
                        "must_charge_mode": "CG",
                        "enable_discharge_to_grid": False,
                        "periods": [
                            {"id": "period_1", "start": 420, "rate": 0.32},
                            {"id": "filler", "start": 1380, "rate": 0.21},
                        ],
                    }
                ],
                "tiers": [],
            }
        ],
        "seasons_sell": [],
    }
    b = s.installed_battery
    if b is not None:  # absent when there are no batteries
        body["storage_settings"] = {
            "mode": b.storage_mode,
            "operation_mode_sub_type": "",
            "reserved_soc": float(b.reserve_soc),
            "very_low_soc": round(b.very_low_soc),
            "charge_from_grid": False,
            "date": str(INSTALLED),
        }
    return {"tariff": body, "schedule": schedule(body)}


def schedule(tariff: dict[str, Any]) -> dict[str, Any]:
    """The read-only `schedule` the gateway derives from the tariff (reference §1.1.1)."""
    body: dict[str, Any] = {"source": "Tariff", "date": "2025-01-01 00:00:00 UTC", "version": "00.00.02"}
    storage = tariff.get("storage_settings")
    if isinstance(storage, dict):
        body |= {
            "batt_mode": storage["mode"],
            "battery_mode": storage["mode"],
            "reserved_soc": storage["reserved_soc"],
            "very_low_soc": storage["very_low_soc"],
            "charge_from_grid": storage["charge_from_grid"],
        }
    return body


def dry_contact_settings() -> dict[str, Any]:
    """Every relay's settings as installed: manual, no automatic action."""
    return {
        "dry_contacts": [
            {
                "id": cid,
                "type": "NONE",
                "grid_action": "none",
                "micro_grid_action": "none",
                "gen_action": "none",
                "essential_start_time": 32400,
                "essential_end_time": 57600,
                "priority": i + 1,
                "black_s_start": 5,
                "override": "false",
                "manual_override": "true",
                "load_name": "",
                "mode": "manual",
                "soc_low": 30,
                "soc_high": 70,
                "pv_serial_nb": [],
            }
            for i, cid in enumerate(DRY_CONTACTS)
        ]
    }


def home(s: Scenario, snap: Snapshot, clock: SimClock) -> dict[str, Any]:
    local = clock.local(snap.t)
    units = s.encharge.units if s.encharge is not None else 0
    acbs = s.acb.units if s.acb is not None else 0
    return {
        "software_build_epoch": 1764676800,
        "timezone": local.tzname() or "UTC",
        "current_date": local.strftime("%m/%d/%Y"),
        "current_time": local.strftime("%H:%M"),
        "network": {
            "web_comm": True,
            "ever_reported_to_enlighten": True,
            "last_enlighten_report_time": int(snap.t) - 120,
            "primary_interface": "eth0",
            "interfaces": [
                {
                    "type": "ethernet",
                    "interface": "eth0",
                    "mac": "00:1D:C0:00:00:01",
                    "dhcp": True,
                    "ip": "192.0.2.10",
                    "signal_strength": 5,
                    "signal_strength_max": 5,
                    "carrier": True,
                }
            ],
        },
        "tariff": "single_rate",
        "comm": {
            "num": s.pv.inverters + units + acbs + int(s.has_enpower),
            "level": 5,
            "pcu": {"num": s.pv.inverters, "level": 5},
            "acb": {"num": acbs, "level": 4 if acbs else 0},
            "nsrb": {"num": int(s.has_enpower), "level": 5},
            "esub": {"num": 0, "level": 0},
            "encharge": [
                {
                    "num": units,
                    "level": 4 if units else 0,
                    "level_24g": 4 if units else 0,
                    "level_subg": 4 if units else 0,
                }
            ],
        },
        "alerts": [],
        "update_status": "satisfied",
        "wireless_connection": [{"signal_strength": 0, "signal_strength_max": 0, "type": "BLE", "connected": True}],
    }
