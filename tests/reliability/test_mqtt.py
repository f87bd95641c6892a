"""Group F (and N5, B10) of docs/reliability.md: the broker misbehaves, with real Mosquitto
processes started, killed, frozen and restarted by the test, and the real bridge (in-process,
or as a process where the behaviour lives in the process: SIGTERM, kill -9).

Pass means: no crash, one clear line per transition, and after recovery the broker holds the
latest value of every topic (availability, discovery, state), with bounded queues meanwhile.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import time
from contextlib import contextmanager

import paho.mqtt.client as mqtt
import pytest

from bridge.app import Bridge
from bridge.config import HomeAssistantConfig, MqttConfig, load_config
from bridge.mqtt.publisher import Publisher
from bridge.simulator import CA_FILE, IMPOSTOR_CERT, SERVER_CERT, SERVER_KEY, Simulator
from tests.reliability.rig import FAST, expected_topics, fast_config, publisher_outage
from tests.support import processes
from tests.support.clock import FakeClock
from tests.support.mqtt import Mosquitto, Subscriber, bridge_node, free_port, wait_for

# The bridge's own availability: this host's instance (mqtt.instance_id defaults to the host name).
BRIDGE = MqttConfig().availability_topic

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def info_logs(caplog):
    caplog.set_level(logging.INFO)


@pytest.fixture
def sim():
    with Simulator() as simulator:
        yield simulator


def config_republish_interval() -> float:
    from bridge.config import MqttConfig

    return MqttConfig().republish_interval


@contextmanager
def running_bridge(config, **publisher_kw):
    publisher = Publisher(config.mqtt, config.homeassistant, **publisher_kw)
    with processes.in_process(Bridge(config, publisher=publisher)) as bridge:
        yield bridge


def make_publisher(broker, **kw) -> Publisher:
    settings = {"host": broker.host, "port": broker.port, "client_id": f"reliability-{free_port()}", "base_topic": "t"}
    settings.update(kw)
    return Publisher(MqttConfig(**settings), HomeAssistantConfig(), rng=lambda a, b: 0.0)


def records(caplog, level=logging.WARNING, needle=""):
    """The publisher's lines (not those of another test's threads that are still winding down)."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bridge.publisher" and r.levelno >= level and needle in r.getMessage()
    ]


def everything_arrives(broker, sim, timeout=20.0) -> Subscriber:
    sub = Subscriber(broker.host, broker.port)
    wait_for(lambda: expected_topics(sim) <= set(sub.messages), timeout, message="every topic")
    assert sub.get(BRIDGE) == b"online"
    assert sub.get(f"envoy/{sim.serial}/availability") == b"online"
    return sub


def test_f1_broker_down_at_start_bridge_polls_then_publishes_everything(tmp_path, sim, caplog):
    broker = Mosquitto(tmp_path)  # not started yet
    with running_bridge(fast_config(sim, tmp_path, broker)) as bridge:
        wait_for(lambda: sim.request_counts.get("/ivp/meters/readings", 0) >= 3, 20, message="polls")
        assert not bridge.publisher.connected  # polling does not wait for the broker
        errors = records(caplog, logging.ERROR, "MQTT")
        assert len(errors) == 1 and "cannot reach broker" in errors[0] and "connection refused" in errors[0]
        broker.start()
        try:
            started = time.monotonic()
            sub = everything_arrives(broker, sim)
            assert time.monotonic() - started < 20  # paho's doubling delay, then one replay
            assert json.loads(sub.get(f"envoy/{sim.serial}/state"))["serial"] == sim.serial
            sub.close()
            assert len(records(caplog, logging.ERROR, "MQTT")) == 1
        finally:
            broker.stop()


def test_f1_l4_reminders_while_the_broker_stays_away_are_slow(caplog):
    """A day without the broker: one ERROR, then one INFO line every 10 minutes, nothing per attempt."""
    clock = FakeClock(0.0)
    pub = Publisher(MqttConfig(host="127.0.0.1", port=free_port(), client_id="x"), HomeAssistantConfig(), clock=clock)
    pub.monitor.starting()
    for second in range(0, 86_400, 5):  # the main loop ticks; paho fails to connect every 2 min
        clock.now = float(second)
        if second % 120 == 0:
            pub.monitor.connect_failed("connection refused")
        pub.tick()
    assert len(records(caplog, logging.WARNING)) == 1
    reminders = records(caplog, logging.INFO, "still not connected")
    assert len(reminders) == 86_400 // 600 - 1 and "holding the latest value" in reminders[0]


