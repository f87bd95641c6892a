"""The living gateway's /ivp/livedata/status body and stream requests, without sockets."""

from __future__ import annotations

import pytest

from bridge.simulator.livedata import INFO_DISABLED, meter_result, stream_request
from tests.unit.simulator.helpers import SCENARIOS, body, living

SERVING = tuple(name for name in SCENARIOS if name != "standard")
METERS = ("pv", "storage", "grid", "load", "generator")
RESULT_KEYS = {"agg_p_mw", "agg_s_mva"} | {
    f"agg_{q}_ph_{p}_{unit}" for q, unit in (("p", "mw"), ("s", "mva")) for p in "abc"
}
SCALARS = (
    *("last_update", "soc", "main_relay_state", "gen_relay_state", "backup_bat_mode", "backup_soc"),
    *("is_split_phase", "phase_count", "enc_agg_soc", "enc_agg_energy", "acb_agg_soc", "acb_agg_energy"),
)


def status(source):
    return body(source, "/ivp/livedata/status")


def phase(result, p):
    return result[f"agg_p_ph_{p}_mw"]


def assert_balanced(meters):
    """load = pv + storage + grid + generator, in aggregate and on every phase, to the mW."""
    for key in ("agg_p_mw", *(f"agg_p_ph_{p}_mw" for p in "abc")):
        assert meters["load"][key] == sum(meters[m][key] for m in METERS if m != "load"), key
    for m in METERS:
        assert meters[m]["agg_p_mw"] == sum(phase(meters[m], p) for p in "abc")


@pytest.mark.parametrize("name", SERVING)
def test_the_shape_and_its_types(name):
    source, _ = living(name)
    doc = status(source)
    assert list(doc) == ["info", "connection", "meters", "tasks", "counters"]  # the stream starts off
    assert doc["info"] == INFO_DISABLED and doc["connection"]["sc_stream"] == "disabled"
    assert all(isinstance(v, str) for v in doc["connection"].values())
    meters = doc["meters"]
    assert set(meters) == set(SCALARS) | set(METERS)
    assert all(type(meters[k]) is int for k in SCALARS)
    for m in METERS:
        assert set(meters[m]) == RESULT_KEYS and all(type(v) is int for v in meters[m].values())
    assert meters["last_update"] == int(source.clock.now())
    assert meters["phase_count"] == source.scenario.phases
    assert meters["is_split_phase"] == (1 if name == "metered" else 0)
    assert meters["generator"] == dict.fromkeys(RESULT_KEYS, 0)  # no scenario has one
    unused = "abc"[source.scenario.phases :]
    assert all(phase(meters[m], p) == 0 for m in METERS for p in unused)
    assert all(type(v) is int for v in (*doc["tasks"].values(), *doc["counters"].values()))


@pytest.mark.parametrize("name", SERVING)
def test_load_is_pv_plus_storage_plus_grid_all_day_and_follows_the_physics(name):
    source, fake = living(name, start="00:00")
    for _ in range(40):
        fake.now += 37 * 60
        assert source.stream.switch(True)  # live values, not the frozen first sample
        meters = status(source)["meters"]
        source.stream.switch(False)
        assert_balanced(meters)
        power = source.snapshot().power
        n = source.scenario.phases
        assert meters["pv"]["agg_p_mw"] == pytest.approx(power.production * 1000, abs=n)
        assert meters["storage"]["agg_p_mw"] == pytest.approx(power.battery * 1000, abs=n)
        assert meters["grid"]["agg_p_mw"] == pytest.approx(power.net * 1000, abs=n)


@pytest.mark.parametrize(
    "name, morning, evening",
    [("three_phase_battery", "10:00", "21:00"), ("ac_battery", "10:00", "21:00")],
)
def test_signs_while_charging_and_discharging(name, morning, evening):
    source, _ = living(name, start=morning)
    sunny = status(source)["meters"]
    assert sunny["pv"]["agg_p_mw"] > 0 and sunny["storage"]["agg_p_mw"] < 0  # charging: negative
    assert sunny["grid"]["agg_p_mw"] <= 0 < sunny["load"]["agg_p_mw"]  # the surplus goes out, if any
    source, _ = living(name, start=evening)
    dark = status(source)["meters"]
    assert dark["pv"]["agg_p_mw"] == 0 and dark["storage"]["agg_p_mw"] > 0  # discharging: positive
    assert dark["load"]["agg_p_mw"] == dark["storage"]["agg_p_mw"] + dark["grid"]["agg_p_mw"]
    assert dark["storage"]["agg_s_mva"] > 0 > sunny["storage"]["agg_s_mva"]  # apparent power keeps the sign


def test_grid_sign_import_positive_export_negative():
    night, _ = living("metered", start="03:00")
    noon, _ = living("metered", start="12:00")
    assert status(night)["meters"]["grid"]["agg_p_mw"] > 0
    assert status(noon)["meters"]["grid"]["agg_p_mw"] < 0


