"""Everything the gateway knows beyond its own readings: the battery sections of the state and
one document per physical unit (inverters, batteries, Enpower, relays, generator, collar ...).

Each builder decides from the data itself whether a unit exists, never from which endpoints
were selected, so polling only the selected endpoints publishes the same as polling them all.
"""

from __future__ import annotations

from typing import Protocol

from bridge.model.builders.batteries import build_ac_batteries, build_batteries
from bridge.model.builders.ensemble_units import build_units
from bridge.model.builders.generator import build_generator
from bridge.model.builders.inverters import build_inverters
from bridge.model.builders.payload import Payload
from bridge.model.builders.relays import build_relays
from bridge.model.builders.storage import Storage, build_storage
from bridge.model.parse.readings import Readings


class Device(Protocol):
    """A physical unit (or relay, or the generator) with its own retained topic."""

    @property
    def suffix(self) -> str: ...  # topic below `{base}/{serial}/`, e.g. "inverter/482243033113"

    def as_payload(self) -> Payload: ...


def build_devices(readings: Readings) -> tuple[tuple[Device, ...], Storage]:
    r = readings
    batteries = build_batteries(r.inventory, r.ensemble_power)
    devices = (
        *build_inverters(r.inverter_reports, r.device_data, r.device_inventory),
        *batteries,
        *build_ac_batteries(r.device_inventory, r.inverter_reports, r.device_data),
        *build_units(r.inventory),
        *_enpower_accessories(r),
    )
    return devices, build_storage(r, batteries)


def _enpower_accessories(readings: Readings) -> tuple[Device, ...]:
    """Dry contacts and the generator belong to the IQ System Controller: the gateway answers
    these endpoints without one too, with four unconfigured relays (pyenphase reads them only
    with an Enpower)."""
    if readings.inventory is None or not readings.inventory.enpowers:
        return ()
    relays = build_relays(readings.dry_contacts, readings.dry_contact_settings)
    generator = build_generator(readings.generator, readings.generator_config, readings.generator_mode)
    return (*relays, generator) if generator is not None else relays
