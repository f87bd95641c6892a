"""Poll groups: which endpoint is read how often, and scheduling them on monotonic time.

Fast groups carry what changes fast and is cheap for the gateway (CT readings, the grid relay,
the live data); slow ones carry what the gateway itself only refreshes every few minutes
(inverters) or what almost never changes (/info, the CT list). Each endpoint's group is in the
model's endpoint registry (`bridge.model.endpoints`); the interval of each group is in the
configuration, the live group's "auto" decided per gateway (`fast_live`). An endpoint the
gateway refreshes slower than its group runs (the registry's `refresh_s`: inverter detail,
settings) is skipped until it can say something new, and the grid relay is not read at all
when it would come no faster than the inventory, which reports the same relay.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from bridge.config import PollIntervals
from bridge.model import POLL_GROUPS, REFRESH_S, RELAY_PATH

GROUPS = ("meters", "grid", "live", "energy", "inverters", "batteries", "info")
# Read every second or few, also between the endpoints of a slow group: a cycle of them alone
# publishes what they read (a grid status, the live document), not the whole state (only a new
# status from the relay earns a full cycle).
FAST_GROUPS = ("grid", "live")
# A group comes due a little after or before the same moment one interval later: an endpoint
# read that much short of its refresh time is due, or a 300 s group would read it every 600 s.
REFRESH_SLACK = 0.9


def group_endpoints(active: set[str], grid_endpoint: str | None = None) -> dict[str, tuple[str, ...]]:
    """The endpoints of each group that this gateway has, in the registry's (probe) order.

    `grid_endpoint` is what reports the grid status on this gateway (the relay with an
    Enpower, the inventory with only a Collar): it goes to the fast grid group, alone.
    """
    groups: dict[str, tuple[str, ...]] = dict.fromkeys(GROUPS, ())
    for endpoint, group in POLL_GROUPS.items():
        if endpoint == grid_endpoint:
            group = "grid"
        elif group == "grid":
            group = "batteries"  # a relay that reports nothing useful here: no need to hurry
        if endpoint in active:
            groups[group] += (endpoint,)
    return groups


def grid_read(grid_endpoint: str | None, intervals: PollIntervals) -> str | None:
    """The grid group's endpoint, or None when the group would add nothing: the relay polled no
    faster than the batteries group reads the inventory, whose System Controller reports the
    same `mains_oper_state` (`poll.grid` >= `poll.batteries`, as at Home Assistant's pace)."""
    if grid_endpoint == RELAY_PATH and intervals.interval("grid") >= intervals.interval("batteries"):
        return None
    return grid_endpoint


@dataclass
class Schedule:
    """Next due time of each group on `time.monotonic()`: immune to wall-clock steps.

    A group that ran late is rescheduled one interval after it actually ran, so a slow
    gateway never gets a burst of catch-up requests.
    """

    intervals: PollIntervals
    next_due: dict[str, float]
    fast_live: bool = False  # the gateway has batteries or a system controller: "auto" is 1 s
    read_at: dict[str, float] = field(default_factory=dict)  # endpoints with a refresh time: their last read
    refresh_s: Mapping[str, float] = field(default_factory=lambda: REFRESH_S)  # the registry's (tests: faster)

    @classmethod
    def starting_at(
        cls, intervals: PollIntervals, now: float, fast_live: bool = False, refresh_s: Mapping[str, float] = REFRESH_S
    ) -> Schedule:
        return cls(intervals, dict.fromkeys(GROUPS, now), fast_live, refresh_s=refresh_s)

    def interval(self, group: str) -> float:
        return self.intervals.interval(group, self.fast_live)

    def due(self, now: float) -> list[str]:
        return [group for group in GROUPS if self.next_due[group] <= now]

    def done(self, group: str, now: float) -> None:
        interval = self.interval(group)
        if interval <= 0:  # switched off in the configuration (`poll.live: 0`)
            self.disable(group)
            return
        planned = self.next_due[group] + interval
        self.next_due[group] = planned if planned > now else now + interval

    def wanted(self, endpoint: str, now: float) -> bool:
        """False while the gateway cannot have anything newer for `endpoint` (its refresh time)."""
        refresh, last = self.refresh_s.get(endpoint), self.read_at.get(endpoint)
        return refresh is None or last is None or now - last >= REFRESH_SLACK * refresh

    def was_read(self, endpoint: str, now: float) -> None:
        if endpoint in self.refresh_s:
            self.read_at[endpoint] = now

    def disable(self, group: str) -> None:
        """A group with nothing to read on this gateway never comes due."""
        self.next_due[group] = math.inf

    def delay_all(self, until: float) -> None:
        """Back off: nothing runs before `until` (the gateway is unreachable)."""
        for group in GROUPS:
            self.next_due[group] = max(self.next_due[group], until)

    def seconds_to_next(self, now: float) -> float:
        return max(0.0, min(self.next_due.values()) - now)
