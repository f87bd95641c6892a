"""The bridge under test, in-process: the real Publisher, EnvoyWorker and sinks, on a fake clock.

The worker's monotonic clock (and the publisher's, for its republish interval) is a
`FakeClock` (tests/support/clock.py) the bench moves from one due time to the next, so an hour
of the schedule runs as fast as real HTTPS and a real broker allow; every request and message
is real.
"""

from __future__ import annotations

import inspect
import logging
import os
import tempfile
import time
from dataclasses import fields, replace
from pathlib import Path

from bridge.app import sinks_for
from bridge.config import CloudConfig, Config, GatewayConfig, MqttConfig, PollIntervals
from bridge.gateway.worker import EnvoyWorker
from bridge.mqtt.publisher import Publisher
from tests.support.clock import FakeClock

FULL_CYCLE_JUMP_S = 24 * 3600.0  # past every interval: the next step polls every group
_clients = 0


def default_poll() -> PollIntervals:
    return PollIntervals()


def ha_equal_poll() -> PollIntervals:
    """Home Assistant's freshness: every data group every 60 s. `info` (firmware and the CT
    list) keeps its hourly default: HA never reads /info again after setup."""
    return replace(PollIntervals(), **{f.name: 60.0 for f in fields(PollIntervals) if f.name != "info"})


def shortened_poll(seconds: float) -> PollIntervals:
    """Quick mode only: every group whose default is under a minute polls every `seconds`."""
    base = PollIntervals()
    return replace(base, **{f.name: seconds for f in fields(PollIntervals) if base.interval(f.name) < 60})


def make_config(
    descs: list[dict], broker: tuple[str, int], poll: PollIntervals, workdir: Path, base_topic: str = "envoy"
) -> Config:
    global _clients
    _clients += 1
    gateways = tuple(
        GatewayConfig(
            host=d["host"],
            scheme="https",
            port=d["port"],
            token=d["token"],
            fingerprint=d["fingerprint"],
            token_cache=workdir / f"{d['serial']}.jwt",
        )
        for d in descs
    )
    first = descs[0]
    return Config(
        gateways=gateways,
        poll=poll,
        cache_dir=workdir,
        log_level="WARNING",
        mqtt=MqttConfig(
            host=broker[0],
            port=broker[1],
            base_topic=base_topic,
            client_id=f"bench-bridge-{time.monotonic_ns()}-{_clients}",
            # Each harness its own instance: else every one says online / offline on this host's
            # availability topic, and each read-back takes the previous harness's configs for its own.
            instance_id=f"bench-{os.getpid()}-{_clients}",
        ),
        cloud=CloudConfig(enlighten_url=first["cloud_url"], entrez_url=first["cloud_url"], ca_file=first["ca_file"]),
    )


class Harness:
    """One publisher, and one worker with its sinks per gateway; `clock=None` runs them on real time."""

    def __init__(
        self,
        descs: list[dict],
        broker: tuple[str, int],
        poll: PollIntervals,
        clock: FakeClock | None = None,
        base_topic: str = "envoy",
    ):
        logging.getLogger("bridge").setLevel(logging.WARNING)
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-bridge-")
        self.clock = clock
        self.config = make_config(descs, broker, poll, Path(self._tmp.name), base_topic)
        kwargs = {"clock": clock} if clock and "clock" in inspect.signature(Publisher).parameters else {}
        self.publisher = Publisher(self.config.mqtt, self.config.homeassistant, **kwargs)
        self.publisher.start()
        if not self.publisher.wait_connected(15):
            raise RuntimeError(f"the bridge could not connect to the broker at {broker[0]}:{broker[1]}")
        wkw = {"monotonic": clock} if clock else {}
        self.workers = [
            EnvoyWorker(gw, self.config, sinks_for(self.config, gw, self.publisher), **wkw)
            for gw in self.config.gateways
        ]
        self.descs = descs

    @property
    def worker(self) -> EnvoyWorker:
        return self.workers[0]

    def topic(self, suffix: str, index: int = 0) -> str:
        return f"{self.config.mqtt.base_topic}/{self.descs[index]['serial']}/{suffix}"

    def published(self) -> int:
        return self.publisher.stats.get("published", 0)

    def state_topics(self) -> int:
        return len(getattr(self.publisher, "_state", {}))

    # --- simulated time (one worker) ------------------------------------------------------

    def step(self) -> None:
        """Move the clock to the worker's next due time and run that step (setup first)."""
        self.clock.now += self.worker.schedule.seconds_to_next(self.clock.now)
        self.worker._step()

    def run_for(self, seconds: float, limit: int = 100_000) -> int:
        """Every step due in the next `seconds` of simulated time; returns how many ran."""
        end, steps = self.clock.now + seconds, 0
        while steps < limit:
            due = self.clock.now + self.worker.schedule.seconds_to_next(self.clock.now)
            if due > end:
                break
            self.clock.now = due
            self.worker._step()
            steps += 1
        self.clock.now = end
        return steps

    def full_cycle(self) -> None:
        """Every group at once, then one publish: what pyenphase's update() is to HA."""
        self.clock.now += FULL_CYCLE_JUMP_S
        self.worker._step()

    # --- what the worker polls ---------------------------------------------------------------

    def groups_with(self, endpoints: tuple[str, ...], index: int = 0) -> list[str]:
        return [g for g, eps in self.workers[index].groups.items() if set(eps) & set(endpoints)]

    def interval_of(self, endpoints: tuple[str, ...], index: int = 0) -> float | None:
        groups = self.groups_with(endpoints, index)
        return min(getattr(self.config.poll, g) for g in groups) if groups else None

    def close(self) -> None:
        try:
            self.publisher.stop(2.0)
        finally:
            for worker in self.workers:
                close = getattr(worker.client, "close", None)
                if close:
                    close()
            self._tmp.cleanup()
