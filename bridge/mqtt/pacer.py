"""Bursts sent in slices, so a fresh state never waits behind hundreds of retained messages.

The end of the start-up read-back, a gateway's first announcement, a reconnect and Home
Assistant's birth each make hundreds of retained messages at once (568 discovery configs for
one three-phase battery site). Handed to paho in one go they fill its queue, the socket and the
broker's backlog, and a state published a moment later reaches the broker only after all of
them: 50 ms instead of 3 in the bench, and at 100 gateways workers queued for seconds on the
send lock while other gateways' announcements went out. So the publisher queues a burst here,
by topic, and one thread sends it a slice at a time: the next slice goes once the broker has
acknowledged the previous one. States go to paho directly meanwhile, behind one slice at most.
A topic is sent with the value the publisher holds when its slice goes, so a replayed state
never overwrites a fresher one, and a topic queued twice is sent once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

SLICE_MESSAGES = 20  # ~20 KiB of configs: the broker takes them in about a millisecond
SETTLE_S = 5.0  # a slice the broker does not acknowledge in this time no longer holds the next
OFFLINE_RETRY_S = 1.0  # the broker is away: the reconnect queues everything again anyway


class Pacer:
    """Topics waiting to be sent, in order, and the thread that sends them in slices.

    `send_slice(n)` takes up to `n` topics with `take` (under the publisher's send lock), sends
    them and returns a function that waits up to a timeout for their acknowledgement, or None
    when the broker is away. The thread starts with the first topic queued."""

    def __init__(
        self,
        send_slice: Callable[[int], Callable[[float], object] | None],
        wrap: Callable[[Callable[[], None]], Callable[[], None]],
        slice_messages: int = SLICE_MESSAGES,
        settle_s: float = SETTLE_S,
    ) -> None:
        self._send_slice, self._wrap = send_slice, wrap
        self._slice, self._settle_s = slice_messages, settle_s
        self._pending: dict[str, None] = {}  # an ordered set
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def add(self, topics: Iterable[str]) -> None:
        with self._cond:
            before = len(self._pending)
            self._pending.update(dict.fromkeys(topics))
            if len(self._pending) > before:
                self._ensure_thread()
                self._cond.notify_all()

    def discard(self, topic: str) -> None:
        """`topic` went out directly with the latest value: nothing left to send for it."""
        with self._cond:
            if self._pending.pop(topic, 0) is None:
                self._cond.notify_all()

    def take(self, limit: int | None = None) -> list[str]:
        """Up to `limit` (None: every) queued topics, oldest first, no longer queued."""
        with self._cond:
            topics = list(self._pending)[:limit] if limit is not None else list(self._pending)
            for topic in topics:
                del self._pending[topic]
            if not self._pending:
                self._cond.notify_all()
            return topics

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def wait_empty(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending, timeout)

    def stop(self) -> None:
        """The thread ends after its slice; what is still queued is the caller's to `take`."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def _ensure_thread(self) -> None:
        if not self._stopped and (self._thread is None or not self._thread.is_alive()):
            self._thread = threading.Thread(target=self._wrap(self._run), name="mqtt-pacer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while self._next():
            settle = self._send_slice(self._slice)
            if settle is not None:
                settle(self._settle_s)
                continue
            with self._cond:  # the broker is away: its return (or stop) wakes us
                self._cond.wait(OFFLINE_RETRY_S)

    def _next(self) -> bool:
        """Wait until something is queued; False once stopped."""
        with self._cond:
            self._cond.wait_for(lambda: self._pending or self._stopped)
            return not self._stopped
