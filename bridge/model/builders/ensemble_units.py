"""Device documents of the grid-side Ensemble units, from `/ivp/ensemble/inventory`:
IQ System Controller (Enpower), IQ Meter Collar, IQ Combiner 6C controller and its meter.
(The IQ Batteries, Ensemble units too, are in batteries.py with the AC Batteries.)
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.model.builders.grid import collar_status, relay_status
from bridge.model.builders.payload import Payload, payload_of, topic_safe
from bridge.model.kinds import C6_COMBINER, C6_RGM, COLLAR, SYSTEM_CONTROLLER
from bridge.model.parse.ensemble import C6Combiner, C6Rgm, Collar, Enpower, EnsembleInventory


@dataclass(frozen=True, slots=True)
class SystemController:
    """`enpower/<serial>`: the IQ System Controller and its grid relay."""

    serial: str
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

    @property
    def suffix(self) -> str:
        return SYSTEM_CONTROLLER.topic_suffix(self.serial)

    def as_payload(self) -> Payload:
        return payload_of(self)


@dataclass(frozen=True, slots=True)
class MeterCollar:
    """`collar/<serial>`: the IQ Meter Collar."""

    serial: str
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

    @property
    def suffix(self) -> str:
        return COLLAR.topic_suffix(self.serial)

    def as_payload(self) -> Payload:
        return payload_of(self)


@dataclass(frozen=True, slots=True)
class Combiner:
    """`c6_combiner/<serial>`: the IQ Combiner 6C controller."""

    serial: str
    admin_state: str | None = None
    communicating: bool | None = None
    last_report: int | None = None
    firmware: str | None = None
    dmir_version: str | None = None
    part_number: str | None = None

    @property
    def suffix(self) -> str:
        return C6_COMBINER.topic_suffix(self.serial)

    def as_payload(self) -> Payload:
        return payload_of(self)


@dataclass(frozen=True, slots=True)
class CombinerMeter:
    """`c6_rgm/<serial>`: the IQ Combiner 6C's revenue-grade meter (no readings of its own here)."""

    serial: str
    device_state: int | None = None
    firmware: str | None = None
    part_number: str | None = None

    @property
    def suffix(self) -> str:
        return C6_RGM.topic_suffix(self.serial)

    def as_payload(self) -> Payload:
        return payload_of(self)


EnsembleUnit = SystemController | MeterCollar | Combiner | CombinerMeter


def fahrenheit_to_celsius(value: float | None) -> float | None:
    return None if value is None else round((value - 32) * 5 / 9, 1) + 0.0


def build_units(inventory: EnsembleInventory | None) -> tuple[EnsembleUnit, ...]:
    """One document per unit whose serial can be a topic level."""
    if inventory is None:
        return ()
    return (
        *(_controller(e, e.unit.serial) for e in inventory.enpowers if topic_safe(e.unit.serial)),
        *(_collar(c, c.unit.serial) for c in inventory.collars if topic_safe(c.unit.serial)),
        *(_combiner(c, c.unit.serial) for c in inventory.c6_combiners if topic_safe(c.unit.serial)),
        *(_combiner_meter(c, c.unit.serial) for c in inventory.c6_rgms if topic_safe(c.unit.serial)),
    )


def _controller(e: Enpower, serial: str) -> SystemController:
    u = e.unit
    return SystemController(
        serial=serial,
        grid_status=relay_status(e.mains_oper_state),
        mains_oper_state=e.mains_oper_state,
        mains_admin_state=e.mains_admin_state,
        admin_state=u.admin_state,
        grid_mode=e.grid_mode,
        battery_grid_mode=e.battery_grid_mode,
        temperature_c=fahrenheit_to_celsius(e.temperature_f),
        communicating=u.communicating,
        operating=e.operating,
        last_report=u.last_report,
        comm_level_2_4_ghz=e.comm_level_2_4_ghz,
        comm_level_sub_ghz=e.comm_level_sub_ghz,
        firmware=u.firmware,
        part_number=u.part_number,
    )


def _collar(c: Collar, serial: str) -> MeterCollar:
    u = c.unit
    return MeterCollar(
        serial=serial,
        grid_status=collar_status(c),
        admin_state=u.admin_state,
        grid_state=c.grid_state,
        mid_state=c.mid_state,
        collar_state=c.collar_state,
        control_error=c.control_error,
        temperature_c=c.temperature_c,
        communicating=u.communicating,
        last_report=u.last_report,
        firmware=u.firmware,
        part_number=u.part_number,
    )


def _combiner(c: C6Combiner, serial: str) -> Combiner:
    u = c.unit
    return Combiner(
        serial=serial,
        admin_state=u.admin_state,
        communicating=u.communicating,
        last_report=u.last_report,
        firmware=u.firmware,
        dmir_version=c.dmir_version,
        part_number=u.part_number,
    )


def _combiner_meter(c: C6Rgm, serial: str) -> CombinerMeter:
    u = c.unit
    return CombinerMeter(serial=serial, device_state=c.device_state, firmware=u.firmware, part_number=u.part_number)
