"""The energy integrator (bridge/model/energy.py): trapezoids, zero crossings, gaps, bad samples,
its saved state, and a simulated day against the simulator's own integrals."""

from __future__ import annotations

import json
import math

import pytest

from bridge.model.energy import ADDED, DROPPED, FIRST, GAP, OLD, Channel, Limits, channel_from_dict, trapezoid
from tests.unit.simulator.helpers import make_world

LIMITS = Limits(max_gap_s=300, max_power_w=1_000_000)
HOURS = Limits(max_gap_s=4 * 3600, max_power_w=1_000_000)  # for the worked examples over an hour
T0 = 1_800_000_000.0


def fed(samples, limits=LIMITS) -> Channel:
    channel = Channel()
    for power, when in samples:
        channel.add(power, when, limits)
    return channel


def test_constant_power_for_an_hour_is_its_watt_hours():
    channel = fed((1500, T0 + s) for s in range(0, 3601, 10))
    assert channel.positive_wh == pytest.approx(1500.0)
    assert channel.negative_wh == 0.0


def test_constant_negative_power_goes_to_the_negative_counter_as_a_positive_amount():
    channel = fed((-800, T0 + s) for s in range(0, 1801, 60))
    assert channel.negative_wh == pytest.approx(400.0)
    assert channel.positive_wh == 0.0


def test_a_ramp_is_the_area_of_its_trapezoid():
    assert fed([(0, T0), (2000, T0 + 3600)], HOURS).positive_wh == pytest.approx(1000.0)
    assert fed([(1000, T0), (3000, T0 + 1800)], HOURS).positive_wh == pytest.approx(1000.0)
    ramp = fed((-2 * s / 3.6, T0 + s) for s in range(0, 3601, 5))  # 0 to -2000 W, many samples
    assert ramp.negative_wh == pytest.approx(1000.0)


def test_a_sign_change_mid_interval_splits_at_the_zero_crossing():
    # +3000 W to -1000 W over an hour crosses zero at 45 min: 3000/2 * 0.75 h and 1000/2 * 0.25 h.
    down = fed([(3000, T0), (-1000, T0 + 3600)], HOURS)
    assert (down.positive_wh, down.negative_wh) == (pytest.approx(1125.0), pytest.approx(125.0))
    up = fed([(-1000, T0), (3000, T0 + 3600)], HOURS)
    assert (up.positive_wh, up.negative_wh) == (pytest.approx(1125.0), pytest.approx(125.0))
    # Symmetric swing over 20 minutes: 1/6 h each side of the middle, 600 W / 2 each.
    swing = fed([(600, T0), (-600, T0 + 1200)], HOURS)
    assert swing.positive_wh == pytest.approx(50.0) and swing.negative_wh == pytest.approx(50.0)


def test_trapezoid_from_or_to_zero_has_no_crossing():
    assert trapezoid(0.0, -2000.0, 0.5) == (0.0, pytest.approx(500.0))
    assert trapezoid(2000.0, 0.0, 0.5) == (pytest.approx(500.0), 0.0)
    assert trapezoid(0.0, 0.0, 1.0) == (0.0, 0.0)


def test_a_gap_longer_than_the_limit_adds_nothing_and_is_counted():
    channel = Channel()
    assert channel.add(1000, T0, LIMITS) == FIRST
    assert channel.add(1000, T0 + 300, LIMITS) == ADDED  # exactly the limit: still counted
    assert channel.positive_wh == pytest.approx(1000 * 300 / 3600)
    before = channel.positive_wh
    assert channel.add(5000, T0 + 300 + 301, LIMITS) == GAP
    assert channel.positive_wh == before and channel.gaps == 1
    assert channel.add(5000, T0 + 300 + 301 + 36, LIMITS) == ADDED  # integration resumes from there
    assert channel.positive_wh == pytest.approx(before + 50.0)


def test_a_sample_not_newer_than_the_last_is_ignored():
    channel = fed([(1000, T0), (1000, T0 + 60)])
    total = channel.positive_wh
    assert channel.add(-9000, T0 + 30, LIMITS) == OLD
    assert channel.add(-9000, T0 + 60, LIMITS) == OLD  # the same reading again
    assert (channel.positive_wh, channel.negative_wh, channel.last_time, channel.last_power_w) == (
        total,
        0.0,
        T0 + 60,
        1000.0,
    )
    assert channel.add(1000, T0 + 120, LIMITS) == ADDED
    assert channel.positive_wh == pytest.approx(2 * total)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1_000_001, -2e9, "1200", True, None, [1]])
