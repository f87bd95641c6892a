"""What the simulated gateway has reported to Enlighten: its lifetime counters and state of charge
at every quarter hour, as a real gateway uploads them. The fake cloud API (cloudapi_data.py)
answers from these, so its summary and telemetry agree with the physics' own counters.

The physics records one report each time its integration reaches a quarter-hour boundary (its
steps always land on the 5-minute marks), the seven days of pre-roll included.
"""

from __future__ import annotations

import bisect
import threading
from collections import deque
from dataclasses import dataclass
from itertools import pairwise

QUARTER_S = 900
KEPT_DAYS = 14  # two weeks: a week-long telemetry window still finds its first interval
KEPT = KEPT_DAYS * 96 + 1


@dataclass(frozen=True)
class Report:
    """Lifetime Wh at `t` (a quarter-hour boundary); soc in % (None without batteries)."""

    t: float
    production: float
    inverters: float  # the microinverters' own count: the production of a gateway without CTs
    consumption: float
    charged: float
    discharged: float
    soc: float | None


class Reports:
    """Thread-safe: the physics records under its lock, the cloud API reads from request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reports: deque[Report] = deque(maxlen=KEPT)

    def record(self, t: float, counters: dict[str, float], soc: float | None) -> None:
        """Keep the counters at `t` when it is a quarter-hour boundary."""
        if t % QUARTER_S:
            return
        report = Report(
            t,
            counters["production"],
            counters["inverters"],
            counters["load"],
            counters["charged"],
            counters["discharged"],
            soc,
        )
        with self._lock:
            self._reports.append(report)

    def first(self) -> Report | None:
        with self._lock:
            return self._reports[0] if self._reports else None

    def at_or_before(self, t: float) -> Report | None:
        """The latest report made at `t` or earlier (None when there is none that old)."""
        with self._lock:
            reports = list(self._reports)
        index = bisect.bisect_right([r.t for r in reports], t)
        return reports[index - 1] if index else None

    def between(self, start: float, end: float) -> list[tuple[Report, Report]]:
        """(previous, report) for every report in (start, end] that has a previous one: the
        quarter-hour intervals ending in that window."""
        with self._lock:
            reports = list(self._reports)
        return [(a, b) for a, b in pairwise(reports) if start < b.t <= end]
