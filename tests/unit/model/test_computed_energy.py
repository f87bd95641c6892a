"""Which counters the bridge computes and from which power (bridge/model/computed_energy.py)."""

from __future__ import annotations

import pytest

from bridge.model.computed_energy import BATTERY, GRID, Plan, section
from bridge.model.energy import Channel

POLLED = 1_800_000_000.0
BATTERY_ONLY_CTS = frozenset({"production"})
LOAD_CT = frozenset({"production", "total-consumption"})
ALL_CTS = frozenset({"production", "net-consumption", "storage"})
WITH_IQ = {"battery": {"soc_pct": 50, "power_w": -641}}


def planned(ct_types, payload=None, live=None) -> Plan:
    plan = Plan()
    plan.update(ct_types, payload or {}, live)
    return plan


@pytest.mark.parametrize(
    ("ct_types", "payload", "live", "active"),
    [
        (BATTERY_ONLY_CTS, WITH_IQ, None, {BATTERY}),  # batteries, no storage CT
        (BATTERY_ONLY_CTS | {"storage"}, WITH_IQ, None, set()),  # the storage CT counts itself
        (LOAD_CT, {}, None, {GRID}),  # a load CT and no net CT: no import/export counters
        (LOAD_CT | {"net-consumption"}, {}, None, set()),  # the net CT counts them
        (LOAD_CT, {"acb": {"power_w": 100}}, None, {BATTERY, GRID}),
        (frozenset(), {}, {"grid_power_w": 120.5}, {GRID}),  # no CT at all, live grid power
        (frozenset(), {}, None, set()),  # no CT and nothing to give the grid power
        (BATTERY_ONLY_CTS, {}, {"grid_power_w": 1.0}, set()),  # a production CT alone, no load
        (None, WITH_IQ, None, set()),  # CTs unknown: nothing decided
    ],
)
def test_channels_are_on_exactly_where_the_gateway_has_no_counter(ct_types, payload, live, active):
    assert planned(ct_types, payload, live).active == active


def test_a_missing_answer_never_switches_a_channel_off_but_the_ct_it_lacked_does():
    plan = planned(LOAD_CT, WITH_IQ)
    assert plan.active == {BATTERY, GRID}
    plan.update(None, {}, None)  # /ivp/meters and the inventory failed this cycle
    assert plan.active == {BATTERY, GRID}
    plan.update(frozenset(), {}, None)  # CT list read, no battery section this cycle: kinds remembered
    assert BATTERY in plan.active
    plan.update(LOAD_CT | {"storage", "net-consumption"}, WITH_IQ, None)  # CTs installed
    assert plan.active == set()


def test_live_power_is_preferred_at_its_sampling_time():
    plan = planned(LOAD_CT, WITH_IQ)
    live = {"time": 1_800_000_003, "sampled_at": 1_800_000_001, "storage_power_w": -650.5, "grid_power_w": 129.1}
    assert plan.samples(WITH_IQ, live, POLLED) == {
        BATTERY: (-650.5, 1_800_000_001),
        GRID: (129.1, 1_800_000_001),
    }
    no_sample_time = {"time": 1_800_000_003, "storage_power_w": 10}
    assert plan.samples(WITH_IQ, no_sample_time, POLLED)[BATTERY] == (10, 1_800_000_003)


def test_without_live_data_the_state_document_gives_the_power_at_the_poll_time():
    payload = {
        "production": {"power_w": 3000},
        "consumption": {"power_w": 1400},
        "battery": {"power_w": -641},
        "acb": {"power_w": 141},
    }
    plan = planned(LOAD_CT, payload)
    # grid = load - pv - batteries: 1400 - 3000 - (-500) = -1100 (exporting)
    assert plan.samples(payload, None, POLLED) == {BATTERY: (-500.0, POLLED), GRID: (-1100.0, POLLED)}
    with_cts = {**payload, "meters": {"total_consumption": {"power_w": 1500}, "production": {"power_w": 3100}}}
    assert plan.samples(with_cts, None, POLLED)[GRID] == (-1100.0, POLLED)  # the CTs' readings first


def test_a_missing_power_gives_no_sample_never_a_zero():
    plan = planned(LOAD_CT, {"battery": {}, "acb": {"power_w": 5}})
    assert plan.samples({"battery": {"soc_pct": 40}, "acb": {"power_w": 5}}, None, POLLED) == {}
    assert plan.samples({"production": {"power_w": 1}}, None, POLLED) == {}
    live_without_power = {"time": 1_800_000_003, "soc_pct": 40}
    assert plan.samples({}, live_without_power, POLLED) == {}


def test_the_section_holds_whole_watt_hours_of_the_channels_that_had_a_sample():
    channels = {BATTERY: Channel(1234.6, 987.4, POLLED, -10.0, gaps=2), GRID: Channel()}
    assert section(channels, {BATTERY, GRID}) == {
        "battery_discharged_wh": 1235,
        "battery_charged_wh": 987,
        "gaps": 2,
    }
    assert section(channels, {GRID}) == {}
    channels[GRID] = Channel(5.0, 7.0, POLLED, 3.0, gaps=1)
    assert section(channels, {GRID}) == {"grid_imported_wh": 5, "grid_exported_wh": 7, "gaps": 1}
