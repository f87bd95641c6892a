"""Home Assistant discovery payloads: topics, ids, classes, availability, templates."""

import json
from datetime import datetime, timezone

import pytest

from bridge.controls.table import available_controls
from bridge.homeassistant.controls import EVERY_FAMILY
from bridge.homeassistant.discovery import build_configs
from bridge.homeassistant.entities import value_template
from bridge.homeassistant.gateway import entities_for
from bridge.model import GatewayInfo
from tests.support.sinks import make_snapshot

BRIDGE = "envoy/bridge/site-a/availability"  # the serving instance's (MqttConfig.availability_topic)
INFO = GatewayInfo(
    serial="999000000001", firmware="8.2.4382", part_number="800-00654-r08", metered=True, web_tokens=True
)
PAYLOAD = {
    "schema": 1,
    "serial": "999000000001",
    "firmware": "8.2.4382",
    "time": 1,
    "production": {
        "power_w": 1500,
        "energy_today_wh": 2000,
        "energy_last_7_days_wh": 9000,
        "energy_lifetime_wh": 100000,
        "phases": {"l1": {"power_w": 750}, "l2": {"power_w": 750}},
    },
    "consumption": {"power_w": 900, "energy_lifetime_wh": 50000},
    "net_consumption": {"power_w": -600, "energy_lifetime_wh": 1000},
    "grid": {
        "status": "on_grid",
        "import_power_w": 0,
        "export_power_w": 600,
        "energy_imported_wh": 4000,
        "energy_exported_wh": 3000,
    },
    "meters": {
        "net_consumption": {
            "power_w": -600,
            "voltage_v": 240.1,
            "metering_status": "normal",
            "energy_delivered_wh": 4000,
            "energy_received_wh": 3000,
            "phases": {"l1": {"power_w": -300}},
        },
        "storage": {"power_w": 100, "energy_delivered_wh": 10, "energy_received_wh": 20},
    },
}


def render(template: str, payload: dict) -> str:
    """The template body is a plain `.get()` chain: evaluate it as Python to check the path."""
    expression = template.removeprefix("{{ ").removesuffix(" }}")
    return str(eval(expression, {}, {"value_json": payload}))


def configs():
    raw = build_configs(
        PAYLOAD, INFO, base_topic="envoy", bridge_availability=BRIDGE, prefix="homeassistant", host="10.0.0.2"
    )
    return {topic: json.loads(payload) for topic, payload in raw.items()}


def by_key(key):
    return next(c for t, c in configs().items() if t.endswith(f"/{key}/config"))


def classes(key):
    """What Home Assistant's energy dashboard reads of an entity: device class, state class, unit."""
    config = by_key(key)
    return config["device_class"], config["state_class"], config["unit_of_measurement"]


def test_topics_and_unique_ids_are_serial_based_and_unique():
    all_configs = configs()
    for topic, config in all_configs.items():
        component, _serial, key = topic.split("/")[1:4]
        assert topic == f"homeassistant/{component}/999000000001/{key}/config"
        assert config["unique_id"] == f"999000000001_{key}"
        assert config["default_entity_id"] == f"{component}.envoy_999000000001_{key}"
    assert len({c["unique_id"] for c in all_configs.values()}) == len(all_configs)


def test_every_value_template_reads_the_value_from_the_state():
    for entity in entities_for(PAYLOAD):
        node = PAYLOAD
        for part in entity.path:
            node = node[part]
        assert render(value_template(entity.path), PAYLOAD) == str(node)


def test_missing_value_renders_none_not_an_error():
    assert render(value_template(("meters", "evse", "power_w")), {"schema": 1}) == "None"


