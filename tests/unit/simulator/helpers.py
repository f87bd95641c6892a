"""The simulator unit tests' scenarios and a fake gateway for its events, on a fake clock moved by
hand (no sockets)."""

from __future__ import annotations

import json
from dataclasses import replace

from bridge.simulator.clock import SimClock
from bridge.simulator.living import LivingSource
from bridge.simulator.physics import World
from bridge.simulator.scenario import load_scenario
from bridge.simulator.source import DEFAULT_CAPTURE, CaptureSource
from tests.support.clock import FakeClock

SCENARIOS = ("standard", "metered", "three_phase_battery", "ac_battery")
START = 1_800_000_000.0  # 2027-01-15 08:00 UTC


def make_world(name: str, start: str = "00:00", factor: float = 1.0, **changes: object):
    """A built-in scenario's physics in UTC, its fake time and its clock."""
    fake = FakeClock(START)
    scenario = replace(load_scenario(name), timezone="UTC", **changes)
    clock = SimClock(fake, factor, start, "UTC")
    return World(scenario, clock), fake, clock


def living(name: str, start: str = "12:00", **changes: object):
    """A living gateway for a built-in scenario in UTC, and its fake time."""
    fake = FakeClock(START)
    scenario = replace(load_scenario(name), timezone="UTC", **changes)
    return LivingSource(scenario, SimClock(fake, 1.0, start, "UTC")), fake


def body(source, path: str, query: str = ""):
    """The decoded body a source answers (bytes for the XML of /info); it must answer 200."""
    status, content_type, raw = source.answer(path, query)
    assert status == 200, path
    return raw if content_type == "text/xml" else json.loads(raw)


class FakeGateway:
    """What the Director acts on, recording what it was asked to do."""

    def __init__(self, scenario: str | None = "metered", start: str = "12:00", **changes: object):
        self.time = FakeClock(START)
        self.scenario = replace(load_scenario(scenario), timezone="UTC", **changes) if scenario else None
        self.clock = SimClock(self.time, 1.0, start, "UTC")
        self.source = LivingSource(self.scenario, self.clock) if self.scenario else CaptureSource(DEFAULT_CAPTURE)
        self.cloud_mode = "ok"
        self.calls: list[str] = []

    def revoke_token(self, token: str | None = None) -> None:
        self.calls.append("revoke_token")

    def revoke_sessions(self) -> None:
        self.calls.append("revoke_sessions")

    def stop_envoy(self) -> None:
        self.calls.append("stop_envoy")

    def start_envoy(self) -> None:
        self.calls.append("start_envoy")

    def cloud_fail(self, flow: str, failure: str) -> None:
        self.calls.append(f"cloud_fail {flow} {failure}")

    def cloud_heal(self, flow: str | None = None) -> None:
        self.calls.append(f"cloud_heal {flow}")
