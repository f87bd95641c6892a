"""Hostile input on the broker side (issue 11, findings 1, 9, 11 and 16), with real Mosquitto
processes, the HTTPS simulator and the real bridge in-process.

Anyone who may publish on the broker may leave a retained poison on the discovery prefix, flood
Home Assistant's birth topic, or overwrite the bridge's own topics; the broker itself may accept
TCP and never answer. Pass means: the bridge keeps publishing for every healthy gateway, it
publishes nothing outside its own topics (read from the broker's log), the values on the broker
are the bridge's, and each case writes one clear line, not one per message.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import paho.mqtt.client as mqtt
import pytest

from bridge.app import Bridge
from bridge.config import HomeAssistantConfig, MqttConfig
from bridge.health import paho_thread_alive
from bridge.mqtt.publisher import Publisher
from bridge.mqtt.readback import Readback
from bridge.simulator import Simulator
from tests.reliability.rig import FAST, bridge_config, cloud_config, gateway_config
from tests.support.mqtt import Mosquitto, Subscriber, bridge_node, free_port, wait_for

# The bridge's own availability: this host's instance (mqtt.instance_id defaults to the host name).
BRIDGE = MqttConfig().availability_topic

pytestmark = pytest.mark.integration

SECRET = b"one Enphase cloud signs for both gateways"
PUBLISH_LINE = re.compile(r"Received PUBLISH from (\S+) \(d\d, q\d, r\d, m\d+, '(.*)', \.\.\. \((\d+) bytes\)\)")
NESTED = b"[" * 100_000 + b"]" * 100_000  # the retained poison


@pytest.fixture(autouse=True)
def info_logs(caplog):
    caplog.set_level(logging.INFO)


@pytest.fixture(scope="module")
def sims() -> Iterator[list[Simulator]]:
    """Two healthy gateways; the first simulator's cloud signs the tokens of both."""
    started = [Simulator(serial=f"99900000020{i}", token_secret=SECRET).start() for i in range(2)]
    yield started
    for sim in started:
        sim.stop()


@dataclass
class Running:
    broker: Mosquitto
    bridge: Bridge
    sims: list[Simulator]
    watch: Subscriber

    @property
    def publisher(self) -> Publisher:
        return self.bridge.publisher

    def states(self, sim: Simulator) -> int:
        return sum(t == f"envoy/{sim.serial}/state" for t, _ in list(self.watch.history))

    def keeps_publishing(self, timeout: float = 20.0) -> None:
        """Every gateway's state goes on arriving: two more messages each than seen now."""
        before = {sim.serial: self.states(sim) for sim in self.sims}
        wait_for(
            lambda: all(self.states(sim) >= before[sim.serial] + 2 for sim in self.sims),
            timeout,
            message="more states of every gateway",
        )
        assert paho_thread_alive(self.publisher) is True

    def keeps_offering(self, timeout: float = 20.0) -> None:
        """With the default republish interval unchanged states are not sent again: every gateway
        is still polled and each poll still reaches the publisher, which stays connected."""
        polls = {sim.serial: sim.request_counts.get("/ivp/meters/readings", 0) for sim in self.sims}
        offered = self.publisher.stats["published"] + self.publisher.stats["unchanged"]
        wait_for(
            lambda: (
                all(sim.request_counts.get("/ivp/meters/readings", 0) >= polls[sim.serial] + 2 for sim in self.sims)
                and self.publisher.stats["published"] + self.publisher.stats["unchanged"] >= offered + 4
            ),
            timeout,
            message="more polls of every gateway, offered to the publisher",
        )
        assert self.publisher.connected and paho_thread_alive(self.publisher) is True

    def own_topics_only(self) -> None:
        """What the bridge's client published, read from the broker's log: its own topics only."""
        topics = bridge_publishes(self.broker, self.publisher.cfg.client_id)
        assert topics
        serials = {sim.serial for sim in self.sims}
        for topic in topics:
            levels = topic.split("/")
            if levels[0] == "envoy":
                assert levels[1] in serials | {"bridge"}, topic
            else:
                nodes = serials | {bridge_node()}
                assert levels[0] == "homeassistant" and levels[2] in nodes and levels[-1] == "config", topic


def bridge_publishes(broker: Mosquitto, client_id: str) -> list[str]:
    return [m[1] for m in PUBLISH_LINE.findall(broker.log()) if m[0] == client_id]


