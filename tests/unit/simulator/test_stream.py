"""The live stream switch on a fake clock: on, off, its real-time timeout, frozen or live samples."""

from __future__ import annotations

import pytest

from bridge.simulator.clock import SimClock
from bridge.simulator.stream import LiveStream
from tests.support.clock import FakeClock
from tests.unit.simulator.helpers import START

FACTOR = 60.0  # a fast simulated clock: the timeout must still be real seconds


def make(timeout_s: float = 300.0, frozen: bool = True):
    fake = FakeClock(START)
    clock = SimClock(fake, FACTOR, "12:00", "UTC")
    samples: list[float] = []

    def sample(t: float) -> dict[str, int]:
        samples.append(t)
        return {"last_update": int(t)}

    return LiveStream(clock, sample, timeout_s, frozen), fake, clock, samples


def last_update(stream: LiveStream) -> int:
    return stream.read()[1]["last_update"]


def test_starts_off_showing_the_sample_of_the_start():
    stream, fake, clock, _ = make()
    start = int(clock.now())
    fake.now += 30
    assert stream.read() == (False, {"last_update": start}) and not stream.enabled


def test_on_samples_now_and_a_second_enable_is_refused():
    stream, fake, clock, _ = make()
    assert stream.switch(True) and stream.enabled
    fake.now += 10
    assert stream.read() == (True, {"last_update": int(clock.now())})
    assert not stream.switch(True)  # the gateway's 400
    assert stream.stream_requests == 2 and stream.status_reads == 1


def test_turns_itself_off_after_its_timeout_in_real_seconds():
    stream, fake, clock, _ = make(timeout_s=300)
    stream.switch(True)
    fake.now += 299
    assert stream.enabled
    fake.now += 1  # 300 real seconds: 5 simulated hours at this factor
    ended = int(clock.at(fake.now))
    fake.now += 120  # noticed later: the sample is still the one of the moment it ended
    assert stream.read() == (False, {"last_update": ended})
    fake.now += 600
    assert last_update(stream) == ended  # frozen: last_update stands still
    assert stream.switch(True) and last_update(stream) == int(clock.now())  # enabling again is fine


def test_turned_off_by_request_freezes_at_that_moment():
    stream, fake, clock, samples = make()
    stream.switch(True)
    fake.now += 42
    stopped = int(clock.now())
    assert stream.switch(False) and not stream.enabled
    fake.now += 100
    assert last_update(stream) == stopped
    taken = len(samples)
    assert stream.switch(False)  # off again: accepted, nothing new sampled
    assert last_update(stream) == stopped and len(samples) == taken


def test_no_timeout_means_on_until_turned_off():
    stream, fake, _, _ = make(timeout_s=0)
    stream.switch(True)
    fake.now += 30 * 86400
    assert stream.enabled


@pytest.mark.parametrize("timeout_s", [300.0, 0.0])
def test_live_mode_keeps_sampling_while_off(timeout_s):
    stream, fake, clock, _ = make(timeout_s=timeout_s, frozen=False)
    fake.now += 5
    assert stream.read() == (False, {"last_update": int(clock.now())})
    stream.switch(True)
    fake.now += 400
    on, block = stream.read()
    assert on == (timeout_s == 0) and block == {"last_update": int(clock.now())}
