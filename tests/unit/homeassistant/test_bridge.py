"""The bridge's own Home Assistant entities: the bridge device, and each gateway's on its device."""

from __future__ import annotations

import json

from bridge.config import MqttConfig
from bridge.homeassistant.bridge import bridge_node_id
from bridge.homeassistant.discovery import bridge_configs, build_configs
from tests.support.sinks import SERIAL, make_snapshot


def test_the_bridge_device_reads_uptime_and_mqtt_from_the_health_topic():
    mqtt = MqttConfig(base_topic="home/envoy", instance_id="site-a")
    node = bridge_node_id(mqtt.base_topic, mqtt.instance)
    made = bridge_configs(node, mqtt.instance, mqtt.bridge_topic("health"), mqtt.availability_topic, "homeassistant")
    configs = {topic: json.loads(config) for topic, config in made.items()}
    assert set(configs) == {
        f"homeassistant/sensor/home_envoy_bridge_site-a/{key}/config"
        for key in ("uptime", "mqtt_dropped", "mqtt_reconnects", "mqtt_queued")
    }
    uptime = configs["homeassistant/sensor/home_envoy_bridge_site-a/uptime/config"]
    assert uptime["state_topic"] == "home/envoy/bridge/site-a/health"
    assert uptime["unique_id"] == "home_envoy_bridge_site-a_uptime" and uptime["entity_category"] == "diagnostic"
    assert uptime["value_template"] == "{{ value_json.get('uptime_s', 'None') }}"
    assert uptime["availability"] == [{"topic": "home/envoy/bridge/site-a/availability"}]
    assert uptime["device"]["name"] == "Envoy MQTT bridge site-a"
    assert configs["homeassistant/sensor/home_envoy_bridge_site-a/mqtt_queued/config"]["enabled_by_default"] is False


def test_two_base_topics_or_instances_make_two_bridge_devices():
    assert bridge_node_id("envoy", "a") != bridge_node_id("envoy2", "a") != bridge_node_id("envoy", "b")


def test_a_gateway_with_health_has_its_failures_and_latency_on_its_device():
    snapshot = make_snapshot({"production": {"power_w": 1}})
    common = {"base_topic": "envoy", "prefix": "homeassistant", "bridge_availability": "envoy/bridge/a/availability"}
    plain = build_configs(snapshot.payload, snapshot.info, **common)
    configs = build_configs(snapshot.payload, snapshot.info, **common, health_topic="envoy/bridge/a/health")
    added = {topic: json.loads(configs[topic]) for topic in set(configs) - set(plain)}
    failures = added[f"homeassistant/sensor/{SERIAL}/request_failures/config"]
    assert failures["state_topic"] == "envoy/bridge/a/health"
    assert failures["value_template"] == (
        "{{ value_json.get('gateways', {}).get('" + SERIAL + "', {}).get('failures', 'None') }}"
    )
    assert failures["device"]["identifiers"] == [f"envoy_{SERIAL}"]
    p99 = added[f"homeassistant/sensor/{SERIAL}/request_latency_p99/config"]
    assert p99["unit_of_measurement"] == "s" and p99["device_class"] == "duration"
    assert {c["unique_id"] for c in added.values()} == {
        f"{SERIAL}_{key}" for key in ("request_failures", "requests", "request_latency_p99", "request_latency_p50")
    }
