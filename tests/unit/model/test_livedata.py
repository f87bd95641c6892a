"""`/ivp/livedata/status`: every shape the reference documents, and bad fields left out one by one."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from bridge.errors import EnvoyDataError, EnvoyErrorDocument
from bridge.model import ENDPOINTS, LIVE_PATH, decode_json, parse_stream_reply
from bridge.model.parse.livedata import LiveData, LiveMeter

BODIES = Path(__file__).resolve().parents[2] / "fixtures" / "bodies"


def doc(name: str) -> dict:
    return json.loads((BODIES / name).read_text())


def parse(document: object) -> LiveData:
    return ENDPOINTS[LIVE_PATH](decode_json(LIVE_PATH, json.dumps(document)))


def test_the_8x_shape_gives_watts_per_phase_levels_and_relay_states():
    live = parse(doc("livedata_split_battery.json"))
    assert live.sc_stream == "enabled" and live.last_update == 1764759999
    assert live.pv == LiveMeter(3000.0, (1500.0, 1500.0, 0.0))
    assert live.storage == LiveMeter(-1000.0, (-500.0, -500.0, 0.0))  # charging, as the gateway signs it
    assert live.grid == LiveMeter(500.0, (300.0, 200.0, 0.0))
    assert live.load == LiveMeter(2500.0, (1300.0, 1200.0, 0.0))
    assert live.generator == LiveMeter(0.0, (0.0, 0.0, 0.0))
    assert (live.soc_pct, live.backup_soc_pct, live.encharge_soc_pct, live.encharge_energy_wh) == (40, 20, 40, 4000)
    assert (live.acb_soc_pct, live.acb_energy_wh) == (0, 0)
    assert (live.main_relay_state, live.gen_relay_state, live.phase_count, live.split_phase) == (1, 5, 2, True)
    assert live.dropped == ()


def test_the_early_7x_shape_has_no_phases_nor_phase_count():
    live = parse(doc("livedata_early_7x.json"))
    assert live.pv == LiveMeter(-13.0, ()) and live.storage == LiveMeter(800.0, ())
    assert live.phase_count is None and live.split_phase is None and live.dropped == ()


def test_the_zeros_shape_of_a_gateway_without_cts_never_sampled_and_its_stream_off():
    live = parse(doc("livedata_zeros_disabled.json"))
    assert live.last_update is None  # 0: never sampled
    assert live.sc_stream == "disabled" and live.main_relay_state == 13
    assert live.pv == LiveMeter(0.0, (0.0, 0.0, 0.0)) and live.dropped == ()


@pytest.mark.parametrize(
    "where, value, field",
    [
        (("meters", "soc"), 40.5, "soc_pct"),
        (("meters", "soc"), 101, "soc_pct"),
        (("meters", "enc_agg_soc"), "40", "encharge_soc_pct"),
        (("meters", "acb_agg_energy"), -1, "acb_energy_wh"),
        (("meters", "main_relay_state"), True, "main_relay_state"),
        (("meters", "last_update"), 1.7e9, "last_update"),
        (("meters", "phase_count"), 4, "phase_count"),
        (("meters", "is_split_phase"), 2, "split_phase"),
        (("connection", "sc_stream"), 1, "sc_stream"),
        (("connection", "sc_stream"), "x" * 200, "sc_stream"),
    ],
)
def test_a_bad_field_is_left_out_and_named_while_the_rest_flows(where, value, field):
    body = doc("livedata_split_battery.json")
    body[where[0]][where[1]] = value
    live = parse(body)
    assert getattr(live, field) is None
    assert len(live.dropped) == 1 and f"{LIVE_PATH}: {'.'.join(where)}" in live.dropped[0]
    assert live.pv == LiveMeter(3000.0, (1500.0, 1500.0, 0.0))  # the rest as it was


def test_a_bad_power_drops_that_power_only_never_a_wrong_number():
    body = doc("livedata_split_battery.json")
    body["meters"]["grid"]["agg_p_mw"] = 2**40  # beyond the gateway's 32-bit integers
    body["meters"]["grid"]["agg_p_ph_b_mw"] = 200000.5
    body["meters"]["storage"] = "n/a"
    live = parse(body)
    assert live.grid == LiveMeter(None, (300.0, None, 0.0))
    assert live.storage is None and live.load is not None
    assert [d.split(": ")[1] for d in live.dropped] == [
        "meters.storage",
        "meters.grid.agg_p_mw",
        "meters.grid.agg_p_ph_b_mw",
    ]


def test_missing_and_null_fields_are_unknown_without_a_word():
    body = doc("livedata_split_battery.json")
    del body["meters"]["soc"], body["meters"]["generator"], body["connection"]
    body["meters"]["acb_agg_soc"] = None
    live = parse(body)
    assert live.soc_pct is None and live.generator is None and live.sc_stream is None and live.acb_soc_pct is None
    assert live.dropped == ()


def test_the_parser_keeps_nothing_of_the_body_it_does_not_name():
    body = doc("livedata_split_battery.json")
    before = copy.deepcopy(body)
    parse(body)
    assert body == before


@pytest.mark.parametrize("body", [{"connection": {}}, {"meters": []}, [], {"error": "404 - Not Found"}])
def test_without_a_meters_object_nothing_is_usable(body):
    with pytest.raises(EnvoyDataError) as err:
        parse(body)
    assert isinstance(err.value, EnvoyErrorDocument) == ("error" in body)


def test_the_stream_reply_says_its_state():
    assert parse_stream_reply("/ivp/livedata/stream", {"sc_stream": "enabled"}) == "enabled"
    with pytest.raises(EnvoyDataError):
        parse_stream_reply("/ivp/livedata/stream", {"sc_stream": 1})
