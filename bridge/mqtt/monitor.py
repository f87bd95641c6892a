"""How the MQTT connection is doing, told once per transition and never once per attempt.

paho reconnects by itself (1 s doubling to 2 min); this watches and reports: one ERROR when
the broker cannot be reached, refuses us or never answers our CONNECT, one WARNING when a
connection drops, one INFO when it is back, a slow INFO reminder while it stays away, and one
ERROR when the connection keeps dropping right after it was made, which is what two clients
with one client id look like (the broker takes the session over from whichever connected
first, in turn).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

log = logging.getLogger("bridge.publisher")

# A broker that is away for a day must not write a line per reconnect: a reminder this often.
REMINDER_S = 600.0
# Flapping: this many drops within this window, each soon after connecting. A broker restart
# or a network hiccup drops a connection once; two bridges with one client id do it every second.
FLAP_COUNT, FLAP_WINDOW_S = 3, 60.0
# While flapping, reconnect this slowly, so the two clients do not knock each other off in a loop.
FLAP_RECONNECT_MIN_S = 10  # paho takes whole seconds


class ConnectionMonitor:
    def __init__(self, broker: str, client_id: str, clock: Callable[[], float]) -> None:
        self.broker, self.client_id, self._clock = broker, client_id, clock
        self.flapping = False
        self._down_since: float | None = None  # not connected since (None: connected)
        self._problem_logged = False  # an ERROR about reaching the broker went out already
        self._last_reminder = 0.0
        self._connected_at: float | None = None
        self._drops: deque[float] = deque(maxlen=FLAP_COUNT)
        self.stats = {"connects": 0, "connect_failures": 0, "refusals": 0, "unanswered": 0, "drops": 0}

    def starting(self) -> None:
        self._down_since = self._last_reminder = self._clock()

    # --- transitions (paho's network thread) ----------------------------------------------

    def connect_failed(self, cause: str) -> None:
        self.stats["connect_failures"] += 1
        self._report(f"MQTT: cannot reach broker {self.broker} ({cause}); retrying in the background")

    def unanswered(self, why: str) -> None:
        """The broker took the TCP connection but never answered CONNECT (see connack.py)."""
        self.stats["unanswered"] += 1
        self._report(
            f"MQTT: broker {self.broker} {why}: is it an MQTT broker (a TLS port needs mqtt.tls)? "
            "Retrying in the background"
        )

    def refused(self, reason: object) -> None:
        self.stats["refusals"] += 1
        hint = ""
        if "authori" in str(reason).lower() or "user name" in str(reason).lower():
            hint = ": check mqtt.username and mqtt.password"
        elif "identifier" in str(reason).lower():
            hint = ": set a different mqtt.client_id"
        self._report(f"MQTT: broker {self.broker} refused the connection: {reason}{hint}")

    def connected(self) -> None:
        now = self._clock()
        self.stats["connects"] += 1
        if self._down_since is not None and (self._problem_logged or self.stats["connects"] > 1):
            log.info("MQTT: connected to %s again after %.0f s", self.broker, now - self._down_since)
        else:
            log.info("MQTT: connected to %s", self.broker)
        self._down_since, self._connected_at, self._problem_logged = None, now, False

    def disconnected(self, unexpected: bool) -> bool:
        """Record a drop; True when the connection is flapping (the caller slows reconnects)."""
        now = self._clock()
        if self._down_since is None:
            self._down_since = self._last_reminder = now
        if not unexpected:
            return self.flapping
        self.stats["drops"] += 1
        if self._connected_at is not None and now - self._connected_at < FLAP_WINDOW_S:
            self._drops.append(now)
        if not self.flapping and len(self._drops) == FLAP_COUNT and now - self._drops[0] <= FLAP_WINDOW_S:
            self.flapping = True
            log.error(
                "MQTT: the connection to %s dropped %d times within %.0f s, each time soon after it "
                "was made: another client probably uses the same client id %r. Give every bridge its "
                "own mqtt.client_id (leave it empty for a unique default); reconnecting slowly meanwhile",
                self.broker,
                FLAP_COUNT,
                now - self._drops[0],
                self.client_id,
            )
        elif not self.flapping:
            log.warning("MQTT: connection to %s lost; reconnecting", self.broker)
        else:
            log.debug("MQTT: connection to %s lost again (flapping)", self.broker)
        return self.flapping

    # --- the slow clock (the bridge's main loop) ------------------------------------------

    def tick(self, held_topics: int) -> bool:
        """Reminder while down; True when a flapping episode just ended (connected long enough)."""
        now = self._clock()
        if self._down_since is not None:
            if now - self._last_reminder >= REMINDER_S:
                self._last_reminder = now
                log.info(
                    "MQTT: still not connected to %s (for %.0f min); holding the latest value of %d "
                    "topics, sent when it is back",
                    self.broker,
                    (now - self._down_since) / 60,
                    held_topics,
                )
            return False
        if self.flapping and self._connected_at is not None and now - self._connected_at >= FLAP_WINDOW_S:
            self.flapping = False
            self._drops.clear()
            log.info("MQTT: the connection to %s is stable again", self.broker)
            return True
        return False

    def _report(self, message: str) -> None:
        if self._down_since is None:
            self._down_since = self._last_reminder = self._clock()
        if not self._problem_logged:
            self._problem_logged = True
            log.error("%s", message)
        else:
            log.debug("%s", message)
