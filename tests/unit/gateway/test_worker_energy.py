"""The worker's computed energy counters (issue 13): a simulated home without a storage or
net-consumption CT, read body by body on a fake clock, gives battery and grid counters that
follow the simulator's own integrals; they reach the state document only where the gateway has
no counter of its own, the counter guard holds their glitches, and Home Assistant gets their
entities (the integrator and the state file: test_energy.py beside this one)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from bridge.app import sinks_for
from bridge.config import Config, GatewayConfig
from bridge.gateway.worker import EnvoyWorker
from bridge.model import ENDPOINTS, LiveDocument, decode_json, parse_info
from bridge.model.energy import trapezoid
from tests.support.sinks import Recorder
from tests.unit.simulator.helpers import body, living

PATHS = (
    "/ivp/meters",
    "/ivp/meters/readings",
    "/production.json?details=1",
    "/ivp/ensemble/inventory",
    "/ivp/ensemble/power",
    "/ivp/ensemble/secctrl",
)
NO_STORAGE_NOR_NET_CT = ("production", "total-consumption")


class Home:
    """The three-phase battery home's gateway and the bridge's worker, one cycle every 10 s."""

    def __init__(self, tmp_path, cts=NO_STORAGE_NOR_NET_CT, start="10:00"):
        self.source, self.clock = living("three_phase_battery", start=start, cts=cts)
        gateway = GatewayConfig(host="gw", insecure=True, energy_state=tmp_path / "energy.json")
        config = Config(gateways=(gateway,), cache_dir=tmp_path)
        self.recorder = Recorder()
        client = SimpleNamespace(token_info=None, last_renewal_error=None, retry_budget_s=None)
        self.worker = EnvoyWorker(
            gateway,
            config,
            sinks_for(config, gateway, self.recorder),
            client=client,
            monotonic=self.clock.monotonic,
            wall=self.clock.time,
        )
        self.worker.info = parse_info(body(self.source, "/info"))

    def cycle(self, live=None) -> dict:
        self.clock.advance(10)
        self.worker.parsed = {path: ENDPOINTS[path](self._read(path)) for path in PATHS}
        self.worker.live_document = LiveDocument(**live) if live else None
        assert self.worker.deliver(self.clock.monotonic())
        return json.loads(self.recorder.last("/state"))

    def _read(self, path: str) -> object:
        bare, _, query = path.partition("?")
        return decode_json(path, json.dumps(body(self.source, bare, query)))

    def counters(self) -> dict[str, float]:
        return dict(self.source.world.counters)

    def entities(self) -> dict[str, dict]:
        configs = [json.loads(p) for p in self.recorder.discovery.values()]
        return {c["unique_id"].removeprefix(f"{self.worker.info.serial}_"): c for c in configs}


@pytest.mark.parametrize(
    ("start", "growing"),
    [("06:00", ("discharged", "import")), ("11:00", ("charged", "export"))],  # early morning, late morning
)
def test_battery_and_grid_counters_follow_the_simulators_own_integrals(tmp_path, start, growing):
    home = Home(tmp_path, start=start)
    home.cycle()
    before = home.counters()
    start = home.cycle()["computed_energy"]
    for _ in range(360):  # an hour
        state = home.cycle()
    after, computed = home.counters(), state["computed_energy"]
    own = {name: after[name] - before[name] for name in ("charged", "discharged", "import", "export")}
    got = {
        "charged": computed["battery_charged_wh"] - start["battery_charged_wh"],
        "discharged": computed["battery_discharged_wh"] - start["battery_discharged_wh"],
        "import": computed["grid_imported_wh"] - start["grid_imported_wh"],
        "export": computed["grid_exported_wh"] - start["grid_exported_wh"],
    }
    assert all(own[name] > 200 for name in growing), own
    for name, value in own.items():  # whole Wh and 10 s samples of a rounded power
        assert got[name] == pytest.approx(value, rel=0.01, abs=3), name
    assert computed["gaps"] == 0
    assert json.loads(home.recorder.last("/diagnostics"))["computed_energy_gaps"] == 0


def test_a_gateway_with_storage_and_net_cts_gets_no_computed_counters(tmp_path):
    home = Home(tmp_path, cts=("production", "net-consumption", "storage"))
    for _ in range(5):
        state = home.cycle()
    assert "computed_energy" not in state and "storage" in state["meters"]
    assert "computed_energy_gaps" not in json.loads(home.recorder.last("/diagnostics"))
    assert not [key for key in home.entities() if key.startswith("computed_")]


def test_the_keys_are_there_only_for_the_active_channel(tmp_path):
    home = Home(tmp_path, cts=("production", "net-consumption"))  # batteries, no storage CT
    for _ in range(3):
        computed = home.cycle()["computed_energy"]
    assert set(computed) == {"battery_discharged_wh", "battery_charged_wh", "gaps"}
    assert "energy_imported_wh" in home.cycle()["grid"]  # the gateway's own import/export stay


def test_a_live_document_is_the_power_source_when_there_is_one(tmp_path):
    home = Home(tmp_path)
    now = home.clock.time()
    for offset, storage, grid in ((11, -3600, 500), (12, -3600, 500)):
        live = {"time": int(now + offset), "sampled_at": int(now + offset) - 1, "storage_power_w": storage}
        home.cycle(live | {"grid_power_w": grid})
    battery, grid = home.worker.energy.channels["battery"], home.worker.energy.channels["grid"]
    assert (battery.last_power_w, battery.last_time) == (-3600.0, int(now + 12) - 1)
    assert grid.last_power_w == 500.0
    assert battery.negative_wh == pytest.approx(1.0)  # 3600 W for the 1 s between the two samples


def test_live_samples_between_state_cycles_are_integrated_too(tmp_path):
    home = Home(tmp_path)
    home.cycle()  # the state cycle switches the channels on and gives the first sample
    battery = home.worker.energy.channels["battery"]
    before, p0, t0 = battery.negative_wh, battery.last_power_w, battery.last_time
    for second in range(1, 4):  # three live reads, one a second, before the next state cycle
        home.worker.energy.add_live(home.worker.info.serial, {"time": t0 + second, "storage_power_w": -3600})
    assert battery.last_time == t0 + 3
    first = trapezoid(p0, -3600.0, 1 / 3600)[1]  # the ramp from the state's sample to the first live one
    assert battery.negative_wh == pytest.approx(before + first + 2.0)  # then 2 s at 3600 W
    home.worker.energy.add_live("another-serial", {"time": t0 + 4, "storage_power_w": -3600})
    assert battery.last_time == t0 + 3  # another gateway's sample never counts here


def test_a_glitch_of_a_computed_counter_is_held_at_its_last_good_value(tmp_path):
    home = Home(tmp_path)
    for _ in range(3):
        good = home.cycle()["computed_energy"]["battery_charged_wh"]
    assert good > 0
    home.worker.energy.channels["battery"].negative_wh = 0.0  # a broken state, as a bug would leave it
    assert home.cycle()["computed_energy"]["battery_charged_wh"] == good
    home.worker.energy.channels["battery"].negative_wh = 5e9  # 5 GWh in 10 s: beyond what it could do
    assert home.cycle()["computed_energy"]["battery_charged_wh"] == good
    assert json.loads(home.recorder.last("/diagnostics"))["counter_glitches"] == 2


def test_home_assistant_gets_energy_sensors_named_as_computed(tmp_path):
    home = Home(tmp_path)
    home.cycle()
    home.cycle()
    entities = home.entities()
    names = {
        "computed_battery_charged": ("Battery energy charged (computed)", "battery_charged_wh"),
        "computed_battery_discharged": ("Battery energy discharged (computed)", "battery_discharged_wh"),
        "computed_grid_import": ("Grid energy import (computed)", "grid_imported_wh"),
        "computed_grid_export": ("Grid energy export (computed)", "grid_exported_wh"),
    }
    for key, (name, field) in names.items():
        entity = entities[key]
        assert (entity["name"], entity["device_class"], entity["state_class"]) == (name, "energy", "total_increasing")
        assert entity["unit_of_measurement"] == "Wh" and entity["state_topic"].endswith("/state")
        assert f"get('computed_energy', {{}}).get('{field}'" in entity["value_template"]
        assert entity["device"]["identifiers"] == [f"envoy_{home.worker.info.serial}"]
    gaps = entities["computed_energy_gaps"]
    assert gaps["state_topic"].endswith("/diagnostics") and gaps["entity_category"] == "diagnostic"


def test_the_counters_continue_after_a_restart_of_the_worker(tmp_path):
    home = Home(tmp_path)
    for _ in range(30):
        before = home.cycle()["computed_energy"]
    home.worker.energy.save(home.clock.monotonic())  # what run() does when it stops
    restarted = Home(tmp_path)
    restarted.clock.now = home.clock.now
    restarted.source = home.source  # the same home, 10 s later
    after = restarted.cycle()["computed_energy"]
    for key in ("battery_charged_wh", "grid_exported_wh"):
        assert before[key] <= after[key] <= before[key] + 15  # 10 s more of at most a few kW
    assert after["gaps"] == 0
