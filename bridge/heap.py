"""The bridge's heap over a long run: cyclic garbage collected once a minute, the objects of the
start frozen out of every collection.

CPython runs a full collection only when the objects pending in the oldest generation reach a
quarter of those already there (about 40,000 after start). Until then the cyclic garbage of each
cycle (paho's topic matcher leaves one cycle per message it receives, and the bridge hears its
own topics) piles up, and the allocator keeps the pages it grew into: the first 1,000 cycles
added 2.3 MB of RSS that nothing held (issue 17). Collected every minute, the growth stays near
1 MB and flat. The first collection (~13 ms, once) is followed by a freeze: the modules, classes
and configuration of the start live as long as the process, and every later collection skips
them (~0.25 ms a minute). A frozen object is still freed when its last reference goes.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

COLLECT_EVERY_S = 60.0


class Heap:
    """Ticked by the main loop (about once a second)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._last = monotonic()
        self.frozen = False

    def tick(self) -> None:
        now = self._monotonic()
        if now - self._last < COLLECT_EVERY_S:
            return
        self._last = now
        gc.collect()
        if not self.frozen:  # a minute in: what is still alive is the start's, kept for good
            gc.freeze()
            self.frozen = True

    def release(self) -> None:
        """At stop: the frozen objects are the collector's again (tests build many bridges in one process)."""
        if self.frozen:
            gc.unfreeze()
            self.frozen = False
