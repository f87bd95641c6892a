"""Real Mosquitto processes and real paho subscribers for integration tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float = 10.0, interval: float = 0.02, message: str = "condition"):
    """Poll `condition` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}")


class Mosquitto:
    """A real broker on a free loopback port; stop() and start() simulate outages."""

    def __init__(self, workdir: Path, port: int | None = None):
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            pytest.skip("mosquitto is not installed (the README's test command installs it)")
        self.binary, self.port, self.workdir = binary, port or free_port(), workdir
        self.host = "127.0.0.1"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Mosquitto":
        conf = self.workdir / f"mosquitto-{self.port}.conf"
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.proc = subprocess.Popen([self.binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_for(self._accepts, 10, message=f"mosquitto on port {self.port}")
        return self

    def _accepts(self) -> bool:
        try:
            socket.create_connection((self.host, self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


class Subscriber:
    """A paho client that records the latest payload of every topic it sees (retained or not)."""

    def __init__(self, host: str, port: int, topics=("#",)):
        self.messages: dict[str, bytes] = {}
        self.retained: dict[str, bool] = {}
        self.history: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-sub-{free_port()}")
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: [c.subscribe(t, qos=1) for t in topics]
        self.client.connect(host, port)
        self.client.loop_start()

    def _on_message(self, client, userdata, message):
        with self._lock:
            self.messages[message.topic] = message.payload
            self.retained[message.topic] = bool(message.retain)
            self.history.append((message.topic, message.payload))

    def get(self, topic: str) -> bytes | None:
        with self._lock:
            return self.messages.get(topic)

    def wait_topic(self, topic: str, timeout: float = 10.0, payload: bytes | None = None) -> bytes:
        def check():
            value = self.get(topic)
            return value is not None and (payload is None or value == payload)
        wait_for(check, timeout, message=f"{topic} = {payload!r}" if payload else topic)
        return self.get(topic)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
