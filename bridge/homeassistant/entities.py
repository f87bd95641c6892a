"""Home Assistant entity descriptions and the value templates that read them from a JSON topic.

Kept apart from the tables (discovery.py for the gateway, devices.py for the units) so both
can use the same constructors.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

PHASES = ("l1", "l2", "l3")
VALUE, TIMESTAMP, FLAG, FLAG_INVERTED, ENUM = "value", "timestamp", "flag", "flag_inverted", "enum"
Path = tuple[str, ...]  # where a value sits in a JSON document: keys from the top
Document = dict[str, Any]  # a JSON object: a payload, a unit document, a discovery config
BUTTON = "button"  # the one component with no state: no state topic, no template


@dataclass(frozen=True, slots=True)
class Entity:
    key: str  # Home Assistant's key where it has one; part of the unique_id
    path: Path  # where the value sits in the JSON document of the entity's topic (a button: none)
    name: str | None  # None: the device's main feature, named after the device
    unit: str | None = None
    device_class: str | None = None
    state_class: str | None = None
    component: str = "sensor"
    enabled: bool = True
    diagnostic: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    kind: str = VALUE  # how the template reads the value: VALUE, TIMESTAMP, FLAG, FLAG_INVERTED, ENUM


def power(key: str, path: Path, name: str | None, **kw: Any) -> Entity:
    return Entity(key, path, name, "W", "power", "measurement", **kw)


def energy(key: str, path: Path, name: str | None, state_class: str | None = "total_increasing", **kw: Any) -> Entity:
    return Entity(key, path, name, "Wh", "energy", state_class, **kw)


def stored_energy(key: str, path: Path, name: str | None, **kw: Any) -> Entity:
    """Energy held in a battery now: it goes up and down, so not an Energy dashboard source."""
    return Entity(key, path, name, "Wh", "energy_storage", "measurement", **kw)


def percentage(key: str, path: Path, name: str | None, device_class: str | None = "battery", **kw: Any) -> Entity:
    return Entity(key, path, name, "%", device_class, "measurement", **kw)


def setting(key: str, path: Path, name: str | None, unit: str | None = "%", **kw: Any) -> Entity:
    """A configured value (reserve level, relay cut-off ...): no statistics, no device class."""
    return Entity(key, path, name, unit, **kw)


def temperature(key: str, path: Path, name: str | None = "Temperature", **kw: Any) -> Entity:
    return Entity(key, path, name, "°C", "temperature", "measurement", **kw)


def timestamp(key: str, path: Path, name: str | None = "Last reported", **kw: Any) -> Entity:
    return Entity(key, path, name, device_class="timestamp", kind=TIMESTAMP, **kw)


def enum(key: str, path: Path, name: str | None, options: tuple[str, ...] | list[str], **kw: Any) -> Entity:
    """A state from a known list; a value the gateway invents later reads as unknown in Home
    Assistant (which rejects values outside `options`), while MQTT still carries it."""
    return Entity(key, path, name, device_class="enum", extra={"options": list(options)}, kind=ENUM, **kw)


def text(key: str, path: Path, name: str | None, **kw: Any) -> Entity:
    return Entity(key, path, name, **kw)


def flag(
    key: str, path: Path, name: str | None, device_class: str | None = None, inverted: bool = False, **kw: Any
) -> Entity:
    """A binary sensor of a JSON boolean."""
    return _binary_sensor(key, path, name, device_class, kind=FLAG_INVERTED if inverted else FLAG, **kw)


def state_flag(
    key: str, path: Path, name: str | None, on: str, off: str, device_class: str | None = None, **kw: Any
) -> Entity:
    """A binary sensor of a text state (`closed` / `open`, `on_grid` / `off_grid`)."""
    return _binary_sensor(key, path, name, device_class, extra={"payload_on": on, "payload_off": off}, **kw)


def _binary_sensor(key: str, path: Path, name: str | None, device_class: str | None, **kw: Any) -> Entity:
    return Entity(key, path, name, device_class=device_class, component="binary_sensor", **kw)


def phase_variants(entities: list[Entity]) -> list[Entity]:
    """Per-phase copies (the value sits under `phases.lN` beside the total), disabled by
    default as in Home Assistant's own integration."""
    return [
        replace(
            e,
            key=f"{e.key}_{phase}",
            path=(*e.path[:-1], "phases", phase, e.path[-1]),
            name=f"{e.name} {phase}",
            enabled=False,
        )
        for phase in PHASES
        for e in entities
    ]


def has_value(document: Document, path: Path) -> bool:
    node: Any = document
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def value_template(path: Path, kind: str = VALUE, options: list[str] | None = None) -> str:
    """Read one value from a JSON document; `None` (unknown in Home Assistant) when missing.

    `.get()` chains never raise on a missing level, unlike attribute access in HA's Jinja.
    Timestamps are Unix seconds in the payloads and ISO 8601 for Home Assistant; booleans
    become the binary sensor's default ON / OFF.
    """
    if kind == VALUE:
        return "{{ " + json_getter(path, "'None'") + " }}"
    read = "{% set v = " + json_getter(path, "none") + " %}"
    if kind == TIMESTAMP:
        return read + "{{ v | timestamp_utc if v is number else 'None' }}"
    if kind == ENUM:
        return read + "{{ v if v in " + repr(list(options or ())) + " else 'None' }}"
    on, off = ("OFF", "ON") if kind == FLAG_INVERTED else ("ON", "OFF")
    return read + "{{ ('" + on + "' if v else '" + off + "') if v is boolean else 'None' }}"


def json_getter(path: Path, default: str) -> str:
    expr = "value_json"
    for part in path[:-1]:
        expr += f".get('{part}', {{}})"
    return expr + f".get('{path[-1]}', {default})"
