"""The scale section's verdict: which poll groups came too late, from the numbers of real runs."""

from __future__ import annotations

from bench.scale import LATE_FLOOR_S, late_beyond_limit, late_limit_s

INTERVALS = {"meters": 10.0, "grid": 1.0, "live": 1.0}


def test_the_run_that_said_missed_at_100_was_on_time():
    # bench/run.py of issue 17 at N=100: meters worst 0.01 s, grid worst 0.18 s (every 1 s)
    assert late_beyond_limit({"meters": 0.01, "grid": 0.18}, INTERVALS) == []


def test_a_one_second_group_a_whole_interval_late_is_late():
    # the run of 2026-11-21 at N=100: grid worst 1.00 s, a poll skipped
    assert late_beyond_limit({"meters": 0.02, "grid": 1.00}, INTERVALS) == ["grid"]


def test_each_group_is_judged_against_its_own_interval():
    worst = {"meters": 0.9, "grid": 0.4, "live": 0.6}
    assert late_beyond_limit(worst, INTERVALS) == ["live"]
    assert late_beyond_limit({"meters": 1.1}, INTERVALS) == ["meters"]


def test_the_limit_is_a_tenth_of_the_interval_and_never_under_the_floor():
    assert late_limit_s(10.0) == 1.0
    assert late_limit_s(60.0) == 6.0
    assert late_limit_s(1.0) == LATE_FLOOR_S
