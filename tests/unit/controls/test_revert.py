"""The revert watch, on a fake clock."""

from __future__ import annotations

from bridge.controls.revert import RevertWatch
from tests.support.clock import FakeClock


def test_a_change_back_within_the_window_is_reported_once():
    clock = FakeClock(0.0)
    watch = RevertWatch(600, clock.monotonic)
    watch.watch("storage/mode", "backup", "m1")
    assert watch.check("storage/mode", "backup") is None
    assert watch.check("storage/mode", None) is None  # no reading: no news
    clock.advance(95)
    reverted = watch.check("storage/mode", "self-consumption")
    assert (reverted.command_id, reverted.value, reverted.confirmed, reverted.after_s) == (
        "m1",
        "self-consumption",
        "backup",
        95,
    )
    assert watch.check("storage/mode", "self-consumption") is None
    assert watch.paths() == []


def test_nothing_after_the_window_or_once_forgotten():
    clock = FakeClock(0.0)
    watch = RevertWatch(600, clock.monotonic)
    watch.watch("relay/NC1", "ON", None)
    watch.watch("generator/mode", "on", None)
    watch.forget("generator/mode")
    assert watch.check("generator/mode", "off") is None
    clock.advance(601)
    assert watch.check("relay/NC1", "OFF") is None
    assert not watch.watching("relay/NC1")


def test_a_window_of_zero_watches_nothing():
    watch = RevertWatch(0, FakeClock(0.0).monotonic)
    watch.watch("storage/mode", "backup", None)
    assert watch.paths() == []
