"""The README's main command: simulator + embedded broker + bridge, stopped with Ctrl-C."""

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.mqtt_helpers import Subscriber, free_port, wait_for

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[1]


def test_demo_publishes_live_data_on_an_embedded_broker_and_stops_cleanly():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bridge", "demo", "--broker", f"127.0.0.1:{port}",
                             "--plain"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=REPO)
    lines = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    sub = None
    try:
        sub = wait_for(lambda: _subscribe(port), timeout=20, message="the embedded broker")
        state = json.loads(sub.wait_topic("envoy/999000000001/state", timeout=20))
        assert state["production"]["power_w"] > 0
        assert sub.wait_topic("envoy/999000000001/availability") == b"online"
        assert sub.wait_topic("envoy/bridge/availability") == b"online"
        sub.wait_topic("homeassistant/sensor/999000000001/production/config")
        sub.close()
        sub = None
        wait_for(lambda: any("production" in line and " W" in line for line in lines), timeout=10,
                 message="the live view")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        if sub:
            sub.close()
        if proc.poll() is None:
            proc.kill()
    output = "".join(lines)
    assert f"127.0.0.1:{port} (embedded broker)" in output
    assert "production" in output and "Traceback" not in output


def _subscribe(port):
    try:
        return Subscriber("127.0.0.1", port)
    except OSError:
        return None
