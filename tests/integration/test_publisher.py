"""The publisher against a real Mosquitto, observed by a real paho subscriber."""

import json
import socket
import time

import paho.mqtt.client as mqtt
import pytest

from bridge.config import HomeAssistantConfig, MqttConfig
from bridge.mqtt.publisher import Publisher
from tests.support.clock import FakeClock
from tests.support.mqtt import Mosquitto, Subscriber, free_port, wait_for

# The bridge's own availability: this host's instance (mqtt.instance_id defaults to the host name).
BRIDGE = MqttConfig(base_topic="t").availability_topic

pytestmark = pytest.mark.integration


def make_publisher(broker, **kw) -> Publisher:
    cfg = MqttConfig(host=broker.host, port=broker.port, client_id=f"bridge-test-{free_port()}", base_topic="t")
    return Publisher(cfg, HomeAssistantConfig(), rng=lambda a, b: 0.0, **kw)


@pytest.fixture
def sub(mosquitto):
    subscriber = Subscriber(mosquitto.host, mosquitto.port)
    yield subscriber
    subscriber.close()


def test_online_on_connect_and_offline_on_stop(mosquitto, sub):
    pub = make_publisher(mosquitto)
    pub.start()
    sub.wait_topic(BRIDGE, payload=b"online")
    pub.stop()
    sub.wait_topic(BRIDGE, payload=b"offline")


def test_the_broker_connection_sends_each_message_at_once(mosquitto):
    pub = make_publisher(mosquitto)
    pub.start()
    try:
        assert pub.wait_connected(5)
        assert pub._client.socket().getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)  # no Nagle wait
    finally:
        pub.stop()


def test_states_are_retained_for_late_subscribers(mosquitto):
    pub = make_publisher(mosquitto)
    pub.start()
    assert pub.wait_connected(5)
    pub.publish_state("t/x/state", '{"a":1}')
    assert pub.flush(5)
    late = Subscriber(mosquitto.host, mosquitto.port, topics=("t/#",))
    try:
        assert late.wait_topic("t/x/state") == b'{"a":1}'
        assert late.retained["t/x/state"]
        assert late.wait_topic(BRIDGE) == b"online"
    finally:
        late.close()
        pub.stop()


def test_identical_discovery_is_not_sent_twice_and_vanished_entities_are_removed(mosquitto, sub):
    pub = make_publisher(mosquitto)
    pub.start()
    assert pub.wait_connected(5) and pub.wait_discovery_ready(5)
    pub.sync_discovery("gw", {"ha/sensor/gw/a/config": "A", "ha/sensor/gw/b/config": "B"})
    assert pub.flush(5)
    pub.sync_discovery("gw", {"ha/sensor/gw/a/config": "A", "ha/sensor/gw/b/config": "B"})
    pub.sync_discovery("gw", {"ha/sensor/gw/a/config": "A2"})
    assert pub.flush(5)
    wait_for(lambda: sub.get("ha/sensor/gw/b/config") == b"", message="removal of b")
    sent_a = [p for t, p in sub.history if t == "ha/sensor/gw/a/config"]
    assert sent_a == [b"A", b"A2"]
    pub.stop()
    late = Subscriber(mosquitto.host, mosquitto.port, topics=("ha/#",))
    try:
        late.wait_topic("ha/sensor/gw/a/config")
        assert late.get("ha/sensor/gw/b/config") is None  # the broker forgot it
    finally:
        late.close()


def test_broker_down_at_start_then_everything_arrives(tmp_path):
    broker = Mosquitto(tmp_path)
    pub = make_publisher(broker)
    pub.start()
    pub.sync_discovery("gw", {"ha/sensor/gw/a/config": "A"})
    pub.publish_state("t/gw/state", "S1")
    pub.publish_state("t/gw/state", "S2")
    broker.start()
    try:
        sub = Subscriber(broker.host, broker.port)
        assert sub.wait_topic("t/gw/state", timeout=15) == b"S2"
        assert sub.wait_topic("ha/sensor/gw/a/config") == b"A"
        assert sub.wait_topic(BRIDGE) == b"online"
        sub.close()
    finally:
        pub.stop()
        broker.stop()


def test_broker_restart_without_persistence_republishes_everything(tmp_path):
    broker = Mosquitto(tmp_path).start()
    pub = make_publisher(broker)
    pub.start()
    assert pub.wait_connected(5)
    pub.publish_state("t/gw/state", "S1")
    pub.sync_discovery("gw", {"ha/sensor/gw/a/config": "A"})
    assert pub.flush(5)
    broker.stop()
    wait_for(lambda: not pub.connected, message="disconnect")
    pub.publish_state("t/gw/state", "S2")  # while the broker is away
    broker.start()
    try:
        sub = Subscriber(broker.host, broker.port)
        assert sub.wait_topic("t/gw/state", timeout=20, payload=b"S2")
        assert sub.wait_topic("ha/sensor/gw/a/config") == b"A"
        sub.close()
    finally:
        pub.stop()
        broker.stop()


