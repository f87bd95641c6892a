"""The cloud worker over a simulated month: the real schedule, the real request budget and the
real worker, on a fake clock; the API itself is a stand-in that answers every call the budget
lets go (and refuses what the plan lacks, as Enphase does). For the scheduler's unit tests and
the bench line (bench/cloud_api.py): calls per day and per month against the plan's limits."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

from bridge.cloudapi import schedule as plan
from bridge.cloudapi.budget import Budget, Limits, month_bounds
from bridge.cloudapi.parse import Interval, Summary, Telemetry
from bridge.cloudapi.source import SourceStatus
from bridge.cloudapi.worker import CloudWorker, LocalWatch
from bridge.config import CloudApiConfig, Config, GatewayConfig
from bridge.sinks import FanOut
from tests.support.clock import FakeClock

JAN_1 = 1_798_761_600.0  # 2027-01-01 00:00 UTC: a 31-day month
WATT_PLAN = (plan.SUMMARY, plan.CONSUMPTION)  # what the free plan answers; the rest is 403


class MemoryStore:
    def __init__(self) -> None:
        self.state: dict[str, Any] | None = None

    def load(self) -> dict[str, Any] | None:
        return self.state

    def save(self, state: dict[str, Any]) -> None:
        self.state = state


class MonthSource:
    """What the worker asks of CloudApiSource, with the real Budget on the fake clock."""

    def __init__(self, clock: FakeClock, limits: Limits, in_the_plan: tuple[str, ...] = WATT_PLAN):
        self.clock, self.plan = clock, in_the_plan
        self.budget = Budget(limits, MemoryStore(), clock())
        self.stopped: str | None = None
        self.keeper = SimpleNamespace(needs_authorize=False)
        self.calls: Counter[str] = Counter()
        self.per_day: Counter[str] = Counter()
        self._refused: set[str] = set()

    def in_plan(self, endpoint: str) -> bool:
        return endpoint not in self._refused

    def next_call_at(self, urgent: bool = False) -> float:
        return self.budget.next_allowed(self.clock(), urgent)

    def status(self) -> SourceStatus:
        return SourceStatus(None, False, 1, self.budget.usage(self.clock()), None)

    def summary(self, urgent: bool = False) -> Summary | None:
        if not self._sent(plan.SUMMARY, urgent):
            return None
        now = self.clock()
        return Summary(1, 1000.0, 5000.0, 1e6, now, now, 5000.0, 10, "normal", "meter", None, None, None, None)

    def telemetry(self, kind: str, start_at: int | None = None, granularity: str = "day") -> Telemetry | None:
        if not self._sent(f"telemetry/{kind}"):
            return None
        return Telemetry(1, granularity, None, None, (Interval(self.clock(), 100.0, 1),))

    def latest_telemetry(self) -> None:
        self._sent(plan.LATEST)
        return

    def _sent(self, endpoint: str, urgent: bool = False) -> bool:
        now = self.clock()
        if not self.budget.take(now, urgent):
            return False
        self.calls[endpoint] += 1
        self.per_day[time.strftime("%Y-%m-%d", time.gmtime(now))] += 1
        if endpoint not in self.plan:
            self._refused.add(endpoint)
            return False
        return True


@dataclass
class MonthRun:
    source: MonthSource
    worker: CloudWorker
    clock: FakeClock

    @property
    def month_calls(self) -> int:
        return sum(self.source.calls.values())

    @property
    def max_per_day(self) -> int:
        return max(self.source.per_day.values())


def month_run(mode: str = "only", limits: Limits | None = None, start: float = JAN_1, **cloud: Any) -> MonthRun:
    clock = FakeClock(start)
    limits = limits or Limits()
    api = CloudApiConfig(api_key="k", client_id="c", client_secret="s", mode=mode, **cloud)
    api = replace(api, per_minute=limits.per_minute, per_month=limits.per_month, spread=limits.spread)
    config = Config(gateways=(GatewayConfig(host="" if mode == "only" else "envoy.local", serial="1"),), cloud_api=api)
    source = MonthSource(clock, limits)
    local = None if mode == "only" else LocalWatch(clock.monotonic)
    worker = CloudWorker(
        config, source, FanOut([]), serial="1", local=local, now=clock, monotonic=clock.monotonic, max_wait_s=60
    )  # type: ignore[arg-type]
    return MonthRun(source, worker, clock)


def run_until(run: MonthRun, end: float) -> None:
    """Steps of the worker, the fake clock moved by each wait, until `end`."""
    while run.clock() < end:
        run.clock.advance(run.worker.step())


def simulate_month(mode: str = "only", limits: Limits | None = None) -> MonthRun:
    run = month_run(mode, limits)
    run_until(run, month_bounds(JAN_1)[1] - 1)
    return run
