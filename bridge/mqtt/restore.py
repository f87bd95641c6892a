"""The bridge's own topics, put back when someone else overwrites them.

Any client on the broker may publish on the bridge's topics: a retained `offline` on a
gateway's availability while it is online, a changed discovery config, a made-up state. Until
the value changed again, Home Assistant would show it. So the publisher subscribes to its base
topic and to the discovery configs of every gateway it announces, and gives each message it
receives here: the echo of its own publish is recognised and dropped; a message that differs
from the value the publisher holds for the topic is someone else's, and the held value is sent
again. What the bridge removed itself (an empty discovery config, a topic it does not hold) is
never fought over.

Two bridges misconfigured on one base topic would restore each other's values at full speed:
each topic is restored at most once per `min_interval` (a later overwrite within it is put
right when the interval is over), and an overwrite right after a restore is said once as what
it likely is, a second instance.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import NamedTuple

import paho.mqtt.client as mqtt

from bridge.mqtt.guard import REPORT_S, Guard, Quiet

log = logging.getLogger(__name__)

RESTORE_MIN_INTERVAL_S = 60.0
# Own publishes per topic whose echo may still be on its way. A burst (a replay, a fast rig)
# can have dozens in flight; an evicted one would come back looking like a stranger's write.
ECHOES_KEPT = 128


class Hooks(NamedTuple):
    """What the restorer needs of the publisher."""

    expected: Callable[[str], str | None]  # the payload held for a topic (None or "": not its own)
    resend: Callable[[str], None]  # send a topic's held payload again
    subscribe: Callable[[str], None]  # subscribe the client to a topic filter


class Restorer:
    def __init__(
        self, base_topic: str, prefix: str, hooks: Hooks, min_interval: float, clock: Callable[[], float], guard: Guard
    ) -> None:
        self._base, self._prefix = base_topic, prefix
        self.base_filter = f"{base_topic}/#"  # held on every connection (bridge/mqtt/routes.py relies on it)
        self._expected, self._resend, self._subscribe = hooks
        self._min_interval, self._clock = min_interval, clock
        self._restore_due_guarded = guard.wrap("the restore of an overwritten topic", self._restore_due)
        self._lock = threading.Lock()
        # topic -> hashes of its own payloads not seen back yet (a hash: a few bytes per publish
        # in flight, however large the document; the key is per process, so no one can aim at it)
        self._echoes: dict[str, deque[int]] = {}
        self._owners: set[str] = set()  # gateways whose discovery configs are watched
        self._restored: dict[str, float] = {}  # topic -> clock time of its last restore
        self._deferred: dict[str, float] = {}  # topic -> when it may be restored again
        self._timer: threading.Timer | None = None
        self._quiet = Quiet(REPORT_S, clock)
        self._duplicate_said = False
        self.active = False  # watching: from the subscriptions of a connection until stop()
        self.stats = {"overwrites": 0, "restores": 0}

    # --- the publisher's side ---------------------------------------------------------------

    def connected(self) -> None:
        """A new connection (paho's network thread): subscribe before the replay is sent."""
        with self._lock:
            self._echoes.clear()  # what was in flight on the old connection never comes back
            filters = [self.base_filter, *map(self._owner_filter, sorted(self._owners))]
        for topic_filter in filters:
            self._subscribe(topic_filter)
        self.active = True

    def stop(self) -> None:
        self.active = False
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def watch(self, topics: Iterable[str]) -> None:
        """Watch the discovery configs of the gateways these topics belong to (any thread)."""
        with self._lock:
            new = {owner for owner in map(self._discovery_owner, topics) if owner and owner not in self._owners}
            self._owners |= new
        for owner in sorted(new):
            self._subscribe(self._owner_filter(owner))  # not connected: done on connect

    def sending(self, topic: str, payload: str) -> None:
        """Called before the publisher sends `payload` on `topic`: its echo is to be expected."""
        if self._watched(topic):
            with self._lock:
                self._echoes.setdefault(topic, deque(maxlen=ECHOES_KEPT)).append(hash(payload.encode()))

    def not_sent(self, topic: str, payload: str) -> None:
        """The publish did not go out after all: no echo will come."""
        with self._lock:
            echoes = self._echoes.get(topic)
            if echoes and echoes[-1] == hash(payload.encode()):
                echoes.pop()

    # --- what the broker sends (paho's network thread) ----------------------------------------

    def received(self, message: mqtt.MQTTMessage) -> None:
        # A retained copy comes on subscribing, before the publisher's replay overwrites it.
        if not self.active or message.retain:
            return
        topic, payload = message.topic, message.payload
        if self._own_echo(topic, payload):
            return
        expected = self._expected(topic)
        if expected and payload != expected.encode():
            self._overwritten(topic)

    def _own_echo(self, topic: str, payload: bytes | bytearray) -> bool:
        with self._lock:
            echoes = self._echoes.get(topic)
            digest = hash(bytes(payload))
            if not echoes or digest not in echoes:
                return False
            while echoes.popleft() != digest:
                pass  # older echoes that never came (QoS 0, a full queue)
            self._deferred.pop(topic, None)  # the bridge's own value is back on the broker
            return True

    def _overwritten(self, topic: str) -> None:
        now = self._clock()
        with self._lock:
            self.stats["overwrites"] += 1
            since = now - self._restored.get(topic, -math.inf)  # since its last restore
            # Soon after a restore: a second instance, whose own limit lets it answer just as
            # this one's interval ends, so "soon" is twice the interval (both instances say it).
            second_instance = since < 2 * self._min_interval and not self._duplicate_said
            self._duplicate_said |= second_instance
            restore_now = since >= self._min_interval
            if restore_now:
                self._restored[topic] = now
            else:
                self._defer(topic, now - since + self._min_interval)
        if second_instance:
            log.error(
                "MQTT: %s was overwritten again right after the bridge restored it: another instance "
                "of the bridge probably publishes on the same topics (same mqtt.base_topic and gateway). "
                "Restoring each topic at most once every %.0f s",
                topic,
                self._min_interval,
            )
        if restore_now:
            self._restore(topic)

    def _restore(self, topic: str) -> None:
        with self._lock:
            self.stats["restores"] += 1
            count = self._quiet.due()
        if count == 1:
            log.warning("MQTT: another client overwrote %s; the bridge restored its value", topic)
        elif count:
            log.warning(
                "MQTT: restored %d topics overwritten by another client in the last %.0f min (latest: %s)",
                count,
                REPORT_S / 60,
                topic,
            )
        self._resend(topic)

    # --- restores put off by the rate limit -----------------------------------------------------

    def _defer(self, topic: str, due: float) -> None:
        """Under the lock: restore `topic` at `due` unless the bridge's own value is back first."""
        self._deferred[topic] = due
        if self._timer is None:
            self._start_timer(due)

    def _start_timer(self, due: float) -> None:
        self._timer = threading.Timer(max(0.0, due - self._clock()), self._restore_due_guarded)
        self._timer.daemon = True
        self._timer.start()

    def _restore_due(self) -> None:
        now = self._clock()
        with self._lock:
            if self._timer is not threading.current_thread():
                return  # stopped as it fired
            self._timer = None
            due = [topic for topic, at in self._deferred.items() if at <= now]
            for topic in due:
                del self._deferred[topic]
                self._restored[topic] = now
            if self._deferred:
                self._start_timer(min(self._deferred.values()))
        for topic in due:
            if self.active and self._expected(topic):  # still the bridge's: not removed meanwhile
                self._restore(topic)

    # --- which topics are the bridge's ------------------------------------------------------------

    def _watched(self, topic: str) -> bool:
        return topic.startswith(self._base + "/") or self._discovery_owner(topic) is not None

    def _discovery_owner(self, topic: str) -> str | None:
        """<prefix>/<component>/<owner>/<object id>/config -> owner; None for any other topic."""
        if not topic.startswith(self._prefix + "/"):
            return None
        levels = topic[len(self._prefix) + 1 :].split("/")
        if len(levels) != 4 or levels[3] != "config" or not levels[1] or any(c in levels[1] for c in "+#"):
            return None
        return levels[1]

    def _owner_filter(self, owner: str) -> str:
        return f"{self._prefix}/+/{owner}/+/config"
