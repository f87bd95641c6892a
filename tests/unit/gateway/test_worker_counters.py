"""The worker's counter guard wiring (issue 11 finding 6a): the guard's memory lives in the
worker across cycles, its verdicts reach the published documents, one log line per streak, and
`counter_glitches` in the diagnostics (the rules themselves: tests/unit/model/test_guard.py)."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from types import SimpleNamespace

from bridge.app import sinks_for
from bridge.config import Config, GatewayConfig, PollIntervals
from bridge.gateway.worker import EnvoyWorker
from bridge.model import ENDPOINTS, GatewayInfo, decode_json
from tests.support.clock import FakeClock
from tests.support.sinks import Recorder

BODIES = Path(__file__).resolve().parents[2] / "fixtures" / "bodies"
PJ = "/production.json?details=1"
LIFETIME = 5_000_001


class Cycles:
    """The worker of one gateway whose production.json is given cycle by cycle, a minute apart."""

    def __init__(self):
        self.clock = FakeClock(1000.0)
        config = Config(gateways=(GatewayConfig(host="gw", insecure=True),), poll=PollIntervals())
        self.recorder = Recorder()
        client = SimpleNamespace(token_info=None, last_renewal_error=None, retry_budget_s=None)
        self.worker = EnvoyWorker(
            config.gateways[0],
            config,
            sinks_for(config, config.gateways[0], self.recorder),
            client=client,
            monotonic=self.clock.monotonic,
            wall=self.clock.time,
        )
        self.worker.info = GatewayInfo("123456789012", "8.3.5432", "800-00654-r08", True, True)
        self.body = decode_json(PJ, (BODIES / "production_split_total_is_net.json").read_bytes())

    def deliver(self, lifetime) -> dict:
        body = copy.deepcopy(self.body)
        body["production"][1]["whLifetime"] = lifetime
        self.worker.parsed = {PJ: ENDPOINTS[PJ](body)}
        self.clock.advance(60)
        assert self.worker.deliver(self.clock.monotonic())
        return json.loads(self.recorder.last("/state"))

    def diagnostics(self) -> dict:
        return json.loads(self.recorder.last("/diagnostics"))


def test_h11_6a_the_worker_holds_a_glitch_logs_it_once_and_counts_it(caplog):
    caplog.set_level(logging.INFO)
    cycles = Cycles()
    assert cycles.deliver(LIFETIME)["production"]["energy_lifetime_wh"] == LIFETIME
    assert cycles.diagnostics()["counter_glitches"] == 0
    published = [cycles.deliver(glitch)["production"]["energy_lifetime_wh"] for glitch in (0, -7, 1e308)]
    assert published == [LIFETIME] * 3
    assert cycles.deliver(LIFETIME + 20)["production"]["energy_lifetime_wh"] == LIFETIME + 20
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "counter glitch" in warnings[0] and "production.energy_lifetime_wh = 0" in warnings[0]
    assert any("counter valid again" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)
    assert cycles.diagnostics()["counter_glitches"] == 3
    assert cycles.diagnostics()["counter_wraps"] == 0


def test_the_counter_glitches_entity_is_announced_on_the_gateway_device():
    cycles = Cycles()
    cycles.deliver(LIFETIME)
    configs = [json.loads(p) for p in cycles.recorder.discovery.values()]
    [entity] = [c for c in configs if c["unique_id"].endswith("_counter_glitches")]
    assert entity["state_topic"].endswith("/diagnostics") and entity["entity_category"] == "diagnostic"
    assert entity["device"]["identifiers"] == ["envoy_123456789012"]
