"""What the controls let the batteries do, per storage mode, grid state and hour; relays shed
their share of the load; AC Batteries asleep (no physics here: the rules alone)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bridge.simulator.controls import Controls, StoragePolicy, acb_serials
from bridge.simulator.scenario import load_scenario


def controls(name: str = "three_phase_battery", **storage: object) -> Controls:
    c = Controls(load_scenario(name))
    c.tariff["storage_settings"].update(storage)
    return c


@pytest.mark.parametrize(
    "storage, on_grid, hour, policy",
    [
        ({}, True, 20.0, StoragePolicy(True, 20.0, None)),
        ({"charge_from_grid": True}, True, 20.0, StoragePolicy(True, 20.0, 20.0)),
        ({"mode": "backup"}, True, 20.0, StoragePolicy(False, 20.0, None)),
        ({"mode": "backup", "charge_from_grid": True}, True, 3.0, StoragePolicy(False, 20.0, 100.0)),
        ({"mode": "backup", "reserved_soc": 60.0}, False, 20.0, StoragePolicy(True, 5.0, None)),  # an outage
        ({"mode": "economy"}, True, 20.0, StoragePolicy(True, 20.0, None)),
        ({"mode": "economy"}, True, 3.0, StoragePolicy(False, 20.0, None)),
        ({"mode": "savings-mode", "reserved_soc": 35.0}, True, 23.5, StoragePolicy(False, 35.0, None)),
    ],
)
def test_the_storage_policy(storage, on_grid, hour, policy):
    assert controls(**storage).policy(on_grid, hour) == policy


def test_the_configured_storage_mode_comes_from_the_scenario():
    scenario = load_scenario("three_phase_battery")
    assert scenario.battery is not None
    backup = replace(scenario, battery=replace(scenario.battery, storage_mode="backup"))
    assert Controls(backup).storage() == Controls(scenario).storage() | {"mode": "backup"}
    assert Controls(load_scenario("metered")).storage() is None


def test_open_relays_shed_their_share_by_command_or_by_their_action():
    c = controls()
    assert c.open_relays(True) == [] and c.shed_share(True) == 0
    c.relay_status["NC1"] = "open"
    c.relay_settings["NO1"]["micro_grid_action"] = "shed"
    c.relay_settings["NC2"]["grid_action"] = "shed"
    assert c.open_relays(True) == ["NC1", "NC2"] and c.shed_share(True) == pytest.approx(0.25)
    assert c.open_relays(False) == ["NC1", "NO1"] and c.shed_share(False) == pytest.approx(0.2)
    c.relay_status["NO2"] = "open"  # a relay that feeds nothing in this scenario
    assert c.shed_share(False) == pytest.approx(0.2)


def test_sleeping_ac_batteries_leave_the_awake_share():
    c = controls("ac_battery")
    serials = acb_serials(c.s)
    assert len(serials) == len(set(serials)) == 4 and c.awake_share() == 1
    c.acb_sleep[serials[0]] = (95, 100)
    assert c.awake_share() == 0.75
    c.wake(serials)
    assert c.awake_share() == 1 and controls().awake_share() == 1
