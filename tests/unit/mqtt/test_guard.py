"""The edge of every paho callback and timer: one line per kind of failure, then a count."""

from __future__ import annotations

import logging

from bridge.mqtt.guard import CAUSE_CHARS, REPORT_S, Guard, Quiet
from tests.support.clock import FakeClock

LOGGER = "bridge.mqtt.guard"


def errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= logging.ERROR]


def too_deep(_message: object) -> None:
    raise RecursionError("maximum recursion depth exceeded while decoding a JSON array from a unicode string")


def test_quiet_says_the_first_event_then_a_count_at_most_once_per_interval():
    clock = FakeClock(0.0)
    quiet = Quiet(60.0, clock)
    assert quiet.due() == 1
    assert [quiet.due() for _ in range(5)] == [None] * 5
    clock.advance(60.0)
    assert quiet.due() == 6  # the five in between and this one
    clock.advance(61.0)
    assert quiet.due() == 1


def test_h11_1_a_callback_that_raises_is_logged_once_per_flood_and_the_thread_carries_on(caplog):
    caplog.set_level(logging.DEBUG, LOGGER)
    clock = FakeClock(0.0)
    guard = Guard(clock)
    on_message = guard.wrap("on_message", too_deep)
    for _ in range(1000):  # a flood of poisoned messages: each one raises, none escapes
        assert on_message(object()) is None
    assert guard.failures == 1000
    lines = errors(caplog)
    assert len(lines) == 1
    assert lines[0].startswith("MQTT: on_message failed (RecursionError: maximum recursion depth exceeded")
    assert "carries on" in lines[0]
    clock.advance(REPORT_S)
    on_message(object())
    assert len(errors(caplog)) == 2 and "failed 1000 times in the last 10 min" in errors(caplog)[1]


def test_each_callback_and_each_kind_of_failure_gets_its_own_first_line(caplog):
    guard = Guard(FakeClock(0.0))
    guard.wrap("on_message", too_deep)(None)
    guard.wrap("on_connect", too_deep)(None)
    guard.wrap("on_message", lambda _: {}["missing"])(None)
    guard.wrap("on_message", too_deep)(None)
    assert len(errors(caplog)) == 3


def test_the_cause_is_one_short_line_even_when_the_exception_quotes_a_flood():
    guard = Guard(FakeClock(0.0))

    def quoting(_: object) -> None:
        raise ValueError("bad payload:\n" + "x" * 100_000)

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger(LOGGER).addHandler(handler)
    try:
        guard.wrap("on_message", quoting)(None)
    finally:
        logging.getLogger(LOGGER).removeHandler(handler)
    line = next(r.getMessage() for r in records if r.levelno == logging.ERROR)
    assert "\n" not in line and len(line) < CAUSE_CHARS + 100


def test_a_wrapped_callback_returns_normally_when_nothing_fails():
    calls = []
    guarded = Guard().wrap("on_publish", lambda *args, **kw: calls.append((args, kw)))
    guarded(1, mid=2)
    assert calls == [((1,), {"mid": 2})]
