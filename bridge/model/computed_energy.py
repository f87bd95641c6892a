"""Which energy counters the bridge computes for a gateway, from which power, and the state
section `computed_energy` that carries them (the integration itself: bridge/model/energy.py).

Channels, each a signed power split into two counters:
- `battery`: + discharging / - charging -> `battery_discharged_wh` / `battery_charged_wh`. On with
  batteries (IQ or AC) and no storage CT: a storage CT counts both itself, and better.
- `grid`: + import / - export -> `grid_imported_wh` / `grid_exported_wh`. On without a
  net-consumption CT (whose counters are the gateway's own import and export) when there is a
  total-consumption CT, or no CT at all but the live data gives the grid power.

The power of a sample: the live document's `storage_power_w` / `grid_power_w` at its `sampled_at`
(else its `time`) when it has them; else the state document at the poll's time: the batteries'
`power_w` summed over the kinds the gateway has (`battery`, `acb`), and for the grid
consumption - production - batteries (load = pv + batteries + grid), each power from its CT
under `meters` when there is one (read every poll.meters), else from its flow section. A value
that is missing gives no sample: missing is unknown, never 0.

A channel that is on stays on until a fact rules it out (the CT it lacked turns up), and the
kinds of batteries seen are remembered: a failed read of `/ivp/meters` or of the inventory never
makes the counters or their entities flicker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.model.energy import Channel

BATTERY, GRID = "battery", "grid"
SECTION = "computed_energy"
# Channel -> payload keys of its positive and its negative part.
KEYS = {BATTERY: ("battery_discharged_wh", "battery_charged_wh"), GRID: ("grid_imported_wh", "grid_exported_wh")}
BATTERY_SECTIONS = ("battery", "acb")  # state sections whose `power_w` is a kind of battery's power
STORAGE_CT, NET_CT, TOTAL_CT = "storage", "net-consumption", "total-consumption"  # /ivp/meters types
LIVE_POWER = {BATTERY: "storage_power_w", GRID: "grid_power_w"}  # the live-data contract's keys

Sample = tuple[object, object]  # (power W, Unix seconds): the integrator checks both


@dataclass(slots=True)
class Plan:
    """The channels that are on for one gateway, and the kinds of batteries it has shown."""

    active: set[str] = field(default_factory=set)
    battery_kinds: set[str] = field(default_factory=set)

    def update(
        self, ct_types: frozenset[str] | None, payload: Mapping[str, Any], live: Mapping[str, Any] | None
    ) -> None:
        """`ct_types`: the enabled CTs' measurement types; None when `/ivp/meters` gave none."""
        self.battery_kinds.update(kind for kind in BATTERY_SECTIONS if kind in payload)
        if ct_types is None:
            return  # the CTs are unknown this cycle: nothing is decided on a missing answer
        self._switch(BATTERY, STORAGE_CT in ct_types, bool(self.battery_kinds))
        live_grid = live is not None and LIVE_POWER[GRID] in live
        self._switch(GRID, NET_CT in ct_types, TOTAL_CT in ct_types or (not ct_types and live_grid))

    def _switch(self, channel: str, ruled_out: bool, wanted: bool) -> None:
        if ruled_out:
            self.active.discard(channel)
        elif wanted:
            self.active.add(channel)

    def samples(
        self, payload: Mapping[str, Any], live: Mapping[str, Any] | None, polled_at: float
    ) -> dict[str, Sample]:
        """This cycle's sample of every active channel that has one."""
        found: dict[str, Sample] = {}
        for channel in sorted(self.active):
            if live is not None and LIVE_POWER[channel] in live:
                found[channel] = self.live_samples(live)[channel]
            elif (power := self._state_power(channel, payload)) is not None:
                found[channel] = (power, polled_at)
        return found

    def live_samples(self, live: Mapping[str, Any]) -> dict[str, Sample]:
        """The live document's sample of every active channel it has a power for."""
        when = live.get("sampled_at", live.get("time"))
        return {
            channel: (live[LIVE_POWER[channel]], when) for channel in sorted(self.active) if LIVE_POWER[channel] in live
        }

    def _state_power(self, channel: str, payload: Mapping[str, Any]) -> float | None:
        battery = _sum([_power(payload, (kind,)) for kind in sorted(self.battery_kinds)])
        if channel == BATTERY:
            return battery if self.battery_kinds else None
        load = _first(payload, ("meters", "total_consumption"), ("consumption",))
        production = _first(payload, ("meters", "production"), ("production",))
        if load is None or production is None or (self.battery_kinds and battery is None):
            return None
        return load - production - (battery or 0.0)


def published(channels: Mapping[str, Channel], active: set[str]) -> list[str]:
    """The active channels that have had a sample: one that never had any knows nothing, and a
    counter of 0 would say the battery never moved."""
    return [name for name in sorted(active) if name in channels and channels[name].last_time is not None]


def section(channels: Mapping[str, Channel], active: set[str]) -> dict[str, int]:
    """The `computed_energy` section: the published channels' counters in whole Wh, and their gaps."""
    body: dict[str, int] = {}
    names = published(channels, active)
    for name in names:
        positive_key, negative_key = KEYS[name]
        # round() of a growing total never goes back: Home Assistant sees a monotone counter.
        body[positive_key] = round(channels[name].positive_wh)
        body[negative_key] = round(channels[name].negative_wh)
    if names:
        body["gaps"] = sum(channels[name].gaps for name in names)
    return body


def _first(payload: Mapping[str, Any], *places: tuple[str, ...]) -> float | None:
    """The first of these sections' `power_w` that is there: the CT's (read every poll.meters)
    before the production report's (every poll.energy)."""
    return next((power for place in places if (power := _power(payload, place)) is not None), None)


def _power(payload: Mapping[str, Any], place: tuple[str, ...]) -> float | None:
    node: Any = payload
    for key in place:
        node = node.get(key, {}) if isinstance(node, Mapping) else {}
    value = node.get("power_w") if isinstance(node, Mapping) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _sum(values: list[float | None]) -> float | None:
    return None if not values or any(v is None for v in values) else sum(v for v in values if v is not None)
