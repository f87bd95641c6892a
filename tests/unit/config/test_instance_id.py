"""mqtt.instance_id: one bridge among several on a broker, and the topics of the bridge itself."""

from __future__ import annotations

import socket

import pytest

from bridge.config import MqttConfig, describe
from bridge.identifiers import instance_from_host
from tests.unit.config.conftest import MINIMAL


def test_the_default_is_this_hosts_name_made_an_id(load):
    config = load(MINIMAL)
    assert config.mqtt.instance_id == instance_from_host(socket.gethostname())
    assert config.mqtt.availability_topic == f"envoy/bridge/{config.mqtt.instance_id}/availability"


def test_yaml_and_environment_set_it_and_every_bridge_topic_follows(load):
    config = load(MINIMAL + "mqtt: {instance_id: site-a, base_topic: home/solar}\n")
    assert config.mqtt.bridge_topic("availability") == "home/solar/bridge/site-a/availability"
    assert config.mqtt.bridge_topic("health") == "home/solar/bridge/site-a/health"
    assert config.mqtt.previous_availability_topic == "home/solar/bridge/availability"
    from_env = load(MINIMAL + "mqtt: {instance_id: site-a}\n", {"ENVOY_BRIDGE_MQTT_INSTANCE_ID": "site-b"})
    assert from_env.mqtt.availability_topic == "envoy/bridge/site-b/availability"


def test_a_config_built_in_code_takes_the_host_name_too():
    assert MqttConfig().instance == instance_from_host(socket.gethostname())
    assert MqttConfig(instance_id="x").availability_topic == "envoy/bridge/x/availability"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("site/a", "contains '/' (it would add topic levels)"),
        ("site+", "contains an MQTT wildcard ('#' or '+')"),
        ("a" * 65, "is longer than 64 characters"),
        ("site a", "contains a space"),
        ("request", "names the shared request topics; choose another"),
    ],
)
def test_an_instance_id_outside_the_rule_is_refused_with_the_key_path(problems, value, problem):
    found = problems(MINIMAL + f"mqtt: {{instance_id: '{value}'}}\n")
    assert len(found) == 1 and found[0].startswith("mqtt.instance_id: ") and found[0].endswith(problem), found


def test_check_config_shows_the_effective_instance_id(load):
    assert describe(load(MINIMAL + "mqtt: {instance_id: site-a}\n"))["mqtt"]["instance_id"] == "site-a"


def test_a_host_named_like_the_request_topics_gets_an_instance_id_of_its_own():
    assert instance_from_host("request") == "request-bridge" and instance_from_host("Response.") == "response-bridge"
