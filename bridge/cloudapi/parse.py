"""The cloud API's documents (reference §4.5.2-4.5.6) as frozen, typed dataclasses.

Tolerant: a field that is missing or of the wrong type or range becomes None, and each document
says in one log line which fields it dropped; a wrong number is never passed on. An interval
without a usable `end_at` is dropped whole. Units: W, Wh, percent; times are epoch seconds.
A document that is not a JSON object at all is a CloudApiDataError.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bridge.errors import CloudApiDataError
from bridge.model.parse.codec import is_finite_number

log = logging.getLogger("bridge.cloudapi")

MAX_W = 10_000_000.0  # 10 MW: no home system comes near; beyond is a wrong number
MAX_WH = 1e12


@dataclass(frozen=True, slots=True)
class Summary:
    system_id: int | None
    current_power_w: float | None
    energy_today_wh: float | None
    energy_lifetime_wh: float | None  # up to the day before summary_date
    last_report_at: float | None
    last_interval_end_at: float | None
    size_w: float | None
    modules: int | None
    status: str | None  # "normal", "comm", "power"...
    source: str | None  # "meter" or "microinverters"
    summary_date: str | None  # YYYY-MM-DD, the system's time zone
    battery_capacity_wh: float | None
    battery_charge_w: float | None  # the batteries' maximum charge power
    battery_discharge_w: float | None


@dataclass(frozen=True, slots=True)
class DevicePower:
    """One channel of latest_telemetry: a meter (`production`, `consumption`) or a battery."""

    name: str | None
    channel: int | None
    power_w: float | None
    last_report_at: float | None
    mode: str | None  # batteries' `operational_mode`


@dataclass(frozen=True, slots=True)
class LatestTelemetry:
    system_id: int | None
    meters: tuple[DevicePower, ...]
    batteries: tuple[DevicePower, ...]


@dataclass(frozen=True, slots=True)
class Interval:
    """A production or consumption meter interval: the Wh in the interval that ends at `end_at`."""

    end_at: float
    wh: float | None
    devices_reporting: int | None


@dataclass(frozen=True, slots=True)
class BatteryInterval:
    end_at: float
    charge_wh: float | None
    discharge_wh: float | None
    soc_percent: float | None


@dataclass(frozen=True, slots=True)
class Telemetry:
    system_id: int | None
    granularity: str | None
    start_at: float | None
    end_at: float | None
    intervals: tuple[Interval, ...] | tuple[BatteryInterval, ...]


class _Reader:
    """Typed reads of one document's objects; every bad field is noted for one log line."""

    def __init__(self, doc: str):
        self.doc = doc
        self.bad: list[str] = []

    def number(self, obj: dict[str, Any], key: str, low: float, high: float, where: str = "") -> float | None:
        value = obj.get(key)
        if value is None:
            return None
        if is_finite_number(value) and low <= value <= high:
            return float(value)
        self.bad.append(f"{where}{key}")
        return None

    def integer(self, obj: dict[str, Any], key: str, where: str = "") -> int | None:
        value = obj.get(key)
        if value is None or (isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53):
            return value
        self.bad.append(f"{where}{key}")
        return None

    def text(self, obj: dict[str, Any], key: str, where: str = "") -> str | None:
        value = obj.get(key)
        if value is None or (isinstance(value, str) and len(value) <= 200):
            return value
        self.bad.append(f"{where}{key}")
        return None

    def time(self, obj: dict[str, Any], key: str, where: str = "") -> float | None:
        return self.number(obj, key, 0, 2**40, where)

    def done(self) -> None:
        if self.bad:
            shown = ", ".join(self.bad[:10]) + (f" and {len(self.bad) - 10} more" if len(self.bad) > 10 else "")
            log.warning("cloud API %s: ignored fields with unusable values: %s", self.doc, shown)


