"""What the start-up read-back parses at all: anything may sit on the discovery prefix, and only a
payload that names this bridge, is small and nests shallowly is parsed (issue 11, finding 1)."""

from __future__ import annotations

import json
import logging
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from bridge.mqtt.readback import MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, Readback, nesting

AVAILABILITY = "envoy/bridge/site-a/availability"  # this instance's
PREVIOUS = "envoy/bridge/availability"  # every bridge's, before instance ids
OWN = (AVAILABILITY, PREVIOUS)
OURS = {"availability": [{"topic": AVAILABILITY}]}


def message(topic: str, payload: bytes) -> mqtt.MQTTMessage:
    msg = mqtt.MQTTMessage(topic=topic.encode())
    msg.payload, msg.retain = payload, True
    return msg


@pytest.fixture
def readback() -> Readback:
    found = Readback("ha", OWN, window=1.0, enabled=True, lock=threading.RLock())
    found.begin()
    return found


def deep(depth: int, inside: bytes = b"1") -> bytes:
    return b"[" * depth + inside + b"]" * depth


@pytest.mark.parametrize(
    "payload, depth",
    [
        (b"", 0),
        (b'{"a":1}', 1),
        (b'{"a":[1,{"b":"[[[["}]}', 3),  # brackets inside strings do not nest
        (b'{"a":"x\\"[["}', 1),  # nor after an escaped quote
        (b'["\\\\",[]]', 2),  # an escaped backslash ends before the quote
        (deep(100_000), 100_000),
        (b'"[[[[', 0),  # an unterminated string runs to the end
    ],
)
def test_nesting_counts_brackets_outside_strings(payload, depth):
    assert nesting(payload) == depth


@pytest.mark.parametrize(
    "payload",
    [
        b'"' + b'\\"' * 32_000,  # quadratic for a naive string pattern
        b'"' + b'\\"' * 32_000 + b"\\",
        b'"\\\n' * 20_000,
        b"[" * MAX_CONFIG_BYTES,
    ],
)
def test_nesting_is_linear_on_hostile_input(payload):
    started = time.perf_counter()
    nesting(payload)
    assert time.perf_counter() - started < 0.5


def test_h11_1_the_issues_nested_document_is_not_parsed_at_all(readback, monkeypatch):
    parsed = []
    monkeypatch.setattr("bridge.mqtt.readback.decode_json", lambda *a: parsed.append(a))
    readback.keep(message("ha/sensor/evil/x/config", deep(100_000)))  # names no bridge: not ours
    assert parsed == [] and readback.found == 0 and readback.refused == 0


def test_h11_1_configs_naming_this_bridge_but_too_big_deep_or_broken_are_refused_and_counted(readback, caplog):
    caplog.set_level(logging.INFO)
    marker = json.dumps(OURS).encode()[:-1]  # an object that names our availability topic, left open
    hostile = {
        "deep": marker + b',"x":' + deep(MAX_CONFIG_DEPTH) + b"}",
        "huge": marker + b',"x":"' + b"a" * MAX_CONFIG_BYTES + b'"}',
        "broken": marker + b',"x":NaN}',
        "duplicated": marker + b',"availability":[]}',  # the last key would win: strict JSON refuses it
    }
    for name, payload in hostile.items():
        readback.keep(message(f"ha/sensor/gw/{name}/config", payload))
    readback.keep(message("ha/sensor/gw/fine/config", json.dumps({**OURS, "x": [[[1]]]}).encode()))
    assert readback.found == 1 and readback.refused == len(hostile)
    readback.end({}, owners=())
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and f"ignored {readback.refused} retained configs under ha/" in warnings[0]


def test_a_read_back_without_refusals_says_nothing_loud(readback, caplog):
    readback.keep(message("ha/sensor/gw/a/config", json.dumps(OURS).encode()))
    readback.end({}, owners=())
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
