"""The discovery configs and unit documents in a real Home Assistant (tests/support/homeassistant.py),
on the oldest supported release and the newest that installs here (tests/clients/conftest.py):
no config is refused, every entity is registered on the right device, hanging off its gateway,
disabled where it should be, and shows the value of its document. Three gateways: the capture
with three CTs, IQ Batteries, Enpower and relays; the AC Battery capture; and one made of the
project's own bodies (generator, collar, named relay, sleeping AC Battery, detailed inverters)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from bridge.homeassistant.discovery import build_configs
from bridge.model import ENDPOINTS, GatewayInfo, build_state, decode_json
from tests.support.captures import POLLED_AT, SKIP_REASON, capture_names, load_capture
from tests.support.homeassistant import HomeAssistant
from tests.support.mqtt import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
jinja2 = pytest.importorskip("jinja2.sandbox")
BODIES = Path(__file__).resolve().parents[1] / "fixtures" / "bodies"
CAPTURES = ("8.2.127_with_3cts_and_battery_split", "8.3.5169_ACB_inventory")
OWN_BODIES = {
    "/api/v1/production": None,
    "/ivp/ensemble/inventory": "inventory_enpower_open.json",
    "/ivp/ensemble/power": "ensemble_power_two_batteries.json",
    "/ivp/pdm/device_data": "device_data_inverters.json",
    "/inventory.json?deleted=1": "inventory_acb.json",
    "/ivp/ensemble/dry_contacts": "dry_contacts_status.json",
    "/ivp/ss/dry_contact_settings": "dry_contacts_settings.json",
    "/ivp/ss/gen_config": "gen_config_standby.json",
    "/ivp/ensemble/generator": "generator_running.json",
    "/ivp/ss/gen_mode": "gen_mode_auto.json",
}


def own_state():
    """A gateway of the project's bodies, with an Enpower and a collar together."""
    docs = {ep: decode_json(name, (BODIES / name).read_bytes()) for ep, name in OWN_BODIES.items() if name}
    docs["/api/v1/production"] = {"wattHoursToday": 1, "wattHoursSevenDays": 2, "wattHoursLifetime": 3, "wattsNow": 4}
    docs["/ivp/ensemble/inventory"] += decode_json("collar", (BODIES / "inventory_collar_off_grid.json").read_bytes())
    info = GatewayInfo("999000000009", "8.2.4382", None, False, True)
    return info, build_state(info, {ep: ENDPOINTS[ep](doc) for ep, doc in docs.items()}, POLLED_AT)


def gateways():
    found = [(c.info, c.state()) for c in map(load_capture, CAPTURES)]
    return [*found, own_state()]


def messages_of(info, state) -> tuple[dict[str, str], dict[str, dict]]:
    documents = {f"envoy/{info.serial}/{suffix}": doc for suffix, doc in state.device_payloads().items()}
    documents[f"envoy/{info.serial}/state"] = state.as_payload()
    configs = build_configs(
        state.as_payload(),
        info,
        base_topic="envoy",
        bridge_availability="envoy/bridge/site-a/availability",
        prefix="homeassistant",
        devices=state.device_payloads(),
    )
    retained = {
        **configs,
        **{t: json.dumps(d) for t, d in documents.items()},
        f"envoy/{info.serial}/availability": "online",
    }
    return retained, documents


def expected_state(config: dict, document: dict) -> str:
    """What Home Assistant should show: the template rendered as Home Assistant renders it."""
    env = jinja2.ImmutableSandboxedEnvironment()
    env.filters["timestamp_utc"] = lambda v: datetime.fromtimestamp(v, timezone.utc).isoformat()
    rendered = env.from_string(config["value_template"]).render(value_json=document)
    if rendered == "None":
        return "unknown"
    if "payload_on" in config or config["default_entity_id"].startswith("binary_sensor."):
        return "on" if rendered == config.get("payload_on", "ON") else "off"
    return rendered


def same(shown: str, wanted: str) -> bool:
    try:
        return float(shown) == float(wanted)
    except ValueError:
        return shown == wanted


@pytest.fixture
def home_assistant(tmp_path, mosquitto, home_assistant_venv):
    if not capture_names():
        pytest.skip(SKIP_REASON)
    ha = HomeAssistant(home_assistant_venv, tmp_path / "ha", mosquitto.port)
    yield ha
    ha.stop()


def test_every_unit_is_a_device_with_its_entities_and_values(home_assistant, mosquitto):
    retained, documents = {"envoy/bridge/site-a/availability": "online"}, {}
    for info, state in gateways():
        more, docs = messages_of(info, state)
        retained.update(more)
        documents.update(docs)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect(mosquitto.host, mosquitto.port)
    client.loop_start()
    for topic, payload in retained.items():
        client.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
    client.loop_stop()
    configs = {t: json.loads(p) for t, p in retained.items() if t.startswith("homeassistant/")}
    assert len(configs) > 300 and any(t.endswith("generator_running/config") for t in configs)
    home_assistant.start()

    def all_registered() -> bool:
        home_assistant.assert_none_rejected()
        return len(registered(home_assistant)) == len(configs)

    wait_for(
        all_registered,
        timeout=60,
        interval=0.5,
        message="every entity registered",
    )
    entities, devices = registered(home_assistant), home_assistant.registry("core.device_registry")["devices"]
    check_devices(configs, entities, devices)

    def wrong():
        return wrong_states(configs, entities, documents, home_assistant.states())

    try:
        wait_for(lambda: not wrong(), timeout=30, interval=0.5, message="every enabled entity showing its value")
    except AssertionError:
        pass  # the assertion below says which
    assert not wrong(), "\n".join(wrong()[:20])
    problems = [
        line
        for line in home_assistant.log_tail(500).splitlines()
        if "ERROR" in line or "mqtt" in line.lower() or "template" in line.lower()
    ]
    assert not problems, "\n".join(problems[:20])
    home_assistant.assert_none_rejected()


def registered(ha) -> dict[str, dict]:
    return {
        e["unique_id"]: e for e in ha.registry("core.entity_registry").get("entities", []) if e["platform"] == "mqtt"
    }


def check_devices(configs: dict, entities: dict, devices: list) -> None:
    by_id = {d["id"]: d for d in devices}
    for config in configs.values():
        entry = entities[config["unique_id"]]
        device = by_id[entry["device_id"]]
        assert ["mqtt", config["device"]["identifiers"][0]] in device["identifiers"]
        parent = config["device"].get("via_device")
        if parent:
            assert ["mqtt", parent] in by_id[device["via_device_id"]]["identifiers"]
        assert (entry["disabled_by"] == "integration") is (config.get("enabled_by_default") is False)
        assert entry["entity_category"] == config.get("entity_category")


def wrong_states(configs: dict, entities: dict, documents: dict, states: dict) -> list[str]:
    wrong = []
    for config in configs.values():
        entry = entities[config["unique_id"]]
        if entry["disabled_by"]:
            continue
        wanted = expected_state(config, documents[config["state_topic"]])
        shown = states.get(entry["entity_id"], {}).get("state")
        if shown is None or not same(shown, wanted):
            wrong.append(f"{entry['entity_id']}: {shown} != {wanted}")
    return wrong
