"""The request budget over simulated months on a fake clock: never above either limit, even
with restarts every few days, the month's calls spread evenly, 429s, the month's rollover."""

from __future__ import annotations

import calendar
from collections import Counter
from typing import Any

from bridge.cloudapi.budget import WINDOW_S, Budget, Limits, month_bounds

JAN = float(calendar.timegm((2026, 1, 1, 0, 0, 0)))
FEB = float(calendar.timegm((2026, 2, 1, 0, 0, 0)))
DAY = 86400.0
WATT = Limits(per_minute=10, per_month=1000)


class MemoryStore:
    """The budget's state as the file would hold it: a copy, so only what was saved survives."""

    def __init__(self) -> None:
        self.state: dict[str, Any] | None = None
        self.saves = 0

    def load(self) -> dict[str, Any] | None:
        return None if self.state is None else dict(self.state, recent=list(self.state["recent"]))

    def save(self, state: dict[str, Any]) -> None:
        self.state = dict(state, recent=list(state["recent"]))
        self.saves += 1


def greedy_run(start: float, end: float, limits: Limits, restart_every: float | None = None) -> list[float]:
    """A caller that sends whenever the budget allows, restarting (a new Budget over the saved
    state) every `restart_every` seconds; the send times."""
    store = MemoryStore()
    now = start
    store.state = {"month": "2026-01", "month_calls": 0, "day": "2026-01-01", "day_calls": 0, "recent": []}
    store.state |= {"blocked_until": 0.0, "strikes": 0}  # a known start: nothing used yet
    budget = Budget(limits, store, now)
    next_restart = start + restart_every if restart_every else float("inf")
    sent = []
    while now < end:
        if now >= next_restart:
            budget = Budget(limits, store, now)
            next_restart += restart_every or 0
        if budget.take(now):
            sent.append(now)
        now = max(now + 1, min(budget.next_allowed(now), next_restart))
    return sent


def max_in_any_minute(sent: list[float]) -> int:
    best, j = 0, 0
    for i, t in enumerate(sent):
        while sent[j] <= t - 60:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_a_greedy_caller_over_a_month_stays_within_both_limits_and_is_spread_evenly():
    sent = greedy_run(JAN, FEB + 2 * DAY, WATT, restart_every=3 * DAY + 3600)
    in_january = [t for t in sent if t < FEB]
    assert len(in_january) == 1000
    assert max_in_any_minute(sent) <= 10
    per_day = Counter(int((t - JAN) // DAY) for t in in_january)
    assert set(per_day) == set(range(31))
    assert all(32 <= n <= 33 for n in per_day.values()), per_day  # 1000 / 31 = 32.3
    february = [t for t in sent if t >= FEB]
    assert 60 <= len(february) <= 73  # the new month starts afresh at its own pace (1000 / 28 a day)


def test_without_the_spread_the_month_may_go_at_once_but_never_past_either_limit():
    sent = greedy_run(JAN, JAN + 3 * DAY, Limits(10, 1000, spread=False), restart_every=7 * 3600)
    assert len(sent) == 1000
    assert max_in_any_minute(sent) <= 10
    assert sent[-1] - sent[0] >= 99 * WINDOW_S  # 100 windows of 10 calls


def test_a_lost_state_counts_the_month_as_used_at_its_pace():
    mid_month = JAN + 15.5 * DAY
    budget = Budget(WATT, MemoryStore(), mid_month)
    assert budget.usage(mid_month).month == 500
    assert budget.take(mid_month)
    assert not budget.take(mid_month + 60)  # no burst to catch up: the next slot is 44.6 min on
    assert budget.next_allowed(mid_month) == JAN + 501 * (31 * DAY / 1000)


def test_an_urgent_call_skips_the_spread_but_not_the_minute_and_is_paid_for_later():
    store = MemoryStore()
    budget = Budget(WATT, store, JAN)
    assert budget.take(JAN)
    assert not budget.take(JAN + 1)
    assert all(budget.take(JAN + 1 + i, urgent=True) for i in range(9))
    assert not budget.take(JAN + 10, urgent=True)  # the minute is full
    assert budget.next_allowed(JAN + 10) == JAN + 10 * (31 * DAY / 1000)  # 10 calls made: slot 10


def test_a_429_waits_for_the_next_minute_then_backs_off_and_an_answer_resets_it():
    budget = Budget(Limits(10, 1000, spread=False), MemoryStore(), JAN)
    now = JAN + 30
    budget.refused(now)
    assert budget.next_allowed(now) == JAN + 60
    budget.refused(JAN + 60)
    assert budget.next_allowed(JAN + 60) == JAN + 120 + 60
    budget.refused(JAN + 180)
    assert budget.next_allowed(JAN + 180) == JAN + 240 + 180
    budget.answered()
    budget.refused(JAN + 500)
    assert budget.next_allowed(JAN + 500) == JAN + 540


def test_a_month_429_stops_until_the_first_and_the_new_month_starts_afresh():
    store = MemoryStore()
    budget = Budget(WATT, store, JAN + 10 * DAY)
    budget.refused(JAN + 10 * DAY, period="month")
    restarted = Budget(WATT, store, JAN + 20 * DAY)  # survives a restart
    assert restarted.next_allowed(JAN + 20 * DAY, urgent=True) == FEB
    assert restarted.take(FEB)
    assert restarted.usage(FEB).month == 1 and restarted.usage(FEB).today == 1


def test_the_per_minute_window_survives_a_restart():
    store = MemoryStore()
    budget = Budget(Limits(10, 1000, spread=False), store, JAN)
    assert all(budget.take(JAN + i) for i in range(10))
    again = Budget(Limits(10, 1000, spread=False), store, JAN + 20)
    assert not again.take(JAN + 20)
    assert again.next_allowed(JAN + 20) == JAN + WINDOW_S


def test_a_state_with_wrong_fields_is_a_lost_state():
    store = MemoryStore()
    store.state = {"month": "2026-01", "month_calls": "many", "recent": []}
    budget = Budget(WATT, store, JAN + 10 * DAY)
    assert budget.usage(JAN + 10 * DAY).month == 322  # at the pace: floor(10 / 31 * 1000)


def test_month_bounds_are_utc_calendar_months():
    assert month_bounds(JAN + 5 * DAY) == (JAN, FEB)
    dec = float(calendar.timegm((2025, 12, 31, 23, 59, 59)))
    assert month_bounds(dec) == (float(calendar.timegm((2025, 12, 1, 0, 0, 0))), JAN)
