"""The energy counters the bridge computes for one gateway (bridge/model/computed_energy.py),
fed each cycle, and the small state file that carries them across restarts.

The file (`energy_state` of the gateway, 0600 through bridge/files.py) holds each channel's
totals and its last sample. It is written at most every `energy.save_interval_s` and when the
worker stops. After a restart the first sample integrates from the saved one when it is less
than `energy.max_gap_s` later, else it counts a gap: the saved totals hold exactly the energy up
to the saved sample, so nothing is counted twice, and a crash between two saves costs no energy
either (the interval since the saved sample is integrated as one longer step).

A file that cannot be used never stops the bridge: a missing one starts the counters at 0; an
unreadable or foreign one (another gateway's serial: its energy is not this one's) is ignored
with one WARNING and replaced at the next write, and the counters start at 0, which Home
Assistant takes as a meter reset (`last_reset` is not used); a partly readable one keeps every
channel whose totals read back, and a channel whose totals are broken starts at 0 with a
WARNING naming it (a guessed total would be wrong for good). A file that cannot be written
keeps the counters in memory, with one WARNING until a write succeeds again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bridge import files
from bridge.config import EnergyConfig, GatewayConfig, PollIntervals
from bridge.errors import EnvoyDataError
from bridge.model.assemble import readings_of
from bridge.model.computed_energy import KEYS, SECTION, Plan, Sample, published, section
from bridge.model.endpoints import METERS
from bridge.model.energy import DROPPED, GAP, Channel, Limits, channel_from_dict
from bridge.model.guard import GATEWAY_MAX_POWER_W
from bridge.model.parse.codec import decode_json

log = logging.getLogger(__name__)

FORMAT = 1
MAX_FILE_BYTES = 64 * 1024  # two channels are a few hundred bytes


def effective_max_gap_s(config: EnergyConfig, poll: PollIntervals | None) -> float:
    """`energy.max_gap_s`, but never below twice the normal wait between two power readings
    (the batteries group for IQ Batteries, the energy group for the rest): slowed-down polls
    must not turn every interval into a gap."""
    if poll is None:
        return config.max_gap_s
    return max(config.max_gap_s, 2 * max(poll.energy, poll.batteries))


class ComputedEnergy:
    """The computed counters of one gateway: what the worker adds to each state document."""

    def __init__(self, gateway: GatewayConfig, config: EnergyConfig, poll: PollIntervals | None = None) -> None:
        self.path = gateway.energy_state  # None: kept in memory only (a configuration built in code)
        self.limits = Limits(effective_max_gap_s(config, poll), GATEWAY_MAX_POWER_W)
        self.save_interval_s = config.save_interval_s
        self.serial: str | None = None
        self.channels: dict[str, Channel] = {}
        self.plan = Plan()
        self._saved_at: float | None = None  # monotonic time of the last write
        self._unsaved = False
        self._write_failing = False
        self._dropping: set[str] = set()  # channels in a streak of broken samples (said once)

    def add_to(
        self,
        payload: dict[str, Any],
        serial: str,
        ct_types: frozenset[str] | None,
        live: Mapping[str, Any] | None,
        polled_at: float,
        monotonic: float,
    ) -> None:
        """Feed this cycle's samples and put the active channels' section into `payload`.
        `ct_types`: the gateway's enabled CTs (`ct_types_of`), None when unknown this cycle."""
        if serial != self.serial:
            self._start(serial)
        self.plan.update(ct_types, payload, live)
        self._feed(self.plan.samples(payload, live, polled_at))
        if body := section(self.channels, self.plan.active):
            payload[SECTION] = body
        if self._saved_at is None or monotonic - self._saved_at >= self.save_interval_s:
            self.save(monotonic)

    def add_live(self, serial: str, live: Mapping[str, Any]) -> None:
        """A live sample between two state cycles (1-5 s apart, where the state comes every 10 s),
        for the channels the last state cycle switched on; their section goes out with the next."""
        if serial == self.serial:
            self._feed(self.plan.live_samples(live))

    def _feed(self, samples: Mapping[str, Sample]) -> None:
        gaps = []
        for name, (power, when) in samples.items():
            verdict = self.channels.setdefault(name, Channel()).add(power, when, self.limits)
            self._unsaved = True
            if verdict == GAP:
                gaps.append(name)
            self._note_dropped(name, verdict == DROPPED, power)
        if gaps:
            log.warning(
                "Gateway %s: computed energy: no sample for more than %g s (%s); nothing counted for that time",
                self.serial,
                self.limits.max_gap_s,
                ", ".join(gaps),
            )

    @property
    def gaps(self) -> int | None:
        """Gaps of the published channels, for the diagnostics; None when there is none."""
        names = published(self.channels, self.plan.active)
        return sum(self.channels[name].gaps for name in names) if names else None

    def _note_dropped(self, name: str, dropped: bool, power: object) -> None:
        if dropped and name not in self._dropping:
            self._dropping.add(name)
            log.warning(
                "Gateway %s: computed energy: %s power %s is not a plausible sample; dropped (until a good one)",
                self.serial,
                name,
                _short(power),
            )
        elif not dropped:
            self._dropping.discard(name)

    # --- the state file ---------------------------------------------------------------------

    def _start(self, serial: str) -> None:
        """Another (or the first) gateway at this address: its own counters, from its file."""
        self.serial, self.channels, self.plan = serial, {}, Plan()
        self._saved_at, self._unsaved = None, False
        if self.path is not None:
            self.channels = self._load(self.path, serial)

    def _load(self, path: Path, serial: str) -> dict[str, Channel]:
        try:
            data = decode_json(str(path), files.read_regular(path, MAX_FILE_BYTES))
        except (FileNotFoundError, NotADirectoryError):  # never written yet (the write will say why)
            return {}
        except (OSError, EnvoyDataError) as err:
            return self._reset(path, f"is unreadable ({_why(err)})")
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("channels"), dict):
            return self._reset(path, "is not a computed-energy state file of this bridge")
        if data.get("serial") != serial:
            return self._reset(path, f"belongs to gateway {_short(data.get('serial'))}, not {serial}")
        channels = {}
        for name, saved in data["channels"].items():
            if name not in KEYS:
                log.warning(
                    "Gateway %s: computed energy state %s: unknown channel %s ignored", serial, path, _short(name)
                )
                continue
            channel, problems = channel_from_dict(saved)
            for problem in problems:
                log.warning("Gateway %s: computed energy state %s: channel %s: %s", serial, path, _short(name), problem)
            channels[name] = channel
        return channels

    def _reset(self, path: Path, why: str) -> dict[str, Channel]:
        log.warning(
            "Gateway %s: computed energy state %s %s; the computed counters start again from 0 "
            "(Home Assistant counts that as a meter reset)",
            self.serial,
            path,
            why,
        )
        return {}

    def save(self, monotonic: float) -> None:
        """Write the state file when something changed since the last write (never raises)."""
        if self.path is None or self.serial is None or not self._unsaved:
            return
        state = {
            "format": FORMAT,
            "serial": self.serial,
            "channels": {name: channel.as_dict() for name, channel in sorted(self.channels.items())},
        }
        try:
            files.write_private(self.path, json.dumps(state, separators=(",", ":")).encode())
        except OSError as err:
            if not self._write_failing:
                log.warning(
                    "Gateway %s: cannot write computed energy state %s (%s); kept in memory only",
                    self.serial,
                    self.path,
                    _why(err),
                )
            self._write_failing = True
            return
        if self._write_failing:
            log.info("Gateway %s: computed energy state %s written again", self.serial, self.path)
        self._saved_at, self._unsaved, self._write_failing = monotonic, False, False


def ct_types_of(parsed: Mapping[str, object], groups: Mapping[str, tuple[str, ...]]) -> frozenset[str] | None:
    """The measurement types of the gateway's enabled CTs: none when `/ivp/meters` is not polled
    (the probe keeps it only with enabled CTs), None when it is but gave nothing this cycle."""
    meters = readings_of(parsed).meters
    if meters is not None:
        return meters.enabled_types()
    return None if any(METERS.path in endpoints for endpoints in groups.values()) else frozenset()


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _why(err: BaseException) -> str:
    return (
        str(err)
        if isinstance(err, (files.UnsafePath, EnvoyDataError))
        else (getattr(err, "strerror", None) or type(err).__name__)
    )
