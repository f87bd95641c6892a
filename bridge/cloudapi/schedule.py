"""PURE: which cloud request to send next, and not before when, from what the data allow.

The budget (budget.py) says when a call may go; this says when one is worth it. The cloud gets
the system's data once a quarter hour, so an endpoint asked since the last quarter-hour
boundary has nothing new until the next one (plus `LAG_S`, the upload's delay). Among the
endpoints worth asking, the one asked longest ago goes first, so they take turns and none
starves. A failed ask (a network error, a 422 for a meter the system lacks) is asked again
after one, two, four ... quarter hours, at most `MAX_RETRY_S`: a missing CT costs a few calls
a day, not the budget.

An urgent summary (the local gateway is out, `complement` mode) skips the budget's spread and
is paid back by the calls that follow; `urgent_allowed` keeps that debt under `URGENT_SHARE` of
the month's calls, so a week-long outage cannot eat the month.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

QUARTER_S = 900.0
LAG_S = 120.0  # a quarter hour's data reach the cloud shortly after it ends
MAX_RETRY_S = 6 * 3600.0
URGENT_SHARE = 0.1  # of the month's calls: the most an outage may borrow ahead of the spread

SUMMARY = "summary"
LATEST = "latest_telemetry"
CONSUMPTION = "telemetry/consumption_meter"
BATTERY = "telemetry/battery"
# `only` mode: the summary has production (power, today, lifetime) and status; consumption and
# the batteries come from the day's 15-minute telemetry, one call each for the whole day so far.
# latest_telemetry and battery telemetry are outside the free plan: asked once, then dropped.
ONLY_ASKS = (SUMMARY, CONSUMPTION, BATTERY, LATEST)
COMPLEMENT_ASKS = (SUMMARY,)


@dataclass(slots=True)
class _Ask:
    last_at: float | None = None
    failures: int = 0


class CloudSchedule:
    """`quarter_s` and `lag_s`: the cloud's cadence (shorter in tests that cannot wait 15 min)."""

    def __init__(self, asks: Sequence[str], quarter_s: float = QUARTER_S, lag_s: float = LAG_S):
        self._asks = {name: _Ask() for name in asks}
        self.quarter_s, self.lag_s = quarter_s, lag_s

    @property
    def asks(self) -> tuple[str, ...]:
        return tuple(self._asks)

    def next(self, now: float, earliest: float = 0.0) -> tuple[str, float] | None:
        """The endpoint to ask next and the earliest time its data can be new; None when none is
        left. `earliest`: when the budget lets the next call go; every endpoint due by then has
        new data, so the one asked longest ago goes (else the summary, due first, would win
        every turn the budget makes it wait)."""
        if not self._asks:
            return None
        name = min(self._asks, key=lambda n: (max(self.due_at(n, now), earliest), self._asks[n].last_at or -math.inf))
        return name, self.due_at(name, now)

    def due_at(self, name: str, now: float) -> float:
        ask = self._asks[name]
        if ask.last_at is None:
            return now
        if ask.failures:
            return ask.last_at + min(MAX_RETRY_S, self.quarter_s * 2.0 ** min(ask.failures - 1, 16))
        return next_quarter(ask.last_at, self.quarter_s) + self.lag_s

    def done(self, name: str, now: float, ok: bool) -> None:
        ask = self._asks[name]
        ask.last_at = now
        ask.failures = 0 if ok else ask.failures + 1

    def drop(self, name: str) -> None:
        """The plan has no such data: never asked again."""
        self._asks.pop(name, None)


def next_quarter(t: float, quarter_s: float = QUARTER_S) -> float:
    """The first quarter-hour boundary after `t` (UTC quarter hours: every zone's too, but a few)."""
    return (math.floor(t / quarter_s) + 1) * quarter_s


def urgent_allowed(now: float, spread_at: float, per_month: int, month_s: float) -> bool:
    """True while the calls borrowed ahead of the spread (the budget's next ordinary call is
    that far ahead) stay under URGENT_SHARE of the month's."""
    borrowed = max(0.0, spread_at - now) * per_month / month_s
    return borrowed < URGENT_SHARE * per_month
