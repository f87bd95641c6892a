"""`{base}/bridge/health`: how the running bridge does, as one plain snapshot, every minute.

`BridgeHealth.snapshot()` is THE health structure (docs/mqtt.md lists every field): the
`bridge/health` payload, and what a metrics endpoint or a status page would read. Per gateway,
keyed by serial: its requests over the last hour (totals and per endpoint, from the client's
`RequestStats`), whether it is online, its token's days left and source; for MQTT, what was
sent, queued and dropped, and the reconnects. Retained, so Home Assistant's sensors and a late
subscriber read it at once; a dead bridge's last one is flagged by `bridge/availability`
(`offline`) and its `time`. Not a second judge of health: `health_check` asks the health
document's (bridge/health.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from bridge.gateway.worker import EnvoyWorker
from bridge.health import HealthReport
from bridge.mqtt.publisher import Publisher

HEALTH_INTERVAL_S = 60.0
FIRST_AFTER_S = 10.0  # a gateway's first cycle is done by then: its requests have figures
CHECK_MAX_AGE_S = 300.0  # as `envoy-mqtt-bridge health` judges by default


class BridgeHealth:
    def __init__(
        self,
        publisher: Publisher,
        topic: str,
        workers: list[EnvoyWorker],
        report: Callable[[], HealthReport],
        *,
        interval_s: float = HEALTH_INTERVAL_S,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.publisher, self.workers, self._report = publisher, workers, report
        self.topic = topic  # `{base}/bridge/{instance}/health`
        self.interval_s = interval_s
        self._clock, self._monotonic = clock, monotonic
        self._started = monotonic()
        # The first soon after start (the entities that read it have a value at once), then every interval.
        self._next = self._started + min(interval_s, FIRST_AFTER_S)

    def tick(self) -> None:
        """From the main loop, once a second: publish when due (paced on monotonic time)."""
        now = self._monotonic()
        if now < self._next:
            return
        self._next = now + self.interval_s
        self.publisher.publish_state(self.topic, json.dumps(self.snapshot(), allow_nan=False, separators=(",", ":")))

    def snapshot(self) -> dict[str, Any]:
        """`{"time", "uptime_s", "gateways": {serial: GATEWAY}, "mqtt": MQTT}` (docs/mqtt.md)."""
        return {
            "time": round(self._clock()),
            "uptime_s": round(self._monotonic() - self._started),
            "gateways": {worker.serial: gateway_health(worker, self._clock()) for worker in self.workers},
            "mqtt": self.mqtt(),
        }

    def mqtt(self) -> dict[str, Any]:
        stats = self.publisher.stats
        return {
            "connected": self.publisher.connected,
            "sent": stats["published"] + stats["events"],
            "queued": self.publisher.queued,
            "dropped": stats["not_queued"] + stats["events_dropped"],
            "reconnects": max(0, self.publisher.monitor.stats["connects"] - 1),
        }

    def check(self) -> dict[str, Any]:
        """The `health_check` answer: the verdict `envoy-mqtt-bridge health` would give now."""
        now = self._clock()
        report = self._report()
        problem = report.problem(now, CHECK_MAX_AGE_S)
        return {
            "healthy": problem is None,
            "summary": problem or report.summary(now),
            "uptime_s": round(self._monotonic() - self._started),
        }


def gateway_health(worker: EnvoyWorker, now: float) -> dict[str, Any]:
    """One gateway: `{"label", "online", "token_days_left", "token_source", **totals, "endpoints"}`."""
    stats = worker.client.stats.snapshot()
    token = worker.client.token_info
    return {
        "label": worker.gateway.label,
        "online": worker.available,
        **stats["total"],
        "token_days_left": round(token.days_left(now), 1) if token is not None else None,
        "token_source": worker.client.token_source,
        "endpoints": stats["endpoints"],
    }
