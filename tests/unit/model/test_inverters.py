"""Microinverter documents on small bodies the project wrote itself: the per-inverter sources
and their firmware quirks, one test each, named after it."""

from tests.unit.model.test_devices import (
    DEVICE_DATA,
    DEVICE_INVENTORY,
    INVERTERS,
    body,
    devices,
    selected,
    state,
)

# -- microinverters ----------------------------------------------------------------------------


def test_device_data_gives_detailed_inverters():
    inverter = devices({DEVICE_DATA: body("device_data_inverters.json")})["inverter/482300000001"]
    assert inverter == {
        "serial": "482300000001",
        "power_w": 250,
        "max_power_w": 300,
        "last_report": 1760000000,
        "last_report_duration_s": 900,
        "energy_last_report_wh": 62.5,
        "energy_today_wh": 1200,
        "energy_yesterday_wh": 2400,
        "energy_lifetime_wh": 1000000,
        "dc_voltage_v": 32.0,
        "dc_current_a": 8.0,
        "ac_voltage_v": 240.5,
        "ac_current_a": 1.04,
        "frequency_hz": 60.01,
        "temperature_c": 40,
    }


def test_inverter_power_wrapped_as_unsigned_32_bit_is_negative():
    # 4294967293 is -3 W written as an unsigned 32-bit number (8.3.5169 capture: 4294967292 on the eim)
    assert devices({DEVICE_DATA: body("device_data_inverters.json")})["inverter/482300000002"]["power_w"] == -3


def test_device_data_inactive_gone_inverter_left_out():
    found = devices({DEVICE_DATA: body("device_data_inverters.json")})
    assert "inverter/482300000003" not in found  # active false, modGone true, empty lastReading
    assert not any("EIM" in topic for topic in found)  # the CTs' entries are not inverters


def test_device_data_at_its_device_limit_falls_back_to_v1_inverters():
    doc = body("device_data_inverters.json") | {"deviceCount": 50, "deviceDataLimit": 50}
    docs = {DEVICE_DATA: doc, INVERTERS: body("inverters_v1_with_acb.json")}
    inverter = devices(docs)["inverter/482300000001"]
    assert inverter == {"serial": "482300000001", "power_w": 250, "max_power_w": 300, "last_report": 1760000000}
    assert selected(docs) >= {INVERTERS} and DEVICE_DATA not in selected(docs)


def test_device_data_preferred_over_v1_when_complete():
    docs = {DEVICE_DATA: body("device_data_inverters.json"), INVERTERS: body("inverters_v1_with_acb.json")}
    assert devices(docs)["inverter/482300000001"]["temperature_c"] == 40
    assert DEVICE_DATA in selected(docs)


def test_acb_dev_type_11_is_an_ac_battery_not_an_inverter():
    found = devices({INVERTERS: body("inverters_v1_with_acb.json")})
    assert "inverter/121900000001" not in found
    assert found["acb/121900000001"] == {
        "serial": "121900000001",
        "power_w": 115,
        "max_power_w": 270,
        "last_report": 1760000020,
    }


def test_inverter_never_reported_has_no_report_time_not_zero():
    inverter = devices({INVERTERS: body("inverters_v1_with_acb.json")})["inverter/482300000004"]
    assert "last_report" not in inverter and inverter["power_w"] == 0


def test_inverter_listed_twice_first_report_wins():
    assert devices({INVERTERS: body("inverters_v1_with_acb.json")})["inverter/482300000001"]["power_w"] == 250


def test_empty_inverter_list_every_4_hours_publishes_no_inverters_and_is_no_error():
    # HA's integration: "some envoy fw versions return an empty inverter array every 4 hours"
    result = state({INVERTERS: []})
    assert result.device_payloads() == {} and result.as_payload()["production"]["power_w"] == 400


def test_inventory_json_adds_inverter_health_and_skips_decommissioned():
    docs = {DEVICE_DATA: body("device_data_inverters.json"), DEVICE_INVENTORY: body("inventory_acb.json")}
    found = devices(docs)
    health = {
        "communicating": True,
        "producing": True,
        "firmware": "520-00082-r01-v04.30.32",
        "part_number": "800-00000-r01",
    }
    assert health.items() <= found["inverter/482300000001"].items()
    assert "inverter/482300000009" not in found  # admin_state 0: decommissioned, listed because of ?deleted=1
    assert DEVICE_INVENTORY in selected(docs)


def test_device_data_field_added_by_a_later_firmware_is_not_a_device():
    doc = body("device_data_inverters.json") | {"futureField": 1, "zz_new": {"nested": [1, 2]}}
    assert len([t for t in devices({DEVICE_DATA: doc}) if t.startswith("inverter/")]) == 2
