"""Issue 13 end to end: the bridge's live group against the simulator's live data over real
HTTPS, a real Mosquitto and a paho subscriber. The bridge runs as `run` in its own process at
the default intervals (live: every second on a gateway with batteries and a controller)."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest

from bridge.simulator import Simulator, load_scenario
from tests.support.mqtt import Subscriber, wait_for
from tests.support.processes import REPO, bridge_command, start_logged, stop_process, write_config

pytestmark = pytest.mark.integration
STREAM = "/ivp/livedata/stream"


def live_messages(sub: Subscriber, topic: str, seconds: float) -> list[dict]:
    """Every live document the subscriber sees in the next `seconds`."""
    seen: list[dict] = []
    last = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        payload = sub.get(topic)
        if payload is not None and payload != last:
            seen.append(json.loads(payload))
            last = payload
        time.sleep(0.05)
    return seen


def run_bridge(tmp_path, sim, broker):
    config = write_config(tmp_path, sim, broker)
    return start_logged(bridge_command("run", "-c", str(config)), tmp_path / "bridge.log", cwd=REPO)


def test_live_power_flows_every_second_balanced_and_the_stream_kept_on(tmp_path, mosquitto):
    scenario = replace(load_scenario("three_phase_battery"), livedata_stream_timeout_s=4.0)
    with Simulator(scenario=scenario, time_factor=1, start="11:00") as sim:
        topic = f"envoy/{sim.serial}/live"
        sub = Subscriber(mosquitto.host, mosquitto.port, topics=(f"envoy/{sim.serial}/#",))
        bridge = run_bridge(tmp_path, sim, mosquitto)
        try:
            sub.wait_topic(topic, timeout=60)
            documents = live_messages(sub, topic, 20.0)  # the stream times out every 4 s meanwhile
        finally:
            stop_process(bridge)
            sub.close()
        enables = sim.request_counts.get(STREAM, 0)
    assert len(documents) >= 10, f"only {len(documents)} live documents in 20 s"
    for doc in documents:
        flows = doc["pv_power_w"] + doc["storage_power_w"] + doc["grid_power_w"] + doc.get("generator_power_w", 0)
        assert doc["load_power_w"] == pytest.approx(flows, abs=0.25)  # W to one decimal, each rounded
        assert set(doc["phases"]) == {"l1", "l2", "l3"}
        assert doc["main_relay"] == "closed" and 0 <= doc["encharge_soc_pct"] <= 100
        assert "acb_soc_pct" not in doc
    samples = [doc["sampled_at"] for doc in documents]
    assert samples == sorted(samples)  # never an older sample after a newer one
    assert len(set(samples)) >= 15, samples  # a gap of a second or two per timeout, not ten
    assert enables >= 3  # on at the start, and again after each timeout the bridge noticed
    log = (tmp_path / "bridge.log").read_text()
    assert "Traceback" not in log and " ERROR " not in log


def test_a_gateway_without_live_data_changes_nothing_and_says_so_once(tmp_path, mosquitto):
    with Simulator(scenario="standard", time_factor=1, start="11:00") as sim:
        sub = Subscriber(mosquitto.host, mosquitto.port, topics=(f"envoy/{sim.serial}/#",))
        bridge = run_bridge(tmp_path, sim, mosquitto)
        try:
            sub.wait_topic(f"envoy/{sim.serial}/state", timeout=60)
            time.sleep(3)
        finally:
            stop_process(bridge)
            sub.close()
        assert sub.get(f"envoy/{sim.serial}/live") is None
        assert sim.request_counts.get(STREAM, 0) == 0
    log = (tmp_path / "bridge.log").read_text()
    said = [line for line in log.splitlines() if "livedata" in line]
    assert len(said) <= 1, said
    assert "Traceback" not in log and " ERROR " not in log


def test_the_grid_outage_shows_on_the_live_document_and_the_grid_status(tmp_path, mosquitto):
    with Simulator(scenario="three_phase_battery", time_factor=1, start="11:00") as sim:
        serial = sim.serial
        sub = Subscriber(mosquitto.host, mosquitto.port, topics=(f"envoy/{serial}/#",))
        bridge = run_bridge(tmp_path, sim, mosquitto)
        try:
            sub.wait_topic(f"envoy/{serial}/live", timeout=60)
            sim.trigger("grid_outage")
            started = time.monotonic()
            sub.wait_topic(f"envoy/{serial}/grid/status", timeout=10, payload=b"off_grid")
            took = time.monotonic() - started
            wait_for(
                lambda: json.loads(sub.get(f"envoy/{serial}/live") or b"{}").get("main_relay") == "open",
                timeout=10,
                message="the live document's main relay open",
            )
        finally:
            stop_process(bridge)
            sub.close()
    assert took < 2.0, f"grid status took {took:.2f} s"
