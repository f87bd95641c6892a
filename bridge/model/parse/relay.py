"""`GET /ivp/ensemble/relay`: the grid relay as the gateway reports it.

It reads "closed" on every gateway, with or without an IQ System Controller: whether it means
anything is decided in builders/grid.py, from the Ensemble inventory.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.model.parse.codec import top_object


@dataclass(frozen=True, slots=True)
class RelayState:
    """`/ivp/ensemble/relay` (GET)."""

    mains_oper_state: str | None
    mains_admin_state: str | None


def parse_relay(endpoint: str, doc: object) -> RelayState:
    fields = top_object(endpoint, doc)
    return RelayState(fields.text("mains_oper_state"), fields.text("mains_admin_state"))
