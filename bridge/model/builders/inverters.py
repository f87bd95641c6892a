"""Microinverters: one document each, from the best per-inverter source the gateway has.

Sources (reference §2, pyenphase's probe order):
1. `/ivp/pdm/device_data`: power, max power, report time, DC/AC voltage and current,
   frequency, temperature, energy today and lifetime. Used only when it is complete
   (deviceCount below deviceDataLimit) and lists active microinverters (devName "pcu").
2. `/api/v1/production/inverters` otherwise: power, max power, report time. Entries with
   devType 11 are AC Batteries, not inverters (see builders/batteries.py).
`/inventory.json?deleted=1`, when polled, adds communicating / producing / firmware.

The gateway refreshes these numbers only every 5 to 15 minutes; `last_report` says when.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TypeGuard

from bridge.model.builders.flows import daily_energy
from bridge.model.builders.payload import SerialDocument, to_int
from bridge.model.kinds import INVERTER
from bridge.model.parse.reports import (
    PCU,
    DeviceData,
    DeviceInventory,
    DeviceReading,
    InventoryDevice,
    InverterReports,
)

JOULES_PER_WH = 3600
UINT32, INT32_MAX = 2**32, 2**31 - 1


@dataclass(frozen=True, slots=True)
class Inverter(SerialDocument):
    kind = INVERTER

    power_w: int | None = None  # last reported power
    max_power_w: int | None = None
    last_report: int | None = None  # unix seconds of that report
    last_report_duration_s: int | None = None
    energy_last_report_wh: float | None = None  # energy of that report
    energy_today_wh: int | None = None
    energy_yesterday_wh: int | None = None
    energy_lifetime_wh: int | None = None
    dc_voltage_v: float | None = None
    dc_current_a: float | None = None
    ac_voltage_v: float | None = None
    ac_current_a: float | None = None
    frequency_hz: float | None = None
    temperature_c: int | float | None = None
    communicating: bool | None = None
    producing: bool | None = None
    firmware: str | None = None
    part_number: str | None = None


def detailed_source(device_data: DeviceData | None) -> TypeGuard[DeviceData]:
    """Whether device_data can stand in for the v1 list (complete, with active microinverters)."""
    return device_data is not None and device_data.complete and bool(device_data.active(PCU))


def build_inverters(
    v1: InverterReports | None, device_data: DeviceData | None, inventory: DeviceInventory | None
) -> tuple[Inverter, ...]:
    if detailed_source(device_data):
        inverters = [_from_device_data(d) for d in device_data.active(PCU)]
    elif v1 is not None:
        inverters = [
            Inverter(r.serial, to_int(r.power_w), to_int(r.max_power_w), r.last_report)
            for r in v1.reports
            if not r.is_acb
        ]
    else:
        return ()
    health = {d.serial: d for d in inventory.current("PCU")} if inventory else {}
    return _unique(_with_health(i, health.get(i.serial)) for i in inverters)


def _from_device_data(d: DeviceReading) -> Inverter:
    return Inverter(
        serial=d.serial,
        power_w=to_int(signed32(d.power_w)),
        max_power_w=to_int(signed32(d.max_power_w)),
        last_report=d.last_report,
        last_report_duration_s=to_int(d.duration_s),
        energy_last_report_wh=_wh(d.joules_last_report, digits=3),
        energy_today_wh=daily_energy(d.today_wh),
        energy_yesterday_wh=daily_energy(d.yesterday_wh),
        energy_lifetime_wh=to_int(_wh(d.joules_lifetime)),
        dc_voltage_v=milli(d.dc_voltage_mv),
        dc_current_a=milli(d.dc_current_ma),
        ac_voltage_v=milli(d.ac_voltage_mv),
        ac_current_a=milli(d.ac_current_ma),
        frequency_hz=milli(d.ac_frequency_mhz),
        temperature_c=d.temperature_c,
    )


def _with_health(inverter: Inverter, device: InventoryDevice | None) -> Inverter:
    if device is None:
        return inverter
    return replace(
        inverter,
        communicating=device.communicating,
        producing=device.producing,
        firmware=device.firmware,
        part_number=device.part_number,
    )


def _unique(inverters: Iterable[Inverter]) -> tuple[Inverter, ...]:
    """One document per serial: the first report wins if the gateway lists one twice."""
    found: dict[str, Inverter] = {}
    for inverter in inverters:
        found.setdefault(inverter.serial, inverter)
    return tuple(found.values())


def signed32(value: float | None) -> float | None:
    """device_data writes small negative powers as unsigned 32-bit numbers (4294967292 is -4,
    8.3.5169 capture); no microinverter makes 2 GW, so such values are turned back."""
    if value is not None and INT32_MAX < value < UINT32:
        return value - UINT32
    return value


def milli(value: float | None) -> float | None:
    """mV, mA, mHz to V, A, Hz, as pyenphase divides them."""
    return None if value is None else round(value / 1000, 3) + 0.0


def _wh(joules: float | None, digits: int | None = None) -> float | None:
    if joules is None:
        return None
    wh = joules / JOULES_PER_WH
    return wh if digits is None else round(wh, digits) + 0.0
