"""THE TABLE OF CONTROLS: every write the bridge offers, the values it takes, where its value shows.

A control lives at a path below `{base}/{serial}/` (commands on `<path>/set`, results on
`<path>/result`); `{unit}` stands for a relay id or an AC Battery serial. Each names the
document and field that show its value (what the read-back after a write, the revert watch and
Home Assistant read), in the payload form of its commands: `ON`/`OFF`, an option, a number.
A control exists on a gateway exactly when that field is in its documents (the hardware is
there and the token may read it); production on/off, which no poll reads (the controls read it
and publish its own document, `production`), when the token is an installer's. Pure: documents in, values out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge import identifiers
from bridge.config import ControlsConfig
from bridge.errors import CommandRefused
from bridge.model.snapshot import Snapshot

SWITCH, SELECT, NUMBER = "switch", "select", "number"
ON, OFF = "ON", "OFF"
UNIT = "{unit}"
STATE = "state"
TARIFF, RELAY, INVENTORY = "/admin/lib/tariff", "/ivp/ensemble/relay", "/ivp/ensemble/inventory"
DRY_CONTACTS, DRY_CONTACT_SETTINGS = "/ivp/ensemble/dry_contacts", "/ivp/ss/dry_contact_settings"
GEN_MODE, ACB_CONFIG, POWER = "/ivp/ss/gen_mode", "/admin/lib/acb_config", "/ivp/mod/{eid}/mode/power"
GENERATOR = "/ivp/ensemble/generator"  # read back with the mode: whether the generator runs now
# When the read-back comes after a write, in seconds: most writes show at once, a dry contact
# only after a few seconds (reference §1.3.1).
READBACK_S = (0.0, 2.0, 5.0, 10.0)
# A relay's grid / microgrid / generator action. The gateway's "none" is offered as "no_action":
# Home Assistant's MQTT select takes a state of "none" for no state at all (it showed 'unknown').
ACTIONS = ("apply", "shed", "schedule", "no_action")
ACTIONS_SHOWN = {"none": "no_action"}
NUMBER_RE = re.compile(r"-?\d+(?:\.\d*)?")
NUMBER_CHARS = 12

Value = str | int | float


@dataclass(frozen=True)
class ControlType:
    template: str  # the path below {base}/{serial}/, `{unit}` for a relay id or a battery serial
    family: str  # the `controls:` key that enables it
    kind: str  # switch / select / number: how Home Assistant shows it
    document: str  # the document with its value: "state", "relay/{unit}", "enpower/*" (the one there is)
    field: str  # its field there, dotted
    readback: tuple[str, ...]  # the endpoints polled again after a write (and delivered)
    options: tuple[str, ...] = ()  # a select's values
    low: int = 0  # a number's range
    high: int = 100
    shown: Mapping[Any, Value] | None = None  # document value -> command value, when they differ
    installer: bool = False  # the gateway takes it from an installer token only
    readback_s: tuple[float, ...] = READBACK_S
    # Read back from this document instead (no poll shows the value soon enough): the AC
    # Battery's inventory lags 10-15 min behind its sleep setting (§1.4), production's is not polled.
    direct: str = ""

    def value(self, raw: object) -> Value:
        """The command's value as this control takes it; raises CommandRefused."""
        if self.kind == SWITCH:
            return _switch(raw)
        if self.kind == NUMBER:
            return _number(raw, self.low, self.high)
        text = raw.strip().lower() if isinstance(raw, str) else None
        if self.shown and text in self.shown:  # the gateway's own word for an option is fine too
            text = str(self.shown[text])
        if text not in self.options:
            raise CommandRefused(f"expected one of {', '.join(self.options)}, got {identifiers.show(raw)}")
        return text


ON_OFF = {True: ON, False: OFF}
CLOSED_ON = {"closed": ON, "open": OFF}
FORCED_OFF = {True: OFF, False: ON}


def _relay_setting(name: str, field: str, kind: str = SELECT, options: tuple[str, ...] = ACTIONS) -> ControlType:
    shown = ACTIONS_SHOWN if options == ACTIONS else None
    return ControlType(
        f"relay/{UNIT}/{name}", "relays", kind, f"relay/{UNIT}", field, (DRY_CONTACT_SETTINGS,), options, shown=shown
    )


CONTROLS: tuple[ControlType, ...] = (
    ControlType(
        "storage/mode",
        "battery",
        SELECT,
        STATE,
        "storage_settings.mode",
        (TARIFF,),
        ("backup", "self-consumption", "savings"),
        shown={"economy": "savings"},
    ),
    ControlType("storage/reserve", "battery", NUMBER, STATE, "storage_settings.reserve_soc_pct", (TARIFF,)),
    ControlType(
        "storage/charge_from_grid",
        "battery",
        SWITCH,
        STATE,
        "storage_settings.charge_from_grid",
        (TARIFF,),
        shown=ON_OFF,
    ),
    ControlType(
        f"acb/{UNIT}/sleep", "battery", SWITCH, f"acb/{UNIT}", "sleep_enabled", (), shown=ON_OFF, direct=ACB_CONFIG
    ),
    ControlType(
        "grid/connection", "grid", SWITCH, "enpower/*", "mains_admin_state", (INVENTORY, RELAY), shown=CLOSED_ON
    ),
    ControlType(f"relay/{UNIT}", "relays", SWITCH, f"relay/{UNIT}", "status", (DRY_CONTACTS,), shown=CLOSED_ON),
    _relay_setting("mode", "mode", options=("manual", "soc")),
    _relay_setting("grid_action", "grid_action"),
    _relay_setting("microgrid_action", "micro_grid_action"),
    _relay_setting("generator_action", "generator_action"),
    _relay_setting("soc_low", "soc_low_pct", NUMBER, ()),
    _relay_setting("soc_high", "soc_high_pct", NUMBER, ()),
    ControlType(
        "generator/mode", "generator", SELECT, "generator", "mode", (GEN_MODE, GENERATOR), ("on", "off", "auto")
    ),
    # No poll reads it (an installer-only endpoint): the controls read it and publish its document.
    ControlType(
        "production",
        "production",
        SWITCH,
        "production",
        "forced_off",
        (),
        shown=FORCED_OFF,
        installer=True,
        direct=POWER,
    ),
)


