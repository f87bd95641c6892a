"""What a Simulator's options make of its parts: scenario, clock, source, serial, auth, check_jwt.

Kept apart from `core.Simulator` so that the class reads as what a test can do to the gateway,
and the choices behind its constructor can be read (and tested) on their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from bridge.model import parse_info
from bridge.simulator.clock import SimClock
from bridge.simulator.cloudapi import CloudApiApp
from bridge.simulator.cloudapi_data import SystemData
from bridge.simulator.digest import DigestAuthority
from bridge.simulator.envoy import Auth, DigestAuth, NoAuth, TokenAuth
from bridge.simulator.living import LivingSource
from bridge.simulator.scenario import CHECK_JWT_MODES, Scenario, load_scenario
from bridge.simulator.source import DEFAULT_CAPTURE, CaptureSource, Source
from bridge.simulator.tokens import TokenAuthority

# The web-tokens flag /info announces per auth mode; absent (auth none): the source's /info as it is.
WEB_TOKENS = {"token": True, "digest": False}


def tailored_scenario(
    scenario: str | Path | Scenario | None, serial: str | None, timezone: str | None, nightly: bool
) -> Scenario | None:
    """The scenario (by name, path or as it is) with the serial, time zone and nightly hiccup
    asked for; None when serving a capture."""
    if scenario is None:
        return None
    loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    return replace(
        loaded,
        serial=serial or loaded.serial,
        timezone=timezone or loaded.timezone,
        nightly_hiccup_minutes=loaded.nightly_hiccup_minutes if nightly else 0.0,
    )


def scenario_clock(
    scenario: Scenario | None, time_func: Callable[[], float], factor: float, start: float | str | None, tz: str | None
) -> SimClock:
    """The simulated clock: scaled, in the scenario's time zone, for a living scenario; unscaled
    for a capture. Tokens and sessions keep real time (`time_func`); only the physics runs on it."""
    if scenario is None:
        return SimClock(time_func, 1.0, start, tz or "local")
    return SimClock(time_func, factor, start, scenario.timezone)


def pick_source(
    scenario: Scenario | None, clock: SimClock, source: Source | None, capture_dir: str | Path | None
) -> Source:
    """A living scenario, else the source given, else a capture folder (the built-in one by default)."""
    if scenario is not None:
        return LivingSource(scenario, clock)
    return source or CaptureSource(capture_dir or DEFAULT_CAPTURE)


def serial_of(source: Source) -> str:
    """The serial the source's /info announces."""
    status, _, body = source.answer("/info", "")
    if status != 200:
        raise ValueError("the capture has no /info: pass serial=")
    return parse_info(body).serial


def check_jwt_mode(scenario: Scenario | None, given: str | None) -> str:
    """How /auth/check_jwt answers: as the constructor says, else as the scenario says, else both methods."""
    mode = given or (scenario.check_jwt if scenario is not None else "any")
    if mode not in CHECK_JWT_MODES:
        raise ValueError(f"check_jwt must be one of {', '.join(CHECK_JWT_MODES)}, not {mode!r}")
    return mode


def auth_strategy(mode: str, tokens: TokenAuthority, serial: str, installer_password: str) -> Auth:
    """Token (firmware 7+), digest (older firmware: envoy / last six digits, installer) or none."""
    if mode == "token":
        return TokenAuth(tokens)
    if mode == "digest":
        return DigestAuth(DigestAuthority({"envoy": serial[-6:], "installer": installer_password}))
    return NoAuth(tokens)


class _LivingSimulator(Protocol):
    clock: SimClock
    scenario: Scenario | None
    source: Source


def cloud_api(sim: _LivingSimulator, account: tuple[str, str]) -> CloudApiApp:
    """The fake Enlighten API v4 of a living scenario, on its clock; ValueError for a capture."""
    if sim.scenario is None or not isinstance(sim.source, LivingSource):
        raise ValueError("the fake cloud API needs a living scenario (its data come from the physics)")
    data = SystemData(sim.scenario, sim.source.world, sim.clock)
    return CloudApiApp(data, sim.scenario.serial, account, sim.clock.now)
