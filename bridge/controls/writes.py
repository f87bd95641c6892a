"""From a checked command to the gateway's request (reference §1): method, path, JSON body.

The tariff and the dry-contact settings are documents the gateway wants back whole: they are
read just before the write (the freshest copy, through the same client) and sent back with
the one field changed, every other field as the gateway gave it (pyenphase warns a partial
relay settings object may crash the gateway). What would make a document the gateway should
not get (a reserve below its floor, a low threshold above the high one) is refused here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bridge import identifiers
from bridge.controls.table import ACB_CONFIG, DRY_CONTACT_SETTINGS, OFF, ON, POWER, TARIFF, Control, Value
from bridge.errors import CommandRefused

# Sent with a sleep request: the band the AC Battery charges or discharges to before it
# sleeps (Home Assistant's default, reference §1.4).
ACB_SLEEP_MIN_SOC, ACB_SLEEP_MAX_SOC = 95, 100
STORAGE_FIELDS = {
    "storage/mode": "mode",
    "storage/reserve": "reserved_soc",
    "storage/charge_from_grid": "charge_from_grid",
}
RELAY_FIELDS = {
    "mode": "mode",
    "grid_action": "grid_action",
    "microgrid_action": "micro_grid_action",
    "generator_action": "gen_action",
    "soc_low": "soc_low",
    "soc_high": "soc_high",
}
MODES_SENT = {"savings": "economy"}  # Home Assistant's name -> the gateway's
ACTIONS_SENT = {"no_action": "none"}

ReadDocument = Callable[[str], Any]  # path -> the decoded JSON the gateway answers now


@dataclass(frozen=True)
class Write:
    method: str
    path: str
    body: dict[str, Any]


def request_for(control: Control, value: Value, read: ReadDocument, production_eid: int) -> Write:
    """The request that sets `control` to `value`; reads first where a whole document goes back.
    Raises CommandRefused, or what `read` raises."""
    path, unit, on = control.type.template, control.unit or "", value == ON
    if path.startswith("storage/"):
        return _tariff(read(TARIFF), STORAGE_FIELDS[path], value)
    if path == "grid/connection":
        return Write("POST", "/ivp/ensemble/relay", {"mains_admin_state": "closed" if on else "open"})
    if path == "relay/{unit}":
        status = "closed" if on else "open"
        return Write("POST", "/ivp/ensemble/dry_contacts", {"dry_contacts": {"id": unit, "status": status}})
    if path.startswith("relay/"):
        return _relay_settings(read(DRY_CONTACT_SETTINGS), unit, RELAY_FIELDS[path.rsplit("/", 1)[1]], value)
    if path == "acb/{unit}/sleep":
        return _acb_sleep(unit, on)  # the serial as text, as pyenphase sends it
    if path == "generator/mode":
        return Write("POST", "/ivp/ss/gen_mode", {"gen_cmd": value})
    if path == "production":  # arr [1] forces production off, [0] allows it (§1.6)
        return Write("PUT", POWER.format(eid=production_eid), {"length": 1, "arr": [0 if on else 1]})
    raise CommandRefused(f"no write is known for {path}")


def read_back(control: Control, read: ReadDocument, production_eid: int) -> Value | None:
    """The value of a control read back from its `direct` document (None: it does not say)."""
    document = read(control.type.direct.format(eid=production_eid))
    if control.type.direct == ACB_CONFIG:  # `{"acb_sleep": [{"serial_num": ...}, ...]}`: the sleeping ones
        sleeping = document.get("acb_sleep") if isinstance(document, dict) else None
        if not isinstance(sleeping, list):
            return None
        serials = {str(entry.get("serial_num")) for entry in sleeping if isinstance(entry, dict)}
        return ON if control.unit in serials else OFF
    forced_off = document.get("powerForcedOff") if isinstance(document, dict) else None
    return {True: OFF, False: ON}.get(forced_off) if isinstance(forced_off, bool) else None


def _tariff(document: Any, key: str, value: Value) -> Write:
    tariff = document.get("tariff") if isinstance(document, dict) else None
    settings = tariff.get("storage_settings") if isinstance(tariff, dict) else None
    if not isinstance(settings, dict) or not settings:
        raise CommandRefused("the gateway's tariff has no storage settings (no batteries?)")
    settings = copy.deepcopy(settings)  # the whole tariff goes back as read, one setting changed
    tariff = {**copy.deepcopy(document["tariff"]), "storage_settings": settings}
    if key == "mode":
        settings["mode"] = MODES_SENT.get(str(value), value)
        if "opt_schedules" in settings:  # else firmware 8.2.42xx+ keeps the old mode (§1.1.4)
            settings["opt_schedules"] = False
    elif key == "reserved_soc":
        floor = _number(settings.get("very_low_soc"))
        if floor is not None and float(value) < floor:
            raise CommandRefused(f"the reserve cannot be below the gateway's very low SoC, {floor:g}%")
        settings["reserved_soc"] = float(value)
    else:
        settings["charge_from_grid"] = value == ON
    return Write("PUT", TARIFF, {"tariff": tariff})


def _relay_settings(document: Any, relay_id: str, key: str, value: Value) -> Write:
    relays = document.get("dry_contacts") if isinstance(document, dict) else None
    found = [r for r in relays if isinstance(r, dict) and r.get("id") == relay_id] if isinstance(relays, list) else []
    if len(found) != 1:
        raise CommandRefused(f"the gateway's dry-contact settings have no relay {identifiers.show(relay_id)}")
    relay = copy.deepcopy(found[0])  # the whole object goes back: a partial one may crash the gateway
    relay[key] = float(value) if key.startswith("soc_") else ACTIONS_SENT.get(str(value), value)
    low, high = _number(relay.get("soc_low")), _number(relay.get("soc_high"))
    if low is not None and high is not None and low > high:
        raise CommandRefused(f"the low threshold ({low:g}%) would be above the high one ({high:g}%)")
    return Write("POST", DRY_CONTACT_SETTINGS, {"dry_contacts": relay})


def _acb_sleep(serial: str, sleep: bool) -> Write:
    if sleep:
        band = {"serial_num": serial, "sleep_min_soc": ACB_SLEEP_MIN_SOC, "sleep_max_soc": ACB_SLEEP_MAX_SOC}
        return Write("PUT", "/admin/lib/acb_config", {"acb_sleep": [band]})
    return Write("DELETE", "/admin/lib/acb_config", {"acb_sleep": [{"serial_num": serial}]})


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
