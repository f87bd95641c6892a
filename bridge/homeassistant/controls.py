"""The controls' Home Assistant entities: a select, number, switch or buttons for every control the
gateway has (`available_controls` of bridge/controls/table.py), on the device it belongs to.

Each commands `<base>/<serial>/<path>/set`, never retained (a broker replaying an old command
must not flip a relay; the bridge ignores retained commands anyway), and reads its state from
the document that shows the value, its template turning the document's value into the payload
Home Assistant sends (`economy` -> `savings`, `closed` -> `ON`). Production on/off, which no
poll reads, follows the document the controls publish for it (`<serial>/production`). Keys are Home Assistant's (reference §5.1, §5.4) where it
has one. The storage, grid and production controls sit on the gateway device, a relay's on the
relay's, an AC Battery's sleep on that battery's, the generator's mode on the generator's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bridge.config import ControlsConfig
from bridge.controls import table
from bridge.homeassistant.devices import DeviceGroup, Target, unit_target
from bridge.homeassistant.entities import BUTTON, Document, Entity, json_getter

# The controls given here were filtered by the configured families already: matching them
# against every family only finds each one's type.
EVERY_FAMILY = ControlsConfig(battery=True, relays=True, grid=True, generator=True, production=True)


@dataclass(frozen=True, slots=True)
class Press:
    """A button: pressing it sends `payload` to the control's `set` topic."""

    key: str
    name: str
    payload: str


@dataclass(frozen=True, slots=True)
class Look:
    """How Home Assistant shows one control."""

    key: str
    name: str | None  # None: the device's main feature, named after the device (a relay)
    setting: bool = False  # entity_category: config, a setting rather than the device's use
    device_class: str | None = None
    # Buttons instead of one entity with a state: what the gateway offers is an action whose
    # effect shows much later (an AC Battery reports its sleep 10-15 min after the request).
    presses: tuple[Press, ...] = ()


# control template (bridge/controls/table.py) -> its entity; a test checks every control has one
LOOKS = {
    "storage/mode": Look("storage_mode", "Storage mode"),
    "storage/reserve": Look(
        "storage_reserve_soc", "Reserve battery level setting", setting=True, device_class="battery"
    ),
    "storage/charge_from_grid": Look("charge_from_grid", "Charge from grid"),
    f"acb/{table.UNIT}/sleep": Look(
        "acb_battery_sleep",
        "Sleep",
        presses=(Press("acb_sleep", "Sleep", table.ON), Press("acb_wake", "Wake", table.OFF)),
    ),
    "grid/connection": Look("mains_admin_state", "Grid enabled"),
    f"relay/{table.UNIT}": Look("relay_status", None),
    f"relay/{table.UNIT}/mode": Look("mode", "Mode", setting=True),
    f"relay/{table.UNIT}/grid_action": Look("grid_action", "Grid action", setting=True),
    f"relay/{table.UNIT}/microgrid_action": Look("microgrid_action", "Microgrid action", setting=True),
    f"relay/{table.UNIT}/generator_action": Look("generator_action", "Generator action", setting=True),
    f"relay/{table.UNIT}/soc_low": Look("soc_low", "Cutoff battery level", setting=True),
    f"relay/{table.UNIT}/soc_high": Look("soc_high", "Restore battery level", setting=True),
    "generator/mode": Look("mode", "Mode"),
    "production": Look("production_enabled", "Production"),
}


def control_groups(
    controls: Iterable[table.Available],
    serial: str,
    base_topic: str,
    gateway: Document,
    documents: Mapping[str, Document],
) -> list[DeviceGroup]:
    """One entity per control, with the device (`gateway`: the gateway's device block) and the
    topic its value shows on."""
    groups = []
    for available in controls:
        control = table.match(available.path, EVERY_FAMILY)
        target = _target(available, serial, base_topic, gateway, documents)
        if control is not None and target is not None:
            look = LOOKS[control.type.template]
            command_topic = f"{base_topic}/{serial}/{available.path}/set"
            entities = [_button(press, command_topic) for press in look.presses]
            groups.append(DeviceGroup(target, entities or [_entity(available, look, command_topic)]))
    return groups


def _target(
    available: table.Available, serial: str, base_topic: str, gateway: Document, documents: Mapping[str, Document]
) -> Target | None:
    own = f"envoy_{serial}"
    stem = available.document.split("/")[0]
    if stem == available.path.split("/")[0] and available.document in documents:  # the unit's own control
        return unit_target(serial, base_topic, available.document, documents[available.document])
    return Target(gateway, f"{base_topic}/{serial}/{available.document}", "", own)


def _button(press: Press, command_topic: str) -> Entity:
    extra = {"command_topic": command_topic, "payload_press": press.payload, "retain": False}
    return Entity(press.key, (), press.name, component=BUTTON, extra=extra)


def _entity(available: table.Available, look: Look, command_topic: str) -> Entity:
    extra: dict[str, Any] = {
        "command_topic": command_topic,
        "retain": False,
        "value_template": state_template(available),
    }
    if look.setting:
        extra["entity_category"] = "config"
    if available.kind == table.SELECT:
        extra["options"] = list(available.options)
    elif available.kind == table.NUMBER:
        extra.update({"min": available.minimum, "max": available.maximum, "step": 1})
    else:
        extra.update({"payload_on": table.ON, "payload_off": table.OFF})
    path = tuple(available.field.split("."))
    unit = "%" if available.kind == table.NUMBER else None
    return Entity(look.key, path, look.name, unit, look.device_class, component=available.kind, extra=extra)


def state_template(available: table.Available) -> str:
    """The document's value as the payload Home Assistant sends; `None` (unknown) for anything
    else, so a value the gateway invents later never shows as a wrong setting."""
    read = "{% set v = " + json_getter(tuple(available.field.split(".")), "none") + " %}"
    if available.kind == table.NUMBER:
        return read + "{{ v if v is number and v is not boolean else 'None' }}"
    cases = [(_is(shown), str(command)) for shown, command in (available.shown or {}).items()]
    if available.kind == table.SELECT:
        cases.append((f"v in {json.dumps(list(available.options))}", "{{ v }}"))
    branches = "".join(f"{{% {'if' if i == 0 else 'elif'} {test} %}}{out}" for i, (test, out) in enumerate(cases))
    return read + branches + "{% else %}None{% endif %}"


def _is(value: object) -> str:
    """A Jinja test for one document value: a boolean by identity (1 is not true)."""
    if isinstance(value, bool):
        return f"v is sameas {str(value).lower()}"
    return f"v == {json.dumps(value)}"