def test_home_assistant_birth_triggers_a_republish_and_other_payloads_do_not(mosquitto, sub):
    pub = make_publisher(mosquitto)
    pub.start()
    assert pub.wait_connected(5)
    pub.publish_state("t/gw/state", "S")
    pub.sync_discovery("gw", {"ha/sensor/gw/a/config": "A"})
    assert pub.flush(5)
    wait_for(lambda: sub.get("t/gw/state"), message="first state")

    def count() -> int:
        return sum(1 for t, _ in sub.history if t == "ha/sensor/gw/a/config")

    helper = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    helper.connect(mosquitto.host, mosquitto.port)
    helper.loop_start()
    for junk in (b"offline", b"ONLINE", b"\x00\xff" * 1000, b"online "):
        helper.publish("homeassistant/status", junk, qos=1).wait_for_publish(5)
    helper.publish("homeassistant/status", b"online", qos=1).wait_for_publish(5)
    wait_for(lambda: count() == 2, message="discovery sent again after birth")
    helper.loop_stop()
    helper.disconnect()
    assert count() == 2
    pub.stop()


def test_each_command_reaches_its_handler_once_beside_the_base_topic_watch(mosquitto):
    commands, requests, outside = [], [], []
    pub = make_publisher(mosquitto)
    pub.subscribe_commands(("t/+/relay/+/set",), lambda m: commands.append(m.payload))  # before connecting
    pub.start()
    assert pub.wait_connected(5)
    pub.subscribe_commands(("t/bridge/request/+",), lambda m: requests.append(m.payload))  # after
    pub.subscribe_commands(("elsewhere/+",), lambda m: outside.append(m.payload))  # not below `t/`
    helper = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    helper.connect(mosquitto.host, mosquitto.port)
    helper.loop_start()
    try:
        probe = lambda: helper.publish("elsewhere/x", b"probe", qos=1).wait_for_publish(5) or outside  # noqa: E731
        wait_for(probe, interval=0.1, message="the outside filter subscribed")  # SUBACK is not observable here
        for payload in (b"ON", b"ON", b"OFF"):  # a repeat is a command too
            helper.publish("t/gw/relay/NC1/set", payload, qos=1).wait_for_publish(5)
        helper.publish("t/bridge/request/status", b"?", qos=1).wait_for_publish(5)
        wait_for(lambda: requests, message="the request")  # after the commands, in order
    finally:
        helper.loop_stop()
        pub.stop()
    assert commands == [b"ON", b"ON", b"OFF"]
    assert requests == [b"?"]
    # Mosquitto sends one copy for overlapping subscriptions; other brokers send one per
    # subscription, so none overlapping the `t/#` watch is made at all.
    subscribed = [line.split("\t", 1)[1] for line in mosquitto.log().splitlines() if "\t" in line]
    assert "t/# (QoS 1)" in subscribed and "elsewhere/+ (QoS 1)" in subscribed
    assert not [f for f in subscribed if f.startswith(("t/+/", "t/bridge/request"))]


def test_unchanged_states_are_sent_again_only_after_the_republish_interval(mosquitto, sub):
    clock = FakeClock(0.0)
    cfg = MqttConfig(
        host=mosquitto.host,
        port=mosquitto.port,
        client_id=f"bridge-test-{free_port()}",
        base_topic="t",
        republish_interval=300,
    )
    pub = Publisher(cfg, HomeAssistantConfig(), clock=clock)
    pub.start()
    assert pub.wait_connected(5)
    for second in range(0, 600, 10):  # one poll every 10 s for 10 minutes
        clock.now = float(second)
        pub.publish_state("t/gw/state", f'{{"time":{second},"v":1}}', compare='{"v":1}')
    pub.publish_state("t/gw/state", '{"time":600,"v":2}', compare='{"v":2}')
    assert pub.flush(5)
    wait_for(lambda: sub.get("t/gw/state") == b'{"time":600,"v":2}', message="the change")
    sent = [p for t, p in sub.history if t == "t/gw/state"]
    assert sent == [b'{"time":0,"v":1}', b'{"time":300,"v":1}', b'{"time":600,"v":2}']
    assert pub.stats["unchanged"] == 58
    pub.stop()


