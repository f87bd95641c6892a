"""The README's main command: simulator + broker + bridge + live view, stopped with Ctrl-C.
(The view and the address parsing alone: tests/unit/demo/.)"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support.loopback import ipv6_loopback
from tests.support.mqtt import Subscriber, free_port, wait_for

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
SERIAL = "999000000003"  # the default scenario: three phases, batteries, System Controller


class Demo:
    """`envoy-mqtt-bridge demo` in its own process group, its output collected."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bridge", "demo", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=REPO,
            start_new_session=True,
        )
        self.lines: list[str] = []
        output = self.proc.stdout
        assert output is not None
        threading.Thread(target=lambda: self.lines.extend(output), daemon=True).start()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(10)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


def group_is_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def port_closed(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except OSError:
        return True


def _subscribe(port, topics=("#",), host="127.0.0.1"):
    try:
        return Subscriber(host, port, topics)
    except OSError:
        return None


def test_demo_publishes_live_data_shows_an_outage_and_stops_cleanly():
    port = free_port()
    demo = Demo("--broker", f"127.0.0.1:{port}", "--plain", "--events", "grid_outage@+10s")
    sub = None
    try:
        sub = wait_for(lambda: _subscribe(port), timeout=20, message="the embedded broker")
        state = json.loads(sub.wait_topic(f"envoy/{SERIAL}/state", timeout=20))
        assert state["production"]["power_w"] > 0 and state["consumption"]["power_w"] > 0
        assert state["grid"]["status"] == "on_grid" and "storage" in state["meters"]
        assert sub.wait_topic(f"envoy/{SERIAL}/availability") == b"online"
        assert sub.wait_topic("envoy/bridge/demo/availability") == b"online"
        sub.wait_topic(f"homeassistant/sensor/{SERIAL}/production/config")
        sub.wait_topic(f"envoy/{SERIAL}/grid/status", timeout=25, payload=b"off_grid")
        sub.close()
        sub = wait_for(lambda: _subscribe(port, ("envoy/#",)), message="a late subscriber")
        assert sub.wait_topic(f"envoy/{SERIAL}/grid/status") == b"off_grid"  # retained for it
        sub.wait_topic(f"envoy/{SERIAL}/state")
        assert sub.retained[f"envoy/{SERIAL}/grid/status"] and sub.retained[f"envoy/{SERIAL}/state"]
        sub.close()
        sub = None
        wait_for(
            lambda: any("production" in line and " W" in line for line in demo.lines),
            timeout=10,
            message="the live view",
        )
        assert demo.interrupt() == 0
    finally:
        if sub:
            sub.close()
        demo.kill()
    assert wait_for(lambda: group_is_gone(demo.proc.pid), timeout=5, message="no process left")
    assert port_closed(port)
    output = demo.output
    assert f"127.0.0.1:{port} (embedded broker)" in output and "mosquitto_sub -h 127.0.0.1" in output
    assert "production" in output and "stopped" in output and "Traceback" not in output


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_demo_runs_its_embedded_broker_on_ipv6_loopback():
    port = free_port()
    demo = Demo("--broker", f"[::1]:{port}", "--plain")
    sub = None
    try:
        sub = wait_for(lambda: _subscribe(port, host="::1"), timeout=20, message="the embedded broker on ::1")
        assert sub.wait_topic("envoy/bridge/demo/availability", timeout=30, payload=b"online")  # the bridge got there
        sub.wait_topic(f"envoy/{SERIAL}/state", timeout=30)
        sub.close()
        sub = None
        assert demo.interrupt() == 0
    finally:
        if sub:
            sub.close()
        demo.kill()
    assert f"::1:{port} (embedded broker)" in demo.output and "Traceback" not in demo.output


def test_demo_uses_an_existing_broker_and_keeps_its_options(mosquitto):
    base = "home/solar"
    demo = Demo(
        "--broker",
        f"{mosquitto.host}:{mosquitto.port}",
        "--plain",
        "--base-topic",
        base,
        "--capture",
        str(REPO / "bridge/simulator/scenarios/metered"),
        "--log-level",
        "INFO",
    )
    sub = Subscriber(mosquitto.host, mosquitto.port, (f"{base}/#",))
    try:
        state = json.loads(sub.wait_topic(f"{base}/999000000001/state", timeout=30))
        assert state["production"]["power_w"] == 4200  # the capture, served as it is
        sub.wait_topic(f"{base}/bridge/demo/availability", payload=b"online")
        assert demo.interrupt() == 0
        sub.wait_topic(f"{base}/bridge/demo/availability", payload=b"offline")  # said goodbye
    finally:
        sub.close()
        demo.kill()
    assert group_is_gone(demo.proc.pid)
    assert "(existing broker)" in demo.output and "Traceback" not in demo.output


def test_demo_refuses_bad_options_in_one_line():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bridge",
            "demo",
            "--broker",
            f"127.0.0.1:{free_port()}",
            "--events",
            "meteor@+1s",
            "--plain",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert proc.returncode == 1 and "unknown event 'meteor'" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
