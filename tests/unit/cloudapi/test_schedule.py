"""The schedule alone: an endpoint is asked again only once the cloud can have new data, they take
turns, failures back off, and an outage's urgent calls borrow a bounded share of the month."""

from __future__ import annotations

from bridge.cloudapi import schedule as plan
from bridge.cloudapi.schedule import CloudSchedule, next_quarter, urgent_allowed

T0 = 1_798_761_600.0  # 2027-01-01 00:00 UTC, on a quarter hour


def test_a_new_endpoint_is_due_at_once_then_after_the_next_quarter_hour_and_its_lag():
    schedule = CloudSchedule([plan.SUMMARY])
    assert schedule.next(T0 + 10) == (plan.SUMMARY, T0 + 10)
    schedule.done(plan.SUMMARY, T0 + 10, ok=True)
    assert schedule.next(T0 + 20) == (plan.SUMMARY, T0 + 900 + plan.LAG_S)


def test_endpoints_take_turns_when_the_budget_is_what_makes_them_wait():
    schedule = CloudSchedule([plan.SUMMARY, plan.CONSUMPTION])
    schedule.done(plan.SUMMARY, T0, ok=True)
    schedule.done(plan.CONSUMPTION, T0 + 1, ok=True)
    # both have new data by the time the budget lets a call go: the one asked longest ago goes
    assert schedule.next(T0 + 2, earliest=T0 + 2700)[0] == plan.SUMMARY
    schedule.done(plan.SUMMARY, T0 + 2700, ok=True)
    assert schedule.next(T0 + 2700, earliest=T0 + 5400)[0] == plan.CONSUMPTION


def test_failures_back_off_by_quarter_hours_doubling_to_six_hours():
    schedule = CloudSchedule([plan.CONSUMPTION])
    waits = []
    for _ in range(7):
        schedule.done(plan.CONSUMPTION, T0, ok=False)
        waits.append(schedule.next(T0)[1] - T0)
    assert waits == [900, 1800, 3600, 7200, 14400, 21600, 21600]
    schedule.done(plan.CONSUMPTION, T0, ok=True)
    assert schedule.next(T0)[1] == T0 + 900 + plan.LAG_S


def test_a_dropped_endpoint_is_never_asked_and_none_left_is_none():
    schedule = CloudSchedule([plan.LATEST])
    schedule.drop(plan.LATEST)
    assert schedule.asks == () and schedule.next(T0) is None


def test_next_quarter_and_the_urgent_share():
    assert next_quarter(T0) == T0 + 900 and next_quarter(T0 + 899.5) == T0 + 900
    month = 31 * 86400.0
    pace = month / 1000
    assert urgent_allowed(T0, T0 + pace, 1000, month)  # one call ahead of the spread
    assert urgent_allowed(T0, T0 + 99 * pace, 1000, month)
    assert not urgent_allowed(T0, T0 + 100 * pace, 1000, month)  # 10 % of the month borrowed
