"""The publisher's QoS>0 messages the broker has not acknowledged yet, and waiting for them
(a clean stop flushes `offline` and the last values before it disconnects; a burst's next
slice waits for the previous one, bridge/mqtt/pacer.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Collection

import paho.mqtt.client as mqtt


class Acks:
    def __init__(self) -> None:
        self._pending: set[int] = set()  # mids of QoS>0 publishes not yet acknowledged
        self._watched: set[int] = set()  # mids a `settle` waits for: only their acks wake it
        self._changed = threading.Condition()  # never held around paho calls

    def track(self, info: mqtt.MQTTMessageInfo) -> None:
        with self._changed:
            if info.rc == mqtt.MQTT_ERR_SUCCESS and not info.is_published():
                self._pending.add(info.mid)

    def acked(self, mid: int) -> None:
        with self._changed:
            self._pending.discard(mid)
            if not self._pending or mid in self._watched:  # thousands of acks in a burst: wake only whom it concerns
                self._changed.notify_all()

    def lost(self) -> None:
        """The connection dropped: nothing more will be acknowledged (the store re-sends it all)."""
        with self._changed:
            self._pending.clear()
            self._changed.notify_all()

    def flush(self, timeout: float) -> bool:
        """Wait until the broker acknowledged every QoS>0 message sent so far."""
        return self.settle(None, timeout)

    def settle(self, mids: Collection[int] | None, timeout: float) -> bool:
        """Wait until the broker acknowledged each of `mids` (None: every message sent so far);
        a dropped connection ends the wait (nothing more will be acknowledged)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            self._watched.update(mids or ())
            try:
                while self._pending if mids is None else not self._pending.isdisjoint(mids):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._changed.wait(left)
            finally:
                self._watched.difference_update(mids or ())
        return True
