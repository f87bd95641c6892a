"""One gateway's commands end to end, below MQTT: checks, the write, the read-back, the revert
watch, on a real worker whose gateway takes writes (tests/unit/controls/gateway.py)."""

from __future__ import annotations

import json

import pytest

from bridge.config import ControlsConfig
from bridge.controls.commands import Command
from tests.unit.controls.gateway import ACB, ALL_ON, POWER, SERIAL, make_controls, run_jobs

BAD_VALUES = [
    ("storage/mode", "eco"),
    ("storage/mode", ""),
    ("storage/mode", 3),
    ("storage/reserve", "101"),
    ("storage/reserve", -1),
    ("storage/reserve", "20.5"),
    ("storage/reserve", "twenty"),
    ("storage/reserve", True),
    ("storage/reserve", float("nan")),
    ("storage/reserve", "1e2"),
    ("storage/charge_from_grid", "yes"),
    ("storage/charge_from_grid", 1),
    ("grid/connection", "closed"),
    ("relay/NC1", "on please"),
    ("relay/NC1/mode", "battery"),
    ("relay/NC1/grid_action", "drop"),
    ("relay/NC1/soc_low", 150),
    ("relay/NC1/soc_high", None),
    (f"acb/{ACB}/sleep", "asleep"),
    ("generator/mode", "start"),
    ("production", "0"),
    ("storage/nonsense", "x"),
    ("relay/NC+1", "ON"),
]


def result_of(results, path):
    found = [result for serial, p, result in results if p == path]
    assert found, f"no result on {path}"
    assert results[-1][0] == SERIAL
    return found[-1]


@pytest.mark.parametrize(("path", "value"), BAD_VALUES)
def test_every_bad_value_is_refused_and_nothing_reaches_the_gateway(path, value):
    controls, gateway, _rec, clock, results = make_controls()
    controls.command(path, Command(value, "n1"))
    run_jobs(controls, clock, 20)
    assert gateway.writes == []
    result = result_of(results, path)
    assert (result["ok"], result["id"], result["value"]) == (False, "n1", None)
    assert isinstance(result["error"], str) and result["error"]


def test_storage_mode_is_read_modify_write_of_the_whole_tariff_and_confirmed_at_once():
    controls, gateway, rec, clock, results = make_controls()
    gateway.docs["/admin/lib/tariff"]["tariff"]["seasons_sell"] = []  # kept, though empty
    controls.command("storage/mode", Command("savings", "a1"))
    run_jobs(controls, clock)
    method, path, body = gateway.writes[0]
    assert (method, path) == ("PUT", "/admin/lib/tariff")
    assert set(body) == {"tariff"}
    sent = body["tariff"]
    assert sent["storage_settings"]["mode"] == "economy"
    assert sent["storage_settings"]["opt_schedules"] is False  # else firmware 8.2.42xx+ ignores the mode
    assert sent["single_rate"] == {"rate": 0.31, "sell": 0.08} and sent["seasons_sell"] == []
    assert gateway.reads.count("/admin/lib/tariff") >= 2  # read just before the write, and back
    assert result_of(results, "storage/mode") == {"id": "a1", "ok": True, "value": "savings", "error": None}
    state = json.loads(rec.last(f"{SERIAL}/state"))
    assert state["storage_settings"]["mode"] == "economy"  # published at once, not at the next hourly poll


def test_a_value_the_gateway_does_not_take_is_reported_not_confirmed():
    controls, gateway, _rec, clock, results = make_controls()
    gateway.refuse_writes = 400
    controls.command("storage/reserve", Command("30"))
    run_jobs(controls, clock)
    result = result_of(results, "storage/reserve")
    assert result["ok"] is False and "HTTP 400" in result["error"]


def test_reserve_below_the_gateways_floor_is_refused_before_the_write():
    controls, gateway, _rec, clock, results = make_controls()
    controls.command("storage/reserve", Command(3))
    run_jobs(controls, clock)
    assert gateway.writes == []
    assert "very low SoC" in result_of(results, "storage/reserve")["error"]


def test_relay_settings_are_sent_whole_with_one_field_changed():
    controls, gateway, _rec, clock, results = make_controls()
    controls.command("relay/NC1/soc_low", Command("40"))
    run_jobs(controls, clock)
    method, path, body = gateway.writes[0]
    assert (method, path) == ("POST", "/ivp/ss/dry_contact_settings")
    relay = body["dry_contacts"]
    assert relay["soc_low"] == 40.0 and relay["override"] == "true" and relay["load_name"] == "Heat pump"
    assert result_of(results, "relay/NC1/soc_low")["value"] == 40


def test_a_low_threshold_above_the_high_one_is_refused():
    controls, gateway, _rec, clock, results = make_controls()
    controls.command("relay/NC1/soc_low", Command(80))
    run_jobs(controls, clock)
    assert gateway.writes == []
    assert "above the high one" in result_of(results, "relay/NC1/soc_low")["error"]


