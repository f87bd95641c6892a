"""Home Assistant's birth message, answered with at most one full republish per interval.

Anyone on the broker may publish `online` on the birth topic, and each answer is the whole
retained store (hundreds of messages, thousands of times the bytes of the birth message). So
the first birth is answered after Home Assistant's short random delay, births that arrive
while an answer is pending share it, and births within `min_interval` of the last answer get
one more answer when the interval is over: never lost (a real Home Assistant restart is always
answered), never more than one republish per interval. The first birth is one INFO line, as
ever; what came after it is told in one line when the interval is over, so a flood of any
length writes one line per interval, not one per message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bridge.mqtt.guard import Guard

log = logging.getLogger(__name__)

# More births than this within one interval is no Home Assistant restart: said as a warning.
FLOOD_BIRTHS = 10


class BirthLimiter:
    def __init__(
        self,
        republish: Callable[[], None],
        min_interval: float,
        delay_max: float,
        rng: Callable[[float, float], float],
        clock: Callable[[], float],
        guard: Guard,
    ) -> None:
        """Answer births with `republish()` after `rng(0, delay_max)` s, at most once per `min_interval`."""
        self._republish, self._min_interval = republish, min_interval
        self._delay_max, self._rng, self._clock = delay_max, rng, clock
        self._fire_guarded = guard.wrap("the Home Assistant birth republish", self._fire)
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None  # the next answer (or report) is due then
        self._timer_is_first = False  # the timer answers a birth at once, not at the interval's end
        self._last_answer: float | None = None  # clock time of the last republish
        self._pending = 0  # births since the last answer
        self._unreported = 0  # births after the one said at INFO, not told yet
        self._unreported_since = 0.0
        self._answers = 0  # answers since the last line
        self.stats = {"births": 0, "republishes": 0}

    def birth(self) -> None:
        """One `online` on the birth topic (paho's network thread)."""
        with self._lock:
            self.stats["births"] += 1
            self._pending += 1
            if self._timer is None and self._wait() <= 0:
                delay = self._rng(0, self._delay_max)
                log.info("Home Assistant came online; announcing again in %.1f s", delay)
                self._answers = 0  # a new episode: its line counts its own answers
                self._arm(delay, first=True)
                return
            if not self._unreported:
                self._unreported_since = self._clock()
            self._unreported += 1
            if self._timer is None:
                self._arm(self._wait(), first=False)

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _wait(self) -> float:
        """Seconds until the next answer is allowed."""
        return 0.0 if self._last_answer is None else self._last_answer + self._min_interval - self._clock()

    def _arm(self, delay: float, first: bool) -> None:
        """Under the lock."""
        self._timer, self._timer_is_first = threading.Timer(delay, self._fire_guarded), first
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._timer is not threading.current_thread():
                return  # cancelled as it fired
            self._timer = None
            answer, self._pending = self._pending > 0, 0
            if answer:
                self._last_answer = self._clock()
                self._answers += 1
                self.stats["republishes"] += 1
            report = self._unreported_report()
        if report:
            report()
        if answer:
            self._republish()

    def _unreported_report(self) -> Callable[[], None] | None:
        """Under the lock: the line about the births since the last one, at the interval's end
        (after the first answer, a report is armed for then, unless a birth arms an answer)."""
        if not self._unreported:
            return None
        if self._timer_is_first:
            self._arm(self._min_interval, first=False)
            return None
        births, answers, seconds = self._unreported, self._answers, self._clock() - self._unreported_since
        self._unreported, self._answers = 0, 0
        return lambda: self._say(births, answers, seconds)

    def _say(self, births: int, answers: int, seconds: float) -> None:
        flood = births > FLOOD_BIRTHS
        log.log(
            logging.WARNING if flood else logging.INFO,
            "Home Assistant: %d more birth messages in the last %.1f s, answered with %d full republish(es) "
            "in all (at most one every %g s: homeassistant.birth_republish_min_interval)%s",
            births,
            seconds,
            answers,
            self._min_interval,
            ". Is another client publishing on the birth topic?" if flood else "",
        )
