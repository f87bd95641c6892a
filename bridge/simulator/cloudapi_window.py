"""The time window of an interval-telemetry request (reference §4.4): `start_at` (epoch s) or
`start_date` (YYYY-MM-DD, local midnight), default local midnight today; `granularity` 15mins,
day or week (default day); no `end_at`: the end is min(last report, start + granularity).

A start in the future or more than two years back is 422; a start before the first report is
clamped to it; a start between the last report and now gives an empty list (200).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import parse_qs

from bridge.simulator.clock import DAY_S, SimClock
from bridge.simulator.cloudapi_replies import INVALID_RANGE, ApiError
from bridge.simulator.reports import QUARTER_S

SPANS = {"15mins": QUARTER_S, "day": DAY_S, "week": 7 * DAY_S}
MAX_AGE_S = 2 * 365 * DAY_S


def query_values(query: str) -> dict[str, str]:
    """The first value of every parameter."""
    return {name: values[0] for name, values in parse_qs(query, keep_blank_values=True).items()}


def local_midnight(clock: SimClock, text: str) -> float:
    """The start of the local day `text` (YYYY-MM-DD) in the system's time zone; ApiError 422 for
    anything else."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ApiError(422, f"Invalid date {text[:20]!r}: expected YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ApiError(422, f"Invalid date {text!r}") from None
    naive = datetime(day.year, day.month, day.day)
    return (naive.replace(tzinfo=clock.tz) if clock.tz else naive.astimezone()).timestamp()


def window(clock: SimClock, params: dict[str, str], first: float, last: float) -> tuple[str, float, float]:
    """(granularity, start, end) of a request whose data run from the report at `first` to the
    one at `last`; start on a quarter hour, end >= start (equal: nothing to list)."""
    granularity = params.get("granularity") or "day"
    if granularity not in SPANS:
        raise ApiError(422, f"granularity must be one of {', '.join(SPANS)}")
    now = clock.now()
    start = _start(clock, params, now)
    if start > now or start < now - MAX_AGE_S:
        raise ApiError(422, INVALID_RANGE)
    start = max(start, first) // QUARTER_S * QUARTER_S
    end = max(start, min(last, start + SPANS[granularity]))
    return granularity, start, end


def _start(clock: SimClock, params: dict[str, str], now: float) -> float:
    if params.get("start_at"):
        text = params["start_at"]
        if not re.fullmatch(r"\d{1,12}", text):
            raise ApiError(422, "start_at must be epoch seconds")
        return float(text)
    if params.get("start_date"):
        return local_midnight(clock, params["start_date"])
    return clock.day_start(now)
