"""Home Assistant MQTT discovery: a table of entity descriptions and pure builders.

Entities are derived from the state payload itself: an entity exists exactly when its value
is in the payload, so a gateway never shows entities it cannot fill. Keys follow Home
Assistant's own enphase_envoy integration where it has one, so users find the same entities.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from bridge import __version__
from bridge.model.info import GatewayInfo

ORIGIN = {"name": "envoy-mqtt-bridge", "sw": __version__,
          "url": "https://github.com/envoy-mqtt-bridge/envoy-mqtt-bridge"}
PHASES = ("l1", "l2", "l3")


@dataclass(frozen=True, slots=True)
class Entity:
    key: str  # unique per gateway; unique_id = f"{serial}_{key}"
    path: tuple[str, ...]  # where the value sits in the state payload
    name: str
    unit: str | None = None
    device_class: str | None = None
    state_class: str | None = None
    component: str = "sensor"
    enabled: bool = True
    diagnostic: bool = False
    extra: dict = field(default_factory=dict)


def _power(key, path, name, **kw):
    return Entity(key, path, name, "W", "power", "measurement", **kw)


def _energy(key, path, name, state_class="total_increasing", **kw):
    return Entity(key, path, name, "Wh", "energy", state_class, **kw)


def _flow_entities(section: str, noun: str) -> list[Entity]:
    """production / consumption: power, today, last seven days, lifetime, and per phase."""
    base = [
        _power(noun, (section, "power_w"), f"Current power {noun}"),
        _energy(f"daily_{noun}", (section, "energy_today_wh"), f"Energy {noun} today"),
        _energy(f"seven_days_{noun}", (section, "energy_last_7_days_wh"),
                f"Energy {noun} last seven days", state_class=None),
        _energy(f"lifetime_{noun}", (section, "energy_lifetime_wh"), f"Lifetime energy {noun}"),
    ]
    return base + _phase_variants(base)


def _phase_variants(entities: list[Entity]) -> list[Entity]:
    """Per-phase copies (the value sits under `phases.lN` beside the total), disabled by
    default as in Home Assistant's own integration."""
    out = []
    for phase in PHASES:
        for e in entities:
            path = e.path[:-1] + ("phases", phase, e.path[-1])
            out.append(Entity(f"{e.key}_{phase}", path, f"{e.name} {phase}", e.unit, e.device_class,
                              e.state_class, e.component, enabled=False, diagnostic=e.diagnostic,
                              extra=e.extra))
    return out


NET_ENTITIES = [
    _power("balanced_net_consumption", ("net_consumption", "power_w"),
           "Balanced net power consumption", enabled=False),
    # The net counter can go down (export), so it is `total`, not `total_increasing`.
    _energy("lifetime_balanced_net_consumption", ("net_consumption", "energy_lifetime_wh"),
            "Lifetime balanced net energy consumption", state_class="total", enabled=False),
]

GRID_ENTITIES = [
    Entity("grid_status", ("grid", "status"), "Grid status", device_class="power",
           component="binary_sensor", extra={"payload_on": "on_grid", "payload_off": "off_grid"}),
    _power("grid_import_power", ("grid", "import_power_w"), "Grid import power"),
    _power("grid_export_power", ("grid", "export_power_w"), "Grid export power"),
    # Keys as in Home Assistant's integration: these are the Energy dashboard's grid counters.
    _energy("lifetime_net_consumption", ("grid", "energy_imported_wh"), "Lifetime grid energy import"),
    _energy("lifetime_net_production", ("grid", "energy_exported_wh"), "Lifetime grid energy export"),
]

# Per CT type: key prefix, and the special keys Home Assistant uses for some measures.
METER_SPECIAL_KEYS = {
    "net_consumption": {"power_w": "net_consumption", "frequency_hz": "frequency",
                        "voltage_v": "voltage", "current_a": "net_ct_current",
                        "power_factor": "net_ct_powerfactor",
                        "metering_status": "net_consumption_ct_metering_status",
                        # grid import/export energy are the GRID_ENTITIES above
                        "energy_delivered_wh": None, "energy_received_wh": None},
    "storage": {"power_w": "battery_discharge", "energy_delivered_wh": "lifetime_battery_discharged",
                "energy_received_wh": "lifetime_battery_charged", "voltage_v": "storage_voltage"},
}
METER_MEASURES = (
    # field, key suffix, label, unit, device_class, state_class, enabled, diagnostic
    ("power_w", "power", "power", "W", "power", "measurement", True, False),
    ("energy_delivered_wh", "energy_delivered", "energy delivered", "Wh", "energy", "total_increasing", True, False),
    ("energy_received_wh", "energy_received", "energy received", "Wh", "energy", "total_increasing", True, False),
    ("voltage_v", "voltage", "voltage", "V", "voltage", "measurement", False, False),
    ("current_a", "current", "current", "A", "current", "measurement", False, False),
    ("frequency_hz", "frequency", "frequency", "Hz", "frequency", "measurement", False, False),
    ("power_factor", "powerfactor", "power factor", None, "power_factor", "measurement", False, False),
    ("metering_status", "metering_status", "metering status", None, "enum", None, False, True),
)
METERING_STATUS_OPTIONS = ["normal", "not-metering", "check-wiring"]


