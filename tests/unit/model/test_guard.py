"""The counter guard (bridge/model/guard.py): issue 11 finding 6a, case by case.

The property-based layer (tests/property/test_guard_properties.py) checks the same rules over
random sequences; these tests name each rule and each known firmware behaviour.
"""

from __future__ import annotations

import pytest

from bridge.homeassistant.devices import KIND_ENTITIES
from bridge.homeassistant.gateway import GATEWAY_ENTITIES, meter_entities
from bridge.model.builders.ctmeters import METER_KEYS
from bridge.model.guard import (
    ABSURD_WH,
    DAILY,
    GATEWAY_MAX_POWER_W,
    GLITCH,
    MONOTONE,
    REANCHOR,
    REANCHOR_S,
    RECOVERED,
    SIGNED,
    STATE,
    UNIT_MAX_POWER_W,
    WRAP,
    WRAP_WH,
    CounterGuard,
    kind_of,
    log_lines,
)

SERIAL = "123456789012"
LIFETIME = 5_000_001  # the production lifetime of tests/fixtures/bodies/production_split_total_is_net.json
MINUTE = 60.0


def state(lifetime=LIFETIME, **sections) -> dict:
    return {"schema": 1, "serial": SERIAL, "production": {"power_w": 900, "energy_lifetime_wh": lifetime}, **sections}


class Run:
    """One gateway's guard fed one cycle a minute."""

    def __init__(self):
        self.guard, self.now, self.events = CounterGuard(), 0.0, []

    def cycle(self, documents: dict, minutes: float = 1.0) -> dict:
        self.now += minutes * MINUTE
        guarded = self.guard.apply(SERIAL, documents, self.now)
        self.events.append(guarded.events)
        return guarded.documents

    def lifetime(self, value, minutes: float = 1.0):
        return self.cycle({STATE: state(value)}, minutes)[STATE]["production"].get("energy_lifetime_wh")


@pytest.fixture
def run() -> Run:
    return Run()


@pytest.mark.parametrize("glitch", [0, -1, -5_000_001, 1e308, 10**308, ABSURD_WH + 1, float("nan"), True, "12"])
def test_h11_6a_zero_negative_or_absurd_lifetime_is_held_at_the_last_good_value(run, glitch):
    assert run.lifetime(LIFETIME) == LIFETIME
    assert run.lifetime(glitch) == LIFETIME
    assert run.guard.glitches == 1
    assert run.lifetime(LIFETIME + 10) == LIFETIME + 10  # the next good value goes through
    assert [e.what for events in run.events for e in events] == [GLITCH, RECOVERED]


@pytest.mark.parametrize("glitch", [-1, 1e308])
def test_h11_6a_a_bad_first_value_is_left_out_not_published(run, glitch):
    documents = run.cycle({STATE: state(glitch)})
    assert "energy_lifetime_wh" not in documents[STATE]["production"]
    assert documents[STATE]["production"]["power_w"] == 900  # the rest of the document flows
    assert run.guard.glitches == 1


def test_h11_6a_a_lifetime_going_backwards_is_held(run):
    run.lifetime(LIFETIME)
    assert [run.lifetime(LIFETIME - 3_100_000) for _ in range(5)] == [LIFETIME] * 5
    assert run.guard.glitches == 5
    glitches = [e for events in run.events for e in events if e.what == GLITCH]
    assert len(glitches) == 1  # one per streak, not one per cycle


def test_h11_6a_a_jump_beyond_the_maximum_power_over_the_elapsed_time_is_held(run):
    run.lifetime(LIFETIME)
    # a minute at 1 MW is 16.7 kWh (plus a minute of slack): 3.1 MWh in a minute is impossible
    assert run.lifetime(LIFETIME + 3_100_000) == LIFETIME
    most = int(GATEWAY_MAX_POWER_W * 2 * MINUTE / 3600)  # two minutes since the last good value
    assert run.lifetime(LIFETIME + most) == LIFETIME + most


