"""Energy the bridge integrates itself, where the gateway counts none: power samples in, Wh out.

Each channel splits one signed power (W) into two lifetime counters, its positive part and its
negative part (a battery: discharged / charged; the grid: imported / exported), by the trapezoid
rule between consecutive samples. Where the power changes sign between two samples the zero
crossing is put where the straight line between them crosses zero, so each side's energy goes
to its own counter instead of their difference going to one of them.

What is never counted:
- the interval up to a sample more than `max_gap_s` after the one before (an outage, a stopped
  bridge): nothing is invented for it, the channel counts a gap and starts again from there;
- a sample that is not newer than the last one (a clock stepped back, a repeated reading);
- a power that is not a finite number or is beyond `max_power_w` in size: the sample is dropped
  and counted, and the next good one integrates from the last good one.

Pure: no clock, no I/O. A channel's state (totals, last sample, counts) round-trips through a
plain dict (`as_dict`, `channel_from_dict`) for the state file the gateway side keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeGuard

from bridge.model.guard import ABSURD_WH
from bridge.model.parse.codec import is_finite_number

ADDED, FIRST, GAP, OLD, DROPPED = "added", "first", "gap", "old", "dropped"  # what add() did
COUNTS = ("gaps", "dropped")


@dataclass(frozen=True, slots=True)
class Limits:
    max_gap_s: float  # a longer interval between two samples is a gap: it adds nothing
    max_power_w: float  # a larger power is a broken sample


@dataclass(slots=True)
class Channel:
    positive_wh: float = 0.0
    negative_wh: float = 0.0  # the size of the negative part: grows like the other
    last_time: float | None = None  # Unix seconds of the last good sample
    last_power_w: float | None = None
    gaps: int = 0
    dropped: int = 0

    def add(self, power_w: object, time: object, limits: Limits) -> str:
        """Take one sample; ADDED, FIRST (nothing to integrate from), GAP, OLD or DROPPED."""
        if not is_finite_number(power_w) or not is_finite_number(time) or abs(power_w) > limits.max_power_w:
            self.dropped += 1
            return DROPPED
        power, when = float(power_w), float(time)
        verdict = self._integrate(power, when, limits.max_gap_s)
        if verdict != OLD:
            self.last_time, self.last_power_w = when, power
        return verdict

    def _integrate(self, power: float, when: float, max_gap_s: float) -> str:
        if self.last_time is None or self.last_power_w is None:
            return FIRST
        if when <= self.last_time:
            return OLD
        if when - self.last_time > max_gap_s:
            self.gaps += 1
            return GAP
        positive, negative = trapezoid(self.last_power_w, power, (when - self.last_time) / 3600)
        self.positive_wh += positive
        self.negative_wh += negative
        return ADDED

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "positive_wh": self.positive_wh,
            "negative_wh": self.negative_wh,
            "last_time": self.last_time,
            "last_power_w": self.last_power_w,
            "gaps": self.gaps,
            "dropped": self.dropped,
        }


def trapezoid(p0: float, p1: float, hours: float) -> tuple[float, float]:
    """(positive Wh, negative Wh) of a power going linearly from p0 to p1 over `hours`."""
    if p0 >= 0 and p1 >= 0:
        return (p0 + p1) / 2 * hours, 0.0
    if p0 <= 0 and p1 <= 0:
        return 0.0, -(p0 + p1) / 2 * hours
    before = p0 / (p0 - p1)  # the share of the interval before the zero crossing
    first, second = p0 / 2 * before * hours, p1 / 2 * (1 - before) * hours
    return (first, -second) if p0 > 0 else (second, -first)


def channel_from_dict(data: object) -> tuple[Channel, list[str]]:
    """A channel from its saved dict, and what could not be read of it (empty when all).

    Unreadable totals start the channel again from 0 (said in the list): a guess would be a
    wrong number for good. An unreadable last sample only means the next sample starts afresh.
    """
    if not isinstance(data, dict):
        return Channel(), ["not an object: its counters start again from 0"]
    positive, negative = data.get("positive_wh"), data.get("negative_wh")
    if not (_is_total(positive) and _is_total(negative)):
        return Channel(), ["its totals are not counts of Wh: its counters start again from 0"]
    channel = Channel(float(positive), float(negative))
    problems = []
    last_time, last_power = data.get("last_time"), data.get("last_power_w")
    if is_finite_number(last_time) and is_finite_number(last_power):
        channel.last_time, channel.last_power_w = float(last_time), float(last_power)
    elif last_time is not None or last_power is not None:
        problems.append("its last sample is unreadable: integration starts again at the next sample")
    for key in COUNTS:
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            setattr(channel, key, value)
    return channel, problems


def _is_total(value: object) -> TypeGuard[int | float]:
    return is_finite_number(value) and 0 <= value <= ABSURD_WH
