"""What the bench does to each simulator, from outside bridge/simulator.

`Tap` wraps a source's `answer`: requests and body bytes per path, the monotonic time of every
answer, and the bench's own changes to bodies (varying capture readings, opening a capture's
relay). The patches let
hundreds of simulators share one process (a slower stop-poll, no cloud, no event ticker).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque

READINGS = "/ivp/meters/readings"
INVENTORY, RELAY = "/ivp/ensemble/inventory", "/ivp/ensemble/relay"
STAMPS_KEPT = 20000  # per path and gateway: 10,000 cycles of one endpoint, and more
_TIMESTAMP = re.compile(rb'"timestamp":\s*\d+')


def lighten_listeners(poll_s: float = 0.5) -> bool:
    """The simulator's listener wakes every 50 ms to check for stop(); hundreds of simulators
    in one process then spend their time waking up. The bench's listeners check twice a second."""
    from bridge.simulator import httpd

    if not isinstance(getattr(httpd, "POLL_S", None), float):
        return False
    httpd.POLL_S = poll_s
    return True


def start_light(sim) -> None:
    """Only the gateway's listener: no fake cloud (tokens are pasted) and no event ticker (the
    scale test triggers no events), so a simulator is one thread plus one per connection."""
    listener = getattr(sim, "_envoy", None)
    if listener is None or not hasattr(listener, "start"):
        sim.start()
        return
    listener.start()


class Tap:
    """Wraps one source's `answer`: counts, stamps, and the bench's own changes to bodies."""

    def __init__(self, source, jitter: bool):
        self._answer = source.answer
        self.jitter, self.grid_up = jitter, True
        self._lock = threading.Lock()
        self._seq = 0
        self.counts: dict[str, list[int]] = {}
        self.stamps: dict[str, deque] = {}
        source.answer = self.answer

    def answer(self, path: str, query: str):
        status, content_type, body = self._answer(path, query)
        if status == 200 and path in (INVENTORY, RELAY) and not self.grid_up:
            body = _open_relay(body)
        if status == 200 and self.jitter and path == READINGS:
            body = self._vary(body)
        now = time.monotonic()
        with self._lock:
            count = self.counts.setdefault(path, [0, 0])
            count[0] += 1
            count[1] += len(body)
            self.stamps.setdefault(path, deque(maxlen=STAMPS_KEPT)).append(now)
        return status, content_type, body

    def _vary(self, body: bytes) -> bytes:
        """A capture never changes; a new reading timestamp makes each poll a new state."""
        with self._lock:
            self._seq += 1
            stamp = int(time.time()) + self._seq
        return _TIMESTAMP.sub(b'"timestamp": ' + str(stamp).encode(), body)

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.stamps.clear()


def _open_relay(body: bytes) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if isinstance(data, dict) and "mains_oper_state" in data:
        data["mains_oper_state"] = "open"
    elif isinstance(data, list):
        for group in data:
            if isinstance(group, dict) and group.get("type") == "ENPOWER":
                for device in group.get("devices") or ():
                    device["mains_oper_state"] = "open"
    return json.dumps(data).encode()