def test_a_non_finite_or_absurd_power_is_dropped_counted_and_bridged_from_the_last_good_one(bad):
    channel = fed([(1000, T0)])
    assert channel.add(bad, T0 + 30, LIMITS) == DROPPED
    assert channel.dropped == 1 and channel.positive_wh == 0.0 and channel.last_time == T0
    assert channel.add(1000, T0 + 60, LIMITS) == ADDED
    assert channel.positive_wh == pytest.approx(1000 * 60 / 3600)


def test_a_bad_sample_time_is_dropped_too():
    channel = fed([(1000, T0)])
    assert channel.add(1000, math.nan, LIMITS) == DROPPED
    assert channel.add(1000, None, LIMITS) == DROPPED
    assert channel.dropped == 2 and channel.last_time == T0


def test_the_state_round_trips_through_a_plain_dict_and_json():
    channel = fed([(700, T0), (-300, T0 + 90), (5e9, T0 + 95), (200, T0 + 900), (100, T0 + 960)])
    assert channel.gaps == 1 and channel.dropped == 1
    restored, problems = channel_from_dict(json.loads(json.dumps(channel.as_dict())))
    assert problems == [] and restored == channel


@pytest.mark.parametrize(
    "saved",
    [
        None,
        [1, 2],
        {"positive_wh": -1, "negative_wh": 5},
        {"positive_wh": 5, "negative_wh": "5"},
        {"positive_wh": 10**13, "negative_wh": 0},
        {"positive_wh": True, "negative_wh": 0},
        {"negative_wh": 3},
    ],
)
def test_unreadable_saved_totals_start_the_channel_again_from_zero_and_say_so(saved):
    channel, problems = channel_from_dict(saved)
    assert channel == Channel()
    assert len(problems) == 1 and "start again from 0" in problems[0]


def test_a_partly_readable_channel_keeps_its_totals():
    saved = {"positive_wh": 1234.5, "negative_wh": 99, "last_time": "yesterday", "last_power_w": 10, "gaps": -3}
    channel, problems = channel_from_dict(saved)
    assert (channel.positive_wh, channel.negative_wh) == (1234.5, 99.0)
    assert channel.last_time is None and channel.gaps == 0
    assert len(problems) == 1 and "last sample" in problems[0]


# --- a simulated day against the simulator's own integrals ------------------------------------


def simulated_day(
    periods: tuple[int, ...] = (1, 10), restart_at: int | None = None
) -> tuple[dict[str, float], dict[int, dict[str, Channel]]]:
    """Drive the three-phase battery home through a day in steps of the shortest period, its
    battery and grid power sampled every `period` seconds. Returns the simulator's own counters
    over the day and the channels per period; `restart_at`: at that second the channels are
    saved as JSON and new ones loaded from it, as across a restart of the bridge."""
    world, _, _ = make_world("three_phase_battery", start="00:00")
    start, before = world.t, dict(world.counters)
    channels = {period: {"battery": Channel(), "grid": Channel()} for period in periods}
    for second in range(0, 86_401, min(periods)):
        when = start + second
        world.advance(when)
        power = world.power(when)
        if second == restart_at:
            channels = {
                period: {name: channel_from_dict(json.loads(json.dumps(c.as_dict())))[0] for name, c in chans.items()}
                for period, chans in channels.items()
            }
        for period, chans in channels.items():
            if second % period == 0:
                chans["battery"].add(power.battery, when, LIMITS)
                chans["grid"].add(power.net, when, LIMITS)
    own = {name: world.counters[name] - before[name] for name in ("charged", "discharged", "import", "export")}
    return own, channels


@pytest.mark.parametrize("period", [1, 10])
def test_a_simulated_day_matches_the_simulators_own_integrals_within_half_a_percent(period):
    own, channels = simulated_day((period,))
    battery, grid = channels[period]["battery"], channels[period]["grid"]
    assert own["charged"] > 5000 and own["discharged"] > 5000 and own["import"] > 500  # a real day
    assert battery.negative_wh == pytest.approx(own["charged"], rel=0.005)
    assert battery.positive_wh == pytest.approx(own["discharged"], rel=0.005)
    assert grid.positive_wh == pytest.approx(own["import"], rel=0.005)
    assert grid.negative_wh == pytest.approx(own["export"], rel=0.005)
    assert battery.gaps == grid.gaps == battery.dropped == 0


def test_a_restart_in_the_middle_neither_loses_nor_double_counts():
    _, uninterrupted = simulated_day((10,))
    _, restarted = simulated_day((10,), restart_at=43_210)
    for name in ("battery", "grid"):
        a, b = uninterrupted[10][name], restarted[10][name]
        assert a.positive_wh > 1000 and a.negative_wh > 1000
        assert (b.positive_wh, b.negative_wh) == (pytest.approx(a.positive_wh), pytest.approx(a.negative_wh))
