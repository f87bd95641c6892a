"""The health document: what `run` knows about itself, written every few seconds; `health` (the
Docker HEALTHCHECK) reads it and answers on one line.

The age of a touched file said "healthy" while everything that publishes was dead (a retained
message that killed paho's network thread, a gateway serial that killed its worker). So the
document says: when it was written, whether paho's network thread and each gateway's worker
thread are alive, when the broker was last reached, and when each gateway's output last went
to a connected broker. It is JSON, 0600, replaced atomically, never through a symlink
(`bridge.files`). Unhealthy when:

- there is no document, or it is older than `--max-age`: the main loop is stuck, or the bridge
  has stopped;
- paho's network thread or a gateway's worker thread has died;
- the broker has not been reached for `--max-age`;
- a gateway that is not offline has published nothing for `max_silence_s` (see
  `Config.max_silence_s`). An offline gateway is the gateway's fault: the bridge has said
  `offline` (retained) and keeps trying; restarting the bridge would not bring it back.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bridge import files
from bridge.model import LiveDocument
from bridge.model.snapshot import Availability, Snapshot
from bridge.sinks import Sink

log = logging.getLogger("bridge")

FORMAT = 1
WRITE_EVERY_S = 5.0  # `health` runs every 60 s in Docker; a write per tick would wear an SD card
MAX_BYTES = 256 * 1024  # a document for 100 gateways is ~15 KiB


@dataclass(frozen=True, slots=True)
class GatewayHealth:
    label: str
    thread_alive: bool
    online: bool | None  # None until its first attempt ended
    last_publish: float | None  # wall clock: the last output that went to a connected broker


@dataclass(frozen=True, slots=True)
class HealthReport:
    written: float
    started: float
    max_silence_s: float
    broker_last_reached: float | None
    mqtt_thread_alive: bool | None  # None: not known (a stand-in publisher in the tests)
    gateways: tuple[GatewayHealth, ...] = field(default=())

    def to_json(self) -> bytes:
        return json.dumps({"format": FORMAT, **asdict(self)}, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> HealthReport:
        """ValueError for anything but a document this version writes."""
        try:
            doc = json.loads(data)
            if doc.pop("format") != FORMAT:
                raise ValueError("another format")
            gateways = tuple(GatewayHealth(**gateway) for gateway in doc.pop("gateways"))
            return cls(gateways=gateways, **doc)
        except (AttributeError, KeyError, TypeError, ValueError, RecursionError):
            raise ValueError("not a health document of this version") from None

    def problem(self, now: float, max_age: float) -> str | None:
        """Why the bridge is unhealthy, in one line; None when it is healthy."""
        if now - self.written > max_age:
            return f"the bridge last wrote its health document {now - self.written:.0f} s ago"
        if self.mqtt_thread_alive is False:
            return "the MQTT network thread has died"
        for gateway in self.gateways:
            if not gateway.thread_alive:
                return f"the worker thread of gateway {gateway.label} has died"
        reached = self.broker_last_reached or self.started
        if now - reached > max_age:
            return f"the MQTT broker was last reached {now - reached:.0f} s ago"
        for gateway in self.gateways:
            since = gateway.last_publish or self.started
            if gateway.online is not False and now - since > self.max_silence_s:
                return (
                    f"nothing published for gateway {gateway.label} in {now - since:.0f} s "
                    f"(limit {self.max_silence_s:.0f} s)"
                )
        return None

    def summary(self, now: float) -> str:
        """One line for a healthy bridge."""
        online = sum(1 for gateway in self.gateways if gateway.online)
        published = [g.last_publish for g in self.gateways if g.last_publish is not None]
        last = f", last publish {now - max(published):.0f} s ago" if published else ""
        return f"{online} of {len(self.gateways)} gateway(s) online{last}"


def verdict(path: Path, now: float, max_age: float) -> tuple[bool, str]:
    """(healthy, one line saying why) from the health document at `path`."""
    try:
        report = HealthReport.from_json(files.read_regular(path, MAX_BYTES))
    except FileNotFoundError:
        return False, f"unhealthy: no health document at {path} (the bridge is not running, or just started)"
    except OSError as err:
        return False, f"unhealthy: cannot read the health document: {err}"
    except ValueError as err:
        return False, f"unhealthy: {path}: {err}"
    problem = report.problem(now, max_age)
    if problem:
        return False, f"unhealthy: {problem}"
    return True, f"healthy: {report.summary(now)}"


class PublishWatch(Sink):
    """The last sink of a gateway: notes when its output reached a connected broker."""

    def __init__(self, connected: Callable[[], bool], clock: Callable[[], float] = time.time) -> None:
        self._connected, self._clock = connected, clock
        self.online: bool | None = None
        self.last_publish: float | None = None

    def snapshot(self, snapshot: Snapshot) -> None:
        self._published()

    def grid_status(self, serial: str, status: str) -> None:
        self._published()

    def live(self, serial: str, document: LiveDocument) -> None:
        """Not counted: live data every second would hide a gateway whose state stopped."""

    def availability(self, event: Availability) -> None:
        self.online = event.online
        self._published()

    def _published(self) -> None:
        if self._connected():
            self.last_publish = self._clock()


@dataclass(slots=True)
class Watched:
    label: str
    watch: PublishWatch
    thread: threading.Thread | None = None  # None until the bridge starts it


class HealthMonitor:
    """Collects the health of a running bridge and writes the document every few seconds."""

    def __init__(
        self,
        path: Path,
        max_silence_s: float,
        connected: Callable[[], bool],
        mqtt_thread_alive: Callable[[], bool | None],
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        every_s: float = WRITE_EVERY_S,
    ) -> None:
        self.path, self.max_silence_s, self.every_s = path, max_silence_s, every_s
        self._connected, self._mqtt_thread_alive = connected, mqtt_thread_alive
        self._clock, self._monotonic = clock, monotonic
        self.gateways: list[Watched] = []
        self._started = clock()
        self._broker_reached: float | None = None
        self._next_write = 0.0
        self._failing = False

    def watch(self, label: str) -> PublishWatch:
        """The sink that watches one gateway's output (add it last to the gateway's sinks)."""
        watched = Watched(label, PublishWatch(self._connected, self._clock))
        self.gateways.append(watched)
        return watched.watch

    def threads_started(self, threads: Sequence[threading.Thread]) -> None:
        """The worker threads, in the order of `watch` calls."""
        for watched, thread in zip(self.gateways, threads, strict=True):
            watched.thread = thread

    def report(self) -> HealthReport:
        return HealthReport(
            written=self._clock(),
            started=self._started,
            max_silence_s=self.max_silence_s,
            broker_last_reached=self._broker_reached,
            mqtt_thread_alive=self._mqtt_thread_alive(),
            gateways=tuple(
                GatewayHealth(
                    g.label, g.thread is not None and g.thread.is_alive(), g.watch.online, g.watch.last_publish
                )
                for g in self.gateways
            ),
        )

    def tick(self) -> None:
        """Once a second from the main loop: note the broker; write the document when due."""
        if self._connected():
            self._broker_reached = self._clock()
        if self._monotonic() < self._next_write:
            return
        self._next_write = self._monotonic() + self.every_s  # paced on monotonic time: immune to clock steps
        self.write()

    def write(self) -> None:
        """Write the document now; a failure is logged once per streak, and never raised."""
        try:
            files.write_private(self.path, self.report().to_json(), own_dir=True, durable=False)
        except OSError as err:
            if not self._failing:
                log.error("Cannot write the health document (%s); `health` will say unhealthy", err)
            self._failing = True
        else:
            if self._failing:
                log.info("The health document %s is written again", self.path)
            self._failing = False


def paho_thread_alive(publisher: object) -> bool | None:
    """Whether the publisher's paho network thread runs (call it once the publisher started);
    None for a stand-in publisher without paho. paho 2 keeps the thread in `Client._thread`,
    offers no public accessor, and sets it to None when the thread ends, however it ends."""
    client = getattr(publisher, "_client", None)
    if client is None:
        return None
    thread = getattr(client, "_thread", None)
    return isinstance(thread, threading.Thread) and thread.is_alive()
