"""Per-device documents and battery sections, on small bodies the project wrote itself
(tests/fixtures/bodies). One test per firmware quirk or rule, named after it."""

import dataclasses
import json
from pathlib import Path

import pytest

from bridge.errors import EnvoyDataError, EnvoyErrorDocument
from bridge.model import ENDPOINTS, GatewayInfo, build_state, decode_json, select_endpoints

BODIES = Path(__file__).resolve().parents[2] / "fixtures" / "bodies"
INFO = GatewayInfo("123456789012", "8.2.4382", "800-00654-r08", False, True)  # standard: v1 production
V1 = "/api/v1/production"
DEVICE_DATA, INVERTERS, DEVICE_INVENTORY = (
    "/ivp/pdm/device_data",
    "/api/v1/production/inverters",
    "/inventory.json?deleted=1",
)
INVENTORY, SECCTRL, POWER = "/ivp/ensemble/inventory", "/ivp/ensemble/secctrl", "/ivp/ensemble/power"
PJ, TARIFF = "/production.json?details=1", "/admin/lib/tariff"
DRY, DRY_SETTINGS = "/ivp/ensemble/dry_contacts", "/ivp/ss/dry_contact_settings"
GEN_CONFIG, GENERATOR, GEN_MODE = "/ivp/ss/gen_config", "/ivp/ensemble/generator", "/ivp/ss/gen_mode"
PRODUCTION = {"wattHoursToday": 1000, "wattHoursSevenDays": 7000, "wattHoursLifetime": 900000, "wattsNow": 400}


def body(name):
    return decode_json(name, (BODIES / name).read_bytes())


def state(docs: dict):
    parsed = {V1: ENDPOINTS[V1](PRODUCTION)} | {ep: ENDPOINTS[ep](doc) for ep, doc in docs.items()}
    return build_state(INFO, parsed, 1_760_000_100.0)


def devices(docs: dict) -> dict:
    return state(docs).device_payloads()


def selected(docs: dict) -> set:
    return select_endpoints(INFO, {V1: ENDPOINTS[V1](PRODUCTION)} | {ep: ENDPOINTS[ep](d) for ep, d in docs.items()})


# -- IQ Batteries ------------------------------------------------------------------------------


def battery_docs():
    return {
        INVENTORY: body("inventory_enpower_open.json"),
        POWER: body("ensemble_power_two_batteries.json"),
        SECCTRL: body("secctrl_acb_and_iq.json"),
    }


def test_iq_battery_power_from_milliwatts_positive_discharging():
    found = devices(battery_docs())
    assert found["battery/122035000001"] == {
        "serial": "122035000001",
        "soc_pct": 81,
        "power_w": 1250,
        "apparent_power_va": 1300,
        "admin_state": "ENCHG_STATE_READY",
    }  # 1250500 mW rounds half to even
    assert found["battery/122035000002"] == {
        "serial": "122035000002",
        "soc_pct": 79,
        "power_w": -500,
        "apparent_power_va": -510,
    }  # in /ivp/ensemble/power only


def test_ensemble_power_devices_key_with_colon_and_without():
    doc = body("ensemble_power_two_batteries.json")
    assert len(ENDPOINTS[POWER](doc).devices) == 2
    assert len(ENDPOINTS[POWER]({"devices": doc["devices:"]}).devices) == 2
    with pytest.raises(EnvoyDataError, match="devices"):
        ENDPOINTS[POWER]({})


def test_inventory_soc_used_only_without_a_live_reading():
    docs = {INVENTORY: body("inventory_enpower_open.json")}
    assert devices(docs)["battery/122035000001"]["soc_pct"] == 80  # percentFull: no /ivp/ensemble/power


def test_battery_aggregate_from_secctrl_with_summed_power():
    assert state(battery_docs()).as_payload()["battery"] == {
        "soc_pct": 50,
        "available_energy_wh": 2500,
        "capacity_wh": 5000,
        "reserve_soc_pct": 32,
        "configured_reserve_soc_pct": 30,
        "reserve_energy_wh": 1000,
        "health_pct": 100,
        "power_w": 750,
    }