def test_a_dry_contact_that_lags_is_confirmed_by_a_later_read():
    controls, gateway, rec, clock, results = make_controls()
    gateway.contact_lag = 2  # the gateway shows the old status for a few seconds (§1.3.1)
    controls.command("relay/NC1", Command("ON", 7))
    run_jobs(controls, clock)
    assert results == []  # not confirmed yet, not failed either
    run_jobs(controls, clock, 10)
    assert gateway.writes[0][2] == {"dry_contacts": {"id": "NC1", "status": "closed"}}
    assert result_of(results, "relay/NC1") == {"id": 7, "ok": True, "value": "ON", "error": None}
    assert json.loads(rec.last(f"{SERIAL}/relay/NC1"))["status"] == "closed"


def test_a_value_never_confirmed_fails_with_what_the_gateway_says():
    controls, gateway, _rec, clock, results = make_controls()
    gateway.contact_lag = 100
    controls.command("relay/NC1", Command("ON"))
    run_jobs(controls, clock, 15)
    result = result_of(results, "relay/NC1")
    assert (result["ok"], result["value"]) == (False, "OFF")
    assert "still reports" in result["error"]


@pytest.mark.parametrize(
    ("path", "value", "write"),
    [
        ("grid/connection", "OFF", ("POST", "/ivp/ensemble/relay", {"mains_admin_state": "open"})),
        ("generator/mode", "on", ("POST", "/ivp/ss/gen_mode", {"gen_cmd": "on"})),
        (
            f"acb/{ACB}/sleep",
            "ON",
            (
                "PUT",
                "/admin/lib/acb_config",
                {"acb_sleep": [{"serial_num": ACB, "sleep_min_soc": 95, "sleep_max_soc": 100}]},
            ),
        ),
        ("storage/charge_from_grid", "ON", None),
    ],
)
def test_each_control_writes_what_the_reference_says_and_reads_it_back(path, value, write):
    controls, gateway, _rec, clock, results = make_controls()
    controls.command(path, Command(value))
    run_jobs(controls, clock)
    if write is not None:
        assert gateway.writes == [write]
    assert result_of(results, path) == {"id": None, "ok": True, "value": value, "error": None}


def test_acb_sleep_is_read_back_from_its_config_and_wake_is_a_delete():
    controls, gateway, _rec, clock, results = make_controls()
    controls.command(f"acb/{ACB}/sleep", Command("ON"))
    run_jobs(controls, clock)
    assert result_of(results, f"acb/{ACB}/sleep")["ok"] is True  # the inventory still says awake
    clock.advance(5)
    controls.command(f"acb/{ACB}/sleep", Command("OFF"))
    run_jobs(controls, clock)
    assert gateway.writes[1] == ("DELETE", "/admin/lib/acb_config", {"acb_sleep": [{"serial_num": ACB}]})
    assert result_of(results, f"acb/{ACB}/sleep") == {"id": None, "ok": True, "value": "OFF", "error": None}


def test_production_with_an_owner_token_is_refused_and_nothing_is_sent():
    controls, gateway, _rec, clock, results = make_controls(user_type="owner")
    controls.command("production", Command("OFF", "p"))
    run_jobs(controls, clock)
    assert gateway.writes == []
    assert "installer" in result_of(results, "production")["error"]


def test_production_with_an_installer_token():
    controls, gateway, _rec, clock, results = make_controls(user_type="installer")
    controls.command("production", Command("OFF"))
    run_jobs(controls, clock)
    assert gateway.writes == [("PUT", POWER, {"length": 1, "arr": [1]})]
    assert result_of(results, "production") == {"id": None, "ok": True, "value": "OFF", "error": None}


def test_production_state_is_read_hourly_and_after_a_write_with_an_installer_token():
    no_revert_watch = ControlsConfig(production=True, revert_window_s=0)  # its re-reads are tested apart
    controls, gateway, rec, clock, _results = make_controls(no_revert_watch, user_type="installer")
    run_jobs(controls, clock)
    assert json.loads(rec.messages[f"envoy/{SERIAL}/production"]) == {"forced_off": False}
    controls.command("production", Command("OFF"))
    run_jobs(controls, clock)
    assert json.loads(rec.messages[f"envoy/{SERIAL}/production"]) == {"forced_off": True}
    reads = gateway.reads.count(POWER)
    for _ in range(3):  # cycles within the hour read nothing more
        clock.advance(600)
        controls.worker._step()
        run_jobs(controls, clock)
    assert gateway.reads.count(POWER) == reads
    gateway.docs[POWER]["powerForcedOff"] = False  # changed at the gateway
    clock.advance(1800)
    controls.worker._step()
    run_jobs(controls, clock)
    assert json.loads(rec.messages[f"envoy/{SERIAL}/production"]) == {"forced_off": False}


