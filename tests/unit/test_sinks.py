"""The fan-out: every sink in order, and a sink's bug contained (logged, the others still run)."""

from __future__ import annotations

import logging

from bridge.model import LiveDocument
from bridge.model.snapshot import Availability
from bridge.sinks import FanOut, Sink
from tests.support.sinks import SERIAL, make_snapshot


class Heard(Sink):
    """Writes what it hears into a shared list, under its name."""

    def __init__(self, name: str, heard: list[str]):
        self.name, self.heard = name, heard

    def snapshot(self, snapshot):
        self.heard.append(f"{self.name}:snapshot")

    def grid_status(self, serial, status):
        self.heard.append(f"{self.name}:{status}")

    def live(self, serial, document):
        self.heard.append(f"{self.name}:live {document.pv_power_w}")

    def availability(self, event):
        self.heard.append(f"{self.name}:{'online' if event.online else 'offline'}")


class Broken(Sink):
    def __init__(self):
        self.broken = True

    def snapshot(self, snapshot):
        if self.broken:
            raise ZeroDivisionError("a bug in an output")

    def grid_status(self, serial, status):
        raise KeyError("another bug")


def sink_errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bridge.sinks"]


def test_a_cycle_goes_sink_by_sink_so_the_sink_order_is_the_message_order():
    heard: list[str] = []
    fan = FanOut([Heard("state", heard), Heard("availability", heard), Heard("diagnostics", heard)])
    fan.cycle(make_snapshot(), [Availability(SERIAL, True)])
    assert heard == [
        "state:snapshot",
        "state:online",
        "availability:snapshot",
        "availability:online",
        "diagnostics:snapshot",
        "diagnostics:online",
    ]


def test_grid_status_live_data_and_availability_reach_every_sink_in_order():
    heard: list[str] = []
    fan = FanOut([Heard("a", heard), Heard("b", heard), Sink()])  # a sink that hears nothing of it
    fan.grid_status(SERIAL, "off_grid")
    fan.live(SERIAL, LiveDocument(time=1, pv_power_w=1.5))
    fan.availability(Availability(SERIAL, False, "down"))
    fan.snapshot(make_snapshot())
    assert heard == [
        "a:off_grid",
        "b:off_grid",
        "a:live 1.5",
        "b:live 1.5",
        "a:offline",
        "b:offline",
        "a:snapshot",
        "b:snapshot",
    ]


def test_a_broken_sink_is_logged_once_with_its_traceback_and_the_others_still_run(caplog):
    caplog.set_level(logging.DEBUG)
    heard: list[str] = []
    broken = Broken()
    fan = FanOut([Heard("before", heard), broken, Heard("after", heard)])
    for _ in range(3):
        fan.cycle(make_snapshot())
    assert heard == ["before:snapshot", "after:snapshot"] * 3
    errors = sink_errors(caplog)
    assert [r.levelname for r in errors] == ["ERROR", "DEBUG", "DEBUG"]  # once per failing streak
    assert errors[0].exc_info is not None and errors[0].exc_info[0] is ZeroDivisionError
    assert errors[0].getMessage() == f"Gateway {SERIAL}: unexpected error in Broken.snapshot"


def test_each_method_of_a_sink_fails_on_its_own_and_a_new_failure_after_a_success_is_logged_again(caplog):
    caplog.set_level(logging.DEBUG)
    broken = Broken()
    fan = FanOut([broken])
    fan.snapshot(make_snapshot())
    fan.grid_status(SERIAL, "on_grid")  # another method: its own first failure
    broken.broken = False
    fan.snapshot(make_snapshot())
    broken.broken = True
    fan.snapshot(make_snapshot())
    assert [(r.levelname, r.getMessage().rsplit(" ", 1)[-1]) for r in sink_errors(caplog)] == [
        ("ERROR", "Broken.snapshot"),
        ("ERROR", "Broken.grid_status"),
        ("ERROR", "Broken.snapshot"),
    ]