def test_battery_aggregate_power_only_when_every_battery_reports_one():
    docs = battery_docs()
    del docs[POWER]["devices:"][1]["real_power_mw"]
    assert "power_w" not in state(docs).as_payload()["battery"]  # half the batteries is not their power


def test_battery_aggregate_absent_without_iq_batteries_even_if_secctrl_answers():
    result = state({INVENTORY: [], SECCTRL: body("secctrl_acb_and_iq.json")}).as_payload()
    assert "battery" not in result and "battery_combined" not in result


# -- AC Batteries ------------------------------------------------------------------------------


def test_acb_aggregate_from_production_storage_when_active_with_percent_full():
    result = state({PJ: body("production_acb_storage.json"), SECCTRL: body("secctrl_acb_and_iq.json")}).as_payload()
    assert result["acb"] == {
        "power_w": -150,
        "soc_pct": 40,
        "available_energy_wh": 660,
        "state": "charging",
        "count": 2,
    }
    assert result["battery_combined"] == {"soc_pct": 45, "available_energy_wh": 3160, "capacity_wh": 6700}


@pytest.mark.parametrize("change", [{"activeCount": 0}, {"percentFull": None}])
def test_acb_storage_entry_without_batteries_is_not_an_acb(change):
    doc = body("production_acb_storage.json")
    doc["storage"][0].update(change)
    result = state({PJ: doc, SECCTRL: body("secctrl_acb_and_iq.json")}).as_payload()
    assert "acb" not in result and "battery_combined" not in result


def test_acb_storage_keeps_production_json_polled_on_a_standard_gateway():
    assert PJ in selected({PJ: body("production_acb_storage.json")})


def test_acb_devices_from_inventory_json_with_sleep_state():
    docs = {DEVICE_INVENTORY: body("inventory_acb.json"), DEVICE_DATA: body("device_data_inverters.json")}
    found = devices(docs)
    assert found["acb/121900000001"] == {
        "serial": "121900000001",
        "soc_pct": 55,
        "power_w": 120,
        "max_power_w": 270,
        "last_report": 1760000020,
        "charge_status": "discharging",
        "sleep_state": "awake",
        "sleep_enabled": False,
        "sleep_min_soc_pct": 25,
        "sleep_max_soc_pct": 30,
        "temperature_c": 31,
        "communicating": True,
        "operating": True,
        "producing": True,
        "firmware": "520-00092-r01-v02.13.02",
        "part_number": "800-00930-r03",
    }
    assert found["acb/121900000002"]["sleep_state"] == "asleep"
    damaged = body("device_data_inverters.json")
    del damaged["721420544"]["channels"][0]["lastReading"]["endDate"]
    docs[DEVICE_DATA] = damaged  # its report has no time now: not the inventory's, another source
    assert "last_report" not in devices(docs)["acb/121900000001"]
    assert found["acb/121900000002"]["last_report"] == 1760000021  # no power report: the inventory's time
    assert "acb/121900000003" not in found  # decommissioned


# -- Enpower, relays, generator ----------------------------------------------------------------


def test_enpower_temperature_fahrenheit_converted_to_celsius():
    enpower = devices({INVENTORY: body("inventory_enpower_open.json")})["enpower/122029000001"]
    assert enpower["temperature_c"] == 31.1  # 88 °F
    assert (enpower["grid_status"], enpower["mains_oper_state"], enpower["grid_mode"]) == (
        "off_grid",
        "open",
        "multimode-ongrid",
    )  # the relay, not Enpwr_grid_mode, says off grid