def test_flapping_connection_one_error_slow_reconnects_then_stable_again(caplog):
    """Two clients with one client id: dropped right after each connect, again and again."""
    import logging

    from bridge.mqtt.monitor import FLAP_RECONNECT_MIN_S

    clock = FakeClock(0.0)
    cfg = MqttConfig(host="127.0.0.1", port=free_port(), client_id="copy", base_topic="t")
    pub = Publisher(cfg, HomeAssistantConfig(), clock=clock)
    caplog.set_level(logging.INFO)
    for second in range(0, 10, 2):  # connected, dropped a second later, reconnected...
        clock.now = float(second)
        pub.monitor.connected()
        clock.advance(1)
        pub._connected.set()
        pub._on_disconnect(pub._client, None, None, mqtt.MQTTErrorCode.MQTT_ERR_CONN_LOST)
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "same client id 'copy'" in errors[0]
    assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 2  # before it was clear
    assert pub._client._reconnect_min_delay == FLAP_RECONNECT_MIN_S
    pub.monitor.connected()
    clock.advance(61)
    pub.tick()  # a minute without a drop: stable again, normal reconnects
    assert not pub.monitor.flapping and pub._client._reconnect_min_delay == 1
    assert any("stable again" in r.getMessage() for r in caplog.records)


def _config(name: str, availability: str = BRIDGE) -> str:
    return json.dumps(
        {"name": name, "availability": [{"topic": availability}, {"topic": "t/gw/availability"}]},
        sort_keys=True,
        separators=(",", ":"),
    )


def test_start_up_read_back_sends_only_changes_and_removes_what_vanished(mosquitto):
    """The broker holds the previous run's configs: identical ones are not sent again, changed
    ones are, the announcing owner's vanished ones get an empty retained config; another
    bridge's configs, and those of an owner not announced (yet), are left alone."""
    before = {
        "ha/sensor/gw/a/config": _config("A"),
        "ha/sensor/gw/b/config": _config("B"),
        "ha/sensor/gw/c/config": _config("C"),
        "ha/sensor/gw3/f/config": _config("F"),
        "ha/sensor/gw3/h/config": _config("H"),
        "ha/sensor/gw2/e/config": _config("E"),
        "ha/sensor/gw/d/config": _config("D", availability="other/bridge/availability"),
    }
    seed = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="seed")
    seed.connect(mosquitto.host, mosquitto.port)
    seed.loop_start()
    for topic, payload in before.items():
        seed.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
    seed.loop_stop()
    seed.disconnect()
    sub = Subscriber(mosquitto.host, mosquitto.port, topics=("ha/#",))
    wait_for(lambda: len(sub.history) == len(before), message="the seeded configs")
    cfg = MqttConfig(host=mosquitto.host, port=mosquitto.port, client_id="bridge-readback", base_topic="t")
    pub = Publisher(cfg, HomeAssistantConfig(prefix="ha"), rng=lambda a, b: 0.0, readback_window=0.5)
    try:
        pub.start()
        assert pub.wait_connected(5)
        # announced during the read-back window: held until it ends
        pub.sync_discovery("gw", {"ha/sensor/gw/a/config": _config("A"), "ha/sensor/gw/b/config": _config("B2")})
        assert pub.wait_discovery_ready(5)
        # announced after it: compared with what was read back
        pub.sync_discovery("gw3", {"ha/sensor/gw3/f/config": _config("F"), "ha/sensor/gw3/g/config": _config("G")})
        pub.sync_discovery("gw", {"ha/sensor/gw/a/config": _config("A"), "ha/sensor/gw/b/config": _config("B2")})
        assert pub.flush(5)
        wait_for(
            lambda: sub.get("ha/sensor/gw/c/config") == b"" and sub.get("ha/sensor/gw3/h/config") == b"",
            message="removal of c and h",
        )
        time.sleep(0.3)
        sent: dict[str, list[bytes]] = {}
        for topic, payload in sub.history[len(before) :]:
            sent.setdefault(topic, []).append(payload)
        assert sent == {
            "ha/sensor/gw/b/config": [_config("B2").encode()],
            "ha/sensor/gw/c/config": [b""],
            "ha/sensor/gw3/g/config": [_config("G").encode()],
            "ha/sensor/gw3/h/config": [b""],
        }, sent
    finally:
        pub.stop()
        sub.close()


def _instance(mosquitto, instance: str) -> Publisher:
    cfg = MqttConfig(
        host=mosquitto.host, port=mosquitto.port, client_id=f"bridge-{instance}", base_topic="t", instance_id=instance
    )
    return Publisher(cfg, HomeAssistantConfig(prefix="ha"), rng=lambda a, b: 0.0, readback_window=0.5)


