"""The cloud API as the bridge's data source, end to end: the simulator's fake API v4 over real
HTTPS, the bridge in-process, a real Mosquitto and a paho subscriber.

`only` mode: no local access; the state and `/cloud` carry the fake's values. `complement` mode:
the local gateway goes dark, urgent summaries keep `/cloud` current, the local state is left
alone. The simulator's clock stands still (a FakeClock), so the fake's data do not move while
the test compares them.
"""

from __future__ import annotations

import json

import pytest

from bridge.app import Bridge
from bridge.cloudapi import schedule as plan
from bridge.config import load_config
from bridge.simulator import Simulator
from tests.support.clock import FakeClock
from tests.support.cloudapi import add_cloud_api, authorize, write_cloud_only_config
from tests.support.mqtt import Subscriber, wait_for
from tests.support.processes import in_process, write_config

pytestmark = pytest.mark.integration

START = 1_800_000_000.0  # 2027-01-15 08:00 UTC; the simulated day starts at 12:00 UTC


def living(**kw) -> Simulator:
    return Simulator(
        scenario="three_phase_battery", time_func=FakeClock(START), start="12:00", timezone="UTC", cloud_api=True, **kw
    )


def expected_from_fake(sim: Simulator) -> dict:
    """What the fake answers, read from its data directly (not a call: the quota stays whole)."""
    data, system_id = sim.cloud_api.data, sim.cloud_api.system_id
    summary = data.summary(system_id)
    consumption = data.telemetry(system_id, "consumption_meter", {})
    return {
        "production": {
            "power_w": summary["current_power"],
            "energy_today_wh": summary["energy_today"],
            "energy_lifetime_wh": summary["energy_lifetime"] + summary["energy_today"],
        },
        "consumption": {
            "power_w": consumption["intervals"][-1]["enwh"] * 4,
            "energy_today_wh": sum(i["enwh"] for i in consumption["intervals"]),
        },
        "last_report_at": summary["last_report_at"],
        "status": summary["status"],
    }


def test_only_mode_fills_the_state_and_cloud_topics_with_the_fake_s_values(tmp_path, mosquitto):
    with living() as sim:
        config = write_cloud_only_config(tmp_path, sim, mosquitto, spread=False)
        authorize(config)
        sub = Subscriber(mosquitto.host, mosquitto.port, topics=("envoy/#", "homeassistant/#"))
        try:
            with in_process(Bridge(load_config(config))):
                serial = sim.serial
                sub.wait_topic(f"envoy/{serial}/availability", timeout=20, payload=b"online")
                wait_for(lambda: "consumption" in json.loads(sub.get(f"envoy/{serial}/state") or "{}"), 20)
                expected = expected_from_fake(sim)
                state = json.loads(sub.get(f"envoy/{serial}/state"))
                cloud = json.loads(sub.wait_topic(f"envoy/{serial}/cloud"))
                wait_for(lambda: sub.get(f"homeassistant/sensor/{serial}/lifetime_production/config") is not None)
                calls = dict(sim.cloud_api.calls)
        finally:
            sub.close()
    assert state["source"] == "cloud" and state["time"] == expected["last_report_at"]
    assert state["production"] == expected["production"]
    assert state["consumption"] == expected["consumption"]
    assert "firmware" not in state and "battery" not in state  # the Watt plan has no battery data
    assert cloud["production"]["energy_lifetime_wh"] == expected["production"]["energy_lifetime_wh"]
    assert cloud["system_status"] == "normal" and cloud["source_status"] == "ok"
    assert cloud["last_report_at"] == expected["last_report_at"] and cloud["last_report_at_iso"].endswith("Z")
    lifetime = json.loads(sub.get(f"homeassistant/sensor/{serial}/lifetime_production/config"))
    assert (lifetime["state_class"], lifetime["device_class"]) == ("total_increasing", "energy")
    assert lifetime["state_topic"] == f"envoy/{serial}/state"
    system = f"/api/v4/systems/{sim.cloud_api.system_id}"
    # latest_telemetry and battery are outside the Watt plan: asked once (403), never again
    assert calls[f"{system}/latest_telemetry"] == 1 and calls[f"{system}/telemetry/battery"] == 1
    assert calls[f"{system}/summary"] == 1 and calls[f"{system}/telemetry/consumption_meter"] == 1