def test_dry_contacts_joined_by_id_only_with_an_enpower():
    docs = {
        INVENTORY: body("inventory_enpower_open.json"),
        DRY: body("dry_contacts_status.json"),
        DRY_SETTINGS: body("dry_contacts_settings.json"),
    }
    found = devices(docs)
    assert found["relay/NC1"] == {
        "id": "NC1",
        "status": "open",
        "name": "Pool pump",
        "type": "LOAD",
        "mode": "soc",
        "grid_action": "apply",
        "micro_grid_action": "shed",
        "generator_action": "shed",
        "override": True,
        "manual_override": False,
        "soc_low_pct": 25,
        "soc_high_pct": 60,
        "priority": 1,
        "essential_start_s": 32400,
        "essential_end_s": 57600,
    }
    assert "name" not in found["relay/NO1"]  # load_name "" is no name
    assert {DRY, DRY_SETTINGS} <= selected(docs)
    no_enpower = {INVENTORY: body("inventory_collar_off_grid.json")} | {
        DRY: docs[DRY],
        DRY_SETTINGS: docs[DRY_SETTINGS],
    }
    assert not any(t.startswith("relay/") for t in devices(no_enpower))
    assert not {DRY, DRY_SETTINGS} & selected(no_enpower)


def generator_docs():
    return {
        INVENTORY: body("inventory_enpower_open.json"),
        GEN_CONFIG: body("gen_config_standby.json"),
        GENERATOR: body("generator_running.json"),
        GEN_MODE: body("gen_mode_auto.json"),
    }


def test_generator_running_when_its_relay_reads_close():
    assert devices(generator_docs())["generator"] == {
        "present": True,
        "running": True,
        "relay_state": "close",
        "mode": "auto",
        "admin_mode": 2,
        "start_soc_pct": 30,
        "exercising": False,
        "schedule_enabled": True,
        "rating_kw": 10,
        "max_current_a": 40,
        "type": "Standby",
        "manufacturer": "Acme",
        "model": "Model 10 kW",
        "start_method": "Auto",
        "charge_from_generator": True,
    }  # stop_soc -1 means not set: left out
    assert {GEN_CONFIG, GENERATOR, GEN_MODE} <= selected(generator_docs())


def test_generator_present_1_with_empty_gen_config_is_no_generator():
    docs = generator_docs() | {GEN_CONFIG: {}}
    assert "generator" not in devices(docs) and not {GEN_CONFIG, GENERATOR, GEN_MODE} & selected(docs)


def test_gen_config_with_only_unknown_fields_is_no_generator():
    docs = generator_docs() | {GEN_CONFIG: {"futureField": 1}}
    assert "generator" not in devices(docs)


def test_generator_without_enpower_is_ignored():
    docs = generator_docs() | {INVENTORY: body("inventory_collar_off_grid.json")}
    assert "generator" not in devices(docs)


def test_gen_config_err_document_of_firmware_5_is_absent():
    with pytest.raises(EnvoyErrorDocument):
        ENDPOINTS[GEN_CONFIG]({"err": "404 - Not Found"})


# -- storage settings --------------------------------------------------------------------------


def test_tariff_legacy_savings_mode_is_economy():
    docs = battery_docs() | {TARIFF: body("tariff_savings_mode.json")}
    assert state(docs).as_payload()["storage_settings"] == {
        "mode": "economy",
        "reserve_soc_pct": 12.5,
        "very_low_soc_pct": 5,
        "charge_from_grid": True,
        "opt_schedules": False,
        "changed": 1760000000,
    }
    assert TARIFF in selected(docs)


def test_tariff_without_storage_settings_or_without_batteries_publishes_no_settings():
    no_settings = body("tariff_savings_mode.json")
    del no_settings["tariff"]["storage_settings"]
    assert "storage_settings" not in state(battery_docs() | {TARIFF: no_settings}).as_payload()
    without_batteries = {INVENTORY: [], TARIFF: body("tariff_savings_mode.json")}
    assert "storage_settings" not in state(without_batteries).as_payload()
    assert TARIFF not in selected(without_batteries)


# -- collar and combiner -----------------------------------------------------------------------


