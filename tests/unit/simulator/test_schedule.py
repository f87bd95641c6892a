"""Event specs ("NAME[:KEY=VALUE]...[@WHEN]"), when a scheduled event is due, malformed bodies."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from bridge.simulator.clock import SimClock
from bridge.simulator.httpd import Response
from bridge.simulator.schedule import MALFORMED_KINDS, Scheduled, malformed, parse_events, parse_when
from tests.support.clock import FakeClock
from tests.unit.simulator.helpers import START

NOON_UTC = datetime(2027, 1, 15, 12, 0, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(
    "text, when",
    [
        ("", (None, None)),
        ("+30s", (30.0, None)),
        ("+7", (7.0, None)),
        ("+2m", (120.0, None)),
        ("+1.5h", (5400.0, None)),
        (" 07:30 ", (None, 7.5)),
        ("0:00", (None, 0.0)),
    ],
)
def test_when_is_a_real_offset_or_a_daily_local_time(text, when):
    assert parse_when(text) == when


@pytest.mark.parametrize("text", ["soon", "24:00", "12:60", "-30s", "+30d", "12"])
def test_bad_times_are_refused(text):
    with pytest.raises(ValueError, match=r"\+N\[s\|m\|h\] or HH:MM"):
        parse_when(text)


def test_parameters_are_typed_and_empty_items_skipped():
    events = parse_events(" slow:delay_s=2:duration_s=1.5@+1m,, firmware_update:version=8.3.5167 ,reboot")
    assert events == [
        ("slow", {"delay_s": 2, "duration_s": 1.5}, 60.0, None),
        ("firmware_update", {"version": "8.3.5167"}, None, None),
        ("reboot", {}, None, None),
    ]
    assert isinstance(events[0][1]["delay_s"], int) and isinstance(events[0][1]["duration_s"], float)
    assert parse_events("") == []
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_events("slow:delay_s")


def test_a_one_off_is_due_once_at_its_real_time():
    clock = SimClock(FakeClock(START), 1.0, None, "UTC")
    entry = Scheduled("reboot", {}, real_at=100.0)
    assert not entry.is_due(99.9, 0.0, clock) and not entry.done
    assert entry.is_due(100.0, 0.0, clock) and entry.done
    assert not entry.is_due(500.0, 0.0, clock)
    assert entry.describe() == "reboot at +100"


def test_a_daily_event_fires_once_each_simulated_day():
    clock = SimClock(FakeClock(START), 1.0, None, "UTC")
    entry = Scheduled("grid_outage", {}, daily_hour=12.5, last_sim=NOON_UTC)
    looks = [NOON_UTC + minutes * 60 for minutes in (10, 29, 31, 45)]
    assert [entry.is_due(0.0, sim_now, clock) for sim_now in looks] == [False, False, True, False]
    next_day = NOON_UTC + 86400 + 40 * 60
    assert entry.is_due(0.0, next_day, clock) and not entry.done  # daily ones stay scheduled
    assert entry.describe() == "grid_outage daily at 12:30"


def test_malformed_bodies_break_json_in_four_ways():
    good = Response(200, json.dumps({"wattsNow": 1234, "readings": list(range(20))}).encode(), "application/json")
    bodies = {kind: malformed(good, kind) for kind in MALFORMED_KINDS}
    assert all(reply.status == 200 for reply in bodies.values())
    assert good.body.startswith(bodies["truncated"].body) and len(bodies["truncated"].body) == len(good.body) // 2
    assert bodies["html"].content_type == "text/html" and bodies["empty"].body == b""
    for reply in bodies.values():
        with pytest.raises((json.JSONDecodeError, UnicodeDecodeError)):
            json.loads(reply.body)