@contextmanager
def running(tmp_path, sims, broker, *, republish_interval: float = 1.0, **ha) -> Iterator[Running]:
    gateways = [gateway_config(sim, tmp_path) for sim in sims]
    config = bridge_config(
        gateways, tmp_path, cloud=cloud_config(sims[0]), broker=broker, poll=FAST, republish_interval=republish_interval
    )
    config = replace(config, homeassistant=HomeAssistantConfig(**ha))
    publisher = Publisher(config.mqtt, config.homeassistant, readback_window=0.5, rng=lambda low, high: low)
    watch = Subscriber(broker.host, broker.port, topics=("envoy/#", "homeassistant/+/+/+/config"))
    bridge = Bridge(config, publisher=publisher).start()
    ticker = threading.Thread(target=bridge.run_forever, daemon=True)
    ticker.start()
    run = Running(broker, bridge, sims, watch)
    try:
        wait_for(lambda: all(run.states(sim) for sim in sims), 30, message="every gateway's first state")
        yield run
    finally:
        bridge.stop(flush_s=2)
        ticker.join(5)
        watch.close()


@contextmanager
def attacker(broker: Mosquitto) -> Iterator[mqtt.Client]:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"attacker-{free_port()}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        yield client
    finally:
        client.loop_stop()
        client.disconnect()


def loud(caplog, needle: str = "", level: int = logging.WARNING) -> list[str]:
    return [m for r in caplog.records if r.levelno >= level and needle in (m := r.getMessage())]


# --- 1: a retained poison on the discovery prefix ---------------------------------------------------


def test_h11_1_deeply_nested_retained_config_does_not_stop_the_bridge_at_start(tmp_path, sims, caplog):
    broker = Mosquitto(tmp_path).start()
    ours = json.dumps({"availability": [{"topic": BRIDGE}]}).encode()[:-1]
    try:
        with attacker(broker) as evil:  # left on the broker before the bridge starts
            for topic, payload in {
                "homeassistant/sensor/evil/nested/config": NESTED,
                "homeassistant/sensor/evil/deep/config": ours + b',"x":' + b"[" * 5000 + b"]" * 5000 + b"}",
                "homeassistant/sensor/evil/huge/config": ours + b',"x":"' + b"a" * 300_000 + b'"}',
            }.items():
                evil.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
        with running(tmp_path, sims, broker) as run:
            assert run.publisher.wait_discovery_ready(10)
            run.keeps_publishing()  # after the read-back: paho's thread survived it
            for sim in sims:
                wait_for(lambda s=sim: run.watch.get(f"homeassistant/sensor/{s.serial}/production/config"), 10)
                assert json.loads(run.watch.get(f"envoy/{sim.serial}/state"))["serial"] == sim.serial
            assert run.publisher.guard.failures == 0  # not even caught: never parsed that deep
            run.own_topics_only()
        lines = loud(caplog)
        assert len(lines) == 1 and "ignored 2 retained configs under homeassistant/" in lines[0], lines
    finally:
        broker.stop()


def test_h11_1_any_exception_in_a_paho_callback_is_logged_once_and_publishing_goes_on(
    tmp_path, sims, caplog, monkeypatch
):
    """The edge of every callback: the read-back's parser of old raised RecursionError here."""

    def old_read_back(self, message):
        json.loads(message.payload)  # what it did before the bounds: raises on the poison

    monkeypatch.setattr(Readback, "keep", old_read_back)
    broker = Mosquitto(tmp_path).start()
    try:
        with attacker(broker) as evil:
            for i in range(200):  # a flood of poisoned configs: one line, not 200
                evil.publish(f"homeassistant/sensor/evil/{i}/config", NESTED, qos=1, retain=True).wait_for_publish(5)
        with running(tmp_path, sims, broker) as run:
            assert run.publisher.wait_discovery_ready(10)
            wait_for(lambda: run.publisher.guard.failures >= 200, 20, message="every poisoned config read back")
            run.keeps_publishing()
            run.own_topics_only()
        failures = loud(caplog, "on_message failed", logging.ERROR)
        assert len(failures) == 1 and "RecursionError" in failures[0] and "carries on" in failures[0]
    finally:
        broker.stop()


# --- 9: a flood of spoofed birth messages -----------------------------------------------------------


