"""Injected faults and the request counters of the simulated gateway."""

from __future__ import annotations

from bridge.simulator.faults import Fault, Faults


def test_a_fault_matches_a_glob_or_every_path():
    assert Fault(1).matches("/anything")
    assert Fault(1, "/ivp/meters/*").matches("/ivp/meters/readings")
    assert not Fault(1, "/ivp/meters/*").matches("/ivp/meters")


def test_faults_are_used_up_in_order():
    faults = Faults()
    faults.add(Fault(2, "/ivp/*", status=503))
    faults.add(Fault(1, delay_s=0.5))
    assert faults.pending == 3
    assert faults.take("/info").delay_s == 0.5  # the first queued fault that matches
    assert faults.take("/info") is None
    assert [faults.take("/ivp/meters").status for _ in range(2)] == [503, 503]
    assert faults.take("/ivp/meters") is None and faults.pending == 0


def test_clear_drops_every_queued_fault():
    faults = Faults()
    faults.add(Fault(5, drop=True))
    faults.clear()
    assert faults.pending == 0 and faults.take("/info") is None


def test_counters_and_their_snapshot():
    faults = Faults()
    faults.count_request("/info", [])
    faults.count_request("/ivp/meters", ["bearer", "cookie"])
    faults.count_request("/ivp/meters", ["cookie"])
    faults.count_request("/admin/lib/tariff", ["cookie"], "PUT")
    faults.count_request("/admin/lib/tariff", ["cookie"], "HEAD")
    faults.count_cloud("login")
    counts = faults.counts()
    assert counts == {
        "paths": {"/info": 1, "/ivp/meters": 2, "/admin/lib/tariff": 2},
        "auth": {"none": 1, "bearer": 1, "cookie": 4},
        "cloud": {"login": 1},
        "writes": {"/admin/lib/tariff": 1},
    }
    counts["paths"]["/info"] = 99  # a snapshot: changing it changes nothing
    assert faults.counts()["paths"]["/info"] == 1
    faults.reset_counts()
    assert faults.counts() == {"paths": {}, "auth": {}, "cloud": {}, "writes": {}}
