"""Poll groups and their schedule on monotonic time."""

from bridge.config import PollIntervals
from bridge.gateway.schedule import GROUPS, Schedule, grid_read, group_endpoints
from bridge.model import CANDIDATE_ENDPOINTS, POLL_GROUPS


def test_groups_keep_only_the_endpoints_this_gateway_has():
    groups = group_endpoints({"/ivp/meters/readings", "/production.json?details=1", "/ivp/meters"})
    assert groups["meters"] == ("/ivp/meters/readings",)
    assert groups["energy"] == ("/production.json?details=1",)
    assert groups["info"] == ("/ivp/meters",)
    assert groups["grid"] == ()


def test_the_grid_group_reads_only_the_endpoint_that_reports_the_relay():
    active = {"/ivp/ensemble/relay", "/ivp/ensemble/inventory", "/ivp/meters/readings"}
    groups = group_endpoints(active, "/ivp/ensemble/relay")
    assert groups["grid"] == ("/ivp/ensemble/relay",)
    assert groups["batteries"] == ("/ivp/ensemble/inventory",)
    collar = group_endpoints({"/ivp/ensemble/inventory"}, "/ivp/ensemble/inventory")
    assert collar["grid"] == ("/ivp/ensemble/inventory",) and collar["batteries"] == ()


def test_each_group_runs_on_its_own_interval():
    schedule = Schedule.starting_at(PollIntervals(live=0), now=0.0)  # the live group: below
    assert set(schedule.due(0.0)) == set(GROUPS)
    for group in GROUPS:
        schedule.done(group, now=0.5)
    assert schedule.due(0.9) == [] and schedule.due(1.0) == ["grid"]  # the relay, every second
    schedule.done("grid", now=1.0)
    assert schedule.due(9.9) == ["grid"]
    assert set(schedule.due(10.0)) == {"meters", "grid"}
    assert schedule.seconds_to_next(1.5) == 0.5


def test_a_group_with_nothing_to_read_never_comes_due():
    schedule = Schedule.starting_at(PollIntervals(), now=0.0)
    schedule.disable("grid")
    schedule.done("grid", now=1.0)
    schedule.delay_all(until=50.0)
    assert "grid" not in schedule.due(1e9)


def test_a_late_group_is_not_followed_by_a_catch_up_burst():
    schedule = Schedule.starting_at(PollIntervals(), now=0.0)
    schedule.done("meters", now=35.0)  # the cycle took 35 s, three intervals
    assert schedule.next_due["meters"] == 45.0
    schedule.done("meters", now=45.2)  # on time again: keeps its cadence
    assert schedule.next_due["meters"] == 55.0


def test_backoff_delays_every_group():
    schedule = Schedule.starting_at(PollIntervals(), now=0.0)
    schedule.delay_all(until=120.0)
    assert schedule.due(119.0) == [] and set(schedule.due(120.0)) == set(GROUPS)


def test_every_endpoint_goes_to_the_group_the_registry_gives_it_in_probe_order():
    groups = group_endpoints(set(CANDIDATE_ENDPOINTS))  # no grid endpoint: a relay waits with the batteries
    placed = [(group, endpoint) for group, endpoints in groups.items() for endpoint in endpoints]
    assert sorted(placed) == sorted(("batteries" if g == "grid" else g, ep) for ep, g in POLL_GROUPS.items())
    for endpoints in groups.values():
        assert list(endpoints) == sorted(endpoints, key=CANDIDATE_ENDPOINTS.index)


def test_the_live_group_defaults_to_every_second_with_batteries_or_a_controller_else_five():
    assert Schedule.starting_at(PollIntervals(), now=0.0, fast_live=True).interval("live") == 1.0
    assert Schedule.starting_at(PollIntervals(), now=0.0).interval("live") == 5.0
    schedule = Schedule.starting_at(PollIntervals(), now=0.0, fast_live=True)
    for group in GROUPS:
        schedule.done(group, now=0.0)
    assert schedule.due(1.0) == ["grid", "live"]


def test_a_configured_live_interval_wins_and_zero_switches_the_group_off():
    for fast in (True, False):
        assert Schedule.starting_at(PollIntervals(live="2.5"), now=0.0, fast_live=fast).interval("live") == 2.5
    off = Schedule.starting_at(PollIntervals(live="0"), now=0.0, fast_live=True)
    off.done("live", now=0.0)
    assert "live" not in off.due(1e9) and off.seconds_to_next(0.0) == 0.0  # the others still due


def test_an_endpoint_with_a_refresh_time_is_wanted_again_only_near_it():
    schedule = Schedule.starting_at(PollIntervals(), now=0.0)
    device_data, readings = "/ivp/pdm/device_data", "/ivp/meters/readings"
    assert schedule.wanted(device_data, 0.0)  # never read
    schedule.was_read(device_data, 0.0)
    schedule.was_read(readings, 0.0)  # no refresh time: not even kept
    assert not schedule.wanted(device_data, 60.0) and not schedule.wanted(device_data, 269.0)
    assert schedule.wanted(device_data, 270.0)  # a group due a little early still reads it
    assert schedule.wanted(readings, 0.1) and readings not in schedule.read_at
    schedule.was_read("/admin/lib/tariff", 0.0)  # a setting: hourly
    assert not schedule.wanted("/admin/lib/tariff", 3000.0) and schedule.wanted("/admin/lib/tariff", 3240.0)


def test_the_relay_is_the_grid_read_only_when_faster_than_the_inventory():
    relay, inventory = "/ivp/ensemble/relay", "/ivp/ensemble/inventory"
    assert grid_read(relay, PollIntervals()) == relay  # every second against the minute
    assert grid_read(relay, PollIntervals(grid=60.0)) is None
    assert grid_read(relay, PollIntervals(grid=120.0, batteries=60.0)) is None
    assert grid_read(inventory, PollIntervals(grid=60.0)) == inventory  # a Collar: the inventory itself
    assert grid_read(None, PollIntervals()) is None
