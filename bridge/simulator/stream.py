"""The gateway's live-data stream switch, and which meters sample its status shows.

On after `{"enable":1}`, off after `{"enable":0}` or by itself `timeout_s` REAL seconds after it
was enabled (0: never by itself). Real, not simulated, seconds: the timeout bounds how long a
client's request keeps the stream on, and a client re-enables on its own (real) poll clock, as
it does for tokens and sessions; on the simulated clock, at a time factor of 60, a 300-s stream
would die every 5 real seconds. The gateway starts with the stream off.

While off, `frozen` (the default) shows the sample of the moment the stream stopped (at start:
the sample of the start), so `last_update` stands still; `live` keeps sampling, as some 8.3
firmware does (reference §2.1: the field reports disagree). A stream that timed out is noticed
at the next request; its sample is taken at the moment it ended, on the physics as it is then.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

from bridge.simulator.clock import SimClock

Sample = Callable[[float], dict[str, Any]]  # the meters block at a simulated time


class LiveStream:
    def __init__(self, clock: SimClock, sample: Sample, timeout_s: float, frozen: bool):
        self.clock, self.sample = clock, sample
        self.timeout_s, self.freezes = timeout_s, frozen
        self._lock = threading.Lock()
        self._until: float | None = None  # real time the stream ends; None while off
        self._frozen: dict[str, Any] | None = sample(clock.now()) if frozen else None
        self.status_reads = 0
        self.stream_requests = 0

    @property
    def enabled(self) -> bool:
        with self._lock:
            self._expire()
            return self._until is not None

    def read(self) -> tuple[bool, dict[str, Any]]:
        """(stream on, the meters block the status shows now)."""
        with self._lock:
            self._expire()
            self.status_reads += 1
            on = self._until is not None
            if on or self._frozen is None:  # None only when it does not freeze
                return on, self.sample(self.clock.now())
            return False, self._frozen

    def switch(self, enable: bool) -> bool:
        """Turn the stream on or off; False when it is already on and asked on again (the
        gateway answers 400: homebridge-enphase-envoy#85). Turning off what is off is fine."""
        with self._lock:
            self._expire()
            self.stream_requests += 1
            on = self._until is not None
            if enable and on:
                return False
            if enable:
                self._until = self.clock.real_now() + self.timeout_s if self.timeout_s > 0 else math.inf
            elif on:
                self._stop(self.clock.now())
            return True

    def _expire(self) -> None:
        if self._until is not None and self.clock.real_now() >= self._until:
            self._stop(self.clock.at(self._until))

    def _stop(self, sim_t: float) -> None:
        self._until = None
        if self.freezes:
            self._frozen = self.sample(sim_t)
