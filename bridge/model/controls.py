"""Settings the gateway controls by (all read only for now): battery storage settings from the
tariff, the IQ System Controller's dry-contact relays, and the standby generator.

Sources (reference §2):
- `/admin/lib/tariff`: `tariff.storage_settings` (absent on gateways without batteries).
  The old mode name `savings-mode` means `economy`, as pyenphase maps it.
- `/ivp/ensemble/dry_contacts` (relay status) and `/ivp/ss/dry_contact_settings`, joined by id.
- `/ivp/ensemble/generator` (status), `/ivp/ss/gen_config` (`{}` = no generator), `/ivp/ss/gen_mode`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.errors import EnvoyDataError
from bridge.model.common import Fields, payload_of, plain, top_object, topic_safe

LEGACY_MODES = {"savings-mode": "economy"}
# The generator relay reads "close" while the generator runs (pyenphase fixture
# 8.2.127_with_generator_running) and "open" otherwise; "closed" is accepted as well.
RELAY_CLOSED = frozenset({"close", "closed"})
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
class StorageSettings:
    """State section `storage_settings`."""

    mode: str | None = None  # backup / self-consumption / economy
    reserve_soc_pct: int | float | None = None  # kept for outages
    very_low_soc_pct: int | float | None = None
    charge_from_grid: bool | None = None
    opt_schedules: bool | None = None  # true: the gateway's own schedule overrides the mode
    sub_mode: str | None = None  # operation_mode_sub_type, e.g. prioritize-energy
    changed: int | None = None  # unix seconds of the last change (the cloud rewrites it)

    def as_payload(self) -> dict:
        return payload_of(self)


@dataclass(frozen=True, slots=True)
class Tariff:
    storage: StorageSettings | None  # None: no storage_settings (no batteries)


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
class Relay:
    """Device document `relay/<id>`: one dry contact (NC1, NC2, NO1, NO2)."""

    id: str
    status: str | None = None  # open / closed
    name: str | None = None
    type: str | None = None  # NONE / PV / LOAD
    mode: str | None = None
    grid_action: str | None = None  # apply / shed / schedule / none
    micro_grid_action: str | None = None
    generator_action: str | None = None
    override: bool | None = None
    manual_override: bool | None = None
    soc_low_pct: int | float | None = None
    soc_high_pct: int | float | None = None
    priority: int | float | None = None
    essential_start_s: int | float | None = None
    essential_end_s: int | float | None = None

    @property
    def suffix(self) -> str:
        return f"relay/{self.id}"

    def as_payload(self) -> dict:
        return payload_of(self)


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


@dataclass(frozen=True, slots=True)
class Generator:
    """Device document `generator`."""

    present: bool | None = None
    running: bool | None = None
    relay_state: str | None = None
    mode: str | None = None
    admin_mode: int | None = None
    start_soc_pct: int | float | None = None
    stop_soc_pct: int | float | None = None
    exercising: bool | None = None
    schedule_enabled: bool | None = None
    rating_kw: int | float | None = None
    max_current_a: int | float | None = None
    type: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    start_method: str | None = None
    charge_from_generator: bool | None = None

    @property
    def suffix(self) -> str:
        return "generator"

    def as_payload(self) -> dict:
        return payload_of(self)


def parse_tariff(endpoint: str, doc: object) -> Tariff:
    tariff = top_object(endpoint, doc).child("tariff")
    if tariff is None:
        raise EnvoyDataError(f"{endpoint}: no 'tariff' object")
    settings = tariff.child("storage_settings")
    return Tariff(_storage_settings(settings) if settings is not None and settings.data else None)


def _storage_settings(fields: Fields) -> StorageSettings:
    mode = fields.text("mode")
    return StorageSettings(
        mode=LEGACY_MODES.get(mode, mode) if mode else None,
        reserve_soc_pct=plain(fields.number("reserved_soc")),
        very_low_soc_pct=plain(fields.number("very_low_soc")),
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


def build_relays(status: DryContacts | None, settings: DryContactSettings | None) -> tuple[Relay, ...]:
    states = dict(status.status) if status else {}
    configured = {s.id: s for s in settings.relays} if settings else {}
    ids = list(dict.fromkeys([*configured, *states]))
    return tuple(_relay(i, states.get(i), configured.get(i)) for i in ids if topic_safe(i))


def _relay(relay_id: str, status: str | None, s: RelaySetting | None) -> Relay:
    if s is None:
        return Relay(relay_id, status=status)
    return Relay(
        id=relay_id,
        status=status,
        name=s.name,
        type=s.type,
        mode=s.mode,
        grid_action=s.grid_action,
        micro_grid_action=s.micro_grid_action,
        generator_action=s.generator_action,
        override=s.override,
        manual_override=s.manual_override,
        soc_low_pct=plain(s.soc_low),
        soc_high_pct=plain(s.soc_high),
        priority=plain(s.priority),
        essential_start_s=plain(s.essential_start),
        essential_end_s=plain(s.essential_end),
    )


def build_generator(
    status: GeneratorStatus | None, config: GeneratorConfig | None, mode: GeneratorMode | None
) -> Generator | None:
    """Only a configured generator exists: `present` alone is 1 on gateways without one."""
    if config is None or not config.configured:
        return None
    s = status or GeneratorStatus(*[None] * len(GeneratorStatus.__slots__))
    oper = s.oper_state.lower() if s.oper_state else None
    return Generator(
        present=s.present,
        running=(oper in RELAY_CLOSED) if oper else None,
        relay_state=s.oper_state,
        mode=mode.mode if mode else None,
        admin_mode=s.admin_mode,
        start_soc_pct=_soc(s.start_soc),
        stop_soc_pct=_soc(s.stop_soc),
        exercising=s.exercising,
        schedule_enabled=s.schedule,
        rating_kw=plain(config.rating_kw),
        max_current_a=plain(config.max_current_a),
        type=config.type,
        manufacturer=config.manufacturer,
        model=config.model,
        start_method=config.start_method,
        charge_from_generator=config.charge_from_generator,
    )


def _soc(value: float | None) -> int | float | None:
    return plain(value) if value is not None and value >= 0 else None  # -1 = not set
