"""Home Assistant entity descriptions and the value templates that read them from a JSON topic.

Kept apart from the tables (discovery.py for the gateway, discovery_devices.py for the units)
so both can use the same constructors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PHASES = ("l1", "l2", "l3")
VALUE, TIMESTAMP, FLAG, FLAG_INVERTED, ENUM = "value", "timestamp", "flag", "flag_inverted", "enum"


@dataclass(frozen=True, slots=True)
class Entity:
    key: str  # Home Assistant's key where it has one; part of the unique_id
    path: tuple[str, ...]  # where the value sits in the JSON document of the entity's topic
    name: str | None  # None: the device's main feature, named after the device
    unit: str | None = None
    device_class: str | None = None
    state_class: str | None = None
    component: str = "sensor"
    enabled: bool = True
    diagnostic: bool = False
    extra: dict = field(default_factory=dict)
    kind: str = VALUE  # how the template reads the value: VALUE, TIMESTAMP, FLAG, FLAG_INVERTED, ENUM


def power(key, path, name, **kw) -> Entity:
    return Entity(key, path, name, "W", "power", "measurement", **kw)


def energy(key, path, name, state_class="total_increasing", **kw) -> Entity:
    return Entity(key, path, name, "Wh", "energy", state_class, **kw)


def stored_energy(key, path, name, **kw) -> Entity:
    """Energy held in a battery now: it goes up and down, so not an Energy dashboard source."""
    return Entity(key, path, name, "Wh", "energy_storage", "measurement", **kw)


def percentage(key, path, name, device_class="battery", **kw) -> Entity:
    return Entity(key, path, name, "%", device_class, "measurement", **kw)


def setting(key, path, name, unit="%", **kw) -> Entity:
    """A configured value (reserve level, relay cut-off ...): no statistics, no device class."""
    return Entity(key, path, name, unit, **kw)


def temperature(key, path, name="Temperature", **kw) -> Entity:
    return Entity(key, path, name, "°C", "temperature", "measurement", **kw)


def timestamp(key, path, name="Last reported", **kw) -> Entity:
    return Entity(key, path, name, device_class="timestamp", kind=TIMESTAMP, **kw)


def enum(key, path, name, options, **kw) -> Entity:
    """A state from a known list; a value the gateway invents later reads as unknown in Home
    Assistant (which rejects values outside `options`), while MQTT still carries it."""
    return Entity(key, path, name, device_class="enum", extra={"options": list(options)}, kind=ENUM, **kw)


def text(key, path, name, **kw) -> Entity:
    return Entity(key, path, name, **kw)


def flag(key, path, name, device_class=None, inverted=False, **kw) -> Entity:
    """A binary sensor of a JSON boolean."""
    return Entity(
        key,
        path,
        name,
        device_class=device_class,
        component="binary_sensor",
        kind=FLAG_INVERTED if inverted else FLAG,
        **kw,
    )


def state_flag(key, path, name, on, off, device_class=None, **kw) -> Entity:
    """A binary sensor of a text state (`closed` / `open`, `on_grid` / `off_grid`)."""
    return Entity(
        key,
        path,
        name,
        device_class=device_class,
        component="binary_sensor",
        extra={"payload_on": on, "payload_off": off},
        **kw,
    )


def phase_variants(entities: list[Entity]) -> list[Entity]:
    """Per-phase copies (the value sits under `phases.lN` beside the total), disabled by
    default as in Home Assistant's own integration."""
    out = []
    for phase in PHASES:
        for e in entities:
            path = e.path[:-1] + ("phases", phase, e.path[-1])
            out.append(
                Entity(
                    f"{e.key}_{phase}",
                    path,
                    f"{e.name} {phase}",
                    e.unit,
                    e.device_class,
                    e.state_class,
                    e.component,
                    enabled=False,
                    diagnostic=e.diagnostic,
                    extra=e.extra,
                    kind=e.kind,
                )
            )
    return out


def has_value(document: dict, path: tuple[str, ...]) -> bool:
    node = document
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def value_template(path: tuple[str, ...], kind: str = VALUE, options: list[str] | None = None) -> str:
    """Read one value from a JSON document; `None` (unknown in Home Assistant) when missing.

    `.get()` chains never raise on a missing level, unlike attribute access in HA's Jinja.
    Timestamps are Unix seconds in the payloads and ISO 8601 for Home Assistant; booleans
    become the binary sensor's default ON / OFF.
    """
    if kind == VALUE:
        return "{{ " + _getter(path, "'None'") + " }}"
    read = "{% set v = " + _getter(path, "none") + " %}"
    if kind == TIMESTAMP:
        return read + "{{ v | timestamp_utc if v is number else 'None' }}"
    if kind == ENUM:
        return read + "{{ v if v in " + repr(list(options or ())) + " else 'None' }}"
    on, off = ("OFF", "ON") if kind == FLAG_INVERTED else ("ON", "OFF")
    return read + "{{ ('" + on + "' if v else '" + off + "') if v is boolean else 'None' }}"


def _getter(path: tuple[str, ...], default: str) -> str:
    expr = "value_json"
    for part in path[:-1]:
        expr += f".get('{part}', {{}})"
    return expr + f".get('{path[-1]}', {default})"
