"""bridge.health: the document `run` writes and the one-line verdict `health` gives from it."""

from __future__ import annotations

import json
import logging
import os
import stat
import threading

import pytest

from bridge.health import GatewayHealth, HealthMonitor, HealthReport, PublishWatch, paho_thread_alive, verdict
from bridge.model import LiveDocument
from bridge.model.snapshot import Availability
from tests.support.sinks import make_snapshot

NOW = 1_700_000_000.0
MAX_AGE = 300.0


def report(**changes) -> HealthReport:
    settings = {
        "written": NOW - 2,
        "started": NOW - 3600,
        "max_silence_s": 900.0,
        "broker_last_reached": NOW - 1,
        "mqtt_thread_alive": True,
        "gateways": (GatewayHealth("122233445566", True, True, NOW - 10), GatewayHealth("[::1]:8443", True, True, NOW)),
    }
    settings.update(changes)
    return HealthReport(**settings)


def gateway(**changes) -> GatewayHealth:
    settings = {"label": "envoy.local:8443", "thread_alive": True, "online": True, "last_publish": NOW - 10}
    settings.update(changes)
    return GatewayHealth(**settings)


def test_a_running_bridge_is_healthy_and_says_so_in_one_line():
    assert report().problem(NOW, MAX_AGE) is None
    assert report().summary(NOW) == "2 of 2 gateway(s) online, last publish 0 s ago"


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"written": NOW - 301}, "the bridge last wrote its health document 301 s ago"),
        ({"mqtt_thread_alive": False}, "the MQTT network thread has died"),
        ({"gateways": (gateway(thread_alive=False),)}, "the worker thread of gateway envoy.local:8443 has died"),
        ({"broker_last_reached": NOW - 400}, "the MQTT broker was last reached 400 s ago"),
        ({"broker_last_reached": None, "started": NOW - 301}, "the MQTT broker was last reached 301 s ago"),
        (
            {"gateways": (gateway(last_publish=NOW - 901),)},
            "nothing published for gateway envoy.local:8443 in 901 s (limit 900 s)",
        ),
        (
            {"started": NOW - 1000, "gateways": (gateway(online=None, last_publish=None),)},
            "nothing published for gateway envoy.local:8443 in 1000 s (limit 900 s)",
        ),
    ],
)
def test_each_reason_to_be_unhealthy(changes, reason):
    assert report(**changes).problem(NOW, MAX_AGE) == reason


def test_an_offline_gateway_is_the_gateway_s_fault_not_the_bridge_s():
    quiet = report(gateways=(gateway(online=False, last_publish=NOW - 86400),))
    assert quiet.problem(NOW, MAX_AGE) is None
    assert quiet.summary(NOW) == "0 of 1 gateway(s) online, last publish 86400 s ago"


def test_the_document_round_trips_and_anything_else_is_refused():
    original = report()
    assert HealthReport.from_json(original.to_json()) == original
    for data in (b"", b"[]", b"{}", b"\xff", b'{"format": 2}', json.dumps({"format": 1, "written": 1}).encode()):
        with pytest.raises(ValueError, match="not a health document"):
            HealthReport.from_json(data)


def test_verdict_reads_the_file_in_one_line(tmp_path):
    path = tmp_path / "health"
    assert verdict(path, NOW, MAX_AGE) == (
        False,
        f"unhealthy: no health document at {path} (the bridge is not running, or just started)",
    )
    path.write_bytes(b"")  # what the bridge's health file was before: touched, empty
    assert verdict(path, NOW, MAX_AGE) == (False, f"unhealthy: {path}: not a health document of this version")
    path.write_bytes(report(mqtt_thread_alive=False).to_json())
    assert verdict(path, NOW, MAX_AGE) == (False, "unhealthy: the MQTT network thread has died")
    path.write_bytes(report().to_json())
    assert verdict(path, NOW, MAX_AGE) == (True, "healthy: 2 of 2 gateway(s) online, last publish 0 s ago")


