"""Hostile identifiers (issue 11, findings 2, 3, 5 and 15): serials and topic prefixes that would
break a topic, the broker connection or Home Assistant, with real Mosquitto and the HTTPS simulator.

One bridge runs a healthy gateway (three of its inverters with unit serials outside the rule)
beside ten gateways whose /info serial is outside it. Pass means: each bad gateway is offline with
one clear log line however often it is retried, each bad unit is left out with one line, the
healthy gateway keeps publishing (also after a broker restart, whose replay once killed paho's
thread), the broker never drops the connection, nothing is published outside the bridge's own
topics, and every inverter number is the one its gateway sent. Bad topic prefixes stop
`check-config` and `run` with exit 2 and the key path, before anything connects.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

import pytest
import yaml

from bridge.app import Bridge
from bridge.cli import main
from bridge.config import HomeAssistantConfig, MqttConfig
from bridge.identifiers import show, topic_problem
from bridge.mqtt.publisher import Publisher
from bridge.simulator import Simulator
from tests.reliability.rig import FAST, bridge_config, cloud_config, gateway_config, patched_simulator
from tests.support.mqtt import Mosquitto, Subscriber, bridge_node, free_port, wait_for

# The bridge's own availability: this host's instance (mqtt.instance_id defaults to the host name).
BRIDGE = MqttConfig().availability_topic

pytestmark = pytest.mark.integration

INVERTERS = "/api/v1/production/inverters"
# Finding by finding: /info serials that must each take only their own gateway offline.
BAD_SERIALS = {
    "h11_2": ("1221#5678", "1221+5678", "1" * 70_000),  # wildcards; longer than a topic allows
    "h11_3": ("1221\t5678", "1221\x855678", "1221\ufffe5678"),  # tab, U+0085, a non-character
    "h11_15": ("bridge", "12/34", "12 34", "caf\u00e9"),  # reserved, extra levels, space, unicode
}
# Unit serials in the healthy gateway's inverter list, by position (finding 3: a final newline).
BAD_UNITS = {0: "999000100001\n", 1: "9990001#0002", 2: "999/000/3"}
# One token secret for every simulated gateway: the healthy one's cloud issues tokens the bad
# ones accept, so nothing but their serial stands between them and publishing.
TOKEN_SECRET = b"hostile-identifiers-test-secret-0123456789"


class Lines(logging.Handler):
    """Every record of the bridge's loggers, for counting lines."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def loud(self, needle: str) -> list[str]:
        """WARNING and above that contain `needle`."""
        return [m for r in list(self.records) if r.levelno >= logging.WARNING and needle in (m := r.getMessage())]


@dataclass
class Hostile:
    broker: Mosquitto
    bridge: Bridge
    healthy: Simulator
    bad: dict[str, Simulator]  # serial -> its gateway
    watch: Subscriber
    lines: Lines
    inverter_body: list[dict] = field(default_factory=list)

    def state(self) -> dict | None:
        payload = self.watch.get(f"envoy/{self.healthy.serial}/state")
        return json.loads(payload) if payload else None

    def states(self) -> int:
        """How many state messages of the healthy gateway the test has seen."""
        return sum(t == f"envoy/{self.healthy.serial}/state" for t, _ in list(self.watch.history))


def inverters_with_bad_serials(source) -> list[dict]:
    _, _, body = source.inner.answer(INVERTERS, "")
    inverters = json.loads(body)
    for index, serial in BAD_UNITS.items():
        inverters[index]["serialNumber"] = serial
    return inverters


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    broker = Mosquitto(folder).start()
    healthy, source = patched_simulator(token_secret=TOKEN_SECRET)
    body = inverters_with_bad_serials(source)
    source.overrides[INVERTERS] = (200, "application/json", json.dumps(body).encode())
    bad = {s: Simulator(serial=s, token_secret=TOKEN_SECRET) for serials in BAD_SERIALS.values() for s in serials}
    sims = [healthy, *bad.values()]
    lines, bridge_log = Lines(), logging.getLogger("bridge")
    level = bridge_log.level
    bridge_log.setLevel(logging.INFO)
    bridge_log.addHandler(lines)
    for sim in sims:
        sim.start()
    gateways = [gateway_config(healthy, folder)]
    gateways += [
        gateway_config(sim, folder, token_cache=folder / f"token-{i}.jwt") for i, sim in enumerate(bad.values())
    ]
    # Unchanged documents are sent again every second: a capture's values never move, and the
    # test sees the healthy gateway go on publishing by its messages.
    config = bridge_config(
        gateways, folder, cloud=cloud_config(healthy), broker=broker, poll=FAST, republish_interval=1.0
    )
    publisher = Publisher(config.mqtt, config.homeassistant, readback_window=0.5)
    # The shortest backoff (2 s), so every bad gateway is retried a few times during the test; no
    # refresh floor, so the inverters are read at FAST's pace (the tests count their polls).
    kw = {"rng": lambda low, high: low, "refresh_s": {}}
    bridge = Bridge(config, publisher=publisher, worker_kw=kw).start()
    watch = Subscriber(broker.host, broker.port)
    hostile = Hostile(broker, bridge, healthy, bad, watch, lines, body)
    try:
        wait_for(hostile.state, 30, message="the healthy gateway's state")
        yield hostile
    finally:
        watch.close()
        bridge.stop(flush_s=2)
        for sim in sims:
            sim.stop()
        broker.stop()
        bridge_log.removeHandler(lines)
        bridge_log.setLevel(level)


