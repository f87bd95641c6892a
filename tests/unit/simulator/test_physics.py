"""The living simulator's physics and bodies on a fake clock: fast, no sockets."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest

from bridge import model
from bridge.model.info import parse_info
from bridge.simulator.clock import SimClock
from bridge.simulator.living import LivingSource
from bridge.simulator.physics import REPORT_S, World, value_noise
from bridge.simulator.scenario import builtin_names, load_scenario, scenario_from_dict

SCENARIOS = ("standard", "metered", "three_phase_battery")
START = 1_800_000_000.0  # 2027-01-15 08:00 UTC


class FakeTime:
    def __init__(self, now: float = START):
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_world(name: str, start: str = "00:00", factor: float = 1.0, **changes):
    fake = FakeTime()
    scenario = replace(load_scenario(name), timezone="UTC", **changes)
    clock = SimClock(fake, factor, start, "UTC")
    return World(scenario, clock), fake, clock


def balanced(snap, phase=None):
    """load - production - battery - net for the total or one phase (0 when it balances)."""
    p = snap.power
    if phase is None:
        return p.load - p.production - p.battery - p.net
    return p.load_ph[phase] - p.production_ph[phase] - p.battery_ph[phase] - p.net_ph[phase]


def test_builtin_scenarios_are_the_three_systems_of_the_issue():
    assert set(SCENARIOS) <= set(builtin_names())
    standard, metered, battery = (load_scenario(n) for n in SCENARIOS)
    assert not standard.metered and standard.cts == () and not standard.has_battery
    assert metered.cts == ("production", "net-consumption") and metered.phases == 2
    assert not metered.has_battery
    assert battery.phases == 3 and battery.phase_mode == "three" and battery.has_battery
    assert battery.has_enpower and battery.can_island and "storage" in battery.cts


def test_scenario_files_are_validated():
    with pytest.raises(ValueError, match="unknown key"):
        scenario_from_dict({"name": "x", "solar": 1})
    with pytest.raises(ValueError, match="12 digits"):
        scenario_from_dict({"name": "x", "serial": "12"})
    with pytest.raises(ValueError, match="no CTs"):
        scenario_from_dict({"name": "x", "metered": False, "cts": ["production"]})
    with pytest.raises(ValueError, match="unknown scenario"):
        load_scenario("nope")


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
    assert min(value_noise(k * 13.7, 60, 1) for k in range(1000)) >= 0
    assert max(value_noise(k * 13.7, 60, 1) for k in range(1000)) <= 1


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


def test_midnight_is_local_time_of_the_scenario():
    fake = FakeTime()
    clock = SimClock(fake, 1.0, "23:30", "+02:00")
    assert clock.local(clock.now()).strftime("%H:%M") == "23:30"
    assert clock.next_midnight(clock.now()) - clock.now() == pytest.approx(30 * 60)


def test_time_factor_and_start():
    fake = FakeTime()
    clock = SimClock(fake, 60.0, "10:00", "UTC")
    start = clock.now()
    assert clock.local(start).strftime("%H:%M") == "10:00"
    fake.now += 10
    assert clock.now() - start == pytest.approx(600)
    with pytest.raises(ValueError):
        SimClock(fake, 0)
    with pytest.raises(ValueError):
        SimClock(fake, 1, "noon")


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


# --- bodies, read by the bridge's own parsers -------------------------------------------------


def living(name: str, start: str = "12:00", **changes):
    fake = FakeTime()
    scenario = replace(load_scenario(name), timezone="UTC", **changes)
    return LivingSource(scenario, SimClock(fake, 1.0, start, "UTC")), fake


def body(source, path, query=""):
    status, content_type, raw = source.answer(path, query)
    assert status == 200, path
    return raw if content_type == "text/xml" else json.loads(raw)


def bridge_state(source):
    info = parse_info(body(source, "/info"))
    parsed = {}
    for endpoint in model.CANDIDATE_ENDPOINTS:
        path, _, query = endpoint.partition("?")
        status, _, raw = source.answer(path, query)
        if status == 200:
            try:
                parsed[endpoint] = model.ENDPOINTS[endpoint](model.decode_json(endpoint, raw))
            except Exception:  # e.g. [] for absent meters: the bridge skips those too
                pass
    active = model.select_endpoints(info, parsed)
    return model.build_state(info, {k: v for k, v in parsed.items() if k in active}, 0).as_payload()


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_bridge_parses_every_scenario(name):
    source, _ = living(name)
    state = bridge_state(source)
    assert state["serial"] == source.scenario.serial and state["production"]["power_w"] > 0
    if name == "standard":
        assert "consumption" not in state and "meters" not in state
        return
    assert state["consumption"]["power_w"] > 0
    assert set(state["meters"]) >= {"production", "net_consumption"}
    phases = state["meters"]["net_consumption"].get("phases", {})
    assert len(phases) == source.scenario.phases
    if name == "three_phase_battery":
        assert state["grid"]["status"] == "on_grid" and "storage" in state["meters"]


def test_metered_bodies_agree_with_each_other():
    source, _ = living("metered", start="13:00")
    report = body(source, "/production.json", "details=1")
    eim, (total, net) = report["production"][1], report["consumption"]
    assert net["wNow"] == pytest.approx(total["wNow"] - eim["wNow"], abs=0.01)
    assert net["whLifetime"] == pytest.approx(total["whLifetime"] - eim["whLifetime"], abs=0.01)
    assert len(eim["lines"]) == 2 and "lines" not in body(source, "/production")["production"][1]
    readings = {m["eid"]: r for m, r in zip(body(source, "/ivp/meters"), body(source, "/ivp/meters/readings"))}
    grid = readings[704643584]
    assert grid["actEnergyDlvd"] - grid["actEnergyRcvd"] == pytest.approx(net["whLifetime"], abs=0.01)
    assert len(grid["channels"]) == 3 and grid["channels"][2]["voltage"] == 0  # unused: zeros
    assert grid["voltage"] == pytest.approx(sum(ch["voltage"] for ch in grid["channels"]), abs=0.01)
    inverters = body(source, "/api/v1/production/inverters")
    assert sum(i["lastReportWatts"] for i in inverters) == report["production"][0]["wNow"]
    assert body(source, "/api/v1/production")["wattHoursLifetime"] == round(eim["whLifetime"])


def test_battery_bodies():
    source, fake = living("three_phase_battery", start="18:30")
    inventory = {g["type"]: g["devices"] for g in body(source, "/ivp/ensemble/inventory")}
    assert len(inventory["ENCHARGE"]) == 3 and len(inventory["ENPOWER"]) == 1
    assert inventory["ENPOWER"][0]["mains_oper_state"] == "closed"
    power = body(source, "/ivp/ensemble/power")
    assert list(power) == ["devices:"] and len(power["devices:"]) == 3  # the colon is real
    secctrl = body(source, "/ivp/ensemble/secctrl")
    assert secctrl["ENC_agg_soc"] == inventory["ENCHARGE"][0]["percentFull"]
    assert secctrl["Max_energy"] == 15000 and secctrl["configured_backup_soc"] == 20
    readings = {r["eid"]: r for r in body(source, "/ivp/meters/readings")}
    storage_w = readings[704643840]["activePower"]
    assert sum(d["real_power_mw"] for d in power["devices:"]) / 1000 == pytest.approx(storage_w, abs=1)
    assert body(source, "/admin/lib/tariff")["tariff"]["storage_settings"]["reserved_soc"] == 20
    assert body(source, "/ivp/ensemble/status")["relay"]["mains_oper_state"] == "closed"
    source.world.set_grid(False)
    assert body(source, "/ivp/ensemble/relay")["mains_oper_state"] == "open"
    enpower = [g for g in body(source, "/ivp/ensemble/inventory") if g["type"] == "ENPOWER"][0]["devices"][0]
    assert (enpower["mains_oper_state"], enpower["mains_admin_state"]) == ("open", "closed")
    assert bridge_state(source)["grid"] == {
        "status": "off_grid",
        "import_power_w": 0,
        "export_power_w": 0,
        **{k: v for k, v in bridge_state(source)["grid"].items() if k.startswith("energy")},
    }


def test_standard_gateway_has_no_meters_and_no_ensemble():
    source, _ = living("standard")
    assert body(source, "/ivp/meters") == [] and body(source, "/ivp/meters/readings") == []
    assert body(source, "/ivp/ensemble/inventory") == []
    assert body(source, "/ivp/ensemble/power") == {"devices:": []}
    assert "storage_settings" not in body(source, "/admin/lib/tariff")["tariff"]
    assert b"<imeter>false</imeter>" in body(source, "/info")
    data = body(source, "/ivp/pdm/device_data")
    assert data["deviceCount"] == 16 and data["deviceDataLimit"] == 50
    assert source.answer("/nope", "")[0] == 404
    home = body(source, "/home")
    assert home["comm"]["pcu"]["num"] == 16 and home["current_time"] == "12:00"