def test_an_upgrade_to_two_instances_clears_the_shared_availability_and_each_updates_only_its_own(mosquitto):
    """One bridge of the previous version served gw_a and gw_b under `t/bridge/availability`; now
    instance `a` serves gw_a and instance `b` gw_b. The old topic is emptied (it would say
    online or offline forever); each instance replaces its gateways' configs in place (new
    availability, no duplicates) and removes their vanished ones, and never touches the other's."""
    old = "t/bridge/availability"
    before = {
        "ha/sensor/gw_a/p/config": _config("P", availability=old),
        "ha/sensor/gw_a/gone/config": _config("GONE", availability=old),
        "ha/sensor/gw_b/r/config": _config("R", availability=old),
        "ha/sensor/gw_b/s/config": _config("S", availability=old),
        old: "online",
    }
    seed = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="seed")
    seed.connect(mosquitto.host, mosquitto.port)
    seed.loop_start()
    for topic, payload in before.items():
        seed.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
    seed.loop_stop()
    seed.disconnect()
    a = _instance(mosquitto, "a")
    new_a = {"ha/sensor/gw_a/p/config": _config("P", availability="t/bridge/a/availability")}
    try:
        a.start()
        a.sync_discovery("gw_a", new_a)
        assert a.wait_discovery_ready(5) and a.flush(5)
        late = Subscriber(mosquitto.host, mosquitto.port, topics=("ha/#", "t/#"))
        try:
            wait_for(lambda: late.get("t/bridge/a/availability") == b"online", message="a online")
            time.sleep(0.5)  # every retained message has arrived
            assert late.get(old) is None  # emptied: the broker holds nothing there any more
            assert late.get("ha/sensor/gw_a/p/config") == new_a["ha/sensor/gw_a/p/config"].encode()
            assert late.get("ha/sensor/gw_a/gone/config") is None  # a's vanished entity removed
            for topic in ("ha/sensor/gw_b/r/config", "ha/sensor/gw_b/s/config"):  # b's: as they were
                assert late.get(topic) == before[topic].encode(), topic
        finally:
            late.close()
        b = _instance(mosquitto, "b")
        b.start()
        b.sync_discovery("gw_b", {"ha/sensor/gw_b/r/config": _config("R", availability="t/bridge/b/availability")})
        assert b.wait_discovery_ready(5) and b.flush(5)
        b.stop()
        late = Subscriber(mosquitto.host, mosquitto.port, topics=("ha/#", "t/#"))
        try:
            wait_for(lambda: late.get("t/bridge/b/availability") == b"offline", message="b offline")
            time.sleep(0.5)
            assert late.get("t/bridge/a/availability") == b"online"  # b's stop is b's alone
            assert late.get("ha/sensor/gw_b/s/config") is None  # b removed its own vanished entity
            assert late.get("ha/sensor/gw_a/p/config") == new_a["ha/sensor/gw_a/p/config"].encode()
            assert json.loads(late.get("ha/sensor/gw_b/r/config"))["availability"][0] == {
                "topic": "t/bridge/b/availability"
            }
        finally:
            late.close()
    finally:
        a.stop()


def test_a_state_overtakes_a_discovery_burst_and_every_config_still_arrives(mosquitto, sub):
    """568 configs are one three-phase battery site's: a state published just after them is on
    the broker long before the last of them, and nothing of the burst is lost."""
    pub = make_publisher(mosquitto)
    pub.start()
    assert pub.wait_connected(5) and pub.wait_discovery_ready(5)
    configs = {f"ha/sensor/gw/e{i}/config": json.dumps({"n": i, "pad": "x" * 1000}) for i in range(568)}
    pub.sync_discovery("gw", configs)
    assert pub.bursting
    pub.publish_state("t/gw/state", "S1")
    assert pub.flush(10) and not pub.bursting
    wait_for(lambda: len({t for t, _ in sub.history if t.startswith("ha/")}) == len(configs), message="every config")
    order = [t for t, _ in sub.history if t == "t/gw/state" or t.startswith("ha/")]
    assert order.index("t/gw/state") <= 2 * 20  # behind at most a slice or two, not behind 568
    assert {t: p.decode() for t, p in sub.history if t.startswith("ha/")} == configs
    pub.stop()


def test_a_replayed_state_never_overwrites_a_fresher_one(mosquitto, sub):
    """A birth replay queues every state; one published meanwhile goes at once, and the replay
    sends what the publisher holds when the slice goes: the broker keeps the fresh value."""
    pub = make_publisher(mosquitto)
    pub.start()
    assert pub.wait_connected(5) and pub.wait_discovery_ready(5)
    pub.sync_discovery("gw", {f"ha/sensor/gw/e{i}/config": "C" * 1000 for i in range(200)})
    pub.publish_state("t/gw/state", "old")
    assert pub.flush(10)
    pub._republish_all()  # what a birth does
    pub.publish_state("t/gw/state", "new")
    assert pub.flush(10)
    wait_for(lambda: sub.get("t/gw/state") == b"new", message="the fresh state")
    assert [p for t, p in sub.history if t == "t/gw/state"][-1] == b"new"
    pub.stop()