def test_state_of_charge_apart_for_iq_batteries_and_ac_batteries():
    encharge, _ = living("three_phase_battery", start="21:00")
    acb, _ = living("ac_battery", start="21:00")
    enc_meters, acb_meters = status(encharge)["meters"], status(acb)["meters"]
    for source, meters, own, other in ((encharge, enc_meters, "enc", "acb"), (acb, acb_meters, "acb", "enc")):
        snap = source.snapshot()
        assert meters["soc"] == meters[f"{own}_agg_soc"] == round(snap.soc) > 0
        assert meters[f"{own}_agg_energy"] == round(snap.energy_wh) > 0
        assert meters[f"{other}_agg_soc"] == meters[f"{other}_agg_energy"] == 0
        assert meters["backup_bat_mode"] == 1
    assert enc_meters["backup_soc"] == 20 and acb_meters["backup_soc"] == 0  # the scenarios' reserves
    assert body(acb, "/ivp/ensemble/secctrl")["ACB_agg_soc"] == acb_meters["acb_agg_soc"]
    assert body(encharge, "/ivp/ensemble/secctrl")["ENC_agg_soc"] == enc_meters["enc_agg_soc"]
    plain, _ = living("metered")
    assert all(status(plain)["meters"][k] == 0 for k in ("soc", "enc_agg_soc", "acb_agg_energy", "backup_soc"))


def test_main_relay_follows_the_system_controller():
    source, fake = living("three_phase_battery", start="19:00")
    meters = status(source)["meters"]
    assert (meters["main_relay_state"], meters["gen_relay_state"]) == (1, 5)
    source.world.set_grid(False)
    fake.now += 60
    source.stream.switch(True)
    islanded = status(source)["meters"]
    assert islanded["main_relay_state"] == 0 and islanded["grid"] == dict.fromkeys(RESULT_KEYS, 0)
    assert_balanced(islanded)  # the batteries carry the house: load = pv + storage
    for name in ("metered", "ac_battery"):  # no System Controller
        other, _ = living(name)
        assert (status(other)["meters"]["main_relay_state"], status(other)["meters"]["gen_relay_state"]) == (13, 0)


def test_a_single_phase_gateway_has_phase_a_only():
    source, _ = living("ac_battery")
    meters = status(source)["meters"]
    assert (meters["phase_count"], meters["is_split_phase"]) == (1, 0)
    assert all(meters[m]["agg_p_mw"] == phase(meters[m], "a") for m in METERS)


def test_not_served_by_a_pv_only_gateway_nor_before_firmware_7():
    standard, _ = living("standard")
    assert standard.answer("/ivp/livedata/status", "")[0] == 404
    assert standard.write("POST", "/ivp/livedata/stream", b'{"enable":1}')[0] == 404
    old, _ = living("metered")
    old.firmware = "5.0.62"
    assert old.answer("/ivp/livedata/status", "")[0] == 404
    assert old.write("POST", "/ivp/livedata/stream", b'{"enable":1}')[0] == 404
    old.firmware = "7.3.130"  # a firmware update brings it
    assert old.answer("/ivp/livedata/status", "")[0] == 200


def test_stream_requests_and_other_writes():
    source, _ = living("metered")
    assert source.write("POST", "/ivp/livedata/stream", b'{"enable": 1}') == (
        200,
        "application/json",
        b'{"sc_stream": "enabled"}',
    )
    refused = source.write("POST", "/ivp/livedata/stream", b'{"enable": 1}')
    assert refused[0] == 400 and b"already enabled" in refused[2]
    assert source.write("POST", "/ivp/livedata/stream", b'{"enable":0}')[2] == b'{"sc_stream": "disabled"}'
    assert source.write("POST", "/ivp/livedata/stream", b"{")[0] == 400
    assert source.write("POST", "/ivp/livedata/status", b'{"enable":1}')[0] == 405
    assert source.write("POST", "/api/v1/production", b"")[0] == 405
    assert status(source)["counters"]["sc_SendStreamCtrl"] == 3  # well-formed ones, the refused enable too


@pytest.mark.parametrize(
    "raw, enable",
    [
        (b'{"enable":1}', 1),
        (b'{"enable": 0, "extra": "ignored"}', 0),
        (b"", None),
        (b"enable=1", None),
        (b"[1]", None),
        (b"{}", None),
        (b'{"enable": 2}', None),
        (b'{"enable": "1"}', None),
        (b'{"enable": true}', None),
        (b'{"enable": 1.0}', None),
        (b"\xff\xfe", None),
        (b"[" * 100_000, None),
    ],
)
def test_what_a_stream_request_may_say(raw, enable):
    assert stream_request(raw) == enable


def test_meter_result_pads_phases_and_signs_apparent_power():
    result = meter_result((1000, -500), 0.5)
    assert (result["agg_p_mw"], result["agg_s_mva"]) == (500, 1000)
    assert (result["agg_p_ph_c_mw"], result["agg_s_ph_b_mva"], result["agg_s_ph_c_mva"]) == (0, -1000, 0)
