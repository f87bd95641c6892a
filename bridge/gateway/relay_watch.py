"""The grid relay watched through the live data: the relay endpoint read when the live data
cannot vouch for it.

On a site with an IQ System Controller the live data (`/ivp/livedata/status`, read every second
there) carry the main relay's state too (`meters.main_relay_state`: 1 on grid, 0 off grid,
reference §2.1), so reading `/ivp/ensemble/relay` every second as well doubles the requests for
one fact. The live data's meaning of the relay is a field report, not a documented contract, so
they earn trust per gateway: only once a relay read has agreed with them. From then on the relay
is read when the live relay state changes (at once, in the same step: an outage still shows
within the second), when the live data are missing or stale, and every `CHECK_S` as a check. A
check that finds the relay moved while the live data kept saying what they said before ends the
trust for this gateway until its next probe (one WARNING): the relay is read at its own interval
again, as on a site without live data. The published grid status always comes from the relay
and the inventory, never from the live data alone.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from bridge.gateway.schedule import Schedule
from bridge.model import LIVE_PATH, RELAY_PATH
from bridge.model.builders.grid import MAIN_RELAY_STATES

log = logging.getLogger(__name__)

CHECK_S = 10.0  # the relay read anyway this often while the live data vouch for it
# Polls drift by milliseconds: a check due at exactly CHECK_S would often wait for one poll more.
CHECK_EARLY_S = 0.5


class RelayWatch:
    def __init__(self) -> None:
        self.restart("")

    def restart(self, serial: str) -> None:
        """After a probe: what the live data showed before tells nothing about this setup."""
        self.serial = serial
        self._agreed: int | None = None  # the live relay state at the last relay read that agreed
        self._checked_at = -math.inf  # monotonic time of the last relay read
        self._disowned = False  # the live data missed a change of the relay: not trusted again

    def relay_needed(self, live_state: int | None, now: float) -> bool:
        """Whether the relay endpoint must be read now, given the live data's relay state (None
        when this step has no fresh live reading)."""
        if self._disowned or self._agreed is None or live_state != self._agreed:
            return True
        return now - self._checked_at >= CHECK_S - CHECK_EARLY_S

    def relay_read(self, live_state: int | None, grid_status: str | None, now: float) -> None:
        """After a relay read: whether the live data said the same as the relay."""
        self._checked_at = now
        if live_state is not None and grid_status is not None and MAIN_RELAY_STATES.get(live_state) == grid_status:
            self._agreed = live_state
            return
        if self._agreed is not None and live_state == self._agreed and not self._disowned:
            self._disowned = True
            log.warning(
                "Gateway %s: the relay is %s while the live data still say it is not: reading the relay "
                "every poll instead of trusting the live data",
                self.serial,
                grid_status,
            )
        self._agreed = None


def relay_watched(groups: Mapping[str, tuple[str, ...]], schedule: Schedule) -> bool:
    """The relay is the grid group's endpoint and the live data are read at least as often."""
    return (
        groups.get("grid") == (RELAY_PATH,)
        and bool(groups.get("live"))
        and schedule.interval("live") <= schedule.interval("grid")
    )


def live_relay_state(parsed: Mapping[str, Any]) -> int | None:
    """The main relay state of the latest fresh live reading (a stale one is not in `parsed`)."""
    return getattr(parsed.get(LIVE_PATH), "main_relay_state", None)