def meter_entities(meter: str) -> list[Entity]:
    special = METER_SPECIAL_KEYS.get(meter, {})
    prefix = "production_ct" if meter == "production" else f"{meter}_ct"
    label = meter.replace("_", " ").capitalize() + " CT"
    base = []
    for fld, suffix, what, unit, dclass, sclass, enabled, diag in METER_MEASURES:
        key = special.get(fld, f"{prefix}_{suffix}")
        if key is None:
            continue
        extra = {"options": METERING_STATUS_OPTIONS} if fld == "metering_status" else {}
        base.append(Entity(key, ("meters", meter, fld), f"{label} {what}", unit, dclass, sclass,
                           enabled=enabled, diagnostic=diag, extra=extra))
    return base + _phase_variants(base)


GATEWAY_ENTITIES = (_flow_entities("production", "production")
                    + _flow_entities("consumption", "consumption")
                    + NET_ENTITIES + GRID_ENTITIES)


def entities_for(payload: dict) -> list[Entity]:
    """Every entity whose value is present in this state payload."""
    candidates = list(GATEWAY_ENTITIES)
    for meter in payload.get("meters", {}):
        candidates += meter_entities(meter)
    return [e for e in candidates if _has(payload, e.path)]


def _has(payload: dict, path: tuple[str, ...]) -> bool:
    node = payload
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def value_template(path: tuple[str, ...]) -> str:
    """Read one value from the JSON state; `None` (unknown in HA) when it is missing.

    `.get()` chains never raise on a missing level, unlike attribute access in HA's Jinja.
    """
    expr = "value_json"
    for part in path[:-1]:
        expr += f".get('{part}', {{}})"
    return "{{ " + expr + f".get('{path[-1]}', 'None')" + " }}"


def device_block(info: GatewayInfo, host: str | None, model: str) -> dict:
    device = {"identifiers": [f"envoy_{info.serial}"], "name": f"Envoy {info.serial}",
              "manufacturer": "Enphase", "model": model, "sw_version": info.firmware,
              "serial_number": info.serial}
    if info.part_number:
        device["hw_version"] = info.part_number
    if host:
        device["configuration_url"] = f"https://{host}"
    return device


def gateway_model(info: GatewayInfo, payload: dict) -> str:
    """A model line like Home Assistant's: "Envoy, phases: 2, net-consumption CT, production CT"."""
    parts = ["Envoy" if info.metered else "Envoy (standard)"]
    phases = {p for m in payload.get("meters", {}).values() for p in m.get("phases", {})}
    if phases:
        parts.append(f"phases: {len(phases)}")
    parts += [f"{m.replace('_', '-')} CT" for m in sorted(payload.get("meters", {}))]
    return ", ".join(parts)


def build_configs(payload: dict, info: GatewayInfo, *, base_topic: str, prefix: str,
                  host: str | None = None) -> dict[str, str]:
    """topic -> retained JSON config for every entity of one gateway."""
    serial = info.serial
    device = device_block(info, host, gateway_model(info, payload))
    availability = [{"topic": f"{base_topic}/bridge/availability"},
                    {"topic": f"{base_topic}/{serial}/availability"}]
    configs = {}
    for entity in entities_for(payload):
        topic = f"{prefix}/{entity.component}/{serial}/{entity.key}/config"
        configs[topic] = json.dumps(
            entity_config(entity, serial, base_topic, device, availability),
            sort_keys=True, separators=(",", ":"))
    return configs


def entity_config(entity: Entity, serial: str, base_topic: str, device: dict,
                  availability: list) -> dict:
    config = {
        "name": entity.name,
        "unique_id": f"{serial}_{entity.key}",
        "default_entity_id": f"{entity.component}.envoy_{serial}_{entity.key}".lower(),
        "state_topic": f"{base_topic}/{serial}/state",
        "value_template": value_template(entity.path),
        "availability": availability,
        "availability_mode": "all",
        "device": device,
        "origin": ORIGIN,
    }
    for key, value in (("unit_of_measurement", entity.unit), ("device_class", entity.device_class),
                       ("state_class", entity.state_class)):
        if value:
            config[key] = value
    if not entity.enabled:
        config["enabled_by_default"] = False
    if entity.diagnostic:
        config["entity_category"] = "diagnostic"
    config.update(entity.extra)
    return config
