"""Rigs shared by the reliability tests (tests/reliability/test_*.py) and scripts/reliability.py.

- `SteppedGateway`: one simulated gateway (real HTTPS, real token auth, real fake cloud) and
  the real bridge worker with its real EnvoyClient, token manager and cloud client, with time
  on a `FakeClock`: each step jumps to the next due poll, so a simulated day takes seconds
  and no test sleeps for real. The app's sinks publish to a `Recorder` or to a real
  `Publisher` (the clock and the recorder are in tests/support).
- `PatchedSource`: wraps a simulator source to serve hostile bodies (HTML, truncated, huge),
  a new firmware in /info, and to count concurrent requests.
- `bridge_config`: a `Config` built directly, so in-process runs may poll faster than the
  configuration floor allows a user; `fast_config` is one simulated gateway polled every
  second or so (`FAST`), and `expected_topics` what a broker holds once it has published.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import replace
from pathlib import Path

from bridge.app import sinks_for
from bridge.auth.cloud import EnphaseCloud
from bridge.auth.store import TokenStore
from bridge.config import CloudConfig, Config, GatewayConfig, HomeAssistantConfig, MqttConfig, PollIntervals
from bridge.gateway.client import EnvoyClient
from bridge.gateway.worker import EnvoyWorker
from bridge.simulator import Simulator
from tests.support.clock import FakeClock
from tests.support.sinks import Recorder

# The bridge's own availability: this host's instance (mqtt.instance_id defaults to the host name).
BRIDGE = MqttConfig().availability_topic

FAST = PollIntervals(meters=1, grid=1, energy=2, inverters=5, batteries=5, info=60)


class PatchedSource:
    """A simulator source with overrides: {path: (status, content_type, body)} or a callable."""

    def __init__(self, inner):
        self.inner = inner
        self.overrides: dict[str, object] = {}
        self.firmware: str | None = None  # served in /info instead of the capture's
        self._lock = threading.Lock()
        self.active = 0
        self.max_active = 0

    def answer(self, path: str, query: str):
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            key = f"{path}?{query}" if query else path
            override = self.overrides.get(key, self.overrides.get(path))
            if callable(override):
                return override()
            if override is not None:
                return override
            status, content_type, body = self.inner.answer(path, query)
            if path == "/info" and self.firmware and status == 200:
                body = re.sub(rb"<software>[^<]*</software>", f"<software>D{self.firmware}</software>".encode(), body)
            return status, content_type, body
        finally:
            with self._lock:
                self.active -= 1

    def __getattr__(self, name):  # anything else a living source offers
        return getattr(self.inner, name)


def patched_simulator(**kw) -> tuple[Simulator, PatchedSource]:
    from bridge.simulator import DEFAULT_CAPTURE, CaptureSource

    source = PatchedSource(CaptureSource(kw.pop("capture_dir", None) or DEFAULT_CAPTURE))
    return Simulator(source=source, **kw), source


def cloud_config(sim: Simulator) -> CloudConfig:
    return CloudConfig(enlighten_url=sim.cloud_url, entrez_url=sim.cloud_url, ca_file=sim.ca_file, timeout=5)


def gateway_config(sim: Simulator, folder: Path, **kw) -> GatewayConfig:
    host, port = sim.envoy_host.rsplit(":", 1)
    settings = {
        "host": host,
        "port": int(port),
        "scheme": "https",
        "fingerprint": sim.fingerprint,
        "username": sim.cloud_user,
        "password": sim.cloud_password,
        "token_cache": folder / f"token-{sim.serial}.jwt",
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
    }
    settings.update(kw)
    return GatewayConfig(**settings)


def bridge_config(
    gateways, folder: Path, *, cloud: CloudConfig | None = None, broker=None, poll: PollIntervals | None = None, **mqtt
) -> Config:
    settings = {
        "host": broker.host if broker else "127.0.0.1",
        "port": broker.port if broker else 1,
        "client_id": f"reliability-{random.getrandbits(32):08x}",
        **mqtt,
    }
    mqtt_cfg = MqttConfig(**settings)
    return Config(
        gateways=tuple(gateways),
        mqtt=mqtt_cfg,
        homeassistant=HomeAssistantConfig(),
        cloud=cloud or CloudConfig(),
        poll=poll or PollIntervals(),
        cache_dir=folder,
    )


def fast_config(sim: Simulator, folder: Path, broker, **mqtt) -> Config:
    """The bridge of one simulated gateway, polled every second or so, publishing to `broker`."""
    return bridge_config(
        [gateway_config(sim, folder)], folder, cloud=cloud_config(sim), broker=broker, poll=FAST, **mqtt
    )


def expected_topics(sim: Simulator) -> set[str]:
    """Topics a broker holds once the bridge has published `sim`'s gateway (a few of each kind)."""
    return {
        BRIDGE,
        f"envoy/{sim.serial}/availability",
        f"envoy/{sim.serial}/state",
        f"homeassistant/sensor/{sim.serial}/production/config",
    }


