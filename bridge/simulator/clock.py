"""The simulated gateway's clock: real time scaled by a time factor, anchored at the start.

    sim_now = sim_start + (time_func() - real_start) * factor

`time_func` is injectable (tests pass a fake clock and advance it by hand). The time factor is
simulated seconds per real second: 60 makes a day pass in 24 minutes. Local time (for the sun,
the house load, midnight resets and the 23:00 hiccup) is in the scenario's time zone.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)
DAY_S = 86400


def resolve_timezone(name: str) -> tzinfo | None:
    """None means the machine's local zone; "UTC", "+02:00" or an IANA name otherwise."""
    if name in ("", "local"):
        return None
    if name.upper() in ("UTC", "Z"):
        return timezone.utc
    offset = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})?", name)
    if offset:
        sign = -1 if offset.group(1) == "-" else 1
        return timezone(sign * timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3) or 0)))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # no tz database here (slim images), or a bad name
        log.warning("time zone %r is unknown here; using UTC", name)
        return timezone.utc


class SimClock:
    def __init__(
        self,
        time_func: Callable[[], float] = time.time,
        factor: float = 1.0,
        start: float | str | None = None,
        tz: str = "local",
    ):
        if not factor > 0:
            raise ValueError("the time factor must be positive")
        self.time_func, self.factor = time_func, float(factor)
        self.tz = resolve_timezone(tz)
        self.real_start = time_func()
        self.sim_start = self._start(start)

    def _start(self, start: float | str | None) -> float:
        if start is None or start == "":
            return self.real_start
        if isinstance(start, (int, float)):
            return float(start)
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(start).strip())
        if not match:
            raise ValueError(f"start must be HH:MM or unix seconds, not {start!r}")
        day = self.local(self.real_start).replace(
            hour=int(match.group(1)), minute=int(match.group(2)), second=0, microsecond=0
        )
        return day.timestamp()

    def now(self) -> float:
        return self.at(self.time_func())

    def at(self, real: float) -> float:
        """The simulated time at the real time `real` (a real-time deadline seen on the simulated clock)."""
        return self.sim_start + (real - self.real_start) * self.factor

    def real_now(self) -> float:
        return self.time_func()

    def local(self, t: float) -> datetime:
        return datetime.fromtimestamp(t, self.tz) if self.tz else datetime.fromtimestamp(t).astimezone()

    def utc_offset(self, t: float) -> float:
        return (self.local(t).utcoffset() or timedelta(0)).total_seconds()

    def hour(self, t: float) -> float:
        """Local hour of day as a float in [0, 24)."""
        return ((t + self.utc_offset(t)) % DAY_S) / 3600.0

    def day_start(self, t: float) -> float:
        """Unix time of the local midnight that began the day of `t`."""
        return t - (t + self.utc_offset(t)) % DAY_S

    def next_midnight(self, t: float) -> float:
        nxt = self.day_start(t) + DAY_S
        # Across a DST change the day is 23 or 25 h long: land on the real local midnight.
        return self.day_start(nxt + 3 * 3600) if self.tz is not timezone.utc else nxt

    def next_time_of_day(self, t: float, hour: float) -> float:
        """The first moment after `t` when the local clock shows `hour`."""
        at = self.day_start(t) + hour * 3600
        return at if at > t else self.next_midnight(t) + hour * 3600

    def describe(self) -> str:
        return self.local(self.now()).strftime("%Y-%m-%d %H:%M:%S %Z")
