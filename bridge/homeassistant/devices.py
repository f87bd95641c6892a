"""Home Assistant devices for the gateway's units: one per microinverter, IQ Battery, AC Battery,
IQ System Controller (Enpower), dry-contact relay, generator, IQ Meter Collar and IQ Combiner 6C,
plus Home Assistant's "ACB" device for the AC Batteries together. Each hangs off the gateway
(`via_device: envoy_<serial>`) and reads its own topic `{base}/{serial}/<kind>/<id>`.

Keys are Home Assistant's (reference §5.2-5.5) where it has one. Ids, stable across restarts
and firmware updates because they are built from serials and relay ids only:
- device identifiers `enphase_<kind>_<unit serial>`; gateway-bound things `envoy_<serial>_<what>`;
- unique_id `<gateway serial>_<object id>`, object id `<unit serial>_<key>` (`relay_<id>_<key>`,
  `generator_<key>`), the same rule as the gateway's own entities (`<serial>_<key>`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from bridge.homeassistant.entities import (
    Document,
    Entity,
    energy,
    enum,
    flag,
    has_value,
    percentage,
    power,
    setting,
    state_flag,
    temperature,
    text,
    timestamp,
)
from bridge.model import kinds


@dataclass(frozen=True, slots=True)
class Target:
    """Where a group of entities lives: its device, its topic, and how its ids are formed."""

    device: Document
    state_topic: str
    object_prefix: str  # prepended to the entity key for the object id and unique_id
    entity_slug: str  # default_entity_id is <component>.<slug>_<key> (or <slug> for the main one)


class DeviceGroup(NamedTuple):
    target: Target
    entities: list[Entity]


def _diag(entity: Entity, enabled: bool = True) -> Entity:
    return replace(entity, enabled=enabled, diagnostic=True)


def _off(entity: Entity) -> Entity:
    return replace(entity, enabled=False)


def _measure(key: str, field: str, name: str | None, unit: str | None, device_class: str | None, **kw: Any) -> Entity:
    return Entity(key, (field,), name, unit, device_class, "measurement", **kw)


COMMUNICATING = _diag(flag("communicating", ("communicating",), "Communicating", "connectivity"))
LAST_REPORTED = timestamp("last_reported", ("last_report",))
COMM_LEVELS = [
    _diag(_measure("comm_level_2_4_ghz", "comm_level_2_4_ghz", "2.4 GHz signal level", None, None), False),
    _diag(_measure("comm_level_sub_ghz", "comm_level_sub_ghz", "Sub-GHz signal level", None, None), False),
]

INVERTER = [
    power("inverters", ("power_w",), None),  # the device's main feature: "Inverter <serial>"
    _off(LAST_REPORTED),
    _off(_measure("dc_voltage", "dc_voltage_v", "DC voltage", "V", "voltage")),
    _off(_measure("ac_voltage", "ac_voltage_v", "AC voltage", "V", "voltage")),
    _off(_measure("dc_current", "dc_current_a", "DC current", "A", "current")),
    _off(_measure("ac_current", "ac_current_a", "AC current", "A", "current")),
    _off(_measure("ac_frequency", "frequency_hz", "AC frequency", "Hz", "frequency")),
    _diag(temperature("temperature", ("temperature_c",)), False),
    _off(energy("lifetime_energy", ("energy_lifetime_wh",), "Lifetime energy production")),
    _off(energy("energy_today", ("energy_today_wh",), "Energy production today")),
    _off(energy("energy_yesterday", ("energy_yesterday_wh",), "Energy production yesterday", state_class=None)),
    _off(
        energy(
            "energy_produced",
            ("energy_last_report_wh",),
            "Energy production since previous report",
            state_class="total",
        )
    ),
    _diag(power("max_reported", ("max_power_w",), "Lifetime maximum power"), False),
    _diag(_measure("last_report_duration", "last_report_duration_s", "Last report duration", "s", "duration"), False),
    COMMUNICATING,
    _diag(flag("producing", ("producing",), "Producing", "running")),
]

ENCHARGE = [
    temperature("temperature", ("temperature_c",)),
    LAST_REPORTED,
    *COMM_LEVELS,
    percentage("soc", ("soc_pct",), "Battery"),
    _measure("apparent_power_mva", "apparent_power_va", "Apparent power", "VA", "apparent_power"),
    power("real_power_mw", ("power_w",), "Power"),
    COMMUNICATING,
    _diag(flag("dc_switch", ("dc_switch_off",), "DC switch", inverted=True)),
    _diag(Entity("capacity", ("capacity_wh",), "Capacity", "Wh", "energy_storage")),
    _diag(temperature("max_cell_temperature", ("max_cell_temperature_c",), "Maximum cell temperature"), False),
    _diag(text("admin_state", ("admin_state",), "Admin state"), False),
    _diag(text("grid_mode", ("grid_mode",), "Grid mode"), False),
]

ENPOWER = [
    temperature("temperature", ("temperature_c",)),
    LAST_REPORTED,
    *COMM_LEVELS,
    COMMUNICATING,
    # Home Assistant's `mains_oper_state` ("Grid status"): on = relay closed = on grid
    state_flag("mains_oper_state", ("grid_status",), "Grid status", "on_grid", "off_grid", "power"),
    # Home Assistant makes this a switch; read only here
    state_flag("mains_admin_state", ("mains_admin_state",), "Grid enabled", "closed", "open"),
    _diag(text("admin_state", ("admin_state",), "Admin state")),
    _diag(text("grid_mode", ("grid_mode",), "Grid mode"), False),
]

RELAY = [
    state_flag("relay_status", ("status",), None, "closed", "open"),  # main feature: the relay itself
    _diag(text("mode", ("mode",), "Mode")),
    _diag(text("grid_action", ("grid_action",), "Grid action")),
    _diag(text("microgrid_action", ("micro_grid_action",), "Microgrid action")),
    _diag(text("generator_action", ("generator_action",), "Generator action")),
    _diag(setting("soc_low", ("soc_low_pct",), "Cutoff battery level")),
    _diag(setting("soc_high", ("soc_high_pct",), "Restore battery level")),
    _diag(flag("override", ("override",), "Override"), False),
]

GENERATOR = [
    flag("running", ("running",), "Running", "running"),
    _diag(flag("present", ("present",), "Present")),
    enum("mode", ("mode",), "Mode", ("on", "off", "auto")),
    _diag(setting("start_soc", ("start_soc_pct",), "Start battery level")),
    _diag(setting("stop_soc", ("stop_soc_pct",), "Stop battery level")),
    _diag(setting("rating", ("rating_kw",), "Rated power", unit="kW", device_class="power")),
    _diag(flag("charge_from_generator", ("charge_from_generator",), "Charge from generator")),
    _diag(flag("exercising", ("exercising",), "Exercising"), False),
]

COLLAR = [
    temperature("temperature", ("temperature_c",)),
    LAST_REPORTED,
    # The collar's own grid_state does not follow the real state; admin_state_str does.
    text("grid_state", ("grid_state",), "Grid state", enabled=False),
    enum("admin_state_str", ("grid_status",), "Grid status", ("on_grid", "off_grid")),
    text("mid_state", ("mid_state",), "MID state"),
    COMMUNICATING,
]

COMBINER = [LAST_REPORTED, COMMUNICATING]
COMBINER_METER = [_diag(text("device_state", ("device_state",), "Device state"))]

AC_BATTERY = [
    percentage("acb_battery_soc", ("soc_pct",), "Battery"),
    power("acb_battery_power", ("power_w",), "Power"),
    _diag(temperature("acb_battery_temperature", ("temperature_c",))),
    enum("acb_battery_charge_status", ("charge_status",), "Charge status", ("charging", "discharging", "idle")),
    _diag(timestamp("acb_battery_last_reported", ("last_report",))),
    enum("acb_battery_sleep_state", ("sleep_state",), "Sleep state", ("awake", "going_to_sleep", "asleep", "waking")),
    _diag(setting("acb_battery_sleep_min_soc", ("sleep_min_soc_pct",), "Sleep minimum level")),
    _diag(setting("acb_battery_sleep_max_soc", ("sleep_max_soc_pct",), "Sleep maximum level")),
    COMMUNICATING,
    _diag(flag("operating", ("operating",), "Operating")),
    flag("producing", ("producing",), "Producing", "running"),
]

ACB_AGGREGATE = [  # Home Assistant's "ACB <envoy>" device, from the gateway state's `acb` section
    power("acb_power", ("acb", "power_w"), "Power"),
    percentage("acb_soc", ("acb", "soc_pct"), "Battery"),
    enum("acb_battery_state", ("acb", "state"), "Battery state", ("charging", "discharging", "idle", "full")),
]

# unit kind (first topic level) -> the entities of its device; device names, models and
# identifier stems are in the model's table of unit kinds (bridge.model.kinds)
KIND_ENTITIES = {
    kinds.INVERTER.stem: INVERTER,
    kinds.BATTERY.stem: ENCHARGE,
    kinds.AC_BATTERY.stem: AC_BATTERY,
    kinds.SYSTEM_CONTROLLER.stem: ENPOWER,
    kinds.RELAY.stem: RELAY,
    kinds.GENERATOR.stem: GENERATOR,
    kinds.COLLAR.stem: COLLAR,
    kinds.C6_COMBINER.stem: COMBINER,
    kinds.C6_RGM.stem: COMBINER_METER,
}


def device_groups(serial: str, base_topic: str, payload: Document, documents: dict[str, Document]) -> list[DeviceGroup]:
    """The entities of every unit document, and of the ACB aggregate in the gateway state."""
    groups = []
    for suffix, document in sorted(documents.items()):
        target, entities = _target(serial, base_topic, suffix, document)
        if target is not None:
            groups.append(DeviceGroup(target, [e for e in entities if has_value(document, e.path)]))
    if "acb" in payload:
        device = _child(serial, f"envoy_{serial}_acb", f"ACB {serial}", "ACB")
        target = Target(device, f"{base_topic}/{serial}/state", "", f"envoy_{serial}_acb")
        groups.append(DeviceGroup(target, [e for e in ACB_AGGREGATE if has_value(payload, e.path)]))
    return [group for group in groups if group.entities]


def unit_target(serial: str, base_topic: str, suffix: str, document: Document) -> Target | None:
    """The device and topic of one unit document (`relay/<id>`, `acb/<serial>` ...), as its
    entities have them: the controls of that unit join the same device."""
    return _target(serial, base_topic, suffix, document)[0]


def _target(serial: str, base_topic: str, suffix: str, document: dict[str, Any]) -> tuple[Target | None, list[Entity]]:
    stem, _, ident = suffix.partition("/")
    kind = kinds.KINDS.get(stem)
    if kind is None or (kind.by_serial and not ident):
        return None, []
    topic = f"{base_topic}/{serial}/{suffix}"
    if not kind.by_serial:
        return _gateway_target(serial, topic, kind, ident, document), KIND_ENTITIES[stem]
    device = _child(serial, f"enphase_{kind.identifier}_{ident}", f"{kind.name} {ident}", kind.model, document)
    return Target(device, topic, f"{ident}_", f"{kind.identifier}_{ident}"), KIND_ENTITIES[stem]


def _gateway_target(serial: str, topic: str, kind: kinds.UnitKind, ident: str, document: dict[str, Any]) -> Target:
    """A relay or the generator: its ids come from the gateway's serial (and the relay id). The
    installer's relay name and the generator's own maker and model win over the table's."""
    own = f"{kind.identifier}_{ident}" if ident else kind.identifier
    name = f"{kind.name} {ident}" if ident else kind.name
    device = _child(serial, f"envoy_{serial}_{own}", document.get("name") or name, document.get("model") or kind.model)
    device["manufacturer"] = document.get("manufacturer") or "Enphase"
    return Target(device, topic, f"{own}_", f"envoy_{serial}_{own}")


def _child(serial: str, identifier: str, name: str, model: str, document: Document | None = None) -> Document:
    device = {
        "identifiers": [identifier],
        "name": name,
        "manufacturer": "Enphase",
        "model": model,
        "via_device": f"envoy_{serial}",
    }
    document = document or {}
    optional = (
        ("sw_version", document.get("firmware")),
        ("hw_version", document.get("part_number")),
    )
    device.update({key: field for key, field in optional if field})
    return device
