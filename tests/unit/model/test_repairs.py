"""One test per firmware quirk the model repairs, on small bodies the project wrote itself."""

import copy
import json
from pathlib import Path

import pytest

from bridge.errors import EnvoyDataError, EnvoyPoorDataQuality
from bridge.model import ENDPOINTS, GatewayInfo, build_state, decode_json

BODIES = Path(__file__).resolve().parents[2] / "fixtures" / "bodies"
POLLED_AT = 1_760_000_100.0
PJ, V1 = "/production.json?details=1", "/api/v1/production"
METERS, READINGS = "/ivp/meters", "/ivp/meters/readings"


def body(name: str) -> object:
    return decode_json(name, (BODIES / name).read_bytes())


def info(firmware: str = "8.3.5433", metered: bool = True) -> GatewayInfo:
    return GatewayInfo("123456789012", firmware, "800-00654-r08", metered, True)


def state(docs: dict, firmware: str = "8.3.5433", metered: bool = True):
    parsed = {endpoint: ENDPOINTS[endpoint](doc) for endpoint, doc in docs.items()}
    return build_state(info(firmware, metered), parsed, POLLED_AT)


def payload(docs: dict, firmware: str = "8.3.5433", metered: bool = True) -> dict:
    return state(docs, firmware, metered).as_payload()


def split_ct_docs() -> dict:
    return {METERS: body("meters_split.json"), READINGS: body("readings_split_storage_zero_channel.json")}


def v1(today, seven_days, lifetime, now) -> dict:
    return {"wattHoursToday": today, "wattHoursSevenDays": seven_days, "wattHoursLifetime": lifetime, "wattsNow": now}


# -- daily counters -------------------------------------------------------------------------


def test_daily_energy_above_4gwh_dropped():
    production = payload({PJ: body("production_daily_offset.json")})["production"]
    assert "energy_today_wh" not in production  # 4294979296 = 12000 + 2**32
    assert production["energy_last_7_days_wh"] == 80000
    assert production["phases"]["l1"] == {
        "power_w": 1250,
        "energy_last_7_days_wh": 40000,
        "energy_lifetime_wh": 2500000,
    }
    assert production["phases"]["l2"]["energy_today_wh"] == 6000


@pytest.mark.parametrize("today, published", [(4_000_000_000, True), (4_000_000_001, False), (2**32 + 100, False)])
def test_daily_energy_above_4gwh_dropped_from_api_v1_too(today, published):
    production = payload({V1: v1(today, 5_000, 9_000_000, 300)}, "7.6.175", metered=False)["production"]
    assert ("energy_today_wh" in production) is published
    assert production["energy_lifetime_wh"] == 9_000_000


# -- firmware >= 8.3.5433: total consumption is a copy of net -------------------------------


def test_total_consumption_equal_to_net_repaired_on_8_3_5433():
    result = payload({PJ: body("production_split_total_is_net.json"), **split_ct_docs()}, "8.3.5433")
    # total = net + production: -1000 + 2500 W, 3000000 + 5000001 Wh; today and 7 days untouched
    assert result["consumption"] == {
        "power_w": 1500,
        "energy_today_wh": 9000,
        "energy_last_7_days_wh": 70000,
        "energy_lifetime_wh": 8000001,
        "phases": {
            "l1": {
                "power_w": 850,
                "energy_today_wh": 4000,
                "energy_last_7_days_wh": 30000,
                "energy_lifetime_wh": 3500000,
            },
            "l2": {
                "power_w": 650,
                "energy_today_wh": 5000,
                "energy_last_7_days_wh": 40000,
                "energy_lifetime_wh": 4500000,
            },
        },
    }
    assert result["net_consumption"]["power_w"] == -1000  # net itself is not touched


def test_total_consumption_equal_to_net_left_alone_before_8_3_5433():
    consumption = payload({PJ: body("production_split_total_is_net.json")}, "8.3.5432")["consumption"]
    assert (consumption["power_w"], consumption["energy_lifetime_wh"]) == (-1000, 3000000)


def test_total_consumption_equal_to_net_without_production_is_withheld():
    doc = body("production_split_total_is_net.json")
    doc["production"] = [entry for entry in doc["production"] if entry["type"] == "inverters"]
    result = payload({PJ: doc}, "8.3.5433")
    assert "consumption" not in result  # inverter numbers are not a sound base for the repair
    assert result["production"] == {"power_w": 2400, "energy_lifetime_wh": 4900000}


# -- pyenphase 4.2.0: eim production activeCount 0 with a production CT ------------------------


def test_eim_production_inactive_with_production_ct_gives_no_production_and_no_consumption():
    result = payload({PJ: body("production_eim_inactive.json"), **split_ct_docs()}, "8.3.5528")
    assert "production" not in result and "consumption" not in result
    assert result["net_consumption"] == {"power_w": -1000, "energy_lifetime_wh": 3000000}
    assert result["meters"]["production"]["power_w"] == 2500  # the CT itself still reads


def test_eim_production_inactive_without_production_ct_falls_back_to_inverters():
    result = payload({PJ: body("production_eim_inactive.json")}, "8.3.5528")
    assert result["production"] == {"power_w": 2400, "energy_lifetime_wh": 4900000}
    assert result["consumption"]["power_w"] == 1500


