"""Sinks: where a gateway's cycles go. The worker polls; sinks turn what it found into output.

A sink hears five things: a snapshot (one cycle's data), a fast grid-status change (the
one-second relay read, which cannot wait for the rest of the cycle), a live document (the live
group's read, every second or few, between cycles), a change of the gateway's availability, and
the system's values from the Enphase cloud API (`/cloud`, from the cloud worker's thread). New outputs (MQTT topics, Home Assistant discovery, metrics ...) plug
in as one more sink, built by the app from the configuration; the worker does not change.

May import: `bridge.model`. Nothing that sends anything: the sinks themselves do.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from bridge.model import LiveDocument
from bridge.model.snapshot import Availability, Snapshot

log = logging.getLogger(__name__)


class Sink:
    """The protocol: every method does nothing here, so a sink overrides only what it hears."""

    def snapshot(self, snapshot: Snapshot) -> None:
        """One successful cycle of the gateway."""

    def grid_status(self, serial: str, status: str) -> None:
        """The grid status changed on the fast path: "on_grid" or "off_grid"."""

    def live(self, serial: str, document: LiveDocument) -> None:
        """A fresh live reading, read on its own: the state did not change with it."""

    def availability(self, event: Availability) -> None:
        """The gateway went online or offline."""

    def cloud(self, serial: str, document: dict[str, Any]) -> None:
        """The cloud API's document of the gateway's system (bridge/cloudapi/documents.py)."""


class FanOut(Sink):
    """Every sink in order; a sink's bug stays its own: logged, and the other sinks still run.

    A bug in one output must neither silence the others nor reach the worker's thread (which
    would take the gateway offline for a fault that is not the gateway's).
    """

    def __init__(self, sinks: Iterable[Sink]) -> None:
        self.sinks = tuple(sinks)
        self._failing: set[tuple[int, str]] = set()  # (sink, method) failing since its last success

    def add(self, sink: Sink) -> None:
        """One more sink, last (before the worker starts: the controls, which need the worker)."""
        self.sinks = (*self.sinks, sink)

    def cycle(self, snapshot: Snapshot, events: Sequence[Availability] = ()) -> None:
        """A snapshot and the availability events of the same cycle, sink by sink: the order of
        the sinks is the order of the messages (discovery before `online`, `online` before the
        diagnostics), whichever event each sink acts on."""
        for sink in self.sinks:
            self._call(sink, "snapshot", snapshot.serial, snapshot)
            for event in events:
                self._call(sink, "availability", event.serial, event)

    def snapshot(self, snapshot: Snapshot) -> None:
        self.cycle(snapshot)

    def grid_status(self, serial: str, status: str) -> None:
        for sink in self.sinks:
            self._call(sink, "grid_status", serial, serial, status)

    def live(self, serial: str, document: LiveDocument) -> None:
        for sink in self.sinks:
            self._call(sink, "live", serial, serial, document)

    def availability(self, event: Availability) -> None:
        for sink in self.sinks:
            self._call(sink, "availability", event.serial, event)

    def cloud(self, serial: str, document: dict[str, Any]) -> None:
        for sink in self.sinks:
            self._call(sink, "cloud", serial, serial, document)

    def _call(self, sink: Sink, method: str, serial: str, *args: object) -> None:
        key = (id(sink), method)
        try:
            getattr(sink, method)(*args)
        except Exception:  # a bug in one output must not stop the others
            # The traceback once per failing streak, like the worker's own errors; then DEBUG.
            level = logging.DEBUG if key in self._failing else logging.ERROR
            self._failing.add(key)
            log.log(level, "Gateway %s: unexpected error in %s.%s", serial, type(sink).__name__, method, exc_info=True)
        else:
            self._failing.discard(key)
