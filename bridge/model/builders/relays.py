"""Device documents `relay/<id>`: the IQ System Controller's dry contacts (NC1, NC2, NO1, NO2),
their state from `/ivp/ensemble/dry_contacts` joined by id with their settings from
`/ivp/ss/dry_contact_settings`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.model.builders.payload import UnitDocument, plain
from bridge.model.kinds import RELAY
from bridge.model.parse.settings import DryContacts, DryContactSettings, RelaySetting


@dataclass(frozen=True, slots=True)
class Relay(UnitDocument):
    """Device document `relay/<id>`: one dry contact."""

    kind = RELAY

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
    def unit_id(self) -> str:
        return self.id


def build_relays(status: DryContacts | None, settings: DryContactSettings | None) -> tuple[Relay, ...]:
    states = dict(status.status) if status else {}
    configured = {s.id: s for s in settings.relays} if settings else {}
    ids = list(dict.fromkeys([*configured, *states]))
    return tuple(_relay(i, states.get(i), configured.get(i)) for i in ids)


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
