"""The fake cloud's events through the Director, on a fake gateway: what they ask of the
Simulator, and the values refused before anything is scheduled."""

from __future__ import annotations

import pytest

from bridge.simulator.events import Director
from tests.unit.simulator.helpers import FakeGateway


def test_cloud_down_and_up_switch_the_global_mode():
    director = Director(FakeGateway(None))  # a capture has a cloud too
    director.trigger("cloud_down")
    assert director.sim.cloud_mode == "down"
    director.trigger("cloud_up")
    assert director.sim.cloud_mode == "ok"


def test_cloud_fail_and_heal_reach_the_simulator():
    gateway = FakeGateway()
    director = Director(gateway)
    director.schedule("cloud_fail:flow=entrez_json:failure=gone,cloud_heal:flow=entrez_json,cloud_heal")
    assert gateway.calls == ["cloud_fail entrez_json gone", "cloud_heal entrez_json", "cloud_heal None"]


def test_later_cloud_events_fire_when_due():
    gateway = FakeGateway()
    director = Director(gateway)
    director.schedule("cloud_fail:flow=entrez_form:failure=mfa@+30s,cloud_heal@+60s")
    gateway.time.now += 31
    director.tick()
    assert gateway.calls == ["cloud_fail entrez_form mfa"]
    gateway.time.now += 30
    director.tick()
    assert gateway.calls == ["cloud_fail entrez_form mfa", "cloud_heal None"]


@pytest.mark.parametrize(
    "spec, problem",
    [
        ("cloud_fail:flow=entrez_json@+1h", "event cloud_fail needs flow=FLOW:failure=FAILURE"),
        ("cloud_fail:failure=gone", "event cloud_fail needs flow=FLOW:failure=FAILURE"),
        ("cloud_fail:flow=smoke_signals:failure=gone@+1h", "cloud flow must be one of entrez_json"),
        ("cloud_fail:flow=entrez_json:failure=meteor@+1h", "cloud failure must be one of forbidden"),
        ("cloud_heal:flow=telegraph@+1h", "cloud flow must be one of"),
        ("cloud_fail:flow=entrez_json:failure=gone:why=1", "unknown parameter"),
    ],
)
def test_bad_cloud_events_are_refused_when_scheduled_not_when_due(spec, problem):
    gateway = FakeGateway()
    director = Director(gateway)
    with pytest.raises(ValueError, match=problem):
        director.schedule(spec)
    assert director.state.schedule == [] and gateway.calls == []
