"""What `run` starts: one publisher, one cloud client, one worker thread per gateway and its sinks,
and with `cloud_api` configured the cloud API's worker thread.

Kept apart from the command line so tests (and the reliability script) can run the real
bridge in-process, with intervals below the configuration floor and stopped on demand.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from bridge import __version__
from bridge.admin.health import HEALTH_INTERVAL_S, BridgeHealth
from bridge.admin.info import BridgeInfo
from bridge.admin.mqtt import RequestsMqtt
from bridge.admin.verbs import Verbs
from bridge.auth.cloud import EnphaseCloud
from bridge.config import Config, GatewayConfig
from bridge.controls.executor import GatewayControls
from bridge.controls.mqtt import ControlsMqtt, command_filters
from bridge.errors import ConfigError
from bridge.files import ensure_private_dir
from bridge.gateway.worker import EnvoyWorker
from bridge.health import HealthMonitor, paho_thread_alive
from bridge.heap import Heap
from bridge.homeassistant.announcer import Announcer
from bridge.homeassistant.bridge import bridge_node_id
from bridge.homeassistant.discovery import bridge_configs
from bridge.mqtt.publisher import Publisher
from bridge.mqtt.sinks import (
    AvailabilitySink,
    CloudSink,
    DiagnosticsSink,
    GridStatusSink,
    LiveSink,
    StateSink,
    UnitsSink,
)
from bridge.sinks import FanOut, Sink

if TYPE_CHECKING:  # imported at run time only when configured: a run without them never loads them
    from bridge.cloudapi.worker import CloudWorker
    from bridge.http.history import History
    from bridge.http.server import HttpEndpoint

log = logging.getLogger("bridge")

TICK_S = 1.0  # the main loop's pace: MQTT reminders, the health document, the heap's collection
JOIN_S = 1.0  # a worker stuck in a slow request is a daemon thread: not waited for longer


class Bridge:
    def __init__(
        self,
        config: Config,
        *,
        publisher: Publisher | None = None,
        worker_kw: dict[str, Any] | None = None,
        health_interval_s: float = HEALTH_INTERVAL_S,
    ) -> None:
        self.config = config
        self.publisher = publisher or Publisher(config.mqtt, config.homeassistant)
        # One cloud client for every gateway: logins are serialised and shared (no stampede).
        self.cloud = EnphaseCloud(config.cloud)
        self.health = HealthMonitor(
            config.health_file,
            config.max_silence_s,
            connected=lambda: self.publisher.connected,
            mqtt_thread_alive=lambda: paho_thread_alive(self.publisher),
        )
        self.controls = ControlsMqtt(self.publisher, config.mqtt.base_topic, config.controls)
        self.info = BridgeInfo(self.publisher, config)  # `bridge/info`, told by every gateway's cycles
        self.requests = RequestsMqtt(self.publisher, config.mqtt.base_topic)
        self.history = _history() if config.http.enabled else None  # what the status page adds to `bridge/health`
        self.http: HttpEndpoint | None = None
        # `cloud_api.mode: only` lists a gateway without a host: nothing local to poll.
        self.workers = [self._worker(gw, worker_kw or {}) for gw in config.gateways if gw.host]
        self.cloud_worker = self._cloud_worker() if config.cloud_api.enabled else None
        self.bridge_health = BridgeHealth(
            self.publisher,
            config.mqtt.bridge_topic("health"),
            self.workers,
            self.health.report,
            interval_s=health_interval_s,
        )
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.heap = Heap()

    def _worker(self, gateway: GatewayConfig, worker_kw: dict[str, Any]) -> EnvoyWorker:
        """The gateway's worker; with any control enabled, its controls hear its cycles too."""
        sinks = self._sinks(gateway)
        worker = EnvoyWorker(gateway, self.config, sinks, cloud=self.cloud, **worker_kw)
        if command_filters(self.config.mqtt.base_topic, self.config.controls):
            controls = GatewayControls(
                worker, self.config.controls, self.controls.publish_result, self.controls.publish_document
            )
            sinks.add(controls)
            self.controls.add(controls)
        return worker

    def _cloud_worker(self) -> CloudWorker:
        """One for the bridge, for one system: in `only` mode with its gateway's sinks and health
        watch, in `complement` mode beside the first gateway (with a serial, else the first),
        whose availability it watches and whose sinks it shares (one discovery per serial)."""
        # Imported here: a run without the cloud API never loads its client (issue 17).
        from bridge.cloudapi.source import CloudApiSource
        from bridge.cloudapi.worker import CloudWorker, LocalWatch

        gateway = next((gw for gw in self.config.gateways if gw.serial), self.config.gateways[0])
        source = CloudApiSource(self.config, serial=gateway.serial)
        if self.config.cloud_api.only:
            return CloudWorker(self.config, source, self._sinks(gateway), serial=gateway.serial)
        worker = next(w for w in self.workers if w.gateway is gateway)
        local = LocalWatch()
        worker.sinks.add(local)
        return CloudWorker(self.config, source, worker.sinks, serial=gateway.serial, local=local)

    def _sinks(self, gateway: GatewayConfig) -> FanOut:
        """The gateway's outputs, `bridge/info`'s watch, then the health watch (last: it notes what went out)."""
        outputs = list(sinks_for(self.config, gateway, self.publisher).sinks)
        if self.history is not None:
            outputs.append(self.history.watch(gateway.label))
        return FanOut([*outputs, self.info.watch(gateway.label), self.health.watch(gateway.label)])

    def start(self) -> Bridge:
        """Raises ConfigError, before anything starts, when the cache directory is refused."""
        try:  # the health document and the token caches live there: ours, 0700, or nothing
            ensure_private_dir(self.config.cache_dir)
        except OSError as err:
            raise ConfigError(f"cache_dir: {err}") from None
        secrets = tuple(self.config.secrets())
        if self.history is not None:
            self.http = self._serve_http(self.history, secrets)
        self.controls.start()  # subscribed with the publisher's first connection
        verbs = Verbs(
            self.workers, self.bridge_health.check, self.requests.respond, secrets, instance=self.config.mqtt.instance
        )
        self.requests.start(verbs)
        self.info.publish()  # held by the publisher: sent on the first connection
        if self.config.homeassistant.discovery:
            mqtt = self.config.mqtt
            node = bridge_node_id(mqtt.base_topic, mqtt.instance)
            configs = bridge_configs(
                node,
                mqtt.instance,
                mqtt.bridge_topic("health"),
                mqtt.availability_topic,
                self.config.homeassistant.prefix,
            )
            self.publisher.sync_discovery(node, configs)
        self.publisher.start()
        self._threads = [
            threading.Thread(target=w.run, args=(self.stopping,), daemon=True, name=f"envoy-{w.gateway.label}")
            for w in self.workers
        ]
        watched = list(self._threads)  # in the order of the health watches
        if self.cloud_worker is not None:
            cloud = threading.Thread(target=self.cloud_worker.run, args=(self.stopping,), daemon=True, name="cloud-api")
            self._threads.append(cloud)
            if self.config.cloud_api.only:
                watched.append(cloud)
        for thread in self._threads:
            thread.start()
        self.health.threads_started(watched)
        log.info("envoy-mqtt-bridge %s running with %d gateway(s)", __version__, len(self.workers))
        return self

    def _serve_http(self, history: History, secrets: tuple[str, ...]) -> HttpEndpoint:
        """The HTTP endpoint, listening; ConfigError when its address cannot be bound."""
        from bridge.http.server import HttpEndpoint  # here: only with `http:` set

        endpoint = HttpEndpoint(
            self.config.http.listen,
            self.bridge_health.snapshot,
            self.bridge_health.check,
            history,
            self.config.mqtt.instance,
            secrets,
        )
        try:
            endpoint.start()
        except OSError as err:
            raise ConfigError(f"http.listen: cannot listen on {self.config.http.listen}: {err}") from None
        return endpoint

    def run_forever(self) -> None:
        """Until `stopping` is set (by a signal handler): tick once a second."""
        while not self.stopping.wait(TICK_S):
            self.tick()

    def tick(self) -> None:
        self.publisher.tick()
        self.health.tick()
        self.bridge_health.tick()
        self.heap.tick()

    def stop(self, flush_s: float) -> None:
        """Workers first (bounded wait), then `offline` flushed and a clean MQTT disconnect."""
        self.stopping.set()
        for worker in self.workers:  # a worker waiting on a hung gateway returns at once
            worker.client.abort()
        deadline = time.monotonic() + JOIN_S
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.publisher.stop(flush_s)
        if self.http is not None:
            self.http.stop()
        for worker in self.workers:
            worker.client.close()
        if self.cloud_worker is not None:
            self.cloud_worker.source.close()
        self.cloud.close()
        self.heap.release()


def _history() -> History:
    from bridge.http.history import History  # here: only with `http:` set

    return History()


def sinks_for(config: Config, gateway: GatewayConfig, publisher: Publisher) -> FanOut:
    """The outputs of one gateway, in the order of its messages: values first (latency), then
    discovery, then `online` (so Home Assistant knows the entities before they come alive),
    then the diagnostics. Each sink keeps its own state, so every gateway gets its own."""
    base = config.mqtt.base_topic
    sinks: list[Sink] = [
        GridStatusSink(publisher, base),
        LiveSink(publisher, base),
        StateSink(publisher, base),
        UnitsSink(publisher, base),
    ]
    if config.cloud_api.enabled:
        sinks.append(CloudSink(publisher, base))
    if config.homeassistant.discovery:
        sinks.append(Announcer(publisher, config, gateway.host))
    sinks += [AvailabilitySink(publisher, base), DiagnosticsSink(publisher, base)]
    return FanOut(sinks)
