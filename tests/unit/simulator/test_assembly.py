"""What a Simulator's options make of its parts, without starting anything."""

from __future__ import annotations

from dataclasses import replace
from datetime import timezone

import pytest

from bridge.simulator.assembly import (
    WEB_TOKENS,
    auth_strategy,
    check_jwt_mode,
    pick_source,
    scenario_clock,
    serial_of,
    tailored_scenario,
)
from bridge.simulator.envoy import DigestAuth, NoAuth, TokenAuth
from bridge.simulator.living import LivingSource
from bridge.simulator.scenario import load_scenario
from bridge.simulator.source import DEFAULT_CAPTURE, CaptureSource
from bridge.simulator.tokens import TokenAuthority
from tests.support.clock import FakeClock
from tests.unit.simulator.helpers import START


def test_the_scenario_as_asked_for():
    assert tailored_scenario(None, "999000000777", "UTC", nightly=False) is None  # a capture
    plain = load_scenario("metered")
    assert tailored_scenario("metered", None, None, nightly=True) == plain
    tailored = tailored_scenario(plain, "999000000777", "+02:00", nightly=False)
    assert tailored is not None
    assert (tailored.serial, tailored.timezone, tailored.nightly_hiccup_minutes) == ("999000000777", "+02:00", 0.0)
    assert tailored.pv == plain.pv and plain.serial == "999000000001"  # the original stays as it was
    with pytest.raises(ValueError, match="unknown scenario"):
        tailored_scenario("nope", None, None, nightly=True)


def test_only_a_living_scenario_runs_fast_and_in_its_own_zone():
    fake = FakeClock(START)
    scenario = replace(load_scenario("metered"), timezone="+02:00")  # as tailored_scenario leaves it
    capture_clock = scenario_clock(None, fake, 60.0, "10:00", "UTC")
    living_clock = scenario_clock(scenario, fake, 60.0, "10:00", "UTC")
    fake.now += 10
    assert capture_clock.factor == 1.0 and capture_clock.tz is timezone.utc
    assert capture_clock.local(capture_clock.now()).strftime("%H:%M:%S") == "10:00:10"
    assert living_clock.factor == 60.0 and living_clock.utc_offset(living_clock.now()) == 7200
    assert living_clock.local(living_clock.now()).strftime("%H:%M:%S") == "10:10:00"


def test_the_source_a_scenario_a_given_source_or_a_capture(tmp_path):
    fake = FakeClock(START)
    scenario = load_scenario("standard")
    clock = scenario_clock(scenario, fake, 1.0, None, None)
    assert isinstance(pick_source(scenario, clock, None, None), LivingSource)
    given = CaptureSource(tmp_path)
    assert pick_source(None, clock, given, None) is given
    folder = pick_source(None, clock, None, tmp_path)
    assert isinstance(folder, CaptureSource) and folder.folder == tmp_path
    default = pick_source(None, clock, None, None)
    assert isinstance(default, CaptureSource) and default.folder == DEFAULT_CAPTURE


def test_the_serial_comes_from_info(tmp_path):
    assert serial_of(CaptureSource(DEFAULT_CAPTURE)) == "999000000001"
    with pytest.raises(ValueError, match="pass serial="):
        serial_of(CaptureSource(tmp_path))


def test_auth_strategies_by_mode():
    tokens = TokenAuthority("999000123456")
    assert isinstance(auth_strategy("token", tokens, "999000123456", "pw"), TokenAuth)
    assert isinstance(auth_strategy("none", tokens, "999000123456", "pw"), NoAuth)
    digest = auth_strategy("digest", tokens, "999000123456", "installer-pw")
    assert isinstance(digest, DigestAuth)
    assert digest.digest.users == {"envoy": "123456", "installer": "installer-pw"}  # last six digits
    assert WEB_TOKENS == {"token": True, "digest": False} and "none" not in WEB_TOKENS


def test_check_jwt_as_the_constructor_else_the_scenario_else_both_methods():
    post_only = replace(load_scenario("metered"), check_jwt="post")
    assert check_jwt_mode(None, None) == "any"  # a capture
    assert check_jwt_mode(post_only, None) == "post"
    assert check_jwt_mode(post_only, "absent") == "absent"
    with pytest.raises(ValueError, match="check_jwt must be one of any, get, post, absent, not 'put'"):
        check_jwt_mode(None, "put")
