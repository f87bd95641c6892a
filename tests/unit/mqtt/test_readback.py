"""The start-up read-back: which retained configs are this bridge's, and what to send after it."""

from __future__ import annotations

import json
import threading

import paho.mqtt.client as mqtt
import pytest

from bridge.mqtt.readback import Readback, owner_of

AVAILABILITY = "envoy/bridge/site-a/availability"  # this instance's
PREVIOUS = "envoy/bridge/availability"  # every bridge's, before instance ids
OWN = (AVAILABILITY, PREVIOUS)


def config(name: str, availability: str = AVAILABILITY) -> str:
    return json.dumps({"name": name, "availability": [{"topic": availability}]})


def message(topic: str, payload: str | bytes, retain: bool = True) -> mqtt.MQTTMessage:
    msg = mqtt.MQTTMessage(topic=topic.encode())
    msg.payload = payload.encode() if isinstance(payload, str) else payload
    msg.retain = retain
    return msg


@pytest.fixture
def readback() -> Readback:
    return Readback("ha", OWN, window=1.0, enabled=True, lock=threading.RLock())


def test_owner_is_the_node_id_of_a_discovery_topic():
    assert owner_of("ha/sensor/12345/production/config") == "12345"
    assert owner_of("ha/config") == ""


def test_disabled_or_zero_window_is_over_from_the_start():
    lock = threading.RLock()
    assert Readback("ha", OWN, 1.0, enabled=False, lock=lock).over
    assert Readback("ha", OWN, 0.0, enabled=True, lock=lock).over
    assert not Readback("ha", OWN, 1.0, enabled=True, lock=lock).over


def test_begins_once(readback):
    assert readback.begin() is True
    assert readback.begin() is False


def test_keeps_only_retained_configs_that_name_this_bridge(readback):
    readback.keep(message("ha/sensor/gw/a/config", config("a")))
    readback.keep(message("ha/sensor/gw/b/config", config("b"), retain=False))  # live, not retained
    readback.keep(message("ha/sensor/gw/c/config", config("c", availability="other/availability")))
    readback.keep(message("other/sensor/gw/d/config", config("d")))  # outside the prefix
    readback.keep(message("ha/sensor/gw/e/config", b"\xff not utf-8"))
    readback.keep(message("ha/sensor/gw/f/config", "[1, 2]"))  # JSON, but not a mapping
    readback.keep(message("ha/sensor/gw/g/config", ""))  # a removal
    assert readback.found == 1
    assert readback.claim("gw", {"ha/sensor/gw/a/config": config("a")}) == ({"ha/sensor/gw/a/config": config("a")}, [])


def test_claim_hands_over_one_owners_configs_once(readback):
    for name in ("same", "changed", "gone"):
        readback.keep(message(f"ha/sensor/gw/{name}/config", config(name)))
    readback.keep(message("ha/sensor/other/x/config", config("x")))
    announced = {"ha/sensor/gw/same/config": config("same"), "ha/sensor/gw/changed/config": config("new")}
    already, vanished = readback.claim("gw", announced)
    assert already == {"ha/sensor/gw/same/config": config("same")}
    assert vanished == ["ha/sensor/gw/gone/config"]
    assert readback.claim("gw", announced) == ({}, [])
    assert readback.found == 1  # the other owner's config waits for its owner


def test_end_sends_what_differs_and_removes_known_owners_vanished_configs(readback):
    readback.begin()
    for topic in ("ha/sensor/gw/same/config", "ha/sensor/gw/gone/config", "ha/sensor/stranger/x/config"):
        readback.keep(message(topic, config(topic)))
    discovery = {
        "ha/sensor/gw/same/config": config("ha/sensor/gw/same/config"),
        "ha/sensor/gw/new/config": config("new"),
        "ha/sensor/gw/old/config": "",  # a removal with nothing on the broker: nothing to send
    }
    updates, vanished = readback.end(discovery, owners={"gw"})
    assert updates == [("ha/sensor/gw/new/config", config("new"))]
    assert vanished == ["ha/sensor/gw/gone/config"]
    assert readback.over and readback.wait(0)
    assert readback.found == 1  # an owner this run never announced is left alone


def test_overdue_only_when_started_and_not_over(readback):
    assert readback.overdue() is False  # never started
    readback.begin()
    readback.end({}, owners=())
    assert readback.overdue() is False


def test_overdue_when_its_timer_is_late():
    late = Readback("ha", OWN, window=0.05, enabled=True, lock=threading.RLock())
    late.begin()
    assert late.overdue() is True  # waited the window and a second more, in vain


def test_an_upgrade_finds_its_configs_under_the_previous_shared_topic_and_updates_them(readback):
    """Before instance ids every bridge named `{base}/bridge/availability`: those configs are this
    bridge's previous ones, so the new ones (naming this instance) replace them in place."""
    readback.begin()
    readback.keep(message("ha/sensor/gw/same/config", config("same", availability=PREVIOUS)))
    readback.keep(message("ha/sensor/gw/gone/config", config("gone", availability=PREVIOUS)))
    announced = {"ha/sensor/gw/same/config": config("same")}
    updates, vanished = readback.end(announced, owners={"gw"})
    assert updates == [("ha/sensor/gw/same/config", config("same"))]  # one entity, its new availability
    assert vanished == ["ha/sensor/gw/gone/config"]


def test_another_instances_configs_are_never_kept(readback):
    readback.keep(message("ha/sensor/gw2/x/config", config("x", availability="envoy/bridge/site-b/availability")))
    assert readback.found == 0


def test_configs_under_the_previous_topic_of_a_gateway_another_instance_serves_are_never_removed(readback):
    """After a site is split in two, both instances read the old shared configs: each hands over
    only its own gateways', so instance A never removes B's (B updates them when it announces)."""
    readback.begin()
    for topic in ("ha/sensor/gw_a/x/config", "ha/sensor/gw_b/y/config", "ha/sensor/gw_b/z/config"):
        readback.keep(message(topic, config(topic, availability=PREVIOUS)))
    updates, vanished = readback.end({"ha/sensor/gw_a/x/config": config("x")}, owners={"gw_a"})
    assert vanished == [] and [t for t, _ in updates] == ["ha/sensor/gw_a/x/config"]
    assert readback.claim("gw_a", {"ha/sensor/gw_a/x/config": config("x")}) == ({}, [])
    assert readback.found == 2  # B's, waiting for an owner this instance never announces
