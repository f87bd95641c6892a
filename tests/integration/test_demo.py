"""The README's main command: simulator + broker + bridge + live view, stopped with Ctrl-C."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from bridge.demo.command import parse_broker
from bridge.demo.view import LiveView, kw, summary, topic_pattern
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
        threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True).start()

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


def _subscribe(port, topics=("#",)):
    try:
        return Subscriber("127.0.0.1", port, topics)
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
        assert sub.wait_topic("envoy/bridge/availability") == b"online"
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
        sub.wait_topic(f"{base}/bridge/availability", payload=b"online")
        assert demo.interrupt() == 0
        sub.wait_topic(f"{base}/bridge/availability", payload=b"offline")  # said goodbye
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


# --- the view, without processes -------------------------------------------------------------


def message(topic, payload):
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return SimpleNamespace(topic=topic, payload=data)


def test_live_view_block_shows_flows_grid_battery_and_traffic():
    ticks = iter(range(0, 10_000, 1))
    view = LiveView(
        "127.0.0.1",
        free_port(),
        "envoy",
        plain=False,
        broker_note="embedded broker",
        keys=True,
        clock=lambda: float(next(ticks)),
    )
    try:
        state = {
            "firmware": "8.2.4382",
            "production": {"power_w": 4210, "energy_today_wh": 14800},
            "consumption": {"power_w": 650},
            "grid": {"status": "on_grid", "import_power_w": 0, "export_power_w": 1200},
        }
        view._on_message(None, None, message(f"envoy/{SERIAL}/state", state))
        view._on_message(None, None, message(f"envoy/{SERIAL}/grid/status", b"off_grid"))
        view._on_message(None, None, message(f"envoy/{SERIAL}/battery/482235000159", {"soc_pct": 54, "power_w": -300}))
        view._on_message(None, None, message(f"envoy/{SERIAL}/battery/482235000166", {"soc_pct": 56, "power_w": -100}))
        view._on_message(None, None, message(f"homeassistant/sensor/{SERIAL}/production/config", {}))
        text = "\n".join(view.block())
    finally:
        view.close()
    assert "4.21 kW" in text and "650 W" in text and "export 1.20 kW" in text
    assert "OFF GRID" in text  # the plain grid/status topic wins: it is what flows react to
    assert "SOC 55 %" in text and "charging 400 W" in text
    assert "5 messages on 5 topics (1 discovery configs)" in text
    assert f"envoy/{SERIAL}/battery/+" in text and "/min" in text
    assert "mosquitto_sub -h 127.0.0.1" in text and "o outage" in text


def test_summary_tolerates_missing_keys():
    assert summary("1", {}) == "1: production -  consumption -  grid import -  export -  grid unknown"
    line = summary("1", {"production": {"power_w": 900}, "battery": {"soc_pct": 81.4, "power_w": 1500}})
    assert "production 900 W" in line and "battery 81 % (+1.50 kW)" in line
    assert summary("1", {"grid": "nonsense", "production": []}).startswith("1: production -")
    assert kw(None) == "-" and kw(True) == "-" and kw(-1234) == "-1.23 kW"
    assert topic_pattern("envoy/1/inverter/42") == "envoy/1/inverter/+"
    assert topic_pattern("envoy/1/enpower/42") == "envoy/1/enpower/+"
    assert topic_pattern("envoy/1/grid/status") == "envoy/1/grid/status"


def test_broker_address_parsing():
    assert parse_broker("127.0.0.1:1884") == ("127.0.0.1", 1884)
    assert parse_broker("mosquitto") == ("mosquitto", 1883)
    assert parse_broker("[::1]:1883") == ("::1", 1883)
    with pytest.raises(ValueError):
        parse_broker("host:port")