def test_verdict_never_follows_a_symlink(tmp_path):
    (tmp_path / "elsewhere").write_bytes(report().to_json())
    (tmp_path / "health").symlink_to(tmp_path / "elsewhere")
    healthy, line = verdict(tmp_path / "health", NOW, MAX_AGE)
    assert (
        not healthy
        and line
        == f"unhealthy: cannot read the health document: {tmp_path / 'health'}: is a symbolic link; not following it"
    )


def test_the_watch_notes_output_only_while_the_broker_is_connected():
    connected = [False]
    clock = iter([NOW, NOW + 1, NOW + 2, NOW + 3, NOW + 4])
    watch = PublishWatch(lambda: connected[0], clock=lambda: next(clock))
    watch.snapshot(make_snapshot())
    assert watch.last_publish is None
    connected[0] = True
    watch.snapshot(make_snapshot())
    watch.grid_status("1", "off_grid")
    assert watch.last_publish == NOW + 1  # the clock is read once per output that went out
    watch.live("1", LiveDocument(time=1, pv_power_w=1.0))
    assert watch.last_publish == NOW + 1  # live data alone never keep a gateway whose state stopped healthy
    watch.availability(Availability("1", False, "gone"))
    assert (watch.online, watch.last_publish) == (False, NOW + 2)


class Clocks:
    def __init__(self):
        self.wall, self.mono = NOW, 0.0

    def advance(self, seconds):
        self.wall += seconds
        self.mono += seconds


def monitor(path, clocks, connected=True, **kw) -> HealthMonitor:
    return HealthMonitor(
        path,
        900.0,
        connected=lambda: connected,
        mqtt_thread_alive=lambda: True,
        clock=lambda: clocks.wall,
        monotonic=lambda: clocks.mono,
        **kw,
    )


def test_the_monitor_writes_every_few_seconds_0600_and_knows_its_threads(tmp_path):
    clocks = Clocks()
    health = monitor(tmp_path / "cache" / "health", clocks, every_s=5)
    watch = health.watch("envoy.local:8443")
    thread = threading.Thread(target=lambda: None)
    thread.start()
    thread.join()
    health.threads_started([thread])
    health.tick()
    first = os.stat(tmp_path / "cache" / "health").st_mtime_ns
    clocks.advance(4)
    watch.snapshot(make_snapshot())
    health.tick()
    assert os.stat(tmp_path / "cache" / "health").st_mtime_ns == first  # not due yet
    clocks.advance(1)
    health.tick()
    written = HealthReport.from_json((tmp_path / "cache" / "health").read_bytes())
    assert written.gateways == (GatewayHealth("envoy.local:8443", False, None, NOW + 4),)
    assert written.broker_last_reached == NOW + 5 and written.written == NOW + 5
    assert stat.S_IMODE(os.stat(tmp_path / "cache" / "health").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "cache").st_mode) == 0o700


def test_a_failing_write_is_logged_once_per_streak_and_never_raised(tmp_path, caplog):
    clocks = Clocks()
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache directory should be")
    health = monitor(blocker / "health", clocks, every_s=1)
    with caplog.at_level(logging.INFO, logger="bridge"):
        for _ in range(10):
            health.tick()
            clocks.advance(1)
        blocker.unlink()
        health.tick()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"Cannot write the health document ({blocker}: is not a directory); `health` will say unhealthy",
        f"The health document {blocker / 'health'} is written again",
    ]


def test_paho_thread_alive_is_unknown_for_a_stand_in_publisher():
    assert paho_thread_alive(object()) is None


def test_paho_thread_alive_follows_the_thread_and_says_dead_once_paho_dropped_it():
    class Client:
        _thread = None

    class Publisher:
        _client = Client()

    publisher = Publisher()
    assert paho_thread_alive(publisher) is False  # paho sets it to None when its thread ends
    done = threading.Thread(target=lambda: None)
    done.start()
    done.join()
    publisher._client._thread = done
    assert paho_thread_alive(publisher) is False
    running = threading.Event()
    publisher._client._thread = threading.Thread(target=running.wait, daemon=True)
    publisher._client._thread.start()
    assert paho_thread_alive(publisher) is True
    running.set()
