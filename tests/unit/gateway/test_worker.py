"""The polling loop of one gateway, with a fake client, and the app's sinks on a recording publisher."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from bridge import model
from bridge.app import sinks_for
from bridge.auth.tokens import DAY_S, decode_token
from bridge.config import Config, GatewayConfig, PollIntervals
from bridge.errors import EnvoyDataError, EnvoyNotFound, EnvoyUnavailable
from bridge.gateway.worker import EnvoyWorker
from bridge.model import GatewayInfo
from bridge.sinks import FanOut, Sink
from tests.support.clock import FakeClock
from tests.support.sinks import DISCOVERY, Recorder
from tests.support.tokens import make_token

SCENARIO = Path(__file__).resolve().parents[3] / "bridge/simulator/scenarios/metered"
FILES = {
    "/production.json?details=1": "production.json",
    "/ivp/meters": "ivp_meters",
    "/ivp/meters/readings": "ivp_meters_readings",
    "/api/v1/production": "api_v1_production",
    "/ivp/ensemble/inventory": "ivp_ensemble_inventory",
}


class FakeClient:
    """Answers from the project's own scenario files; faults are set per endpoint."""

    def __init__(self, firmware="8.2.4382"):
        self.firmware = firmware
        self.faults: dict[str, Exception] = {}
        self.calls: list[str] = []
        self.token_info = None
        self.token_source = None
        self.token_flow = None
        self.last_renewal_error = None
        self.down = False

    def fetch_info(self):
        if self.down:
            raise EnvoyUnavailable("gw: connection refused")
        self.calls.append("/info")
        return GatewayInfo("999000000001", self.firmware, "800-00654-r08", True, True)

    def get(self, endpoint, probing=False):
        self.calls.append(endpoint)
        if self.down:
            raise EnvoyUnavailable("gw: connection refused")
        if endpoint in self.faults:
            raise self.faults[endpoint]
        name = FILES.get(endpoint)
        if name is None or not (SCENARIO / name).exists():
            raise EnvoyNotFound(f"{endpoint}: 404")
        return (SCENARIO / name).read_bytes()

    def maybe_renew_token(self):
        return False


def make_worker(client=None, extra_sinks=()):
    clock = FakeClock(1000.0)
    config = Config(gateways=(GatewayConfig(host="gw", insecure=True),), poll=PollIntervals())
    recorder = Recorder()
    sinks = sinks_for(config, config.gateways[0], recorder)
    worker = EnvoyWorker(
        config.gateways[0],
        config,
        FanOut([*extra_sinks, *sinks.sinks]),
        client=client or FakeClient(),
        monotonic=clock,
        wall=lambda: 1.7e9,
        rng=lambda a, b: b,
    )
    return worker, recorder, clock


def test_first_step_probes_everything_once_and_publishes():
    worker, rec, _ = make_worker()
    worker._step()
    state = json.loads(rec.last("/state"))
    assert state["production"]["power_w"] > 0 and "grid" in state
    assert rec.last("/availability") == "online"
    assert rec.discovery and json.loads(rec.last("/diagnostics"))["firmware"] == "8.2.4382"
    assert worker.client.calls.count("/ivp/meters/readings") == 1


def test_groups_run_on_their_intervals():
    worker, _rec, clock = make_worker()
    worker._step()
    worker.client.calls.clear()
    clock.now += 10
    worker._step()
    assert worker.client.calls == ["/ivp/meters/readings"]  # meters only; no Enpower: no grid reads
    clock.now += 50
    worker._step()
    assert "/production.json?details=1" in worker.client.calls


def test_a_data_error_drops_that_endpoint_and_the_rest_still_flows(caplog):
    worker, rec, clock = make_worker()
    worker._step()
    worker.client.faults["/ivp/meters/readings"] = EnvoyDataError("/ivp/meters/readings: not JSON")
    for _ in range(3):
        clock.now += 10
        worker._step()
    state = json.loads(rec.last("/state"))
    assert "meters" not in state and "grid" not in state  # never the old values as if fresh
    assert state["production"]["power_w"] > 0
    assert rec.last("/availability") == "online"
    warnings = [r for r in caplog.records if "meters/readings" in r.getMessage() and r.levelname == "WARNING"]
    assert len(warnings) == 1  # once per transition, not per poll
    del worker.client.faults["/ivp/meters/readings"]
    clock.now += 10
    worker._step()
    assert "meters" in json.loads(rec.last("/state"))


