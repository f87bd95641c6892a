"""The edge of every paho callback and timer of the publisher: input it did not make never kills
its thread, and a flood of the same failure writes one line, not one per message.

paho runs the callbacks on its one network thread and lets an exception from a callback end
that thread: from then on nothing is published, however healthy the gateways. A retained
message anyone may write (a deeply nested discovery config, a birth message) is such input, so
each callback and timer goes through `Guard.wrap`, which logs the first failure of each kind
with its cause, counts the repeats, and says how many there were at most once every
`REPORT_S` seconds.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import ParamSpec

log = logging.getLogger(__name__)

P = ParamSpec("P")
REPORT_S = 600.0  # a failure repeated by every message of a flood is summed up this often
CAUSE_CHARS = 160  # an exception's text can quote its input: a short excerpt is enough


class Quiet:
    """When a repeated event deserves a log line: the first time, then at most once every
    `every` seconds, covering the events in between."""

    def __init__(self, every: float, clock: Callable[[], float]) -> None:
        self._every, self._clock = every, clock
        self._logged_at: float | None = None
        self._since = 0

    def due(self) -> int | None:
        """Count one event: None to stay quiet, else how many events the line now covers."""
        now = self._clock()
        self._since += 1
        if self._logged_at is not None and now - self._logged_at < self._every:
            return None
        count, self._since, self._logged_at = self._since, 0, now
        return count


class Guard:
    """Wraps the callbacks of one paho client and the timers of its publisher."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._quiet: dict[tuple[str, str], Quiet] = {}
        self.failures = 0

    def wrap(self, name: str, func: Callable[P, object]) -> Callable[P, None]:
        @functools.wraps(func)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
            try:
                func(*args, **kwargs)
            except Exception as err:  # noqa: BLE001 - the edge of a thread we must keep alive
                self.failed(name, err)

        return guarded

    def failed(self, name: str, err: Exception) -> None:
        """Log `err` from `name` once per kind (and then a count now and then); carry on."""
        kind = type(err).__name__
        with self._lock:
            self.failures += 1
            quiet = self._quiet.setdefault((name, kind), Quiet(REPORT_S, self._clock))
            count = quiet.due()
        if count is None:
            log.debug("MQTT: %s failed again (%s)", name, kind)
            return
        cause = f"{kind}: {excerpt(err)}"
        if count == 1:
            log.error("MQTT: %s failed (%s); ignored, the bridge carries on", name, cause)
        else:
            log.error(
                "MQTT: %s failed %d times in the last %.0f min (latest: %s); ignored, the bridge carries on",
                name,
                count,
                REPORT_S / 60,
                cause,
            )
        log.debug("MQTT: %s failure", name, exc_info=err)


def excerpt(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= CAUSE_CHARS else text[: CAUSE_CHARS - 3] + "..."