def test_energy_dashboard_sensors_have_the_right_classes():
    for key in (
        "lifetime_production",
        "lifetime_consumption",
        "lifetime_net_consumption",
        "lifetime_net_production",
        "lifetime_battery_charged",
        "lifetime_battery_discharged",
        "daily_production",
    ):
        assert classes(key) == ("energy", "total_increasing", "Wh"), key
    for key in ("production", "grid_import_power", "grid_export_power", "net_consumption"):
        assert classes(key) == ("power", "measurement", "W"), key
    assert "state_class" not in by_key("seven_days_production")
    assert by_key("lifetime_balanced_net_consumption")["state_class"] == "total"


def test_grid_status_is_a_power_binary_sensor():
    config = by_key("grid_status")
    assert config["device_class"] == "power"
    assert (config["payload_on"], config["payload_off"]) == ("on_grid", "off_grid")
    assert render(config["value_template"], PAYLOAD) == "on_grid"


def test_phase_and_diagnostic_entities_are_disabled_by_default():
    assert by_key("production_l1")["enabled_by_default"] is False
    assert by_key("net_consumption_l1")["enabled_by_default"] is False
    status = by_key("net_consumption_ct_metering_status")
    assert status["entity_category"] == "diagnostic" and status["device_class"] == "enum"
    assert "enabled_by_default" not in by_key("production")


def test_only_entities_with_data_are_announced():
    keys = {t.split("/")[3] for t in configs()}
    assert "production_l3" not in keys and "daily_consumption" not in keys
    assert "production_ct_power" not in keys  # no production CT in this payload
    assert {"production_l1", "production_l2", "voltage", "battery_discharge"} <= keys


def test_device_availability_and_origin():
    config = by_key("production")
    device = config["device"]
    assert device["identifiers"] == ["envoy_999000000001"]
    assert device["manufacturer"] == "Enphase" and device["sw_version"] == "8.2.4382"
    assert device["hw_version"] == "800-00654-r08"
    assert device["configuration_url"] == "https://10.0.0.2"
    assert "net-consumption CT" in device["model"]
    assert config["availability"] == [
        {"topic": BRIDGE},
        {"topic": "envoy/999000000001/availability"},
    ]
    assert config["availability_mode"] == "all"
    assert config["state_topic"] == "envoy/999000000001/state"
    assert config["origin"]["name"] == "envoy-mqtt-bridge"


# -- units as their own devices ------------------------------------------------------------------

DEVICES = {
    "inverter/482300000001": {
        "serial": "482300000001",
        "power_w": 250,
        "max_power_w": 300,
        "last_report": 1760000000,
        "dc_voltage_v": 32.0,
        "temperature_c": 40,
        "energy_lifetime_wh": 1000000,
        "communicating": True,
        "firmware": "520-00082-r01-v04.30.32",
    },
    "battery/122035000001": {
        "serial": "122035000001",
        "soc_pct": 81,
        "power_w": 1250,
        "dc_switch_off": False,
        "last_report": 1760000000,
        "communicating": True,
    },
    "enpower/122029000001": {
        "serial": "122029000001",
        "grid_status": "off_grid",
        "mains_admin_state": "closed",
        "temperature_c": 31.1,
    },
    "relay/NC1": {"id": "NC1", "status": "open", "name": "Pool pump", "soc_low_pct": 25},
    "generator": {"running": True, "mode": "auto", "manufacturer": "Acme", "model": "Model 10 kW"},
    "acb/121900000001": {
        "serial": "121900000001",
        "soc_pct": 55,
        "charge_status": "discharging",
        "sleep_enabled": False,
    },
}
WITH_BATTERIES = PAYLOAD | {
    "battery": {"soc_pct": 50, "available_energy_wh": 2500, "power_w": 750},
    "acb": {"power_w": -150, "soc_pct": 40, "available_energy_wh": 660, "state": "charging"},
    "storage_settings": {"mode": "economy", "charge_from_grid": True, "reserve_soc_pct": 12.5},
}