def retried(hostile: Hostile, serials, times: int = 3) -> None:
    """Wait until every gateway of `serials` was asked for /info at least `times` times."""
    wait_for(
        lambda: all(hostile.bad[s].request_counts.get("/info", 0) >= times for s in serials),
        45,
        message=f"{times} set-up attempts of every bad gateway",
    )


def one_line_each(hostile: Hostile, serials) -> None:
    """Each bad gateway's refusal was logged once, naming the serial as it is (escaped)."""
    for serial in serials:
        needle = "not XML" if "\ufffe" in serial else f"serial {show(serial)}"
        found = hostile.lines.loud(needle)
        if "\ufffe" in serial:  # not even XML: refused by the parser before the serial is read
            assert len(found) == 1, found
        else:
            assert len(found) == 1 and "unavailable" in found[0] and "cannot name MQTT topics" in found[0], found


def own_topics_only(hostile: Hostile) -> None:
    """Every topic on the broker is the bridge's own, of the rule, and names no bad serial."""
    topics = set(hostile.watch.messages)
    assert topics
    for topic in topics:
        assert topic_problem(topic) is None, topic
        assert topic.startswith(("envoy/", "homeassistant/")), topic
    names = {t.split("/")[1] for t in topics if t.startswith("envoy/")}
    # The bridge itself, the healthy gateway, and the bad ones by their host (serial unknown).
    assert names - {"bridge", hostile.healthy.serial} <= {n for n in names if n.startswith("127.0.0.1")}
    nodes = {t.split("/")[2] for t in topics if t.startswith("homeassistant/")}
    assert nodes == {hostile.healthy.serial, bridge_node()}


def healthy_publishes(hostile: Hostile, timeout: float = 20) -> None:
    """The healthy gateway's state goes on arriving: two more messages than seen now."""
    before = hostile.states()
    wait_for(lambda: hostile.states() >= before + 2, timeout, message="more states of the healthy gateway")


def test_h11_2_serial_with_wildcard_or_too_long_takes_only_its_gateway_offline(hostile):
    serials = BAD_SERIALS["h11_2"]
    retried(hostile, serials)
    one_line_each(hostile, serials)
    healthy_publishes(hostile)
    own_topics_only(hostile)
    assert all(w.info is None for w in hostile.bridge.workers[1:])  # never set up under a bad serial


def test_h11_3_control_characters_in_serials_never_reach_the_broker(hostile):
    serials = BAD_SERIALS["h11_3"]
    retried(hostile, serials)
    one_line_each(hostile, serials)
    healthy_publishes(hostile)
    own_topics_only(hostile)
    log = hostile.broker.log().lower()
    assert "malformed" not in log and "protocol error" not in log
    assert hostile.lines.loud("same client id") == []  # the connection was never dropped


def test_h11_3_unit_serials_outside_the_rule_are_left_out_once_and_the_rest_flows(hostile):
    wait_for(lambda: hostile.healthy.request_counts.get(INVERTERS, 0) >= 4, 45, message="4 inverter polls")
    serial = hostile.healthy.serial
    published = {t.rsplit("/", 1)[1]: json.loads(p) for t, p in hostile.watch.messages.items() if "/inverter/" in t}
    good = {i["serialNumber"]: i for i in hostile.inverter_body if i["serialNumber"] not in BAD_UNITS.values()}
    assert published.keys() == good.keys()  # every other inverter, and no bad one
    for sn, document in published.items():  # no wrong number: the gateway's own
        assert document["power_w"] == good[sn]["lastReportWatts"], sn
    for bad in BAD_UNITS.values():
        found = hostile.lines.loud(f"inverter with serial {show(bad)} left out")
        assert len(found) == 1 and found[0].startswith(f"Gateway {serial}: "), found
    own_topics_only(hostile)


def test_h11_15_serial_bridge_slash_space_or_unicode_takes_only_its_gateway_offline(hostile):
    serials = BAD_SERIALS["h11_15"]
    retried(hostile, serials)
    one_line_each(hostile, serials)
    own_topics_only(hostile)
    # `envoy/bridge/availability` is the bridge's alone: online, and no gateway's sink ever wrote it.
    assert hostile.watch.get(BRIDGE) == b"online"
    assert BRIDGE not in hostile.bridge.publisher._state
    configs = [
        json.loads(p)
        for t, p in hostile.watch.messages.items()
        if t.endswith("/config") and p and t.split("/")[2] != bridge_node()
    ]
    assert configs and {c["device"]["identifiers"][0] for c in configs} >= {f"envoy_{hostile.healthy.serial}"}
    assert all(c["unique_id"].startswith(f"{hostile.healthy.serial}_") for c in configs)


