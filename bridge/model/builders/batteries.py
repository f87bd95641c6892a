"""Batteries: IQ Batteries (Encharge) and AC Batteries (ACB), one by one and in aggregate.

Power is positive when discharging, like the storage CT. Sources:
- IQ Battery `battery/<serial>`: `/ivp/ensemble/inventory` (ENCHARGE) and `/ivp/ensemble/power`
  (mW and mVA, divided by 1000; its SOC is the live one: the inventory's percentFull lags).
- Their aggregate, state `battery`: `/ivp/ensemble/secctrl` (ENC_agg_*), published only when the
  inventory lists IQ Batteries (on an ACB-only gateway those fields are all 0), plus the sum of
  the batteries' power.
- AC Batteries as a whole, state `acb`: `storage[0]` of `/production.json`, when its
  activeCount > 0 and it has a percentFull (pyenphase's rule).
- IQ + AC Batteries, state `battery_combined`: secctrl agg_soc, ENC_agg_avail_energy +
  ACB_agg_energy, Max_energy; only when AC Batteries are reported.
- One AC Battery `acb/<serial>`: `/inventory.json?deleted=1` (ACB) plus its power and report
  time from `/api/v1/production/inverters` (devType 11) or `/ivp/pdm/device_data` (devName acb).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bridge.model.builders.ensemble_units import unit_fields
from bridge.model.builders.payload import Document, SerialDocument, plain, to_int
from bridge.model.kinds import AC_BATTERY, BATTERY
from bridge.model.parse.ensemble import (
    Encharge,
    EnchargePower,
    EnsembleInventory,
    EnsemblePower,
    Secctrl,
)
from bridge.model.parse.production import StorageEntry
from bridge.model.parse.reports import (
    ACB,
    DeviceData,
    DeviceInventory,
    InventoryDevice,
    InverterReports,
)

SLEEP_FLAG = "envoy.cond_flags.pcu_ctrl.sleep-mode"  # in an ACB's device_status while asleep
MILLI = 1000

# One AC Battery's power, maximum power and report time, from whichever report has it.
PowerReport = tuple[int | float | None, int | float | None, int | None]


@dataclass(frozen=True, slots=True)
class Battery(SerialDocument):
    """One IQ Battery (Encharge)."""

    kind = BATTERY

    soc_pct: int | float | None = None
    power_w: int | None = None
    apparent_power_va: int | None = None
    capacity_wh: int | None = None
    temperature_c: int | float | None = None
    max_cell_temperature_c: int | float | None = None
    communicating: bool | None = None
    dc_switch_off: bool | None = None
    operating: bool | None = None
    sleep_enabled: bool | None = None
    last_report: int | None = None
    admin_state: str | None = None
    grid_mode: str | None = None
    phase: str | None = None
    comm_level_2_4_ghz: int | None = None
    comm_level_sub_ghz: int | None = None
    firmware: str | None = None
    part_number: str | None = None


@dataclass(frozen=True, slots=True)
class AcBattery(SerialDocument):
    """One AC Battery (ACB)."""

    kind = AC_BATTERY

    soc_pct: int | float | None = None
    power_w: int | None = None
    max_power_w: int | None = None
    last_report: int | None = None
    charge_status: str | None = None
    sleep_state: str | None = None  # awake / going_to_sleep / asleep / waking
    sleep_enabled: bool | None = None
    sleep_min_soc_pct: int | float | None = None
    sleep_max_soc_pct: int | float | None = None
    temperature_c: int | float | None = None  # the hottest cell
    communicating: bool | None = None
    operating: bool | None = None
    producing: bool | None = None
    firmware: str | None = None
    part_number: str | None = None


@dataclass(frozen=True, slots=True)
class BatteryAggregate(Document):
    soc_pct: int | float | None = None
    available_energy_wh: int | None = None
    capacity_wh: int | None = None
    reserve_soc_pct: int | float | None = None
    configured_reserve_soc_pct: int | float | None = None
    reserve_energy_wh: int | None = None
    health_pct: int | float | None = None
    power_w: int | None = None


@dataclass(frozen=True, slots=True)
class AcbAggregate(Document):
    power_w: int | None = None
    soc_pct: int | float | None = None
    available_energy_wh: int | None = None
    state: str | None = None  # charging / discharging / idle / full
    count: int | None = None  # AC Batteries reporting


@dataclass(frozen=True, slots=True)
class CombinedBatteries(Document):
    soc_pct: int | float | None = None
    available_energy_wh: int | None = None
    capacity_wh: int | None = None


def percent(value: float | None) -> int | float | None:
    return plain(value, digits=1)


def build_batteries(inventory: EnsembleInventory | None, power: EnsemblePower | None) -> tuple[Battery, ...]:
    readings = power.by_serial() if power else {}
    units = {e.unit.serial: e for e in (inventory.encharges if inventory else ()) if e.unit.serial}
    serials = list(units) + [s for s in readings if s not in units]
    return tuple(_battery(s, units.get(s), readings.get(s)) for s in serials)


def _battery(serial: str, unit: Encharge | None, reading: EnchargePower | None) -> Battery:
    live_soc = reading.soc if reading else None
    soc = live_soc if live_soc is not None else (unit.percent_full if unit else None)
    battery = Battery(
        serial=serial,
        soc_pct=percent(soc),
        power_w=to_int(_milli(reading.real_power_mw)) if reading else None,
        apparent_power_va=to_int(_milli(reading.apparent_power_mva)) if reading else None,
    )
    return _with_inventory(battery, unit) if unit else battery


def _with_inventory(battery: Battery, unit: Encharge) -> Battery:
    return replace(
        battery,
        capacity_wh=to_int(unit.capacity_wh),
        temperature_c=unit.temperature_c,
        max_cell_temperature_c=unit.max_cell_temperature_c,
        dc_switch_off=unit.dc_switch_off,
        operating=unit.operating,
        sleep_enabled=unit.sleep_enabled,
        grid_mode=unit.grid_mode,
        phase=unit.phase,
        comm_level_2_4_ghz=unit.comm_level_2_4_ghz,
        comm_level_sub_ghz=unit.comm_level_sub_ghz,
        **unit_fields(unit.unit),
    )


def battery_aggregate(
    inventory: EnsembleInventory | None, secctrl: Secctrl | None, batteries: tuple[Battery, ...]
) -> BatteryAggregate | None:
    if inventory is None or not inventory.encharges:
        return None
    powers = [b.power_w for b in batteries if b.power_w is not None]
    s = secctrl or Secctrl(*[None] * len(Secctrl.__slots__))
    aggregate = BatteryAggregate(
        soc_pct=percent(s.encharge_soc),
        available_energy_wh=to_int(s.encharge_available_wh),
        capacity_wh=to_int(s.encharge_capacity_wh),
        reserve_soc_pct=percent(s.reserve_soc),
        configured_reserve_soc_pct=percent(s.configured_reserve_soc),
        reserve_energy_wh=to_int(s.encharge_reserve_wh),
        health_pct=percent(s.encharge_health),
        # the sum only when every battery reports: part of them is not the batteries' power
        power_w=sum(powers) if batteries and len(powers) == len(batteries) else None,
    )
    return aggregate if aggregate.as_payload() else None


def acb_aggregate(storage: StorageEntry | None) -> AcbAggregate | None:
    if storage is None:
        return None
    return AcbAggregate(
        power_w=to_int(storage.w_now),
        soc_pct=percent(storage.percent_full),
        available_energy_wh=to_int(storage.wh_now),
        state=storage.state,
        count=storage.active_count,
    )


def combined_batteries(acb: AcbAggregate | None, secctrl: Secctrl | None) -> CombinedBatteries | None:
    if acb is None or secctrl is None:
        return None
    encharge, acb_wh = secctrl.encharge_available_wh, secctrl.acb_available_wh
    available = encharge + acb_wh if encharge is not None and acb_wh is not None else None
    combined = CombinedBatteries(
        soc_pct=percent(secctrl.combined_soc),
        available_energy_wh=to_int(available),
        capacity_wh=to_int(secctrl.combined_capacity_wh),
    )
    return combined if combined.as_payload() else None


def build_ac_batteries(
    inventory: DeviceInventory | None, v1: InverterReports | None, device_data: DeviceData | None
) -> tuple[AcBattery, ...]:
    units = {d.serial: d for d in inventory.current("ACB") if d.serial} if inventory else {}
    reports: dict[str, PowerReport] = {
        r.serial: (r.power_w, r.max_power_w, r.last_report) for r in (v1.reports if v1 else ()) if r.is_acb
    }
    for d in device_data.active(ACB) if device_data else ():
        reports[d.serial] = (d.power_w, d.max_power_w, d.last_report)  # the detailed source wins
    serials = list(units) + [s for s in reports if s not in units]
    return tuple(_ac_battery(s, units.get(s), reports.get(s)) for s in serials)


def _ac_battery(serial: str, unit: InventoryDevice | None, report: PowerReport | None) -> AcBattery:
    power, max_power, last_report = report or (None, None, None)
    base = AcBattery(serial, power_w=to_int(power), max_power_w=to_int(max_power), last_report=last_report)
    if unit is None:
        return base
    return AcBattery(
        serial=serial,
        soc_pct=percent(unit.percent_full),
        power_w=base.power_w,
        max_power_w=base.max_power_w,
        # the inventory's own report time only for an ACB that has no power report at all
        last_report=last_report if report else unit.last_report,
        charge_status=unit.charge_status,
        sleep_state=_sleep_state(unit),
        sleep_enabled=unit.sleep_enabled,
        sleep_min_soc_pct=percent(unit.sleep_min_soc),
        sleep_max_soc_pct=percent(unit.sleep_max_soc),
        temperature_c=unit.max_cell_temperature_c,
        communicating=unit.communicating,
        operating=unit.operating,
        producing=unit.producing,
        firmware=unit.firmware,
        part_number=unit.part_number,
    )


def _sleep_state(unit: InventoryDevice) -> str | None:
    """pyenphase's reading of the sleep request and the sleep flag together."""
    if unit.sleep_enabled is None or unit.device_status is None:
        return None
    asleep = SLEEP_FLAG in unit.device_status
    if unit.sleep_enabled:
        return "asleep" if asleep else "going_to_sleep"
    return "waking" if asleep else "awake"


def _milli(value: float | None) -> float | None:
    return None if value is None else value / MILLI
