"""The write endpoints' request bodies, checked as the reference describes them (§1): each
function takes the raw body and returns what to apply, or raises `BadBody` with the sentence
the 400 answer carries. Nothing here changes the gateway.
"""

from __future__ import annotations

import json
from typing import Any

from bridge.simulator.scenario import RELAY_IDS, STORAGE_MODES

RELAY_ACTIONS = ("apply", "shed", "schedule", "none")
RELAY_TYPES = ("NONE", "PV", "LOAD", "3RD-PV")
RELAY_MODES = ("manual", "soc")
BOOL_STRINGS = ("true", "false")
OPEN_CLOSED = ("open", "closed")
GEN_COMMANDS = ("on", "off", "auto")
# Every key of storage_settings a read-modify-write carries, with its type (reference §1.1.1).
STORAGE_KEYS: dict[str, type | tuple[type, ...]] = {
    "mode": str,
    "operation_mode_sub_type": str,
    "reserved_soc": (int, float),
    "very_low_soc": (int, float),
    "charge_from_grid": bool,
}


class BadBody(ValueError):
    """The body is refused: 400 with this message."""


def _object(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, nested beyond reason
        raise BadBody("the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadBody("the body is not a JSON object")
    return data


def _typed(value: object, kind: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool):  # a bool is an int to Python, never a number to the gateway
        return kind is bool
    return isinstance(value, kind)


def _percent(value: object) -> bool:
    return _typed(value, (int, float)) and 0 <= value <= 100  # type: ignore[operator]


def tariff(raw: bytes, with_batteries: bool) -> dict[str, Any]:
    """The whole `tariff` object of `{"tariff": {...}}`; storage_settings complete and typed."""
    tariff = _object(raw).get("tariff")
    if not isinstance(tariff, dict):
        raise BadBody('expected {"tariff": {...}}')
    storage = tariff.get("storage_settings")
    if not with_batteries:
        if storage is not None:
            raise BadBody("storage_settings without batteries")
        return tariff
    if not isinstance(storage, dict):
        raise BadBody("tariff.storage_settings missing")
    wrong = [key for key, kind in STORAGE_KEYS.items() if not _typed(storage.get(key), kind)]
    if wrong:
        raise BadBody(f"storage_settings: missing or ill-typed {', '.join(wrong)}")
    if storage["mode"] not in STORAGE_MODES:
        raise BadBody(f"storage_settings.mode must be one of {', '.join(STORAGE_MODES)}")
    if not _percent(storage["reserved_soc"]):
        raise BadBody("storage_settings.reserved_soc must be 0..100")
    return tariff


def mains(raw: bytes) -> bool:
    """True to close the mains relay (on grid), False to open it (island)."""
    state = _object(raw).get("mains_admin_state")
    if state not in OPEN_CLOSED:
        raise BadBody('expected {"mains_admin_state": "open" | "closed"}')
    return bool(state == "closed")


def relay_status(raw: bytes) -> tuple[str, str]:
    """(relay id, "open" | "closed") of `{"dry_contacts": {"id": ..., "status": ...}}`."""
    relay = _object(raw).get("dry_contacts")
    if not isinstance(relay, dict) or relay.get("status") not in OPEN_CLOSED:
        raise BadBody('expected {"dry_contacts": {"id": "NC1", "status": "open" | "closed"}}')
    if relay.get("id") not in RELAY_IDS:
        raise BadBody(f"unknown relay id; relays: {', '.join(RELAY_IDS)}")
    return str(relay["id"]), str(relay["status"])


def relay_settings(raw: bytes, stored: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One relay's complete settings object, its booleans-as-strings kept as strings."""
    relay = _object(raw).get("dry_contacts")
    if not isinstance(relay, dict) or relay.get("id") not in stored:
        raise BadBody('expected {"dry_contacts": {<one complete relay settings object>}} of a known relay')
    missing = sorted(set(stored[relay["id"]]) - set(relay))
    if missing:  # a partial object may crash a real gateway (reference §0.5)
        raise BadBody(f"partial relay settings: missing {', '.join(missing)}")
    checked = {key: relay[key] for key in stored[relay["id"]]}
    for key in ("override", "manual_override"):  # pyenphase sends manual_override as a bool
        value = checked[key]
        checked[key] = str(value).lower() if isinstance(value, bool) else value
    _check_relay_settings(checked)
    return checked


def _check_relay_settings(relay: dict[str, Any]) -> None:
    problems = [
        key
        for key, allowed in (
            ("type", RELAY_TYPES),
            ("grid_action", RELAY_ACTIONS),
            ("micro_grid_action", RELAY_ACTIONS),
            ("gen_action", RELAY_ACTIONS),
            ("mode", RELAY_MODES),
            ("override", BOOL_STRINGS),
            ("manual_override", BOOL_STRINGS),
        )
        if relay[key] not in allowed
    ]
    problems += [key for key in ("soc_low", "soc_high") if not _percent(relay[key])]
    if not problems and relay["soc_low"] > relay["soc_high"]:
        problems.append("soc_low above soc_high")
    if not isinstance(relay["load_name"], str) or not isinstance(relay["pv_serial_nb"], list):
        problems.append("load_name or pv_serial_nb")
    if problems:
        raise BadBody(f"relay settings: bad {', '.join(problems)}")


def acb_sleep(raw: bytes, serials: list[str], window: bool) -> dict[str, tuple[int, int]]:
    """serial -> (sleep_min_soc, sleep_max_soc) of `{"acb_sleep": [...]}` (the window is
    ignored, and not needed, when waking them)."""
    entries = _object(raw).get("acb_sleep")
    if not isinstance(entries, list) or not entries:
        raise BadBody('expected {"acb_sleep": [{"serial_num": ...}, ...]}')
    asked: dict[str, tuple[int, int]] = {}
    for entry in entries:
        serial = str(entry.get("serial_num")) if isinstance(entry, dict) else None
        if serial not in serials:
            raise BadBody("unknown AC Battery serial_num")
        low, high = (entry.get("sleep_min_soc"), entry.get("sleep_max_soc")) if window else (0, 100)
        if not (type(low) is int and type(high) is int and 0 <= low <= high <= 100):
            raise BadBody("sleep_min_soc and sleep_max_soc: integers 0..100, min <= max")
        asked[serial] = (low, high)
    return asked


def gen_mode(raw: bytes) -> str:
    command = _object(raw).get("gen_cmd")
    if command not in GEN_COMMANDS:
        raise BadBody('expected {"gen_cmd": "on" | "off" | "auto"}')
    return str(command)


def production_power(raw: bytes) -> bool:
    """True to force production off (`arr` [1]), False to allow it ([0])."""
    data = _object(raw)
    arr = data.get("arr")
    if data.get("length") != 1 or not isinstance(arr, list) or len(arr) != 1 or type(arr[0]) is not int:
        raise BadBody('expected {"length": 1, "arr": [1]} (off) or {"length": 1, "arr": [0]} (allow)')
    if arr[0] not in (0, 1):
        raise BadBody("arr: 1 forces production off, 0 allows it")
    return arr[0] == 1