def test_the_counters_the_bridge_computes_are_guarded_like_the_gateways(run):
    def charged(value) -> object:
        computed = {"battery_charged_wh": value, "battery_discharged_wh": 10, "gaps": 0}
        return run.cycle({STATE: state(computed_energy=computed)})[STATE]["computed_energy"].get("battery_charged_wh")

    assert kind_of(STATE, ("computed_energy", "grid_exported_wh")) == MONOTONE
    assert charged(1000) == 1000
    assert charged(900) == 1000  # a step back
    assert charged(1000 + 3_100_000) == 1000  # more than 1 MW could do in the time since
    assert charged(1020) == 1020
    assert run.guard.glitches == 2


def test_a_long_outage_allows_what_the_system_produced_meanwhile(run):
    run.lifetime(LIFETIME)
    assert run.lifetime(LIFETIME + 3_100_000, minutes=24 * 60) == LIFETIME + 3_100_000


def test_zero_is_a_true_first_value_for_a_counter_that_never_counted(run):
    documents = {STATE: state(LIFETIME, meters={"production": {"energy_received_wh": 0}})}
    assert run.cycle(documents)[STATE]["meters"]["production"]["energy_received_wh"] == 0
    assert run.guard.glitches == 0


def test_lifetime_step_down_of_the_firmware_wrap_passes_and_is_counted(run):
    """test_repairs.py::test_lifetime_step_down_passed_through: the model passes the 1.19 MWh
    step-down through, and so does the guard (reference §2: the firmware's 2**32 J counter). Held,
    the counter would freeze for the months it takes to produce 1.19 MWh again."""
    run.lifetime(LIFETIME)
    assert run.lifetime(LIFETIME - 1_190_000) == LIFETIME - 1_190_000
    assert run.guard.wraps == 1 and run.guard.glitches == 0
    assert run.lifetime(LIFETIME - 1_190_000 + 50) == LIFETIME - 1_190_000 + 50  # and it counts on from there
    assert [e.what for e in run.events[1]] == [WRAP]


def test_the_wrap_to_zero_at_1_19_mwh_on_old_firmware_passes(run):
    run.lifetime(int(WRAP_WH) - 100)
    assert run.lifetime(0) == 0  # Home Assistant counts a reset to 0 exactly right
    assert run.lifetime(40) == 40
    assert run.guard.wraps == 1 and run.guard.glitches == 0


def test_after_a_long_outage_a_step_back_is_not_taken_for_a_wrap(run):
    run.lifetime(LIFETIME)
    assert run.lifetime(LIFETIME - 100_000, minutes=6 * 60) == LIFETIME  # 100 kWh back: held
    assert run.guard.wraps == 0


def test_a_new_level_that_stays_an_hour_becomes_the_baseline(run):
    run.lifetime(0)  # the first value was itself the glitch...
    held = [run.lifetime(LIFETIME + i) for i in range(int(REANCHOR_S / MINUTE))]
    assert set(held) == {0}  # ...so the real one is held for an hour, not believed at once
    assert run.lifetime(LIFETIME + 100) == LIFETIME + 100  # then it is the new baseline
    assert [e.what for e in run.events[-1]] == [REANCHOR]


def test_a_value_that_never_settles_is_never_a_new_level(run):
    run.lifetime(LIFETIME)
    values = [LIFETIME - 3_000_000, LIFETIME + 4_000_000] * 60  # two hours of flapping
    assert {run.lifetime(v) for v in values} == {LIFETIME}


def test_zero_never_becomes_a_new_level(run):
    run.lifetime(LIFETIME)
    assert {run.lifetime(0) for _ in range(200)} == {LIFETIME}


def test_the_signed_net_counter_may_go_down_and_below_zero_but_not_to_zero_or_absurd(run):
    def net(value):
        documents = run.cycle({STATE: state(LIFETIME, net_consumption={"energy_lifetime_wh": value})})
        return documents[STATE]["net_consumption"].get("energy_lifetime_wh")

    assert [net(-235_662), net(-236_000), net(-235_000)] == [-235_662, -236_000, -235_000]
    assert net(0) == -235_000
    assert net(-1e308) == -235_000
    assert net(-235_000 - 3_000_000) == -235_000  # 3 MWh exported in a minute
    assert run.guard.glitches == 3


def test_a_daily_counter_may_drop_at_midnight_but_never_be_negative(run):
    def today(value):
        documents = run.cycle({STATE: state(LIFETIME) | {"consumption": {"energy_today_wh": value}}})
        return documents[STATE]["consumption"].get("energy_today_wh")

    assert [today(20_000), today(0), today(15)] == [20_000, 0, 15]
    assert today(-5) == 15
    assert run.guard.glitches == 1