def test_only_mode_without_consent_stays_offline_and_says_authorize(tmp_path, mosquitto):
    with living() as sim:
        config = write_cloud_only_config(tmp_path, sim, mosquitto, spread=False)
        sub = Subscriber(mosquitto.host, mosquitto.port, topics=("envoy/#",))
        try:
            with in_process(Bridge(load_config(config))):
                cloud = json.loads(sub.wait_topic(f"envoy/{sim.serial}/cloud", timeout=20))
                availability = sub.wait_topic(f"envoy/{sim.serial}/availability", timeout=20)
        finally:
            sub.close()
        assert not sim.cloud_api.calls  # nothing sent without tokens
    assert cloud["source_status"] == "needs_authorize" and "cloud authorize" in cloud["source_problem"]
    assert availability == b"offline"


def test_complement_mode_asks_urgently_in_a_local_outage_and_leaves_the_local_state_alone(tmp_path, mosquitto):
    with living() as sim:
        # the system id configured: the first (spread) call is the summary, not the id's lookup
        config = add_cloud_api(
            write_config(tmp_path, sim, mosquitto), sim, outage_after_s=1, system_id=sim.cloud_api.system_id
        )
        authorize(config)
        bridge = Bridge(load_config(config), worker_kw={"rng": lambda low, high: low})
        assert bridge.cloud_worker is not None
        # the cloud's quarter hour in seconds: the test cannot wait 15 minutes for new data
        bridge.cloud_worker.schedule = plan.CloudSchedule(plan.COMPLEMENT_ASKS, quarter_s=1.0, lag_s=0.0)
        sub = Subscriber(mosquitto.host, mosquitto.port, topics=("envoy/#",))
        serial = sim.serial
        summary_path = f"/api/v4/systems/{sim.cloud_api.system_id}/summary"
        try:
            with in_process(bridge):
                sub.wait_topic(f"envoy/{serial}/availability", timeout=20, payload=b"online")
                wait_for(lambda: "system_status" in json.loads(sub.get(f"envoy/{serial}/cloud") or "{}"), 20)
                first = json.loads(sub.get(f"envoy/{serial}/cloud"))
                local_before = json.loads(sub.get(f"envoy/{serial}/state"))
                assert sim.cloud_api.calls[summary_path] == 1  # the spread: the next one ~45 min later
                sim.stop_envoy()
                sub.wait_topic(f"envoy/{serial}/availability", timeout=30, payload=b"offline")
                wait_for(lambda: json.loads(sub.get(f"envoy/{serial}/cloud"))["system_status"] == "comm", 20)
                local_after = json.loads(sub.get(f"envoy/{serial}/state"))
                urgent = bridge.cloud_worker.urgent_calls
        finally:
            sub.close()
    assert first["system_status"] == "normal" and urgent >= 1
    assert local_after == local_before and "source" not in local_after  # never written from the cloud


def test_only_mode_on_a_kilowatt_plan_adds_the_batterys_state(tmp_path, mosquitto):
    """Battery telemetry is Kilowatt-plan data (reference 4.5.6): with such a key the state has it."""
    with living() as sim:
        sim.cloud_api.plan = "kilowatt"
        config = write_cloud_only_config(tmp_path, sim, mosquitto, spread=False)
        authorize(config)
        sub = Subscriber(mosquitto.host, mosquitto.port, topics=("envoy/#",))
        try:
            with in_process(Bridge(load_config(config))):
                topic = f"envoy/{sim.serial}/state"
                wait_for(lambda: "battery" in json.loads(sub.get(topic) or "{}"), 30, message="the battery's state")
                state = json.loads(sub.get(topic))
                battery = sim.cloud_api.data.telemetry(sim.cloud_api.system_id, "battery", {})["intervals"][-1]
        finally:
            sub.close()
    assert state["source"] == "cloud"
    assert state["battery"]["soc_pct"] == battery["soc"]["percent"]
    assert state["battery"]["power_w"] == (battery["discharge"]["enwh"] - battery["charge"]["enwh"]) * 4
