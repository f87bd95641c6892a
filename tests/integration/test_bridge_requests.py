"""Issue 16 end to end: requests from a real paho client over a real Mosquitto, the bridge
in-process (its real publisher and workers), the simulated gateway and cloud over HTTPS; and
the retained `bridge/info` and the `bridge/health` every second (a short interval here)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from bridge.app import Bridge
from bridge.config import MqttConfig, load_config
from bridge.simulator import Simulator
from tests.support.mqtt import Subscriber, free_port, wait_for
from tests.support.processes import in_process, write_config

pytestmark = pytest.mark.integration

HEALTH, INFO = MqttConfig().bridge_topic("health"), MqttConfig().bridge_topic("info")  # as write_config leaves them


class Requester:
    """Sends requests with a transaction and waits for the response that carries it."""

    def __init__(self, broker: Any, sub: Subscriber) -> None:
        self.sub, self.count = sub, 0
        self.paho = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-req-{free_port()}")
        self.paho.connect(broker.host, broker.port)
        self.paho.loop_start()

    def send(self, verb: str, payload: str, retain: bool = False) -> None:
        self.paho.publish(f"envoy/bridge/request/{verb}", payload, qos=1, retain=retain).wait_for_publish(5)

    def __call__(self, verb: str, timeout: float = 30.0, **body: Any) -> dict[str, Any]:
        self.count += 1
        transaction = f"t{self.count}"
        self.send(verb, json.dumps({**body, "transaction": transaction}))
        return wait_for(lambda: self.response(verb, transaction), timeout, message=f"the response to {verb}")

    def responses(self, verb: str) -> list[dict[str, Any]]:
        return [json.loads(p) for t, p in self.sub.history if t == f"envoy/bridge/response/{verb}"]

    def response(self, verb: str, transaction: object) -> dict[str, Any] | None:
        return next((r for r in self.responses(verb) if r["transaction"] == transaction), None)

    def close(self) -> None:
        self.paho.loop_stop()


@contextmanager
def requesting(tmp_path: Path, broker: Any) -> Iterator[tuple[Requester, Subscriber, Simulator]]:
    with Simulator(scenario="three_phase_battery", time_factor=1, start="11:00") as sim:
        sub = Subscriber(broker.host, broker.port, topics=("envoy/#",))
        requester = Requester(broker, sub)
        requester.send("poll", json.dumps({"transaction": "retained"}), retain=True)  # an old one, kept
        config = load_config(write_config(tmp_path, sim, broker), {})
        try:
            with in_process(Bridge(config, health_interval_s=1)):
                sub.wait_topic(f"envoy/{sim.serial}/state", timeout=60)
                yield requester, sub, sim
        finally:
            requester.send("poll", "", retain=True)  # the broker forgets it
            requester.close()
            sub.close()


def test_every_verb_is_answered_and_bad_requests_get_an_error(tmp_path, mosquitto, caplog):
    caplog.set_level(logging.INFO, logger="bridge")
    with requesting(tmp_path, mosquitto) as (request, sub, sim):
        outcomes = {
            "health_check": request("health_check"),
            "poll": request("poll", gateway=sim.serial),
            "poll too soon": request("poll", gateway=sim.serial),
            "read": request("read", gateway=sim.serial, path="/ivp/ensemble/inventory"),
            "read a URL": request("read", gateway=sim.serial, path="https://example.com/"),
            "rediscover": request("rediscover", gateway=sim.serial),
            "renew_token": request("renew_token", gateway=sim.serial),
            "no such gateway": request("renew_token", gateway="000000000000", instance=MqttConfig().instance),
            "log_level": request("log_level", level="debug"),
            "log_level unknown": request("log_level", level="LOUD"),
        }
        request.send("renew_token", '{"gateway": "000000000000", "transaction": "elsewhere"}')  # another bridge's
        request.send("reboot", '{"transaction": "x"}')
        unknown = wait_for(lambda: request.response("reboot", "x"), 10)
        request.send("poll", "{not json")
        bad_json = wait_for(lambda: request.response("poll", None), 10)
        log_level_after = logging.getLogger().level
        logging.getLogger().setLevel(logging.INFO)
    status = {name: outcome["status"] for name, outcome in outcomes.items()}
    assert status == {
        "health_check": "ok",
        "poll": "ok",
        "poll too soon": "error",
        "read": "ok",
        "read a URL": "error",
        "rediscover": "ok",
        "renew_token": "ok",
        "no such gateway": "error",
        "log_level": "ok",
        "log_level unknown": "error",
    }
    assert outcomes["health_check"]["data"]["healthy"] is True
    assert outcomes["poll"]["data"]["delivered"] is True
    assert outcomes["poll too soon"]["error"].startswith("too soon")
    assert "/ivp/meters/readings" in outcomes["rediscover"]["data"]["endpoints"]
    assert outcomes["renew_token"]["data"]["token_days_left"] > 300
    assert log_level_after == logging.DEBUG
    read = json.dumps(outcomes["read"])
    assert sim.serial not in read and "eyJ" not in read and "serial_num" in read  # masked, not dropped
    assert outcomes["read"]["data"]["document"][0]["devices"]  # the document itself is there
    assert unknown["status"] == "error" and "unknown verb" in unknown["error"]
    assert bad_json["status"] == "error" and "not a JSON object" in bad_json["error"]
    assert request.response("poll", "retained") is None  # the retained request never ran
    assert request.response("renew_token", "elsewhere") is None  # left to the bridge that serves it
    refusals = [
        r.getMessage() for r in caplog.records if "Requests: " in r.getMessage() and "refused" in r.getMessage()
    ]
    assert sum("unknown verb" in line for line in refusals) == 1
    assert sum("not a JSON object" in line for line in refusals) == 1
    assert "ignoring the retained request" in caplog.text
    assert not any(sub.retained[t] for t in sub.retained if "/bridge/response/" in t)


def test_info_is_retained_and_masked_and_health_counts_the_requests(tmp_path, mosquitto):
    with requesting(tmp_path, mosquitto) as (_, sub, sim):

        def counted() -> dict[str, Any] | None:
            health = json.loads(sub.get(HEALTH) or b"{}")
            gateway = health.get("gateways", {}).get(sim.serial, {})
            live = gateway.get("endpoints", {}).get("/ivp/livedata/status", {})  # read every second here
            return health if live.get("requests", 0) >= 3 and gateway.get("latency_p99_s") else None

        health = wait_for(counted, 30)
        info = json.loads(sub.wait_topic(INFO))
        late = Subscriber(mosquitto.host, mosquitto.port, topics=(INFO,))
        try:
            late_info = json.loads(late.wait_topic(INFO))  # a late subscriber has it at once
        finally:
            late.close()
    assert late.retained[INFO] and late_info == info
    assert info["gateways"][0]["serial"] == sim.serial and info["gateways"][0]["firmware"]
    gateway_config = info["config"]["gateways"][0]
    assert gateway_config["password"] == gateway_config["username"] == "********"
    assert sim.cloud_password not in json.dumps(info) and sim.cloud_user not in json.dumps(info)
    gateway = health["gateways"][sim.serial]
    assert gateway["online"] is True and gateway["token_source"] == "cloud" and gateway["token_days_left"] > 300
    assert gateway["requests"] > gateway["failures"] >= 0 and gateway["endpoints"]["/ivp/meters"]["requests"] >= 1
    readings = gateway["endpoints"]["/ivp/livedata/status"]
    assert readings["requests"] >= 3 and readings["failures"] == 0 and readings["auth_refused"] == 0
    assert 0 < readings["latency_p50_s"] <= readings["latency_p99_s"]
    assert health["mqtt"]["sent"] > 0 and health["mqtt"]["connected"] is True and health["uptime_s"] >= 1
