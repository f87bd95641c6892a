"""The battery and settings sections of the gateway state: `battery`, `acb`, `battery_combined`
(see batteries.py for their sources) and `storage_settings`, from `/admin/lib/tariff`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.model.builders.batteries import (
    AcbAggregate,
    Battery,
    BatteryAggregate,
    CombinedBatteries,
    acb_aggregate,
    battery_aggregate,
    combined_batteries,
)
from bridge.model.builders.payload import Document, Payload, plain
from bridge.model.parse.readings import Readings
from bridge.model.parse.settings import TariffStorage


@dataclass(frozen=True, slots=True)
class StorageSettings(Document):
    """State section `storage_settings`."""

    mode: str | None = None  # backup / self-consumption / economy
    reserve_soc_pct: int | float | None = None  # kept for outages
    very_low_soc_pct: int | float | None = None
    charge_from_grid: bool | None = None
    opt_schedules: bool | None = None  # true: the gateway's own schedule overrides the mode
    sub_mode: str | None = None  # operation_mode_sub_type, e.g. prioritize-energy
    changed: int | None = None  # unix seconds of the last change (the cloud rewrites it)


@dataclass(frozen=True, slots=True)
class Storage:
    """The battery and settings sections of the gateway state."""

    battery: BatteryAggregate | None = None  # IQ Batteries together
    acb: AcbAggregate | None = None  # AC Batteries together
    battery_combined: CombinedBatteries | None = None  # both kinds together
    storage_settings: StorageSettings | None = None

    def sections(self) -> dict[str, Payload]:
        found = {name: getattr(self, name) for name in self.__slots__}
        return {name: body for name, value in found.items() if value is not None and (body := value.as_payload())}


def build_storage(readings: Readings, batteries: tuple[Battery, ...]) -> Storage:
    storage_entry = next((e for r in readings.reports if (e := r.acb_storage()) is not None), None)
    acb = acb_aggregate(storage_entry)
    tariff = readings.tariff
    settings = tariff.storage if tariff is not None and readings.has_batteries else None
    return Storage(
        battery=battery_aggregate(readings.inventory, readings.secctrl, batteries),
        acb=acb,
        battery_combined=combined_batteries(acb, readings.secctrl),
        storage_settings=_settings(settings) if settings is not None else None,
    )


def _settings(tariff: TariffStorage) -> StorageSettings:
    return StorageSettings(
        mode=tariff.mode,
        reserve_soc_pct=plain(tariff.reserved_soc),
        very_low_soc_pct=plain(tariff.very_low_soc),
        charge_from_grid=tariff.charge_from_grid,
        opt_schedules=tariff.opt_schedules,
        sub_mode=tariff.sub_mode,
        changed=tariff.changed,
    )
