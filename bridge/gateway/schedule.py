"""Poll groups: which endpoint is read how often, and scheduling them on monotonic time.

Fast groups carry what changes fast and is cheap for the gateway (CT readings, the grid relay);
slow ones carry what the gateway itself only refreshes every few minutes (inverters) or what
almost never changes (/info, the CT list).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bridge.config import PollIntervals

# Group of each endpoint the model can parse; an endpoint in no group is probed only.
ENDPOINT_GROUPS = {
    "/ivp/meters/readings": "meters",
    # The grid group reads only the cheapest endpoint that reports the grid relay (the relay
    # itself, 187 bytes; the inventory only for a Collar without Enpower), every second or two,
    # so an outage is on the broker within 2 s. See `grid_group`.
    "/ivp/ensemble/relay": "grid",
    # The batteries' and Enpower's details (3.7 kB): once a minute is plenty.
    "/ivp/ensemble/inventory": "batteries",
    "/ivp/ensemble/generator": "batteries",
    "/production.json?details=1": "energy",
    "/production": "energy",
    "/api/v1/production": "energy",
    # The gateway refreshes per-inverter data only every 5 to 15 minutes.
    "/api/v1/production/inverters": "inverters",
    "/ivp/pdm/device_data": "inverters",
    "/inventory.json?deleted=1": "inverters",  # slow (2-6 s); ACB and inverter health change slowly
    "/ivp/ensemble/secctrl": "batteries",
    "/ivp/ensemble/power": "batteries",
    "/ivp/ensemble/dry_contacts": "batteries",  # relay states follow SOC and grid rules, not seconds
    "/ivp/meters": "info",
    # Settings change by hand (or when the cloud rewrites them); /admin/lib/tariff is large.
    "/admin/lib/tariff": "info",
    "/ivp/ss/dry_contact_settings": "info",
    "/ivp/ss/gen_config": "info",
    "/ivp/ss/gen_mode": "info",
}
GROUPS = ("meters", "grid", "energy", "inverters", "batteries", "info")


def group_endpoints(active: set[str], grid_endpoint: str | None = None) -> dict[str, tuple[str, ...]]:
    """The endpoints of each group that this gateway has, in a stable order.

    `grid_endpoint` is what reports the grid status on this gateway (the relay with an
    Enpower, the inventory with only a Collar): it goes to the fast grid group, alone.
    """
    groups: dict[str, tuple[str, ...]] = dict.fromkeys(GROUPS, ())
    for endpoint, group in ENDPOINT_GROUPS.items():
        if endpoint == grid_endpoint:
            group = "grid"
        elif group == "grid":
            group = "batteries"  # a relay that reports nothing useful here: no need to hurry
        if endpoint in active:
            groups[group] += (endpoint,)
    return groups


@dataclass
class Schedule:
    """Next due time of each group on `time.monotonic()`: immune to wall-clock steps.

    A group that ran late is rescheduled one interval after it actually ran, so a slow
    gateway never gets a burst of catch-up requests.
    """

    intervals: PollIntervals
    next_due: dict[str, float]

    @classmethod
    def starting_at(cls, intervals: PollIntervals, now: float) -> Schedule:
        return cls(intervals, dict.fromkeys(GROUPS, now))

    def due(self, now: float) -> list[str]:
        return [group for group in GROUPS if self.next_due[group] <= now]

    def done(self, group: str, now: float) -> None:
        interval = getattr(self.intervals, group)
        planned = self.next_due[group] + interval
        self.next_due[group] = planned if planned > now else now + interval

    def disable(self, group: str) -> None:
        """A group with nothing to read on this gateway never comes due."""
        self.next_due[group] = math.inf

    def delay_all(self, until: float) -> None:
        """Back off: nothing runs before `until` (the gateway is unreachable)."""
        for group in GROUPS:
            self.next_due[group] = max(self.next_due[group], until)

    def seconds_to_next(self, now: float) -> float:
        return max(0.0, min(self.next_due.values()) - now)
