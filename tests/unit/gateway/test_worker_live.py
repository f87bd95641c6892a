"""The worker's live group, with a fake token gateway that has CTs, IQ Batteries and the live
endpoint, and the app's sinks on a recording publisher: a live-only cycle publishes the live
document (and a new grid status) without rebuilding the state; stale data is not published and
the stream is switched back on; a gateway without the endpoint says so once and nothing changes."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import pytest

from bridge import model
from bridge.app import sinks_for
from bridge.config import Config, GatewayConfig, PollIntervals
from bridge.errors import EnvoyHTTPError, EnvoyNotFound
from bridge.gateway.worker import EnvoyWorker
from bridge.model import LIVE_PATH, LIVE_STREAM_PATH, GatewayInfo
from tests.support.clock import FakeClock
from tests.support.sinks import Recorder

BODIES = Path(__file__).resolve().parents[2] / "fixtures" / "bodies"
SERIAL = "999000000001"
FILES = {
    "/ivp/meters": "meters_split.json",
    "/ivp/meters/readings": "readings_split_storage_zero_channel.json",
}
ENCHARGE = [{"type": "ENCHARGE", "devices": [{"serial_num": "482301001234", "percentFull": 40}]}]


class LiveGateway:
    """Serves the project's bodies; its live data advance with the clock while its stream is on
    (`frozen`: they stop when it is off), and it switches the stream on when asked (or refuses)."""

    def __init__(self, clock: FakeClock, live: bool = True):
        self.clock, self.has_live = clock, live
        self.live = json.loads((BODIES / "livedata_split_battery.json").read_text())
        self.frozen_at: int | None = None  # the last sample while the stream is off
        self.refuse_enable = False
        self.calls: list[str] = []
        self.posts: list[tuple[str, dict]] = []
        self.token_info, self.last_renewal_error, self.retry_budget_s = None, None, None

    def fetch_info(self):
        self.calls.append("/info")
        return GatewayInfo(SERIAL, "8.2.4382", "800-00654-r08", True, True)

    def get(self, endpoint, probing=False):
        self.calls.append(endpoint)
        if endpoint == "/ivp/ensemble/inventory":
            return json.dumps(ENCHARGE).encode()
        if endpoint == LIVE_PATH and self.has_live:
            body = copy.deepcopy(self.live)
            on = body["connection"]["sc_stream"] == "enabled"
            body["meters"]["last_update"] = int(self.clock.time()) if on else self.frozen_at
            return json.dumps(body).encode()
        if endpoint not in FILES:
            raise EnvoyNotFound(f"gw {endpoint}: HTTP 404 (the gateway does not have this endpoint)")
        return (BODIES / FILES[endpoint]).read_bytes()

    def post_json(self, endpoint, document):
        self.posts.append((endpoint, dict(document)))
        if self.refuse_enable:
            raise EnvoyHTTPError(401, f"gw {endpoint}: refused for this token (not available to it)")
        self.live["connection"]["sc_stream"] = "enabled"
        return b'{"sc_stream":"enabled"}'

    def stream_off(self) -> None:
        self.live["connection"]["sc_stream"] = "disabled"
        self.frozen_at = int(self.clock.time())

    def maybe_renew_token(self):
        return False


def make_worker(live: bool = True, poll: PollIntervals | None = None):
    clock = FakeClock(1_764_760_000.0)
    config = Config(gateways=(GatewayConfig(host="gw", insecure=True),), poll=poll or PollIntervals())
    recorder = Recorder()
    gateway = LiveGateway(clock, live)
    worker = EnvoyWorker(
        config.gateways[0],
        config,
        sinks_for(config, config.gateways[0], recorder),
        client=gateway,
        monotonic=clock.monotonic,
        wall=clock.time,
        rng=lambda a, b: b,
    )
    worker._step()  # setup: the probe, and one full cycle
    return worker, gateway, recorder, clock


def step(worker, clock, seconds: float = 1.0) -> None:
    clock.advance(seconds)
    worker._step()


def test_the_probe_publishes_the_live_document_and_the_live_group_runs_every_second_with_batteries():
    worker, _gateway, rec, clock = make_worker()
    live = json.loads(rec.last("/live"))
    assert live["storage_power_w"] == -1000.0 and live["encharge_soc_pct"] == 40 and live["time"] == int(clock.time())
    assert worker.schedule.interval("live") == 1.0
    assert rec.order.index(f"envoy/{SERIAL}/live") < rec.order.index(f"envoy/{SERIAL}/state")  # values first


def test_a_live_only_cycle_publishes_the_live_document_without_rebuilding_the_state(monkeypatch):
    worker, gateway, rec, clock = make_worker()
    built = []
    monkeypatch.setattr(model, "build_state", lambda *args: built.append(args) or pytest.fail("state rebuilt"))
    gateway.calls.clear()
    rec.order.clear()
    for _ in range(9):
        step(worker, clock)
    assert gateway.calls == [LIVE_PATH] * 9
    assert rec.order == [f"envoy/{SERIAL}/live"] * 9  # a new sample every second
    assert built == []
    assert json.loads(rec.last("/live"))["sampled_at"] == int(clock.time())


def test_the_full_cycle_carries_the_live_document_and_announces_its_entities():
    worker, _gateway, rec, clock = make_worker()
    step(worker, clock, 10.0)  # meters due: a full cycle
    configs = {c["unique_id"]: c for c in map(json.loads, rec.discovery.values())}
    live = {key: c for key, c in configs.items() if c["state_topic"] == f"envoy/{SERIAL}/live"}
    assert set(live) == {
        f"{SERIAL}_{key}"
        for key in ("live_pv_power", "live_grid_power", "live_load_power", "live_battery_power", "live_encharge_soc")
    } | {f"{SERIAL}_main_relay"}
    assert {c["expire_after"] for c in live.values()} == {30}
    names = [c["name"] for c in configs.values() if c["device"]["identifiers"] == [f"envoy_{SERIAL}"]]
    assert len(names) == len(set(names))  # no two entities of one name on the gateway device


def test_grid_status_from_the_main_relay_goes_out_at_once_and_into_the_next_state(monkeypatch):
    worker, gateway, rec, clock = make_worker()
    assert rec.last("/grid/status") == "on_grid" and json.loads(rec.last("/state"))["grid"]["status"] == "on_grid"
    gateway.live["meters"]["main_relay_state"] = 0  # the outage: the main relay opens
    rec.order.clear()
    step(worker, clock)
    assert rec.order == [f"envoy/{SERIAL}/live", f"envoy/{SERIAL}/grid/status"]  # no state
    assert rec.last("/grid/status") == "off_grid"
    step(worker, clock, 9.0)
    assert json.loads(rec.last("/state"))["grid"]["status"] == "off_grid"


def test_a_frozen_stream_is_switched_back_on_and_its_stale_data_never_published():
    worker, gateway, rec, clock = make_worker()
    gateway.stream_off()
    gateway.refuse_enable = True
    published = len(rec.history("/live"))
    for _ in range(30):
        step(worker, clock)
    assert gateway.posts == [(LIVE_STREAM_PATH, {"enable": 1})]  # refused: not asked again
    live = [json.loads(p) for p in rec.history("/live")[published:]]
    assert live and all(doc["stream"] == "disabled" for doc in live)  # still sampled: published
    assert max(doc["time"] - doc["sampled_at"] for doc in live) <= 10  # never stale
    assert "live" not in [t.split("/")[-1] for t in rec.order[-5:]]  # stale now: nothing sent


def test_a_stream_switched_back_on_is_live_again():
    worker, gateway, rec, clock = make_worker()
    gateway.stream_off()
    step(worker, clock)
    assert gateway.posts == [(LIVE_STREAM_PATH, {"enable": 1})]
    step(worker, clock)
    assert json.loads(rec.last("/live"))["stream"] == "enabled"
    assert json.loads(rec.last("/live"))["sampled_at"] == int(clock.time())


def test_a_bad_field_is_said_once_and_the_rest_still_published(caplog):
    worker, gateway, rec, clock = make_worker()
    gateway.live["meters"]["enc_agg_soc"] = "40"
    for _ in range(5):
        step(worker, clock)
    live = json.loads(rec.last("/live"))
    assert "encharge_soc_pct" not in live and live["pv_power_w"] == 3000.0
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        (
            f"Gateway {SERIAL}: bad fields from {LIVE_PATH}, left out: "
            f"{LIVE_PATH}: meters.enc_agg_soc: expected an integer, got str"
        )
    ]


def test_a_gateway_without_the_endpoint_says_so_once_and_nothing_changes(caplog):
    caplog.set_level(logging.INFO)
    worker, _gateway, rec, clock = make_worker(live=False)
    worker.info_needs_setup = True  # a second probe: after an outage, say
    step(worker, clock, 10.0)
    assert rec.last("/live") is None and worker.schedule.seconds_to_next(clock.monotonic()) > 1.0
    said = [r.getMessage() for r in caplog.records if "no live data" in r.getMessage()]
    assert said == [
        (
            f"Gateway {SERIAL}: no live data (gw {LIVE_PATH}: HTTP 404 (the gateway does not have this endpoint)): "
            "no live topic"
        )
    ]
    assert json.loads(rec.last("/state"))["meters"]  # the rest as always


def test_poll_live_0_switches_it_off():
    worker, gateway, rec, clock = make_worker(poll=PollIntervals(live="0"))
    gateway.calls.clear()
    for _ in range(20):
        step(worker, clock)
    assert rec.last("/live") is None and LIVE_PATH not in gateway.calls
