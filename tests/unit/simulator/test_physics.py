"""The living simulator's physics on a fake clock: fast, no sockets."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from bridge.simulator.physics import REPORT_S
from bridge.simulator.scenario import load_scenario
from tests.unit.simulator.helpers import SCENARIOS, START, make_world


def balanced(snap, phase=None):
    """load - production - battery - net for the total or one phase (0 when it balances)."""
    p = snap.power
    if phase is None:
        return p.load - p.production - p.battery - p.net
    return p.load_ph[phase] - p.production_ph[phase] - p.battery_ph[phase] - p.net_ph[phase]


@pytest.mark.parametrize("name", SCENARIOS)
def test_counters_only_grow_and_energy_balances_over_three_days(name):
    world, fake, _ = make_world(name)
    rng = random.Random(7)
    previous = world.snapshot()
    for _ in range(400):
        fake.now += rng.uniform(1, 1300)
        if rng.random() < 0.02:
            world.set_grid(not world.grid_up)
        snap = world.snapshot()
        for key, value in snap.counters.items():
            assert value >= previous.counters[key] - 1e-6, f"{key} went down"
        assert abs(balanced(snap)) < 1e-6
        for phase in range(world.n):
            assert abs(balanced(snap, phase)) < 1e-6
        c = snap.counters  # the integrals balance too: load = production + grid + battery
        supply = c["production"] + c["import"] - c["export"] + c["discharged"] - c["charged"]
        assert c["load"] == pytest.approx(supply, abs=1e-3)
        previous = snap


def test_net_ct_is_load_minus_production_without_battery():
    world, fake, _ = make_world("metered", start="06:00")
    for _ in range(200):
        fake.now += 307
        p = world.snapshot().power
        assert p.battery == 0 and p.net == pytest.approx(p.load - p.production, abs=1e-9)


def test_sun_curve_and_house_load():
    world, fake, clock = make_world("metered", start="00:00")
    by_hour = {}
    for _ in range(24 * 12):
        fake.now += 300
        snap = world.snapshot()
        by_hour.setdefault(int(clock.hour(snap.t)), []).append(snap.power.production)
    assert max(by_hour[3]) == 0 and max(by_hour[22]) == 0  # night
    assert min(by_hour[12]) > 0.25 * world.s.pv.inverters * world.s.pv.inverter_w  # midday sun
    assert all(world.demand(START + k * 97) >= world.s.load.base_w for k in range(500))


def test_battery_soc_stays_in_its_limits_and_follows_the_sun():
    world, fake, _ = make_world("three_phase_battery", start="00:00")
    battery = world.s.battery
    socs = []
    for step in range(3 * 24 * 6):
        fake.now += 600
        if step == 100:
            world.set_grid(False)  # an outage in the evening: down to the very-low limit
        if step == 180:
            world.set_grid(True)
        snap = world.snapshot()
        assert 0 <= snap.soc <= 100
        assert snap.soc >= battery.very_low_soc - 1e-6
        assert abs(snap.power.battery) <= world.max_power + 1e-6
        socs.append(snap.soc)
    assert max(socs) > 95 and min(socs) < battery.reserve_soc + 5  # full by day, used by night


def test_whtoday_resets_at_local_midnight():
    world, fake, clock = make_world("three_phase_battery", start="23:50")
    before = world.snapshot()
    assert before.today["production"] > 1000 and before.today["load"] > 1000
    fake.now += 20 * 60  # 00:10
    after = world.snapshot()
    assert clock.local(after.t).hour == 0
    assert after.today["production"] == pytest.approx(0, abs=1e-6)  # no sun since midnight
    assert 0 < after.today["load"] < 10 * 60 / 3600 * 10_000  # ten minutes of house load
    assert after.yesterday["production"] == pytest.approx(
        before.today["production"] + after.counters["production"] - before.counters["production"]
    )
    assert after.counters["production"] >= before.counters["production"]
    assert after.last7["production"] > after.today["production"]


def test_outage_with_batteries_islands_the_house():
    world, fake, _ = make_world("three_phase_battery", start="19:00")
    world.set_grid(False)
    for _ in range(30):
        fake.now += 240
        p = world.snapshot().power
        assert p.net == 0 and all(x == 0 for x in p.net_ph)
        assert p.battery == pytest.approx(p.load - p.production)
    fake.now += 12 * 3600  # the next morning, batteries low: the sun charges them again
    world.set_grid(True)
    assert world.snapshot().grid_up


def test_outage_with_full_batteries_curtails_production():
    world, fake, _ = make_world(
        "three_phase_battery",
        start="12:00",
        battery=replace(load_scenario("three_phase_battery").battery, initial_soc=100),
    )
    world.energy = world.capacity
    world.set_grid(False)
    fake.now += 120
    p = world.snapshot().power
    assert p.pv_available > p.load and p.curtailed
    assert p.production == pytest.approx(p.load) and p.battery == 0 and p.net == 0


def test_outage_without_batteries_turns_everything_off():
    world, fake, _ = make_world("metered", start="12:00")
    world.set_grid(False)
    before = world.snapshot()
    fake.now += 3600
    after = world.snapshot()
    assert after.power.dark and after.power.production == 0 and after.power.load == 0
    assert after.counters == before.counters


def test_inverters_report_every_five_minutes():
    world, fake, _ = make_world("standard", start="11:00")
    seen = set()
    for _ in range(40):
        fake.now += 37
        snap = world.snapshot()
        assert snap.report_t % REPORT_S == 0 and snap.t - REPORT_S < snap.report_t <= snap.t
        seen.add((snap.report_t, round(snap.report_w, 6)))
    assert len(seen) == 5  # 40 x 37 s = 24.7 min: five reports, each a new value


def test_same_scenario_and_clock_give_the_same_values():
    a, _, _ = make_world("metered", start="13:00")
    b, _, _ = make_world("metered", start="13:00")
    assert a.snapshot().counters == b.snapshot().counters


def test_energy_totals_are_the_lifetime_counters_up_to_now():
    world, fake, _ = make_world("three_phase_battery", start="09:00")
    first = world.energy_totals()
    assert set(first) == {"production", "consumption", "import", "export", "charged", "discharged"}
    fake.now += 3600  # a sunny morning hour: the batteries charge, nothing comes out of them
    later = world.energy_totals()  # advances the world by itself, no snapshot needed
    counters = world.snapshot().counters
    assert later["consumption"] == counters["load"] and later["charged"] == counters["charged"]
    assert later["production"] - first["production"] > 1000
    assert later["charged"] - first["charged"] > 500 and later["discharged"] == first["discharged"]
