"""The simulated gateway's write endpoints over real HTTPS with owner and installer tokens, on a
fake clock: each write's answer, the GETs after it, its effect on the physics as the readings
show it, installer-only refusals, the cloud's revert, and the count of writes."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests

from bridge.simulator import CA_FILE, Simulator, load_scenario
from bridge.simulator.controls import acb_serials
from tests.support.clock import FakeClock

START = 1_800_000_000.0
TARIFF, RELAY, DRY = "/admin/lib/tariff", "/ivp/ensemble/relay", "/ivp/ensemble/dry_contacts"
SETTINGS, ACB, GEN = "/ivp/ss/dry_contact_settings", "/admin/lib/acb_config", "/ivp/ss/gen_mode"
POWER = "/ivp/mod/603980032/mode/power"


def call(sim, method, path, token, json=None):
    headers = {"Authorization": f"Bearer {token}"}
    return requests.request(method, sim.envoy_url + path, json=json, headers=headers, verify=CA_FILE, timeout=5)


def living(clock, scenario, start="20:00", **options):
    return Simulator(scenario=scenario, time_func=clock, start=start, timezone="UTC", time_factor=60, **options)


@pytest.fixture
def clock():
    return FakeClock(START)


@pytest.fixture
def battery_sim(clock):
    with living(clock, "three_phase_battery") as sim:
        yield sim


def test_storage_settings_change_the_batteries_as_the_readings_show(battery_sim, clock):
    sim, owner = battery_sim, battery_sim.issue_token()
    assert sim.write_counts == {}
    tariff = call(sim, "GET", TARIFF, owner).json()["tariff"]
    tariff["storage_settings"].update(mode="backup")
    answer = call(sim, "PUT", TARIFF, owner, {"tariff": tariff})
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    assert answer.json() == call(sim, "GET", TARIFF, owner).json()
    assert answer.json()["tariff"]["storage_settings"]["mode"] == "backup"
    soc = call(sim, "GET", "/ivp/ensemble/secctrl", owner).json()["agg_soc"]
    clock.now += 120  # two simulated hours of evening
    power = call(sim, "GET", "/ivp/ensemble/power", owner).json()["devices:"]
    assert all(device["real_power_mw"] <= 0 for device in power)  # backup: nothing to the house
    assert call(sim, "GET", "/ivp/ensemble/secctrl", owner).json()["agg_soc"] == soc
    assert call(sim, "PUT", TARIFF, owner, {"storage_settings": {"mode": "backup"}}).status_code == 400
    assert sim.write_counts == {TARIFF: 2}


def test_the_cloud_reverts_the_mode_a_minute_later(battery_sim, clock):
    sim, owner = battery_sim, battery_sim.issue_token()
    sim.trigger("storage_mode_revert", after_s=60)
    tariff = call(sim, "GET", TARIFF, owner).json()["tariff"]
    tariff["storage_settings"]["mode"] = "economy"
    assert call(sim, "PUT", TARIFF, owner, {"tariff": tariff}).json()["tariff"]["storage_settings"]["mode"] == "economy"
    clock.now += 61
    sim.tick()
    reverted = call(sim, "GET", TARIFF, owner).json()["tariff"]
    assert reverted["storage_settings"]["mode"] == "self-consumption" and reverted["date"] != tariff["date"]


def test_islanding_on_command_and_back(battery_sim):
    sim, owner = battery_sim, battery_sim.issue_token()
    opened = call(sim, "POST", RELAY, owner, {"mains_admin_state": "open"})
    assert opened.status_code == 200 and opened.json()["mains_oper_state"] == "open"
    net = next(m for m in call(sim, "GET", "/ivp/meters/readings", owner).json() if m["eid"] == 704643584)
    assert net["activePower"] == 0  # nothing crosses the open relay
    assert call(sim, "POST", "/ivp/livedata/stream", owner, {"enable": 1}).status_code == 200
    assert call(sim, "GET", "/ivp/livedata/status", owner).json()["meters"]["main_relay_state"] == 0
    assert call(sim, "POST", RELAY, owner, {"mains_admin_state": "closed"}).json()["mains_admin_state"] == "closed"
    assert call(sim, "GET", RELAY, owner).json()["mains_oper_state"] == "closed"
    assert call(sim, "POST", RELAY, owner, {"mains_admin_state": "ajar"}).status_code == 400


def test_a_relay_that_opens_sheds_its_load(battery_sim):
    sim, owner = battery_sim, battery_sim.issue_token()

    def load_w():
        return call(sim, "GET", "/production.json", owner).json()["consumption"][0]["wNow"]

    before = load_w()
    answer = call(sim, "POST", DRY, owner, {"dry_contacts": {"id": "NC1", "status": "open"}})
    assert answer.status_code == 200
    assert {"id": "NC1", "status": "open"} in call(sim, "GET", DRY, owner).json()["dry_contacts"]
    assert load_w() == pytest.approx(before * (1 - sim.scenario.relay_loads["NC1"]), abs=1)
    assert call(sim, "POST", DRY, owner, {"dry_contacts": {"id": "NC5", "status": "open"}}).status_code == 400
    relay = call(sim, "GET", SETTINGS, owner).json()["dry_contacts"][0] | {"load_name": "Heat pump"}
    assert call(sim, "POST", SETTINGS, owner, {"dry_contacts": relay}).status_code == 200
    assert call(sim, "GET", SETTINGS, owner).json()["dry_contacts"][0] == relay
    assert call(sim, "POST", SETTINGS, owner, {"dry_contacts": {"id": "NC1", "mode": "soc"}}).status_code == 400


def test_production_is_the_installers_to_force_off(clock):
    with living(clock, "metered", start="12:00") as sim:
        owner, installer = sim.issue_token(), sim.issue_token("installer")
        off = {"length": 1, "arr": [1]}
        assert call(sim, "PUT", POWER, owner, off).status_code == 401
        assert call(sim, "GET", POWER, owner).status_code == 401
        assert call(sim, "GET", "/api/v1/production", owner).json()["wattsNow"] > 0  # the refusal changed nothing
        answer = call(sim, "PUT", POWER, installer, off)
        assert answer.status_code == 200 and answer.json() == {"powerForcedOff": True}
        assert call(sim, "GET", POWER, installer).json() == {"powerForcedOff": True}
        assert call(sim, "GET", "/api/v1/production", owner).json()["wattsNow"] == 0
        assert sim.write_counts == {POWER: 2}


def test_ac_batteries_sleep_and_wake(clock):
    with living(clock, "ac_battery") as sim:
        owner, serials = sim.issue_token(), acb_serials(sim.scenario)
        sleep = {"acb_sleep": [{"serial_num": s, "sleep_min_soc": 95, "sleep_max_soc": 100} for s in serials]}
        assert call(sim, "PUT", ACB, owner, sleep).json() == sleep == call(sim, "GET", ACB, owner).json()
        storage = call(sim, "GET", "/production.json", owner).json()["storage"][0]
        assert storage["wNow"] == 0
        assert sleep_settings(sim, owner) == dict.fromkeys(serials, (True, 95, 100))  # the inventory agrees
        wake = {"acb_sleep": [{"serial_num": s} for s in serials[:1]]}
        assert call(sim, "DELETE", ACB, owner, wake).json() == {"message": "success"}
        assert call(sim, "GET", ACB, owner).json() == {"acb_sleep": sleep["acb_sleep"][1:]}
        assert sleep_settings(sim, owner)[serials[0]][0] is False
        assert all(asleep for asleep, _low, _high in list(sleep_settings(sim, owner).values())[1:])


def sleep_settings(sim, token):
    """serial -> (sleep_enabled, sleep_min_soc, sleep_max_soc) of the ACB group of /inventory.json."""
    groups = call(sim, "GET", "/inventory.json?deleted=1", token).json()
    acbs = next(group["devices"] for group in groups if group["type"] == "ACB")
    return {d["serial_num"]: (d["sleep_enabled"], d["sleep_min_soc"], d["sleep_max_soc"]) for d in acbs}


def test_the_generator_mode(clock):
    with living(clock, replace(load_scenario("three_phase_battery"), generator=True)) as sim:
        owner = sim.issue_token()
        assert call(sim, "GET", GEN, owner).json()["gen_cmd"] == "off"
        assert call(sim, "POST", GEN, owner, {"gen_cmd": "auto"}).json()["gen_cmd"] == "auto"
        assert call(sim, "GET", GEN, owner).json()["gen_cmd"] == "auto"
        assert call(sim, "POST", GEN, owner, {"gen_cmd": "start"}).status_code == 400
        assert call(sim, "GET", "/ivp/ss/gen_config", owner).json()["gen_type"] == "Standby"  # configured
        assert call(sim, "GET", "/ivp/ensemble/generator", owner).json()["oper_state"] == "open"  # auto, on grid
        call(sim, "POST", GEN, owner, {"gen_cmd": "on"})
        assert call(sim, "GET", "/ivp/ensemble/generator", owner).json()["oper_state"] == "close"  # running
    with living(clock, "metered") as sim:
        assert call(sim, "POST", GEN, sim.issue_token(), {"gen_cmd": "on"}).status_code == 404  # no generator
        assert call(sim, "GET", "/ivp/ss/gen_config", sim.issue_token()).status_code == 404


def test_every_write_needs_the_same_auth_and_unknown_ones_answer_405(battery_sim):
    sim, owner = battery_sim, battery_sim.issue_token()
    body = {"dry_contacts": {"id": "NC1", "status": "open"}}
    assert call(sim, "POST", DRY, "not-a-token", body).status_code == 401
    assert call(sim, "GET", DRY, owner).json()["dry_contacts"][0]["status"] == "closed"
    assert call(sim, "POST", "/ivp/ss/dpel", owner, {}).status_code == 405
    assert call(sim, "POST", TARIFF, owner, {}).status_code == 405  # the tariff is PUT
    assert sim.write_counts == {DRY: 1, "/ivp/ss/dpel": 1, TARIFF: 1}
