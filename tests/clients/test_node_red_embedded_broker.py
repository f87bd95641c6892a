"""The real Node-RED 4.1 (scripts/install-node-red, cached) on the demo's embedded broker, as a
user points it there, watched by a real paho client.

Node-RED runs a small flow of its own: a broker config node with a birth and a will (`online` /
`offline`, retained, on nr/status), `mqtt in` nodes on the wildcards test/# and plus/+/x at
QoS 1, and a function that reports what each message looked like to Node-RED (topic, payload,
retain flag, QoS) back through `mqtt out` at QoS 1, retained, on nr/seen/<topic>. The paho
client reads those reports: retained messages (delivered late, cleared by an empty one),
both wildcards, QoS 1 both ways, reconnecting after the broker restarts on its port, and the
will when Node-RED dies.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from bridge.demo.broker import EmbeddedBroker
from tests.support.mqtt import Subscriber, free_port, wait_for
from tests.support.node_red import node_red_binary, start_node_red
from tests.support.processes import stop_process

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RECONNECT_S = 3  # Node-RED's wait before reconnecting (mqttReconnectTime)
TIMEOUT = 15.0


def flow(port: int) -> list[dict[str, Any]]:
    broker = {
        "id": "broker",
        "type": "mqtt-broker",
        "name": "embedded",
        "broker": "127.0.0.1",
        "port": str(port),
        "clientid": "node-red-embedded-test",
        "autoConnect": True,
        "usetls": False,
        "protocolVersion": "4",
        "keepalive": "15",
        "cleansession": True,
        "autoUnsubscribe": True,
        "birthTopic": "nr/status",
        "birthQos": "1",
        "birthRetain": "true",
        "birthPayload": "online",
        "birthMsg": {},
        "closeTopic": "",
        "closeQos": "0",
        "closePayload": "",
        "closeMsg": {},
        "willTopic": "nr/status",
        "willQos": "1",
        "willRetain": "true",
        "willPayload": "offline",
        "willMsg": {},
        "userProps": "",
        "sessionExpiry": "",
    }
    report = (
        "const seen = {topic: msg.topic, payload: msg.payload, retain: msg.retain, qos: msg.qos};\n"
        "return {topic: 'nr/seen/' + msg.topic, payload: JSON.stringify(seen)};"
    )
    nodes: list[dict[str, Any]] = [
        {"id": "tab", "type": "tab", "label": "embedded broker"},
        broker,
        {"id": "report", "type": "function", "z": "tab", "func": report, "outputs": 1, "wires": [["out"]]},
        {"id": "out", "type": "mqtt out", "z": "tab", "topic": "", "qos": "1", "retain": "true", "broker": "broker"},
    ]
    for node_id, topic in (("in_hash", "test/#"), ("in_plus", "plus/+/x")):
        nodes.append(
            {
                "id": node_id,
                "type": "mqtt in",
                "z": "tab",
                "topic": topic,
                "qos": "1",
                "datatype": "utf8",
                "broker": "broker",
                "nl": False,
                "rap": True,
                "rh": 0,
                "inputs": 0,
                "wires": [["report"]],
            }
        )
    return nodes


def publish(port: int, topic: str, payload: str, retain: bool = False) -> None:
    """One QoS 1 message from a paho client of its own, returning once the broker acknowledged it."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{free_port()}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        info = client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(TIMEOUT)
        assert info.is_published(), f"no PUBACK for {topic}"
    finally:
        client.disconnect()
        client.loop_stop()


class Reports:
    """What Node-RED said it received, read from its nr/seen/<topic> messages."""

    def __init__(self, watcher: Subscriber, log: Path):
        self.watcher, self.log = watcher, log

    def get(self, topic: str) -> dict[str, Any] | None:
        payload = self.watcher.get(f"nr/seen/{topic}")
        return json.loads(payload) if payload else None

    def wait(self, topic: str, payload: str) -> dict[str, Any]:
        def arrived() -> dict[str, Any] | None:
            report = self.get(topic)
            return report if report and report["payload"] == payload else None

        try:
            return wait_for(arrived, TIMEOUT, message=f"Node-RED's report of {topic} = {payload!r}")
        except AssertionError as err:
            raise AssertionError(f"{err}\nNode-RED's log ends:\n{self.log.read_text()[-1500:]}") from None


def test_node_red_on_the_embedded_broker(tmp_path):
    binary = node_red_binary()
    port = free_port()
    broker = EmbeddedBroker("127.0.0.1", port).start()
    node_red = None
    watcher = Subscriber("127.0.0.1", port, topics=("nr/#",))  # at QoS 1, again on every reconnect
    log = tmp_path / "node-red.log"
    reports = Reports(watcher, log)
    try:
        # retained before Node-RED starts: one kept per wildcard, one cleared by an empty message
        publish(port, "test/retained", "r1", retain=True)
        publish(port, "plus/a/x", "p1", retain=True)
        publish(port, "test/cleared", "c1", retain=True)
        publish(port, "test/cleared", "", retain=True)
        node_red = start_node_red(binary, tmp_path / "node-red", flow(port), log, mqttReconnectTime=RECONNECT_S * 1000)
        wait_for(lambda: watcher.get("nr/status") == b"online", timeout=60, message="Node-RED's birth message")
        assert reports.wait("test/retained", "r1") == {
            "topic": "test/retained",
            "payload": "r1",
            "retain": True,
            "qos": 1,
        }
        assert reports.wait("plus/a/x", "p1")["retain"] is True

        # live, at QoS 1, through both wildcards; Node-RED's own publishes reach paho at QoS 1
        publish(port, "plus/b/y", "no")  # matches neither filter
        publish(port, "plus/b/x", "p2")
        publish(port, "test/live/deep", "l1")
        assert reports.wait("test/live/deep", "l1") == {
            "topic": "test/live/deep",
            "payload": "l1",
            "retain": False,
            "qos": 1,
        }
        assert reports.wait("plus/b/x", "p2")["qos"] == 1
        assert watcher.qos["nr/seen/test/live/deep"] == 1
        assert reports.get("plus/b/y") is None and reports.get("test/cleared") is None

        # the broker goes away and a new one comes up on the same port; a message retained there
        # before Node-RED is back reaches it on its return, as retained
        stopped_at = time.monotonic()
        broker.stop()
        broker = EmbeddedBroker("127.0.0.1", port).start()
        publish(port, "test/after", "a1", retain=True)
        assert time.monotonic() - stopped_at < RECONNECT_S, "too slow to be sure Node-RED was not back yet"
        assert reports.wait("test/after", "a1") == {"topic": "test/after", "payload": "a1", "retain": True, "qos": 1}
        assert watcher.history.count(("nr/status", b"online")) >= 2  # the birth again
        assert ("nr/status", b"offline") not in watcher.history  # a broker restart sends no will

        # Node-RED dies without a word: its will goes out, and stays for those who come later
        os.killpg(node_red.pid, signal.SIGKILL)
        node_red.wait(TIMEOUT)
        wait_for(lambda: watcher.get("nr/status") == b"offline", TIMEOUT, message="Node-RED's will")
        late = Subscriber("127.0.0.1", port, topics=("nr/status",))
        try:
            assert late.wait_topic("nr/status", TIMEOUT) == b"offline" and late.retained["nr/status"]
        finally:
            late.close()
    finally:
        watcher.close()
        if node_red is not None:
            stop_process(node_red)
        broker.stop()
