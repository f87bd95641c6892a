"""Home Assistant discovery payloads: topics, ids, classes, availability, templates."""

import json

from bridge.discovery import build_configs, entities_for, value_template
from bridge.model.info import GatewayInfo

INFO = GatewayInfo(serial="999000000001", firmware="8.2.4382", part_number="800-00654-r08",
                   metered=True, web_tokens=True)
PAYLOAD = {
    "schema": 1, "serial": "999000000001", "firmware": "8.2.4382", "time": 1,
    "production": {"power_w": 1500, "energy_today_wh": 2000, "energy_last_7_days_wh": 9000,
                   "energy_lifetime_wh": 100000,
                   "phases": {"l1": {"power_w": 750}, "l2": {"power_w": 750}}},
    "consumption": {"power_w": 900, "energy_lifetime_wh": 50000},
    "net_consumption": {"power_w": -600, "energy_lifetime_wh": 1000},
    "grid": {"status": "on_grid", "import_power_w": 0, "export_power_w": 600,
             "energy_imported_wh": 4000, "energy_exported_wh": 3000},
    "meters": {"net_consumption": {"power_w": -600, "voltage_v": 240.1, "metering_status": "normal",
                                   "energy_delivered_wh": 4000, "energy_received_wh": 3000,
                                   "phases": {"l1": {"power_w": -300}}},
               "storage": {"power_w": 100, "energy_delivered_wh": 10, "energy_received_wh": 20}},
}


def render(template: str, payload: dict) -> str:
    """The template body is a plain `.get()` chain: evaluate it as Python to check the path."""
    expression = template.removeprefix("{{ ").removesuffix(" }}")
    return str(eval(expression, {}, {"value_json": payload}))  # noqa: S307 - our own template


def configs():
    raw = build_configs(PAYLOAD, INFO, base_topic="envoy", prefix="homeassistant", host="10.0.0.2")
    return {topic: json.loads(payload) for topic, payload in raw.items()}


def by_key(key):
    return next(c for t, c in configs().items() if t.endswith(f"/{key}/config"))


def test_topics_and_unique_ids_are_serial_based_and_unique():
    all_configs = configs()
    for topic, config in all_configs.items():
        component, serial, key = topic.split("/")[1:4]
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
    for key in ("lifetime_production", "lifetime_consumption", "lifetime_net_consumption",
                "lifetime_net_production", "lifetime_battery_charged", "lifetime_battery_discharged",
                "daily_production"):
        config = by_key(key)
        assert (config["device_class"], config["state_class"], config["unit_of_measurement"]) == \
            ("energy", "total_increasing", "Wh"), key
    for key in ("production", "grid_import_power", "grid_export_power", "net_consumption"):
        config = by_key(key)
        assert (config["device_class"], config["state_class"], config["unit_of_measurement"]) == \
            ("power", "measurement", "W"), key
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
    assert config["availability"] == [{"topic": "envoy/bridge/availability"},
                                      {"topic": "envoy/999000000001/availability"}]
    assert config["availability_mode"] == "all"
    assert config["state_topic"] == "envoy/999000000001/state"
    assert config["origin"]["name"] == "envoy-mqtt-bridge"
