"""The live document (builders/live.py), when the live data are worth polling (select.py), and the
grid status from the live data's main relay where the gateway has no relay endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.model import (
    ENDPOINTS,
    LIVE_PATH,
    GatewayInfo,
    batteries_or_controller,
    build_state,
    candidate_endpoints,
    decode_json,
    grid_status_of,
    live_document,
    select_endpoints,
)

BODIES = Path(__file__).resolve().parents[2] / "fixtures" / "bodies"
INFO = GatewayInfo("123456789012", "8.2.127", "800-00654-r08", True, True)
INVENTORY, RELAY, METERS = "/ivp/ensemble/inventory", "/ivp/ensemble/relay", "/ivp/meters"
GEN_CONFIG, PRODUCTION = "/ivp/ss/gen_config", "/production.json?details=1"
READ_AT = 1764760000.4


def parsed(endpoint: str, document: object) -> object:
    return ENDPOINTS[endpoint](decode_json(endpoint, json.dumps(document)))


def body(name: str) -> object:
    return json.loads((BODIES / name).read_text())


def inventory(*kinds: str) -> list[dict]:
    devices = {
        "ENCHARGE": {"serial_num": "4", "percentFull": 40},
        "ENPOWER": {"serial_num": "5", "mains_oper_state": "closed", "mains_admin_state": "closed"},
    }
    return [{"type": kind, "devices": [devices[kind]]} for kind in kinds]


def readings(live: str | dict = "livedata_split_battery.json", **others: object) -> dict[str, object]:
    found = {LIVE_PATH: parsed(LIVE_PATH, body(live) if isinstance(live, str) else live)}
    return found | {endpoint: parsed(endpoint, document) for endpoint, document in others.items()}


def document(live: str | dict = "livedata_split_battery.json", **others: object) -> dict:
    built = live_document(readings(live, **others), READ_AT)
    assert built is not None
    return built.as_payload()


def ensemble(*kinds: str) -> dict[str, object]:
    return {INVENTORY: inventory(*kinds)}


def test_the_document_of_a_split_phase_gateway_with_iq_batteries():
    assert document(**ensemble("ENCHARGE", "ENPOWER")) == {
        "time": 1764760000,
        "sampled_at": 1764759999,
        "pv_power_w": 3000.0,
        "grid_power_w": 500.0,
        "load_power_w": 2500.0,
        "storage_power_w": -1000.0,
        "soc_pct": 40,
        "encharge_soc_pct": 40,
        "encharge_energy_wh": 4000,
        "backup_reserve_pct": 20,
        "main_relay": "closed",
        "main_relay_state": 1,
        "gen_relay_state": 5,
        "stream": "enabled",
        "phases": {
            "l1": {"pv_power_w": 1500.0, "grid_power_w": 300.0, "load_power_w": 1300.0, "storage_power_w": -500.0},
            "l2": {"pv_power_w": 1500.0, "grid_power_w": 200.0, "load_power_w": 1200.0, "storage_power_w": -500.0},
        },
    }


def test_load_is_pv_plus_storage_plus_grid_in_the_bridges_signs():
    live = document(**ensemble("ENCHARGE"))
    assert live["load_power_w"] == live["pv_power_w"] + live["storage_power_w"] + live["grid_power_w"]
    for phase in live["phases"].values():
        assert phase["load_power_w"] == phase["pv_power_w"] + phase["storage_power_w"] + phase["grid_power_w"]


def test_without_batteries_no_storage_power_level_nor_reserve_the_gateway_reports_as_zero():
    live = document()
    assert not {"storage_power_w", "soc_pct", "encharge_soc_pct", "backup_reserve_pct"} & set(live)
    assert "storage_power_w" not in live["phases"]["l1"]
    assert live["pv_power_w"] == 3000.0 and live["main_relay"] == "closed"


def test_a_storage_ct_alone_shows_the_storage_power():
    live = document(**{METERS: body("meters_split.json")})
    assert live["storage_power_w"] == -1000.0 and "encharge_soc_pct" not in live


def test_ac_batteries_have_their_own_level_and_energy():
    live_body = body("livedata_split_battery.json")
    live_body["meters"] |= {"acb_agg_soc": 60, "acb_agg_energy": 720}
    live = document(live_body, **{PRODUCTION: body("production_acb_storage.json")})
    assert (live["acb_soc_pct"], live["acb_energy_wh"], live["soc_pct"]) == (60, 720, 40)
    assert "encharge_soc_pct" not in live


def test_the_generator_only_with_one_configured():
    assert "generator_power_w" not in document(**ensemble("ENPOWER"))
    live_body = body("livedata_split_battery.json")
    live_body["meters"]["generator"] |= {"agg_p_mw": 2000000, "agg_p_ph_a_mw": 1000000, "agg_p_ph_b_mw": 1000000}
    live = document(live_body, **ensemble("ENPOWER"), **{GEN_CONFIG: body("gen_config_standby.json")})
    assert live["generator_power_w"] == 2000.0 and live["phases"]["l1"]["generator_power_w"] == 1000.0


def test_the_early_7x_shape_has_no_phases_and_keeps_a_small_negative_pv_at_night():
    live = document("livedata_early_7x.json", **ensemble("ENCHARGE"))
    assert "phases" not in live
    assert (live["pv_power_w"], live["storage_power_w"], live["backup_reserve_pct"]) == (-13.0, 800.0, 10)


@pytest.mark.parametrize(
    "count, split, phases",
    [(2, 1, ["l1", "l2"]), (3, 0, ["l1", "l2", "l3"]), (0, 1, ["l1", "l2"]), (1, 0, None), (None, None, None)],
)
def test_phases_only_on_a_multi_phase_gateway(count, split, phases):
    live_body = body("livedata_split_battery.json")
    for key, value in (("phase_count", count), ("is_split_phase", split)):
        if value is None:
            del live_body["meters"][key]
        else:
            live_body["meters"][key] = value
    assert list(document(live_body).get("phases", {})) == (phases or [])


@pytest.mark.parametrize("state, relay", [(1, "closed"), (0, "open"), (13, None), (7, None)])
def test_the_main_relay_is_named_only_when_closed_or_open_and_always_given_raw(state, relay):
    live_body = body("livedata_split_battery.json")
    live_body["meters"]["main_relay_state"] = state
    live = document(live_body)
    assert live.get("main_relay") == relay and live["main_relay_state"] == state


def test_watts_have_one_decimal_and_never_a_negative_zero():
    live_body = body("livedata_split_battery.json")
    live_body["meters"]["pv"]["agg_p_mw"] = -40
    live_body["meters"]["grid"]["agg_p_mw"] = 129149
    live = document(live_body)
    assert json.dumps(live["pv_power_w"]) == "0.0" and live["grid_power_w"] == 129.1


def test_no_live_reading_no_document():
    assert live_document({}, READ_AT) is None


# --- when the live data are polled -----------------------------------------------------------


def probed_with(live_body: str = "livedata_split_battery.json", **others: object) -> dict[str, object]:
    return readings(live_body, **others)


def test_polled_on_token_firmware_with_cts_or_ensemble_devices():
    assert LIVE_PATH in select_endpoints(INFO, probed_with(**{METERS: body("meters_split.json")}))
    assert LIVE_PATH in select_endpoints(INFO, probed_with(**ensemble("ENCHARGE")))


def test_not_polled_where_it_can_only_answer_zeros():
    assert LIVE_PATH not in select_endpoints(INFO, probed_with("livedata_zeros_disabled.json"))
    assert LIVE_PATH not in select_endpoints(INFO, probed_with(**{INVENTORY: []}))


def test_never_probed_nor_polled_on_firmware_before_7():
    old = GatewayInfo("123456789012", "5.0.62", None, True, False)
    assert LIVE_PATH not in candidate_endpoints(old) and LIVE_PATH in candidate_endpoints(INFO)
    assert LIVE_PATH not in select_endpoints(old, probed_with(**ensemble("ENCHARGE")))


@pytest.mark.parametrize(
    "kinds, fast", [(("ENCHARGE",), True), (("ENPOWER",), True), (("ENCHARGE", "ENPOWER"), True), ((), False)]
)
def test_batteries_or_a_system_controller_ask_for_the_fast_live_poll(kinds, fast):
    assert batteries_or_controller(readings(**ensemble(*kinds))) is fast


# --- the grid status from the main relay -----------------------------------------------------


@pytest.mark.parametrize("state, status", [(1, "on_grid"), (0, "off_grid"), (13, None)])
def test_without_a_relay_endpoint_the_main_relay_gives_the_grid_status(state, status):
    live_body = body("livedata_split_battery.json")
    live_body["meters"]["main_relay_state"] = state
    found = readings(live_body)
    assert grid_status_of(found) == status
    production = {"wattHoursToday": 1, "wattHoursSevenDays": 7, "wattHoursLifetime": 9, "wattsNow": 4}
    found |= {"/api/v1/production": parsed("/api/v1/production", production)}
    assert build_state(INFO, found, READ_AT).grid_status == status


def test_the_enpower_relay_and_the_collar_come_first():
    live_body = body("livedata_split_battery.json")
    live_body["meters"]["main_relay_state"] = 0
    relay = {RELAY: {"mains_oper_state": "closed", "mains_admin_state": "closed"}}
    assert grid_status_of(readings(live_body, **ensemble("ENPOWER"), **relay)) == "on_grid"
    collar = {INVENTORY: body("inventory_collar_off_grid.json")}
    live_body["meters"]["main_relay_state"] = 1
    assert grid_status_of(readings(live_body, **collar)) == "off_grid"
