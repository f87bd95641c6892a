"""The bridge's own topics, put back when someone else overwrites them, never fought over when
the bridge removed them itself, and never restored at full speed against a second instance."""

from __future__ import annotations

import logging
import time

import paho.mqtt.client as mqtt
import pytest

from bridge.mqtt.guard import Guard
from bridge.mqtt.restore import ECHOES_KEPT, Hooks, Restorer
from tests.support.clock import FakeClock
from tests.support.mqtt import wait_for

STATE = "envoy/122/state"
CONFIG = "ha/sensor/122/production/config"
ENERGY = "ha/sensor/122/energy/config"


class Publisher:
    """What the restorer needs of the publisher: the held payloads, resends, subscriptions."""

    def __init__(self) -> None:
        self.held = {
            STATE: '{"w":1}',
            CONFIG: '{"name":"production"}',
            ENERGY: '{"name":"energy"}',
            "envoy/122/old": "",
        }
        self.resent: list[tuple[str, str]] = []
        self.subscribed: list[str] = []

    def hooks(self) -> Hooks:
        return Hooks(self.held.get, lambda topic: self.resent.append((topic, self.held[topic])), self.subscribed.append)


def message(topic: str, payload: str | bytes, retain: bool = False) -> mqtt.MQTTMessage:
    msg = mqtt.MQTTMessage(topic=topic.encode())
    msg.payload = payload.encode() if isinstance(payload, str) else payload
    msg.retain = retain
    return msg


@pytest.fixture
def publisher() -> Publisher:
    return Publisher()


def restorer(publisher: Publisher, interval: float = 60.0, clock=None) -> Restorer:
    watcher = Restorer("envoy", "ha", publisher.hooks(), interval, clock or FakeClock(0.0), Guard())
    watcher.connected()
    return watcher


def test_it_subscribes_to_its_base_topic_and_to_each_announced_gateways_configs_once(publisher):
    watcher = restorer(publisher)
    watcher.watch([CONFIG, "ha/binary_sensor/122/grid/config", "ha/sensor/777/x/config", "other/sensor/1/x/config"])
    watcher.watch([CONFIG])
    assert publisher.subscribed == ["envoy/#", "ha/+/122/+/config", "ha/+/777/+/config"]
    watcher.connected()  # a reconnect: a clean session, so everything again
    assert publisher.subscribed[3:] == ["envoy/#", "ha/+/122/+/config", "ha/+/777/+/config"]


def test_h11_16_someone_elses_value_on_a_held_topic_is_replaced_by_the_held_one(publisher, caplog):
    watcher = restorer(publisher)
    watcher.received(message(STATE, '{"w":999999}'))
    watcher.received(message(CONFIG, '{"name":"hijacked"}'))
    watcher.received(message(ENERGY, ""))  # someone else removed an entity the bridge announces
    assert publisher.resent == [(STATE, '{"w":1}'), (CONFIG, '{"name":"production"}'), (ENERGY, '{"name":"energy"}')]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [f"MQTT: another client overwrote {STATE}; the bridge restored its value"]
    assert watcher.stats == {"overwrites": 3, "restores": 3}  # one line for them all


def test_its_own_echoes_the_same_value_retained_copies_and_foreign_topics_are_left_alone(publisher):
    watcher = restorer(publisher)
    watcher.sending(STATE, '{"w":0}')  # an older value of its own, still on its way back
    watcher.received(message(STATE, '{"w":0}'))
    watcher.received(message(STATE, '{"w":1}'))  # someone else sent the held value: no harm
    watcher.received(message(STATE, '{"w":7}', retain=True))  # the broker's copy on subscribing
    watcher.received(message("envoy/999/state", "{}"))  # not a topic of this bridge
    watcher.received(message("envoy/122/old", "back from the dead"))  # removed by the bridge itself
    assert publisher.resent == []


def test_an_echo_that_never_came_does_not_hide_the_next_one(publisher):
    watcher = restorer(publisher)
    for value in range(ECHOES_KEPT + 3):  # more than are kept: the oldest are forgotten
        watcher.sending(STATE, f'{{"w":{value}}}')
    watcher.received(message(STATE, f'{{"w":{ECHOES_KEPT + 1}}}'))  # the ones before it were lost
    watcher.received(message(STATE, f'{{"w":{ECHOES_KEPT + 2}}}'))
    watcher.not_sent(STATE, '{"w":5}')  # not the latest: nothing to take back
    assert publisher.resent == []


def test_nothing_is_restored_before_a_connection_or_after_stop(publisher):
    watcher = Restorer("envoy", "ha", publisher.hooks(), 60.0, FakeClock(0.0), Guard())
    watcher.received(message(STATE, "spoofed"))
    watcher.connected()
    watcher.stop()
    watcher.received(message(STATE, "spoofed"))  # e.g. its own `offline` as it stops
    assert publisher.resent == []


def test_h11_16_a_second_overwrite_within_the_interval_waits_and_is_said_once_as_a_second_instance(publisher, caplog):
    watcher = restorer(publisher, interval=0.3, clock=time.monotonic)
    watcher.received(message(STATE, '{"w":2}'))
    for _ in range(50):  # another bridge on the same topics, or a flood
        watcher.received(message(STATE, '{"w":2}'))
    assert publisher.resent == [(STATE, '{"w":1}')]
    wait_for(lambda: len(publisher.resent) == 2, 5, message="the restore put off to the end of the interval")
    time.sleep(0.4)
    assert len(publisher.resent) == 2  # one per interval, not one per overwrite
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "another instance of the bridge" in errors[0] and STATE in errors[0]


def test_a_put_off_restore_is_dropped_when_the_bridges_own_value_is_back_first(publisher):
    watcher = restorer(publisher, interval=0.3, clock=time.monotonic)
    watcher.received(message(STATE, '{"w":2}'))
    watcher.received(message(STATE, '{"w":3}'))  # within the interval: put off
    watcher.sending(STATE, '{"w":1}')  # the bridge published anyway (a change, a republish)
    watcher.received(message(STATE, '{"w":1}'))
    time.sleep(0.5)
    assert publisher.resent == [(STATE, '{"w":1}')]
    watcher.stop()