@dataclass(frozen=True)
class Control:
    """One control of one gateway: a type, and the relay or battery it is for."""

    type: ControlType
    unit: str | None = None

    @property
    def path(self) -> str:
        return self.type.template.replace(UNIT, self.unit or "")

    def document(self, documents: Mapping[str, object]) -> str | None:
        """The topic suffix of the document with this control's value, if the gateway has it."""
        wanted = self.type.document.replace(UNIT, self.unit or "")
        if wanted.endswith("/*"):
            return next((key for key in sorted(documents) if key.startswith(wanted[:-1])), None)
        return wanted if wanted and (wanted == STATE or wanted in documents) else None

    def current(self, snapshot: Snapshot) -> Value | None:
        """The value the snapshot shows, in command form; None where it shows none."""
        documents: dict[str, object] = {STATE: snapshot.payload, **snapshot.documents}
        suffix = self.document(documents)
        found: object = documents.get(suffix) if suffix else None
        for key in self.type.field.split(".") if found is not None else ():
            found = found.get(key) if isinstance(found, dict) else None
        if found is None or isinstance(found, (dict, list)):
            return None
        shown = self.type.shown
        if shown is not None and (self.type.kind == SWITCH or found in shown):
            return shown.get(found)  # a switch shows ON or OFF, or nothing
        return _plain(found)


def match(path: str, families: ControlsConfig) -> Control | None:
    """The control at `path` (below `{base}/{serial}/`, without `/set`) of an enabled family."""
    levels = path.split("/")
    for control_type in CONTROLS:
        template = control_type.template.split("/")
        if len(template) != len(levels) or not families.enabled(control_type.family):
            continue
        pairs = list(zip(template, levels, strict=True))
        if all(t == level for t, level in pairs if t != UNIT):
            unit = next((level for t, level in pairs if t == UNIT), None)
            if unit is None or identifiers.is_id(unit):
                return Control(control_type, unit)
    return None


@dataclass(frozen=True)
class Available:
    """A control this gateway has, for Home Assistant discovery: commands go to `<path>/set`."""

    path: str
    family: str
    kind: str  # switch / select / number
    options: tuple[str, ...]  # a select's values
    minimum: int | None  # a number's range
    maximum: int | None
    document: str  # the topic suffix of the document with its value
    field: str  # its field there, dotted; ON/OFF and option values map as `shown` says
    shown: Mapping[Any, Value] | None


def available_controls(snapshot: Snapshot, config: ControlsConfig) -> tuple[Available, ...]:
    """Every enabled control this gateway has now: its hardware is in the documents (the field
    showing its value is there), and an installer-only one needs an installer token."""
    installer = snapshot.diagnostics.get("token_type") == "installer"
    found = []
    documents: dict[str, object] = {STATE: snapshot.payload, **snapshot.documents}
    for control in _candidates(snapshot, config):
        if control.type.installer:  # its document is the controls' own, published once read
            document: str | None = control.type.document if installer else None
        else:
            document = control.document(documents) if control.current(snapshot) is not None else None
        if document is not None:
            found.append(_available(control, document))
    return tuple(found)


def _candidates(snapshot: Snapshot, config: ControlsConfig) -> list[Control]:
    controls = []
    for kind in CONTROLS:
        if not config.enabled(kind.family):
            continue
        if UNIT not in kind.template:
            controls.append(Control(kind))
            continue
        stem = kind.document.split("/")[0] + "/"
        units = sorted(key[len(stem) :] for key in snapshot.documents if key.startswith(stem))
        controls += [Control(kind, unit) for unit in units if identifiers.is_id(unit)]
    return controls


def _available(control: Control, document: str) -> Available:
    kind = control.type
    number = kind.kind == NUMBER
    return Available(
        path=control.path,
        family=kind.family,
        kind=kind.kind,
        options=kind.options,
        minimum=kind.low if number else None,
        maximum=kind.high if number else None,
        document=document,
        field=kind.field,
        shown=kind.shown,
    )


def _switch(raw: object) -> str:
    if isinstance(raw, bool):
        return ON if raw else OFF
    text = raw.strip().upper() if isinstance(raw, str) else None
    if text not in (ON, OFF):
        raise CommandRefused(f"expected ON or OFF, got {identifiers.show(raw)}")
    return text


def _number(raw: object, low: int, high: int) -> int:
    """A whole number in range: 20, 20.0, "20" or "20.0" (Home Assistant sends either)."""
    value = raw.strip() if isinstance(raw, str) else raw
    if isinstance(value, str) and len(value) <= NUMBER_CHARS and NUMBER_RE.fullmatch(value):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value % 1:
        raise CommandRefused(f"expected a whole number from {low} to {high}, got {identifiers.show(raw, 20)}")
    if not low <= value <= high:  # before any float(): a JSON integer may have 400 digits
        raise CommandRefused(f"{identifiers.show(value, 20)} is out of range: from {low} to {high}")
    return int(value)


def _plain(value: object) -> Value | None:
    if isinstance(value, float) and math.isfinite(value):
        return int(value) if value.is_integer() else value
    return value if isinstance(value, (str, int)) and not isinstance(value, bool) else None