def test_h11_9_a_flood_of_birth_messages_costs_one_republish_per_interval_and_one_line(tmp_path, sims, caplog):
    interval = 12.0
    broker = Mosquitto(tmp_path).start()
    try:
        with running(tmp_path, sims, broker, birth_republish_min_interval=interval) as run:
            assert run.publisher.wait_discovery_ready(10)
            configs = "homeassistant/sensor/{}/production/config"

            def announced() -> int:
                return sum(t == configs.format(sims[0].serial) for t, _ in list(run.watch.history))

            wait_for(lambda: announced() == 1, 10, message="the first announcement")
            started = time.monotonic()
            with attacker(broker) as evil:
                while (elapsed := time.monotonic() - started) < 10.0:  # 1,000 births a second, 10 s
                    sent = int(elapsed * 1000)
                    for _ in range(10):
                        evil.publish("homeassistant/status", b"online", qos=0)
                    time.sleep(max(0.0, (sent + 10) / 1000 - (time.monotonic() - started)))
            births = run.publisher._births.stats
            wait_for(lambda: births["republishes"] == 2, interval + 5, message="the answer put off to the interval")
            time.sleep(1.0)  # a third answer would be on its way by now
            assert births["births"] >= 5_000 and births["republishes"] == 2
            assert announced() == 3  # the first announcement and two answers, for 10 s of flood
            run.keeps_publishing()
            run.own_topics_only()
        assert len(loud(caplog, "came online", logging.INFO)) == 1
        flood = loud(caplog, "birth messages in the last", logging.INFO)
        assert len(flood) == 1 and "answered with 2 full republish(es) in all" in flood[0], flood
        assert "Is another client publishing on the birth topic?" in flood[0]
    finally:
        broker.stop()


# --- 11: a broker that accepts TCP and never answers ------------------------------------------------


@contextmanager
def silent_server(port: int, close_at_once: bool = False) -> Iterator[list[socket.socket]]:
    """A plain TCP server on loopback that accepts and says nothing (or hangs up at once)."""
    accepted: list[socket.socket] = []
    server = socket.create_server(("127.0.0.1", port))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(conn)
            if close_at_once:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield accepted
    finally:
        stop.set()
        thread.join(2)
        server.close()
        for conn in accepted:
            conn.close()


def silent_publisher(port: int, **kw) -> Publisher:
    cfg = MqttConfig(host="127.0.0.1", port=port, client_id=f"hostile-{port}", base_topic="t")
    return Publisher(cfg, HomeAssistantConfig(), **kw)


def test_h11_11_a_broker_that_never_sends_connack_gets_one_error_line_then_paho_reconnects(tmp_path, caplog):
    port = free_port()
    publisher = silent_publisher(port, connack_timeout=2.0)
    try:
        with silent_server(port) as accepted:
            started = time.monotonic()
            publisher.start()
            wait_for(lambda: loud(caplog, "CONNACK", logging.ERROR), 10, message="the error line")
            said_after = time.monotonic() - started
            assert 1.9 <= said_after < 6, said_after  # was: nothing for ten minutes
            wait_for(lambda: len(accepted) >= 3, 30, message="paho's reconnects")
            lines = loud(caplog, level=logging.ERROR)
            assert len(lines) == 1, lines
            assert f"broker 127.0.0.1:{port} accepted the connection but sent no CONNACK within 2 s" in lines[0]
            assert publisher.monitor.stats["unanswered"] >= 2 and not publisher.connected
        broker = Mosquitto(tmp_path, port=port).start()  # a real broker on that port now
        try:
            assert publisher.wait_connected(30)
            assert loud(caplog, f"connected to 127.0.0.1:{port} again", logging.INFO)
        finally:
            publisher.stop()
            broker.stop()
    finally:
        publisher.stop()


def test_h11_11_a_server_that_hangs_up_at_once_gets_one_error_line(caplog):
    port = free_port()
    publisher = silent_publisher(port)
    try:
        with silent_server(port, close_at_once=True) as accepted:
            publisher.start()
            wait_for(lambda: len(accepted) >= 3, 30, message="three attempts")
            lines = loud(caplog, level=logging.ERROR)
            assert len(lines) == 1 and "ended the connection without answering the MQTT CONNECT" in lines[0], lines
    finally:
        publisher.stop()


# --- 16: the bridge's own topics overwritten by someone else ---------------------------------------


def retained(broker: Mosquitto, topic: str, timeout: float = 5.0) -> bytes:
    """What a subscriber arriving now reads on `topic`."""
    late = Subscriber(broker.host, broker.port, topics=(topic,))
    try:
        return late.wait_topic(topic, timeout)
    finally:
        late.close()


