"""What the sinks are tested with: a recording stand-in for the Publisher, and snapshots.

The unit tests, the golden files and the reliability rigs drive the real sinks with the
`Recorder` (no broker); the integration tests use the real Publisher and Mosquitto instead.
"""

from __future__ import annotations

from bridge import model
from bridge.model.snapshot import Snapshot

SERIAL = "999000000001"
DISCOVERY = "<discovery>"  # how a discovery sync shows in `order`


class Recorder:
    def __init__(self):
        self.states: list[tuple[str, str]] = []  # (topic, payload), every state message
        self.compares: dict[str, str | None] = {}  # topic -> the comparison key last given
        self.discovery: dict[str, str] = {}  # the last configs synced
        self.discovery_syncs = 0
        self.order: list[str] = []  # topics as sent, DISCOVERY for a sync
        self.connected = True
        self.command_filters: list[str] = []  # what the controls and the requests subscribed to

    # --- the Publisher's interface -----------------------------------------------------

    def publish_state(self, topic: str, payload: str, compare: str | None = None) -> None:
        self.states.append((topic, payload))
        self.compares[topic] = compare
        self.order.append(topic)

    def sync_discovery(self, owner: str, configs: dict[str, str]) -> None:
        self.discovery_syncs += 1
        self.discovery = dict(configs)
        self.order.append(DISCOVERY)

    def subscribe_commands(self, filters: tuple[str, ...], handler: object) -> None:
        self.command_filters += filters

    def publish_event(self, topic: str, payload: str) -> None:
        self.states.append((topic, payload))
        self.order.append(topic)

    def start(self) -> None:
        pass

    def stop(self, timeout: float = 0.0) -> None:
        pass

    def flush(self, timeout: float = 0.0) -> bool:
        return True

    def tick(self) -> None:
        pass

    # --- reading it back ---------------------------------------------------------------

    @property
    def messages(self) -> dict[str, str]:
        """The last payload of every topic: what a retained subscriber would see."""
        return dict(self.states)

    def last(self, suffix: str) -> str | None:
        return next((p for t, p in reversed(self.states) if t.endswith(suffix)), None)

    def history(self, suffix: str) -> list[str]:
        return [p for t, p in self.states if t.endswith(suffix)]

    def transitions(self, suffix: str = "/availability") -> list[str]:
        """The availability history without repeats: what a subscriber sees change."""
        out: list[str] = []
        for payload in self.history(suffix):
            if not out or out[-1] != payload:
                out.append(payload)
        return out


def make_snapshot(
    payload: dict | None = None,
    *,
    documents: dict | None = None,
    diagnostics: dict | None = None,
    grid_status: str | None = None,
    firmware: str = "8.2.4382",
    generation: int = 1,
    live: model.LiveDocument | None = None,
) -> Snapshot:
    """A snapshot of gateway SERIAL with the documents given (by default, some production)."""
    info = model.GatewayInfo(SERIAL, firmware, "800-00654-r08", True, True)
    state = model.GatewayState(SERIAL, firmware, 1_700_000_000, grid=model.GridState(status=grid_status))
    if payload is None:
        payload = {"schema": 1, "serial": SERIAL, "firmware": firmware, "time": 1_700_000_000}
        payload["production"] = {"power_w": 1200}
    return Snapshot(
        info,
        state,
        payload,
        documents or {},
        diagnostics if diagnostics is not None else {"errors": 0, "firmware": firmware, "last_poll": 1_700_000_000},
        1_700_000_000.0,
        generation,
        live,
    )
