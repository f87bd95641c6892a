"""Everything the gateway knows beyond its own readings: the battery sections of the state and
one document per physical unit (inverters, batteries, Enpower, relays, generator, collar ...).

Each builder decides from the data itself whether a unit exists, never from which endpoints
were selected, so polling only the selected endpoints publishes the same as polling them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bridge.model.batteries import (
    AcbAggregate,
    BatteryAggregate,
    CombinedBatteries,
    acb_aggregate,
    battery_aggregate,
    build_ac_batteries,
    build_batteries,
    combined_batteries,
)
from bridge.model.controls import StorageSettings, build_generator, build_relays
from bridge.model.ensemble import EnsembleInventory
from bridge.model.inverters import build_inverters
from bridge.model.sources import (
    DEVICE_DATA,
    DEVICE_INVENTORY,
    DRY_CONTACT_SETTINGS,
    DRY_CONTACTS,
    ENSEMBLE_POWER,
    GEN_CONFIG,
    GEN_MODE,
    GENERATOR,
    INVENTORY,
    INVERTERS,
    SECCTRL,
    TARIFF,
    has_batteries,
    parsed_result,
    production_reports,
)
from bridge.model.units import build_units


class Device(Protocol):
    """A physical unit (or relay, or the generator) with its own retained topic."""

    @property
    def suffix(self) -> str: ...  # topic below `{base}/{serial}/`, e.g. "inverter/482243033113"

    def as_payload(self) -> dict: ...


@dataclass(frozen=True, slots=True)
class Storage:
    """The battery and settings sections of the gateway state."""

    battery: BatteryAggregate | None = None  # IQ Batteries together
    acb: AcbAggregate | None = None  # AC Batteries together
    battery_combined: CombinedBatteries | None = None  # both kinds together
    storage_settings: StorageSettings | None = None

    def sections(self) -> dict[str, dict]:
        found = {name: getattr(self, name) for name in self.__slots__}
        return {name: body for name, value in found.items() if value is not None and (body := value.as_payload())}


def build_devices(parsed: Mapping[str, Any]) -> tuple[tuple[Device, ...], Storage]:
    inventory: EnsembleInventory | None = parsed_result(parsed, INVENTORY)
    batteries = build_batteries(inventory, parsed_result(parsed, ENSEMBLE_POWER))
    devices = (
        *build_inverters(*_reports(parsed)),
        *batteries,
        *build_ac_batteries(
            parsed_result(parsed, DEVICE_INVENTORY),
            parsed_result(parsed, INVERTERS),
            parsed_result(parsed, DEVICE_DATA),
        ),
        *build_units(inventory),
        *_enpower_accessories(parsed, inventory),
    )
    return devices, _storage(parsed, inventory, batteries)


def _reports(parsed: Mapping[str, Any]) -> tuple:
    return parsed_result(parsed, INVERTERS), parsed_result(parsed, DEVICE_DATA), parsed_result(parsed, DEVICE_INVENTORY)


def _enpower_accessories(parsed: Mapping[str, Any], inventory: EnsembleInventory | None) -> tuple[Device, ...]:
    """Dry contacts and the generator belong to the IQ System Controller: the gateway answers
    these endpoints without one too, with four unconfigured relays (pyenphase reads them only
    with an Enpower)."""
    if inventory is None or not inventory.enpowers:
        return ()
    relays = build_relays(parsed_result(parsed, DRY_CONTACTS), parsed_result(parsed, DRY_CONTACT_SETTINGS))
    generator = build_generator(
        parsed_result(parsed, GENERATOR), parsed_result(parsed, GEN_CONFIG), parsed_result(parsed, GEN_MODE)
    )
    return (*relays, generator) if generator is not None else relays


def _storage(parsed: Mapping[str, Any], inventory: EnsembleInventory | None, batteries: tuple) -> Storage:
    secctrl = parsed_result(parsed, SECCTRL)
    storage_entry = next((e for _, r in production_reports(parsed) if (e := r.acb_storage()) is not None), None)
    acb = acb_aggregate(storage_entry)
    tariff = parsed_result(parsed, TARIFF)
    settings = tariff.storage if tariff is not None and has_batteries(parsed) else None
    return Storage(
        battery=battery_aggregate(inventory, secctrl, batteries),
        acb=acb,
        battery_combined=combined_batteries(acb, secctrl),
        storage_settings=settings,
    )
