"""Group A of docs/reliability.md against the simulator: its tokens are real JWTs that expire on
the fake clock, its gateway refuses revoked tokens and forgotten sessions, and its cloud counts
every login. The unit tests in test_envoy_client.py / test_auth.py pin each rule; these prove the
whole chain (worker, client, token manager, token cache, cloud client) over simulated days.
"""

from __future__ import annotations

import json
import logging
import stat

import pytest

from bridge.auth.store import TokenStore
from bridge.auth.tokens import DAY_S
from bridge.config import PollIntervals
from tests.reliability.rig import SteppedGateway, patched_simulator
from tests.support.clock import FakeClock

pytestmark = pytest.mark.integration
HOUR = 3600.0
DATA_PATHS = ("/ivp/*", "/production*", "/api/*")
# Day-long runs poll every 5 minutes: token behaviour does not depend on the meters interval
# (expiry is checked with the hourly info group), and a simulated day stays a few seconds.
SLOW = PollIntervals(meters=300, grid=300, energy=300, inverters=300, batteries=300, info=3600)


def old_token(sim, clock, days_left: float, lifetime_days: float = 365) -> str:
    """An owner token issued long ago that expires in `days_left`."""
    now = clock.now
    clock.now = now - (lifetime_days - days_left) * DAY_S
    try:
        return sim.issue_token(lifetime_s=lifetime_days * DAY_S)
    finally:
        clock.now = now


@pytest.fixture(autouse=True)
def info_logs(caplog):
    caplog.set_level(logging.INFO)


def make_rig(tmp_path, clock=None, *, cached=None, sim_kw=None, **gw):
    clock = clock or FakeClock()
    sim, source = patched_simulator(time_func=clock.time, **(sim_kw or {}))
    sim.start()
    if cached is not None:
        TokenStore(tmp_path / f"token-{sim.serial}.jwt").save(cached(sim, clock))
    rig = SteppedGateway(sim, tmp_path, clock, **gw)
    rig.source = source
    return rig


@pytest.fixture
def rigs():
    made = []
    yield made
    for rig in made:
        rig.close()
        rig.sim.stop()


def logins(rig) -> int:
    return rig.sim.cloud_counts.get("login", 0)


def messages(caplog, level=logging.WARNING):
    return [r.getMessage() for r in caplog.records if r.levelno >= level]


def errors_by_logger(caplog) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for record in caplog.records:
        if record.levelno >= logging.ERROR:
            errors.setdefault(record.name, []).append(record.getMessage())
    return errors


def test_a1_cached_token_no_cloud_and_one_check_jwt(tmp_path, rigs):
    rigs.append(rig := make_rig(tmp_path, cached=lambda sim, clock: sim.issue_token()))
    rig.run_for(3600)
    assert logins(rig) == 0
    assert rig.sim.request_counts["/auth/check_jwt"] == 1
    assert rig.sim.auth_counts.get("bearer", 0) == 1  # the JWT went out once; then only the cookie
    assert rig.publisher.transitions() == ["online"]


def test_a2_lost_session_gets_a_new_one_and_no_cloud_login(tmp_path, rigs):
    rigs.append(rig := make_rig(tmp_path, cached=lambda sim, clock: sim.issue_token()))
    rig.run_for(60)
    rig.sim.revoke_sessions()
    rig.run_for(600)
    assert logins(rig) == 0 and rig.sim.request_counts["/auth/check_jwt"] == 2
    assert rig.publisher.transitions() == ["online"]  # cured inside the poll: nobody saw a gap


def test_a3_revoked_token_one_renewal_cache_rewritten_0600(tmp_path, rigs):
    rigs.append(rig := make_rig(tmp_path, cached=lambda sim, clock: sim.issue_token()))
    cache = rig.gateway.token_cache
    old = cache.read_text()
    rig.run_for(60)
    rig.sim.revoke_token()  # every token issued so far, and the sessions opened with them
    rig.sim.revoke_sessions()
    rig.run_for(600)
    assert logins(rig) == 1 and rig.sim.cloud_counts["tokens_issued"] == 1
    assert cache.read_text() != old and stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert not list(cache.parent.glob(".*.tmp"))  # the atomic write left nothing behind
    assert rig.publisher.transitions() == ["online"]


def test_a3_a12_refused_on_every_request_bounds_cloud_logins_over_a_day(tmp_path, rigs, caplog):
    """The counter-example "401 -> login -> 401 -> login" in a loop cannot happen."""
    rigs.append(rig := make_rig(tmp_path, cached=lambda sim, clock: sim.issue_token(), poll=SLOW))
    rig.run_for(60)
    for pattern in DATA_PATHS:  # e.g. the token is for another gateway's serial
        rig.sim.fail_next(401, count=10**9, path=pattern)
    rig.run_for(DAY_S)
    assert 2 <= logins(rig) <= 8  # the circuit: 15 min doubling to 6 h
    assert rig.publisher.transitions() == ["online", "offline"]
    errors = messages(caplog, logging.ERROR)
    assert len(errors) == 1 and "refuses the token" in errors[0] and "Next renewal in" in errors[0]
    assert len(messages(caplog)) <= 3  # the ERROR, one renewal WARNING, nothing per poll