def _object(doc: Any, name: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise CloudApiDataError(f"cloud API {name}: expected a JSON object, got {type(doc).__name__}")
    return doc


def parse_summary(doc: Any) -> Summary:
    obj = _object(doc, "summary")
    r = _Reader("summary")
    summary = Summary(
        system_id=r.integer(obj, "system_id"),
        current_power_w=r.number(obj, "current_power", -MAX_W, MAX_W),
        energy_today_wh=r.number(obj, "energy_today", 0, MAX_WH),
        energy_lifetime_wh=r.number(obj, "energy_lifetime", 0, MAX_WH),
        last_report_at=r.time(obj, "last_report_at"),
        last_interval_end_at=r.time(obj, "last_interval_end_at"),
        size_w=r.number(obj, "size_w", 0, MAX_W),
        modules=r.integer(obj, "modules"),
        status=r.text(obj, "status"),
        source=r.text(obj, "source"),
        summary_date=r.text(obj, "summary_date"),
        battery_capacity_wh=r.number(obj, "battery_capacity_wh", 0, MAX_WH),
        battery_charge_w=r.number(obj, "battery_charge_w", 0, MAX_W),
        battery_discharge_w=r.number(obj, "battery_discharge_w", 0, MAX_W),
    )
    r.done()
    return summary


def parse_latest_telemetry(doc: Any) -> LatestTelemetry:
    obj = _object(doc, "latest_telemetry")
    r = _Reader("latest_telemetry")
    devices = obj.get("devices")
    if not isinstance(devices, dict):
        r.bad.append("devices")
        devices = {}
    result = LatestTelemetry(
        system_id=r.integer(obj, "system_id"),
        meters=_devices(r, devices, "meters"),
        batteries=_devices(r, devices, "encharges"),
    )
    r.done()
    return result


def _devices(r: _Reader, devices: dict[str, Any], family: str) -> tuple[DevicePower, ...]:
    items = devices.get(family)
    if items is None:
        return ()
    if not isinstance(items, list):
        r.bad.append(family)
        return ()
    found = []
    for i, item in enumerate(items):
        where = f"{family}[{i}]."
        if not isinstance(item, dict):
            r.bad.append(where.rstrip("."))
            continue
        found.append(
            DevicePower(
                name=r.text(item, "name", where),
                channel=r.integer(item, "channel", where),
                power_w=r.number(item, "power", -MAX_W, MAX_W, where),
                last_report_at=r.time(item, "last_report_at", where),
                mode=r.text(item, "operational_mode", where),
            )
        )
    return tuple(found)


def parse_telemetry(doc: Any, kind: str) -> Telemetry:
    """`kind`: production_meter (`wh_del`), consumption_meter (`enwh`) or battery."""
    obj = _object(doc, kind)
    r = _Reader(f"telemetry/{kind}")
    raw = obj.get("intervals")
    if not isinstance(raw, list):
        r.bad.append("intervals")
        raw = []
    intervals: list[Any] = []
    for i, item in enumerate(raw):
        where = f"intervals[{i}]."
        if not isinstance(item, dict):
            r.bad.append(f"intervals[{i}]")
            continue
        end_at = r.time(item, "end_at", where)
        if end_at is None:  # an interval that does not say when it ends is no interval
            if item.get("end_at") is None:
                r.bad.append(f"{where}end_at")
            continue
        intervals.append(_interval(r, item, kind, end_at, where))
    result = Telemetry(
        system_id=r.integer(obj, "system_id"),
        granularity=r.text(obj, "granularity"),
        start_at=r.time(obj, "start_at"),
        end_at=r.time(obj, "end_at"),
        intervals=tuple(intervals),
    )
    r.done()
    return result


def _interval(r: _Reader, item: dict[str, Any], kind: str, end_at: float, where: str) -> Interval | BatteryInterval:
    if kind == "battery":
        return BatteryInterval(
            end_at=end_at,
            charge_wh=_nested(r, item, "charge", "enwh", 0, MAX_WH, where),
            discharge_wh=_nested(r, item, "discharge", "enwh", 0, MAX_WH, where),
            soc_percent=_nested(r, item, "soc", "percent", 0, 100, where),
        )
    key = "wh_del" if kind == "production_meter" else "enwh"
    return Interval(end_at, r.number(item, key, 0, MAX_WH, where), r.integer(item, "devices_reporting", where))


def _nested(
    r: _Reader, item: dict[str, Any], outer: str, key: str, low: float, high: float, where: str
) -> float | None:
    inner = item.get(outer)
    if inner is None:
        return None
    if not isinstance(inner, dict):
        r.bad.append(f"{where}{outer}")
        return None
    return r.number(inner, key, low, high, f"{where}{outer}.")