def test_unreachable_gateway_goes_offline_once_backs_off_and_recovers(caplog):
    worker, rec, clock = make_worker()
    worker._step()
    worker.client.down = True
    delays = []
    for _ in range(6):
        clock.now = min(worker.schedule.next_due.values())
        worker._step()
        delays.append(worker.schedule.seconds_to_next(clock.now))
    assert rec.last("/availability") == "offline"
    assert [p for t, p in rec.states if t.endswith("/availability")] == ["online", "offline"]
    assert delays == sorted(delays) and delays[-1] <= 300  # doubling, capped at 5 min
    assert sum(r.levelname == "ERROR" for r in caplog.records) == 1
    worker.client.down = False
    clock.now = min(worker.schedule.next_due.values())
    worker._step()
    assert rec.last("/availability") == "online"
    assert worker.client.calls[-len(worker.client.calls) :].count("/info") >= 1  # setup ran again


def test_firmware_change_probes_again():
    worker, rec, clock = make_worker()
    worker._step()
    worker.client.firmware = "8.3.5167"
    clock.now += 3600
    worker._step()
    assert json.loads(rec.last("/state"))["firmware"] == "8.3.5167"


def test_run_stops_when_told():
    worker, _rec, _ = make_worker()
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    stop.set()
    thread.join(5)
    assert not thread.is_alive()


def test_unexpected_bug_is_contained(caplog):
    worker, rec, clock = make_worker()
    worker._step()
    worker.client.faults["/ivp/meters/readings"] = ZeroDivisionError("bug")
    clock.now += 10
    worker._step()  # no exception escapes
    assert rec.last("/availability") == "offline"
    assert any("unexpected error" in r.getMessage() for r in caplog.records)


def test_a_gateway_away_for_days_never_overflows_the_backoff():
    """2**1024 does not fit a float: the endurance run found the worker thread dying there."""
    worker, rec, clock = make_worker()
    worker.client.down = True
    for _ in range(2000):  # ~ a week of attempts at the 5-minute cap
        clock.now = min(worker.schedule.next_due.values())
        worker._step()
    assert worker.failures == 2000 and rec.last("/availability") == "offline"
    assert worker.schedule.seconds_to_next(clock.now) <= 300


def test_an_error_while_building_the_snapshot_is_contained_and_logged_once(caplog, monkeypatch):
    worker, rec, clock = make_worker()
    worker._step()
    monkeypatch.setattr(model, "build_state", lambda *args: 1 / 0)  # a bug in the model
    for _ in range(3):
        clock.now = min(worker.schedule.next_due.values())
        worker._step()  # no exception escapes: the thread lives on
    assert rec.last("/availability") == "offline"
    assert sum(r.levelname == "ERROR" and r.exc_info is not None for r in caplog.records) == 1


def test_expire_after_follows_each_topics_poll_group():
    worker, rec, _ = make_worker()
    worker._step()
    configs = {t: json.loads(p) for t, p in rec.discovery.items()}
    by_topic = {c["state_topic"].split("/", 2)[2].split("/")[0]: c["expire_after"] for c in configs.values()}
    # defaults: meters 10 s, inverters 300 s, republish 300 s
    assert by_topic["state"] == 360 and by_topic["diagnostics"] == 360
    assert by_topic.get("inverter", 900) == 900


def test_diagnostic_entities_are_announced_with_the_diagnostics_document():
    worker, rec, _ = make_worker()
    worker._step()
    diag = [json.loads(p) for t, p in rec.discovery.items() if "/diagnostics" in json.loads(p)["state_topic"]]
    assert {c["unique_id"].split("_", 1)[1] for c in diag} >= {
        "last_poll",
        "poll_duration",
        "firmware",
        "bridge_version",
        "token_renewal_problem",
    }
    assert json.loads(rec.last("/diagnostics"))["bridge_version"]


def test_the_token_in_the_diagnostics_says_its_type_source_and_flow_with_entities():
    client = FakeClient()
    client.token_info = decode_token(make_token(100 * DAY_S, now=1.7e9, user_type="installer"))
    client.token_source, client.token_flow = "cloud", "entrez"
    worker, rec, _ = make_worker(client)
    worker._step()
    diagnostics = json.loads(rec.last("/diagnostics"))
    assert (diagnostics["token_type"], diagnostics["token_source"], diagnostics["token_flow"]) == (
        "installer",
        "cloud",
        "entrez",
    )
    announced = {json.loads(p)["unique_id"].split("_", 1)[1]: json.loads(p) for p in rec.discovery.values()}
    assert announced["token_type"]["name"] == "Token type" and announced["token_source"]["name"] == "Token source"
    assert announced["token_source"]["state_topic"].endswith("/diagnostics")


def test_without_a_token_the_diagnostics_have_no_token_fields():
    worker, rec, _ = make_worker()
    worker._step()
    diagnostics = json.loads(rec.last("/diagnostics"))
    assert not {"token_type", "token_source", "token_flow"} & set(diagnostics)


