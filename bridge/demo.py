"""`envoy-mqtt-bridge demo`: the simulated gateway, a broker and the bridge, in one command.

It uses the MQTT broker at --broker when one answers there, otherwise it starts the embedded
one on that address, so Home Assistant, Node-RED or mosquitto_sub can connect to it.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from bridge.config import CloudConfig, Config, GatewayConfig, MqttConfig

log = logging.getLogger(__name__)
REFRESH_S = 2.0


def add_arguments(parser) -> None:
    parser.add_argument("--broker", default="127.0.0.1:1883",
                        help="MQTT broker host:port; started embedded when none answers (default 127.0.0.1:1883)")
    parser.add_argument("--capture", default=None, help="serve this capture folder instead of the built-in system")
    parser.add_argument("--base-topic", default="envoy")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--plain", action="store_true", help="print lines instead of a refreshing view")


def run(args) -> int:
    from bridge.redaction import setup_logging
    setup_logging(args.log_level.upper())
    host, _, port = args.broker.rpartition(":")
    host, port = host or "127.0.0.1", int(port or 1883)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with tempfile.TemporaryDirectory(prefix="envoy-demo-") as workdir, _Stack() as stack:
        broker_note = stack.broker(host, port)
        sim = stack.simulator(args.capture)
        config = demo_config(sim, host, port, args.base_topic, Path(workdir))
        stack.bridge(config, stop)
        view = LiveView(host, port, args.base_topic, plain=args.plain or not sys.stdout.isatty())
        stack.push(view.close)
        print(f"MQTT broker: {host}:{port} ({broker_note}); point Home Assistant or Node-RED at it.")
        print(f"Simulated gateway: {sim.envoy_url} (serial {sim.serial}). Ctrl-C stops everything.")
        while not stop.wait(REFRESH_S):
            view.show()
    print("\nstopped")
    return 0


def demo_config(sim, host: str, port: int, base_topic: str, workdir: Path) -> Config:
    gateway = GatewayConfig(host=sim.envoy_host.rsplit(":", 1)[0], scheme="https",
                            port=int(sim.envoy_host.rsplit(":", 1)[1]), username=sim.cloud_user,
                            password=sim.cloud_password, fingerprint=sim.fingerprint,
                            token_cache=workdir / "token.jwt")
    return Config(gateways=(gateway,),
                  mqtt=MqttConfig(host=host, port=port, base_topic=base_topic,
                                  client_id=f"envoy-mqtt-bridge-demo-{int(time.time())}"),
                  cloud=CloudConfig(enlighten_url=sim.cloud_url, entrez_url=sim.cloud_url,
                                    ca_file=sim.ca_file),
                  cache_dir=workdir)


def broker_answers(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


class _Stack:
    """Starts the parts in order and stops them in reverse, whatever happens."""

    def __init__(self):
        self._closers = []

    def push(self, closer) -> None:
        self._closers.append(closer)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for closer in reversed(self._closers):
            try:
                closer()
            except Exception:  # keep stopping the rest
                log.debug("demo: error while stopping", exc_info=True)

    def broker(self, host: str, port: int) -> str:
        if broker_answers(host, port):
            return "existing broker"
        from bridge.broker import EmbeddedBroker
        broker = EmbeddedBroker(host, port)
        broker.start()
        self.push(broker.stop)
        return "embedded broker"

    def simulator(self, capture):
        from bridge.simulator.core import Simulator
        sim = Simulator(capture).start()
        self.push(sim.stop)
        return sim

    def bridge(self, config: Config, stop: threading.Event) -> None:
        from bridge.publisher import Publisher
        from bridge.worker import EnvoyWorker
        publisher = Publisher(config.mqtt, config.homeassistant)
        workers = [EnvoyWorker(gw, config, publisher) for gw in config.gateways]
        publisher.start()
        self.push(lambda: publisher.stop(3.0))
        for worker in workers:
            threading.Thread(target=worker.run, args=(stop,), daemon=True).start()


class LiveView:
    """Subscribes to the bridge's topics and shows a compact summary of what flows."""

    def __init__(self, host: str, port: int, base_topic: str, plain: bool):
        self.base, self.plain = base_topic, plain
        self.states: dict[str, dict] = {}
        self.count = 0
        self.topics: set[str] = set()
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"envoy-demo-view-{time.time_ns()}")
        self.client.on_connect = lambda c, *_: c.subscribe([(f"{base_topic}/#", 0), ("homeassistant/#", 0)])
        self.client.on_message = self._on_message
        self.client.connect_async(host, port)
        self.client.loop_start()

    def _on_message(self, client, userdata, message):
        with self._lock:
            self.count += 1
            self.topics.add(message.topic)
            if message.topic.endswith("/state"):
                try:
                    self.states[message.topic.split("/")[-2]] = json.loads(message.payload)
                except ValueError:
                    pass

    def show(self) -> None:
        with self._lock:
            lines = [f"messages: {self.count}  topics: {len(self.topics)}"]
            lines += [summary(serial, state) for serial, state in sorted(self.states.items())]
        text = "\n".join(lines)
        print(text if self.plain else f"\x1b[H\x1b[J{text}", flush=True)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def summary(serial: str, state: dict) -> str:
    def watts(section, key="power_w"):
        value = state.get(section, {}).get(key)
        return "   -   " if value is None else f"{value:>6.0f} W"
    grid = state.get("grid", {})
    parts = [f"{serial}: production {watts('production')}", f"consumption {watts('consumption')}",
             f"grid import {watts('grid', 'import_power_w')}", f"export {watts('grid', 'export_power_w')}",
             f"grid {grid.get('status', 'unknown')}"]
    soc = state.get("battery", {}).get("soc_pct")
    if soc is not None:
        parts.append(f"battery {soc:.0f} %")
    return "  ".join(parts)
