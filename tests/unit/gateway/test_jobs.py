"""Work handed to a worker's thread: run once, when due, a bug contained."""

from __future__ import annotations

import threading

from bridge.gateway.jobs import MAX_PENDING, Jobs
from tests.support.clock import FakeClock


def test_jobs_run_in_order_when_due():
    clock = FakeClock(0.0)
    jobs, ran = Jobs(clock.monotonic), []
    jobs.submit(lambda: ran.append("later"), delay=5)
    jobs.submit(lambda: ran.append("first"))
    jobs.submit(lambda: ran.append("second"))
    jobs.run_due()
    assert ran == ["first", "second"]
    assert jobs.next_due() == 5
    clock.advance(5)
    jobs.run_due()
    assert ran == ["first", "second", "later"]
    assert jobs.next_due() is None


def test_a_failing_job_is_logged_and_the_next_runs(caplog):
    jobs, ran = Jobs(FakeClock(0.0).monotonic), []
    jobs.submit(lambda: 1 / 0)
    jobs.submit(lambda: ran.append("after"))
    jobs.run_due()
    assert ran == ["after"]
    assert "unexpected error in a job" in caplog.text


def test_a_flood_is_refused_not_queued():
    jobs = Jobs(FakeClock(0.0).monotonic)
    assert all(jobs.submit(lambda: None) for _ in range(MAX_PENDING))
    assert jobs.submit(lambda: None) is False


def test_wait_ends_when_a_job_arrives_or_the_bridge_stops():
    jobs, stop = Jobs(), threading.Event()
    threading.Timer(0.05, lambda: jobs.submit(lambda: None)).start()
    waited = threading.Thread(target=jobs.wait, args=(stop, 30.0))
    waited.start()
    waited.join(5)
    assert not waited.is_alive()
    threading.Timer(0.05, stop.set).start()
    jobs.run_due()
    waited = threading.Thread(target=jobs.wait, args=(stop, 30.0))
    waited.start()
    waited.join(5)
    assert not waited.is_alive()
