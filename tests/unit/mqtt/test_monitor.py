"""The connection monitor: one log line per transition, never one per attempt, on a fake clock."""

from __future__ import annotations

import logging

import pytest

from bridge.mqtt.monitor import FLAP_COUNT, FLAP_WINDOW_S, REMINDER_S, ConnectionMonitor
from tests.support.clock import FakeClock

BROKER = "127.0.0.1:1883"
LOGGER = "bridge.publisher"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
def monitor(clock) -> ConnectionMonitor:
    monitor = ConnectionMonitor(BROKER, "bridge-1", clock)
    monitor.starting()
    return monitor


@pytest.fixture
def lines(caplog):
    """lines() -> the (level, message) pairs logged since the last call."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)

    def take() -> list[tuple[str, str]]:
        found = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == LOGGER]
        caplog.clear()
        return found

    return take


def test_a_first_connection_says_connected_once(monitor, lines):
    monitor.connected()
    assert lines() == [("INFO", f"MQTT: connected to {BROKER}")]
    assert monitor.stats["connects"] == 1


def test_an_unreachable_broker_is_one_error_then_quiet_debug_lines(monitor, clock, lines):
    monitor.connect_failed("connection refused")
    monitor.connect_failed("connection refused")
    expected = f"MQTT: cannot reach broker {BROKER} (connection refused); retrying in the background"
    assert lines() == [("ERROR", expected), ("DEBUG", expected)]
    clock.advance(42)
    monitor.connected()
    assert lines() == [("INFO", f"MQTT: connected to {BROKER} again after 42 s")]
    assert monitor.stats["connect_failures"] == 2


@pytest.mark.parametrize(
    "reason, hint",
    [
        ("Not authorized", ": check mqtt.username and mqtt.password"),
        ("Bad user name or password", ": check mqtt.username and mqtt.password"),
        ("Client identifier not valid", ": set a different mqtt.client_id"),
        ("Server unavailable", ""),
    ],
)
def test_a_refusal_says_what_to_check(monitor, lines, reason, hint):
    monitor.refused(reason)
    assert lines() == [("ERROR", f"MQTT: broker {BROKER} refused the connection: {reason}{hint}")]
    assert monitor.stats["refusals"] == 1


def test_a_problem_after_a_connection_is_an_error_again(monitor, lines):
    monitor.refused("Not authorized")
    monitor.connected()
    lines()
    monitor.disconnected(unexpected=True)
    monitor.refused("Not authorized")
    assert [level for level, _ in lines()] == ["WARNING", "ERROR"]


def test_a_drop_is_one_warning_and_the_return_says_how_long_it_took(monitor, clock, lines):
    monitor.connected()
    clock.advance(FLAP_WINDOW_S + 1)  # long after connecting: not a flap
    lines()
    assert monitor.disconnected(unexpected=True) is False
    assert lines() == [("WARNING", f"MQTT: connection to {BROKER} lost; reconnecting")]
    clock.advance(3)
    monitor.connected()
    assert lines() == [("INFO", f"MQTT: connected to {BROKER} again after 3 s")]
    assert (monitor.stats["drops"], monitor.stats["connects"]) == (1, 2)


def test_an_expected_disconnect_logs_nothing_and_counts_no_drop(monitor, lines):
    monitor.connected()
    lines()
    assert monitor.disconnected(unexpected=False) is False
    assert lines() == []
    assert monitor.stats["drops"] == 0


def connect_and_drop(monitor: ConnectionMonitor, clock: FakeClock, up_for: float) -> bool:
    monitor.connected()
    clock.advance(up_for)
    flapping = monitor.disconnected(unexpected=True)
    clock.advance(1)
    return flapping


def test_drops_soon_after_connecting_are_flapping_told_once_as_an_error(monitor, clock, lines):
    results = [connect_and_drop(monitor, clock, up_for=2) for _ in range(FLAP_COUNT)]
    assert results == [False] * (FLAP_COUNT - 1) + [True]
    errors = [message for level, message in lines() if level == "ERROR"]
    assert len(errors) == 1
    assert f"dropped {FLAP_COUNT} times within" in errors[0] and "'bridge-1'" in errors[0]
    assert connect_and_drop(monitor, clock, up_for=2) is True
    assert lines()[-1] == ("DEBUG", f"MQTT: connection to {BROKER} lost again (flapping)")


def test_drops_long_after_connecting_are_not_flapping(monitor, clock):
    results = [connect_and_drop(monitor, clock, up_for=FLAP_WINDOW_S) for _ in range(FLAP_COUNT + 1)]
    assert results == [False] * (FLAP_COUNT + 1) and not monitor.flapping


def test_flapping_ends_once_connected_for_the_window(monitor, clock, lines):
    for _ in range(FLAP_COUNT):
        connect_and_drop(monitor, clock, up_for=2)
    monitor.connected()
    lines()
    clock.advance(FLAP_WINDOW_S - 1)
    assert monitor.tick(held_topics=5) is False and monitor.flapping
    clock.advance(1)
    assert monitor.tick(held_topics=5) is True
    assert not monitor.flapping
    assert lines()[-1] == ("INFO", f"MQTT: the connection to {BROKER} is stable again")
    assert monitor.tick(held_topics=5) is False  # told once


def test_while_away_a_reminder_every_ten_minutes_not_every_tick(monitor, clock, lines):
    monitor.connect_failed("timed out")
    lines()
    clock.advance(REMINDER_S - 1)
    assert monitor.tick(held_topics=7) is False
    assert lines() == []
    clock.advance(1)
    monitor.tick(held_topics=7)
    clock.advance(60)
    monitor.tick(held_topics=7)
    reminder = f"MQTT: still not connected to {BROKER} (for 10 min); holding the latest value of 7 topics, "
    assert lines() == [("INFO", reminder + "sent when it is back")]


def test_no_reminder_while_connected(monitor, clock, lines):
    monitor.connected()
    lines()
    clock.advance(REMINDER_S * 3)
    assert monitor.tick(held_topics=1) is False
    assert lines() == []
