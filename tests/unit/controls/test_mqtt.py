"""The controls on MQTT: which topics are subscribed, retained and foreign commands ignored,
results published. The paho messages are real ones; the publisher records."""

from __future__ import annotations

import json
import logging

import paho.mqtt.client as mqtt

from bridge.config import ControlsConfig
from bridge.controls.mqtt import ControlsMqtt, command_filters
from tests.unit.controls.gateway import SERIAL, make_controls, run_jobs


class Broker:
    """The publisher's side the controls use."""

    def __init__(self):
        self.filters: tuple[str, ...] = ()
        self.handler = None
        self.events: list[tuple[str, dict]] = []
        self.states: dict[str, dict] = {}

    def subscribe_commands(self, filters, handler):
        self.filters, self.handler = filters, handler

    def publish_state(self, topic, payload):
        self.states[topic] = json.loads(payload)

    def publish_event(self, topic, payload):
        self.events.append((topic, json.loads(payload)))


def message(topic: str, payload: bytes, retain: bool = False) -> mqtt.MQTTMessage:
    msg = mqtt.MQTTMessage(topic=topic.encode())
    msg.payload, msg.retain = payload, retain
    return msg


RELAYS_AND_BATTERY = ControlsConfig(relays=True, battery=True)


def wired(config=RELAYS_AND_BATTERY):
    controls, gateway, _rec, clock, _results = make_controls(config)
    broker = Broker()
    router = ControlsMqtt(broker, "envoy", config)
    controls._publish = router.publish_result
    router.add(controls)
    router.start()
    return router, broker, controls, gateway, clock


def test_only_the_set_topics_of_enabled_families_are_subscribed():
    assert command_filters("envoy", ControlsConfig()) == ()
    assert command_filters("home/envoy", ControlsConfig(relays=True)) == (
        "home/envoy/+/relay/+/set",
        "home/envoy/+/relay/+/mode/set",
        "home/envoy/+/relay/+/grid_action/set",
        "home/envoy/+/relay/+/microgrid_action/set",
        "home/envoy/+/relay/+/generator_action/set",
        "home/envoy/+/relay/+/soc_low/set",
        "home/envoy/+/relay/+/soc_high/set",
    )
    filters = command_filters("envoy", ControlsConfig(battery=True, grid=True, generator=True, production=True))
    assert all(f.endswith("/set") and f.startswith("envoy/+/") for f in filters)
    assert "envoy/+/production/set" in filters and "envoy/+/grid/connection/set" in filters


def test_nothing_is_subscribed_with_every_family_off():
    _router, broker, *_ = wired(ControlsConfig())
    assert broker.handler is None


def test_a_command_runs_and_its_result_is_published():
    _router, broker, controls, gateway, clock = wired()
    broker.handler(message(f"envoy/{SERIAL}/relay/NC1/set", b'{"value": "ON", "id": "nr-1"}'))
    run_jobs(controls, clock)
    assert gateway.writes[0][1] == "/ivp/ensemble/dry_contacts"
    assert broker.events == [
        (f"envoy/{SERIAL}/relay/NC1/result", {"id": "nr-1", "ok": True, "value": "ON", "error": None})
    ]


def test_a_retained_command_is_never_executed_and_said_once(caplog):
    _router, broker, controls, gateway, clock = wired()
    with caplog.at_level(logging.INFO, logger="bridge.controls.mqtt"):
        for _ in range(3):
            broker.handler(message(f"envoy/{SERIAL}/relay/NC1/set", b"ON", retain=True))
            clock.advance(1)
    run_jobs(controls, clock, 5)
    assert gateway.writes == [] and broker.events == []
    lines = [r for r in caplog.records if "retained" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO


def test_a_serial_that_is_not_ours_is_ignored(caplog):
    _router, broker, controls, gateway, clock = wired()
    with caplog.at_level(logging.INFO, logger="bridge.controls.mqtt"):
        broker.handler(message("envoy/123456789012/relay/NC1/set", b"ON"))
    run_jobs(controls, clock)
    assert gateway.writes == [] and broker.events == []
    assert "not a gateway of this bridge" in caplog.text


def test_a_bad_payload_gets_an_error_result_with_its_id():
    _router, broker, controls, gateway, clock = wired()
    broker.handler(message(f"envoy/{SERIAL}/storage/mode/set", b'{"id": "x-9"}'))
    broker.handler(message(f"envoy/{SERIAL}/storage/reserve/set", b"\xff"))
    run_jobs(controls, clock)
    assert gateway.writes == []
    assert [(topic.rsplit("/", 2)[1], r["id"], r["ok"]) for topic, r in broker.events] == [
        ("mode", "x-9", False),
        ("reserve", None, False),
    ]


def test_the_same_command_again_is_a_new_command():
    _router, broker, controls, gateway, clock = wired()
    for _ in range(2):  # a legitimate repeat: no copy is dropped on the way (the publisher routes once)
        broker.handler(message(f"envoy/{SERIAL}/relay/NC1/set", b"ON"))
        run_jobs(controls, clock)
        clock.advance(10)
    assert len(gateway.writes) == 2
    assert [r["ok"] for _t, r in broker.events] == [True, True]


def test_production_state_is_a_retained_document_beside_its_set_topic():
    router, broker, *_ = wired(ControlsConfig(production=True))
    router.publish_document(SERIAL, "production", {"forced_off": True})
    assert broker.states == {f"envoy/{SERIAL}/production": {"forced_off": True}}
