"""bridge.gateway.deadline: the watchdog, and a real trickling server cut at the whole-request deadline (E3)."""

from __future__ import annotations

import threading
import time

import pytest

from bridge.errors import EnvoyUnavailable
from bridge.gateway.deadline import Cut, Watchdog
from tests.support.loopback import QuietHandler, direct_client, serving
from tests.support.mqtt import wait_for


def test_e3_trickling_gateway_is_cut_at_the_whole_request_deadline():
    """A real server sending one byte every 20 ms: each read is quick, the whole answer is not."""

    class Trickle(QuietHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            self.trickle()

    with serving(Trickle) as port:
        client = direct_client(port, scheme="http", connect_timeout=0.2, read_timeout=0.3)
        client.retry_budget_s = 1e-9  # one attempt
        started = time.monotonic()
        with pytest.raises(EnvoyUnavailable, match=r"timed out \(no complete answer within 0.5 s\)"):
            client.fetch_info()
        assert time.monotonic() - started < 2
        client.close()


def test_watchdog_fires_once_and_holds_one_deadline_per_owner():
    fired = threading.Event()
    calls = []
    watchdog = Watchdog()
    watchdog.arm("gw", 0.05, lambda: (calls.append("late"), fired.set()))
    assert fired.wait(5) and calls == ["late"]
    for _ in range(10_000):  # requests that finish in time: armed, then disarmed
        watchdog.arm("gw", 60, lambda: calls.append("never"))
        watchdog.disarm("gw")
    watchdog.arm("a", 60, lambda: None)
    watchdog.arm("a", 60, lambda: None)  # a new deadline replaces the owner's old one
    assert watchdog.armed == 1
    watchdog.disarm("a")
    assert watchdog.armed == 0 and calls == ["late"]


def test_a_failing_callback_does_not_stop_the_other_deadlines():
    later = threading.Event()

    def broken():
        raise RuntimeError("a bug in one gateway's callback")

    watchdog = Watchdog()
    watchdog.arm("broken", 0.01, broken)
    watchdog.arm("healthy", 0.05, later.set)
    assert later.wait(5)
    assert watchdog.armed == 0


def test_a_deadline_disarmed_in_time_never_fires():
    calls = []
    last = threading.Event()
    watchdog = Watchdog()
    watchdog.arm("finished", 0.05, lambda: calls.append("finished"))
    watchdog.disarm("finished")
    watchdog.arm("marker", 0.1, last.set)  # fires after the disarmed one would have
    assert last.wait(5)
    assert calls == []


def test_each_request_has_its_own_cut_so_a_late_one_marks_only_its_own_request():
    cuts = []
    watchdog = Watchdog()
    first, second = Cut(lambda: cuts.append("first")), Cut(lambda: cuts.append("second"))
    watchdog.arm("gw", 0.01, first)
    assert wait_for(lambda: first.fired, 5)
    watchdog.arm("gw", 60, second)  # the next request of the same gateway
    watchdog.disarm("gw")
    assert (first.fired, second.fired, cuts) == (True, False, ["first"])
