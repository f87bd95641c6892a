"""The computed energy counters end to end: the simulated three-phase battery home without a
storage or net-consumption CT, over real HTTPS with real token auth, polled by the real worker
on a fake clock; its counters against the simulator's own, then a stop and a new worker that
carries on from the state file (issue 13)."""

from __future__ import annotations

import json
import stat
import threading
from dataclasses import replace

import pytest

from bridge.config import PollIntervals
from bridge.simulator import Simulator
from bridge.simulator.scenario import load_scenario
from tests.reliability.rig import SteppedGateway
from tests.support.clock import FakeClock

pytestmark = pytest.mark.integration

# The default intervals, but the relay read once a minute: this home's outages are not the point.
POLL = PollIntervals(meters=10, grid=60, energy=60, inverters=300, batteries=60, info=3600)
COUNTERS = {"charged": "battery_charged_wh", "export": "grid_exported_wh", "import": "grid_imported_wh"}


def computed(rig: SteppedGateway) -> dict:
    return json.loads(rig.publisher.last("/state"))["computed_energy"]


def test_a_late_morning_of_computed_counters_across_a_restart(tmp_path):
    clock = FakeClock(1_800_000_000.0)
    scenario = replace(load_scenario("three_phase_battery"), cts=("production", "total-consumption"))
    state_file = tmp_path / "energy.json"
    with Simulator(scenario=scenario, time_func=clock, start="11:00", nightly=False) as sim:
        world = sim.source.world
        first = SteppedGateway(sim, tmp_path, clock, poll=POLL, energy_state=state_file)
        first.run_for(60)  # set up, first samples
        start, own_start = computed(first), dict(world.counters)
        first.run_for(3600)
        stop = threading.Event()
        stop.set()
        first.worker.run(stop)  # a clean stop: the loop ends at once and the state is saved
        first.close()
        assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
        stopped_at = computed(first)

        clock.advance(90)  # the bridge restarts a minute and a half later
        second = SteppedGateway(sim, tmp_path, clock, poll=POLL, energy_state=state_file)
        second.run_for(1800)
        end, own_end = computed(second), dict(world.counters)
        second.close()

    assert end["gaps"] == 0
    for key in ("battery_charged_wh", "grid_exported_wh", "grid_imported_wh", "battery_discharged_wh"):
        assert start[key] <= stopped_at[key] <= end[key], key  # carried on, never back to 0
    # The battery power is read once a minute and the CTs every 10 s: the grid's load - pv -
    # batteries mixes the two, a few tens of Wh in the hour and a half (docs/mqtt.md).
    for name, key in COUNTERS.items():
        own = own_end[name] - own_start[name]
        assert end[key] - start[key] == pytest.approx(own, rel=0.05, abs=50), name
    assert own_end["charged"] - own_start["charged"] > 2000 and own_end["export"] - own_start["export"] > 2000
