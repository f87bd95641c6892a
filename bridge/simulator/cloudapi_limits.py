"""The fake Enlighten API v4's plans and their quotas (reference §4.3): calls per calendar minute
and per calendar month (UTC), on the simulated clock.

A call is counted when it is served; a refused one (429) is not. The 429 body names the plan and
the period that ran out, with its bounds and limit; there is no Retry-After header (reference
§4.3), so a client must read `period_end` or wait for the next minute or month.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any


@dataclass(frozen=True)
class Plan:
    name: str  # as the 429 body spells it
    per_minute: int
    per_month: int
    device_level: bool  # latest_telemetry and battery telemetry (Kilowatt and above)


PLANS = {
    "watt": Plan("Watt", 10, 1000, device_level=False),
    "kilowatt": Plan("Kilowatt", 50, 50_000, device_level=True),
}


def check_plan(plan: str) -> None:
    if plan not in PLANS:
        raise ValueError(f"cloud API plan must be one of {', '.join(PLANS)}, not {plan!r}")


def month_bounds(t: float) -> tuple[int, int]:
    """The UTC calendar month of `t`: its first second and the first second of the next."""
    day = datetime.fromtimestamp(t, timezone.utc)
    start = day.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return int(start.timestamp()), int(following.timestamp())


def minute_bounds(t: float) -> tuple[int, int]:
    start = int(t // 60 * 60)
    return start, start + 60


class Quota:
    """Calls served per minute and per month; `admit` counts a call or says why it is refused."""

    def __init__(self, now: Callable[[], float]):
        self._now = now
        self._lock = threading.Lock()
        self._minute: tuple[int, int] = (0, 0)  # (window start, calls in it)
        self._month: tuple[int, int] = (0, 0)

    def admit(self, plan: Plan) -> dict[str, Any] | None:
        """None when the call may be served (it is counted), else the 429 body."""
        now = self._now()
        minute, month = minute_bounds(now), month_bounds(now)
        with self._lock:
            in_minute = self._minute[1] if self._minute[0] == minute[0] else 0
            in_month = self._month[1] if self._month[0] == month[0] else 0
            if in_month >= plan.per_month:
                return _too_many(plan, "month", month, plan.per_month)
            if in_minute >= plan.per_minute:
                return _too_many(plan, "minute", minute, plan.per_minute)
            self._minute, self._month = (minute[0], in_minute + 1), (month[0], in_month + 1)
        return None

    @property
    def month_calls(self) -> int:
        """Calls served in this calendar month."""
        start, _ = month_bounds(self._now())
        with self._lock:
            return self._month[1] if self._month[0] == start else 0

    def use_month(self, calls: int) -> None:
        """Set this month's count (a test's shortcut to the monthly cap)."""
        start, _ = month_bounds(self._now())
        with self._lock:
            self._month = (start, calls)


def _too_many(plan: Plan, period: str, bounds: tuple[int, int], limit: int) -> dict[str, Any]:
    return {
        "message": "Too Many Requests",
        "details": f"Usage limit exceeded for plan {plan.name}",
        "code": 429,
        "period": period,
        "period_start": bounds[0],
        "period_end": bounds[1],
        "limit": limit,
    }