def test_f2_f3_broker_killed_and_restarted_without_persistence_gets_everything_again(tmp_path, sim, caplog):
    broker = Mosquitto(tmp_path).start()
    try:
        with running_bridge(fast_config(sim, tmp_path, broker), rng=lambda a, b: 0.0) as bridge:
            everything_arrives(broker, sim).close()
            broker.kill()  # no goodbye: the TCP connection just dies
            wait_for(lambda: not bridge.publisher.connected, 10, message="disconnect noticed")
            broker.start()  # empty: no persistence, no retained messages
            started = time.monotonic()
            sub = everything_arrives(broker, sim)
            recovered = time.monotonic() - started
            assert recovered < 15
            assert bridge.publisher.monitor.stats["connects"] == 2
            # One subscription to the birth topic after the reconnect, not two: one replay per birth.
            config_topic = f"homeassistant/sensor/{sim.serial}/production/config"
            before = sum(1 for t, _ in sub.history if t == config_topic)
            helper = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
            helper.connect(broker.host, broker.port)
            helper.loop_start()
            helper.publish("homeassistant/status", b"online", qos=1).wait_for_publish(5)
            wait_for(lambda: sum(1 for t, _ in sub.history if t == config_topic) > before, 10, message="replay")
            assert bridge.publisher.flush(5)
            time.sleep(0.3)  # a second, duplicate replay would arrive within this
            assert sum(1 for t, _ in sub.history if t == config_topic) == before + 1
            helper.loop_stop()
            helper.disconnect()
            sub.close()
        assert len(records(caplog, logging.WARNING, "connection to")) == 1
        assert records(caplog, logging.INFO, "connected to 127.0.0.1")
    finally:
        broker.stop()


def test_f4_broker_restarted_with_persistence_each_config_arrives_again_unchanged(tmp_path, sim):
    """The bridge does not rely on the broker's session (clean_session: paho keeps its session in
    memory only): it replays its own store, so each config arrives at least once, identical."""
    broker = Mosquitto(tmp_path, persistence=True).start()
    watcher = None
    try:
        with running_bridge(fast_config(sim, tmp_path, broker)) as bridge:
            everything_arrives(broker, sim).close()
            assert bridge.publisher.flush(5)  # discovery goes out in slices: all of it, before the stop
            broker.stop()  # a clean stop: the retained messages are saved
            wait_for(lambda: not bridge.publisher.connected, 10, message="disconnect noticed")
            broker.start()
            watcher = Subscriber(broker.host, broker.port, topics=("homeassistant/#",))
            wait_for(lambda: bridge.publisher.connected, 15, message="reconnect")
            assert bridge.publisher.flush(5)
            time.sleep(0.3)  # let the replay that the flush acknowledged reach the watcher too
        configs: dict[str, list[bytes]] = {}
        for topic, payload in watcher.history:
            configs.setdefault(topic, []).append(payload)
        assert configs, "no discovery after the restart"
        for topic, payloads in configs.items():
            assert len(payloads) >= 2, topic  # the persisted copy, then the bridge's replay
            assert len(set(payloads)) == 1, topic  # idempotent: the same config each time
    finally:
        if watcher:
            watcher.close()
        broker.stop()


def test_f5_a_day_without_broker_keeps_queues_and_memory_flat():
    result = publisher_outage(cycles=20_000, gateways=3)
    assert result["paho_queue"] == 0  # nothing goes to paho while disconnected
    assert result["held_topics"] == 3 * 4 + 1  # the latest value per topic, however long
    assert result["memory_growth_kib"] < 512
    assert result["skipped_offline"] == 20_000 * 3 * 4  # counted, not raised


def test_f5_frozen_broker_paho_queue_is_bounded_and_nothing_is_lost(tmp_path):
    broker = Mosquitto(tmp_path).start()
    pub = make_publisher(broker, max_queued_messages=50)
    sub = Subscriber(broker.host, broker.port, topics=("t/#",))
    try:
        pub.start()
        assert pub.wait_connected(5)
        broker.freeze()  # connected but deaf: nothing is acknowledged
        for i in range(300):
            pub.publish_state(f"t/gw/{i}", f"v{i}")
        assert pub.queued <= 50 and pub.stats["not_queued"] >= 250  # counted, not raised
        broker.thaw()
        for _ in range(10):  # each later poll offers every value again; refused ones go then
            assert pub.flush(10)
            for i in range(300):
                pub.publish_state(f"t/gw/{i}", f"v{i}")
            assert pub.queued <= 50
        assert pub.flush(10)
        wait_for(
            lambda: all(sub.get(f"t/gw/{i}") == f"v{i}".encode() for i in range(300)), 15, message="every latest value"
        )
    finally:
        broker.thaw()
        sub.close()
        pub.stop()
        broker.stop()


