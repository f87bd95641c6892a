"""MQTT topic rules of the embedded broker: matching, valid filters, valid topics."""

from __future__ import annotations

import pytest

from bridge.demo.broker.topics import topic_matches, valid_filter, valid_topic


@pytest.mark.parametrize(
    "topic_filter, topic, expected",
    [
        ("a/b", "a/b", True),
        ("a/b", "a/c", False),
        ("a/+", "a/b", True),
        ("a/+", "a/b/c", False),
        ("a/+/c", "a//c", True),
        ("a/#", "a", True),
        ("a/#", "a/b/c", True),
        ("#", "a/b", True),
        ("+/+", "/x", True),
        ("+", "a/b", False),
        ("a/b", "a/b/c", False),
        ("#", "$SYS/x", False),
        ("+/x", "$SYS/x", False),
        ("$SYS/#", "$SYS/x", True),
    ],
)
def test_topic_matches(topic_filter, topic, expected):
    assert topic_matches(topic_filter, topic) is expected


def test_valid_filter():
    assert all(map(valid_filter, ["a", "a/+/b", "#", "a/#", "+", "/", "$SYS/#"]))
    assert not any(map(valid_filter, ["", "a/#/b", "a#", "a/b+", "a/#x", "a/\0"]))


def test_valid_topic():
    assert all(map(valid_topic, ["a", "a/b", "/", "$SYS/x", "envoy/122/state"]))
    assert not any(map(valid_topic, ["", "a/+", "a/#", "a\0b"]))
