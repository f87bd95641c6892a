"""Home Assistant MQTT discovery: the retained config messages of one gateway and its units.

Entities are derived from the published documents themselves: an entity exists exactly when
its value is in the gateway state or in its unit's document, so a gateway never shows
entities it cannot fill. Keys follow Home Assistant's own enphase_envoy integration where it
has one, so users find the same entities. Every physical unit is its own device, hanging off
the gateway (`via_device`). The tables are in gateway.py (the gateway's entities) and
devices.py (the units').
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence

from bridge import __version__
from bridge.controls.table import Available
from bridge.homeassistant.bridge import BRIDGE_ENTITIES, bridge_device, health_group, health_target
from bridge.homeassistant.controls import control_groups
from bridge.homeassistant.devices import DeviceGroup, Target, device_groups
from bridge.homeassistant.entities import (
    BUTTON,
    Document,
    Entity,
    has_value,
    value_template,
)
from bridge.homeassistant.gateway import CLOUD_ENTITIES, DIAGNOSTIC_ENTITIES, LIVE_ENTITIES, entities_for
from bridge.model import GatewayInfo

__all__ = ["Entity", "bridge_configs", "build_configs", "entities_for", "value_template"]

# The platforms that take `expire_after` (2024.1's select, number and switch do not).
READ_ONLY = ("sensor", "binary_sensor")
ORIGIN = {
    "name": "envoy-mqtt-bridge",
    "sw": __version__,
    "url": "https://github.com/envoy-mqtt-bridge/envoy-mqtt-bridge",
}


def expire_after_s(interval: float, republish_interval: float, cadence: float) -> int:
    """Seconds of silence after which Home Assistant marks an entity unavailable.

    At least three polls of the entity's group; and longer than the publisher's republish
    interval (an unchanged value is sent again only that often, at the next publish, which
    comes every `cadence` seconds), or every entity would expire on a quiet night.
    """
    return math.ceil(max(3 * interval, republish_interval + max(60.0, 3 * cadence)))


def device_block(info: GatewayInfo, host: str | None, model: str) -> Document:
    device = {
        "identifiers": [f"envoy_{info.serial}"],
        "name": f"Envoy {info.serial}",
        "manufacturer": "Enphase",
        "model": model,
    }
    if info.firmware:  # the cloud (`cloud_api.mode: only`) does not say
        device["sw_version"] = info.firmware
    if info.part_number:
        device["hw_version"] = info.part_number
    if host:
        device["configuration_url"] = f"https://{host}"
    return device


def gateway_model(info: GatewayInfo, payload: Document) -> str:
    """A model line like Home Assistant's: "Envoy, phases: 2, net-consumption CT, production CT"."""
    parts = ["Envoy" if info.metered else "Envoy (standard)"]
    phases = {p for m in payload.get("meters", {}).values() for p in m.get("phases", {})}
    if phases:
        parts.append(f"phases: {len(phases)}")
    parts += [f"{m.replace('_', '-')} CT" for m in sorted(payload.get("meters", {}))]
    return ", ".join(parts)


