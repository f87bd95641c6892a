"""Whole-request deadlines: one watchdog thread for the process.

requests' read timeout bounds each socket read, not the request: a gateway that trickles its
status line or body a byte at a time keeps every read short and the request alive for ever.
The client arms a deadline before each request; if it passes, the watchdog calls the armed
callback (which shuts the socket down), the blocked read returns at once, and the client
reports a timeout. One thread serves every gateway, and it holds at most one deadline per
owner, so memory stays bounded however many requests are made.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from contextlib import suppress


class Watchdog:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic):
        self._monotonic = monotonic
        self._lock = threading.Lock()  # taken directly where no one waits: cheaper than the Condition's methods
        self._cond = threading.Condition(self._lock)
        self._armed: dict[Hashable, tuple[float, Callable[[], None]]] = {}
        self._wake_at = float("inf")  # when the thread plans to look next
        self._thread: threading.Thread | None = None

    def arm(self, owner: Hashable, seconds: float, callback: Callable[[], None]) -> None:
        """Call `callback` in `seconds` unless `disarm(owner)` comes first (replaces owner's deadline)."""
        deadline = self._monotonic() + seconds
        with self._lock:
            self._armed[owner] = (deadline, callback)
            self._ensure_thread()
            if deadline < self._wake_at:  # only then does the sleeping thread need to know
                self._cond.notify()

    def disarm(self, owner: Hashable) -> None:
        with self._lock:
            self._armed.pop(owner, None)  # the thread finds nothing due when it wakes: cheap

    @property
    def armed(self) -> int:
        with self._cond:
            return len(self._armed)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="request-deadlines", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            for callback in self._due():
                with suppress(Exception):  # a failing callback must not stop every deadline
                    callback()

    def _due(self) -> list[Callable[[], None]]:
        """Wait until something is due; return (and forget) what is."""
        with self._cond:
            while True:
                now = self._monotonic()
                due = [owner for owner, (at, _) in self._armed.items() if at <= now]
                if due:
                    self._wake_at = float("inf")
                    return [self._armed.pop(owner)[1] for owner in due]
                self._wake_at = min((at for at, _ in self._armed.values()), default=float("inf"))
                # A bounded wait even when idle: the thread re-checks now and then, never spins.
                self._cond.wait(min(self._wake_at - now, 60.0))


class Cut:
    """A deadline's callback for one request: runs `action` (which cuts the connection) and
    remembers that it fired. Each request has its own: a late call never marks the next one."""

    __slots__ = ("_action", "fired")

    def __init__(self, action: Callable[[], None]):
        self.fired, self._action = False, action

    def __call__(self) -> None:
        self.fired = True
        self._action()


WATCHDOG = Watchdog()
