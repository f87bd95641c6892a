"""Parsers for the Ensemble endpoints: `/ivp/ensemble/inventory`, `/ivp/ensemble/secctrl`,
`/ivp/ensemble/power` (IQ Batteries, IQ System Controller, IQ Meter Collar, IQ Combiner 6C).

Only typed readings here; what is published, and the grid status, are decided in builders/.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.errors import EnvoyDataError
from bridge.model.parse.codec import Fields, device_groups, optional_ident, top_object

ENCHARGE, ENPOWER, COLLAR = "ENCHARGE", "ENPOWER", "COLLAR"
C6_COMBINER, C6_RGM = "C6 COMBINER CONTROLLER", "C6 RGM"


@dataclass(frozen=True, slots=True)
class Unit:
    """What every Ensemble device reports about itself."""

    serial: str | None
    part_number: str | None
    firmware: str | None  # img_pnum_running (fw_version on the C6 combiner)
    admin_state: str | None  # admin_state_str, e.g. ENCHG_STATE_READY
    communicating: bool | None
    last_report: int | None  # last_rpt_date, unix seconds


@dataclass(frozen=True, slots=True)
class Encharge:
    """An IQ Battery (Encharge) of the inventory."""

    unit: Unit
    percent_full: int | float | None
    temperature_c: int | float | None
    max_cell_temperature_c: int | float | None
    capacity_wh: int | float | None  # encharge_capacity
    dc_switch_off: bool | None
    operating: bool | None  # missing on firmware 8
    sleep_enabled: bool | None
    grid_mode: str | None  # reported_enc_grid_state: the battery inverter's mode, not the mains relay
    phase: str | None
    comm_level_2_4_ghz: int | None
    comm_level_sub_ghz: int | None


@dataclass(frozen=True, slots=True)
class Enpower:
    """The IQ System Controller: the grid relay."""

    unit: Unit
    mains_oper_state: str | None  # "closed" / "open": the relay as it is
    mains_admin_state: str | None  # the relay as commanded
    grid_mode: str | None  # Enpwr_grid_mode: still "multimode-ongrid" on generator, unreliable
    battery_grid_mode: str | None  # Enchg_grid_mode
    temperature_f: int | float | None  # the Enpower, alone of all devices, reports Fahrenheit
    operating: bool | None
    comm_level_2_4_ghz: int | None
    comm_level_sub_ghz: int | None


@dataclass(frozen=True, slots=True)
class Collar:
    """The IQ Meter Collar."""

    unit: Unit
    grid_state: str | None  # "on_grid": does not follow the real state
    mid_state: str | None  # "close" / "open": the microgrid interconnect device
    collar_state: str | None
    control_error: int | None
    temperature_c: int | float | None


@dataclass(frozen=True, slots=True)
class C6Combiner:
    unit: Unit
    dmir_version: str | None


@dataclass(frozen=True, slots=True)
class C6Rgm:
    """The revenue-grade meter of the IQ Combiner 6C: only a serial, firmware and state code."""

    unit: Unit
    device_state: int | None


@dataclass(frozen=True, slots=True)
class EnsembleInventory:
    """`/ivp/ensemble/inventory`: one entry per device type, `[]` without Ensemble devices."""

    encharges: tuple[Encharge, ...] = ()
    enpowers: tuple[Enpower, ...] = ()
    collars: tuple[Collar, ...] = ()
    c6_combiners: tuple[C6Combiner, ...] = ()
    c6_rgms: tuple[C6Rgm, ...] = ()
    device_counts: tuple[tuple[str, int], ...] = ()  # (type, number of devices), e.g. ("ENCHARGE", 3)

    @property
    def has_grid_device(self) -> bool:
        return bool(self.enpowers or self.collars)

    @property
    def has_devices(self) -> bool:
        return any(count for _, count in self.device_counts)


@dataclass(frozen=True, slots=True)
class Secctrl:
    """`/ivp/ensemble/secctrl`: the battery aggregates (Wh, %)."""

    encharge_soc: int | float | None  # ENC_agg_soc
    encharge_available_wh: int | float | None  # ENC_agg_avail_energy
    encharge_reserve_wh: int | float | None  # ENC_agg_backup_energy
    encharge_capacity_wh: int | float | None  # Enc_max_available_capacity
    encharge_health: int | float | None  # ENC_agg_soh
    reserve_soc: int | float | None  # adjusted_backup_soc: what the batteries keep now
    configured_reserve_soc: int | float | None  # configured_backup_soc: the user's setting
    combined_soc: int | float | None  # agg_soc: Encharge and ACB together
    combined_capacity_wh: int | float | None  # Max_energy
    acb_available_wh: int | float | None  # ACB_agg_energy


@dataclass(frozen=True, slots=True)
class EnchargePower:
    serial: str
    real_power_mw: int | float | None  # positive = discharging
    apparent_power_mva: int | float | None
    soc: int | float | None


@dataclass(frozen=True, slots=True)
class EnsemblePower:
    """`/ivp/ensemble/power`; its list really is under the key `"devices:"`, colon included."""

    devices: tuple[EnchargePower, ...]

    def by_serial(self) -> dict[str, EnchargePower]:
        found: dict[str, EnchargePower] = {}
        for device in self.devices:
            found.setdefault(device.serial, device)
        return found


def parse_inventory(endpoint: str, doc: object) -> EnsembleInventory:
    found: dict[str, list[Any]] = {kind: [] for kind in _DEVICE_PARSERS}  # type -> its parsed devices
    counts: list[tuple[str, int]] = []
    for kind, devices in device_groups(endpoint, doc):
        counts.append((kind, len(devices)))
        if kind in _DEVICE_PARSERS:
            found[kind].extend(_DEVICE_PARSERS[kind](device) for device in devices)
    return EnsembleInventory(
        encharges=tuple(found[ENCHARGE]),
        enpowers=tuple(found[ENPOWER]),
        collars=tuple(found[COLLAR]),
        c6_combiners=tuple(found[C6_COMBINER]),
        c6_rgms=tuple(found[C6_RGM]),
        device_counts=tuple(counts),
    )


def parse_secctrl(endpoint: str, doc: object) -> Secctrl:
    fields = top_object(endpoint, doc)
    result = Secctrl(
        encharge_soc=fields.number("ENC_agg_soc"),
        encharge_available_wh=fields.number("ENC_agg_avail_energy"),
        encharge_reserve_wh=fields.number("ENC_agg_backup_energy"),
        encharge_capacity_wh=fields.number("Enc_max_available_capacity"),
        encharge_health=fields.number("ENC_agg_soh"),
        reserve_soc=fields.number("adjusted_backup_soc"),
        configured_reserve_soc=fields.number("configured_backup_soc"),
        combined_soc=fields.number("agg_soc"),
        combined_capacity_wh=fields.number("Max_energy"),
        acb_available_wh=fields.number("ACB_agg_energy"),
    )
    if result == Secctrl(*[None] * len(Secctrl.__slots__)):
        raise EnvoyDataError(f"{endpoint}: none of the battery aggregates in the answer")
    return result


def parse_ensemble_power(endpoint: str, doc: object) -> EnsemblePower:
    fields = top_object(endpoint, doc)
    key = "devices:" if fields.has("devices:") else "devices"  # in case a firmware fixes the typo
    if not fields.has(key):
        raise EnvoyDataError(f"{endpoint}: no 'devices:' list")
    return EnsemblePower(tuple(_encharge_power(item) for item in fields.objects(key)))


def _unit(fields: Fields, firmware_key: str = "img_pnum_running") -> Unit:
    return Unit(
        serial=optional_ident(fields, "serial_num"),
        part_number=fields.text("part_num"),
        firmware=fields.text(firmware_key),
        admin_state=fields.text("admin_state_str"),
        communicating=fields.flag("communicating"),
        last_report=fields.epoch("last_rpt_date"),
    )


def _encharge(fields: Fields) -> Encharge:
    return Encharge(
        unit=_unit(fields),
        percent_full=fields.number("percentFull"),
        temperature_c=fields.number("temperature"),
        max_cell_temperature_c=fields.number("maxCellTemp"),
        capacity_wh=fields.number("encharge_capacity"),
        dc_switch_off=fields.flag("dc_switch_off"),
        operating=fields.flag("operating"),
        sleep_enabled=fields.flag("sleep_enabled"),
        grid_mode=fields.text("reported_enc_grid_state"),
        phase=fields.text("phase"),
        comm_level_2_4_ghz=fields.count("comm_level_2_4_ghz"),
        comm_level_sub_ghz=fields.count("comm_level_sub_ghz"),
    )


def _enpower(fields: Fields) -> Enpower:
    return Enpower(
        unit=_unit(fields),
        mains_oper_state=fields.text("mains_oper_state"),
        mains_admin_state=fields.text("mains_admin_state"),
        grid_mode=fields.text("Enpwr_grid_mode"),
        battery_grid_mode=fields.text("Enchg_grid_mode"),
        temperature_f=fields.number("temperature"),
        operating=fields.flag("operating"),
        comm_level_2_4_ghz=fields.count("comm_level_2_4_ghz"),
        comm_level_sub_ghz=fields.count("comm_level_sub_ghz"),
    )


def _collar(fields: Fields) -> Collar:
    return Collar(
        unit=_unit(fields),
        grid_state=fields.text("grid_state"),
        mid_state=fields.text("mid_state"),
        collar_state=fields.text("collar_state"),
        control_error=fields.count("control_error"),
        temperature_c=fields.number("temperature"),
    )


def _c6_combiner(fields: Fields) -> C6Combiner:
    return C6Combiner(unit=_unit(fields, "fw_version"), dmir_version=fields.text("dmir_version"))


def _c6_rgm(fields: Fields) -> C6Rgm:
    # This entry uses its own spelling: "FW Version", "Device State".
    return C6Rgm(unit=_unit(fields, "FW Version"), device_state=fields.count("Device State"))


def _encharge_power(fields: Fields) -> EnchargePower:
    return EnchargePower(
        serial=fields.ident("serial_num"),
        real_power_mw=fields.number("real_power_mw"),
        apparent_power_mva=fields.number("apparent_power_mva"),
        soc=fields.number("soc"),
    )


_DEVICE_PARSERS = {ENCHARGE: _encharge, ENPOWER: _enpower, COLLAR: _collar, C6_COMBINER: _c6_combiner, C6_RGM: _c6_rgm}