def test_h11_2_after_a_broker_restart_the_replay_holds_no_bad_topic_and_all_goes_on(hostile):
    client_id = hostile.bridge.config.mqtt.client_id
    connects = hostile.broker.count(f" as {client_id} ")
    hostile.broker.stop()
    hostile.broker.start()
    started = time.monotonic()
    wait_for(lambda: hostile.bridge.publisher.connected, 30, message="the bridge back on the broker")
    watch = Subscriber(hostile.broker.host, hostile.broker.port)
    try:
        state = f"envoy/{hostile.healthy.serial}/state"
        count = lambda: sum(t == state for t, _ in list(watch.history))  # noqa: E731
        wait_for(lambda: count() >= 3, 20, message="the replayed state, then new ones")
        took = time.monotonic() - started
        assert hostile.bridge.publisher._client._thread.is_alive()  # paho's thread survived the replay
        assert all(topic_problem(t) is None for t in watch.messages)
        assert hostile.broker.count(f" as {client_id} ") - connects == 1  # one reconnect, no loop
        assert took < 30
    finally:
        watch.close()


def test_h11_2_the_publisher_drops_a_bad_topic_once_and_keeps_the_connection(mosquitto, caplog):
    """Defence in depth: a bad topic that reached the publisher anyway (a bug) costs that message
    only: not kept for the replay, logged once, paho's thread and every other topic unharmed."""
    caplog.set_level(logging.INFO)
    settings = MqttConfig(host=mosquitto.host, port=mosquitto.port, client_id=f"hostile-{free_port()}")
    pub = Publisher(settings, HomeAssistantConfig(), readback_window=0.2)
    pub.start()
    try:
        assert pub.wait_connected(10) and pub.wait_discovery_ready(10)
        for i in range(100):
            pub.publish_state("envoy/12#34/availability", "offline")
            pub.publish_state("envoy/1234\n/state", "{}")
            pub.sync_discovery("12+34", {"homeassistant/sensor/12+34/power/config": "{}"})
            pub.publish_state("envoy/1234/state", json.dumps({"n": i}))
        mosquitto.stop()
        mosquitto.start()
        wait_for(lambda: pub.connected, 30, message="the publisher back on the broker")
        watch = Subscriber(mosquitto.host, mosquitto.port)
        try:
            assert watch.wait_topic("envoy/1234/state", 10, payload=b'{"n": 99}')
            time.sleep(0.5)  # anything else the replay would have sent arrives meanwhile
            assert set(watch.messages) == {BRIDGE, "envoy/1234/state"}
        finally:
            watch.close()
        assert pub._client._thread.is_alive()
        refused = [r.getMessage() for r in caplog.records if "not publishing to" in r.getMessage()]
        assert len(refused) == 3 and all(
            r.levelno == logging.ERROR for r in caplog.records if r.getMessage() in refused
        )
        assert "'envoy/1234\\n/state'" in "".join(refused)  # escaped: no forged log line
    finally:
        pub.stop()


PREFIXES = [
    ("homeassistant", "prefix", "ha/#", "contains an MQTT wildcard"),
    ("homeassistant", "prefix", "ha/+", "contains an MQTT wildcard"),
    ("homeassistant", "prefix", "", "is empty"),
    ("homeassistant", "birth_topic", "homeassistant/#", "contains an MQTT wildcard"),
    ("mqtt", "base_topic", "en\tvoy", "contains a control character"),
    ("mqtt", "base_topic", "$SYS/envoy", "starts with '$'"),
    ("mqtt", "base_topic", "envoy/", "ends with '/'"),
]


@pytest.mark.parametrize("section, key, value, reason", PREFIXES)
def test_h11_5_bad_topic_prefixes_stop_check_config_and_run_before_anything_connects(
    tmp_path, mosquitto, capsys, section, key, value, reason
):
    config = {
        "gateways": [{"host": "127.0.0.1", "tls": {"insecure": True}}],
        "cache_dir": str(tmp_path / "cache"),
        "mqtt": {"host": mosquitto.host, "port": mosquitto.port},
    }
    config.setdefault(section, {})[key] = value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    for command in (["check-config"], ["run", "--once"]):
        assert main([*command, "-c", str(path)]) == 2
        err = capsys.readouterr().err
        assert f"{section}.{key}: {show(value)} {reason}" in err, err
    assert mosquitto.count("New client connected") == 0


@pytest.mark.parametrize(
    "variable, value",
    [
        ("ENVOY_BRIDGE_MQTT_BASE_TOPIC", "$SYS/envoy"),
        ("ENVOY_BRIDGE_HOMEASSISTANT_PREFIX", "ha/#"),
        ("ENVOY_BRIDGE_GATEWAY_SERIAL", "bridge"),
    ],
)
def test_h11_5_the_same_rule_holds_for_the_environment(tmp_path, monkeypatch, capsys, variable, value):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"gateways": [{"host": "127.0.0.1", "tls": {"insecure": True}}]}))
    monkeypatch.setenv(variable, value)
    assert main(["check-config", "-c", str(path)]) == 2
    assert show(value) in capsys.readouterr().err
