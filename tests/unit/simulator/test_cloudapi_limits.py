"""The fake Enlighten API v4's quotas on a fake clock: per calendar minute and per calendar month
(UTC); a refused call is not counted."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bridge.simulator.cloudapi_limits import PLANS, Quota, check_plan, minute_bounds, month_bounds
from tests.support.clock import FakeClock

WATT, KILOWATT = PLANS["watt"], PLANS["kilowatt"]


def utc(*fields: int) -> float:
    return datetime(*fields, tzinfo=timezone.utc).timestamp()


def test_the_plans_of_the_reference():
    assert (WATT.per_minute, WATT.per_month, WATT.device_level) == (10, 1000, False)
    assert (KILOWATT.per_minute, KILOWATT.per_month, KILOWATT.device_level) == (50, 50_000, True)
    check_plan("watt")
    with pytest.raises(ValueError, match="plan must be one of watt, kilowatt"):
        check_plan("megawatt")


def test_ten_a_minute_then_429_until_the_next_minute():
    clock = FakeClock(utc(2027, 3, 10, 12, 0, 30))
    quota = Quota(clock)
    assert [quota.admit(WATT) for _ in range(10)] == [None] * 10
    refusal = quota.admit(WATT)
    assert refusal == {
        "message": "Too Many Requests",
        "details": "Usage limit exceeded for plan Watt",
        "code": 429,
        "period": "minute",
        "period_start": int(utc(2027, 3, 10, 12, 0)),
        "period_end": int(utc(2027, 3, 10, 12, 1)),
        "limit": 10,
    }
    assert quota.month_calls == 10  # the refusal was not counted
    clock.advance(29.9)
    assert quota.admit(WATT) is not None
    clock.advance(0.1)  # 12:01:00, a new calendar minute
    assert quota.admit(WATT) is None and quota.month_calls == 11


def test_the_month_cap_holds_until_the_first_of_the_next_month():
    clock = FakeClock(utc(2027, 12, 31, 23, 59))
    quota = Quota(clock)
    quota.use_month(999)
    assert quota.admit(WATT) is None and quota.month_calls == 1000
    refusal = quota.admit(WATT)
    assert refusal is not None and refusal["period"] == "month" and refusal["limit"] == 1000
    assert (refusal["period_start"], refusal["period_end"]) == (int(utc(2027, 12, 1)), int(utc(2028, 1, 1)))
    clock.advance(59)
    assert quota.admit(WATT) is not None
    clock.advance(1)  # 2028-01-01 00:00 UTC
    assert quota.month_calls == 0
    assert quota.admit(WATT) is None and quota.month_calls == 1


def test_the_month_is_checked_before_the_minute():
    quota = Quota(FakeClock(utc(2027, 5, 5)))
    quota.use_month(1000)
    assert quota.admit(KILOWATT) is None  # the Kilowatt plan's 50 000 a month leave room
    quota.use_month(50_000)
    refusal = quota.admit(KILOWATT)
    assert refusal is not None and refusal["period"] == "month" and "plan Kilowatt" in refusal["details"]


def test_calendar_bounds():
    assert month_bounds(utc(2028, 2, 29, 23, 59, 59)) == (int(utc(2028, 2, 1)), int(utc(2028, 3, 1)))
    assert minute_bounds(utc(2027, 1, 1, 0, 0, 59) + 0.5) == (int(utc(2027, 1, 1)), int(utc(2027, 1, 1, 0, 1)))