# -- firmware 3.x all zeros right after boot ---------------------------------------------------


def test_firmware_3_all_zero_after_boot_rejected_as_poor_quality():
    with pytest.raises(EnvoyPoorDataQuality, match=r"3\.9\.36"):
        state({V1: v1(0, 0, 0, 0)}, "3.9.36", metered=False)
    assert issubclass(EnvoyPoorDataQuality, EnvoyDataError)


def test_firmware_3_with_real_numbers_and_newer_firmware_zeros_are_not_poor_quality():
    assert payload({V1: v1(0, 0, 14578520, 0)}, "3.9.36", metered=False)["production"]["energy_lifetime_wh"] == 14578520
    with pytest.raises(EnvoyDataError) as caught:  # all zero on 7.x: skipped source, nothing left
        state({V1: v1(0, 0, 0, 0)}, "7.6.175", metered=False)
    assert not isinstance(caught.value, EnvoyPoorDataQuality)


# -- phases --------------------------------------------------------------------------------------


def test_unused_phase_lines_all_zero_are_not_phases():
    # No /ivp/meters: the phase count comes from the lines that carry any data (2 of 3).
    result = payload({PJ: body("production_split_total_is_net.json")}, "8.3.5432")
    for flow in ("production", "consumption", "net_consumption"):
        assert sorted(result[flow]["phases"]) == ["l1", "l2"]


def test_single_active_phase_line_publishes_no_phases():
    doc = body("production_split_total_is_net.json")
    for entry in doc["production"] + doc["consumption"]:
        for line in entry.get("lines", [])[1:]:
            line.update(dict.fromkeys(line, 0.0))
    result = payload({PJ: doc}, "8.3.5432")
    assert all("phases" not in result[flow] for flow in ("production", "consumption", "net_consumption"))


def test_meters_phase_count_limits_the_published_lines():
    doc = body("production_split_total_is_net.json")
    doc["production"][1]["lines"][2] = dict(doc["production"][1]["lines"][0])  # data on an unconfigured phase
    result = payload({PJ: doc, **split_ct_docs()}, "8.3.5432")
    assert sorted(result["production"]["phases"]) == ["l1", "l2"]  # /ivp/meters says split: 2 phases


def test_split_phase_meter_voltage_is_the_gateways_line_to_line_aggregate():
    meters = payload(split_ct_docs())["meters"]
    # the gateway's aggregate 240.2 (120.2 + 120.0: line to line) is what every integration shows
    assert meters["production"]["voltage_v"] == 240.2
    assert meters["production"]["phases"]["l1"]["voltage_v"] == 120.2
    assert meters["production"]["phases"]["l2"]["voltage_v"] == 120.0
    assert meters["net_consumption"]["voltage_v"] == 241.0


def test_single_phase_site_with_a_three_phase_meter_keeps_the_gateways_voltage():
    """Issue 13: two unwired phases read 6 V and 11 V of noise; a mean of the phases said 84 V."""
    docs = split_ct_docs()
    production = next(m for m in docs[METERS] if m["measurementType"] == "production")
    production["phaseCount"], production["phaseMode"] = 3, "three"
    reading = next(r for r in docs[READINGS] if r["eid"] == production["eid"])
    reading["voltage"] = 235.236
    reading["channels"] = [dict(reading["channels"][0], voltage=volts) for volts in (235.236, 6.124, 11.469)]
    meter = payload(docs)["meters"]["production"]
    assert meter["voltage_v"] == 235.236
    assert [meter["phases"][phase]["voltage_v"] for phase in ("l1", "l2", "l3")] == [235.236, 6.124, 11.469]


@pytest.mark.parametrize("change", ["no channels", "no phaseCount", "no phase count nor mode"])
def test_meter_voltage_is_the_aggregate_whatever_the_phases_say(change):
    docs = split_ct_docs()
    production = next(m for m in docs[METERS] if m["measurementType"] == "production")
    reading = next(r for r in docs[READINGS] if r["eid"] == production["eid"])
    if change == "no channels":
        reading["channels"] = []
    else:
        del production["phaseCount"]
    if change == "no phase count nor mode":
        del production["phaseMode"]
    meter = payload(docs)["meters"]["production"]
    assert meter["voltage_v"] == 240.2
    assert meter["power_w"] == 2500 and "phases" not in meter


def test_single_phase_meter_voltage_is_published_as_reported():
    docs = split_ct_docs()
    for meter in docs[METERS]:
        meter["phaseCount"], meter["phaseMode"] = 1, "single"
    meters = payload(docs)["meters"]
    assert meters["production"]["voltage_v"] == 240.2
    assert "phases" not in meters["production"]


def test_split_phase_storage_ct_with_one_zero_channel_drops_aggregate_and_that_phase():
    storage = payload(split_ct_docs())["meters"]["storage"]
    assert storage == {
        "metering_status": "check-wiring",
        "status_flag_count": 1,
        "status_flags": ["power-on-unused-phase"],
        "phases": {
            "l1": {
                "power_w": -1801,
                "voltage_v": 120.5,
                "current_a": 15.0,
                "frequency_hz": 60.0,
                "power_factor": -1.0,
                "energy_delivered_wh": 2000,
                "energy_received_wh": 3001,
            }
        },
    }


