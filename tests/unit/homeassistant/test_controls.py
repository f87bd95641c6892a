"""The controls' Home Assistant entities: platform, device, command and state topics, the
templates that show a document's value as the payload Home Assistant sends, and when they are
announced and withdrawn."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import paho.mqtt.client as mqtt
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bridge.config import Config, ControlsConfig, GatewayConfig, MqttConfig, PollIntervals
from bridge.controls.table import CONTROLS
from bridge.homeassistant.announcer import Announcer
from bridge.homeassistant.controls import LOOKS
from bridge.mqtt.readback import Readback
from tests.support.sinks import SERIAL, Recorder, make_snapshot

ALL_ON = ControlsConfig(battery=True, relays=True, grid=True, generator=True, production=True)
ACB = "121900000001"
ENPOWER = "122029000001"
PAYLOAD = {
    "schema": 1,
    "serial": SERIAL,
    "firmware": "8.2.4382",
    "time": 1,
    "production": {"power_w": 1200},
    "storage_settings": {"mode": "economy", "charge_from_grid": True, "reserve_soc_pct": 12.5},
}
DOCUMENTS = {
    f"enpower/{ENPOWER}": {"serial": ENPOWER, "mains_admin_state": "closed", "grid_status": "on_grid"},
    "relay/NC1": {
        "id": "NC1",
        "name": "Pool pump",
        "status": "open",
        "mode": "soc",
        "grid_action": "apply",
        "micro_grid_action": "shed",
        "generator_action": "none",
        "soc_low_pct": 25,
        "soc_high_pct": 70,
    },
    "generator": {"mode": "auto", "running": False},
    f"acb/{ACB}": {"serial": ACB, "soc_pct": 55, "sleep_enabled": False},
}
DIAGNOSTICS = {"errors": 0, "firmware": "8.2.4382", "last_poll": 1, "token_type": "installer"}
CONFIG = Config(gateways=(GatewayConfig(host="gw", insecure=True),), poll=PollIntervals(), controls=ALL_ON)
JINJA = ImmutableSandboxedEnvironment()


def announced(controls=ALL_ON, token="installer", documents=DOCUMENTS, generation=1, sink=None):
    """The discovery configs of the gateway as the announcer syncs them: object id -> config."""
    recorder = Recorder() if sink is None else sink[1]
    announcer = Announcer(recorder, replace(CONFIG, controls=controls), "gw") if sink is None else sink[0]
    diagnostics = DIAGNOSTICS | {"token_type": token}
    announcer.snapshot(make_snapshot(PAYLOAD, documents=documents, diagnostics=diagnostics, generation=generation))
    return {topic: json.loads(config) for topic, config in recorder.discovery.items()}, (announcer, recorder)


def controls_of(configs):
    return {
        topic.split("/")[3]: config
        for topic, config in configs.items()
        if topic.split("/")[1] in ("select", "number", "switch", "button")
    }


def shown(config, document):
    return JINJA.from_string(config["value_template"]).render(value_json=document)


def test_every_control_is_an_entity_of_its_platform_on_its_device():
    configs, _ = announced()
    found = {topic.split("/", 2)[1] + "/" + topic.split("/")[3]: c for topic, c in configs.items()}
    gateway, relay = f"envoy_{SERIAL}", f"envoy_{SERIAL}_relay_NC1"
    expected = {
        "select/storage_mode": gateway,
        "number/storage_reserve_soc": gateway,
        "switch/charge_from_grid": gateway,
        "switch/mains_admin_state": gateway,
        "switch/production_enabled": gateway,
        f"button/{ACB}_acb_sleep": f"enphase_ac_battery_{ACB}",
        f"button/{ACB}_acb_wake": f"enphase_ac_battery_{ACB}",
        "switch/relay_NC1_relay_status": relay,
        "select/relay_NC1_mode": relay,
        "select/relay_NC1_grid_action": relay,
        "select/relay_NC1_microgrid_action": relay,
        "select/relay_NC1_generator_action": relay,
        "number/relay_NC1_soc_low": relay,
        "number/relay_NC1_soc_high": relay,
        "select/generator_mode": f"envoy_{SERIAL}_generator",
    }
    assert {key: found[key]["device"]["identifiers"][0] for key in expected} == expected
    assert len(controls_of(configs)) == len(expected)
    # a control replaces its read-only twin (same object id): one unique id, one entity
    assert "sensor/relay_NC1_mode" not in found and "binary_sensor/relay_NC1_relay_status" not in found
    unique_ids = [config["unique_id"] for config in found.values()]
    assert len(unique_ids) == len(set(unique_ids))
    assert found["select/relay_NC1_mode"]["device"]["name"] == "Pool pump"


def test_command_and_state_topics():
    configs = controls_of(announced()[0])
    base = f"envoy/{SERIAL}"
    topics = {key: (c["command_topic"], c.get("state_topic")) for key, c in configs.items()}
    assert topics["storage_mode"] == (f"{base}/storage/mode/set", f"{base}/state")
    assert topics["mains_admin_state"] == (f"{base}/grid/connection/set", f"{base}/enpower/{ENPOWER}")
    assert topics["relay_NC1_soc_low"] == (f"{base}/relay/NC1/soc_low/set", f"{base}/relay/NC1")
    assert topics[f"{ACB}_acb_sleep"] == topics[f"{ACB}_acb_wake"] == (f"{base}/acb/{ACB}/sleep/set", None)
    assert topics["generator_mode"] == (f"{base}/generator/mode/set", f"{base}/generator")
    assert topics["production_enabled"] == (f"{base}/production/set", f"{base}/production")
    for key, config in configs.items():
        assert config["retain"] is False, key  # Home Assistant must never send a retained command
        assert "expire_after" not in config, key  # not a key of 2024.1's select, number or switch
        assert config["unique_id"] == f"{SERIAL}_{key}"
        assert config["availability"][0] == {"topic": MqttConfig().availability_topic}


def test_selects_numbers_and_switches_take_the_payloads_the_bridge_takes():
    configs = controls_of(announced()[0])
    assert configs["storage_mode"]["options"] == ["backup", "self-consumption", "savings"]
    assert configs["relay_NC1_mode"]["options"] == ["manual", "soc"]
    assert configs["relay_NC1_grid_action"]["options"] == ["apply", "shed", "schedule", "no_action"]
    assert configs["generator_mode"]["options"] == ["on", "off", "auto"]
    reserve = configs["storage_reserve_soc"]
    assert (reserve["min"], reserve["max"], reserve["step"], reserve["unit_of_measurement"]) == (0, 100, 1, "%")
    assert reserve["device_class"] == "battery" and reserve["entity_category"] == "config"
    for key in ("charge_from_grid", "mains_admin_state", "relay_NC1_relay_status", "production_enabled"):
        assert (configs[key]["payload_on"], configs[key]["payload_off"]) == ("ON", "OFF"), key
    assert configs["relay_NC1_relay_status"]["name"] is None  # the relay itself, named after its device
    assert (
        "entity_category" not in configs["storage_mode"] and "entity_category" not in configs["relay_NC1_relay_status"]
    )
    assert configs["relay_NC1_soc_high"]["entity_category"] == "config"


def test_templates_show_the_document_value_as_the_command_payload():
    configs = controls_of(announced()[0])
    assert shown(configs["storage_mode"], PAYLOAD) == "savings"  # the gateway's economy
    assert shown(configs["storage_mode"], {"storage_settings": {"mode": "backup"}}) == "backup"
    assert shown(configs["charge_from_grid"], PAYLOAD) == "ON"
    assert shown(configs["storage_reserve_soc"], PAYLOAD) == "12.5"
    assert shown(configs["mains_admin_state"], DOCUMENTS[f"enpower/{ENPOWER}"]) == "ON"  # closed: on grid
    assert shown(configs["mains_admin_state"], {"mains_admin_state": "open"}) == "OFF"
    assert shown(configs["relay_NC1_relay_status"], DOCUMENTS["relay/NC1"]) == "OFF"
    assert shown(configs["relay_NC1_microgrid_action"], DOCUMENTS["relay/NC1"]) == "shed"
    assert shown(configs["relay_NC1_soc_low"], DOCUMENTS["relay/NC1"]) == "25"
    assert shown(configs["generator_mode"], DOCUMENTS["generator"]) == "auto"


@pytest.mark.parametrize(
    ("key", "document"),
    [
        ("storage_mode", {"storage_settings": {"mode": "ai-optimised"}}),  # a mode the gateway invents later
        ("storage_mode", {}),
        ("charge_from_grid", {"storage_settings": {"charge_from_grid": 1}}),  # 1 is not true
        ("charge_from_grid", {"storage_settings": {"charge_from_grid": "true"}}),
        ("storage_reserve_soc", {"storage_settings": {"reserve_soc_pct": True}}),
        ("storage_reserve_soc", {"storage_settings": {"reserve_soc_pct": "20"}}),
        ("mains_admin_state", {"mains_admin_state": "closing"}),
        ("relay_NC1_grid_action", {"grid_action": "powered"}),
        ("relay_NC1_soc_high", {}),
    ],
)
def test_a_value_outside_the_payloads_reads_as_unknown_never_as_a_setting(key, document):
    assert shown(controls_of(announced()[0])[key], document) == "None"


def test_production_follows_the_document_the_controls_publish_for_it():
    config = controls_of(announced()[0])["production_enabled"]
    assert shown(config, {"forced_off": True}) == "OFF"
    assert shown(config, {"forced_off": False}) == "ON"
    assert shown(config, {"forced_off": 0}) == "None"  # 0 is not false


def test_ac_battery_sleep_and_wake_are_buttons_the_gateway_takes_as_actions():
    configs = controls_of(announced()[0])
    sleep, wake = configs[f"{ACB}_acb_sleep"], configs[f"{ACB}_acb_wake"]
    assert (sleep["name"], sleep["payload_press"], wake["name"], wake["payload_press"]) == (
        "Sleep",
        "ON",
        "Wake",
        "OFF",
    )
    for button in (sleep, wake):
        assert button["retain"] is False and "value_template" not in button and "state_topic" not in button
    assert f"{ACB}_acb_battery_sleep" not in configs  # no switch: its state would show 10-15 min late


def test_production_needs_an_installer_token():
    assert "production_enabled" not in controls_of(announced(token="owner")[0])
    assert "production_enabled" in controls_of(announced(token="installer")[0])


def test_only_enabled_families_are_announced():
    assert controls_of(announced(ControlsConfig())[0]) == {}
    relays = controls_of(announced(ControlsConfig(relays=True))[0])
    assert set(relays) == {f"relay_NC1_{k}" for k in ("relay_status", "mode", "grid_action", "microgrid_action")} | {
        f"relay_NC1_{k}" for k in ("generator_action", "soc_low", "soc_high")
    }
    battery = controls_of(announced(ControlsConfig(battery=True))[0])
    assert set(battery) == {
        "storage_mode",
        "storage_reserve_soc",
        "charge_from_grid",
        f"{ACB}_acb_sleep",
        f"{ACB}_acb_wake",
    }
    assert set(controls_of(announced(ControlsConfig(grid=True))[0])) == {"mains_admin_state"}
    assert set(controls_of(announced(ControlsConfig(generator=True))[0])) == {"generator_mode"}


def test_only_controls_whose_hardware_is_there_are_announced():
    bare = controls_of(announced(documents={})[0])
    assert set(bare) == {"storage_mode", "storage_reserve_soc", "charge_from_grid", "production_enabled"}


def test_a_vanished_unit_takes_its_controls_with_it_at_the_next_probe():
    _, sink = announced()
    without_relay = {k: v for k, v in DOCUMENTS.items() if k != "relay/NC1"}
    configs, _ = announced(documents=without_relay, generation=2, sink=sink)
    assert not any("relay_NC1" in key for key in controls_of(configs))
    assert "generator_mode" in controls_of(configs)


def test_a_token_that_becomes_an_installers_brings_production():
    _, sink = announced(token="owner")
    configs, _ = announced(token="installer", sink=sink)
    assert "production_enabled" in controls_of(configs)


def test_a_family_disabled_before_a_restart_is_withdrawn_from_the_broker():
    before, _ = announced()
    after, _ = announced(ControlsConfig(battery=True))  # the restarted bridge: relays and the rest off
    readback = Readback("homeassistant", (MqttConfig().availability_topic,), 1.0, enabled=True, lock=threading.RLock())
    for topic, config in before.items():  # the previous run's retained configs, read back at start
        message = mqtt.MQTTMessage(topic=topic.encode())
        message.payload, message.retain = json.dumps(config).encode(), True
        readback.keep(message)
    _, vanished = readback.claim(SERIAL, {topic: json.dumps(config) for topic, config in after.items()})
    assert set(vanished) == set(before) - set(after)
    assert {t.split("/")[3] for t in vanished} == set(controls_of(before)) - set(controls_of(after))
    assert "relay_NC1_mode" in {t.split("/")[3] for t in vanished}


def test_every_control_of_the_table_has_an_entity():
    assert {kind.template for kind in CONTROLS} == set(LOOKS)
