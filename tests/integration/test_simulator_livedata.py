"""The simulated gateway's live data over real HTTPS with a token: /ivp/livedata/status and the
stream switch, on a fake clock (the stream's timeout is real seconds of that clock)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests
from requests.auth import HTTPDigestAuth

from bridge.simulator import CA_FILE, Simulator, load_scenario
from bridge.simulator.livedata import INFO_DISABLED
from tests.support.clock import FakeClock

START = 1_800_000_000.0
STATUS, STREAM = "/ivp/livedata/status", "/ivp/livedata/stream"
FLOWS = ("pv", "storage", "grid", "generator")


def get(sim, path, token):
    return requests.get(sim.envoy_url + path, headers={"Authorization": f"Bearer {token}"}, verify=CA_FILE, timeout=5)


def post(sim, token, body, path=STREAM):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return requests.post(sim.envoy_url + path, data=body, headers=headers, verify=CA_FILE, timeout=5)


def living(clock, scenario, **options):
    return Simulator(scenario=scenario, time_func=clock, start="12:00", timezone="UTC", **options)


def balanced(meters) -> bool:
    keys = ("agg_p_mw", "agg_p_ph_a_mw", "agg_p_ph_b_mw", "agg_p_ph_c_mw")
    return all(meters["load"][k] == sum(meters[f][k] for f in FLOWS) for k in keys)


@pytest.fixture
def clock():
    return FakeClock(START)


@pytest.fixture
def battery_sim(clock):
    with living(clock, "three_phase_battery", time_factor=60) as sim:
        yield sim


@pytest.mark.parametrize("name", ["metered", "three_phase_battery", "ac_battery"])
def test_every_scenario_with_meters_or_batteries_serves_it(clock, name):
    with living(clock, name) as sim:
        token = sim.issue_token()
        assert get(sim, STATUS, "nope").status_code == 401
        answer = get(sim, STATUS, token)
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
        doc = answer.json()
        assert doc["meters"]["last_update"] == int(sim.sim_time) and balanced(doc["meters"])
        assert doc["meters"]["phase_count"] == sim.scenario.phases
        assert post(sim, token, b'{"enable":1}').json() == {"sc_stream": "enabled"}
        for _ in range(5):
            clock.now += 97
            assert balanced(get(sim, STATUS, token).json()["meters"])


def test_enable_disable_timeout_and_the_400(battery_sim, clock):
    token = battery_sim.issue_token()
    off = get(battery_sim, STATUS, token).json()
    assert off["info"] == INFO_DISABLED and off["connection"]["sc_stream"] == "disabled"
    enabled = post(battery_sim, token, b'{"enable":1}')
    assert (enabled.status_code, enabled.json()) == (200, {"sc_stream": "enabled"})
    assert post(battery_sim, token, b'{"enable":1}').status_code == 400  # already on
    clock.now += 5
    on = get(battery_sim, STATUS, token).json()
    assert "info" not in on and on["connection"]["sc_stream"] == "enabled"
    assert on["meters"]["last_update"] == int(battery_sim.sim_time)  # 5 real s = 5 simulated min
    clock.now += 295  # 300 real seconds after the enable: the gateway turns it off
    ended = int(battery_sim.sim_time)
    clock.now += 60
    timed_out = get(battery_sim, STATUS, token).json()
    assert timed_out["connection"]["sc_stream"] == "disabled" and timed_out["info"] == INFO_DISABLED
    assert timed_out["meters"]["last_update"] == ended
    assert post(battery_sim, token, b'{"enable":1}').status_code == 200  # off again: enabling works
    disabled = post(battery_sim, token, b'{"enable":0}')
    assert (disabled.status_code, disabled.json()) == (200, {"sc_stream": "disabled"})
    assert battery_sim.request_counts[STREAM] == 4


def test_frozen_while_disabled(battery_sim, clock):
    token = battery_sim.issue_token()
    post(battery_sim, token, b'{"enable":1}')
    clock.now += 20
    post(battery_sim, token, b'{"enable":0}')
    frozen = get(battery_sim, STATUS, token).json()["meters"]
    for _ in range(3):
        clock.now += 40  # 40 simulated minutes each: the sun and the batteries move on
        assert get(battery_sim, STATUS, token).json()["meters"] == frozen
    post(battery_sim, token, b'{"enable":1}')
    fresh = get(battery_sim, STATUS, token).json()["meters"]
    assert fresh["last_update"] == int(battery_sim.sim_time) > frozen["last_update"]
    assert fresh["pv"] != frozen["pv"]


def test_live_when_the_scenario_says_so(clock):
    scenario = replace(load_scenario("metered"), livedata_when_disabled="live")
    with living(clock, scenario) as sim:
        token = sim.issue_token()
        first = get(sim, STATUS, token).json()
        clock.now += 15
        second = get(sim, STATUS, token).json()
        assert second["connection"]["sc_stream"] == "disabled" and second["info"] == INFO_DISABLED
        assert second["meters"]["last_update"] - first["meters"]["last_update"] == 15


@pytest.mark.parametrize(
    "body",
    [b"", b"enable=1", b"{", b"[1]", b"{}", b'{"enable":2}', b'{"enable":"1"}', b'{"enable":true}', b"\xff"],
)
def test_malformed_stream_requests_answer_400(battery_sim, body):
    token = battery_sim.issue_token()
    answer = post(battery_sim, token, body)
    assert answer.status_code == 400 and answer.json()["status"] == 400
    assert get(battery_sim, STATUS, token).json()["connection"]["sc_stream"] == "disabled"  # nothing changed
    assert battery_sim.request_counts[STREAM] == 1


def test_the_relay_opens_in_an_outage_on_an_islanding_system(battery_sim, clock):
    token = battery_sim.issue_token()
    post(battery_sim, token, b'{"enable":1}')
    assert get(battery_sim, STATUS, token).json()["meters"]["main_relay_state"] == 1
    battery_sim.trigger("grid_outage")
    clock.now += 2
    meters = get(battery_sim, STATUS, token).json()["meters"]
    assert meters["main_relay_state"] == 0 and meters["grid"]["agg_p_mw"] == 0
    assert meters["load"]["agg_p_mw"] == meters["pv"]["agg_p_mw"] + meters["storage"]["agg_p_mw"]
    battery_sim.trigger("grid_restore")
    assert get(battery_sim, STATUS, token).json()["meters"]["main_relay_state"] == 1


def test_not_found_on_a_pv_only_gateway(clock):
    with living(clock, "standard") as sim:
        token = sim.issue_token()
        assert get(sim, STATUS, token).status_code == 404
        assert post(sim, token, b'{"enable":1}').status_code == 404


def test_not_found_before_firmware_7(clock):
    scenario = replace(load_scenario("metered"), firmware="5.0.62")
    with living(clock, scenario, auth="digest") as sim:
        owner = HTTPDigestAuth("envoy", sim.serial[-6:])
        assert requests.get(sim.envoy_url + "/api/v1/production", auth=owner, verify=CA_FILE, timeout=5).ok
        live = requests.get(sim.envoy_url + STATUS, auth=owner, verify=CA_FILE, timeout=5)
        assert live.status_code == 404


def test_energy_totals_from_the_simulator(battery_sim, clock):
    before = battery_sim.energy_totals()
    clock.now += 60  # an hour of the midday sun at this time factor
    after = battery_sim.energy_totals()
    assert after["production"] - before["production"] > 1000
    assert all(after[k] >= before[k] for k in before)
    with Simulator() as capture, pytest.raises(ValueError, match="living scenario"):
        capture.energy_totals()