def device_configs():
    raw = build_configs(
        WITH_BATTERIES, INFO, base_topic="envoy", bridge_availability=BRIDGE, prefix="homeassistant", devices=DEVICES
    )
    return {topic: json.loads(payload) for topic, payload in raw.items()}


def on_device(identifier):
    return {t.split("/")[3]: c for t, c in device_configs().items() if c["device"]["identifiers"] == [identifier]}


def test_each_unit_is_its_own_device_hanging_off_the_gateway():
    configs = device_configs()
    devices = {c["device"]["identifiers"][0]: c["device"] for c in configs.values()}
    assert set(devices) == {
        "envoy_999000000001",
        "enphase_inverter_482300000001",
        "enphase_encharge_122035000001",
        "enphase_enpower_122029000001",
        "envoy_999000000001_relay_NC1",
        "envoy_999000000001_generator",
        "enphase_ac_battery_121900000001",
        "envoy_999000000001_acb",
    }
    for identifier, device in devices.items():
        if identifier != "envoy_999000000001":
            assert device["via_device"] == "envoy_999000000001"
    assert devices["enphase_inverter_482300000001"] == {
        "identifiers": ["enphase_inverter_482300000001"],
        "name": "Inverter 482300000001",
        "manufacturer": "Enphase",
        "model": "Inverter",
        "via_device": "envoy_999000000001",
        "sw_version": "520-00082-r01-v04.30.32",
    }
    assert devices["envoy_999000000001_relay_NC1"]["name"] == "Pool pump"
    assert devices["envoy_999000000001_generator"]["manufacturer"] == "Acme"


def test_unit_entities_read_their_own_topic_with_ids_from_serials():
    inverter = on_device("enphase_inverter_482300000001")
    assert set(inverter) == {
        f"482300000001_{k}"
        for k in (
            "inverters",
            "last_reported",
            "dc_voltage",
            "temperature",
            "lifetime_energy",
            "max_reported",
            "communicating",
        )
    }
    main = inverter["482300000001_inverters"]
    assert main["name"] is None and main["default_entity_id"] == "sensor.inverter_482300000001"
    assert main["unique_id"] == "999000000001_482300000001_inverters"
    assert main["state_topic"] == "envoy/999000000001/inverter/482300000001"
    assert (main["device_class"], main["unit_of_measurement"], main["state_class"]) == ("power", "W", "measurement")
    assert inverter["482300000001_dc_voltage"]["default_entity_id"] == "sensor.inverter_482300000001_dc_voltage"
    assert inverter["482300000001_dc_voltage"]["enabled_by_default"] is False
    relay = on_device("envoy_999000000001_relay_NC1")
    assert relay["relay_NC1_relay_status"]["default_entity_id"] == "binary_sensor.envoy_999000000001_relay_nc1"


def test_home_assistant_keys_and_classes_on_unit_devices():
    battery = on_device("enphase_encharge_122035000001")
    assert {k.split("_", 1)[1] for k in battery} == {
        "soc",
        "real_power_mw",
        "dc_switch",
        "last_reported",
        "communicating",
    }
    assert battery["122035000001_soc"]["device_class"] == "battery"
    assert battery["122035000001_communicating"]["entity_category"] == "diagnostic"
    assert battery["122035000001_communicating"]["device_class"] == "connectivity"
    enpower = on_device("enphase_enpower_122029000001")
    status = enpower["122029000001_mains_oper_state"]
    assert (status["payload_on"], status["payload_off"], status["name"]) == ("on_grid", "off_grid", "Grid status")
    assert enpower["122029000001_temperature"]["unit_of_measurement"] == "°C"
    acb = on_device("envoy_999000000001_acb")
    assert set(acb) == {"acb_power", "acb_soc", "acb_battery_state"}
    assert acb["acb_power"]["state_topic"] == "envoy/999000000001/state"