class SteppedGateway:
    """The real worker of one simulated gateway, stepped on a fake clock."""

    def __init__(
        self,
        sim: Simulator,
        folder: Path,
        clock: FakeClock,
        publisher=None,
        *,
        poll: PollIntervals | None = None,
        seed: int = 1,
        **gw,
    ):
        self.sim, self.clock = sim, clock
        self.publisher = publisher or Recorder()
        self.gateway = gateway_config(sim, folder, **gw)
        self.config = bridge_config([self.gateway], folder, cloud=cloud_config(sim), poll=poll)
        self.cloud = EnphaseCloud(self.config.cloud, sleep=clock.sleep, monotonic=clock.monotonic)
        store = TokenStore(self.gateway.token_cache) if self.gateway.token_cache else None
        self.client = EnvoyClient(
            self.gateway, self.cloud, store, sleep=clock.sleep, monotonic=clock.monotonic, clock=clock.time
        )
        rng = random.Random(seed)
        self.worker = EnvoyWorker(
            self.gateway,
            self.config,
            sinks_for(self.config, self.gateway, self.publisher),
            client=self.client,
            monotonic=clock.monotonic,
            wall=clock.time,
            rng=rng.uniform,
        )
        self.steps = 0

    @property
    def serial(self) -> str:
        return self.sim.serial

    def step(self) -> None:
        """Jump to the next due poll and run it (and any background token renewal it started)."""
        wait = self.worker.schedule.seconds_to_next(self.clock.monotonic())
        self.clock.advance(wait)
        self.worker._step()
        self.steps += 1
        thread = getattr(self.client._auth, "renew_thread", None)  # token auth only
        if thread is not None:
            thread.join(10)
        tick = getattr(self.publisher, "tick", None)
        if tick:
            tick()

    def run_for(self, seconds: float, max_steps: int = 100_000) -> None:
        end = self.clock.now + seconds
        for _ in range(max_steps):
            if self.clock.now + self.worker.schedule.seconds_to_next(self.clock.monotonic()) > end:
                self.clock.now = end
                return
            self.step()
        raise AssertionError(f"more than {max_steps} steps in {seconds} s")

    def run_until(self, condition, max_seconds: float, max_steps: int = 100_000) -> float:
        """Step until `condition()`; returns the fake seconds it took."""
        start = self.clock.now
        for _ in range(max_steps):
            if condition():
                return self.clock.now - start
            if self.clock.now - start > max_seconds:
                break
            self.step()
        raise AssertionError(f"condition not met within {max_seconds:.0f} fake seconds")

    def close(self) -> None:
        self.client.close()
        self.cloud.close()


def with_gateway(config: Config, **kw) -> Config:
    return replace(config, gateways=tuple(replace(gw, **kw) for gw in config.gateways))


def publisher_outage(cycles: int, gateways: int = 3) -> dict:
    """The broker away for `cycles` polls of `gateways` gateways (one poll a second: 86,400 is a day).

    The publisher keeps the latest payload per topic and gives paho nothing while disconnected,
    so what it holds is bounded by the number of topics, not by the length of the outage.
    """
    import json
    import tracemalloc

    from bridge.mqtt.publisher import Publisher

    clock = FakeClock(0.0)
    pub = Publisher(MqttConfig(host="127.0.0.1", port=1, client_id="outage"), HomeAssistantConfig(), clock=clock)
    pub.sync_discovery("gw", {"homeassistant/sensor/gw/power/config": "{}"})

    def cycle(i: int) -> None:
        clock.now = float(i)
        for g in range(gateways):
            for topic in ("state", "diagnostics", "availability", "grid/status"):
                pub.publish_state(f"envoy/{g}/{topic}", json.dumps({"time": i, "power_w": i % 5000}))

    for i in range(200):  # warm up: every topic exists, caches are filled
        cycle(i)
    pub.stats["skipped_offline"] = 0
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    for i in range(200, 200 + cycles):
        cycle(i)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "cycles": cycles,
        "paho_queue": pub.queued,
        "held_topics": pub.held_topics,
        "memory_growth_kib": (current - base) / 1024,
        "peak_kib": (peak - base) / 1024,
        "skipped_offline": pub.stats["skipped_offline"],
    }
