"""The counter guard: a published energy counter never lies to Home Assistant.

Home Assistant reads a drop of a `total_increasing` counter as a meter reset and counts the whole
new value again, so one glitch of a lifetime counter (0, negative, 1e308, a step back) adds
megawatt-hours to the Energy dashboard for good. Each cycle, every counter of the gateway's state
and unit documents is checked against its last good value; a value that cannot be right is held
at that value for the cycle (or left out when there is none yet), and the worker logs it once per
streak and counts it (diagnostics `counter_glitches`).

The rules, by kind of counter (`kind_of`):
- MONOTONE (lifetime production/consumption, CT delivered/received, grid import/export, a unit's
  lifetime, the counters the bridge computes): refused when negative, above ABSURD_WH, 0 after a higher value, lower than the last
  good value, or higher by more than the system's maximum power over the time since that value.
- SIGNED (the net-consumption lifetime, `total` in Home Assistant: it goes down while exporting):
  refused when above ABSURD_WH in size, 0 after another value, or moved by more than the bound.
- DAILY (today's energy, `total_increasing` too): refused only when negative or absurd. Its drop
  at midnight is the gateway's daily reset, at an hour the bridge cannot know, and its known
  firmware steps are the builder's (the 4 GWh rule) and Home Assistant's to judge.

Two known behaviours pass on purpose:
- The firmware's 32-bit joule counter (reference §2: lifetime resets to 0 at 1.19 MWh on firmware
  < 8 without CTs, a 1.19 MWh step-down on standard gateways): a drop of 2**32 J is passed
  through and reported (`wraps`). Held, the counter would freeze for the months it takes to
  produce 1.19 MWh again; Home Assistant's reset handling counts a wrap to 0 exactly right.
- A new level that stays (a meter replaced, another production source, or a first value of 0 that
  was itself the glitch): refused values that follow one another plausibly for REANCHOR_S and
  REANCHOR_READINGS readings become the new baseline (`reanchored`), never a value that is 0,
  negative or absurd.

Pure: no clock, no I/O. The worker holds one `CounterGuard` per gateway and passes it the
monotonic time with each cycle's fresh documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.model.parse.codec import is_finite_number

MONOTONE, SIGNED, DAILY = "monotone", "signed", "daily"
# Payload key -> kind; the net flow's lifetime is SIGNED (see kind_of).
COUNTER_KEYS = {
    "energy_lifetime_wh": MONOTONE,
    "energy_delivered_wh": MONOTONE,
    "energy_received_wh": MONOTONE,
    "energy_imported_wh": MONOTONE,
    "energy_exported_wh": MONOTONE,
    "energy_today_wh": DAILY,
    # The counters the bridge computes itself (bridge/model/computed_energy.py)
    "battery_discharged_wh": MONOTONE,
    "battery_charged_wh": MONOTONE,
    "grid_imported_wh": MONOTONE,
    "grid_exported_wh": MONOTONE,
}
SIGNED_SECTION = "net_consumption"  # the state's net flow, not the CT of that name under "meters"
STATE = "state"  # the gateway's own document, beside the units' topic suffixes
CLOUD = "cloud"  # the whole system's values as the Enphase cloud API has them (bridge/cloudapi)

# 1 TWh: a megawatt plant running for 114 years. Anything above is a broken number.
ABSURD_WH = 10**12
# The most power a counter can have counted: an IQ Gateway monitors at most a few hundred kW
# (600 microinverters, a 200 A three-phase service), a unit (a microinverter, a battery) < 10 kW.
GATEWAY_MAX_POWER_W = 1_000_000
UNIT_MAX_POWER_W = 10_000
SLACK_S = 60.0  # poll timing and the gateway's own update cadence, added to the elapsed time
WRAP_WH = 2**32 / 3600  # 1,193,046.47 Wh: the firmware's 32-bit joule counter
WRAP_TOLERANCE_WH = 24_000  # 2 %: reports say "1.19 MWh" and "about 1.2 MWh"
REANCHOR_S = 3600.0
REANCHOR_READINGS = 3

GLITCH, WRAP, REANCHOR, RECOVERED = "glitch", "wrap", "reanchor", "recovered"  # events
ACCEPT, REFUSE, IMPLAUSIBLE = "accept", "refuse", "implausible"  # and the other verdicts of judge()
EXAMPLES_PER_LINE = 3  # a flood of glitching units is one line with a few examples


@dataclass(frozen=True, slots=True)
class CounterEvent:
    what: str  # GLITCH (a streak began), WRAP, REANCHOR, RECOVERED (a streak ended)
    counter: str  # "state production.energy_lifetime_wh", "inverter/1234 energy_lifetime_wh"
    value: object  # the value the gateway sent
    published: int | float | None  # what was published instead (None: left out)


@dataclass(frozen=True, slots=True)
class Guarded:
    documents: dict[str, dict[str, Any]]  # topic suffix ("state", "inverter/<sn>" ...) -> document
    events: tuple[CounterEvent, ...]


@dataclass(slots=True)
class _Baseline:
    value: int | float
    since: float  # monotonic seconds when the counter took this value


@dataclass(slots=True)
class _Track:
    name: str  # "state production.energy_lifetime_wh": how the log names it
    good: _Baseline | None = None  # None: no good value yet
    in_streak: bool = False  # refused last time: the streak was already logged
    candidate: _Baseline | None = None  # the latest of plausibly linked refused values
    chain_start: float = 0.0
    chain_readings: int = 0


@dataclass(slots=True)
class CounterGuard:
    """What the guard remembers of one gateway's counters between cycles."""

    serial: str | None = None
    tracks: dict[tuple[str, tuple[str, ...]], _Track] = field(default_factory=dict)
    glitches: int = 0  # values held or left out since the start
    wraps: int = 0

    def apply(self, serial: str, documents: Mapping[str, dict[str, Any]], now: float) -> Guarded:
        """Guarded copies of this cycle's documents, and what happened to their counters."""
        if serial != self.serial:  # another gateway answers at this address: nothing carries over
            self.serial, self.tracks = serial, {}
        events: list[CounterEvent] = []
        guarded = {suffix: self._walk(suffix, (), doc, now, events) for suffix, doc in documents.items()}
        return Guarded(guarded, tuple(events))

    def _walk(
        self, suffix: str, path: tuple[str, ...], node: dict[str, Any], now: float, events: list[CounterEvent]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            if isinstance(value, dict):
                out[key] = self._walk(suffix, (*path, key), value, now, events)
            elif key not in COUNTER_KEYS:  # the cheap test first: most values are not counters
                out[key] = value
            elif (published := self._check(suffix, (*path, key), value, now, events)) is not None:
                out[key] = published
        return out

    def _check(
        self, suffix: str, path: tuple[str, ...], value: object, now: float, events: list[CounterEvent]
    ) -> int | float | None:
        track = self.tracks.get((suffix, path))
        if track is None:
            track = self.tracks[(suffix, path)] = _Track(f"{suffix} {'.'.join(path)}")
        name, kind = track.name, _counter_kind(suffix, path)
        if not is_finite_number(value):
            return self._refuse(track, name, value, events)
        max_power_w = GATEWAY_MAX_POWER_W if suffix in (STATE, CLOUD) else UNIT_MAX_POWER_W
        verdict = judge(kind, max_power_w, track.good, value, now)
        if verdict == IMPLAUSIBLE and _confirms_new_level(track, kind, max_power_w, value, now):
            verdict = REANCHOR
        if verdict in (ACCEPT, WRAP, REANCHOR):
            return self._accept(track, name, verdict, value, now, events)
        if verdict == REFUSE:
            track.candidate = None  # 0, negative or absurd never becomes a new level
        return self._refuse(track, name, value, events)

    def _refuse(self, track: _Track, name: str, value: object, events: list[CounterEvent]) -> int | float | None:
        self.glitches += 1
        held = track.good.value if track.good else None
        if not track.in_streak:  # once per streak
            events.append(CounterEvent(GLITCH, name, value, held))
            track.in_streak = True
        return held

    def _accept(
        self, track: _Track, name: str, verdict: str, value: int | float, now: float, events: list[CounterEvent]
    ) -> int | float:
        if verdict == WRAP:
            self.wraps += 1
            events.append(CounterEvent(WRAP, name, value, value))
        elif verdict == REANCHOR:
            events.append(CounterEvent(REANCHOR, name, value, value))
        elif track.in_streak:
            events.append(CounterEvent(RECOVERED, name, value, value))
        if track.good is None or track.good.value != value:
            track.good = _Baseline(value, now)
        track.in_streak, track.candidate = False, None
        return value


def kind_of(suffix: str, path: tuple[str, ...]) -> str | None:
    """MONOTONE, SIGNED or DAILY for a counter at `path` of the document at `suffix`; else None."""
    return _counter_kind(suffix, path) if path[-1] in COUNTER_KEYS else None


def _counter_kind(suffix: str, path: tuple[str, ...]) -> str:
    kind = COUNTER_KEYS[path[-1]]
    return SIGNED if kind == MONOTONE and suffix == STATE and path[0] == SIGNED_SECTION else kind


def judge(kind: str, max_power_w: float, good: _Baseline | None, value: int | float, now: float) -> str:
    """ACCEPT, WRAP, REFUSE (never right: negative, absurd, a 0 after another value) or
    IMPLAUSIBLE (a sane number that the last good value rules out: maybe a new level)."""
    if abs(value) > ABSURD_WH or (kind != SIGNED and value < 0):
        return REFUSE
    if good is None or kind == DAILY:
        return ACCEPT
    allowance = max_power_w * (max(now - good.since, 0.0) + SLACK_S) / 3600
    change = value - good.value
    # A wrap takes 2**32 J off what was counted meanwhile; after a long outage a drop could be
    # anything, so the window stays narrow and a late-seen wrap is left to the new-level rule.
    produced = min(allowance, WRAP_WH / 10)
    if kind == MONOTONE and WRAP_WH - produced - WRAP_TOLERANCE_WH <= -change <= WRAP_WH + WRAP_TOLERANCE_WH:
        return WRAP
    if value == 0 and good.value != 0:
        return REFUSE
    if abs(change) > allowance or (kind == MONOTONE and change < 0):
        return IMPLAUSIBLE
    return ACCEPT


def _confirms_new_level(track: _Track, kind: str, max_power_w: float, value: int | float, now: float) -> bool:
    """Links a refused but sane value to the previous one; True once the chain has lasted."""
    linked = track.candidate is not None and judge(kind, max_power_w, track.candidate, value, now) == ACCEPT
    if not linked:
        track.chain_start, track.chain_readings = now, 0
    track.chain_readings += 1
    if track.candidate is None or track.candidate.value != value:
        track.candidate = _Baseline(value, now)
    return now - track.chain_start >= REANCHOR_S and track.chain_readings >= REANCHOR_READINGS


def log_lines(events: tuple[CounterEvent, ...]) -> list[tuple[bool, str]]:
    """One log line per kind of event in a cycle, (loud, text): a flood is one line."""
    lines = []
    for what, loud, text in (
        (GLITCH, True, "counter glitch, held at the last good value"),
        (WRAP, True, "counter stepped down by the firmware's 1.19 MWh (2**32 J) wrap, passed through"),
        (REANCHOR, True, "counter kept a new level for an hour, taken as its new baseline"),
        (RECOVERED, False, "counter valid again"),
    ):
        found = [e for e in events if e.what == what]
        if found:
            lines.append((loud, f"{text}: {_examples(found)}"))
    return lines


def _examples(events: list[CounterEvent]) -> str:
    shown = ", ".join(
        f"{e.counter} = {_short(e.value)} (published {_short(e.published)})" for e in events[:EXAMPLES_PER_LINE]
    )
    more = len(events) - EXAMPLES_PER_LINE
    return shown + (f" and {more} more" if more > 0 else "")


def _short(value: object) -> str:
    text = "left out" if value is None else repr(value)
    return text if len(text) <= 24 else text[:12] + "..." + f"({len(text)} chars)"
