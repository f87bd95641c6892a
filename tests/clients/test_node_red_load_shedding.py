"""examples/node-red/load-shedding.json in a real Node-RED 4.1, set up as a user sets it up,
against the real bridge with `controls: {relays: true}`, Mosquitto and the simulator's
three-phase gateway with an IQ System Controller and its dry-contact relays (installed with
no automatic action, so only the flow moves them): a grid outage opens relay NC1 within 2 s
(the figure is printed), the bridge's result says ok, and the grid back closes it again: a
second after the shed, so the bridge's one command per relay every 5 s refuses it first
(`too soon`) and the flow sends it again once that passed."""

from __future__ import annotations

import json

import pytest

from bridge.config import MqttConfig
from bridge.simulator import Simulator
from tests.support.mqtt import Subscriber, seconds_until, wait_for
from tests.support.node_red import load_shedding_flow, node_red_binary, start_node_red
from tests.support.processes import REPO, bridge_command, start_logged, stop_process, write_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]
POLL = {"meters": 5, "energy": 5, "batteries": 5, "inverters": 300, "grid": 1}
RELAY = "NC1"


def results(sub: Subscriber, topic: str) -> list[dict]:
    with sub._lock:
        return [json.loads(p) for t, p in sub.history if t == topic]


def assert_nothing_retained(broker, topic: str) -> None:
    """A new subscriber gets no retained command: the retained availability, subscribed after
    `topic`, comes after anything the broker holds on it."""
    availability = MqttConfig().availability_topic  # the bridge's, as write_config leaves it
    fresh = Subscriber(broker.host, broker.port, topics=(topic, availability))
    try:
        fresh.wait_topic(availability)
        assert fresh.get(topic) is None, f"retained on {topic}: {fresh.get(topic)!r}"
    finally:
        fresh.close()


def test_the_flow_sheds_the_load_within_2_s_of_an_outage_and_feeds_it_when_the_grid_is_back(tmp_path, mosquitto):
    binary = node_red_binary()
    sub = Subscriber(mosquitto.host, mosquitto.port, topics=("envoy/#",))
    bridge = node_red = None
    try:
        with Simulator(scenario="three_phase_battery", time_factor=1, start="11:00") as sim:
            serial, relays = sim.serial, sim.source.world.controls.relay_status
            config = write_config(tmp_path, sim, mosquitto, poll=POLL, controls={"relays": True})
            bridge = start_logged(bridge_command("run", "-c", str(config)), tmp_path / "bridge.log", cwd=REPO)
            sub.wait_topic(f"envoy/{serial}/relay/{RELAY}", timeout=60)
            sub.wait_topic(f"envoy/{serial}/grid/status", payload=b"on_grid")
            log = tmp_path / "node-red.log"
            nodes = load_shedding_flow(mosquitto.port, serial, RELAY)
            node_red = start_node_red(binary, tmp_path / "node-red", nodes, log)
            wait_for(lambda: "Connected to broker" in log.read_text(), timeout=60, message="Node-RED on the broker")
            assert relays[RELAY] == "closed"

            result_topic = f"envoy/{serial}/relay/{RELAY}/result"
            seconds = seconds_until(
                lambda: sim.trigger("grid_outage"), lambda: relays[RELAY] == "open", message=f"{RELAY} open"
            )
            print(f"\nNode-RED load shedding: grid outage -> relay {RELAY} open in {seconds:.2f} s")
            assert seconds < 2, f"the load was shed {seconds:.2f} s after the outage"
            wait_for(lambda: results(sub, result_topic), message="the bridge's result")
            shed = results(sub, result_topic)[0]
            assert shed["ok"] and shed["value"] == "OFF" and str(shed["id"]).startswith("load-shedding-"), shed

            seconds = seconds_until(
                lambda: sim.trigger("grid_restore"),
                lambda: relays[RELAY] == "closed",
                timeout=30,
                message=f"{RELAY} closed again",
            )
            print(f"Node-RED load shedding: grid back -> relay {RELAY} closed in {seconds:.2f} s")
            wait_for(lambda: results(sub, result_topic)[-1]["value"] == "ON", message="the ON result")
            assert results(sub, result_topic)[-1]["ok"], results(sub, result_topic)
            assert relays[RELAY] == "closed"
            assert "load shedding on gateway" not in log.read_text(), log.read_text()[-2000:]
            assert_nothing_retained(mosquitto, f"envoy/{serial}/relay/{RELAY}/set")
    finally:
        sub.close()
        for proc in (bridge, node_red):
            if proc:
                stop_process(proc)
