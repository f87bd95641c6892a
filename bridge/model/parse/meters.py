"""Parsers for the CT meter endpoints: `/ivp/meters` (configuration) and `/ivp/meters/readings`."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.model.parse.codec import Fields, object_list

ENABLED = "enabled"  # only enabled CTs count (reference §2 /ivp/meters)


@dataclass(frozen=True, slots=True)
class MeterConfig:
    eid: str
    state: str | None  # "enabled" / "disabled"
    measurement_type: str | None  # production, net-consumption, total-consumption, storage, ...
    phase_mode: str | None  # single / split / three
    phase_count: int | None
    metering_status: str | None  # normal / not-metering / check-wiring
    status_flags: tuple[str, ...] | None

    @property
    def enabled(self) -> bool:
        return self.state == ENABLED


@dataclass(frozen=True, slots=True)
class MetersConfig:
    """`/ivp/meters`; a non-metered gateway answers `[]`."""

    meters: tuple[MeterConfig, ...]

    def enabled(self) -> tuple[MeterConfig, ...]:
        return tuple(m for m in self.meters if m.enabled)

    def enabled_types(self) -> frozenset[str]:
        return frozenset(m.measurement_type for m in self.enabled() if m.measurement_type)

    def phase_count(self) -> int | None:
        """The largest phaseCount among enabled CTs, as pyenphase sets `phase_count`."""
        counts = [m.phase_count for m in self.enabled() if m.phase_count]
        return max(counts) if counts else None


@dataclass(frozen=True, slots=True)
class Channel:
    """One CT reading: the aggregate of a meter, or one phase (a `channels[]` entry)."""

    timestamp: float | None
    active_power: float | None  # W, positive towards the switchboard
    voltage: float | None  # V; a split-phase aggregate is line-to-line, a three-phase one the sum
    current: float | None  # A
    frequency: float | None  # Hz
    power_factor: float | None
    energy_delivered: float | None  # Wh lifetime, towards the switchboard
    energy_received: float | None  # Wh lifetime, the other way

    def all_zero(self) -> bool:
        # Frequency is left out: unused channels often still carry the grid frequency.
        values = (
            self.active_power,
            self.voltage,
            self.current,
            self.power_factor,
            self.energy_delivered,
            self.energy_received,
        )
        return not any(values)


@dataclass(frozen=True, slots=True)
class MeterReading:
    eid: str
    totals: Channel
    channels: tuple[Channel, ...]


@dataclass(frozen=True, slots=True)
class MeterReadings:
    """`/ivp/meters/readings`: may list more entries than `/ivp/meters` (8.3.5025+), match by eid."""

    readings: tuple[MeterReading, ...]

    def by_eid(self) -> dict[str, MeterReading]:
        found: dict[str, MeterReading] = {}
        for reading in self.readings:
            found.setdefault(reading.eid, reading)  # first one wins if the gateway repeats an eid
        return found


def parse_meters(endpoint: str, doc: object) -> MetersConfig:
    return MetersConfig(meters=tuple(_meter(item) for item in object_list(endpoint, doc)))


def parse_meter_readings(endpoint: str, doc: object) -> MeterReadings:
    return MeterReadings(readings=tuple(_reading(item) for item in object_list(endpoint, doc)))


def _meter(fields: Fields) -> MeterConfig:
    return MeterConfig(
        eid=fields.ident("eid"),
        state=fields.text("state"),
        measurement_type=fields.text("measurementType"),
        phase_mode=fields.text("phaseMode"),
        phase_count=fields.count("phaseCount"),
        metering_status=fields.text("meteringStatus"),
        status_flags=fields.strings("statusFlags"),  # absent on older firmware
    )


def _reading(fields: Fields) -> MeterReading:
    return MeterReading(
        eid=fields.ident("eid"),
        totals=_channel(fields),
        channels=tuple(_channel(item) for item in fields.objects("channels")),
    )


def _channel(fields: Fields) -> Channel:
    return Channel(
        timestamp=fields.number("timestamp"),
        active_power=fields.number("activePower"),
        voltage=fields.number("voltage"),
        current=fields.number("current"),
        frequency=fields.number("freq"),
        power_factor=fields.number("pwrFactor"),
        energy_delivered=fields.number("actEnergyDlvd"),
        energy_received=fields.number("actEnergyRcvd"),
    )