def test_a_units_counter_has_the_units_own_bound(run):
    def inverter(value):
        return run.cycle({STATE: state(LIFETIME), "inverter/1": {"energy_lifetime_wh": value}})["inverter/1"]

    inverter(500_000)
    too_much = int(UNIT_MAX_POWER_W * 3 * MINUTE / 3600)  # a microinverter does not make 500 Wh a minute
    assert inverter(500_000 + too_much) == {"energy_lifetime_wh": 500_000}
    assert inverter(500_010) == {"energy_lifetime_wh": 500_010}


def test_per_phase_and_ct_counters_are_guarded_each_on_its_own(run):
    def cycle(l1, delivered):
        meters = {"net_consumption": {"energy_delivered_wh": delivered, "phases": {"l1": {"energy_delivered_wh": l1}}}}
        production = {"energy_lifetime_wh": LIFETIME, "phases": {"l1": {"energy_lifetime_wh": l1}}}
        return run.cycle(
            {STATE: {"production": production, "meters": meters, "grid": {"energy_imported_wh": delivered}}}
        )

    cycle(1000, 2000)
    documents = cycle(0, 1)
    assert documents[STATE]["production"]["phases"]["l1"]["energy_lifetime_wh"] == 1000
    assert documents[STATE]["meters"]["net_consumption"]["energy_delivered_wh"] == 2000
    assert documents[STATE]["meters"]["net_consumption"]["phases"]["l1"]["energy_delivered_wh"] == 1000
    assert documents[STATE]["grid"]["energy_imported_wh"] == 2000
    assert run.guard.glitches == 4


def test_a_flood_of_glitching_units_is_one_log_line(run):
    units = {f"inverter/{i}": {"energy_lifetime_wh": 400_000 + i} for i in range(600)}
    run.cycle({STATE: state(), **units})
    run.cycle({STATE: state(), **{suffix: {"energy_lifetime_wh": 0} for suffix in units}})
    lines = log_lines(run.events[-1])
    assert len(lines) == 1 and lines[0][0] is True
    assert "inverter/0 energy_lifetime_wh = 0 (published 400000)" in lines[0][1] and "and 597 more" in lines[0][1]
    assert run.guard.glitches == 600
    run.cycle({STATE: state(), **{suffix: {"energy_lifetime_wh": 0} for suffix in units}})
    assert log_lines(run.events[-1]) == []  # the same streak: nothing more to say


def test_an_absurd_value_is_clipped_in_the_log_line(run):
    run.lifetime(LIFETIME)
    run.lifetime(10**308)
    [(_, line)] = log_lines(run.events[-1])
    assert len(line) < 200 and "(309 chars)" in line


def test_another_gateway_at_the_same_address_starts_afresh(run):
    run.lifetime(LIFETIME)
    guarded = run.guard.apply("999999999999", {STATE: state(1000)}, run.now + 1)
    assert guarded.documents[STATE]["production"]["energy_lifetime_wh"] == 1000


def test_the_documents_given_are_not_changed(run):
    run.lifetime(LIFETIME)
    documents = {STATE: state(0)}
    run.cycle(documents)
    assert documents[STATE]["production"]["energy_lifetime_wh"] == 0


def test_every_total_increasing_or_total_energy_entity_reads_a_guarded_counter():
    """The guard knows counters by key; Home Assistant's state classes are the truth it must cover."""
    gateway = GATEWAY_ENTITIES + [e for key in METER_KEYS.values() for e in meter_entities(key)]
    found = {(STATE, e.path, e.state_class) for e in gateway if e.device_class == "energy"}
    found |= {
        (f"{kind}/1", e.path, e.state_class)
        for kind, entities in KIND_ENTITIES.items()
        for e in entities
        if e.device_class == "energy"
    }
    interval = {("inverter/1", ("energy_last_report_wh",))}  # the energy of one report, not a counter
    for suffix, path, state_class in found:
        kind = kind_of(suffix, path)
        if state_class == "total_increasing":
            assert kind in (MONOTONE, DAILY), (suffix, path)
        elif state_class == "total" and (suffix, path) not in interval:
            assert kind == SIGNED, (suffix, path)
