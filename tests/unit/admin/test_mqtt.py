"""Requests on MQTT: the filter subscribed, retained requests ignored, bad ones answered with an
error and one log line, copies of one message run once. The paho messages are real ones; the
verbs are the real ones on a real worker over the fake gateway."""

from __future__ import annotations

import logging

from bridge.admin.mqtt import RequestsMqtt
from bridge.admin.verbs import Verbs
from tests.support.clock import FakeClock
from tests.unit.admin.test_verbs import make_verbs
from tests.unit.controls.test_mqtt import Broker, message

REQUEST = "envoy/bridge/request/"


def wired() -> tuple[RequestsMqtt, Broker, FakeClock, Verbs]:
    verbs, _, _, _, clock = make_verbs()
    broker = Broker()
    requests = RequestsMqtt(broker, "envoy", monotonic=clock.monotonic)  # type: ignore[arg-type]
    requests.start(Verbs(verbs.workers, lambda: {"healthy": True}, requests.respond, monotonic=clock.monotonic))
    return requests, broker, clock, verbs


def test_subscribes_to_the_request_topics_only():
    _, broker, _, _ = wired()
    assert broker.filters == ("envoy/bridge/request/+",)


def test_a_request_is_answered_on_its_response_topic_with_its_transaction():
    _, broker, _, _ = wired()
    broker.handler(message(REQUEST + "health_check", b'{"transaction": "t1"}'))
    assert broker.events == [
        (
            "envoy/bridge/response/health_check",
            {"status": "ok", "data": {"healthy": True, "instance": ""}, "error": None, "transaction": "t1"},
        )
    ]


def test_a_retained_request_is_never_run(caplog):
    caplog.set_level(logging.INFO, logger="bridge.admin")
    _, broker, clock, _ = wired()
    for _ in range(3):
        clock.advance(1)
        broker.handler(message(REQUEST + "log_level", b'{"level": "DEBUG"}', retain=True))
    assert broker.events == [] and logging.getLogger().level != logging.DEBUG
    assert caplog.text.count("ignoring the retained request") == 1


def test_bad_json_and_an_unknown_verb_get_an_error_and_one_line_each(caplog):
    caplog.set_level(logging.INFO, logger="bridge.admin")
    _, broker, clock, _ = wired()
    broker.handler(message(REQUEST + "poll", b"{not json"))
    broker.handler(message(REQUEST + "reboot", b'{"transaction": 7}'))
    clock.advance(1)
    broker.handler(message(REQUEST + "reboot", b'{"transaction": 7}'))  # the same again: answered, not logged
    assert [(topic, event["status"], event["transaction"]) for topic, event in broker.events] == [
        ("envoy/bridge/response/poll", "error", None),
        ("envoy/bridge/response/reboot", "error", 7),
        ("envoy/bridge/response/reboot", "error", 7),
    ]
    lines = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [("not a JSON object" in r.getMessage(), "unknown verb" in r.getMessage()) for r in lines] == [
        (True, False),
        (False, True),
    ]


def test_a_topic_that_cannot_name_a_response_is_only_logged(caplog):
    _, broker, _, _ = wired()
    broker.handler(message(REQUEST + "bad verb", b"{}"))
    assert broker.events == [] and "not a request topic" in caplog.text


def test_the_same_request_twice_is_answered_twice():
    """The publisher hands each message over once (bridge/mqtt/routes.py): a repeat is a new request."""
    _, broker, _, _ = wired()
    broker.handler(message(REQUEST + "health_check", b"{}"))
    broker.handler(message(REQUEST + "health_check", b"{}"))
    assert len(broker.events) == 2
