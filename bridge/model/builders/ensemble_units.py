"""Device documents of the grid-side Ensemble units, from `/ivp/ensemble/inventory`:
IQ System Controller (Enpower), IQ Meter Collar, IQ Combiner 6C controller and its meter.
(The IQ Batteries, Ensemble units too, are in batteries.py with the AC Batteries.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypedDict, TypeVar

from bridge.model.builders.grid import collar_status, relay_status
from bridge.model.builders.payload import SerialDocument
from bridge.model.kinds import C6_COMBINER, C6_RGM, COLLAR, SYSTEM_CONTROLLER
from bridge.model.parse.ensemble import C6Combiner, C6Rgm, Collar, Enpower, EnsembleInventory, Unit


@dataclass(frozen=True, slots=True)
class SystemController(SerialDocument):
    """`enpower/<serial>`: the IQ System Controller and its grid relay."""

    kind = SYSTEM_CONTROLLER

    grid_status: str | None = None  # on_grid / off_grid: the relay as it is (mains_oper_state)
    mains_oper_state: str | None = None  # closed / open
    mains_admin_state: str | None = None  # closed / open: as commanded
    admin_state: str | None = None  # e.g. ENPWR_STATE_OPER_CLOSED, ENPWR_STATE_OPER_GEN_CLOSE
    grid_mode: str | None = None  # Enpwr_grid_mode: unreliable, stays ongrid on generator
    battery_grid_mode: str | None = None  # Enchg_grid_mode
    temperature_c: float | None = None  # converted: the Enpower reports Fahrenheit
    communicating: bool | None = None
    operating: bool | None = None
    last_report: int | None = None
    comm_level_2_4_ghz: int | None = None
    comm_level_sub_ghz: int | None = None
    firmware: str | None = None
    part_number: str | None = None


@dataclass(frozen=True, slots=True)
class MeterCollar(SerialDocument):
    """`collar/<serial>`: the IQ Meter Collar."""

    kind = COLLAR

    grid_status: str | None = None  # from admin_state_str, the authoritative field
    admin_state: str | None = None  # ENCMN_MDE_ON_GRID / ENCMN_MDE_OFF_GRID
    grid_state: str | None = None  # the collar's own field: does not follow the real state
    mid_state: str | None = None  # close / open
    collar_state: str | None = None
    control_error: int | None = None
    temperature_c: int | float | None = None
    communicating: bool | None = None
    last_report: int | None = None
    firmware: str | None = None
    part_number: str | None = None


@dataclass(frozen=True, slots=True)
class Combiner(SerialDocument):
    """`c6_combiner/<serial>`: the IQ Combiner 6C controller."""

    kind = C6_COMBINER

    admin_state: str | None = None
    communicating: bool | None = None
    last_report: int | None = None
    firmware: str | None = None
    dmir_version: str | None = None
    part_number: str | None = None


@dataclass(frozen=True, slots=True)
class CombinerMeter(SerialDocument):
    """`c6_rgm/<serial>`: the IQ Combiner 6C's revenue-grade meter (no readings of its own here)."""

    kind = C6_RGM

    device_state: int | None = None
    firmware: str | None = None
    part_number: str | None = None


EnsembleUnit = SystemController | MeterCollar | Combiner | CombinerMeter


class UnitFields(TypedDict):
    """What every Ensemble device reports about itself, under its document's names."""

    admin_state: str | None
    communicating: bool | None
    last_report: int | None
    firmware: str | None
    part_number: str | None


class _Device(Protocol):
    @property
    def unit(self) -> Unit: ...


_DeviceT = TypeVar("_DeviceT", bound=_Device)
_DocumentT = TypeVar("_DocumentT", bound=SerialDocument)


def fahrenheit_to_celsius(value: float | None) -> float | None:
    return None if value is None else round((value - 32) * 5 / 9, 1) + 0.0


def build_units(inventory: EnsembleInventory | None) -> tuple[EnsembleUnit, ...]:
    if inventory is None:
        return ()
    return (
        *_each(inventory.enpowers, _controller),
        *_each(inventory.collars, _collar),
        *_each(inventory.c6_combiners, _combiner),
        *_each(inventory.c6_rgms, _combiner_meter),
    )


def unit_fields(unit: Unit) -> UnitFields:
    return UnitFields(
        admin_state=unit.admin_state,
        communicating=unit.communicating,
        last_report=unit.last_report,
        firmware=unit.firmware,
        part_number=unit.part_number,
    )


def _each(devices: Iterable[_DeviceT], build: Callable[[_DeviceT, str], _DocumentT]) -> Iterator[_DocumentT]:
    """One document per device with a serial (without one it cannot be keyed)."""
    return (build(device, serial) for device in devices if (serial := device.unit.serial))


def _controller(e: Enpower, serial: str) -> SystemController:
    return SystemController(
        serial=serial,
        grid_status=relay_status(e.mains_oper_state),
        mains_oper_state=e.mains_oper_state,
        mains_admin_state=e.mains_admin_state,
        grid_mode=e.grid_mode,
        battery_grid_mode=e.battery_grid_mode,
        temperature_c=fahrenheit_to_celsius(e.temperature_f),
        operating=e.operating,
        comm_level_2_4_ghz=e.comm_level_2_4_ghz,
        comm_level_sub_ghz=e.comm_level_sub_ghz,
        **unit_fields(e.unit),
    )


def _collar(c: Collar, serial: str) -> MeterCollar:
    return MeterCollar(
        serial=serial,
        grid_status=collar_status(c),
        grid_state=c.grid_state,
        mid_state=c.mid_state,
        collar_state=c.collar_state,
        control_error=c.control_error,
        temperature_c=c.temperature_c,
        **unit_fields(c.unit),
    )


def _combiner(c: C6Combiner, serial: str) -> Combiner:
    return Combiner(serial=serial, dmir_version=c.dmir_version, **unit_fields(c.unit))


def _combiner_meter(c: C6Rgm, serial: str) -> CombinerMeter:
    u = c.unit
    return CombinerMeter(serial=serial, device_state=c.device_state, firmware=u.firmware, part_number=u.part_number)
