"""What one cycle of one gateway hands to the sinks: a snapshot, and availability events.

The worker builds the snapshot once per cycle (state, unit documents, diagnostics, the latest
live document), so no sink repeats the costly part and every sink sees the same instant. The documents are plain dicts
because they go to `json.dumps` as they are: the sinks share them, and only read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.model import GatewayInfo, GatewayState, LiveDocument
from bridge.model.guard import STATE, Guarded


@dataclass(frozen=True)
class Snapshot:
    info: GatewayInfo
    state: GatewayState
    payload: dict[str, Any]  # the `{base}/{serial}/state` document
    documents: dict[str, dict[str, Any]]  # topic suffix (inverter/<sn>, relay/<id> ...) -> document
    diagnostics: dict[str, Any]  # the bridge's own view of the gateway: errors, timings, token
    polled_at: float  # wall clock, unix seconds
    # Counts the probes of the gateway's endpoints: a new value means what the gateway offers
    # was read again (after an outage or a firmware change), so announced entities may go.
    generation: int
    # The latest fresh live reading (`{base}/{serial}/live`); None without one. Between full
    # cycles the live group hands its documents to the sinks alone (`Sink.live`).
    live: LiveDocument | None = None

    @classmethod
    def of(
        cls,
        info: GatewayInfo,
        state: GatewayState,
        diagnostics: dict[str, Any],
        polled_at: float,
        generation: int,
        guarded: Guarded,
        live: LiveDocument | None = None,
    ) -> Snapshot:
        """`guarded`: the state's documents (`documents_of`) once the counter guard has held
        their glitches (bridge/model/guard.py)."""
        documents = dict(guarded.documents)
        payload = documents.pop(STATE)
        return cls(info, state, payload, documents, diagnostics, polled_at, generation, live)

    @staticmethod
    def documents_of(state: GatewayState) -> dict[str, dict[str, Any]]:
        """What the counter guard reads: the state document under STATE, then every unit's."""
        return {STATE: state.as_payload(), **state.device_payloads()}

    @property
    def serial(self) -> str:
        return self.info.serial

    @property
    def grid_status(self) -> str | None:
        return self.state.grid_status


@dataclass(frozen=True)
class Availability:
    """The gateway became reachable with usable data (online), or stopped being (offline)."""

    serial: str
    online: bool
    reason: str | None = None  # why it went offline, as logged