def test_h11_16_availability_discovery_and_state_overwritten_by_someone_else_are_restored(tmp_path, sims, caplog):
    broker = Mosquitto(tmp_path).start()
    serial = sims[0].serial
    try:
        # The default republish interval: nothing but the restore would put these right for 5 min.
        with running(tmp_path, sims, broker, republish_interval=300.0) as run:
            assert run.publisher.wait_discovery_ready(10)
            config_topic = f"homeassistant/sensor/{serial}/production/config"
            config = wait_for(lambda: run.watch.get(config_topic), 10)
            state_topic = f"envoy/{serial}/state"
            lies = {
                f"envoy/{serial}/availability": b"offline",
                BRIDGE: b"offline",
                config_topic: config.replace(b'"name":', b'"name":"hijacked","x":'),
                state_topic: json.dumps({"serial": serial, "production_w": 9_999_999}).encode(),
            }
            with attacker(broker) as evil:
                for topic, lie in lies.items():
                    evil.publish(topic, lie, qos=1, retain=True).wait_for_publish(5)
            assert wait_for(lambda: retained(broker, f"envoy/{serial}/availability") == b"online", 10, interval=0.3)
            assert wait_for(lambda: retained(broker, BRIDGE) == b"online", 10, interval=0.3)
            assert wait_for(lambda: retained(broker, config_topic) == config, 10, interval=0.3)
            held = lambda: run.publisher._state[state_topic].encode()  # noqa: E731
            assert wait_for(lambda: retained(broker, state_topic) == held(), 10, interval=0.3)  # the gateway's numbers
            assert run.publisher._restorer.stats["restores"] >= len(lies)
            run.keeps_offering()
            run.own_topics_only()
        restores = loud(caplog, "another client overwrote")
        assert len(restores) == 1, restores  # one line for the four; the rest are counted
        assert not loud(caplog, "another instance")
    finally:
        broker.stop()


def make_publisher(broker: Mosquitto, **kw) -> Publisher:
    cfg = MqttConfig(host=broker.host, port=broker.port, client_id=f"hostile-{free_port()}", base_topic="t")
    return Publisher(cfg, HomeAssistantConfig(), rng=lambda low, high: low, readback_window=0.3, **kw)


def test_h11_16_a_removal_the_bridge_made_itself_is_never_fought_over(mosquitto, caplog):
    publisher = make_publisher(mosquitto)
    try:
        publisher.start()
        assert publisher.wait_connected(5) and publisher.wait_discovery_ready(5)
        kept, gone = "homeassistant/sensor/gw/a/config", "homeassistant/sensor/gw/b/config"
        publisher.sync_discovery("gw", {kept: '{"name":"a"}', gone: '{"name":"b"}'})
        publisher.sync_discovery("gw", {kept: '{"name":"a"}'})  # b vanished: removed by the bridge
        assert publisher.flush(5)
        with attacker(mosquitto) as other:
            other.publish(gone, b'{"name":"b, from someone else"}', qos=1, retain=True).wait_for_publish(5)
        time.sleep(1.0)  # a wrong reaction would come within this
        assert retained(mosquitto, gone) == b'{"name":"b, from someone else"}'
        assert publisher._restorer.stats["overwrites"] == 0 and not loud(caplog)
    finally:
        publisher.stop()


def test_h11_16_two_bridges_on_one_base_topic_do_not_restore_each_other_at_full_speed(mosquitto, caplog):
    first, second = make_publisher(mosquitto, restore_interval=2.0), make_publisher(mosquitto, restore_interval=2.0)
    watch = Subscriber(mosquitto.host, mosquitto.port, topics=("t/gw/state",))
    try:
        for publisher in (first, second):
            publisher.start()
            assert publisher.wait_connected(5)
        started = time.monotonic()
        first.publish_state("t/gw/state", '{"w":1}')
        second.publish_state("t/gw/state", '{"w":2}')
        time.sleep(8.0)
        sent = sum(t == "t/gw/state" for t, _ in list(watch.history))
        # 2 + at most one restore each per 2 s; without the limit: thousands a second.
        assert sent <= 2 + 2 * (8.0 / 2.0 + 2), sent
        duplicates = loud(caplog, "another instance", logging.ERROR)
        assert len(duplicates) == 2, duplicates  # one line per bridge, once
        assert time.monotonic() - started < 15
    finally:
        watch.close()
        second.stop()
        first.stop()
