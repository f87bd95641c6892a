"""Retries of one gateway's requests: tenacity's policy, with the first attempt made outside it.

What is worth a retry (EnvoyTransient; for a write only NotSent) is tried again, at most
MAX_ATTEMPTS times in all and inside a time budget, after a random exponential wait: tenacity
decides every retry, wait and stop. But a call through tenacity costs about a tenth of a
successful poll's CPU (its call state, a Future, thread-local statistics: some 97,000 of a GET's
1,015,000 instructions under callgrind), and nearly every poll succeeds at once. So the first
attempt is a plain call; only a failure enters tenacity, as tenacity's own first attempt with
that attempt's start time and exception: the attempts, the waits, the budget and the debug log
are what tenacity alone would give.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from bridge.errors import EnvoyTransient, EnvoyUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = 3


class Retries:
    """The retry policies of one gateway: one per exception class, rebuilt when the budget changes."""

    def __init__(self, sleep: Callable[[float], None]):
        self._sleep = sleep
        self._policies: dict[type[EnvoyTransient], tuple[float, Retrying]] = {}

    def run(self, fn: Callable[..., T], args: tuple[Any, ...], retry_on: type[EnvoyTransient], budget_s: float) -> T:
        """`fn(*args)`, again on `retry_on` while attempts and `budget_s` last; EnvoyUnavailable
        (with the number of attempts) when the last one fails, or one fails with another
        EnvoyTransient."""
        started = time.monotonic()  # tenacity's clock: its budget counts the first attempt
        try:
            return fn(*args)
        except retry_on as err:
            failed: EnvoyTransient | None = err
        except EnvoyTransient as err:
            raise _unavailable(err, 1) from err
        retrying = self._policy(retry_on, budget_s)
        try:
            for attempt in retrying:
                with attempt:
                    if failed is not None:  # the attempt made above, handed to tenacity
                        attempt.retry_state.start_time, error, failed = started, failed, None
                        raise error
                    result = fn(*args)
        except EnvoyTransient as err:
            raise _unavailable(err, retrying.statistics.get("attempt_number", 1)) from err
        return result

    def _policy(self, retry_on: type[EnvoyTransient], budget_s: float) -> Retrying:
        """Built once per class and budget: tenacity keeps each call's state apart (thread-local)."""
        kept = self._policies.get(retry_on)
        if kept is not None and kept[0] == budget_s:
            return kept[1]
        retrying = Retrying(
            retry=retry_if_exception_type(retry_on),
            stop=stop_after_attempt(MAX_ATTEMPTS) | stop_before_delay(budget_s),
            wait=wait_random_exponential(multiplier=1, max=10),
            sleep=self._sleep,
            reraise=True,
            before_sleep=before_sleep_log(log, logging.DEBUG),
        )
        self._policies[retry_on] = (budget_s, retrying)
        return retrying


def _unavailable(err: EnvoyTransient, attempts: int) -> EnvoyUnavailable:
    return EnvoyUnavailable(f"{err} ({attempts} attempt{'s' if attempts > 1 else ''})")
