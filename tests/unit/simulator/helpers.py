"""The simulator unit tests' fakes: a clock moved by hand and scenarios on it (no sockets)."""

from __future__ import annotations

import json
from dataclasses import replace

from bridge.simulator.clock import SimClock
from bridge.simulator.living import LivingSource
from bridge.simulator.physics import World
from bridge.simulator.scenario import load_scenario

SCENARIOS = ("standard", "metered", "three_phase_battery")
START = 1_800_000_000.0  # 2027-01-15 08:00 UTC


class FakeTime:
    """A `time_func` that stands still until the test moves `now`."""

    def __init__(self, now: float = START):
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_world(name: str, start: str = "00:00", factor: float = 1.0, **changes: object):
    """A built-in scenario's physics in UTC, its fake time and its clock."""
    fake = FakeTime()
    scenario = replace(load_scenario(name), timezone="UTC", **changes)
    clock = SimClock(fake, factor, start, "UTC")
    return World(scenario, clock), fake, clock


def living(name: str, start: str = "12:00", **changes: object):
    """A living gateway for a built-in scenario in UTC, and its fake time."""
    fake = FakeTime()
    scenario = replace(load_scenario(name), timezone="UTC", **changes)
    return LivingSource(scenario, SimClock(fake, 1.0, start, "UTC")), fake


def body(source, path: str, query: str = ""):
    """The decoded body a source answers (bytes for the XML of /info); it must answer 200."""
    status, content_type, raw = source.answer(path, query)
    assert status == 200, path
    return raw if content_type == "text/xml" else json.loads(raw)