def test_split_phase_storage_ct_with_both_channels_keeps_aggregate():
    docs = split_ct_docs()
    storage_reading = next(r for r in docs[READINGS] if r["eid"] == 704643840)
    storage_reading["channels"][1] = dict(storage_reading["channels"][0])
    storage = payload(docs)["meters"]["storage"]
    assert storage["power_w"] == -1801 and sorted(storage["phases"]) == ["l1", "l2"]


def test_ct_status_flags_counted_and_listed():
    meters = payload(split_ct_docs())["meters"]
    assert meters["storage"]["status_flag_count"] == 1  # what Home Assistant shows
    assert meters["storage"]["status_flags"] == ["power-on-unused-phase"]
    assert meters["production"]["status_flag_count"] == 0 and "status_flags" not in meters["production"]
    docs = split_ct_docs()
    for meter in docs[METERS]:
        del meter["statusFlags"]  # older firmware: not reported, so no count either (not 0)
    assert "status_flag_count" not in payload(docs)["meters"]["production"]


def test_power_factor_outside_minus_one_to_one_dropped():
    docs = split_ct_docs()
    next(r for r in docs[READINGS] if r["eid"] == 704643328)["pwrFactor"] = 1.94  # as 8.3.1598 sends
    assert "power_factor" not in payload(docs)["meters"]["production"]


# -- CT matching ---------------------------------------------------------------------------------


def test_readings_list_bigger_than_meters_list_matched_by_eid():
    result = payload(split_ct_docs())
    # 5 readings in another order than 4 meters, one of them disabled, one unknown eid (all zero)
    assert sorted(result["meters"]) == ["net_consumption", "production", "storage"]
    assert result["meters"]["production"]["energy_delivered_wh"] == 5000001
    assert result["meters"]["net_consumption"]["power_w"] == -1000  # round half to even, like pyenphase
    assert result["time"] == 1760000016  # newest reading among the matched meters


def test_grid_import_export_from_net_consumption_ct():
    grid = payload(split_ct_docs())["grid"]
    assert grid == {
        "import_power_w": 0,
        "export_power_w": 1000,
        "energy_imported_wh": 6000000,
        "energy_exported_wh": 2000000,
    }
    docs = split_ct_docs()
    next(r for r in docs[READINGS] if r["eid"] == 704643584)["activePower"] = 733.4
    assert payload(docs)["grid"]["import_power_w"] == 733
    assert payload(docs)["grid"]["export_power_w"] == 0


def test_no_net_ct_means_no_grid_import_export():
    docs = split_ct_docs()
    docs[METERS] = [m for m in docs[METERS] if m["measurementType"] != "net-consumption"]
    result = payload({PJ: body("production_split_total_is_net.json"), **docs}, "8.3.5432")
    assert "grid" not in result  # never 0 for missing data
    assert result["net_consumption"]["power_w"] == -1000  # the report's net flow is still there


# -- production sources --------------------------------------------------------------------------


def test_api_v1_production_skipped_when_all_watt_hours_zero():
    docs = {PJ: body("production_eim_inactive.json"), V1: v1(0, 0, 0, 689)}
    assert state(docs, "7.3.466").production_source == "inverters"


@pytest.mark.parametrize(
    "firmware, metered, source",
    [("8.2.4264", True, "inverters"), ("8.2.4263", True, "api_v1"), ("8.2.4264", False, "api_v1")],
)
def test_api_v1_production_skipped_on_8_2_4264_metered_without_ct(firmware, metered, source):
    docs = {PJ: body("production_eim_inactive.json"), V1: v1(0, 1583, 1583, 4), METERS: body("meters_split.json")}
    for meter in docs[METERS]:
        meter["state"] = "disabled"
    assert state(docs, firmware, metered).production_source == source


def test_api_v1_all_zero_on_8_3_5422_standard_falls_back_to_inverters():
    # pyenphase 4.2.0: firmware 8.3.5422 on non-metered gateways answers all zeros here
    docs = {PJ: body("production_eim_inactive.json"), V1: v1(0, 0, 0, 0)}
    assert state(docs, "8.3.5422", metered=False).production_source == "inverters"


def test_lifetime_step_down_passed_through():
    doc = body("production_split_total_is_net.json")
    first = payload({PJ: doc}, "8.3.5432")["production"]["energy_lifetime_wh"]
    lowered = copy.deepcopy(doc)
    lowered["production"][1]["whLifetime"] -= 1_190_000  # the 1.19 MWh step-down
    second = payload({PJ: lowered}, "8.3.5432")["production"]["energy_lifetime_wh"]
    assert (first, second) == (5000001, 3810001)  # published as is; HA sees a meter reset


def test_payload_is_plain_json():
    result = payload({PJ: body("production_split_total_is_net.json"), **split_ct_docs()})
    assert json.loads(json.dumps(result, allow_nan=False)) == result