def test_battery_and_settings_entities_on_the_gateway():
    gateway = on_device("envoy_999000000001")
    assert gateway["battery_level"]["unique_id"] == "999000000001_battery_level"
    assert (gateway["available_energy"]["device_class"], gateway["available_energy"]["state_class"]) == (
        "energy_storage",
        "measurement",
    )  # not an Energy dashboard source: it goes up and down
    assert gateway["storage_mode"]["options"] == ["backup", "self-consumption", "economy"]
    assert gateway["charge_from_grid"]["value_template"].endswith("if v is boolean else 'None' }}")
    assert {"acb_available_energy", "storage_reserve_soc", "battery_power"} <= set(gateway)


def test_existing_gateway_unique_ids_are_unchanged():
    # The gateway's entities keep the ids of the first release: `<serial>_<key>`, Home Assistant's keys.
    keys = {c["unique_id"] for t, c in configs().items()}
    assert {
        "999000000001_production",
        "999000000001_lifetime_net_consumption",
        "999000000001_grid_status",
        "999000000001_battery_discharge",
        "999000000001_voltage",
        "999000000001_production_l1",
    } <= keys


def test_vanished_unit_takes_its_entities_with_it():
    fewer = {k: v for k, v in DEVICES.items() if not k.startswith("inverter/")}
    raw = build_configs(
        WITH_BATTERIES, INFO, base_topic="envoy", bridge_availability=BRIDGE, prefix="homeassistant", devices=fewer
    )
    assert not any("482300000001" in topic for topic in raw)


def test_timestamp_and_flag_templates_render_like_home_assistant():
    jinja2 = pytest.importorskip("jinja2.sandbox")
    env = jinja2.ImmutableSandboxedEnvironment()
    env.filters["timestamp_utc"] = lambda v: datetime.fromtimestamp(v, timezone.utc).isoformat()
    configs = on_device("enphase_inverter_482300000001")
    document = DEVICES["inverter/482300000001"]

    def rendered(key, doc):
        return env.from_string(configs[f"482300000001_{key}"]["value_template"]).render(value_json=doc)

    assert rendered("last_reported", document) == "2025-10-09T08:53:20+00:00"
    assert rendered("last_reported", {}) == "None"
    assert rendered("communicating", document) == "ON"
    assert rendered("communicating", {"communicating": False}) == "OFF"
    assert rendered("communicating", {}) == "None"
    assert rendered("inverters", document) == "250"
    battery = on_device("enphase_encharge_122035000001")["122035000001_dc_switch"]["value_template"]
    assert env.from_string(battery).render(value_json={"dc_switch_off": False}) == "ON"  # switch on


def test_ct_status_flags_count_is_a_disabled_diagnostic_per_ct():
    payload = PAYLOAD | {
        "meters": {
            "net_consumption": {"power_w": 1, "status_flag_count": 0},
            "production": {"power_w": 2, "status_flag_count": 1, "status_flags": ["production-imbalance"]},
        }
    }
    raw = build_configs(payload, INFO, base_topic="envoy", bridge_availability=BRIDGE, prefix="homeassistant")
    configs = {t.split("/")[3]: json.loads(c) for t, c in raw.items()}
    for key in ("net_consumption_ct_status_flags", "production_ct_status_flags"):
        assert configs[key]["entity_category"] == "diagnostic" and configs[key]["enabled_by_default"] is False
    assert render(configs["production_ct_status_flags"]["value_template"], payload) == "1"


def test_enum_values_outside_the_options_read_as_unknown():
    jinja2 = pytest.importorskip("jinja2.sandbox")
    template = on_device("envoy_999000000001")["storage_mode"]["value_template"]
    env = jinja2.ImmutableSandboxedEnvironment()
    assert env.from_string(template).render(value_json=WITH_BATTERIES) == "economy"
    assert env.from_string(template).render(value_json={"storage_settings": {"mode": "ai-optimised"}}) == "None"