def test_f6_refused_credentials_one_clear_error_and_a_growing_backoff(tmp_path, caplog):
    broker = Mosquitto(tmp_path, users={"bridge": "right-password"}).start()
    pub = make_publisher(broker, username="bridge", password="wrong-password")
    try:
        started = time.monotonic()
        pub.start()
        wait_for(lambda: pub.monitor.stats["refusals"] >= 3, 15, message="three refusals")
        assert time.monotonic() - started >= 2.5  # waited 1 s, then 2 s: no tight loop
        errors = records(caplog, logging.ERROR)
        assert len(errors) == 1
        assert f"127.0.0.1:{broker.port}" in errors[0] and "Not authorized" in errors[0]
        assert "mqtt.username and mqtt.password" in errors[0] and "wrong-password" not in caplog.text
        assert broker.count("not authorised") == pub.monitor.stats["refusals"]
    finally:
        pub.stop()
    good = make_publisher(broker, username="bridge", password="right-password")
    try:
        good.start()
        assert good.wait_connected(5)
    finally:
        good.stop()
        broker.stop()


def test_f7_two_bridges_with_one_client_id_flap_and_one_error_says_so(tmp_path, caplog):
    broker = Mosquitto(tmp_path).start()
    first = make_publisher(broker, client_id="envoy-bridge-copy")
    second = make_publisher(broker, client_id="envoy-bridge-copy")
    try:
        first.start()
        assert first.wait_connected(5)
        second.start()  # takes the session over, then they take turns
        wait_for(lambda: records(caplog, logging.ERROR, "same client id"), 30, message="flapping detected")
        error = records(caplog, logging.ERROR, "same client id")[0]
        assert "'envoy-bridge-copy'" in error and "mqtt.client_id" in error
        assert len(records(caplog, logging.ERROR)) <= 2  # one per bridge, once
        flapping = first if first.monitor.flapping else second
        assert flapping._client._reconnect_min_delay >= 10  # and it backs off
    finally:
        second.stop()
        first.stop()
        broker.stop()


