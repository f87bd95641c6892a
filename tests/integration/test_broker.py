"""The demo's embedded MQTT broker, with real clients on loopback: paho-mqtt, raw sockets,
mosquitto_sub (Node-RED's turn is tests/clients/test_node_red_embedded_broker.py). Its packet
codec, topic rules and routing have unit tests of their own in tests/unit/demo/."""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from bridge.demo.broker import EmbeddedBroker
from tests.support.loopback import ipv6_loopback
from tests.support.mqtt import Subscriber, wait_for

TIMEOUT = 5.0


@pytest.fixture
def broker():
    with EmbeddedBroker(port=0) as embedded:
        yield embedded


class Paho:
    """A paho 2.x client that records what it receives; connect() waits for CONNACK."""

    def __init__(self, port: int, client_id: str, will: tuple | None = None, host: str = "127.0.0.1", **connect_kw):
        self.messages: list[mqtt.MQTTMessage] = []
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.unsubscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self.subscribed.set()
        self.client.on_unsubscribe = lambda c, u, mid, rcs, p: self.unsubscribed.set()
        self.client.on_message = lambda c, u, m: self.messages.append(m)
        if will:
            self.client.will_set(*will)
        self.client.connect(host, port, **connect_kw)
        self.client.loop_start()
        assert self.connected.wait(TIMEOUT)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code == 0:
            self.connected.set()

    def subscribe(self, topic: str, qos: int = 0) -> None:
        self.subscribed.clear()
        self.client.subscribe(topic, qos)
        assert self.subscribed.wait(TIMEOUT)

    def unsubscribe(self, topic: str) -> None:
        self.unsubscribed.clear()
        self.client.unsubscribe(topic)
        assert self.unsubscribed.wait(TIMEOUT)

    def publish(self, topic: str, payload, qos: int = 0, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos, retain).wait_for_publish(TIMEOUT)

    def received(self) -> list[tuple[str, bytes, int, bool]]:
        return [(m.topic, bytes(m.payload), m.qos, bool(m.retain)) for m in list(self.messages)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def clients(broker):
    made: list[Paho] = []

    def make(client_id: str, **kw) -> Paho:
        made.append(Paho(broker.port, client_id, **kw))
        return made[-1]

    yield make
    for client in made:
        client.close()


# --- raw MQTT, for what paho will not do on purpose ----------------------------------------


def _s(text: str) -> bytes:
    return struct.pack("!H", len(text.encode())) + text.encode()


def _packet(first: int, body: bytes) -> bytes:
    length, out = len(body), bytearray()
    while True:
        length, digit = divmod(length, 128)
        out.append(digit | (0x80 if length else 0))
        if not length:
            return bytes([first]) + bytes(out) + body


def connect_packet(
    client_id: str,
    keepalive: int = 60,
    will: tuple | None = None,
    name: str = "MQTT",
    level: int = 4,
    username: str | None = None,
    password: str | None = None,
) -> bytes:
    flags, payload = 0x02, _s(client_id)
    if will:
        topic, message, qos, retain = will
        flags |= 0x04 | qos << 3 | (0x20 if retain else 0)
        payload += _s(topic) + _s(message)
    if username is not None:
        flags |= 0x80
        payload += _s(username)
    if password is not None:
        flags |= 0x40
        payload += _s(password)
    return _packet(0x10, _s(name) + bytes([level, flags]) + struct.pack("!H", keepalive) + payload)


def raw_client(broker: EmbeddedBroker, packet: bytes) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", broker.port), timeout=TIMEOUT)
    sock.sendall(packet)
    return sock, recv_exactly(sock, 4)


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


# --- publish and subscribe ------------------------------------------------------------------


def test_publish_and_subscribe_at_every_qos(clients):
    sub2, sub0 = clients("sub2"), clients("sub0")
    sub2.subscribe("t/#", qos=2)
    sub0.subscribe("t/#", qos=0)
    pub = clients("pub")
    for qos in (0, 1, 2):
        pub.publish(f"t/q{qos}", f"m{qos}", qos=qos)
    expected = [(f"t/q{q}", f"m{q}".encode(), q, False) for q in (0, 1, 2)]
    assert wait_for(lambda: len(sub2.received()) == 3 and len(sub0.received()) == 3)
    assert sorted(sub2.received()) == expected
    assert sorted(sub0.received()) == [(t, p, 0, r) for t, p, _, r in expected]  # downgraded


def test_qos2_from_the_broker_completes(broker, clients):
    sub = clients("sub")
    sub.subscribe("x", qos=2)
    for n in range(20):  # paho only frees in-flight slots after PUBREL/PUBCOMP work
        broker.publish("x", str(n), qos=2)
    assert wait_for(lambda: len(sub.received()) == 20)
    assert [m[1] for m in sub.received()] == [str(n).encode() for n in range(20)]


def test_retained_messages_reach_late_subscribers(clients):
    pub = clients("pub")
    pub.publish("envoy/1/state", '{"w": 1}', qos=1, retain=True)
    pub.publish("envoy/1/state", '{"w": 2}', qos=1, retain=True)  # replaces the first
    late = clients("late")
    late.subscribe("envoy/#", qos=1)
    assert wait_for(lambda: late.received())
    assert late.received() == [("envoy/1/state", b'{"w": 2}', 1, True)]
    pub.publish("envoy/1/state", '{"w": 3}', qos=1, retain=True)
    assert wait_for(lambda: len(late.received()) == 2)
    assert late.received()[1] == ("envoy/1/state", b'{"w": 3}', 1, False)  # live: retain 0


def test_empty_retained_message_clears(clients):
    pub = clients("pub")
    # QoS 1: the PUBACK says the broker has stored the message before the next step.
    pub.publish("a/gone", "x", qos=1, retain=True)
    pub.publish("a/gone", "", qos=1, retain=True)
    pub.publish("a/marker", "m", qos=1, retain=True)
    late = clients("late")
    late.subscribe("a/#")
    # Retained messages go out in one burst after SUBACK: a stale a/gone would come first.
    assert wait_for(lambda: late.received())
    assert late.received() == [("a/marker", b"m", 0, True)]


def test_wildcards_and_unsubscribe(clients):
    sub = clients("sub")
    sub.subscribe("envoy/+/availability")
    sub.subscribe("#")
    pub = clients("pub")
    pub.publish("$SYS/broker/uptime", "1")  # not matched by a leading wildcard
    pub.publish("envoy/1/availability", "online")
    pub.publish("other/topic", "x")
    assert wait_for(lambda: len(sub.received()) == 2)
    assert {m[0] for m in sub.received()} == {"envoy/1/availability", "other/topic"}
    sub.unsubscribe("#")
    pub.publish("other/topic", "y")  # one publisher: had this been delivered, it came first
    pub.publish("envoy/2/availability", "offline")
    assert wait_for(lambda: any(m[0] == "envoy/2/availability" for m in sub.received()))
    assert [m[0] for m in sub.received()][2:] == ["envoy/2/availability"]


# --- will, keepalive, takeover --------------------------------------------------------------


def test_last_will_on_abrupt_close_with_retain(broker, clients):
    watcher = clients("watcher")
    watcher.subscribe("bridge/#", qos=1)
    sock, connack = raw_client(broker, connect_packet("dying", will=("bridge/avail", "offline", 1, True)))
    assert connack == b"\x20\x02\x00\x00"
    sock.close()  # no DISCONNECT
    assert wait_for(lambda: watcher.received())
    assert watcher.received() == [("bridge/avail", b"offline", 1, False)]
    late = clients("late")
    late.subscribe("bridge/avail")
    assert wait_for(lambda: late.received() == [("bridge/avail", b"offline", 0, True)])


def test_no_will_after_disconnect(broker, clients):
    watcher = clients("watcher")
    watcher.subscribe("will/#")
    leaving = clients("leaving", will=("will/x", "gone", 0, False))
    leaving.close()
    # The will, had there been one, goes out as the broker forgets the client: before the marker.
    assert wait_for(lambda: "leaving" not in broker._router.sessions)
    sock, _ = raw_client(broker, connect_packet("marker"))
    sock.sendall(_packet(0x30, _s("will/marker") + b"m") + b"\xe0\x00")  # PUBLISH, DISCONNECT
    assert wait_for(lambda: watcher.received())
    sock.close()
    assert [m[0] for m in watcher.received()] == ["will/marker"]


def test_keepalive_timeout_drops_the_client_and_sends_its_will(broker, clients):
    watcher = clients("watcher")
    watcher.subscribe("ka")
    sock, _ = raw_client(broker, connect_packet("idle", keepalive=1, will=("ka", "lost", 0, False)))
    sock.sendall(b"\xc0\x00")  # PINGREQ
    assert recv_exactly(sock, 2) == b"\xd0\x00"  # PINGRESP
    started = time.monotonic()
    assert recv_exactly(sock, 1) == b""  # closed by the broker after 1.5 x keepalive
    assert 1.0 < time.monotonic() - started < 4
    assert wait_for(lambda: watcher.received() == [("ka", b"lost", 0, False)])
    sock.close()


def test_session_takeover_by_the_same_client_id(broker, clients):
    first, _ = raw_client(broker, connect_packet("same"))
    second = clients("same")
    assert recv_exactly(first, 1) == b""  # the older connection is closed
    first.close()
    second.subscribe("t")
    clients("pub").publish("t", "hello")
    assert wait_for(lambda: second.received() == [("t", b"hello", 0, False)])


def test_takeover_sends_the_old_will_before_the_new_connection_speaks(broker, clients):
    """A bridge reconnecting (same client id, will `offline` retained) while its old connection
    still looks alive: its new `online` must stay the retained value, not its old will."""
    will = ("bridge/avail", "offline", 1, True)
    watcher = clients("watcher")
    watcher.subscribe("bridge/avail", qos=1)
    old, _ = raw_client(broker, connect_packet("bridge", will=will))
    old.sendall(_packet(0x33, _s("bridge/avail") + struct.pack("!H", 1) + b"online"))  # QoS 1, retained
    assert recv_exactly(old, 4) == b"\x40\x02\x00\x01"  # PUBACK
    new = clients("bridge", will=will)
    new.publish("bridge/avail", "online", qos=1, retain=True)
    assert recv_exactly(old, 1) == b""  # the older connection is closed
    old.close()
    assert wait_for(lambda: len(watcher.received()) == 3)
    assert watcher.received() == [("bridge/avail", p, 1, False) for p in (b"online", b"offline", b"online")]
    late = clients("late")
    late.subscribe("bridge/avail")
    assert wait_for(lambda: late.received())
    assert late.received() == [("bridge/avail", b"online", 0, True)]


# --- CONNECT variants -----------------------------------------------------------------------


def test_protocol_levels(broker):
    old, connack = raw_client(broker, connect_packet("v31", name="MQIsdp", level=3))
    assert connack == b"\x20\x02\x00\x00"
    old.close()
    v5, connack = raw_client(broker, connect_packet("v5", level=5))
    assert connack == b"\x20\x02\x00\x01"  # unacceptable protocol version
    assert recv_exactly(v5, 1) == b""
    v5.close()


def test_credentials_when_configured():
    with EmbeddedBroker(port=0, username="user", password="pw") as broker:
        good, connack = raw_client(broker, connect_packet("a", username="user", password="pw"))
        assert connack == b"\x20\x02\x00\x00"
        bad, connack = raw_client(broker, connect_packet("b", username="user", password="nope"))
        assert connack == b"\x20\x02\x00\x04"
        anonymous, connack = raw_client(broker, connect_packet("c"))
        assert connack == b"\x20\x02\x00\x04"
        for sock in (good, bad, anonymous):
            sock.close()


# --- listening, restarting ------------------------------------------------------------------


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_listens_on_ipv6_loopback():
    with EmbeddedBroker("::1", 0) as broker:
        assert broker.port > 0
        pub, sub = Paho(broker.port, "pub6", host="::1"), Paho(broker.port, "sub6", host="::1")
        try:
            pub.publish("v6/state", "on", qos=1, retain=True)
            sub.subscribe("v6/#", qos=1)
            assert wait_for(lambda: sub.received())
            assert sub.received() == [("v6/state", b"on", 1, True)]
        finally:
            pub.close()
            sub.close()


def test_paho_reconnects_when_the_broker_restarts_on_its_port(broker, clients):
    sub = Subscriber("127.0.0.1", broker.port, topics=("r/#",))  # subscribes again on every connect
    try:
        clients("pub").publish("r/before", "1", qos=1, retain=True)
        assert sub.wait_topic("r/before", timeout=TIMEOUT) == b"1"
        port = broker.port
        broker.stop()
        assert broker.start().port == port
        clients("after").publish("r/after", "2", qos=1, retain=True)
        assert sub.wait_topic("r/after", timeout=TIMEOUT + 2) == b"2"  # paho waits 1 s to reconnect
        clients("live").publish("r/live", "3", qos=1)
        assert sub.wait_topic("r/live", timeout=TIMEOUT) == b"3"
    finally:
        sub.close()


def test_port_taken_raises_a_clear_oserror(broker):
    with pytest.raises(OSError, match=r"cannot listen on 127\.0\.0\.1:\d+: Address already in use"):
        EmbeddedBroker(port=broker.port).start()


def test_stalled_subscriber_queue_is_bounded():
    with EmbeddedBroker(port=0, max_queue_bytes=64 * 1024) as broker:
        stalled, _ = raw_client(broker, connect_packet("stalled"))
        stalled.sendall(_packet(0x82, struct.pack("!H", 1) + _s("big") + b"\x00"))
        assert recv_exactly(stalled, 5) == b"\x90\x03\x00\x01\x00"  # SUBACK, never read again
        publisher, _ = raw_client(broker, connect_packet("publisher"))
        chunk = _packet(0x30, _s("big") + b"x" * 256 * 1024)
        for _ in range(100):
            publisher.sendall(chunk)
        assert wait_for(lambda: sum(session.dropped for session in broker._connections) > 0)
        publisher.sendall(b"\xc0\x00")
        assert recv_exactly(publisher, 2) == b"\xd0\x00"  # the broker is still serving
        for sock in (stalled, publisher):
            sock.close()


@pytest.mark.skipif(not shutil.which("mosquitto_sub"), reason="mosquitto_sub is not installed")
def test_mosquitto_sub_receives_retained_messages(broker, clients):
    pub = clients("pub")
    pub.publish("envoy/bridge/availability", "online", qos=1, retain=True)
    pub.publish("envoy/999/state", '{"schema": 1}', qos=1, retain=True)
    done = subprocess.run(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", "#", "-C", "2", "-W", "5", "-v"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.splitlines()) == ['envoy/999/state {"schema": 1}', "envoy/bridge/availability online"]