DIAGNOSTICS = {
    "bridge_version": "1.2.3",
    "errors": 0,
    "firmware": "8.2.4382",
    "last_poll": 1700000000,
    "poll_duration_s": 0.42,
    "serial": "999000000001",
    "token_days_left": 300.5,
    "token_expires": 1726000000,
    "token_flow": None,
    "token_renewal_error": None,
    "token_source": "cache",
    "token_type": "owner",
}


def test_diagnostic_entities_sit_on_the_gateway_device_and_read_the_diagnostics_topic():
    raw = build_configs(
        PAYLOAD,
        INFO,
        base_topic="envoy",
        bridge_availability=BRIDGE,
        prefix="homeassistant",
        host="10.0.0.2",
        diagnostics=DIAGNOSTICS,
    )
    found = {
        t.split("/")[3]: json.loads(p)
        for t, p in raw.items()
        if json.loads(p)["state_topic"] == "envoy/999000000001/diagnostics"
    }
    assert set(found) == {
        "token_expires",
        "token_days_left",
        "token_renewal_problem",
        "token_type",
        "token_source",
        "last_poll",
        "poll_duration",
        "firmware",
        "bridge_version",
    }
    gateway = by_key("production")["device"]
    for config in found.values():
        assert config["device"] == gateway and config["entity_category"] == "diagnostic"
    assert found["token_expires"]["device_class"] == "timestamp"
    assert found["last_poll"]["device_class"] == "timestamp"
    assert found["poll_duration"]["unit_of_measurement"] == "s"
    assert found["token_days_left"]["unit_of_measurement"] == "d"
    problem = found["token_renewal_problem"]
    assert problem["device_class"] == "problem" and problem["default_entity_id"].startswith("binary_sensor.")
    jinja2 = pytest.importorskip("jinja2")
    template = jinja2.Environment().from_string(problem["value_template"])
    assert template.render(value_json=DIAGNOSTICS) == "OFF"
    assert template.render(value_json={**DIAGNOSTICS, "token_renewal_error": "cloud down"}) == "ON"
    for key, shown in (("token_type", "owner"), ("token_source", "cache")):
        assert jinja2.Environment().from_string(found[key]["value_template"]).render(value_json=DIAGNOSTICS) == shown
    env = jinja2.Environment()
    env.filters["timestamp_utc"] = lambda v: datetime.fromtimestamp(v, timezone.utc).isoformat()
    assert (
        env.from_string(found["token_expires"]["value_template"]).render(value_json=DIAGNOSTICS)
        == "2024-09-10T20:26:40+00:00"
    )
    # without a token (digest or no auth), no token entities
    bare = {k: v for k, v in DIAGNOSTICS.items() if k == "token_renewal_error" or not k.startswith("token_")}
    raw = build_configs(
        PAYLOAD, INFO, base_topic="envoy", bridge_availability=BRIDGE, prefix="homeassistant", diagnostics=bare
    )
    assert not any(
        f"/{key}/" in t for t in raw for key in ("token_expires", "token_days_left", "token_type", "token_source")
    )


def test_expire_after_outlasts_three_polls_and_the_republish_interval():
    from bridge.homeassistant.discovery import expire_after_s

    assert expire_after_s(10, 300, 10) == 360  # fast group: the republish interval rules
    assert expire_after_s(300, 300, 10) == 900  # inverters: three polls
    assert expire_after_s(10, 300, 60) == 480  # a slow publish cadence widens the margin
    raw = build_configs(
        PAYLOAD,
        INFO,
        base_topic="envoy",
        bridge_availability=BRIDGE,
        prefix="homeassistant",
        expire_after=lambda topic: 123 if topic.endswith("/state") else None,
    )
    assert {json.loads(p).get("expire_after") for p in raw.values()} == {123}
    raw = build_configs(PAYLOAD, INFO, base_topic="envoy", bridge_availability=BRIDGE, prefix="homeassistant")
    assert not any("expire_after" in json.loads(p) for p in raw.values())


