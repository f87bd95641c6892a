"""Parsers for the production reports: `/production.json?details=1`, `/production`, `/api/v1/production`.

These only turn the documents into typed values; which source wins and which firmware
repairs apply is decided in builders/flows.py, where all endpoints are seen together.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.errors import EnvoyDataError
from bridge.model.parse.codec import Fields, top_object

EIM = "eim"  # entries measured by the gateway's CTs ("Envoy Integrated Meter")
INVERTERS = "inverters"  # entries summed from the microinverter reports
TOTAL_CONSUMPTION = "total-consumption"
NET_CONSUMPTION = "net-consumption"


@dataclass(frozen=True, slots=True)
class Counters:
    """Power and energy counters of one report entry or one of its phase lines."""

    w_now: float | None
    wh_today: float | None
    wh_last_7_days: float | None
    wh_lifetime: float | None
    active: bool  # any non-zero number at all: all-zero lines stand for unused phases


@dataclass(frozen=True, slots=True)
class ReportEntry:
    kind: str  # "eim" or "inverters" (the entry's "type")
    measurement_type: str | None  # "production", "total-consumption", "net-consumption"
    active_count: int | None
    reading_time: float | None
    totals: Counters
    lines: tuple[Counters, ...]

    @property
    def is_active(self) -> bool:
        return bool(self.active_count)


@dataclass(frozen=True, slots=True)
class StorageEntry:
    """A `storage[]` entry: the AC Batteries (type "acb") as a whole."""

    kind: str | None  # "acb"
    active_count: int | None  # number of AC Batteries reporting
    reading_time: float | None
    w_now: float | None  # positive = discharging
    wh_now: float | None  # energy stored now
    state: str | None  # charging / discharging / idle / full
    percent_full: float | None  # absent when there are no AC Batteries


@dataclass(frozen=True, slots=True)
class ProductionReport:
    """`/production.json?details=1` or `/production`: the same shape, `lines` only with details."""

    production: tuple[ReportEntry, ...]
    consumption: tuple[ReportEntry, ...]
    storage: tuple[StorageEntry, ...] = ()

    def acb_storage(self) -> StorageEntry | None:
        """pyenphase claims ACB when storage[0] has activeCount > 0 and a percentFull."""
        first = self.storage[0] if self.storage else None
        return first if first and first.active_count and first.percent_full is not None else None

    def eim_production(self) -> ReportEntry | None:
        return next((e for e in self.production if e.kind == EIM), None)

    def inverters(self) -> ReportEntry | None:
        return next((e for e in self.production if e.kind == INVERTERS), None)

    def consumption_active(self) -> bool:
        # The reference: TOTAL/NET consumption exist when any consumption entry is active.
        return any(e.is_active for e in self.consumption)

    def consumption_entry(self, measurement_type: str) -> ReportEntry | None:
        """Picked by position as the reference says ([0] total, [1] net), unless the entries
        name their measurementType, in which case the name is believed over the position."""
        named = [e for e in self.consumption if e.measurement_type]
        if named:
            return next((e for e in named if e.measurement_type == measurement_type), None)
        position = 0 if measurement_type == TOTAL_CONSUMPTION else 1
        return self.consumption[position] if position < len(self.consumption) else None


@dataclass(frozen=True, slots=True)
class ApiV1Production:
    """`/api/v1/production`: the standard (non-metered) gateway's production summary."""

    watts_now: float | None
    wh_today: float | None
    wh_last_7_days: float | None
    wh_lifetime: float | None

    def all_energy_zero(self) -> bool:
        # Metered gateways without CTs answer zeros here: the reference's signal to fall back.
        return all(not value for value in (self.wh_today, self.wh_last_7_days, self.wh_lifetime))


def parse_production_report(endpoint: str, doc: object) -> ProductionReport:
    fields = top_object(endpoint, doc)
    if not (fields.has("production") or fields.has("consumption")):
        raise EnvoyDataError(f"{endpoint}: neither 'production' nor 'consumption' in the report")
    return ProductionReport(
        production=tuple(_entry(item) for item in fields.objects("production")),
        consumption=tuple(_entry(item) for item in fields.objects("consumption")),
        storage=tuple(_storage(item) for item in fields.objects("storage")),
    )


def parse_api_v1_production(endpoint: str, doc: object) -> ApiV1Production:
    fields = top_object(endpoint, doc)
    result = ApiV1Production(
        watts_now=fields.number("wattsNow"),
        wh_today=fields.number("wattHoursToday"),
        wh_last_7_days=fields.number("wattHoursSevenDays"),
        wh_lifetime=fields.number("wattHoursLifetime"),
    )
    if result == ApiV1Production(None, None, None, None):
        raise EnvoyDataError(f"{endpoint}: none of wattsNow/wattHours* in the answer")
    return result


def _entry(fields: Fields) -> ReportEntry:
    kind = fields.text("type")
    if kind is None:
        raise EnvoyDataError(f"{fields.endpoint}: {fields.where('type')}: missing")
    return ReportEntry(
        kind=kind,
        measurement_type=fields.text("measurementType"),
        active_count=fields.count("activeCount"),
        reading_time=fields.number("readingTime"),
        totals=_counters(fields),
        lines=tuple(_counters(line) for line in fields.objects("lines")),
    )


def _storage(fields: Fields) -> StorageEntry:
    return StorageEntry(
        kind=fields.text("type"),
        active_count=fields.count("activeCount"),
        reading_time=fields.number("readingTime"),
        w_now=fields.number("wNow"),
        wh_now=fields.number("whNow"),
        state=fields.text("state"),
        percent_full=fields.number("percentFull"),
    )


def _counters(fields: Fields) -> Counters:
    return Counters(
        w_now=fields.number("wNow"),
        wh_today=fields.number("whToday"),
        wh_last_7_days=fields.number("whLastSevenDays"),
        wh_lifetime=fields.number("whLifetime"),
        active=_any_nonzero(fields),
    )


def _any_nonzero(fields: Fields) -> bool:
    # Counted over every number in the object, as pyenphase's get_active_phase_count does,
    # so a line of an unused phase (all zeros, 8.3.5433) is recognised as such.
    return any(
        value for value in fields.data.values() if isinstance(value, (int, float)) and not isinstance(value, bool)
    )
