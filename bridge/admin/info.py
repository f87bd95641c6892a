"""`{base}/bridge/info`: what this bridge is, retained, sent again when something in it changes.

The version, each gateway (its label, serial, firmware and part number once it answered), the
enabled features and the effective configuration, masked as `check-config` shows it (secrets)
and without the usernames (an Enlighten login is an e-mail address). A gateway's sink tells it
what each cycle says about the gateway; only a change (a firmware update, a first answer)
rebuilds and sends the document.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from bridge import __version__, model
from bridge.admin.requests import VERBS
from bridge.config import Config, describe
from bridge.config.describe import MASK
from bridge.config.schema import CONTROL_FAMILIES
from bridge.model.snapshot import Snapshot
from bridge.mqtt.publisher import Publisher
from bridge.sinks import Sink


class BridgeInfo:
    def __init__(self, publisher: Publisher, config: Config) -> None:
        self.publisher, self.config = publisher, config
        self.topic = config.mqtt.bridge_topic("info")
        self._lock = threading.Lock()  # every gateway's worker may tell it something
        self._gateways = {
            gw.label: {"label": gw.label, "serial": gw.serial, "firmware": None} for gw in config.gateways
        }

    def watch(self, label: str) -> Sink:
        """The sink that tells this document what the cycles of gateway `label` say."""
        return InfoWatch(self, label)

    def gateway_seen(self, label: str, info: model.GatewayInfo) -> None:
        seen = {"label": label, "serial": info.serial, "firmware": info.firmware, "part_number": info.part_number}
        with self._lock:
            if self._gateways.get(label) == seen:
                return
            self._gateways[label] = seen
        self.publish()

    def publish(self) -> None:
        self.publisher.publish_state(self.topic, json.dumps(self.document(), sort_keys=True, separators=(",", ":")))

    def document(self) -> dict[str, Any]:
        with self._lock:
            gateways = [dict(gateway) for gateway in self._gateways.values()]
        return {
            "version": __version__,
            "gateways": gateways,
            "features": self.features(),
            "config": masked_config(self.config),
        }

    def features(self) -> dict[str, Any]:
        config = self.config
        return {
            "controls": [family for family in CONTROL_FAMILIES if config.controls.enabled(family)],
            "homeassistant_discovery": config.homeassistant.discovery,
            "live_data": config.poll.live != 0,
            "requests": list(VERBS),
        }


def masked_config(config: Config) -> dict[str, Any]:
    """check-config's summary, usernames masked too: fit for a topic other clients read."""
    summary = describe(config)
    for section in (*summary["gateways"], summary["mqtt"]):
        if section.get("username"):
            section["username"] = MASK
    return summary


class InfoWatch(Sink):
    def __init__(self, info: BridgeInfo, label: str) -> None:
        self.info, self.label = info, label

    def snapshot(self, snapshot: Snapshot) -> None:
        self.info.gateway_seen(self.label, snapshot.info)
