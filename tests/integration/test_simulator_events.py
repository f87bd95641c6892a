"""Scenario events of the living simulator, over real HTTPS, on a fake clock.

The simulated clock and every event duration follow the injected `time_func`; tests move it
and call `sim.tick()`, so a 60-second reboot takes no real time.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bridge import model
from bridge.model import parse_info
from bridge.simulator import CA_FILE, Simulator
from bridge.simulator.cli import add_arguments, build_simulator
from bridge.simulator.schedule import parse_events
from tests.support.clock import FakeClock

REPO = Path(__file__).resolve().parents[2]
START = 1_800_000_000.0


def get(sim, path, token=None, cookie=None, timeout=5):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    cookies = {"sessionId": cookie} if cookie else None
    return requests.get(sim.envoy_url + path, headers=headers, cookies=cookies, verify=CA_FILE, timeout=timeout)


def session(sim):
    return get(sim, "/auth/check_jwt", sim.issue_token()).cookies["sessionId"]


def refused(sim) -> bool:
    try:
        socket.create_connection(("127.0.0.1", sim.envoy_port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


def status_of(sim, token) -> str | None:
    """The grid status as the bridge reads it: the inventory and the relay through its parsers."""
    parsed = {}
    for path in ("/ivp/ensemble/inventory", "/ivp/ensemble/relay"):
        parsed[path] = model.ENDPOINTS[path](model.decode_json(path, get(sim, path, token).content))
    return model.grid_status_of(parsed)


@pytest.fixture
def clock():
    return FakeClock(START)


@pytest.fixture
def battery_sim(clock):
    with Simulator(scenario="three_phase_battery", time_func=clock, start="12:00", timezone="UTC") as sim:
        yield sim


@pytest.fixture
def metered_sim(clock):
    with Simulator(scenario="metered", time_func=clock, start="12:00", timezone="UTC") as sim:
        yield sim


def test_values_move_with_the_clock_over_https(battery_sim, clock):
    token = battery_sim.issue_token()
    first = get(battery_sim, "/ivp/meters/readings", token).json()
    clock.now += 600
    second = get(battery_sim, "/ivp/meters/readings", token).json()
    assert second[0]["timestamp"] - first[0]["timestamp"] == 600
    assert second[0]["actEnergyDlvd"] > first[0]["actEnergyDlvd"]  # ten minutes of midday sun
    assert parse_info(get(battery_sim, "/info").content).serial == "999000000003"


def test_grid_outage_and_return_with_batteries(battery_sim, clock):
    token = battery_sim.issue_token()
    assert status_of(battery_sim, token) == "on_grid"
    battery_sim.trigger("grid_outage")
    assert status_of(battery_sim, token) == "off_grid"
    clock.now += 300
    net = get(battery_sim, "/ivp/meters/readings", token).json()[1]
    assert net["activePower"] == 0  # nothing crosses the open relay
    power = get(battery_sim, "/ivp/ensemble/power", token).json()["devices:"]
    report = get(battery_sim, "/production.json", token).json()
    load, production = report["consumption"][0]["wNow"], report["production"][1]["wNow"]
    assert sum(d["real_power_mw"] for d in power) / 1000 == pytest.approx(load - production, abs=2)
    battery_sim.trigger("grid_restore")
    assert status_of(battery_sim, token) == "on_grid"


def test_grid_outage_without_batteries_takes_the_gateway_down(metered_sim, clock):
    cookie = session(metered_sim)
    metered_sim.trigger("grid_outage")
    assert refused(metered_sim)
    metered_sim.trigger("grid_restore", boot_s=30)
    assert get(metered_sim, "/info").status_code == 503  # booting
    clock.now += 31
    assert get(metered_sim, "/info").status_code == 200
    assert get(metered_sim, "/api/v1/production", cookie=cookie).status_code == 401  # sessions lost


def test_events_given_at_construction_hold_from_the_start(clock):
    with Simulator(scenario="metered", time_func=clock, events="grid_outage") as sim:
        assert refused(sim) and sim.world.snapshot().power.dark
        sim.trigger("grid_restore", boot_s=0)
        assert get(sim, "/info").status_code == 200


def test_reboot_refuses_then_answers_503_then_recovers(metered_sim, clock):
    token, cookie = metered_sim.issue_token(), session(metered_sim)
    metered_sim.trigger("reboot", refuse_s=60, unavailable_s=120)
    assert refused(metered_sim)
    clock.now += 59
    metered_sim.tick()
    assert refused(metered_sim)
    clock.now += 2
    metered_sim.tick()
    assert get(metered_sim, "/api/v1/production", token).status_code == 503
    clock.now += 120
    assert get(metered_sim, "/api/v1/production", token).status_code == 200
    assert get(metered_sim, "/api/v1/production", cookie=cookie).status_code == 401


def test_slow_answers_for_a_while(metered_sim, clock):
    token = metered_sim.issue_token()
    metered_sim.trigger("slow", delay_s=0.3, duration_s=10)
    started = time.monotonic()
    assert get(metered_sim, "/api/v1/production", token).status_code == 200
    assert time.monotonic() - started >= 0.3
    clock.now += 11
    started = time.monotonic()
    get(metered_sim, "/api/v1/production", token)
    assert time.monotonic() - started < 0.3


def test_nightly_hiccup_at_23_on_the_simulated_clock(clock):
    with Simulator(scenario="metered", time_func=clock, start="22:59", timezone="UTC", time_factor=60) as sim:
        token = sim.issue_token()
        assert get(sim, "/api/v1/production", token).status_code == 200
        clock.now += 2  # two simulated minutes: 23:01
        assert get(sim, "/api/v1/production", token).status_code == 503
        with pytest.raises(requests.exceptions.ReadTimeout):  # device_data hangs in that window
            get(sim, "/ivp/pdm/device_data", token, timeout=0.3)
        assert sim.director.describe() == ["nightly reset (23:00): 503, device_data hangs"]
        clock.now += 5  # 23:06: over
        assert get(sim, "/api/v1/production", token).status_code == 200
    with Simulator(scenario="metered", time_func=clock, start="23:01", timezone="UTC", nightly=False) as sim:
        assert get(sim, "/api/v1/production", sim.issue_token()).status_code == 200


def test_nightly_on_demand(metered_sim, clock):
    token = metered_sim.issue_token()
    metered_sim.trigger("nightly", minutes=2)
    assert get(metered_sim, "/ivp/meters/readings", token).status_code == 503
    clock.now += 121
    assert get(metered_sim, "/ivp/meters/readings", token).status_code == 200


def test_revoked_token_gets_401_until_a_new_one(metered_sim):
    token, cookie = metered_sim.issue_token(), session(metered_sim)
    metered_sim.trigger("revoke_token")
    assert get(metered_sim, "/api/v1/production", token).status_code == 401
    assert get(metered_sim, "/api/v1/production", cookie=cookie).status_code == 401
    assert get(metered_sim, "/auth/check_jwt", token).status_code == 401
    assert get(metered_sim, "/api/v1/production", metered_sim.issue_token()).status_code == 200


def test_firmware_update_changes_the_version_and_the_session(battery_sim):
    cookie = session(battery_sim)
    assert parse_info(get(battery_sim, "/info").content).firmware == "8.2.4382"
    battery_sim.trigger("firmware_update")
    assert parse_info(get(battery_sim, "/info").content).firmware == "8.2.4401"
    assert get(battery_sim, "/api/v1/production", cookie=cookie).status_code == 401
    assert get(battery_sim, "/api/v1/production", cookie=session(battery_sim)).status_code == 200
    battery_sim.trigger("firmware_update", version="8.3.5167")
    assert battery_sim.firmware == "8.3.5167"
    battery_sim.trigger("firmware_update")
    assert battery_sim.firmware == "8.3.5168"


def test_malformed_bodies(metered_sim):
    token = metered_sim.issue_token()
    metered_sim.trigger("malformed", count=4)
    bodies = [get(metered_sim, "/ivp/meters/readings", token) for _ in range(5)]
    assert all(r.status_code == 200 for r in bodies)
    for reply in bodies[:4]:
        with pytest.raises((json.JSONDecodeError, UnicodeDecodeError)):
            json.loads(reply.content)
    assert bodies[1].headers["Content-Type"] == "text/html" and bodies[2].content == b""
    assert isinstance(bodies[4].json(), list)
    assert get(metered_sim, "/info").status_code == 200  # /info is XML: never mangled
    with pytest.raises(ValueError, match="malformed kind must be one of"):
        metered_sim.trigger("malformed", kind="sideways")


def test_cloud_events(metered_sim):
    metered_sim.trigger("cloud_down")
    assert metered_sim.cloud_mode == "down"
    metered_sim.trigger("cloud_up")
    assert metered_sim.cloud_mode == "ok"


def test_clear_ends_every_condition(metered_sim, clock):
    token = metered_sim.issue_token()
    metered_sim.trigger("reboot", refuse_s=600)
    metered_sim.trigger("slow", delay_s=5)
    metered_sim.trigger("clear")
    assert not refused(metered_sim)
    started = time.monotonic()
    assert get(metered_sim, "/api/v1/production", token).status_code == 200
    assert time.monotonic() - started < 2


def test_schedule_real_offsets_and_daily_times(clock):
    with Simulator(
        scenario="three_phase_battery",
        time_func=clock,
        start="11:50",
        timezone="UTC",
        time_factor=60,
        events="grid_outage@12:00,grid_restore@12:30,reboot:refuse_s=5@+5s",
    ) as sim:
        assert sim.world.grid_up and not refused(sim)
        clock.now += 6  # 11:56 simulated, +6 s real: the reboot is due
        sim.tick()
        assert refused(sim)
        clock.now += 5  # 12:01
        sim.tick()
        assert not sim.world.grid_up and not refused(sim)
        clock.now += 30  # 12:31
        sim.tick()
        assert sim.world.grid_up
        clock.now += 24 * 60  # the next day, 12:31: the daily outage happened again...
        sim.tick()
        assert sim.director.history[-2:] == [(clock.now, "grid_outage"), (clock.now, "grid_restore")]
        assert sim.world.grid_up  # ...and the restore after it, in order


def test_event_specs_are_checked():
    assert parse_events("grid_outage@+30s, slow:delay_s=2.5:duration_s=10@12:00,reboot") == [
        ("grid_outage", {}, 30.0, None),
        ("slow", {"delay_s": 2.5, "duration_s": 10}, None, 12.0),
        ("reboot", {}, None, None),
    ]
    assert parse_events("nightly@+2m")[0][2] == 120
    for bad in ("grid_outage@soon", "slow:delay", "reboot@25:00"):
        with pytest.raises(ValueError, match=r"event (time|parameter) must be"):
            parse_events(bad)
    with Simulator() as sim:  # a capture: grid events need a living scenario, others work
        with pytest.raises(ValueError, match="living scenario"):
            sim.trigger("grid_outage")
        with pytest.raises(ValueError, match="unknown event"):
            sim.trigger("meteor")
        with pytest.raises(ValueError, match="unknown parameter"):
            sim.trigger("reboot", seconds=3)
        sim.trigger("slow", delay_s=0.01, duration_s=1)
    with pytest.raises(ValueError, match="not both"):
        Simulator(REPO, scenario="metered")


def test_cli_options_build_the_simulator(clock):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        [
            "--scenario",
            "standard",
            "--time-factor",
            "120",
            "--start",
            "06:00",
            "--timezone",
            "UTC",
            "--events",
            "slow@+1h",
            "--no-nightly",
            "--check-jwt",
            "post",
        ]
    )
    sim = build_simulator(args, time_func=clock)
    assert sim.scenario.name == "standard" and sim.clock.factor == 120 and sim.check_jwt == "post"
    assert sim.scenario.nightly_hiccup_minutes == 0
    assert sim.clock.local(sim.sim_time).strftime("%H:%M") == "06:00"
    assert [e.name for e in sim.director.state.schedule] == ["slow"]
    default = build_simulator(parser.parse_args([]), time_func=clock)
    assert default.scenario.name == "three_phase_battery" and default.check_jwt == "any"
    with pytest.raises(ValueError, match="event time must be"):
        build_simulator(parser.parse_args(["--events", "grid_outage@never"]))


def test_simulate_command_reports_bad_events_in_one_line():
    proc = subprocess.run(
        [sys.executable, "-m", "bridge", "simulate", "--events", "meteor@+1s"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert proc.returncode == 2
    assert "unknown event 'meteor'" in proc.stderr and "Traceback" not in proc.stderr
