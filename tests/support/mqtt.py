"""Real Mosquitto processes and real paho subscribers, for the tests and the benchmarks.

The benchmarks (bench/) start their broker with this runner too; they run without pytest, so
pytest is imported only to skip a test when Mosquitto is not installed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from tests.support.processes import stop_process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bridge_node(base_topic: str = "envoy") -> str:
    """The discovery node of this host's bridge device (its uptime and MQTT entities), beside the
    gateways' serials under the discovery prefix."""
    from bridge.config import MqttConfig
    from bridge.homeassistant.bridge import bridge_node_id

    return bridge_node_id(base_topic, MqttConfig().instance)


def mosquitto_binary() -> str | None:
    """The Mosquitto executable, or None when it is not installed."""
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return found if Path(found).exists() else None


def wait_for(condition, timeout: float = 10.0, interval: float = 0.02, message: str = "condition"):
    """Poll `condition` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}")


def seconds_until(action, condition, timeout: float = 10.0, message: str = "condition") -> float:
    """Run `action`, then wait for `condition` (polled every 10 ms): the seconds in between."""
    started = time.monotonic()
    action()
    wait_for(condition, timeout, interval=0.01, message=message)
    return time.monotonic() - started


class Mosquitto:
    """A real broker on a free loopback port; stop() and start() simulate outages.

    Options: `persistence` (retained messages and sessions saved on a clean stop and loaded on
    start), `users` ({name: password}; anonymous clients refused), `acl` (an ACL file), `tls` ((certfile, keyfile):
    the listener speaks TLS only), `log_all` (every packet in the log, for tests that count
    connections; off, the log has Mosquitto's default types, as the benchmarks want: its writes
    would weigh on what they measure), `extra` (lines added at the end of its configuration: a
    bridge to another broker's `connection` section). The broker logs to `log_file`.
    """

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        *,
        persistence: bool = False,
        users: dict[str, str] | None = None,
        acl: Path | None = None,
        tls: tuple[str, str] | None = None,
        log_all: bool = True,
        extra: tuple[str, ...] = (),
    ):
        binary = mosquitto_binary()
        if binary is None:
            import pytest  # only here: the benchmarks use this module without pytest

            pytest.skip("mosquitto is not installed (the README's test command installs it)")
        self.binary, self.port, self.workdir = binary, port or free_port(), workdir
        self.host = "127.0.0.1"
        self.persistence, self.users, self.tls, self.log_all = persistence, users, tls, log_all
        self.acl, self.extra = acl, extra
        self.log_file = workdir / f"mosquitto-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def _conf(self) -> str:
        lines = [
            f"listener {self.port} 127.0.0.1",
            f"log_dest file {self.log_file}",
            "allow_anonymous " + ("false" if self.users else "true"),
        ]
        if self.log_all:
            lines.append("log_type all")
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to `mosquitto`, who cannot read the test's files
        if self.persistence:
            store = self.workdir / f"mosquitto-{self.port}-db"
            store.mkdir(exist_ok=True)
            lines += ["persistence true", f"persistence_location {store}/", "autosave_interval 3600"]
        else:
            lines.append("persistence false")
        if self.users:
            passwords = self.workdir / f"mosquitto-{self.port}.passwd"
            passwords.write_text("")
            for user, password in self.users.items():
                subprocess.run(
                    ["mosquitto_passwd", "-b", str(passwords), user, password],
                    check=True,
                    capture_output=True,
                    timeout=30,
                )
            lines.append(f"password_file {passwords}")
        if self.acl:
            lines.append(f"acl_file {self.acl}")
        if self.tls:
            lines += [f"certfile {self.tls[0]}", f"keyfile {self.tls[1]}"]
        return "\n".join([*lines, *self.extra]) + "\n"

    def start(self) -> Mosquitto:
        conf = self.workdir / f"mosquitto-{self.port}.conf"
        conf.write_text(self._conf())
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_for(self._accepts, 10, message=f"mosquitto on port {self.port}")
        except AssertionError:
            self.kill()  # not left behind when it is there but deaf
            raise
        return self

    def _accepts(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"mosquitto exited with {self.proc.returncode}: {self.log()[-500:]}")
        try:
            socket.create_connection((self.host, self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        """A clean stop: clients are disconnected, a persistent broker saves its database."""
        if self.proc:
            stop_process(self.proc, 5)  # killed when frozen: a stopped process ignores SIGTERM

    def kill(self) -> None:
        """A crash: connections vanish without a goodbye, nothing is saved."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def freeze(self) -> None:
        """SIGSTOP: connections stay open but nothing is read or acknowledged."""
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def count(self, needle: str) -> int:
        return self.log().count(needle)


class Subscriber:
    """A paho client that records the latest payload of every topic it sees (retained or not)."""

    def __init__(self, host: str, port: int, topics=("#",), username: str | None = None, password: str | None = None):
        self.messages: dict[str, bytes] = {}
        self.retained: dict[str, bool] = {}
        self.qos: dict[str, int] = {}
        self.history: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-sub-{free_port()}")
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: [c.subscribe(t, qos=1) for t in topics]
        self.client.connect(host, port)
        self.client.loop_start()

    def _on_message(self, client, userdata, message):
        with self._lock:
            self.messages[message.topic] = message.payload
            self.retained[message.topic] = bool(message.retain)
            self.qos[message.topic] = message.qos
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