def test_f7_default_client_ids_are_unique_per_instance(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("gateways: [{host: envoy.local, tls: {insecure: true}}]\n")
    one, two = load_config(path, {}).mqtt.client_id, load_config(path, {}).mqtt.client_id
    host = re.sub(r"[^A-Za-z0-9-]", "", socket.gethostname())[:20]
    assert one != two and one.startswith(f"envoy-mqtt-bridge-{host}-")  # host + a random suffix


def test_f8_b10_home_assistant_birth_republishes_and_hostile_payloads_are_ignored(mosquitto, caplog):
    pub = make_publisher(mosquitto)
    sub = Subscriber(mosquitto.host, mosquitto.port)
    helper = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    try:
        pub.start()
        assert pub.wait_connected(5) and pub.wait_discovery_ready(5)
        pub.sync_discovery("gw", {"homeassistant/sensor/gw/a/config": "A"})
        pub.publish_state("t/gw/state", '{"power_w":1}')
        assert pub.flush(5)
        wait_for(lambda: sub.get("t/gw/state"), message="first state")
        sent = lambda topic: sum(1 for t, _ in sub.history if t == topic)  # noqa: E731
        helper.connect(mosquitto.host, mosquitto.port)
        helper.loop_start()
        hostile = [
            b"offline",
            b"ONLINE",
            b"online\n",
            b" online",
            b"",
            b"\xff\xfe\x00online",
            os.urandom(1024 * 1024),
            json.dumps({"state": "online"}).encode(),
            b"online" * 10_000,
        ]
        for payload in hostile:
            helper.publish("homeassistant/status", payload, qos=1).wait_for_publish(5)
        helper.publish("homeassistant/status", os.urandom(4096), qos=1, retain=True).wait_for_publish(5)
        time.sleep(0.5)  # give a wrong reaction the time to happen
        assert sent("homeassistant/sensor/gw/a/config") == 1 and sent("t/gw/state") == 1
        assert pub.connected and not records(caplog, logging.WARNING)
        helper.publish("homeassistant/status", b"online", qos=1).wait_for_publish(5)
        wait_for(
            lambda: sent("homeassistant/sensor/gw/a/config") == 2 and sent("t/gw/state") == 2,
            10,
            message="discovery and the latest state again after the birth message",
        )
    finally:
        helper.loop_stop()
        helper.disconnect()
        sub.close()
        pub.stop()


def bridge_process(tmp_path, sim, broker):
    """The bridge run as a user runs it, its output in `proc.stdout`; stopped on the way out."""
    config = processes.write_config(tmp_path, sim, broker)
    return processes.running_bridge(config, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def late_availability(broker) -> tuple[bytes, bool]:
    """What a subscriber that arrives now reads on the bridge's availability topic, and whether retained."""
    late = Subscriber(broker.host, broker.port, topics=("envoy/bridge/#",))
    try:
        return late.wait_topic(BRIDGE), late.retained[BRIDGE]
    finally:
        late.close()


def test_f9_sigterm_says_offline_flushes_and_exits_0_within_the_deadline(tmp_path, sim, mosquitto):
    sub = Subscriber(mosquitto.host, mosquitto.port)
    try:
        with bridge_process(tmp_path, sim, mosquitto) as proc:
            sub.wait_topic(f"envoy/{sim.serial}/state", timeout=30)
            assert sub.get(BRIDGE) == b"online"
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
            assert time.monotonic() - started < 5
            sub.wait_topic(BRIDGE, payload=b"offline", timeout=5)
            assert "Traceback" not in proc.stdout.read()
    finally:
        sub.close()
    assert late_availability(mosquitto) == (b"offline", True)


def test_f10_kill_9_leaves_the_last_will_offline(tmp_path, sim, mosquitto):
    sub = Subscriber(mosquitto.host, mosquitto.port)
    try:
        with bridge_process(tmp_path, sim, mosquitto) as proc:
            sub.wait_topic(BRIDGE, payload=b"online", timeout=30)
            proc.kill()  # SIGKILL: no code of ours runs; the broker publishes the will
            proc.wait(5)
            sub.wait_topic(BRIDGE, payload=b"offline", timeout=10)
    finally:
        sub.close()
    assert late_availability(mosquitto) == (b"offline", True)  # the will is retained


@pytest.fixture
def tls_broker(tmp_path):
    broker = Mosquitto(tmp_path, tls=(SERVER_CERT, SERVER_KEY)).start()
    yield broker
    broker.stop()


def test_n5_mqtt_tls_with_the_wrong_ca_fails_closed_with_a_clear_error(tls_broker, caplog):
    wrong = make_publisher(tls_broker, tls=True, ca_file=IMPOSTOR_CERT)
    try:
        wrong.start()
        wait_for(lambda: wrong.monitor.stats["connect_failures"] >= 2, 10, message="two attempts")
        assert not wrong.connected and wrong.monitor.stats["connects"] == 0
        errors = records(caplog, logging.ERROR)
        assert len(errors) == 1 and "certificate verification failed" in errors[0]
        assert f"127.0.0.1:{tls_broker.port}" in errors[0]
        assert tls_broker.count("New client connected") == 0  # nothing was sent in the clear either
    finally:
        wrong.stop()
    right = make_publisher(tls_broker, tls=True, ca_file=CA_FILE)
    try:
        right.start()
        assert right.wait_connected(10)  # the same broker with its real CA: fine
    finally:
        right.stop()


def test_h1_h5_discovery_configs_retained_qos1_with_a_safe_expire_after(tmp_path, sim, mosquitto):
    with running_bridge(fast_config(sim, tmp_path, mosquitto)):
        everything_arrives(mosquitto, sim).close()
    late = Subscriber(mosquitto.host, mosquitto.port, topics=("homeassistant/#",))
    try:
        late.wait_topic(f"homeassistant/sensor/{sim.serial}/production/config")
        time.sleep(0.3)  # the rest of the retained burst
        assert len(late.messages) > 5
        for topic, payload in late.messages.items():
            config = json.loads(payload)
            assert late.retained[topic] and late.qos[topic] == 1, topic
            if topic.split("/")[2] == bridge_node():
                continue  # the bridge device's own (uptime, MQTT): read from its health topic
            assert config["unique_id"].startswith(f"{sim.serial}_")
            # H5: expire_after outlasts three polls and the republish interval, so a missed
            # poll (or a quiet night of unchanged values) never flaps entities
            assert config["expire_after"] >= 3 * FAST.inverters, config["expire_after"]
            assert config["expire_after"] > config_republish_interval(), config["expire_after"]
            assert [a["topic"] for a in config["availability"]] == [
                BRIDGE,
                f"envoy/{sim.serial}/availability",
            ]
    finally:
        late.close()
