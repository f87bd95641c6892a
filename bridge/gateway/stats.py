"""Request statistics of one gateway, per endpoint, over the last hour: for `bridge/health`.

Fed at one place, `Transport.attempt` (every request that reaches the network, retries and
/info included), so the hot path costs a lock and a few additions. Bounded: per endpoint one
bucket per minute for the last 60 minutes, each with its counts and a histogram of latencies
on logarithmic bins (a quarter of an octave wide), from which p50 and p99 are read. A
percentile is the upper edge of its bin: at most 19 % above the true value, never below.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

WINDOW_MINUTES = 60
BIN_BASE_S = 0.001  # latencies at or below 1 ms share the first bin
BINS_PER_OCTAVE = 4
MAX_BIN = 80  # 1 ms x 2**20: anything past ~17 min (never: the deadline cuts first) shares the last


@dataclass
class _Minute:
    minute: int
    requests: int = 0
    failures: int = 0
    auth_refused: int = 0
    latencies: Counter[int] = field(default_factory=Counter)  # bin -> requests


def latency_bin(seconds: float) -> int:
    if seconds <= BIN_BASE_S:
        return 0
    return min(MAX_BIN, math.ceil(math.log2(seconds / BIN_BASE_S) * BINS_PER_OCTAVE))


def bin_upper_s(index: int) -> float:
    return BIN_BASE_S * 2 ** (index / BINS_PER_OCTAVE)


def percentile(histogram: Counter[int], fraction: float) -> float | None:
    """The upper edge of the bin that holds the `fraction` quantile; None without samples."""
    total = sum(histogram.values())
    if not total:
        return None
    rank, seen = math.ceil(fraction * total), 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            return round(bin_upper_s(index), 4)
    return None  # not reached: the last bin holds the rank


class RequestStats:
    """Thread-safe counts and latencies per endpoint; `snapshot()` is the last hour."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._minutes: dict[str, deque[_Minute]] = {}

    def record(self, path: str, seconds: float, status: int | None) -> None:
        """One request: its latency, and its HTTP status (None: no answer, a failure)."""
        minute = int(self._monotonic() // 60)
        with self._lock:
            buckets = self._minutes.setdefault(path, deque(maxlen=WINDOW_MINUTES))
            if not buckets or buckets[-1].minute != minute:
                buckets.append(_Minute(minute))
            bucket = buckets[-1]
            bucket.requests += 1
            bucket.failures += status is None or not 200 <= status < 300
            bucket.auth_refused += status in (401, 403)
            bucket.latencies[latency_bin(seconds)] += 1

    def snapshot(self) -> dict[str, Any]:
        """The last 60 minutes: `{"total": SUMMARY, "endpoints": {path: SUMMARY}}`, where a SUMMARY
        is `{"requests", "failures", "auth_refused", "latency_p50_s", "latency_p99_s"}` (the
        latencies None without requests); endpoints without a request in that hour are left out."""
        oldest = int(self._monotonic() // 60) - WINDOW_MINUTES + 1
        with self._lock:
            recent = {path: [b for b in buckets if b.minute >= oldest] for path, buckets in self._minutes.items()}
            return {
                "total": _summary([b for buckets in recent.values() for b in buckets]),
                "endpoints": {path: _summary(buckets) for path, buckets in sorted(recent.items()) if buckets},
            }


def _summary(buckets: list[_Minute]) -> dict[str, Any]:
    histogram: Counter[int] = Counter()
    for bucket in buckets:
        histogram.update(bucket.latencies)
    return {
        "requests": sum(b.requests for b in buckets),
        "failures": sum(b.failures for b in buckets),
        "auth_refused": sum(b.auth_refused for b in buckets),
        "latency_p50_s": percentile(histogram, 0.5),
        "latency_p99_s": percentile(histogram, 0.99),
    }
