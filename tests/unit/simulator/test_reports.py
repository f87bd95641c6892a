"""The quarter-hour reports the physics keeps for the fake cloud API: one per quarter hour, the
pre-roll included, equal to the counters at that moment."""

from __future__ import annotations

from bridge.simulator.reports import QUARTER_S, Reports
from tests.unit.simulator.helpers import make_world

COUNTERS = {"production": 10.0, "inverters": 9.0, "load": 20.0, "charged": 3.0, "discharged": 2.0}


def test_only_quarter_hours_are_kept():
    reports = Reports()
    reports.record(1_800_000_300.0, COUNTERS, None)
    assert reports.first() is None
    reports.record(1_800_000_900.0, COUNTERS, 55.0)
    first = reports.first()
    assert first is not None and (first.t, first.consumption, first.soc) == (1_800_000_900.0, 20.0, 55.0)


def test_lookups():
    reports = Reports()
    for i in range(4):
        reports.record(1_800_000_000.0 + i * QUARTER_S, {k: v + i for k, v in COUNTERS.items()}, None)
    assert reports.at_or_before(1_799_999_999.0) is None
    found = reports.at_or_before(1_800_001_799.0)
    assert found is not None and found.t == 1_800_000_900.0
    pairs = reports.between(1_800_000_000.0, 1_800_001_800.0)
    assert [(a.t, b.t) for a, b in pairs] == [(1_800_000_000.0, 1_800_000_900.0), (1_800_000_900.0, 1_800_001_800.0)]


def test_the_physics_reports_its_counters_every_quarter_hour():
    world, fake, clock = make_world("three_phase_battery", start="10:07")
    first = world.reports.first()
    assert first is not None and first.t % QUARTER_S == 0 and first.t <= clock.now() - 7 * 86400 + QUARTER_S
    fake.advance(8 * 60)  # 10:15
    totals = world.energy_totals()
    last = world.reports.at_or_before(clock.now())
    assert last is not None and last.t == clock.now()
    assert (last.production, last.consumption) == (totals["production"], totals["consumption"])
    assert (last.charged, last.discharged) == (totals["charged"], totals["discharged"])
    assert last.soc == world.snapshot().soc
    pairs = world.reports.between(first.t, last.t)
    assert len(pairs) == (last.t - first.t) // QUARTER_S  # no quarter hour missing
