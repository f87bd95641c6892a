"""The controls on MQTT: the `set` topics of the enabled families in, the results out.

The bridge registers `{base}/+/<control>/set` for the enabled families only (the publisher routes
them from its own `{base}/#` subscription, so each command comes once). A retained
message on a `set` topic is never executed (a broker replaying yesterday's command after a
restart must not flip a relay): one INFO line per topic. A serial that is not one of this
bridge's gateways is ignored the same way. Results go to `<control>/result`, QoS 1, not
retained: `{"id", "ok", "value", "error"}`; a control no poll reads (production) has its state
published, retained, on `<control>`. Runs on paho's thread, behind the publisher's guard.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import paho.mqtt.client as mqtt

from bridge import identifiers
from bridge.config import ControlsConfig
from bridge.controls import commands
from bridge.controls.executor import GatewayControls
from bridge.controls.table import CONTROLS, UNIT
from bridge.errors import CommandRefused
from bridge.mqtt.publisher import Publisher

log = logging.getLogger(__name__)


def command_filters(base_topic: str, config: ControlsConfig) -> tuple[str, ...]:
    """The topic filters of the enabled families' `set` topics, and nothing else."""
    found = (
        f"{base_topic}/+/{control.template.replace(UNIT, '+')}/{commands.SET}"
        for control in CONTROLS
        if config.enabled(control.family)
    )
    return tuple(dict.fromkeys(found))


class ControlsMqtt:
    """Every gateway's controls on the bridge's one MQTT connection."""

    def __init__(self, publisher: Publisher, base_topic: str, config: ControlsConfig) -> None:
        self.publisher, self.base_topic, self.config = publisher, base_topic, config
        self.gateways: list[GatewayControls] = []
        self._ignored = identifiers.Refusals(limit=100)  # topics already said to be ignored

    def add(self, controls: GatewayControls) -> None:
        """One gateway's controls, built with `publish_result` as their way out."""
        self.gateways.append(controls)

    def start(self) -> None:
        """Subscribe (again on every reconnect) when any family is enabled."""
        filters = command_filters(self.base_topic, self.config)
        if filters:
            self.publisher.subscribe_commands(filters, self.on_message)
            log.info("Controls: listening on %s", ", ".join(filters))

    def on_message(self, message: mqtt.MQTTMessage) -> None:
        topic = message.topic
        payload = bytes(message.payload)
        if message.retain:
            self._ignore(topic, "a retained command is never executed (a broker may replay an old one)")
            return
        address = commands.address(topic, self.base_topic)
        target = next((g for g in self.gateways if address and g.serial == address.serial), None)
        if address is None or target is None:
            self._ignore(topic, "not a gateway of this bridge")
            return
        try:
            command = commands.parse(payload)
        except CommandRefused as err:
            command_id = getattr(err, "command_id", None)
            target.command_refused(address.path, command_id, str(err))
            return
        target.command(address.path, command)

    def publish_result(self, serial: str, path: str, result: dict[str, Any]) -> None:
        topic = f"{self.base_topic}/{serial}/{path}/{commands.RESULT}"
        self.publisher.publish_event(topic, json.dumps(result, allow_nan=False, separators=(",", ":")))

    def publish_document(self, serial: str, path: str, document: dict[str, Any]) -> None:
        """A control's own state document (production's), retained like the gateway's others."""
        topic = f"{self.base_topic}/{serial}/{path}"
        self.publisher.publish_state(topic, json.dumps(document, allow_nan=False, separators=(",", ":")))

    def _ignore(self, topic: str, why: str) -> None:
        if self._ignored.first_time(topic):
            log.info("Controls: ignoring the command on %s: %s", identifiers.show(topic, 200), why)
