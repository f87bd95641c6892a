"""The fake clock of the tests and the benchmarks: time stands still until the test moves it,
so a poll schedule, a token's expiry or a simulated day runs in no real time and the same way
on a loaded machine as on an idle one."""

from __future__ import annotations

START = 1_767_222_000.0  # 2025-12-31 23:00 UTC: the "now" of a clock nobody set
KEPT_SLEEPS = 100  # a day-long run keeps a bounded record, so memory measurements stay flat


class FakeClock:
    """Wall clock, monotonic clock and sleep in one.

    Call it (or `time()`) for the wall clock, a `time_func` where the code takes one;
    `monotonic()` counts from the clock's start. `sleep` and `advance` move both clocks, and so
    does setting `now`; `offset` steps the wall clock alone, as NTP does. `slept` is the sum of
    every pause, `sleeps` the latest ones.
    """

    def __init__(self, now: float = START):
        self.now = self.start = now
        self.offset = 0.0
        self.slept = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.time()

    def time(self) -> float:
        return self.now + self.offset

    def monotonic(self) -> float:
        return self.now - self.start

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.sleeps.append(seconds)
        del self.sleeps[:-KEPT_SLEEPS]
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds
