"""CT meter values: `/ivp/meters` joined with `/ivp/meters/readings` by eid, with the CT repairs.

What is published for a meter (payload section "meters"):
- power_w, energy_delivered_wh, energy_received_wh: rounded to whole W / Wh, like pyenphase;
- current_a, frequency_hz: as the gateway reports them (on a multiphase aggregate the
  current is the sum of the phase currents);
- voltage_v: the gateway's own aggregate `voltage`, as every other integration (Home
  Assistant's too) shows it: line-to-line (≈ 240 V) on a split-phase site, the sum of the
  phases on a metered three-phase one. No mean of the phases: a phase configured but not
  wired reads a few volts of noise, and the mean said 84 V on a 235 V site. Each phase's own
  voltage is under "phases";
- power_factor: only within [-1, 1]; firmware sometimes sends 1.94 and the like;
- metering_status: normal / not-metering / check-wiring, from `/ivp/meters`;
- status_flag_count, status_flags: the CT's `statusFlags` from `/ivp/meters` (Home
  Assistant shows their number); the list itself only when it is not empty;
- phases l1..lN for meters with phaseCount > 1, from `channels[]`; an all-zero channel is
  an unused phase and is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.model.builders.payload import Document, Payload, phase_payloads, to_int
from bridge.model.parse.codec import is_finite_number
from bridge.model.parse.meters import Channel, MeterConfig, MeterReading, MeterReadings, MetersConfig

# measurementType (reference §2 /ivp/meters) -> payload key under "meters"
METER_KEYS = {
    "production": "production",
    "net-consumption": "net_consumption",
    "total-consumption": "total_consumption",
    "storage": "storage",
    "backfeed": "backfeed",
    "load": "load",
    "evse": "evse",
    "pv3p": "pv3p",
}
METERING_STATUSES = frozenset({"normal", "not-metering", "check-wiring"})
PHASE_NAMES = ("l1", "l2", "l3")
SPLIT_PHASES = 2


@dataclass(frozen=True, slots=True)
class MeterValues(Document):
    power_w: int | None = None
    voltage_v: float | None = None
    current_a: float | None = None
    frequency_hz: float | None = None
    power_factor: float | None = None
    energy_delivered_wh: int | None = None
    energy_received_wh: int | None = None


@dataclass(frozen=True, slots=True)
class CtMeter:
    key: str  # payload key: "production", "net_consumption", "storage", ...
    eid: str
    metering_status: str | None
    totals: MeterValues | None  # None when the aggregate is known to be wrong
    phases: tuple[tuple[str, MeterValues], ...]
    timestamp: float | None
    status_flags: tuple[str, ...] | None = None  # None: firmware without statusFlags

    def as_payload(self) -> Payload:
        payload = self.totals.as_payload() if self.totals else {}
        if self.metering_status:
            payload["metering_status"] = self.metering_status
        if self.status_flags is not None:
            payload["status_flag_count"] = len(self.status_flags)
        if self.status_flags:
            payload["status_flags"] = list(self.status_flags)
        if phases := phase_payloads(self.phases):
            payload["phases"] = phases
        return payload


def build_meters(config: MetersConfig | None, readings: MeterReadings | None) -> tuple[CtMeter, ...]:
    """One CtMeter per enabled CT of a known type that has a reading, first per type wins."""
    if config is None or readings is None:
        return ()
    by_eid = readings.by_eid()
    meters: dict[str, CtMeter] = {}
    for meter in config.enabled():
        key = METER_KEYS.get(meter.measurement_type or "")
        reading = by_eid.get(meter.eid)
        if key and reading is not None and key not in meters:
            meters[key] = _ct_meter(key, meter, reading)
    return tuple(meters.values())


def _ct_meter(key: str, meter: MeterConfig, reading: MeterReading) -> CtMeter:
    phase_count = _phase_count(meter)
    channels = reading.channels[:phase_count] if phase_count and phase_count > 1 else ()
    totals: MeterValues | None = _values(reading.totals)
    if key == "storage" and _split_storage_zero_channel(channels, phase_count):
        totals = None
    phases = tuple((PHASE_NAMES[i], _values(ch)) for i, ch in enumerate(channels) if not ch.all_zero())
    status = meter.metering_status if meter.metering_status in METERING_STATUSES else None
    flags = meter.status_flags
    return CtMeter(key, meter.eid, status, totals, phases, _positive(reading.totals.timestamp), flags)


def _split_storage_zero_channel(channels: tuple[Channel, ...], phase_count: int | None) -> bool:
    """D8.3.6xxx split-phase storage CT: one channel all zero while the aggregate equals the
    other channel, so the aggregate is half the truth. pyenphase 4.2.0 returns None for the
    aggregate and for that phase; a real split-phase battery always loads both legs."""
    if phase_count != SPLIT_PHASES or len(channels) < SPLIT_PHASES:
        return False
    return sum(channel.all_zero() for channel in channels[:SPLIT_PHASES]) == 1


def _phase_count(meter: MeterConfig) -> int | None:
    """Phases of a meter from its phaseCount; None when missing. phaseMode is no substitute:
    a single-phase CT on a three-phase gateway says "three" with phaseCount 1 (7.6.175_with_cts)."""
    return min(meter.phase_count, len(PHASE_NAMES)) if meter.phase_count else None


def _values(channel: Channel) -> MeterValues:
    return MeterValues(
        power_w=to_int(channel.active_power),
        voltage_v=_float(channel.voltage),
        current_a=_float(channel.current),
        frequency_hz=_float(channel.frequency),
        power_factor=_float(channel.power_factor) if _plausible_pf(channel.power_factor) else None,
        energy_delivered_wh=to_int(channel.energy_delivered),
        energy_received_wh=to_int(channel.energy_received),
    )


def _plausible_pf(value: float | None) -> bool:
    return value is not None and -1.0 <= value <= 1.0


def _float(value: float | None) -> float | None:
    return float(value) + 0.0 if is_finite_number(value) else None  # + 0.0 turns -0.0 into 0.0


def _positive(value: float | None) -> float | None:
    return value if value is not None and value > 0 else None
