"""The simulated clock: real time scaled and anchored, in the scenario's time zone."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest

from bridge.simulator.clock import DAY_S, SimClock, resolve_timezone
from tests.support.clock import FakeClock
from tests.unit.simulator.helpers import START

NOON_UTC = datetime(2027, 1, 15, 12, 0, tzinfo=timezone.utc).timestamp()


def test_midnight_is_local_time_of_the_scenario():
    fake = FakeClock(START)
    clock = SimClock(fake, 1.0, "23:30", "+02:00")
    assert clock.local(clock.now()).strftime("%H:%M") == "23:30"
    assert clock.next_midnight(clock.now()) - clock.now() == pytest.approx(30 * 60)


def test_time_factor_and_start():
    fake = FakeClock(START)
    clock = SimClock(fake, 60.0, "10:00", "UTC")
    start = clock.now()
    assert clock.local(start).strftime("%H:%M") == "10:00"
    fake.now += 10
    assert clock.now() - start == pytest.approx(600)
    assert clock.real_now() == START + 10  # tokens and sessions keep real time
    with pytest.raises(ValueError, match="positive"):
        SimClock(fake, 0)
    with pytest.raises(ValueError, match="HH:MM"):
        SimClock(fake, 1, "noon")


def test_start_defaults_to_now_or_takes_unix_seconds():
    fake = FakeClock(START)
    assert SimClock(fake).now() == START
    assert SimClock(fake, 1.0, "").now() == START
    assert SimClock(fake, 1.0, NOON_UTC).now() == NOON_UTC
    fake.now += 5
    assert SimClock(fake, 2.0, NOON_UTC).describe().startswith("2027-01-15 12:00:00")


@pytest.mark.parametrize(
    "name, offset",
    [
        ("UTC", timedelta(0)),
        ("z", timedelta(0)),
        ("+02:00", timedelta(hours=2)),
        ("-0530", -timedelta(hours=5, minutes=30)),
        ("+3", timedelta(hours=3)),
    ],
)
def test_fixed_time_zones(name, offset):
    zone = resolve_timezone(name)
    assert zone is not None and zone.utcoffset(None) == offset


def test_local_zone_and_unknown_zones(caplog):
    assert resolve_timezone("local") is None and resolve_timezone("") is None
    with caplog.at_level(logging.WARNING, logger="bridge.simulator.clock"):
        assert resolve_timezone("Mars/Olympus_Mons") is timezone.utc
    assert "unknown here" in caplog.text


def test_hours_and_days_in_the_local_zone():
    clock = SimClock(FakeClock(START), 1.0, None, "+02:00")
    assert clock.hour(NOON_UTC) == pytest.approx(14.0)
    assert clock.day_start(NOON_UTC) == NOON_UTC - 14 * 3600
    assert clock.utc_offset(NOON_UTC) == 7200
    assert clock.next_time_of_day(NOON_UTC, 15.5) == NOON_UTC + 1.5 * 3600  # later today
    assert clock.next_time_of_day(NOON_UTC, 9.0) == NOON_UTC - 5 * 3600 + DAY_S  # tomorrow
    assert clock.next_time_of_day(NOON_UTC, 14.0) == NOON_UTC + DAY_S  # strictly after


def test_next_midnight_across_a_daylight_saving_change():
    clock = SimClock(FakeClock(START), 1.0, None, "Europe/Paris")
    if clock.tz is timezone.utc:
        pytest.skip("no time zone database on this machine")
    before_change = datetime(2027, 3, 28, 1, 0, tzinfo=clock.tz).timestamp()  # a 23-hour day
    midnight = clock.next_midnight(before_change)
    assert clock.local(midnight).strftime("%Y-%m-%d %H:%M") == "2027-03-29 00:00"
    assert midnight - before_change == 22 * 3600


def test_a_real_moment_on_the_simulated_clock():
    fake = FakeClock(START)
    clock = SimClock(fake, 60.0, "10:00", "UTC")
    start = clock.now()
    assert clock.at(START) == start and clock.at(START + 300) == start + 300 * 60
    fake.now += 5
    assert clock.now() == clock.at(fake.now)
