"""Group L of docs/reliability.md: many gateways, one hanging; a startup without a login stampede;
a day-long outage that writes a handful of lines; and a short endurance run on a fake clock (the
100,000-cycle run is `python scripts/reliability.py --endurance 100000`, figures in the doc).
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from bridge.app import Bridge
from bridge.auth.tokens import DAY_S
from bridge.config import PollIntervals
from bridge.mqtt.publisher import Publisher
from bridge.simulator import Simulator
from tests.reliability.endurance import memory_slope_kib, run
from tests.reliability.rig import SteppedGateway, bridge_config, cloud_config, gateway_config
from tests.support.clock import FakeClock
from tests.support.mqtt import wait_for
from tests.support.sinks import Recorder

pytestmark = pytest.mark.integration
GATEWAYS = 20
FAST = PollIntervals(meters=1, grid=1, energy=5, inverters=30, batteries=30, info=600)
BRIDGE_THREADS = ("envoy-", "token-renew-", "paho-", "request-deadlines")


def bridge_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(BRIDGE_THREADS)]


class Counting:
    """Wraps an app's handle(): how many requests at once, at most."""

    def __init__(self, handle):
        self.handle, self.active, self.peak, self.lock = handle, 0, 0, threading.Lock()

    def __call__(self, request):
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            return self.handle(request)
        finally:
            with self.lock:
                self.active -= 1


@pytest.mark.slow
def test_l1_l5_twenty_gateways_one_login_and_one_hanging_gateway_delays_nobody(tmp_path):
    secret = b"one Enphase cloud signs for every gateway of the house"
    sims = [Simulator(serial=f"9990000001{i:02d}", token_secret=secret).start() for i in range(GATEWAYS)]
    cloud = Counting(sims[0].cloud.handle)
    sims[0].cloud.handle = cloud  # every gateway's token comes from the first simulator's cloud
    gateways = [gateway_config(sim, tmp_path) for sim in sims]
    config = bridge_config(gateways, tmp_path, cloud=cloud_config(sims[0]), poll=FAST)
    recorder = Recorder()
    bridge = Bridge(config, publisher=recorder)
    try:
        started = time.monotonic()
        bridge.start()
        wait_for(lambda: all(w.available for w in bridge.workers), 60, message="all 20 gateways online")
        startup = time.monotonic() - started
        # L5: tokens fetched one at a time, one per gateway, from one Enlighten login.
        assert sims[0].cloud_counts["tokens_issued"] == GATEWAYS
        assert sims[0].cloud_counts["login"] == 1 and cloud.peak == 1
        # L1: one gateway hangs (no answer until the client gives up); the others keep polling.
        hung = sims[7]
        hung.hang_next(30.0, count=10**6)
        others = [s for s in sims if s is not hung]
        before = {s.serial: s.request_counts.get("/ivp/meters/readings", 0) for s in others}

        def polls():
            return [s.request_counts.get("/ivp/meters/readings", 0) - before[s.serial] for s in others]

        window = time.monotonic()
        wait_for(lambda: min(polls()) >= 5, 30, message="five more polls of every healthy gateway")
        assert time.monotonic() - window < 15  # 1 s interval: the hung gateway (5 s timeouts) delays nobody
        wait_for(lambda: bridge.workers[7].available is False, 30, message="the hung gateway offline")
        names = bridge_threads()
        assert sum(n.startswith("envoy-") for n in names) == GATEWAYS
        assert len(names) <= 2 * GATEWAYS + 2, names  # a worker (+ a renewal, rarely) each, and one watchdog
        assert startup < 45
        bridge.stop(flush_s=1)  # the hung gateway's request is cut: no worker outlives the bridge
        wait_for(lambda: not [n for n in bridge_threads() if n.startswith("envoy-")], 5, message="workers gone")
    finally:
        bridge.stop(flush_s=1)
        for sim in sims:
            sim.stop()


def test_l4_a_day_long_gateway_and_broker_outage_writes_a_handful_of_lines(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    clock = FakeClock()
    config = bridge_config([], tmp_path)
    publisher = Publisher(config.mqtt, config.homeassistant, clock=clock.monotonic)
    publisher.monitor.starting()
    publisher.monitor.connect_failed("connection refused")  # the broker is away too
    with Simulator(time_func=clock.time) as sim:
        rig = SteppedGateway(sim, tmp_path, clock, publisher=Recorder())
        rig.run_for(120)
        sim.stop_envoy()
        day_end = clock.now + DAY_S
        while clock.now < day_end:
            rig.step()
            publisher.tick()
        assert rig.steps > 250  # a retry every few minutes all day long...
        loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(loud) <= 3, loud  # ...but one line per transition, not one per attempt
        reminders = [r for r in caplog.records if "still not connected" in r.getMessage()]
        assert 100 < len(reminders) <= DAY_S / 600  # a slow INFO reminder, every 10 minutes
        rig.close()


def test_l3_endurance_short_on_a_fake_clock_is_flat(tmp_path, mosquitto):
    config = bridge_config([], tmp_path, broker=mosquitto)
    publisher = Publisher(config.mqtt, config.homeassistant)
    publisher.start()
    assert publisher.wait_connected(10)
    try:
        result = run(800, tmp_path, publisher, warmup=600)
    finally:
        publisher.stop()
    assert result["thread_growth"] <= 0 and result["fd_growth"] <= 0
    assert result["memory_growth_kib"] < 1024 and memory_slope_kib(result["checkpoints_kib"]) < 64
    assert result["max_paho_queue"] <= 1000  # bounded by the topics, far below max_queued_messages
    assert result["drift_s"] < result["interval_s"]  # never a poll an interval late while healthy
    assert result["warning_lines"] < result["cycles"] / 10  # transitions, not polls