def test_a4_expired_token_at_startup_exactly_one_login_before_the_first_poll(tmp_path, rigs):
    clock = FakeClock()
    rigs.append(rig := make_rig(tmp_path, clock, cached=lambda sim, clock: sim.issue_token(lifetime_s=3600)))
    clock.advance(2 * 3600)
    rig.step()
    assert logins(rig) == 1
    assert rig.publisher.transitions() == ["online"]
    assert rig.sim.request_counts["/ivp/meters/readings"] == 1


def test_a5_near_expiry_renewed_in_the_background_and_validated(tmp_path, rigs):
    rigs.append(rig := make_rig(tmp_path, cached=lambda sim, clock: old_token(sim, clock, 20), poll=SLOW))
    rig.run_for(2 * HOUR)  # the hourly info group checks the expiry
    assert logins(rig) == 1
    info = rig.client.token_info
    assert info.days_left(rig.clock.time()) > 360
    assert rig.publisher.transitions() == ["online"]


def test_a5_a8_cloud_down_keeps_the_old_token_and_polling_retries_later(tmp_path, rigs, caplog):
    rigs.append(rig := make_rig(tmp_path, cached=lambda sim, clock: old_token(sim, clock, 20), poll=SLOW))
    rig.sim.cloud_mode = "down"
    rig.run_for(DAY_S)
    assert rig.publisher.transitions() == ["online"]  # polling never stopped
    attempts = logins(rig)
    assert 1 <= attempts <= 8 * 3  # circuit slots x quick retries, not one per poll
    # The first failed renewal alone is logged: one WARNING per token flow, one ERROR with the circuit.
    warnings = messages(caplog)
    assert len(warnings) == 4 and all(" failed: " in w for w in warnings) and "token renewal failed" in warnings[3]
    diagnostics = json.loads(rig.publisher.last("/diagnostics"))
    assert diagnostics["token_renewal_error"]
    rig.sim.cloud_mode = "ok"
    rig.run_for(DAY_S)
    assert rig.client.token_info.days_left(rig.clock.time()) > 360
    assert json.loads(rig.publisher.last("/diagnostics"))["token_renewal_error"] is None


def test_a6_installer_tokens_renewed_a_few_times_a_day_never_per_poll(tmp_path, rigs):
    rigs.append(rig := make_rig(tmp_path, sim_kw={"cloud_user_type": "installer"}, poll=SLOW))
    rig.run_for(2 * DAY_S)
    assert rig.client.token_info.user_type == "installer"
    # A 12 h token renewed in its last 2.4 h: one login every ~9.6 h (+ the first).
    assert 4 <= logins(rig) <= 7
    assert rig.publisher.transitions() == ["online"]


@pytest.mark.parametrize(
    "mode, hint", [("bad_password", "check the Enlighten e-mail and password"), ("mfa", "multi-factor authentication")]
)
def test_a7_refused_login_is_actionable_slow_and_secret_free(tmp_path, rigs, caplog, mode, hint):
    rigs.append(rig := make_rig(tmp_path, poll=SLOW))
    rig.sim.cloud_mode = mode
    rig.run_for(DAY_S)
    assert logins(rig) <= 8  # refusals are never retried quickly
    assert rig.publisher.transitions() == ["offline"]
    # One ERROR a day at most: the gateway going offline, every flow listed (the token manager
    # said it as a WARNING: without a token the gateway's own line is the one that matters).
    errors = errors_by_logger(caplog)
    assert list(errors) == ["bridge.mqtt.sinks"]
    assert all(len(lines) == 1 and hint in lines[0] for lines in errors.values())
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert rig.sim.cloud_password not in text and "eyJ" not in text


def test_a9_cloud_unreachable_and_token_expired_no_crash_loop(tmp_path, rigs, caplog):
    clock = FakeClock()
    rigs.append(rig := make_rig(tmp_path, clock, cached=lambda sim, clock: sim.issue_token(lifetime_s=HOUR), poll=SLOW))
    rig.run_for(60)
    rig.sim.cloud_mode = "down"
    rig.run_for(2 * HOUR)
    rig.sim.revoke_sessions()  # the gateway restarts after the token expired: a session needs a token
    rig.run_for(DAY_S)
    assert rig.publisher.transitions() == ["online", "offline"]
    assert logins(rig) <= 8 * 3
    # The renewal is tried once the token has expired (expiry is checked hourly here), so the
    # one ERROR is the gateway going offline with every flow listed; the manager said WARNING.
    assert {name: len(lines) for name, lines in errors_by_logger(caplog).items()} == {"bridge.mqtt.sinks": 1}
    rig.sim.cloud_mode = "ok"
    rig.run_until(lambda: rig.publisher.transitions()[-1] == "online", 7 * HOUR)


def test_a10_corrupt_cache_warns_and_is_replaced(tmp_path, rigs, caplog):
    clock = FakeClock()
    rigs.append(rig := make_rig(tmp_path, clock))
    rig.gateway.token_cache.write_text("not a token")
    rig.step()
    assert logins(rig) == 1 and rig.publisher.transitions() == ["online"]
    assert any("does not hold a readable token" in m for m in messages(caplog))
    assert rig.gateway.token_cache.read_text().startswith("eyJ")
