"""The cloud worker on a fake clock over simulated months: the real schedule and request budget
keep it within the plan; an outage in `complement` mode asks urgently, within its share; what it
publishes passes the counter guard. The API is a stand-in (tests/support/cloud_month.py)."""

from __future__ import annotations

from dataclasses import replace

from bridge.cloudapi import schedule as plan
from bridge.cloudapi.budget import Limits, month_bounds
from bridge.cloudapi.documents import CloudData
from bridge.cloudapi.parse import parse_summary
from bridge.model.snapshot import Availability
from bridge.sinks import FanOut, Sink
from tests.support.cloud_month import JAN_1, month_run, run_until, simulate_month

DAY = 86400.0


def test_a_month_of_only_mode_on_the_watt_plan_stays_within_its_limits():
    run = simulate_month("only")
    calls = run.source.calls
    print(f"cloud API calls per simulated day {run.max_per_day}, per month {run.month_calls}, plan limit 1000")
    assert run.month_calls <= 1000 and run.max_per_day <= 33  # 1000 / 31 days, spread
    assert min(run.source.per_day.values()) >= 31  # and used: no day left without data
    assert calls[plan.LATEST] == calls[plan.BATTERY] == 1  # outside the plan: asked once
    assert abs(calls[plan.SUMMARY] - calls[plan.CONSUMPTION]) <= 1  # turns


def test_without_the_spread_the_data_s_quarter_hours_still_pace_the_calls():
    run = month_run("complement", Limits(10, 50_000, spread=False))
    run_until(run, JAN_1 + DAY)
    assert run.month_calls <= 96 + 1  # one summary per quarter hour: the cloud has nothing newer


def test_a_local_outage_in_complement_mode_borrows_a_bounded_share_of_the_month():
    run = month_run("complement", outage_after_s=300)
    local = run.worker.local
    run_until(run, JAN_1 + 10 * DAY)
    before = run.month_calls
    local.availability(Availability("1", False, "unreachable"))
    run_until(run, JAN_1 + 10 * DAY + 3600 + 300)
    assert run.month_calls - before >= 4  # a summary each quarter hour once the outage counts
    run_until(run, JAN_1 + 13 * DAY)
    pace = 13 * DAY * 1000 / (31 * DAY)
    assert run.month_calls <= pace + 100 + 1  # borrowed ahead of the spread: at most 10 % of the month
    local.availability(Availability("1", True))
    run_until(run, month_bounds(JAN_1)[1] - 1)
    assert run.month_calls <= 1000 and run.worker.urgent_calls >= 90


class Recorder(Sink):
    def __init__(self) -> None:
        self.clouds: list[dict] = []
        self.states: list[dict] = []
        self.events: list[Availability] = []

    def cloud(self, serial: str, document: dict) -> None:
        self.clouds.append(document)

    def snapshot(self, snapshot) -> None:
        self.states.append(snapshot.payload)

    def availability(self, event: Availability) -> None:
        self.events.append(event)


SUMMARY = {"current_power": 900, "energy_today": 4000, "energy_lifetime": 1_000_000, "last_report_at": JAN_1}


def test_only_mode_publishes_cloud_then_state_and_the_guard_holds_a_lifetime_that_steps_back():
    run = month_run("only")
    recorder = Recorder()
    run.worker.sinks = FanOut([recorder])
    run.worker.publish(JAN_1)
    assert recorder.events == [Availability("1", False, "no summary from the cloud API yet")]
    run.worker.data = CloudData(summary=parse_summary(SUMMARY))
    run.worker.publish(JAN_1 + 900)
    assert recorder.states[-1]["source"] == "cloud" and recorder.events[-1].online
    assert recorder.states[-1]["production"]["energy_lifetime_wh"] == 1_004_000
    stepped_back = {**SUMMARY, "energy_today": 0, "last_report_at": JAN_1 + 900}  # the cloud's glitch
    run.worker.data = replace(run.worker.data, summary=parse_summary(stepped_back))
    run.clock.advance(900)
    run.worker.publish(JAN_1 + 1800)
    assert recorder.states[-1]["production"]["energy_lifetime_wh"] == 1_004_000
    assert recorder.clouds[-1]["production"]["energy_lifetime_wh"] == 1_004_000
