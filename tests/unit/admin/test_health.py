"""`bridge/health`: the snapshot's structure, its pace, and the `health_check` verdict."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from bridge.admin.health import BridgeHealth
from bridge.config import HomeAssistantConfig, MqttConfig
from bridge.gateway.stats import RequestStats
from bridge.health import HealthMonitor
from bridge.mqtt.publisher import Publisher
from tests.unit.admin.test_verbs import make_verbs
from tests.unit.controls.gateway import SERIAL


def make_health(tmp_path: Path, connected: bool = True):
    _, worker, gateway, _, clock = make_verbs()
    gateway.stats = RequestStats(clock.monotonic)
    gateway.token_source = "cloud"
    publisher = Publisher(MqttConfig(), HomeAssistantConfig())  # never connected: it keeps what it is given
    monitor = HealthMonitor(
        tmp_path / "health", 60, lambda: connected, lambda: True, clock=clock, monotonic=clock.monotonic
    )
    monitor.watch(worker.gateway.label)
    monitor.threads_started([threading.current_thread()])  # the worker's thread stands in: alive
    health = BridgeHealth(
        publisher,
        "envoy/bridge/site-a/health",
        [worker],
        monitor.report,
        interval_s=60,
        clock=clock,
        monotonic=clock.monotonic,
    )
    return health, publisher, gateway, clock, monitor


def test_the_snapshot_per_gateway_and_for_mqtt(tmp_path):
    health, publisher, gateway, clock, _ = make_health(tmp_path)
    gateway.stats.record("/ivp/meters/readings", 0.2, 200)
    gateway.stats.record("/ivp/meters/readings", 0.3, 401)
    clock.advance(90)
    publisher.stats["not_queued"] = 2
    snapshot = health.snapshot()
    entry = snapshot["gateways"][SERIAL]
    assert snapshot["uptime_s"] == 90 and snapshot["time"] == round(clock())
    assert entry["label"] == "gw" and entry["online"] is True
    assert (entry["requests"], entry["failures"], entry["auth_refused"]) == (2, 1, 1)
    assert 0.3 <= entry["latency_p99_s"] < 0.36 and entry["endpoints"]["/ivp/meters/readings"]["requests"] == 2
    assert entry["token_source"] == "cloud" and entry["token_days_left"] == round((1.9e9 - clock()) / 86400, 1)
    assert snapshot["mqtt"] == {"connected": False, "sent": 0, "queued": 0, "dropped": 2, "reconnects": 0}


def test_published_retained_10_s_after_start_then_once_a_minute(tmp_path):
    health, publisher, _, clock, _ = make_health(tmp_path)
    health.tick()
    assert publisher._held(health.topic) is None  # the first cycles are not done yet
    clock.advance(10)
    health.tick()
    first = publisher._held(health.topic)
    assert json.loads(first or "{}")["uptime_s"] == 10
    clock.advance(59)
    health.tick()
    assert publisher._held(health.topic) == first
    clock.advance(1)
    health.tick()
    assert json.loads(publisher._held(health.topic) or "{}")["uptime_s"] == 70


def test_health_check_gives_the_verdict_of_the_health_document(tmp_path):
    health, _, _, _, monitor = make_health(tmp_path)
    monitor.tick()  # the broker reached
    healthy = health.check()
    lost, _, _, lost_clock, _ = make_health(tmp_path, connected=False)
    lost_clock.advance(400)
    unhealthy = lost.check()
    assert healthy["healthy"] is True and "of 1 gateway(s) online" in healthy["summary"]
    assert unhealthy == {"healthy": False, "summary": "the MQTT broker was last reached 400 s ago", "uptime_s": 400}
