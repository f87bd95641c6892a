"""The bridge's own Home Assistant entities, read from `{base}/bridge/{instance}/health`.

Per gateway, on the gateway's device (where a user looks when that gateway misbehaves): its
requests and failures over the last hour and the p99 latency. For the bridge itself, a
"bridge" device of its own: uptime, MQTT messages dropped, reconnects. All diagnostic.
"""

from __future__ import annotations

from bridge.homeassistant.devices import DeviceGroup, Target
from bridge.homeassistant.entities import Document, Entity


def _count(key: str, path: tuple[str, ...], name: str, enabled: bool = True) -> Entity:
    return Entity(key, path, name, state_class="measurement", diagnostic=True, enabled=enabled)


def _seconds(key: str, path: tuple[str, ...], name: str, enabled: bool = True) -> Entity:
    return Entity(key, path, name, "s", "duration", "measurement", diagnostic=True, enabled=enabled)


def gateway_health_entities(serial: str) -> list[Entity]:
    """The gateway's entities on `bridge/health`: its values sit under `gateways.<serial>`."""
    at = ("gateways", serial)
    return [
        _count("request_failures", (*at, "failures"), "Request failures (last hour)"),
        _count("requests", (*at, "requests"), "Requests (last hour)", enabled=False),
        _seconds("request_latency_p99", (*at, "latency_p99_s"), "Request latency p99"),
        _seconds("request_latency_p50", (*at, "latency_p50_s"), "Request latency p50", enabled=False),
    ]


BRIDGE_ENTITIES = [
    _seconds("uptime", ("uptime_s",), "Uptime"),
    Entity(
        "mqtt_dropped", ("mqtt", "dropped"), "MQTT messages dropped", state_class="total_increasing", diagnostic=True
    ),
    Entity(
        "mqtt_reconnects", ("mqtt", "reconnects"), "MQTT reconnects", state_class="total_increasing", diagnostic=True
    ),
    _count("mqtt_queued", ("mqtt", "queued"), "MQTT messages queued", enabled=False),
]


def health_target(health_topic: str, device: Document, entity_slug: str) -> Target:
    return Target(device, health_topic, object_prefix="", entity_slug=entity_slug)


def health_group(health_topic: str, serial: str, device: Document) -> DeviceGroup:
    return DeviceGroup(health_target(health_topic, device, f"envoy_{serial}"), gateway_health_entities(serial))


def bridge_node_id(base_topic: str, instance: str) -> str:
    """The bridge's level in discovery topics and unique ids: one per base topic and instance,
    so several bridges on one broker keep a device each (docs/fleet.md)."""
    return f"{base_topic.replace('/', '_')}_bridge_{instance}"


def bridge_device(node_id: str, instance: str, version: str) -> Document:
    return {
        "identifiers": [f"envoy_mqtt_{node_id}"],
        "name": f"Envoy MQTT bridge {instance}",
        "manufacturer": "envoy-mqtt-bridge",
        "model": "bridge",
        "sw_version": version,
    }
