"""The request statistics: counts, failures, 401s and latency percentiles over the last hour."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from bridge.gateway.stats import MAX_BIN, RequestStats, bin_upper_s, latency_bin, percentile
from tests.support.clock import FakeClock


def stats() -> tuple[RequestStats, FakeClock]:
    clock = FakeClock()
    return RequestStats(clock.monotonic), clock


def test_counts_failures_and_refusals_per_endpoint_and_in_total():
    collector, _ = stats()
    for status in (200, 200, 401, 403, 404, None):
        collector.record("/ivp/meters", 0.05, status)
    collector.record("/info", 0.01, 200)
    snapshot = collector.snapshot()
    meters = snapshot["endpoints"]["/ivp/meters"]
    assert (meters["requests"], meters["failures"], meters["auth_refused"]) == (6, 4, 2)
    assert snapshot["total"]["requests"] == 7 and snapshot["total"]["failures"] == 4
    assert list(snapshot["endpoints"]) == ["/info", "/ivp/meters"]


def test_percentiles_are_the_upper_edge_of_their_bin_never_below_the_truth():
    collector, _ = stats()
    for latency in [0.1] * 98 + [2.0, 2.0]:
        collector.record("/production.json?details=1", latency, 200)
    summary = collector.snapshot()["endpoints"]["/production.json?details=1"]
    assert 0.1 <= summary["latency_p50_s"] < 0.1 * 1.19
    assert 2.0 <= summary["latency_p99_s"] < 2.0 * 1.19


@pytest.mark.parametrize("seconds", [0.0011, 0.0123, 0.17, 3.6, 55.0])
def test_a_latency_falls_in_the_bin_whose_edges_surround_it(seconds):
    index = latency_bin(seconds)
    assert bin_upper_s(index - 1) < seconds <= bin_upper_s(index)


def test_the_extremes_share_the_first_and_last_bins():
    assert latency_bin(0.0) == latency_bin(0.001) == 0
    assert latency_bin(1e9) == MAX_BIN


def test_no_samples_have_no_percentile():
    assert percentile(Counter(), 0.5) is None


def test_only_the_last_hour_counts():
    collector, clock = stats()
    collector.record("/ivp/meters", 0.05, 200)
    clock.advance(30 * 60)
    collector.record("/ivp/meters", 0.05, 500)
    assert collector.snapshot()["endpoints"]["/ivp/meters"]["requests"] == 2
    clock.advance(31 * 60)
    edge = round(bin_upper_s(latency_bin(0.05)), 4)
    assert collector.snapshot()["endpoints"]["/ivp/meters"] == {
        "requests": 1,
        "failures": 1,
        "auth_refused": 0,
        "latency_p50_s": edge,
        "latency_p99_s": edge,
    }
    clock.advance(60 * 60)
    assert collector.snapshot() == {
        "total": {"requests": 0, "failures": 0, "auth_refused": 0, "latency_p50_s": None, "latency_p99_s": None},
        "endpoints": {},
    }


def test_memory_is_bounded_by_the_minutes_not_the_requests():
    collector, clock = stats()
    for _ in range(3 * 60):
        for _ in range(100):
            collector.record("/ivp/livedata/status", 0.17, 200)
        clock.advance(60)
    buckets = collector._minutes["/ivp/livedata/status"]
    assert len(buckets) == 60 and all(len(b.latencies) == 1 for b in buckets)


def test_threads_recording_at_once_lose_nothing():
    collector, _ = stats()

    def hammer() -> None:
        for _ in range(2000):
            collector.record("/ivp/meters", 0.01, 200)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert collector.snapshot()["total"]["requests"] == 8000
