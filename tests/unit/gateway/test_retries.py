"""bridge.gateway.retries: the first attempt outside tenacity, a failure handed to it as its own first."""

from __future__ import annotations

import random
import time

import pytest
from tenacity import Retrying

from bridge.errors import EnvoyDataError, EnvoyTransient, EnvoyUnavailable
from bridge.gateway.retries import MAX_ATTEMPTS, Retries
from bridge.gateway.transport import NotSent


class Script:
    """Attempts that raise the given errors in turn, then answer "ok"."""

    def __init__(self, *errors: Exception, seconds: float = 0.0):
        self.errors, self.seconds, self.calls = list(errors), seconds, 0

    def __call__(self, word: str) -> str:
        self.calls += 1
        time.sleep(self.seconds)
        if self.errors:
            raise self.errors.pop(0)
        return f"{word} ok"


def test_a_first_attempt_that_succeeds_never_enters_tenacity(monkeypatch):
    monkeypatch.setattr(Retrying, "__iter__", lambda self: pytest.fail("tenacity was entered"))
    attempts, slept = Script(), []
    assert Retries(slept.append).run(attempts, ("poll",), EnvoyTransient, 30) == "poll ok"
    assert (attempts.calls, slept) == (1, [])


def test_a_failure_is_retried_by_tenacity_after_its_wait():
    attempts, slept = Script(EnvoyTransient("HTTP 503"), EnvoyTransient("refused")), []
    assert Retries(slept.append).run(attempts, ("poll",), EnvoyTransient, 30) == "poll ok"
    assert attempts.calls == 3 and len(slept) == 2 and all(0 <= s <= 10 for s in slept)


def test_the_last_failure_is_unavailable_with_the_number_of_attempts():
    attempts, slept = Script(*[EnvoyTransient("HTTP 503")] * MAX_ATTEMPTS), []
    with pytest.raises(EnvoyUnavailable, match=r"^HTTP 503 \(3 attempts\)$"):
        Retries(slept.append).run(attempts, ("poll",), EnvoyTransient, 30)
    assert attempts.calls == MAX_ATTEMPTS and len(slept) == MAX_ATTEMPTS - 1


def test_the_budget_counts_the_first_attempt(monkeypatch):
    monkeypatch.setattr(random, "uniform", lambda low, high: 0.0)  # tenacity's wait: none
    attempts = Script(EnvoyTransient("timed out"), seconds=0.05)
    with pytest.raises(EnvoyUnavailable, match=r"\(1 attempt\)"):
        Retries(lambda s: None).run(attempts, ("poll",), EnvoyTransient, 0.04)  # spent by the first attempt
    assert attempts.calls == 1


def test_what_is_not_worth_a_retry_is_not_retried():
    write = Script(EnvoyTransient("connection reset"))  # a write that may have arrived: NotSent only
    with pytest.raises(EnvoyUnavailable, match=r"^connection reset \(1 attempt\)$"):
        Retries(lambda s: None).run(write, ("write",), NotSent, 30)
    broken = Script(EnvoyDataError("body too large"))
    with pytest.raises(EnvoyDataError):
        Retries(lambda s: None).run(broken, ("poll",), EnvoyTransient, 30)
    assert (write.calls, broken.calls) == (1, 1)
