"""How often the worker reads each endpoint beyond its group's interval: inverter detail no faster
than the gateway refreshes it, settings hourly (and at once after a write, by the read-back), and
no grid relay read when the inventory reports the same relay as often. A fake token gateway with
an IQ System Controller serves the project's bodies; the poll intervals are Home Assistant's
pace (every group 60 s), where these rules save requests."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

from bridge.app import sinks_for
from bridge.config import Config, GatewayConfig, PollIntervals
from bridge.errors import EnvoyNotFound
from bridge.gateway.worker import EnvoyWorker
from bridge.model import GatewayInfo
from tests.support.clock import FakeClock
from tests.support.sinks import Recorder

BODIES = Path(__file__).resolve().parents[2] / "fixtures" / "bodies"
RELAY, INVENTORY = "/ivp/ensemble/relay", "/ivp/ensemble/inventory"
DEVICE_DATA, SETTINGS = "/ivp/pdm/device_data", "/ivp/ss/dry_contact_settings"
RELAY_BODY = b'{"mains_admin_state": "closed", "mains_oper_state": "open", "Enchg_grid_mode": "multimode-offgrid"}'
FILES = {
    "/ivp/meters": "meters_split.json",
    "/ivp/meters/readings": "readings_split_storage_zero_channel.json",
    INVENTORY: "inventory_enpower_open.json",
    DEVICE_DATA: "device_data_inverters.json",
    "/ivp/ensemble/dry_contacts": "dry_contacts_status.json",
    SETTINGS: "dry_contacts_settings.json",
}


class EnpowerGateway:
    """A firmware 8 gateway with CTs, microinverters and an IQ System Controller (off grid)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.token_info = self.token_source = self.token_flow = self.last_renewal_error = None

    def fetch_info(self) -> GatewayInfo:
        self.calls.append("/info")
        return GatewayInfo("999000000001", "8.2.4382", "800-00654-r08", True, True)

    def get(self, endpoint: str, probing: bool = False) -> bytes:
        self.calls.append(endpoint)
        if endpoint == RELAY:
            return RELAY_BODY
        if endpoint not in FILES:
            raise EnvoyNotFound(f"{endpoint}: 404")
        return (BODIES / FILES[endpoint]).read_bytes()

    def maybe_renew_token(self) -> bool:
        return False


def every(seconds: float, **overrides: float) -> PollIntervals:
    """Every data group at `seconds` (`info` keeps its hour), as the bench's Home Assistant pace."""
    base: dict[str, float] = {f.name: seconds for f in fields(PollIntervals) if f.name not in ("info", "live")}
    return replace(PollIntervals(), **{**base, "live": 0, **overrides})


def make_worker(poll: PollIntervals) -> tuple[EnvoyWorker, EnpowerGateway, Recorder, FakeClock]:
    clock, gateway, recorder = FakeClock(1000.0), EnpowerGateway(), Recorder()
    config = Config(gateways=(GatewayConfig(host="gw", insecure=True),), poll=poll)
    sinks = sinks_for(config, config.gateways[0], recorder)
    worker = EnvoyWorker(config.gateways[0], config, sinks, client=gateway, monotonic=clock, wall=lambda: 1.7e9)
    return worker, gateway, recorder, clock


def run_minutes(worker: EnvoyWorker, clock: FakeClock, minutes: int) -> None:
    end = clock.now + minutes * 60
    while (due := clock.now + worker.schedule.seconds_to_next(clock.now)) <= end:
        clock.now = due
        worker._step()


def test_inverter_detail_is_read_every_five_minutes_though_its_group_runs_every_minute():
    worker, gateway, _rec, clock = make_worker(every(60.0))
    worker._step()  # the probe reads everything once
    gateway.calls.clear()
    run_minutes(worker, clock, 15)
    assert gateway.calls.count(DEVICE_DATA) == 3  # at 5, 10 and 15 minutes
    assert gateway.calls.count("/ivp/meters/readings") == 15
    assert gateway.calls.count("/ivp/ensemble/dry_contacts") == 15


def test_a_group_a_little_early_still_reads_an_endpoint_due_for_refresh():
    worker, gateway, _rec, clock = make_worker(every(60.0, inverters=290.0))
    worker._step()
    gateway.calls.clear()
    run_minutes(worker, clock, 10)
    assert gateway.calls.count(DEVICE_DATA) == 2  # at 290 and 580 s: never skipped to 580 and 1160


def test_settings_are_read_hourly_even_with_a_faster_info_group_and_at_once_by_a_read_back():
    worker, gateway, rec, clock = make_worker(every(60.0, info=600.0))
    worker._step()
    gateway.calls.clear()
    run_minutes(worker, clock, 50)
    assert gateway.calls.count("/info") == 5 and gateway.calls.count(SETTINGS) == 0
    run_minutes(worker, clock, 10)
    assert gateway.calls.count(SETTINGS) == 1  # an hour after the probe
    gateway.calls.clear()
    assert worker.read_now((SETTINGS,))  # a control's read-back after a write
    assert gateway.calls == [SETTINGS] and rec.last("/relay/NC1") is not None


def test_no_relay_read_when_the_inventory_reports_it_as_often_and_the_grid_status_still_shows():
    worker, gateway, rec, clock = make_worker(every(60.0))
    worker._step()
    assert worker.groups["grid"] == () and RELAY not in worker.parsed
    assert rec.last("/grid/status") == "off_grid"  # the inventory's System Controller: open
    gateway.calls.clear()
    run_minutes(worker, clock, 5)
    assert RELAY not in gateway.calls and gateway.calls.count(INVENTORY) == 5
    gateway.calls.clear()
    worker.read_now((INVENTORY, RELAY))  # the grid switch's read-back: the relay is not polled here
    assert gateway.calls == [INVENTORY] and RELAY not in worker.parsed


def test_the_relay_stays_the_fast_grid_read_when_the_grid_group_is_faster():
    worker, gateway, _rec, clock = make_worker(every(60.0, grid=1.0))
    worker._step()
    assert worker.groups["grid"] == (RELAY,)
    gateway.calls.clear()
    run_minutes(worker, clock, 1)
    assert gateway.calls.count(RELAY) == 60 and gateway.calls.count(INVENTORY) == 1