# -- every Home Assistant release since 2024.1 -------------------------------------------------------

# Home Assistant 2024.1.6's mqtt sources: a device or origin block with a key its schema lacks
# makes it refuse the whole config (mixins.py MQTT_ENTITY_DEVICE_INFO_SCHEMA, discovery.py
# MQTT_ORIGIN_INFO_SCHEMA with the abbreviations sw, url); `serial_number` came in 2024.2.
DEVICE_KEYS_2024_1 = {
    "identifiers",
    "connections",
    "manufacturer",
    "model",
    "name",
    "hw_version",
    "sw_version",
    "via_device",
    "suggested_area",
    "configuration_url",
}
ORIGIN_KEYS_2024_1 = {"name", "sw", "url"}
# Entity keys its schemas know, per platform, among those the bridge sends; any other key it
# drops without a word, so each such key is listed here with what it is for.
COMMON_KEYS_2024_1 = {
    "availability",
    "availability_mode",
    "device",
    "origin",
    "name",
    "unique_id",
    "state_topic",
    "value_template",
    "enabled_by_default",
    "entity_category",
}
READ_ONLY_KEYS_2024_1 = {"device_class", "expire_after"}
COMMAND_KEYS_2024_1 = {"command_topic", "retain"}  # the controls (mqtt/config.py MQTT_RW_SCHEMA)
PLATFORM_KEYS_2024_1 = {
    "sensor": COMMON_KEYS_2024_1 | READ_ONLY_KEYS_2024_1 | {"unit_of_measurement", "state_class"},
    "binary_sensor": COMMON_KEYS_2024_1 | READ_ONLY_KEYS_2024_1 | {"payload_on", "payload_off"},
    "select": COMMON_KEYS_2024_1 | COMMAND_KEYS_2024_1 | {"options"},
    "number": COMMON_KEYS_2024_1 | COMMAND_KEYS_2024_1 | {"min", "max", "step", "unit_of_measurement", "device_class"},
    "switch": COMMON_KEYS_2024_1 | COMMAND_KEYS_2024_1 | {"payload_on", "payload_off", "device_class"},
    # no state: button.py's schema has no state_topic or value_template
    "button": COMMON_KEYS_2024_1 - {"state_topic", "value_template"} | COMMAND_KEYS_2024_1 | {"payload_press"},
}
IGNORED_BY_2024_1 = {"default_entity_id", "options"}  # the entity id (2025.10), enum sensors' options
# Classes the bridge uses, each checked against 2024.1's sensor and binary_sensor constants and
# their units; a new one is checked the same way before it is added here.
SENSOR_CLASSES_2024_1 = {
    "apparent_power",
    "battery",
    "current",
    "duration",
    "energy",
    "energy_storage",
    "enum",
    "frequency",
    "power",
    "power_factor",
    "temperature",
    "timestamp",
    "voltage",
}
BINARY_SENSOR_CLASSES_2024_1 = {"connectivity", "power", "problem", "running"}
CLASSES_2024_1 = {
    "sensor": SENSOR_CLASSES_2024_1,
    "binary_sensor": BINARY_SENSOR_CLASSES_2024_1,
    "number": {"battery"},
    "select": set(),
    "switch": set(),
    "button": set(),
}
STATE_CLASSES_2024_1 = {"measurement", "total", "total_increasing"}


