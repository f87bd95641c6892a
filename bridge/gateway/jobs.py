"""Work other threads hand to a gateway's worker thread: the controls' writes and read-backs.

A command arrives on paho's network thread, which must never wait for a gateway; its write
runs here instead, between two poll steps, so it shares the worker's one-request-at-a-time
client and its latest readings without a second thread touching them. A job may be due later
(a read-back some seconds after a write): the worker's sleep ends at the first due job.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

MAX_PENDING = 32  # commands are rate-limited per control: more than this is a flood, refused
STOP_CHECK_S = 0.2  # how soon a sleeping worker notices the bridge stopping

Job = Callable[[], None]


class Jobs:
    """Jobs for one worker, each run once at or after its due time (monotonic seconds)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._heap: list[tuple[float, int, Job]] = []
        self._order = itertools.count()  # jobs due at the same time run in the order given

    def submit(self, job: Job, delay: float = 0.0) -> bool:
        """Queue `job` to run in `delay` seconds; False (not queued) when too many are waiting."""
        with self._lock:
            if len(self._heap) >= MAX_PENDING:
                return False
            heapq.heappush(self._heap, (self._monotonic() + delay, next(self._order), job))
        self._wake.set()
        return True

    def next_due(self) -> float | None:
        with self._lock:
            return self._heap[0][0] if self._heap else None

    def run_due(self) -> None:
        """Run every job that is due; a job's bug is logged and the worker carries on."""
        while (job := self._pop_due()) is not None:
            try:
                job()
            except Exception:  # noqa: PERF203 - the worker's thread must survive a job's bug
                log.exception("unexpected error in a job on the gateway's thread")

    def wait(self, stop: threading.Event, seconds: float) -> None:
        """Sleep up to `seconds`, less when a job falls due or the bridge stops."""
        deadline = self._monotonic() + seconds
        while not stop.is_set():
            now = self._monotonic()
            due = self.next_due()
            until = deadline if due is None else min(deadline, due)
            if until <= now:
                return
            if self._wake.wait(min(until - now, STOP_CHECK_S)):
                self._wake.clear()

    def _pop_due(self) -> Job | None:
        with self._lock:
            if not self._heap or self._heap[0][0] > self._monotonic():
                return None
            return heapq.heappop(self._heap)[2]
