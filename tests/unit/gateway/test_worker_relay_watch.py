"""The worker with a fake gateway that has an IQ System Controller, batteries and live data at the
defaults (relay and live every second): the live data vouch for the relay between its reads, an
outage still reaches the sinks in the step that sees it, and live data that do not follow the
relay lose the trust."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

from bridge.app import sinks_for
from bridge.config import Config, GatewayConfig, PollIntervals
from bridge.errors import EnvoyNotFound
from bridge.gateway.relay_watch import CHECK_S
from bridge.gateway.worker import EnvoyWorker
from bridge.model import LIVE_PATH, RELAY_PATH, GatewayInfo
from tests.support.clock import FakeClock
from tests.support.sinks import Recorder

BODIES = Path(__file__).resolve().parents[2] / "fixtures" / "bodies"
SERIAL = "999000000001"
INVENTORY = "/ivp/ensemble/inventory"
FILES = {"/ivp/meters": "meters_split.json", "/ivp/meters/readings": "readings_split_storage_zero_channel.json"}


class ControllerGateway:
    """Its relay closed or open; its live data say `live_relay` (1 closed, 0 open), advancing with the clock."""

    def __init__(self, clock: FakeClock):
        self.clock, self.relay, self.live_relay = clock, "closed", 1
        self.inventory = json.loads((BODIES / "inventory_enpower_open.json").read_text())
        self.live = json.loads((BODIES / "livedata_split_battery.json").read_text())
        self.calls: list[str] = []
        self.token_info = self.token_source = self.token_flow = self.last_renewal_error = None

    def fetch_info(self) -> GatewayInfo:
        self.calls.append("/info")
        return GatewayInfo(SERIAL, "8.2.4382", "800-00654-r08", True, True)

    def get(self, endpoint: str, probing: bool = False) -> bytes:
        self.calls.append(endpoint)
        if endpoint == RELAY_PATH:
            return json.dumps({"mains_admin_state": "closed", "mains_oper_state": self.relay}).encode()
        if endpoint == INVENTORY:
            inventory = copy.deepcopy(self.inventory)
            inventory[1]["devices"][0]["mains_oper_state"] = self.relay
            return json.dumps(inventory).encode()
        if endpoint == LIVE_PATH:
            live = copy.deepcopy(self.live)
            live["meters"]["last_update"], live["meters"]["main_relay_state"] = int(self.clock.time()), self.live_relay
            return json.dumps(live).encode()
        if endpoint not in FILES:
            raise EnvoyNotFound(f"gw {endpoint}: HTTP 404 (the gateway does not have this endpoint)")
        return (BODIES / FILES[endpoint]).read_bytes()

    def outage(self, live_follows: bool = True) -> None:
        self.relay = "open"
        if live_follows:
            self.live_relay = 0

    def maybe_renew_token(self) -> bool:
        return False


def make_worker(poll: PollIntervals | None = None):
    clock = FakeClock(1_764_760_000.0)
    config = Config(gateways=(GatewayConfig(host="gw", insecure=True),), poll=poll or PollIntervals())
    recorder, gateway = Recorder(), ControllerGateway(clock)
    sinks = sinks_for(config, config.gateways[0], recorder)
    worker = EnvoyWorker(config.gateways[0], config, sinks, client=gateway, monotonic=clock.monotonic, wall=clock.time)
    worker._step()  # setup: the probe read the relay and the live data, which agree
    gateway.calls.clear()
    return worker, gateway, recorder, clock


def run_seconds(worker: EnvoyWorker, clock: FakeClock, seconds: float) -> None:
    end = clock.monotonic() + seconds
    while (wait := worker.schedule.seconds_to_next(clock.monotonic())) + clock.monotonic() <= end:
        clock.advance(wait)
        worker._step()


def test_the_live_data_vouch_for_the_relay_between_checks():
    worker, gateway, rec, clock = make_worker()
    assert worker.groups["grid"] == (RELAY_PATH,) and worker.schedule.interval("live") == 1.0
    run_seconds(worker, clock, 60)
    assert gateway.calls.count(LIVE_PATH) == 60
    assert gateway.calls.count(RELAY_PATH) == 60 / CHECK_S  # a check every 10 s, not every second
    assert rec.last("/grid/status") == "on_grid"


def test_an_outage_is_published_in_the_step_whose_live_data_show_it():
    worker, gateway, rec, clock = make_worker()
    run_seconds(worker, clock, 3)
    gateway.outage()
    gateway.calls.clear()
    clock.advance(1.0)
    worker._step()
    assert gateway.calls[:2] == [LIVE_PATH, RELAY_PATH]  # the relay read at once, to confirm
    assert rec.last("/grid/status") == "off_grid"
    gateway.relay, gateway.live_relay = "closed", 1
    clock.advance(1.0)
    worker._step()
    assert rec.last("/grid/status") == "on_grid"


def test_live_data_that_miss_an_outage_are_not_trusted_again(caplog):
    worker, gateway, rec, clock = make_worker()
    run_seconds(worker, clock, 2)
    gateway.outage(live_follows=False)
    with caplog.at_level(logging.WARNING):
        run_seconds(worker, clock, CHECK_S)  # found by the next check, at most 10 s late
    assert rec.last("/grid/status") == "off_grid"
    assert "still say it is not" in caplog.text
    gateway.calls.clear()
    run_seconds(worker, clock, 10)
    assert gateway.calls.count(RELAY_PATH) == 10  # every second again, as without live data


def test_the_relay_is_read_every_second_when_the_live_data_come_slower():
    worker, gateway, _rec, clock = make_worker(PollIntervals(live=5.0))
    run_seconds(worker, clock, 20)
    assert gateway.calls.count(RELAY_PATH) == 20 and gateway.calls.count(LIVE_PATH) == 4