def test_collar_grid_status_from_admin_state_not_grid_state():
    found = devices({INVENTORY: body("inventory_collar_off_grid.json")})
    assert found["collar/482520000001"] == {
        "serial": "482520000001",
        "grid_status": "off_grid",
        "admin_state": "ENCMN_MDE_OFF_GRID",
        "grid_state": "on_grid",
        "mid_state": "open",
        "collar_state": "Installed",
        "temperature_c": 42,
        "communicating": True,
    }
    assert found["c6_combiner/482520000002"] == {"serial": "482520000002", "communicating": True}


# -- ids and contract --------------------------------------------------------------------------


def test_serial_that_cannot_be_a_topic_level_is_left_out():
    docs = {INVERTERS: [{"serialNumber": "48230/0001", "lastReportWatts": 1}, {"serialNumber": "482+", "devType": 1}]}
    assert devices(docs) == {}


def test_device_documents_are_plain_json():
    docs = (
        battery_docs()
        | generator_docs()
        | {DEVICE_DATA: body("device_data_inverters.json"), DEVICE_INVENTORY: body("inventory_acb.json")}
    )
    for document in devices(docs).values():
        assert json.loads(json.dumps(document, allow_nan=False)) == document
        assert None not in document.values() and document


@pytest.mark.parametrize(
    "endpoint, doc, where",
    [
        (DEVICE_DATA, {"1": {"devName": "pcu", "sn": "1", "active": "yes"}}, "active"),
        (DEVICE_DATA, {"1": {"devName": "pcu", "sn": "1", "channels": [{"watts": []}]}}, "watts"),
        (DEVICE_DATA, {"deviceCount": 1, "1": {"sn": "1", "channels": "x"}}, "channels"),
        (INVERTERS, [{"serialNumber": "1", "lastReportDate": "soon"}], "lastReportDate"),
        (DEVICE_INVENTORY, [{"type": "ACB", "devices": [{"serial_num": "1", "sleep_enabled": "no"}]}], "sleep_enabled"),
        (INVENTORY, [{"type": "ENCHARGE", "devices": [{"serial_num": "1", "comm_level_sub_ghz": -1}]}], "comm_level"),
        (TARIFF, {"tariff": {"storage_settings": {"reserved_soc": "20"}}}, "reserved_soc"),
        (TARIFF, {"schedule": {}}, "tariff"),
        (DRY_SETTINGS, {"dry_contacts": [{"id": "NC1", "override": "maybe"}]}, "override"),
        (DRY, {}, "dry_contacts"),
        (GENERATOR, {"present": 2}, "present"),
        (SECCTRL, {"shutdown": False}, "aggregates"),
    ],
    ids=lambda v: v if isinstance(v, str) and not v.startswith("/") else None,
)
def test_bad_device_bodies_are_data_errors(endpoint, doc, where):
    with pytest.raises(EnvoyDataError, match=where):
        ENDPOINTS[endpoint](doc)


MINIMAL = {
    DEVICE_DATA: {"deviceCount": 0, "deviceDataLimit": 50},
    INVERTERS: [],
    DEVICE_INVENTORY: [],
    SECCTRL: {"agg_soc": 1},
    POWER: {"devices:": []},
    TARIFF: {"tariff": {}},
    DRY: {"dry_contacts": []},
    DRY_SETTINGS: {"dry_contacts": []},
    GEN_CONFIG: {},
    GENERATOR: {},
    GEN_MODE: {},
}


@pytest.mark.parametrize("endpoint", sorted(MINIMAL))
def test_device_endpoint_results_are_frozen_and_error_documents_are_absent(endpoint):
    result = ENDPOINTS[endpoint](MINIMAL[endpoint])
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(result, dataclasses.fields(result)[0].name, None)
    for key in ("error", "err"):
        with pytest.raises(EnvoyErrorDocument):
            ENDPOINTS[endpoint]({key: "404 - Not Found"})
