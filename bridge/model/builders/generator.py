"""Device document `generator`: the standby generator on the IQ System Controller, from
`/ivp/ensemble/generator` (status), `/ivp/ss/gen_config` and `/ivp/ss/gen_mode`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.model.builders.payload import UnitDocument, plain
from bridge.model.kinds import GENERATOR
from bridge.model.parse.settings import GeneratorConfig, GeneratorMode, GeneratorStatus

# The generator relay reads "close" while the generator runs (pyenphase fixture
# 8.2.127_with_generator_running) and "open" otherwise; "closed" is accepted as well.
RELAY_CLOSED = frozenset({"close", "closed"})


@dataclass(frozen=True, slots=True)
class Generator(UnitDocument):
    """Device document `generator`."""

    kind = GENERATOR

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
