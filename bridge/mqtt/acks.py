"""The publisher's QoS>0 messages the broker has not acknowledged yet, and waiting for them
(a clean stop flushes `offline` and the last values before it disconnects)."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt


class Acks:
    def __init__(self) -> None:
        self._pending: set[int] = set()  # mids of QoS>0 publishes not yet acknowledged
        self._changed = threading.Condition()  # never held around paho calls

    def track(self, info: mqtt.MQTTMessageInfo) -> None:
        with self._changed:
            if info.rc == mqtt.MQTT_ERR_SUCCESS and not info.is_published():
                self._pending.add(info.mid)

    def acked(self, mid: int) -> None:
        with self._changed:
            self._pending.discard(mid)
            self._changed.notify_all()

    def lost(self) -> None:
        """The connection dropped: nothing more will be acknowledged (the store re-sends it all)."""
        with self._changed:
            self._pending.clear()
            self._changed.notify_all()

    def flush(self, timeout: float) -> bool:
        """Wait until the broker acknowledged every QoS>0 message sent so far."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True