@pytest.mark.parametrize(("config", "user_type"), [(ALL_ON, "owner"), (ControlsConfig(battery=True), "installer")])
def test_production_state_is_never_read_without_the_family_and_an_installer_token(config, user_type):
    controls, gateway, rec, clock, _results = make_controls(config, user_type=user_type)
    run_jobs(controls, clock, 5)
    assert POWER not in gateway.reads
    assert f"envoy/{SERIAL}/production" not in rec.messages


def test_hardware_the_gateway_lacks_is_refused():
    controls, gateway, _rec, clock, results = make_controls()
    controls.command("relay/NO2", Command("ON"))
    controls.command("acb/121900000999/sleep", Command("ON"))
    run_jobs(controls, clock)
    assert gateway.writes == []
    assert "no relay/NO2" in result_of(results, "relay/NO2")["error"]


def test_a_family_that_is_not_enabled_is_refused():
    controls, gateway, _rec, clock, results = make_controls(ControlsConfig(relays=True))
    controls.command("storage/mode", Command("backup"))
    run_jobs(controls, clock)
    assert gateway.writes == []
    assert "not enabled" in result_of(results, "storage/mode")["error"]


def test_the_rate_limit_refuses_commands_in_between_and_queues_none():
    controls, gateway, _rec, clock, results = make_controls(ControlsConfig(relays=True, min_interval_s=10))
    controls.command("relay/NC1", Command("ON", 1))
    clock.advance(3)
    controls.command("relay/NC1", Command("OFF", 2))  # too soon: refused at once
    controls.command("relay/NC1/mode", Command("soc", 3))  # another control has its own turn
    assert [(r["id"], r["ok"]) for _s, _p, r in results] == [(2, False)]
    assert "too soon" in results[0][2]["error"]
    run_jobs(controls, clock)
    clock.advance(7)
    controls.command("relay/NC1", Command("OFF", 4))  # 10 s after the first: its turn
    run_jobs(controls, clock)
    assert [w[2]["dry_contacts"].get("status") for w in gateway.writes] == ["closed", None, "open"]


def test_a_cloud_revert_is_reported_once_with_the_commands_id():
    controls, gateway, _rec, clock, results = make_controls(ControlsConfig(battery=True, revert_check_s=30))
    controls.command("storage/mode", Command("backup", "m1"))
    run_jobs(controls, clock)
    assert result_of(results, "storage/mode")["ok"] is True
    run_jobs(controls, clock, 60)
    assert len(results) == 1  # re-read, unchanged: nothing to say
    settings = gateway.docs["/admin/lib/tariff"]["tariff"]["storage_settings"]
    settings.update(mode="self-consumption", opt_schedules=True, date="1767222100")  # the cloud's push (§1.1.5)
    run_jobs(controls, clock, 120)
    reverted = results[1][2]
    assert reverted["id"] == "m1" and reverted["ok"] is False and reverted["value"] == "self-consumption"
    assert reverted["error"].startswith("reverted:")
    run_jobs(controls, clock, 300)
    assert len(results) == 2  # once


def test_no_revert_after_the_window_nor_for_a_later_command():
    controls, gateway, _rec, clock, results = make_controls(
        ControlsConfig(battery=True, revert_window_s=100, revert_check_s=30)
    )
    controls.command("storage/mode", Command("backup"))
    run_jobs(controls, clock, 150)
    gateway.docs["/admin/lib/tariff"]["tariff"]["storage_settings"]["mode"] = "self-consumption"
    run_jobs(controls, clock, 120)
    assert [r["ok"] for _s, _p, r in results] == [True]
    reads = gateway.reads.count("/admin/lib/tariff")
    run_jobs(controls, clock, 300)
    assert gateway.reads.count("/admin/lib/tariff") == reads  # the watch is over: no more re-reads


def test_a_gateway_without_data_yet_refuses():
    controls, gateway, _rec, clock, results = make_controls()
    controls.latest = None
    controls.command("relay/NC1", Command("ON"))
    run_jobs(controls, clock)
    assert gateway.writes == [] and "no data" in result_of(results, "relay/NC1")["error"]


def test_a_later_command_supersedes_one_still_waiting_for_its_read_back():
    controls, gateway, _rec, clock, results = make_controls(ControlsConfig(relays=True, min_interval_s=1))
    gateway.contact_lag = 1
    controls.command("relay/NC1", Command("ON", "first"))
    run_jobs(controls, clock)
    clock.advance(1)
    controls.command("relay/NC1", Command("OFF", "second"))
    run_jobs(controls, clock, 15)
    by_id = {r["id"]: r for _s, _p, r in results}
    assert by_id["first"]["ok"] is False and "later command" in by_id["first"]["error"]
    assert by_id["second"] == {"id": "second", "ok": True, "value": "OFF", "error": None}
    run_jobs(controls, clock, 120)
    assert len(results) == 2  # and no revert of the first
