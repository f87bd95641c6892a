"""Everything the gateway knows beyond its own readings: the battery sections of the state and
one document per physical unit (inverters, batteries, Enpower, relays, generator, collar ...).

Each builder decides from the data itself whether a unit exists, never from which endpoints
were selected, so polling only the selected endpoints publishes the same as polling them all.
Whether a unit can have a topic of its own is decided here, once for every kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Protocol

from bridge import identifiers
from bridge.model.builders.batteries import build_ac_batteries, build_batteries
from bridge.model.builders.ensemble_units import build_units
from bridge.model.builders.generator import build_generator
from bridge.model.builders.inverters import build_inverters
from bridge.model.builders.payload import Payload
from bridge.model.builders.relays import build_relays
from bridge.model.builders.storage import Storage, build_storage
from bridge.model.kinds import UnitKind
from bridge.model.parse.readings import Readings


class Device(Protocol):
    """A physical unit (or relay, or the generator) with its own retained topic."""

    kind: ClassVar[UnitKind]

    @property
    def unit_id(self) -> str: ...  # its topic level below the kind's stem; "" for one per gateway

    @property
    def suffix(self) -> str: ...  # topic below `{base}/{serial}/`, e.g. "inverter/482243033113"

    def as_payload(self) -> Payload: ...


def build_devices(readings: Readings) -> tuple[tuple[Device, ...], tuple[str, ...], Storage]:
    """The units with a topic of their own, what was refused one (a line each), the storage."""
    r = readings
    batteries = build_batteries(r.inventory, r.ensemble_power)
    devices = (
        *build_inverters(r.inverter_reports, r.device_data, r.device_inventory),
        *batteries,
        *build_ac_batteries(r.device_inventory, r.inverter_reports, r.device_data),
        *build_units(r.inventory),
        *_enpower_accessories(r),
    )
    kept, refused = addressable(devices)
    return kept, refused, build_storage(r, batteries)


def addressable(devices: Iterable[Device]) -> tuple[tuple[Device, ...], tuple[str, ...]]:
    """The units whose id can be a topic level (bridge/identifiers.py), and why each other one
    cannot. A refused unit loses its own document only: what it reports still counts in the
    gateway's totals (a battery's power in the batteries' sum), which stay true that way."""
    kept: list[Device] = []
    refused: list[str] = []
    for device in devices:
        ident = device.unit_id
        # "" is the generator's: one document per gateway, no id level (the parsers refuse an
        # empty relay id); a unit known by its serial always has one.
        why = identifiers.id_problem(ident) if ident or device.kind.by_serial else None
        if why is None:
            kept.append(device)
        else:
            name = "serial" if device.kind.by_serial else "id"
            refused.append(f"{device.kind.stem} with {name} {identifiers.show(ident)} left out: its {name} {why}")
    return tuple(kept), tuple(refused)


def _enpower_accessories(readings: Readings) -> tuple[Device, ...]:
    """Dry contacts and the generator belong to the IQ System Controller: the gateway answers
    these endpoints without one too, with four unconfigured relays (pyenphase reads them only
    with an Enpower)."""
    if readings.inventory is None or not readings.inventory.enpowers:
        return ()
    relays = build_relays(readings.dry_contacts, readings.dry_contact_settings)
    generator = build_generator(readings.generator, readings.generator_config, readings.generator_mode)
    return (*relays, generator) if generator is not None else relays