def test_every_key_and_class_is_one_home_assistant_2024_1_accepts():
    installer = DIAGNOSTICS | {"token_type": "installer"}
    snapshot = make_snapshot(WITH_BATTERIES, documents=DEVICES, diagnostics=installer)
    every = build_configs(
        WITH_BATTERIES,
        INFO,
        base_topic="envoy",
        bridge_availability=BRIDGE,
        prefix="homeassistant",
        host="10.0.0.2",
        devices=DEVICES,
        diagnostics=DIAGNOSTICS,
        expire_after=lambda topic: 360,
        controls=available_controls(snapshot, EVERY_FAMILY),
    )
    configs = {topic: json.loads(payload) for topic, payload in every.items()}
    assert {"enum", "timestamp", "power", "battery"} <= {c.get("device_class") for c in configs.values()}
    assert set(CLASSES_2024_1) == {topic.split("/")[1] for topic in configs}  # every platform checked
    for topic, config in configs.items():
        platform = topic.split("/")[1]
        assert set(config["device"]) <= DEVICE_KEYS_2024_1, topic
        assert set(config["origin"]) <= ORIGIN_KEYS_2024_1, topic
        assert set(config) <= PLATFORM_KEYS_2024_1[platform] | IGNORED_BY_2024_1, topic
        assert config.get("device_class") in CLASSES_2024_1[platform] | {None}, topic
        assert config.get("state_class", "total") in STATE_CLASSES_2024_1, topic


LIVE = {
    "time": 1764760000,
    "sampled_at": 1764759999,
    "pv_power_w": 3000.0,
    "grid_power_w": -500.0,
    "load_power_w": 1500.0,
    "storage_power_w": -1000.0,
    "generator_power_w": 0.0,
    "soc_pct": 40,
    "encharge_soc_pct": 40,
    "encharge_energy_wh": 4000,
    "acb_soc_pct": 60,
    "acb_energy_wh": 720,
    "backup_reserve_pct": 20,
    "main_relay": "open",
    "main_relay_state": 0,
    "gen_relay_state": 5,
    "stream": "enabled",
}


def live_configs(live: dict) -> dict[str, dict]:
    raw = build_configs(
        PAYLOAD | WITH_BATTERIES,
        INFO,
        base_topic="envoy",
        bridge_availability=BRIDGE,
        prefix="homeassistant",
        live=live,
    )
    return {t.split("/")[3]: c for t, c in ((t, json.loads(p)) for t, p in raw.items())}


def test_live_entities_sit_on_the_gateway_device_and_read_the_live_topic():
    found = {k: c for k, c in live_configs(LIVE).items() if c["state_topic"] == "envoy/999000000001/live"}
    powers = ("live_pv_power", "live_grid_power", "live_load_power", "live_battery_power", "live_generator_power")
    assert set(found) == {*powers, "live_encharge_soc", "live_acb_soc", "main_relay"}
    for key in powers:
        assert (found[key]["device_class"], found[key]["state_class"], found[key]["unit_of_measurement"]) == (
            "power",
            "measurement",
            "W",
        )
    assert render(found["live_grid_power"]["value_template"], LIVE) == "-500.0"  # signed: exporting
    assert (
        found["live_encharge_soc"]["device_class"] == "battery" and found["live_acb_soc"]["unit_of_measurement"] == "%"
    )
    relay = found["main_relay"]
    assert relay["default_entity_id"] == "binary_sensor.envoy_999000000001_main_relay"
    assert (relay["payload_on"], relay["payload_off"]) == ("closed", "open")
    assert render(relay["value_template"], LIVE) == "open"
    assert {c["device"]["identifiers"][0] for c in found.values()} == {"envoy_999000000001"}


def test_a_live_entity_exists_exactly_when_its_value_is_in_the_document():
    bare = {"time": 1, "sampled_at": 1, "pv_power_w": 10.0, "grid_power_w": 5.0, "load_power_w": 15.0}
    found = {k for k, c in live_configs(bare).items() if c["state_topic"].endswith("/live")}
    assert found == {"live_pv_power", "live_grid_power", "live_load_power"}
    assert not any(c["state_topic"].endswith("/live") for c in live_configs({}).values())


def test_no_two_entities_of_the_gateway_device_share_a_name():
    names = [c["name"] for c in live_configs(LIVE).values() if c["device"]["identifiers"] == ["envoy_999000000001"]]
    assert len(names) == len(set(names))
