"""The Home Assistant announcer: the discovery configs of one gateway, kept in step with its data.

Configs are the costliest part of a cycle to build, so they are rebuilt only when the shape of
the documents changes (which values are present), not their values, or the set of controls
the gateway has (the enabled families, its hardware, the token). An entity whose value is
missing for a while (a bad answer) stays announced until the gateway is probed again, so Home
Assistant keeps its history; after a probe, what the gateway no longer offers is removed.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from bridge import model
from bridge.config import Config
from bridge.controls.table import available_controls
from bridge.homeassistant import discovery
from bridge.model.snapshot import Snapshot
from bridge.mqtt.publisher import Publisher
from bridge.sinks import Sink

# Every fresh live sample is sent (bridge/mqtt/sinks.py LiveSink), so a live entity that heard
# nothing for this long shows stale data: at least as long as the bridge takes to call it stale.
LIVE_EXPIRE_MIN_S = 30.0


class Announcer(Sink):
    def __init__(self, publisher: Publisher, config: Config, host: str | None) -> None:
        self.publisher, self.config, self.host = publisher, config, host
        self._announced: dict[str, str] = {}  # discovery topic -> config, since the last probe
        self._shape: tuple[object, ...] | None = None
        self._generation: int | None = None
        self._snapshot: Snapshot | None = None
        self._cloud: dict[str, Any] | None = None  # the latest `/cloud` document (bridge/cloudapi)
        self._lock = threading.Lock()  # the gateway's worker and the cloud worker both call

    def snapshot(self, snapshot: Snapshot) -> None:
        with self._lock:
            self._snapshot = snapshot
            self._announce(snapshot)

    def cloud(self, serial: str, document: dict[str, Any]) -> None:
        """The cloud's entities join the gateway's once a snapshot has described the gateway."""
        with self._lock:
            self._cloud = document
            if self._snapshot is not None and self._snapshot.serial == serial:
                self._announce(self._snapshot)

    def _announce(self, snapshot: Snapshot) -> None:
        if snapshot.generation != self._generation:
            self._generation = snapshot.generation
            self._announced = {}  # entities that vanished since the last probe are removed now
        live = snapshot.live.as_payload() if snapshot.live is not None else None
        controls = available_controls(snapshot, self.config.controls)
        shape = (
            snapshot.info.firmware,
            _shape(snapshot.payload),
            _shape(snapshot.documents),
            _shape(snapshot.diagnostics),
            _shape(live),
            _shape(self._cloud),
            tuple(control.path for control in controls),  # a value or the token may bring or take one
        )
        if shape == self._shape:
            return
        self._shape = shape
        self._announced.update(
            discovery.build_configs(
                snapshot.payload,
                snapshot.info,
                base_topic=self.config.mqtt.base_topic,
                bridge_availability=self.config.mqtt.availability_topic,
                prefix=self.config.homeassistant.prefix,
                host=self.host,
                devices=snapshot.documents,
                diagnostics=snapshot.diagnostics,
                live=live,
                cloud=self._cloud,
                expire_after=lambda topic: self.expire_after(snapshot.serial, topic),
                controls=controls,
                # Request statistics of a gateway the bridge polls (not of one it knows from the cloud only).
                health_topic=self.config.mqtt.bridge_topic("health") if self.host else None,
            )
        )
        self.publisher.sync_discovery(snapshot.serial, dict(self._announced))

    def expire_after(self, serial: str, state_topic: str) -> float | None:
        """homeassistant.expire_after for the entities of one state topic: a number as
        configured (0 = never), or by default from the poll group that refreshes the topic."""
        configured = self.config.homeassistant.expire_after_s
        if configured is not None:
            return configured or None
        if self.config.cloud_api.only or state_topic.endswith("/cloud"):
            return None  # cloud values come at the budget's pace and carry their own times
        poll = self.config.poll
        group = model.poll_group_of(state_topic.removeprefix(f"{self.config.mqtt.base_topic}/{serial}/"))
        if group == "live":  # "auto" is 1 or 5 s by gateway: the slower one
            return math.ceil(max(3 * poll.interval(group), LIVE_EXPIRE_MIN_S))
        return discovery.expire_after_s(poll.interval(group), self.config.mqtt.republish_interval, poll.meters)


def _shape(value: object) -> object:
    """The keys of a JSON document, nested, without the values: which entities exist."""
    if isinstance(value, dict):
        return tuple((k, _shape(v)) for k, v in value.items())
    return None
