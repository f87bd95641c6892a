"""The start-up read-back: this bridge's own retained discovery configs, as the broker holds them.

At start the publisher subscribes to the discovery prefix for a short window and keeps every
retained config that names this bridge's availability topic (this instance's, or the one topic
of every bridge before instance ids: an upgrade updates its configs instead of duplicating
them). Configs are then handed over per owner, the gateway serial of the topic, and only to the
owner's announcement: another instance's gateways are never this bridge's to remove, even
under the shared topic of earlier versions. Comparing them with what the
bridge announces lets it send only what changed, and remove the entities it no longer
produces, instead of making Home Assistant reload every entity on every restart.

Anyone may have left anything on those topics, and the read-back sees every config of the
prefix, most of them other integrations': only a payload that names this bridge's availability
topic, is small enough and nests no deeper than a config of ours ever does is parsed at all.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Collection
from itertools import accumulate

import paho.mqtt.client as mqtt

from bridge.errors import EnvoyDataError
from bridge.model import decode_json

log = logging.getLogger(__name__)

# How long after connecting the retained configs are read back (the broker sends them at once).
READBACK_WINDOW_S = 1.0
# This bridge's configs are about 1 KiB, nested 3 deep; a payload far beyond is not one of them.
MAX_CONFIG_BYTES = 64 * 1024
MAX_CONFIG_DEPTH = 8
# What a depth count skips: JSON strings (brackets inside them do not nest; an unterminated one
# runs to the end, so no input makes the scan quadratic) and everything else but brackets.
_NOT_NESTING = re.compile(rb'"(?:[^"\\]|\\.?)*(?:"|\Z)|[^\[\]{}"]+', re.DOTALL)


class Readback:
    """What the read-back found, and whether it is over; shares the publisher's send lock."""

    def __init__(
        self, prefix: str, availability_topics: tuple[str, ...], window: float, enabled: bool, lock: threading.RLock
    ):
        self.prefix, self.availability_topics, self.window = prefix, availability_topics, window
        self.started = False
        self._lock = lock
        self._markers = [json.dumps(topic).encode() for topic in availability_topics]  # as in one of our configs
        self._found: dict[str, str] = {}  # topic -> payload, until its owner announces
        self.refused = 0  # configs naming our availability topic, too large, deep or broken to be ours
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
        """Keep a retained discovery config when it names one of this bridge's availability topics."""
        if not message.retain or not message.topic.startswith(self.prefix + "/"):
            return
        config = self._parse(message.topic, message.payload)
        availability = config.get("availability") if isinstance(config, dict) else None
        if isinstance(availability, list) and any(
            isinstance(a, dict) and a.get("topic") in self.availability_topics for a in availability
        ):
            with self._lock:
                self._found[message.topic] = message.payload.decode()

    def _parse(self, topic: str, payload: bytes | bytearray) -> object:
        """The config, if it may be this bridge's: it names our availability topic, and only then
        is it measured (size, nesting) and parsed as strict JSON. One that names it but fails a
        check is counted in `refused`, said once when the read-back ends."""
        if not any(marker in payload for marker in self._markers):
            return None  # another integration's config, or a removal: never parsed
        if len(payload) > MAX_CONFIG_BYTES or nesting(payload) > MAX_CONFIG_DEPTH:
            self.refused += 1
            return None
        try:
            return decode_json(topic, bytes(payload))
        except EnvoyDataError:
            self.refused += 1
            return None

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
        (configs missing or different there, topics of the known owners' vanished configs).
        Configs of other owners wait for their owner's `claim`: a gateway set up later, or one
        another instance serves (never claimed, never removed)."""
        with self._lock:
            log.info("Home Assistant: %d discovery configs of this bridge on the broker", len(self._found))
            if self.refused:
                log.warning(
                    "Home Assistant: ignored %d retained configs under %s/ that name this bridge but are "
                    "larger than %d KiB, nested deeper than %d or not JSON: someone else's",
                    self.refused,
                    self.prefix,
                    MAX_CONFIG_BYTES // 1024,
                    MAX_CONFIG_DEPTH,
                )
            self._done.set()
            updates = [(t, p) for t, p in discovery.items() if self._found.get(t, "") != p]
            vanished = []
            for topic in list(self._found):
                if owner_of(topic) in owners:
                    if topic not in discovery:
                        vanished.append(topic)
                    del self._found[topic]
        for topic in vanished:
            log.info("Home Assistant: removing vanished entity %s", topic)
        return updates, vanished

    @property
    def found(self) -> int:
        with self._lock:
            return len(self._found)


def owner_of(topic: str) -> str:
    """<prefix>/<component>/<owner>/<object id>/config -> owner (the gateway's serial)."""
    parts = topic.split("/")
    return parts[-3] if len(parts) >= 4 else ""


def nesting(payload: bytes | bytearray) -> int:
    """How deep the arrays and objects of a JSON text nest (ignoring brackets inside strings)."""
    brackets = _NOT_NESTING.sub(b"", payload)
    return max(accumulate(1 if b in b"[{" else -1 if b in b"]}" else 0 for b in brackets), default=0)
