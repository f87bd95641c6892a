"""bridge.gateway.live on fake clocks: fresh or stale, and the stream switched on when it should be
(disabled or stale, never when it reads enabled, at most once a minute unless the last enable
took, a refusal said once)."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from bridge.errors import EnvoyHTTPError, EnvoyUnavailable
from bridge.gateway.live import LiveStream
from bridge.model import LIVE_PATH, LIVE_STREAM_PATH, GatewayInfo, LiveData
from bridge.model.parse.livedata import LiveMeter
from tests.support.clock import FakeClock

SERIAL = "999000000001"
INFO = GatewayInfo(SERIAL, "8.2.4382", "800-00654-r08", True, True)


class StreamClient:
    """Answers the enable as the gateway does, or with `fault`; remembers every POST."""

    def __init__(self, fault: Exception | None = None):
        self.fault, self.posts = fault, []

    def post_json(self, endpoint, document):
        self.posts.append((endpoint, dict(document)))
        if self.fault is not None:
            raise self.fault
        return b'{"sc_stream":"enabled"}'


def sample(clock: FakeClock, stream: str | None = "enabled", age: float = 1.0) -> LiveData:
    return LiveData(stream, int(clock.time() - age), pv=LiveMeter(1500.0, ()), main_relay_state=1)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture(autouse=True)
def everything_logged(caplog):
    caplog.set_level(logging.DEBUG)


def live_stream(clock, client=None) -> tuple[LiveStream, StreamClient]:
    client = client or StreamClient()
    stream = LiveStream(client, clock.monotonic, clock.time)
    stream.restart(SERIAL)
    return stream, client


def lines(caplog, level=logging.INFO):
    return [r.getMessage() for r in caplog.records if r.name == "bridge.gateway.live" and r.levelno >= level]


def test_a_fresh_sample_becomes_the_document_and_an_enabled_stream_is_left_alone(clock):
    stream, client = live_stream(clock)
    parsed = {LIVE_PATH: sample(clock)}
    document = stream.read(parsed, interval=1.0)
    assert document is not None and document.as_payload()["pv_power_w"] == 1500.0
    assert document.time == int(clock.time()) and LIVE_PATH in parsed
    assert client.posts == []


def test_a_disabled_stream_is_switched_on_at_most_once_a_minute(clock, caplog):
    stream, client = live_stream(clock)
    for _ in range(125):  # two minutes of one-second reads that still say "disabled"
        assert stream.read({LIVE_PATH: sample(clock, "disabled")}, interval=1.0) is not None  # live meanwhile
        clock.advance(1.0)
    assert client.posts == [(LIVE_STREAM_PATH, {"enable": 1})] * 3  # at 0, 60 and 120 s
    assert len(lines(caplog)) == 1 and "switched it on" in lines(caplog)[0]  # then at DEBUG


def test_a_stream_the_gateway_timed_out_is_switched_on_again_within_seconds(clock):
    stream, client = live_stream(clock)
    for status in ("disabled", "enabled", "enabled", "disabled", "disabled", "disabled", "disabled", "disabled"):
        stream.read({LIVE_PATH: sample(clock, status)}, interval=1.0)
        clock.advance(1.0)
    # on at 0 s; it took (read enabled), timed out at 3 s, so again at 5 s, not a minute later
    assert client.posts == [(LIVE_STREAM_PATH, {"enable": 1})] * 2


def test_a_stale_sample_is_dropped_and_the_stream_switched_on_unless_it_reads_enabled(clock):
    stream, client = live_stream(clock)
    parsed = {LIVE_PATH: sample(clock, "enabled", age=600)}
    assert stream.read(parsed, interval=1.0) is None and parsed == {}
    assert client.posts == []  # enabled: the gateway may answer 400 to another enable
    stream.restart(SERIAL)
    parsed = {LIVE_PATH: sample(clock, None, age=600)}  # the firmware does not say
    assert stream.read(parsed, interval=1.0) is None and parsed == {}
    assert client.posts == [(LIVE_STREAM_PATH, {"enable": 1})]


@pytest.mark.parametrize("interval, stale_after", [(1.0, 10.0), (5.0, 15.0), (20.0, 60.0)])
def test_a_frozen_sample_goes_stale_after_three_polls_and_ten_seconds_at_least(clock, interval, stale_after):
    stream, _ = live_stream(clock)
    frozen = sample(clock, age=0)
    seen = []
    for _ in range(int(2 * stale_after / interval) + 1):
        seen.append((clock.monotonic(), stream.fresh(frozen, interval)))
        clock.advance(interval)
    assert next(t for t, fresh in seen if not fresh) == pytest.approx(stale_after + interval, abs=interval)
    assert all(fresh for t, fresh in seen if t <= stale_after)


def test_an_advancing_sample_is_live_even_with_the_gateways_clock_far_behind(clock):
    stream, _ = live_stream(clock)
    assert not stream.fresh(sample(clock, age=600), 1.0)  # at first sight only its age tells
    for _ in range(5):
        clock.advance(1.0)
        assert stream.fresh(sample(clock, age=600), 1.0)  # it moves: the clock is off, the data live


def test_a_sample_never_taken_is_stale(clock):
    stream, client = live_stream(clock)
    parsed = {LIVE_PATH: replace(sample(clock, "disabled"), last_update=None)}
    assert stream.read(parsed, 1.0) is None and len(client.posts) == 1


def test_a_refused_enable_is_said_once_and_not_asked_again_until_the_next_probe(clock, caplog):
    refused = EnvoyHTTPError(401, "gw /ivp/livedata/stream: refused for this token (not available to it)")
    stream, client = live_stream(clock, StreamClient(refused))
    for _ in range(3):
        assert stream.read({LIVE_PATH: sample(clock, "disabled")}, 1.0) is not None  # reads go on
        clock.advance(61.0)
    assert len(client.posts) == 1
    stream.restart(SERIAL)  # a new probe: perhaps a new token
    stream.read({LIVE_PATH: sample(clock, "disabled")}, 1.0)
    assert len(client.posts) == 2
    assert lines(caplog) == [
        (
            f"Gateway {SERIAL}: the gateway refuses to switch its live-data stream on for this token "
            "(gw /ivp/livedata/stream: refused for this token (not available to it)); "
            "live data are read as the gateway gives them"
        )
    ]


def test_any_other_failure_is_tried_again_a_minute_later_without_a_word(clock, caplog):
    stream, client = live_stream(clock, StreamClient(EnvoyUnavailable("gw: timed out")))
    for _ in range(3):
        stream.read({LIVE_PATH: sample(clock, "disabled")}, 1.0)
        clock.advance(30.0)
    assert len(client.posts) == 2 and lines(caplog) == []


def test_why_the_live_data_are_not_polled_is_said_once_per_firmware(clock, caplog):
    stream, _ = live_stream(clock)
    for _ in range(2):
        stream.probed(INFO, False, "gw /ivp/livedata/status: HTTP 404 (the gateway does not have this endpoint)", False)
    stream.probed(INFO, True, None, False)
    stream.probed(replace(INFO, firmware="5.0.62", web_tokens=False), False, None, False)
    stream.probed(INFO, False, None, True)
    stream.probed(INFO, False, None, False)
    assert [line.split("no live data (")[1] for line in lines(caplog)] == [
        "gw /ivp/livedata/status: HTTP 404 (the gateway does not have this endpoint)): no live topic",
        "firmware 5.0.62 has none, it needs 7 or later): no live topic",
        "poll.live is 0): no live topic",
        "no CTs and no Ensemble devices, where the gateway reports only zeros): no live topic",
    ]
