"""The bridge's own view of one gateway, `{base}/{serial}/diagnostics`: errors so far, the last
poll, what the counter guard held back, and the token."""

from __future__ import annotations

from typing import Any

from bridge import model
from bridge.gateway.client import EnvoyClient
from bridge.model.guard import CounterGuard


def refresh(
    kept: dict[str, Any],
    info: model.GatewayInfo,
    client: EnvoyClient,
    counters: CounterGuard,
    poll_duration_s: float,
    now: float,
    energy_gaps: int | None = None,
) -> dict[str, Any]:
    """`kept` (the worker's running document: its error count, the bridge version) brought up to
    this cycle; returns a copy with its keys sorted."""
    kept.update(
        {
            "serial": info.serial,
            "firmware": info.firmware,
            "last_poll": round(now),
            "poll_duration_s": round(poll_duration_s, 3),
            "counter_glitches": counters.glitches,
            "counter_wraps": counters.wraps,
        }
    )
    if energy_gaps is not None:  # only with computed counters
        kept["computed_energy_gaps"] = energy_gaps
    token = client.token_info
    if token is not None:
        kept.update(
            {
                "token_type": token.user_type,
                "token_source": client.token_source,
                "token_flow": client.token_flow,
                "token_expires": round(token.expires_at),
                "token_days_left": round(token.days_left(now), 1),
            }
        )
    kept["token_renewal_error"] = client.last_renewal_error
    return dict(sorted(kept.items()))
