"""bridge.heap: cyclic garbage collected once a minute by the main loop's tick, the start frozen."""

from __future__ import annotations

import gc
import weakref

import pytest

from bridge.heap import COLLECT_EVERY_S, Heap
from tests.support.clock import FakeClock


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.fixture
def collector_off():
    """Automatic collections off, so what frees the garbage is the heap's tick; restored after."""
    was_enabled = gc.isenabled()
    gc.disable()
    yield
    gc.unfreeze()
    if was_enabled:
        gc.enable()


def _garbage_cycle() -> weakref.ref[_Node]:
    return weakref.ref(_Node())


def test_cyclic_garbage_is_collected_once_a_minute_and_the_start_frozen_at_the_first(collector_off):
    clock = FakeClock()
    heap = Heap(clock.monotonic)
    garbage = _garbage_cycle()
    clock.advance(COLLECT_EVERY_S - 1)
    heap.tick()
    assert garbage() is not None and not heap.frozen  # not before a minute
    clock.advance(1)
    heap.tick()
    assert garbage() is None
    assert heap.frozen and gc.get_freeze_count() > 0  # what lived a minute is skipped from now on
    later = _garbage_cycle()
    heap.tick()
    assert later() is not None  # the next collection is a minute away
    clock.advance(COLLECT_EVERY_S)
    heap.tick()
    assert later() is None


def test_release_gives_the_frozen_objects_back_to_the_collector(collector_off):
    clock = FakeClock()
    heap = Heap(clock.monotonic)
    clock.advance(COLLECT_EVERY_S)
    heap.tick()
    heap.release()
    assert not heap.frozen and gc.get_freeze_count() == 0
