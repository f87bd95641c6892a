"""The MQTT side of the identifier rule (issue 11, findings 2, 3 and 15): units the model left out
are said once, and the publisher's last check keeps a bad topic out of its store and off the wire."""

from __future__ import annotations

import dataclasses
import logging

from bridge.config import HomeAssistantConfig, MqttConfig
from bridge.mqtt.publisher import Publisher
from bridge.mqtt.sinks import UnitsSink
from tests.support.sinks import SERIAL, Recorder, make_snapshot

REFUSED = (
    "inverter with serial '4823\\n' left out: its serial contains a control character",
    "relay with id 'NC 1' left out: its id contains a space",
)


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_h11_3_units_left_out_are_logged_once_each_not_every_cycle(caplog):
    rec = Recorder()
    sink = UnitsSink(rec, "envoy")
    snapshot = make_snapshot(documents={"inverter/482300000001": {"serial": "482300000001", "power_w": 5}})
    snapshot = dataclasses.replace(snapshot, state=dataclasses.replace(snapshot.state, refused_units=REFUSED))
    for _ in range(5):
        sink.snapshot(snapshot)
    assert warnings(caplog) == [f"Gateway {SERIAL}: {why}" for why in REFUSED]
    assert rec.messages == {"envoy/999000000001/inverter/482300000001": '{"serial":"482300000001","power_w":5}'}


def test_a_gateway_inventing_a_new_bad_serial_every_cycle_costs_a_bounded_number_of_lines(caplog):
    sink = UnitsSink(Recorder(), "envoy")
    snapshot = make_snapshot()
    for i in range(500):
        refused = (f"inverter with serial '{i}#' left out: its serial contains an MQTT wildcard ('#' or '+')",)
        sink.snapshot(dataclasses.replace(snapshot, state=dataclasses.replace(snapshot.state, refused_units=refused)))
    assert len(warnings(caplog)) == 20


def offline_publisher() -> Publisher:
    """Never started: what it keeps for the next connection is what a replay would send."""
    return Publisher(MqttConfig(host="127.0.0.1", port=1, client_id="topic-checks"), HomeAssistantConfig())


def test_h11_2_the_publisher_keeps_no_bad_topic_for_the_replay_and_says_so_once(caplog):
    pub = offline_publisher()
    for _ in range(3):
        pub.publish_state("envoy/12#34/availability", "offline")
        pub.publish_state("envoy/1234\n/state", "{}")
        pub.publish_state("envoy/1234/state", "{}")
    assert pub.held_topics == 1  # only the good one waits for the broker
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        "MQTT: not publishing to 'envoy/12#34/availability': the topic contains an MQTT wildcard ('#' or '+')",
        "MQTT: not publishing to 'envoy/1234\\n/state': the topic contains a control character",
    ]


def test_h11_2_a_bad_discovery_topic_is_dropped_and_the_owners_others_kept():
    pub = offline_publisher()
    pub.sync_discovery(
        "1234",
        {"homeassistant/sensor/12+34/power/config": "{}", "homeassistant/sensor/1234/power/config": "{}"},
    )
    assert pub.held_topics == 1
