"""Configured names that become topic levels (issue 11, findings 5 and 15), by the one rule of
bridge/identifiers.py: refused at load with the key path and the reason, all at once."""

from __future__ import annotations

import pytest

from tests.unit.config.conftest import MINIMAL


@pytest.mark.parametrize(
    "section, key, value, problem",
    [
        ("homeassistant", "prefix", "ha/#", "homeassistant.prefix: 'ha/#' contains an MQTT wildcard ('#' or '+')"),
        ("homeassistant", "prefix", "ha/+", "homeassistant.prefix: 'ha/+' contains an MQTT wildcard ('#' or '+')"),
        ("homeassistant", "prefix", "", "homeassistant.prefix: '' is empty"),
        ("homeassistant", "birth_topic", "ha/#", "homeassistant.birth_topic: 'ha/#' contains an MQTT wildcard"),
        ("mqtt", "base_topic", "en\tvoy", "mqtt.base_topic: 'en\\tvoy' contains a control character"),
        ("mqtt", "base_topic", "$SYS/envoy", "mqtt.base_topic: '$SYS/envoy' starts with '$'"),
        ("mqtt", "base_topic", "envoy/", "mqtt.base_topic: 'envoy/' ends with '/'"),
        ("mqtt", "base_topic", "home//envoy", "mqtt.base_topic: 'home//envoy' has an empty topic level ('//')"),
    ],
)
def test_h11_5_topic_prefixes_outside_the_rule_are_refused_with_the_key_path(problems, section, key, value, problem):
    found = problems(MINIMAL + f"{section}:\n  {key}: {value!r}\n".replace("'", '"'))
    assert any(p.startswith(problem) for p in found), found


def test_h11_5_every_bad_prefix_is_listed_at_once(problems):
    found = problems(MINIMAL + 'mqtt: {base_topic: "a/#"}\nhomeassistant: {prefix: "b/+", birth_topic: "/c"}\n')
    assert [p.split(":")[0] for p in found] == ["mqtt.base_topic", "homeassistant.prefix", "homeassistant.birth_topic"]


def test_prefixes_of_several_levels_load(load):
    config = load(MINIMAL + "mqtt: {base_topic: home/solar-1/envoy_x}\nhomeassistant: {prefix: ha/discovery}\n")
    assert config.mqtt.base_topic == "home/solar-1/envoy_x" and config.homeassistant.prefix == "ha/discovery"


@pytest.mark.parametrize(
    "serial, problem",
    [
        ("bridge", "gateways[0].serial: 'bridge' is reserved: {base}/bridge/... is the bridge's own topic"),
        ("12/34", "gateways[0].serial: '12/34' contains '/' (it would add topic levels)"),
        ("12 34", "gateways[0].serial: '12 34' contains a space"),
        ("12#34", "gateways[0].serial: '12#34' contains an MQTT wildcard ('#' or '+')"),
    ],
)
def test_h11_15_a_configured_serial_outside_the_rule_is_refused(problems, serial, problem):
    assert problem in problems(MINIMAL + f'    serial: "{serial}"\n')


def test_a_host_names_the_gateways_topics_until_its_serial_is_known(problems, load):
    text = "gateways:\n  - host: {host}\n    tls: {{insecure: true}}\n"
    found = problems(text.format(host='"envoy+1.local"'))
    assert "gateways[0].host: 'envoy+1.local' contains an MQTT wildcard ('#' or '+')" in found
    assert load(text.format(host='"envoy+1.local"') + "    serial: '122035000000'\n").gateways[0].serial
    for host in ("envoy.local", "192.168.1.9", "https://[fe80::1]:443"):
        assert load(text.format(host=host)).gateways[0].host
