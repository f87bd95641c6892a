"""The latest reading of every endpoint of one gateway, typed: what the builders read.

The builders never see endpoint paths: which endpoint gave which reading, and whether it has
the type its parser returns, is the registry's business (`bridge.model.assemble.readings_of`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.model.parse.ensemble import EnsembleInventory, EnsemblePower, Secctrl
from bridge.model.parse.livedata import LiveData
from bridge.model.parse.meters import MeterReadings, MetersConfig
from bridge.model.parse.production import ApiV1Production, ProductionReport
from bridge.model.parse.relay import RelayState
from bridge.model.parse.reports import DeviceData, DeviceInventory, InverterReports
from bridge.model.parse.settings import (
    DryContacts,
    DryContactSettings,
    GeneratorConfig,
    GeneratorMode,
    GeneratorStatus,
    Tariff,
)


@dataclass(frozen=True, slots=True)
class Readings:
    """None (or no report) where the gateway has no such endpoint or its answer was unusable."""

    meters: MetersConfig | None = None
    meter_readings: MeterReadings | None = None
    reports: tuple[ProductionReport, ...] = ()  # /production.json?details=1 first, then /production
    api_v1: ApiV1Production | None = None
    device_data: DeviceData | None = None
    inverter_reports: InverterReports | None = None
    inventory: EnsembleInventory | None = None
    relay: RelayState | None = None
    secctrl: Secctrl | None = None
    ensemble_power: EnsemblePower | None = None
    device_inventory: DeviceInventory | None = None
    tariff: Tariff | None = None
    dry_contacts: DryContacts | None = None
    dry_contact_settings: DryContactSettings | None = None
    generator: GeneratorStatus | None = None
    generator_config: GeneratorConfig | None = None
    generator_mode: GeneratorMode | None = None
    live: LiveData | None = None  # only while fresh: the worker drops a stale reading

    @property
    def has_batteries(self) -> bool:
        """IQ Batteries in the Ensemble inventory, or AC Batteries in the production report. Storage
        settings mean nothing without them (7.6.175_with_cts has some and no battery at all)."""
        acb = any(report.acb_storage() is not None for report in self.reports)
        return acb or (self.inventory is not None and bool(self.inventory.encharges))

    @property
    def has_system_controller(self) -> bool:
        """An IQ System Controller (Enpower) in the Ensemble inventory: a grid relay to watch."""
        return self.inventory is not None and bool(self.inventory.enpowers)