def build_configs(
    payload: Document,
    info: GatewayInfo,
    *,
    base_topic: str,
    bridge_availability: str,
    prefix: str,
    host: str | None = None,
    devices: dict[str, Document] | None = None,
    diagnostics: Document | None = None,
    live: Document | None = None,
    cloud: Document | None = None,
    expire_after: Callable[[str], float | None] | None = None,
    controls: Sequence[Available] = (),
    health_topic: str | None = None,
) -> dict[str, str]:
    """topic -> retained JSON config for every entity of one gateway and of its units.

    `bridge_availability` is the availability topic of the bridge instance that serves the
    gateway (MqttConfig.availability_topic): with the gateway's own, both must say online.
    `devices` is GatewayState.device_payloads(): topic suffix -> document. `diagnostics` is the
    document of `<base>/<serial>/diagnostics`, `live` that of `<base>/<serial>/live` (their
    entities go on the gateway device).
    `cloud` that of `<base>/<serial>/cloud` (on the gateway device too; available while the
    bridge is, whatever the local gateway's availability: they matter most in its outage).
    `expire_after` gives the seconds for an entity's state topic (None or 0: never expires).
    `controls` are the gateway's available controls (bridge/controls/table.py): a select,
    number or switch each. With `health_topic` (the serving instance's `bridge/<instance>/health`),
    the gateway's request statistics there.
    """
    serial = info.serial
    gateway = Target(
        device_block(info, host, gateway_model(info, payload)),
        f"{base_topic}/{serial}/state",
        object_prefix="",
        entity_slug=f"envoy_{serial}",
    )
    groups = [DeviceGroup(gateway, entities_for(payload)), *device_groups(serial, base_topic, payload, devices or {})]
    if diagnostics:
        target = Target(
            gateway.device, f"{base_topic}/{serial}/diagnostics", object_prefix="", entity_slug=f"envoy_{serial}"
        )
        groups.append(DeviceGroup(target, [e for e in DIAGNOSTIC_ENTITIES if has_value(diagnostics, e.path)]))
    if live:
        target = Target(gateway.device, f"{base_topic}/{serial}/live", object_prefix="", entity_slug=f"envoy_{serial}")
        groups.append(DeviceGroup(target, [e for e in LIVE_ENTITIES if has_value(live, e.path)]))
    if health_topic:
        groups.append(health_group(health_topic, serial, gateway.device))
    cloud_target = None
    if cloud:
        cloud_target = Target(
            gateway.device, f"{base_topic}/{serial}/cloud", object_prefix="", entity_slug=f"envoy_{serial}"
        )
        groups.append(DeviceGroup(cloud_target, [e for e in CLOUD_ENTITIES if has_value(cloud, e.path)]))
    commanded = control_groups(controls, serial, base_topic, gateway.device, devices or {})
    # A control shows its value itself: its read-only twin (same object id, same value) goes, so
    # one unique id is one entity and the device page lists the setting once.
    twins = {target.object_prefix + entity.key for target, entities in commanded for entity in entities}
    groups = [DeviceGroup(t, [e for e in es if t.object_prefix + e.key not in twins]) for t, es in groups]
    groups += commanded
    bridge_only = [{"topic": bridge_availability}]
    availability = [*bridge_only, {"topic": f"{base_topic}/{serial}/availability"}]
    configs = {}
    for target, entities in groups:
        for entity in entities:
            object_id = target.object_prefix + entity.key
            topic = f"{prefix}/{entity.component}/{serial}/{object_id}/config"
            config = entity_config(entity, target, serial, bridge_only if target is cloud_target else availability)
            seconds = expire_after(target.state_topic) if expire_after and entity.component in READ_ONLY else None
            if seconds:
                config["expire_after"] = round(seconds)
            configs[topic] = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return configs


def bridge_configs(node: str, instance: str, health_topic: str, availability_topic: str, prefix: str) -> dict[str, str]:
    """topic -> retained config of this bridge instance's own entities (on its `health` topic);
    `node` is bridge_node_id(base topic, instance)."""
    target = health_target(health_topic, bridge_device(node, instance, __version__), node)
    availability = [{"topic": availability_topic}]
    return {
        f"{prefix}/{entity.component}/{node}/{entity.key}/config": json.dumps(
            entity_config(entity, target, node, availability), sort_keys=True, separators=(",", ":")
        )
        for entity in BRIDGE_ENTITIES
    }


def entity_config(entity: Entity, target: Target, serial: str, availability: list[Document]) -> Document:
    object_id = target.object_prefix + entity.key
    entity_slug = target.entity_slug if entity.name is None else f"{target.entity_slug}_{entity.key}"
    config: Document = {
        "name": entity.name,
        "unique_id": f"{serial}_{object_id}",
        "default_entity_id": f"{entity.component}.{entity_slug}".lower(),
        "availability": availability,
        "availability_mode": "all",
        "device": target.device,
        "origin": ORIGIN,
    }
    if entity.component != BUTTON:
        config["state_topic"] = target.state_topic
        config["value_template"] = value_template(entity.path, entity.kind, entity.extra.get("options"))
    optional = {
        "unit_of_measurement": entity.unit,
        "device_class": entity.device_class,
        "state_class": entity.state_class,
    }
    config.update({key: value for key, value in optional.items() if value})
    if not entity.enabled:
        config["enabled_by_default"] = False
    if entity.diagnostic:
        config["entity_category"] = "diagnostic"
    config.update(entity.extra)
    return config
