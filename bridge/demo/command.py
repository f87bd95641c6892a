"""`envoy-mqtt-bridge demo`: the simulated gateway, a broker and the bridge, in one command.

It uses the MQTT broker at --broker when one answers there, otherwise it starts the embedded
one on that address (when the address is on this machine), so Home Assistant, Node-RED or
mosquitto_sub can connect to it. The simulated gateway is, by default, a living three-phase
system with batteries and an IQ System Controller whose day runs 60 times faster than real
time; on a terminal, keys trigger a grid outage, a reboot and other events.
"""

from __future__ import annotations

import argparse
import logging
import select
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.config import CloudConfig, Config, GatewayConfig, MqttConfig, PollIntervals
from bridge.demo.view import LiveView

if TYPE_CHECKING:  # annotations only: the parts are imported when the demo starts them
    from bridge.app import Bridge
    from bridge.simulator import Simulator

log = logging.getLogger(__name__)
REFRESH_S = 1.0
# A simulator is no real gateway: poll it faster so the view moves (still >= 5 s, as advised).
DEMO_POLL = PollIntervals(meters=5.0, grid=5.0, energy=15.0, inverters=60.0, batteries=10.0, info=600.0)
# The addresses meaning "every interface": what a user may type; the bridge then uses loopback.
WILDCARD_HOSTS = ("", "0.0.0.0", "::")  # noqa: S104 -- names them, binds nothing
LOCAL_HOSTS = (*WILDCARD_HOSTS, "localhost", "::1")
# Demo keys -> (event, parameters): short outages so that a demo stays a demo.
KEY_EVENTS = {
    "o": ("grid_outage", {}),
    "r": ("grid_restore", {}),
    "b": ("reboot", {"refuse_s": 20, "unavailable_s": 15}),
    "f": ("firmware_update", {}),
    "s": ("slow", {"delay_s": 4, "duration_s": 30}),
    "m": ("malformed", {"count": 3}),
    "t": ("revoke_token", {}),
    "n": ("nightly", {}),
    "c": ("clear", {}),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bridge.simulator.cli import add_scenario_arguments

    parser.add_argument(
        "--broker",
        default="127.0.0.1:1883",
        help="MQTT broker host:port; started embedded when none answers (default 127.0.0.1:1883)",
    )
    parser.add_argument("--capture", default=None, help="serve this capture folder instead of a living scenario")
    add_scenario_arguments(parser, default_factor=60.0, default_start="10:00")
    parser.add_argument("--base-topic", default="envoy")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--plain", action="store_true", help="print lines instead of a refreshing view")


def run(args: argparse.Namespace) -> int:
    from bridge.redaction import setup_logging

    setup_logging(args.log_level.upper())
    host, port = parse_broker(args.broker)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    plain = args.plain or not sys.stdout.isatty()
    try:
        with tempfile.TemporaryDirectory(prefix="envoy-demo-") as workdir, _Stack() as stack:
            broker_note = stack.broker(host, port)
            sim = stack.simulator(args)
            bridge = stack.bridge(demo_config(sim, host, port, args.base_topic, Path(workdir)))
            keys = not plain and sys.stdin is not None and sys.stdin.isatty()
            view = LiveView(host, port, args.base_topic, plain, sim=sim, broker_note=broker_note, keys=keys)
            stack.push(view.close)
            _intro(sim, host, port, broker_note, args.base_topic)
            if keys:
                stack.push(KeyReader(sim, stop).start().stop)
            stack.push(stop.set)  # whatever ends the loop, the workers stop first
            while not stop.wait(REFRESH_S):
                bridge.tick()  # what `run` does every second: MQTT reminders, health file
                view.show()
    except (OSError, ValueError) as err:
        print(f"demo: {err}", file=sys.stderr)
        return 1
    print("\nstopped")
    return 0


def parse_broker(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host:  # "broker" alone, or ":1883"
        host, port = (text, "") if not text.startswith(":") else ("", port)
    try:
        return host.strip("[]") or "127.0.0.1", int(port or 1883)
    except ValueError:
        raise ValueError(f"--broker must be host:port, not {text!r}") from None


def _intro(sim: Simulator, host: str, port: int, broker_note: str, base: str) -> None:
    print(f"MQTT broker: {host}:{port} ({broker_note}); point Home Assistant or Node-RED at it.")
    print(f"Watch it: mosquitto_sub -h {host} -p {port} -t '{base}/#' -v")
    what = f"scenario {sim.scenario.name}, clock x{sim.clock.factor:g}" if sim.scenario else "capture"
    print(f"Simulated gateway: {sim.envoy_url} (serial {sim.serial}, {what}). Ctrl-C stops everything.", flush=True)


def demo_config(sim: Simulator, host: str, port: int, base_topic: str, workdir: Path) -> Config:
    gateway = GatewayConfig(
        host=sim.envoy_host.rsplit(":", 1)[0],
        scheme="https",
        port=int(sim.envoy_host.rsplit(":", 1)[1]),
        username=sim.cloud_user,
        password=sim.cloud_password,
        fingerprint=sim.fingerprint,
        token_cache=workdir / "token.jwt",
    )
    return Config(
        gateways=(gateway,),
        mqtt=MqttConfig(
            host=_connect_host(host),
            port=port,
            base_topic=base_topic,
            instance_id="demo",  # never the host's own bridge, whose availability it would overwrite
            client_id=f"envoy-mqtt-bridge-demo-{int(time.time())}",
        ),
        cloud=CloudConfig(enlighten_url=sim.cloud_url, entrez_url=sim.cloud_url, ca_file=sim.ca_file),
        poll=DEMO_POLL,
        cache_dir=workdir,
    )


def _connect_host(host: str) -> str:
    return "127.0.0.1" if host in WILDCARD_HOSTS else host


def broker_answers(host: str, port: int) -> bool:
    try:
        socket.create_connection((_connect_host(host), port), timeout=1).close()
        return True
    except OSError:
        return False


def is_local(host: str) -> bool:
    return host in LOCAL_HOSTS or host.startswith("127.")


class _Stack:
    """Starts the parts in order and stops them in reverse, whatever happens."""

    def __init__(self) -> None:
        self._closers: list[Callable[[], object]] = []

    def push(self, closer: Callable[[], object]) -> None:
        self._closers.append(closer)

    def __enter__(self) -> _Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        for closer in reversed(self._closers):
            _close_quietly(closer)

    def broker(self, host: str, port: int) -> str:
        if broker_answers(host, port):
            return "existing broker"
        if not is_local(host):
            return "external broker, not answering yet: the bridge keeps trying"
        from bridge.demo.broker import EmbeddedBroker

        broker = EmbeddedBroker(host, port)
        broker.start()
        self.push(broker.stop)
        return "embedded broker"

    def simulator(self, args: argparse.Namespace) -> Simulator:
        from bridge.simulator.cli import build_simulator

        sim = build_simulator(args).start()
        self.push(sim.stop)
        return sim

    def bridge(self, config: Config) -> Bridge:
        """The bridge as `run` starts it; returned so the demo loop can tick it once a second."""
        from bridge.app import Bridge

        bridge = Bridge(config).start()
        self.push(lambda: bridge.stop(3.0))
        return bridge


def _close_quietly(closer: Callable[[], object]) -> None:
    try:
        closer()
    except Exception:  # keep stopping the rest
        log.debug("demo: error while stopping", exc_info=True)


class KeyReader:
    """Single keys on a terminal trigger simulator events; the terminal is restored on stop."""

    def __init__(self, sim: Simulator, stop: threading.Event):
        self.sim, self.stop_event = sim, stop
        self._saved: list[Any] | None = None  # the terminal's settings, as termios gives them
        self._done = threading.Event()

    def start(self) -> KeyReader:
        import termios
        import tty

        fd = sys.stdin.fileno()
        self._saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)
        threading.Thread(target=self._loop, args=(fd,), name="demo-keys", daemon=True).start()
        return self

    def _loop(self, fd: int) -> None:
        import os

        while not self._done.is_set():
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            key = os.read(fd, 1).decode(errors="ignore").lower()
            if key == "q":
                self.stop_event.set()
            elif key in KEY_EVENTS:
                name, params = KEY_EVENTS[key]
                try:
                    self.sim.trigger(name, **params)
                except ValueError as err:  # e.g. a grid event on a capture
                    log.warning("demo: %s", err)

    def stop(self) -> None:
        import termios

        self._done.set()
        if self._saved is not None:
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._saved)
