"""The start-up read-back: this bridge's own retained discovery configs, as the broker holds them.

At start the publisher subscribes to the discovery prefix for a short window and keeps every
retained config that names this bridge's availability topic. Comparing them with what the
bridge announces lets it send only what changed, and remove the entities it no longer
produces, instead of making Home Assistant reload every entity on every restart.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection

import paho.mqtt.client as mqtt

# How long after connecting the retained configs are read back (the broker sends them at once).
READBACK_WINDOW_S = 1.0


class Readback:
    """What the read-back found, and whether it is over; shares the publisher's send lock."""

    def __init__(self, prefix: str, availability_topic: str, window: float, enabled: bool, lock: threading.RLock):
        self.prefix, self.availability_topic, self.window = prefix, availability_topic, window
        self.started = False
        self._lock = lock
        self._found: dict[str, str] = {}  # topic -> payload, until its owner announces
        self._done = threading.Event()
        if not enabled or window <= 0:
            self._done.set()

    @property
    def over(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout)

    def begin(self) -> bool:
        """True on the first connection only: then the caller subscribes and starts the timer."""
        if self.over or self.started:
            return False
        self.started = True
        return True

    def overdue(self) -> bool:
        """Started, and still not over well after its window (its timer is late on a loaded machine)."""
        return self.started and not self._done.wait(self.window + 1)

    def keep(self, message: mqtt.MQTTMessage) -> None:
        """Keep a retained discovery config when it names this bridge's availability topic."""
        if not message.retain or not message.payload or not message.topic.startswith(self.prefix + "/"):
            return
        try:
            payload = message.payload.decode()
            availability = json.loads(payload).get("availability") or []
        except (UnicodeDecodeError, ValueError, AttributeError):
            return
        if any(isinstance(a, dict) and a.get("topic") == self.availability_topic for a in availability):
            with self._lock:
                self._found[message.topic] = payload

    def claim(self, owner: str, configs: dict[str, str]) -> tuple[dict[str, str], list[str]]:
        """Hand over what was found of `owner`: (configs already on the broker as they are,
        topics of configs it does not produce any more)."""
        already: dict[str, str] = {}
        vanished: list[str] = []
        with self._lock:
            for topic in [t for t in self._found if owner_of(t) == owner]:
                payload = self._found.pop(topic)
                if configs.get(topic) == payload:
                    already[topic] = payload
                elif topic not in configs:
                    vanished.append(topic)
        return already, vanished

    def end(self, discovery: dict[str, str], owners: Collection[str]) -> tuple[list[tuple[str, str]], list[str]]:
        """Mark the read-back over and say what brings the broker in line with `discovery`:
        (configs missing or different there, topics of the known owners' vanished configs)."""
        with self._lock:
            self._done.set()
            updates = [(t, p) for t, p in discovery.items() if self._found.get(t, "") != p]
            vanished = []
            for topic in list(self._found):
                if owner_of(topic) in owners:
                    if topic not in discovery:
                        vanished.append(topic)
                    del self._found[topic]
        return updates, vanished

    @property
    def found(self) -> int:
        with self._lock:
            return len(self._found)


def owner_of(topic: str) -> str:
    """<prefix>/<component>/<owner>/<object id>/config -> owner (the gateway's serial)."""
    parts = topic.split("/")
    return parts[-3] if len(parts) >= 4 else ""