def test_the_relay_read_inside_a_slow_group_is_not_read_again_nor_skipped_next_second():
    from bridge.model.parse.relay import RelayState

    worker, _rec, clock = make_worker()
    worker._step()
    worker.groups["grid"] = ("/ivp/ensemble/relay",)  # as on a gateway with an Enpower
    worker.client.faults.clear()
    FILES["/ivp/ensemble/relay"] = "ivp_meters"  # any body: the parser is stubbed below
    original = model.ENDPOINTS["/ivp/ensemble/relay"]
    model.ENDPOINTS["/ivp/ensemble/relay"] = lambda doc: RelayState("closed", "closed")
    try:
        worker.schedule.next_due["grid"] = worker.schedule.next_due["meters"]
        clock.now = worker.schedule.next_due["meters"]
        worker.client.calls.clear()
        worker._step()  # meters and grid due together
        assert worker.client.calls.count("/ivp/ensemble/relay") == 1
        assert worker.schedule.next_due["grid"] == clock.now + 1.0  # next second, not the one after
    finally:
        model.ENDPOINTS["/ivp/ensemble/relay"] = original
        FILES.pop("/ivp/ensemble/relay")


def test_the_meters_are_read_last_and_nothing_between_their_answer_and_the_state():
    from bridge.model.parse.relay import RelayState

    worker, rec, clock = make_worker()
    worker._step()
    worker.groups["grid"] = ("/ivp/ensemble/relay",)  # as on a gateway with an Enpower
    FILES["/ivp/ensemble/relay"] = "ivp_meters"  # any body: the parser is stubbed below
    original = model.ENDPOINTS["/ivp/ensemble/relay"]
    model.ENDPOINTS["/ivp/ensemble/relay"] = lambda doc: RelayState("closed", "closed")
    try:
        clock.now = worker.schedule.next_due["energy"]  # the meters, the energy and the grid are due
        worker.schedule.next_due["grid"] = clock.now
        worker.client.calls.clear()
        reads = []
        rec.publish_state = lambda topic, *args, **kwargs: reads.append(len(worker.client.calls))
        worker._step()
        assert worker.client.calls.index("/ivp/ensemble/relay") < worker.client.calls.index(
            "/production.json?details=1"
        )
        assert worker.client.calls[-1] == "/ivp/meters/readings"
        assert reads and min(reads) == len(worker.client.calls)  # published after the last read
    finally:
        model.ENDPOINTS["/ivp/ensemble/relay"] = original
        FILES.pop("/ivp/ensemble/relay")


def test_a_cycle_keeps_the_message_order_values_discovery_online_diagnostics(monkeypatch):
    monkeypatch.setitem(FILES, "/api/v1/production/inverters", "api_v1_production_inverters")
    worker, rec, _ = make_worker()
    worker._step()
    topics = [t.removeprefix("envoy/999000000001/") for t in rec.order]
    units = [t for t in topics if t.startswith("inverter/")]
    assert units  # the scenario's inverters
    assert topics == ["state", *units, DISCOVERY, "availability", "diagnostics"]


def test_a_grid_status_change_goes_out_at_once_then_a_full_cycle_and_nothing_when_unchanged(monkeypatch):
    worker, rec, clock = make_worker()
    worker._step()
    worker.groups["grid"] = ("/ivp/ensemble/relay",)  # as on a gateway with an Enpower
    worker.schedule.next_due["grid"] = clock.now
    status = iter(["off_grid", "off_grid"])
    monkeypatch.setattr(worker, "poll_group", lambda group: None)  # the relay read itself: stubbed
    monkeypatch.setattr(model, "grid_status_of", lambda parsed: next(status))
    rec.order.clear()
    worker._step()  # the relay alone, and it says something new
    assert rec.order[0] == "envoy/999000000001/grid/status" and "envoy/999000000001/state" in rec.order
    rec.order.clear()
    clock.now = worker.schedule.next_due["grid"]
    worker._step()  # the same answer: nothing to publish
    assert rec.order == []


def test_a_bug_in_one_sink_leaves_the_gateway_online_and_the_other_outputs_flowing(caplog):
    class Broken(Sink):
        def snapshot(self, snapshot):
            raise ZeroDivisionError("bug")

    worker, rec, clock = make_worker(extra_sinks=[Broken()])
    for _ in range(3):
        worker._step()
        clock.now = min(worker.schedule.next_due.values())
    assert rec.transitions() == ["online"] and worker.available
    assert len(rec.history("/state")) == 3
    assert sum(r.levelname == "ERROR" and r.exc_info is not None for r in caplog.records) == 1


def test_run_once_reads_everything_once_and_delivers_one_cycle():
    worker, rec, _ = make_worker()
    worker.run_once()
    assert rec.transitions() == ["online"] and rec.discovery_syncs == 1
    assert worker.client.calls.count("/ivp/meters/readings") == 1
