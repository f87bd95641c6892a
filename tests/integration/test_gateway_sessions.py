"""The gateway side of tokens end to end: a firmware without check_jwt, one that takes it only by
POST, and a reboot that costs a session but no token. The simulator over real HTTPS (its
check_jwt option), the bridge's command line, a real Mosquitto and a real paho subscriber."""

from __future__ import annotations

import json
import subprocess

import pytest

from bridge.cli import main
from bridge.simulator import Simulator
from tests.support.mqtt import Subscriber, wait_for
from tests.support.processes import running_bridge, write_config

pytestmark = pytest.mark.integration
CHECK_JWT = "/auth/check_jwt"


def test_without_check_jwt_the_bridge_publishes_with_the_bearer_token(tmp_path, mosquitto):
    with Simulator(check_jwt="absent") as sim:
        config = write_config(tmp_path, sim, mosquitto)
        assert main(["run", "-c", str(config), "--once"]) == 0
        requests_, auth = sim.request_counts, sim.auth_counts
    serial = sim.serial
    sub = Subscriber(mosquitto.host, mosquitto.port, topics=(f"envoy/{serial}/#",))
    try:
        state = json.loads(sub.wait_topic(f"envoy/{serial}/state"))
        diagnostics = json.loads(sub.wait_topic(f"envoy/{serial}/diagnostics"))
    finally:
        sub.close()
    assert state["production"]["power_w"] is not None
    assert (diagnostics["token_type"], diagnostics["token_source"]) == ("owner", "cloud")
    assert requests_[CHECK_JWT] == 2  # GET and POST: 404 both, never asked again
    assert auth.get("cookie", 0) == 0  # no session: every request but /info carried the token
    assert auth["bearer"] == sum(requests_.values()) - requests_["/info"]


def test_a_post_only_gateway_and_its_reboot_cost_a_session_not_a_token(tmp_path, mosquitto):
    with Simulator(scenario="metered", time_factor=60, start="11:00", check_jwt="post") as sim:
        config = write_config(tmp_path, sim, mosquitto, poll={"meters": 5, "grid": 5})
        state_topic = f"envoy/{sim.serial}/state"
        sub = Subscriber(mosquitto.host, mosquitto.port)

        def states() -> int:
            return sum(topic == state_topic for topic, _ in sub.history)

        try:
            with running_bridge(config, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
                wait_for(states, timeout=30, message="the first state")
                assert sim.request_counts[CHECK_JWT] == 2  # GET (405), then POST
                assert sim.auth_counts.get("cookie", 0) > 0  # the POST's session carries the data
                cloud, sessions = dict(sim.cloud_counts), sim.request_counts[CHECK_JWT]
                sim.trigger("reboot", refuse_s=2, unavailable_s=2)  # its sessions are gone
                wait_for(lambda: sim.request_counts[CHECK_JWT] > sessions, timeout=60, message="a new session")
                published = states()
                wait_for(lambda: states() > published, timeout=30, message="a state after the reboot")
                assert sim.cloud_counts == cloud  # no cloud login, no new token
        finally:
            sub.close()
