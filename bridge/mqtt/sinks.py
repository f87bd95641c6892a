"""The MQTT sinks of one gateway: each turns one part of a cycle into retained messages.

Topics are `{base}/{serial}/<suffix>`: `state`, one per unit (`inverter/<sn>`, `relay/<id>` ...),
`live`, `grid/status`, `availability`, `diagnostics` and `cloud`. JSON is compact and strict (no NaN), and
fields that move on every poll (a timestamp, a duration) are left out of the comparison, so
the publisher sends a document only when something else in it changed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from bridge import identifiers
from bridge.model import LiveDocument
from bridge.model.snapshot import Availability, Snapshot
from bridge.mqtt.publisher import Publisher
from bridge.sinks import Sink

log = logging.getLogger(__name__)


class MqttSink(Sink):
    """What every MQTT sink shares: the publisher and the gateway's topics."""

    def __init__(self, publisher: Publisher, base_topic: str) -> None:
        self.publisher, self.base_topic = publisher, base_topic

    def topic(self, serial: str, suffix: str) -> str:
        return f"{self.base_topic}/{serial}/{suffix}"

    def publish_json(self, serial: str, suffix: str, document: dict[str, Any], ignore: tuple[str, ...] = ()) -> None:
        text = json.dumps(document, allow_nan=False, separators=(",", ":"))
        compare = (
            json.dumps({k: v for k, v in document.items() if k not in ignore}, separators=(",", ":"))
            if ignore
            else None
        )
        self.publisher.publish_state(self.topic(serial, suffix), text, compare=compare)


class StateSink(MqttSink):
    """`{base}/{serial}/state`: the gateway's values; "time" moves on every poll."""

    def snapshot(self, snapshot: Snapshot) -> None:
        self.publish_json(snapshot.serial, "state", snapshot.payload, ignore=("time",))


class CloudSink(MqttSink):
    """`{base}/{serial}/cloud`: the system's values from the Enphase cloud API, each with its
    time; "time" and "age_s" move on every publish."""

    def cloud(self, serial: str, document: dict[str, Any]) -> None:
        self.publish_json(serial, "cloud", document, ignore=("time", "age_s"))


class LiveSink(MqttSink):
    """`{base}/{serial}/live`: each fresh live reading, as it is read ("time", the read, moves on
    every one; a new sample moves `sampled_at`, so every fresh sample goes out and silence
    means stale data)."""

    def live(self, serial: str, document: LiveDocument) -> None:
        self.publish_json(serial, "live", document.as_payload(), ignore=("time",))

    def snapshot(self, snapshot: Snapshot) -> None:
        if snapshot.live is not None:
            self.live(snapshot.serial, snapshot.live)


class UnitsSink(MqttSink):
    """One document per physical unit: inverter/<sn>, battery/<sn>, enpower/<sn>, relay/<id> ...

    A unit whose id cannot be a topic level (bridge/identifiers.py) was left out by the model:
    said once per unit, not once per cycle.
    """

    def __init__(self, publisher: Publisher, base_topic: str) -> None:
        super().__init__(publisher, base_topic)
        self.refused = identifiers.Refusals()

    def snapshot(self, snapshot: Snapshot) -> None:
        for why in snapshot.state.refused_units:
            if self.refused.first_time(why):
                log.warning("Gateway %s: %s", snapshot.serial, why)
        for suffix, document in snapshot.documents.items():
            self.publish_json(snapshot.serial, suffix, document)


class DiagnosticsSink(MqttSink):
    """`{base}/{serial}/diagnostics`: the time and length of the last poll move on every poll."""

    def snapshot(self, snapshot: Snapshot) -> None:
        self.publish_json(snapshot.serial, "diagnostics", snapshot.diagnostics, ignore=("last_poll", "poll_duration_s"))


class GridStatusSink(MqttSink):
    """`{base}/{serial}/grid/status`, sent only when it changes: from the fast relay read at
    once (logged: an outage is news, its end too), or from a full cycle."""

    def __init__(self, publisher: Publisher, base_topic: str) -> None:
        super().__init__(publisher, base_topic)
        self.status: str | None = None  # as last published

    def grid_status(self, serial: str, status: str) -> None:
        if status == self.status:
            return
        if self.status is not None:
            log.log(
                logging.WARNING if status == "off_grid" else logging.INFO, "Gateway %s: grid status %s", serial, status
            )
        self._publish(serial, status)

    def snapshot(self, snapshot: Snapshot) -> None:
        if snapshot.grid_status and snapshot.grid_status != self.status:
            self._publish(snapshot.serial, snapshot.grid_status)

    def _publish(self, serial: str, status: str) -> None:
        self.status = status
        self.publisher.publish_state(self.topic(serial, "grid/status"), status)


class AvailabilitySink(MqttSink):
    """`{base}/{serial}/availability`: online / offline, with one log line per change."""

    def __init__(self, publisher: Publisher, base_topic: str) -> None:
        super().__init__(publisher, base_topic)
        self.online: bool | None = None  # as last published

    def availability(self, event: Availability) -> None:
        if event.online == self.online:
            return
        if event.online and self.online is False:
            log.info("Gateway %s: recovered, publishing again", event.serial)
        elif not event.online:
            log.error("Gateway %s: unavailable: %s", event.serial, event.reason)
        self.online = event.online
        self.publisher.publish_state(self.topic(event.serial, "availability"), "online" if event.online else "offline")
