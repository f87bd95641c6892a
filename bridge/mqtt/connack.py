"""The answer to CONNECT: a broker that accepts TCP but never sends CONNACK is cut off in time.

paho waits for CONNACK as long as the keepalive (a minute by default) and then reconnects
without a word; the monitor, which speaks on transitions, had none to speak of, so a port that
is not an MQTT broker (a TLS listener without `mqtt.tls`, a stuck proxy, something else)
stayed silent for ten minutes. The watch starts when paho opens its socket and, when no
CONNACK came within the timeout, says so once and shuts the socket down: paho reads the end of
the stream and reconnects with its growing delay.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from bridge.mqtt.guard import Guard

CONNACK_TIMEOUT_S = 10.0


class ConnackWatch:
    def __init__(self, timeout: float, overdue: Callable[[str], None], guard: Guard) -> None:
        """`overdue(why)` is called once per attempt that got no CONNACK, with a few words why."""
        self.timeout, self._overdue = timeout, overdue
        self._check_guarded = guard.wrap("the CONNACK timeout", self._check)
        self._lock = threading.Lock()
        self._waiting: socket.socket | None = None  # the socket whose CONNACK is awaited
        self._timer: threading.Timer | None = None
        self.stats = {"timeouts": 0}

    def opened(self, sock: socket.socket) -> None:
        """paho opened `sock` and sends CONNECT on it (its network thread)."""
        timer = threading.Timer(self.timeout, self._check_guarded, args=(sock,))
        timer.daemon = True
        with self._lock:
            self._stop_timer()
            self._waiting, self._timer = sock, timer
        timer.start()

    def answered(self) -> None:
        """CONNACK came (accepted or refused): nothing to watch until the next attempt."""
        with self._lock:
            self._stop_timer()
            self._waiting = None

    def closed(self) -> None:
        """The connection ended; without a CONNACK, that is this attempt's failure."""
        with self._lock:
            self._stop_timer()
            waiting, self._waiting = self._waiting, None
        if waiting is not None:
            self._overdue("ended the connection without answering the MQTT CONNECT")

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self, sock: socket.socket) -> None:
        with self._lock:
            if self._waiting is not sock:
                return  # answered, closed, or another attempt since
            self._waiting, self._timer = None, None
            self.stats["timeouts"] += 1
        self._overdue(f"accepted the connection but sent no CONNACK within {self.timeout:g} s")
        try:
            # The plain socket's shutdown (a TLS socket's own would tear down its state under
            # paho's feet): paho's next read sees the end of the stream and reconnects.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass  # closed meanwhile: paho is reconnecting anyway
