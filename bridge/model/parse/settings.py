"""Parsers for the settings documents: battery storage settings from the tariff, the IQ System
Controller's dry-contact relays and their settings, and the standby generator.

Sources (reference §2):
- `/admin/lib/tariff`: `tariff.storage_settings` (absent on gateways without batteries).
  The old mode name `savings-mode` means `economy`, as pyenphase maps it.
- `/ivp/ensemble/dry_contacts` (relay status) and `/ivp/ss/dry_contact_settings`.
- `/ivp/ensemble/generator` (status), `/ivp/ss/gen_config` (`{}` = no generator), `/ivp/ss/gen_mode`.

Typed readings only; builders/ joins them into the published documents.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.errors import EnvoyDataError
from bridge.model.parse.codec import Fields, top_object

LEGACY_MODES = {"savings-mode": "economy"}
GEN_CONFIG_KEYS = (
    "name_plate_rating_wat",
    "max_cont_gen_amps",
    "gen_type",
    "manufacturer",
    "model",
    "start_method",
    "charge_from_generator",
)


@dataclass(frozen=True, slots=True)
class TariffStorage:
    """`tariff.storage_settings` of `/admin/lib/tariff`."""

    mode: str | None  # backup / self-consumption / economy
    reserved_soc: int | float | None  # kept for outages
    very_low_soc: int | float | None
    charge_from_grid: bool | None
    opt_schedules: bool | None  # true: the gateway's own schedule overrides the mode
    sub_mode: str | None  # operation_mode_sub_type, e.g. prioritize-energy
    changed: int | None  # `date`: unix seconds of the last change (the cloud rewrites it)


@dataclass(frozen=True, slots=True)
class Tariff:
    storage: TariffStorage | None  # None: no storage_settings (no batteries)


@dataclass(frozen=True, slots=True)
class RelaySetting:
    id: str
    type: str | None
    name: str | None  # load_name
    mode: str | None  # manual / soc
    grid_action: str | None
    micro_grid_action: str | None
    generator_action: str | None
    override: bool | None
    manual_override: bool | None
    soc_low: int | float | None
    soc_high: int | float | None
    priority: int | float | None
    essential_start: int | float | None  # seconds after midnight
    essential_end: int | float | None


@dataclass(frozen=True, slots=True)
class DryContacts:
    """`/ivp/ensemble/dry_contacts`: id -> "open" / "closed"."""

    status: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True, slots=True)
class DryContactSettings:
    relays: tuple[RelaySetting, ...]


@dataclass(frozen=True, slots=True)
class GeneratorStatus:
    """`/ivp/ensemble/generator`; `present` is 1 on many gateways that have no generator."""

    admin_state: str | None
    oper_state: str | None
    admin_mode: int | None
    schedule: bool | None
    start_soc: int | float | None
    stop_soc: int | float | None  # -1 = not set
    exercising: bool | None  # exc_on
    present: bool | None


@dataclass(frozen=True, slots=True)
class GeneratorConfig:
    """`/ivp/ss/gen_config`; `{}` when no generator is configured."""

    configured: bool
    rating_kw: int | float | None  # name_plate_rating_wat: 14.0 for a 14 kW Generac, so kW
    max_current_a: int | float | None
    type: str | None
    manufacturer: str | None
    model: str | None
    start_method: str | None
    charge_from_generator: bool | None


@dataclass(frozen=True, slots=True)
class GeneratorMode:
    mode: str | None  # gen_cmd: on / off / auto


def parse_tariff(endpoint: str, doc: object) -> Tariff:
    tariff = top_object(endpoint, doc).child("tariff")
    if tariff is None:
        raise EnvoyDataError(f"{endpoint}: no 'tariff' object")
    settings = tariff.child("storage_settings")
    return Tariff(_tariff_storage(settings) if settings is not None and settings.data else None)


def _tariff_storage(fields: Fields) -> TariffStorage:
    mode = fields.text("mode")
    return TariffStorage(
        mode=LEGACY_MODES.get(mode, mode) if mode else None,
        reserved_soc=fields.number("reserved_soc"),
        very_low_soc=fields.number("very_low_soc"),
        charge_from_grid=fields.flag("charge_from_grid"),
        opt_schedules=fields.flag("opt_schedules"),
        sub_mode=fields.text("operation_mode_sub_type") or None,
        changed=fields.epoch("date"),
    )


def parse_dry_contacts(endpoint: str, doc: object) -> DryContacts:
    relays = _relay_list(endpoint, doc)
    return DryContacts(tuple((relay.ident("id"), relay.text("status")) for relay in relays))


def parse_dry_contact_settings(endpoint: str, doc: object) -> DryContactSettings:
    return DryContactSettings(tuple(_relay_setting(relay) for relay in _relay_list(endpoint, doc)))


def _relay_list(endpoint: str, doc: object) -> list[Fields]:
    fields = top_object(endpoint, doc)
    if not fields.has("dry_contacts"):
        raise EnvoyDataError(f"{endpoint}: no 'dry_contacts' list")
    return fields.objects("dry_contacts")


def _relay_setting(fields: Fields) -> RelaySetting:
    return RelaySetting(
        id=fields.ident("id"),
        type=fields.text("type"),
        name=fields.text("load_name") or None,  # "" when the installer named nothing
        mode=fields.text("mode"),
        grid_action=fields.text("grid_action"),
        micro_grid_action=fields.text("micro_grid_action"),
        generator_action=fields.text("gen_action"),
        override=fields.text_flag("override"),
        manual_override=fields.text_flag("manual_override"),
        soc_low=fields.number("soc_low"),
        soc_high=fields.number("soc_high"),
        priority=fields.number("priority"),
        essential_start=fields.number("essential_start_time"),
        essential_end=fields.number("essential_end_time"),
    )


def parse_generator(endpoint: str, doc: object) -> GeneratorStatus:
    fields = top_object(endpoint, doc)
    return GeneratorStatus(
        admin_state=fields.text("admin_state"),
        oper_state=fields.text("oper_state"),
        admin_mode=fields.count("admin_mode"),
        schedule=fields.flag("schedule"),
        start_soc=fields.number("start_soc"),
        stop_soc=fields.number("stop_soc"),
        exercising=fields.flag("exc_on"),
        present=fields.flag("present"),
    )


def parse_generator_config(endpoint: str, doc: object) -> GeneratorConfig:
    fields = top_object(endpoint, doc)
    return GeneratorConfig(
        # `{}` without a generator; a key of a later firmware alone does not make one
        configured=any(fields.has(key) for key in GEN_CONFIG_KEYS),
        rating_kw=fields.number("name_plate_rating_wat"),
        max_current_a=fields.number("max_cont_gen_amps"),
        type=fields.text("gen_type"),
        manufacturer=fields.text("manufacturer") or None,
        model=fields.text("model") or None,
        start_method=fields.text("start_method"),
        charge_from_generator=fields.flag("charge_from_generator"),
    )


def parse_generator_mode(endpoint: str, doc: object) -> GeneratorMode:
    return GeneratorMode(top_object(endpoint, doc).text("gen_cmd"))
