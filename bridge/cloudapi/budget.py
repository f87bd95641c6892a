"""The request budget: the plan's limits are never exceeded, and the month's calls are spread.

Pure: time comes in as `now` (epoch s, UTC), and the only I/O is loading and saving the state
through the injected `BudgetStore`, once when built and after every change, so the counts
survive restarts. The rules:

- per minute: at most `per_minute` calls in any 61 s (a sliding window is stricter than
  Enphase's calendar minute; the extra second absorbs network jitter);
- per calendar month (UTC): at most `per_month`; then nothing until the 1st;
- spread (default): the k-th call of the month (from 0) not before month_start + k * month /
  per_month, so about 32 a day on the free Watt plan. A caller behind that pace catches up, but
  never faster than per minute. An urgent call (an outage summary) skips the spread, never the
  limits, and is paid for by the calls that follow;
- a 429 (Enphase sends no Retry-After): no call before the next minute, then backing off
  (1, 2, 4... minutes, at most an hour) while the 429s repeat; a 429 for the month: nothing
  until the 1st.

Lost state (a first start, an unreadable file) with the spread on counts the month as used at
the pace so far: a restart never lets a burst through.
"""

from __future__ import annotations

import calendar
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol, TypeGuard

WINDOW_S = 61.0
MAX_BACKOFF_S = 3600.0


class BudgetStore(Protocol):
    def load(self) -> dict[str, Any] | None: ...

    def save(self, state: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class Limits:
    per_minute: int = 10
    per_month: int = 1000
    spread: bool = True


@dataclass(frozen=True, slots=True)
class Usage:
    month: int  # calls sent this calendar month (UTC)
    today: int  # ... and this UTC day
    per_month: int
    next_at: float  # when the next ordinary call may go (epoch s)


def month_bounds(now: float) -> tuple[float, float]:
    """Start and end (epoch s) of the UTC calendar month holding `now`."""
    t = time.gmtime(now)
    start = calendar.timegm((t.tm_year, t.tm_mon, 1, 0, 0, 0))
    year, month = (t.tm_year + 1, 1) if t.tm_mon == 12 else (t.tm_year, t.tm_mon + 1)
    return float(start), float(calendar.timegm((year, month, 1, 0, 0, 0)))


class Budget:
    """When the next call may go, and the count of those that went."""

    def __init__(self, limits: Limits, store: BudgetStore, now: float):
        self.limits = limits
        self._store = store
        self._month = self._day = ""
        self._month_calls = self._day_calls = self._strikes = 0
        self._recent: list[float] = []  # send times within the window, oldest first
        self._blocked_until = 0.0
        if not self._restore(store.load()):
            self._month, self._day = _month_key(now), _day_key(now)
            self._month_calls = self._pace(now) if limits.spread else 0

    def next_allowed(self, now: float, urgent: bool = False) -> float:
        """The earliest time (epoch s, at least `now`) a call may be sent."""
        self._roll(now)
        start, end = month_bounds(now)
        if self._month_calls >= self.limits.per_month:
            return max(end, self._blocked_until)
        at = max(now, self._blocked_until)
        if len(self._recent) >= self.limits.per_minute:
            at = max(at, self._recent[-self.limits.per_minute] + WINDOW_S)
        if self.limits.spread and not urgent:
            at = max(at, start + self._month_calls * (end - start) / self.limits.per_month)
        return at

    def take(self, now: float, urgent: bool = False) -> bool:
        """Count one call and say yes, if one may go now; else no, and nothing changes."""
        if self.next_allowed(now, urgent) > now:
            return False
        self._month_calls += 1
        self._day_calls += 1
        self._recent.append(now)
        self._save()
        return True

    def refused(self, now: float, period: str = "minute", period_end: float | None = None) -> None:
        """Enphase answered 429: wait for the next minute, longer while it repeats; for the month,
        until the 1st."""
        self._roll(now)
        if period == "month":
            self._month_calls = self.limits.per_month
            self._blocked_until = month_bounds(now)[1]
        else:
            self._strikes += 1
            backoff = min(MAX_BACKOFF_S, 60.0 * (2 ** min(self._strikes - 1, 16) - 1))
            until = (math.floor(now / 60) + 1) * 60 + backoff
            if period_end is not None and now < period_end < now + MAX_BACKOFF_S:
                until = max(until, period_end)
            self._blocked_until = max(self._blocked_until, until)
        self._save()

    def answered(self) -> None:
        """A call got an answer that is not a 429: the backoff starts again from one minute."""
        if self._strikes:
            self._strikes = 0
            self._save()

    def usage(self, now: float) -> Usage:
        at = self.next_allowed(now)
        return Usage(self._month_calls, self._day_calls, self.limits.per_month, at)

    def _pace(self, now: float) -> int:
        start, end = month_bounds(now)
        return min(self.limits.per_month, math.floor((now - start) * self.limits.per_month / (end - start)))

    def _roll(self, now: float) -> None:
        month, day = _month_key(now), _day_key(now)
        if month != self._month:
            self._month, self._month_calls = month, 0
        if day != self._day:
            self._day, self._day_calls = day, 0
        # A clock stepped back keeps its "future" calls counted until it passes them.
        self._recent = [t for t in self._recent if now - t < WINDOW_S]

    def _save(self) -> None:
        self._store.save(
            {
                "month": self._month,
                "month_calls": self._month_calls,
                "day": self._day,
                "day_calls": self._day_calls,
                "recent": self._recent,
                "blocked_until": self._blocked_until,
                "strikes": self._strikes,
            }
        )

    def _restore(self, state: dict[str, Any] | None) -> bool:
        """The saved state, if every field is what `_save` writes."""
        if not isinstance(state, dict):
            return False
        month, day, recent = state.get("month"), state.get("day"), state.get("recent")
        month_calls, day_calls, strikes = (state.get(k) for k in ("month_calls", "day_calls", "strikes"))
        blocked = state.get("blocked_until")
        if not (
            isinstance(month, str)
            and isinstance(day, str)
            and _is_count(month_calls)
            and _is_count(day_calls)
            and _is_count(strikes)
            and isinstance(recent, list)
            and all(_is_time(t) for t in recent)
            and _is_time(blocked)
        ):
            return False
        self._month, self._day = month, day
        self._month_calls, self._day_calls, self._strikes = month_calls, day_calls, strikes
        self._recent = sorted(float(t) for t in recent[-1000:])
        self._blocked_until = float(blocked)
        return True


def _month_key(now: float) -> str:
    return time.strftime("%Y-%m", time.gmtime(now))


def _day_key(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**9


def _is_time(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 2**40
