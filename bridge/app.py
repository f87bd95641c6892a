"""What `run` starts: one publisher, one cloud client, one worker thread per gateway and its sinks.

Kept apart from the command line so tests (and the reliability script) can run the real
bridge in-process, with intervals below the configuration floor and stopped on demand.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from bridge import __version__
from bridge.auth.cloud import EnphaseCloud
from bridge.config import Config, GatewayConfig
from bridge.gateway.worker import EnvoyWorker
from bridge.homeassistant.announcer import Announcer
from bridge.mqtt.publisher import Publisher
from bridge.mqtt.sinks import AvailabilitySink, DiagnosticsSink, GridStatusSink, StateSink, UnitsSink
from bridge.sinks import FanOut, Sink

log = logging.getLogger("bridge")

TICK_S = 1.0  # the main loop's pace: MQTT reminders, the health file
JOIN_S = 1.0  # a worker stuck in a slow request is a daemon thread: not waited for longer


class Bridge:
    def __init__(
        self, config: Config, *, publisher: Publisher | None = None, worker_kw: dict[str, Any] | None = None
    ) -> None:
        self.config = config
        self.publisher = publisher or Publisher(config.mqtt, config.homeassistant)
        # One cloud client for every gateway: logins are serialised and shared (no stampede).
        self.cloud = EnphaseCloud(config.cloud)
        self.workers = [
            EnvoyWorker(gw, config, sinks_for(config, gw, self.publisher), cloud=self.cloud, **(worker_kw or {}))
            for gw in config.gateways
        ]
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Bridge:
        self.publisher.start()
        self._threads = [
            threading.Thread(target=w.run, args=(self.stopping,), daemon=True, name=f"envoy-{w.gateway.label}")
            for w in self.workers
        ]
        for thread in self._threads:
            thread.start()
        log.info("envoy-mqtt-bridge %s running with %d gateway(s)", __version__, len(self.workers))
        return self

    def run_forever(self) -> None:
        """Until `stopping` is set (by a signal handler): tick once a second."""
        while not self.stopping.wait(TICK_S):
            self.tick()

    def tick(self) -> None:
        self.publisher.tick()
        self._touch_health()

    def stop(self, flush_s: float) -> None:
        """Workers first (bounded wait), then `offline` flushed and a clean MQTT disconnect."""
        self.stopping.set()
        for worker in self.workers:  # a worker waiting on a hung gateway returns at once
            worker.client.abort()
        deadline = time.monotonic() + JOIN_S
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.publisher.stop(flush_s)
        for worker in self.workers:
            worker.client.close()
        self.cloud.close()

    def _touch_health(self) -> None:
        if not self.publisher.connected:
            return
        try:
            self.config.cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.config.health_file.touch()
        except OSError:
            pass  # health reporting must never stop the bridge


def sinks_for(config: Config, gateway: GatewayConfig, publisher: Publisher) -> FanOut:
    """The outputs of one gateway, in the order of its messages: values first (latency), then
    discovery, then `online` (so Home Assistant knows the entities before they come alive),
    then the diagnostics. Each sink keeps its own state, so every gateway gets its own."""
    base = config.mqtt.base_topic
    sinks: list[Sink] = [GridStatusSink(publisher, base), StateSink(publisher, base), UnitsSink(publisher, base)]
    if config.homeassistant.discovery:
        sinks.append(Announcer(publisher, config, gateway.host))
    sinks += [AvailabilitySink(publisher, base), DiagnosticsSink(publisher, base)]
    return FanOut(sinks)
