"""What the status page and the metrics know of each gateway beyond the health snapshot.

One `GatewayHistory` sink per gateway, fed on its worker's thread and read by the HTTP server's
threads (hence the lock): the firmware and the last poll, the latest state's values worth
graphing, the token's expiry and the error count from the diagnostics, why the gateway last
went offline, and a bounded ring of (time, production W, consumption W), one point per
`POINT_EVERY_S` for the last `KEEP_S`: 360 points of three floats per gateway.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bridge.model.snapshot import Availability, Snapshot
from bridge.sinks import Sink

POINT_EVERY_S = 10.0
KEEP_S = 3600.0
# The state's values that metrics graph: (document section, key) -> name used by `GatewayView.values`.
STATE_VALUES = {
    ("production", "power_w"): "production_power_w",
    ("consumption", "power_w"): "consumption_power_w",
    ("net_consumption", "power_w"): "net_consumption_power_w",
    ("production", "energy_lifetime_wh"): "production_energy_wh",
    ("consumption", "energy_lifetime_wh"): "consumption_energy_wh",
    ("grid", "energy_imported_wh"): "grid_imported_energy_wh",
    ("grid", "energy_exported_wh"): "grid_exported_energy_wh",
    ("battery", "power_w"): "battery_power_w",
    ("battery", "soc_pct"): "battery_soc_pct",
}


@dataclass(frozen=True, slots=True)
class Point:
    time: float  # wall clock, unix seconds
    production_w: float | None
    consumption_w: float | None


@dataclass(frozen=True, slots=True)
class LastError:
    text: str  # as logged: never a secret (the server masks configured ones again)
    time: float


@dataclass(frozen=True, slots=True)
class GatewayView:
    """A copy of one gateway's history, safe to read on any thread."""

    label: str
    serial: str | None = None
    firmware: str | None = None
    last_poll: float | None = None
    token_expires: float | None = None
    errors: int = 0
    token_renewal_error: str | None = None
    last_error: LastError | None = None
    values: dict[str, float] = field(default_factory=dict)
    points: tuple[Point, ...] = ()


class GatewayHistory(Sink):
    def __init__(
        self,
        label: str,
        keep_s: float = KEEP_S,
        every_s: float = POINT_EVERY_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.label, self.keep_s, self.every_s, self._clock = label, keep_s, every_s, clock
        self._lock = threading.Lock()
        self._view = GatewayView(label)
        self._points: deque[Point] = deque(maxlen=round(keep_s / every_s))

    def snapshot(self, snapshot: Snapshot) -> None:
        diagnostics = snapshot.diagnostics
        values = state_values(snapshot.payload)
        point = Point(snapshot.polled_at, values.get("production_power_w"), values.get("consumption_power_w"))
        with self._lock:
            self._view = GatewayView(
                self.label,
                snapshot.serial,
                snapshot.info.firmware,
                snapshot.polled_at,
                _number(diagnostics.get("token_expires")),
                int(diagnostics.get("errors", 0)),
                diagnostics.get("token_renewal_error"),
                self._view.last_error,
                values,
            )
            self._add(point)

    def availability(self, event: Availability) -> None:
        if event.online or event.reason is None:
            return
        error = LastError(event.reason, self._clock())
        with self._lock:  # the serial too: a gateway that never answered is known by it here
            self._view = replace(self._view, serial=self._view.serial or event.serial, last_error=error)

    def _add(self, point: Point) -> None:
        """One point per `every_s` slot: a newer reading in the same slot replaces the last one."""
        if self._points and int(self._points[-1].time // self.every_s) == int(point.time // self.every_s):
            self._points[-1] = point
        elif not self._points or point.time > self._points[-1].time:
            self._points.append(point)  # a reading from before the last one (a clock step) is dropped

    def view(self, now: float) -> GatewayView:
        """The latest values, and the points of the last `keep_s` before `now`."""
        with self._lock:
            view, points = self._view, tuple(p for p in self._points if p.time > now - self.keep_s)
        return replace(view, points=points)


class History:
    """Every gateway's history, in the order of the configuration."""

    def __init__(self) -> None:
        self.gateways: list[GatewayHistory] = []

    def watch(self, label: str) -> GatewayHistory:
        gateway = GatewayHistory(label)
        self.gateways.append(gateway)
        return gateway

    def views(self, now: float) -> dict[str, GatewayView]:
        """By label, as `bridge/health` names each gateway's `label`."""
        return {gateway.label: gateway.view(now) for gateway in self.gateways}


def state_values(payload: dict[str, Any]) -> dict[str, float]:
    """The numbers of `STATE_VALUES` that this state document has (missing means unknown)."""
    values = {}
    for (section, key), name in STATE_VALUES.items():
        number = _number((payload.get(section) or {}).get(key))
        if number is not None:
            values[name] = number
    return values


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)
