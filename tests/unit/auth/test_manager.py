"""bridge.auth.manager: the TokenManager's lifecycle (choose, renew, validate, persist) and its circuit breaker."""

from __future__ import annotations

import logging
import threading

import jwt
import pytest
import responses

from bridge.auth.fallback import CloudToken
from bridge.auth.manager import CIRCUIT_MAX_S, TokenManager
from bridge.auth.store import TokenStore
from bridge.auth.tokens import DAY_S
from bridge.config import GatewayConfig
from bridge.config.schema import TOKEN_FLOWS
from bridge.errors import AuthError, CloudAuthError, CloudUnavailable, EnvoyAuthError, EnvoyUnavailable
from tests.support.clock import FakeClock
from tests.support.tokens import HOUR, KEY, NOW, PASSWORD, SERIAL, make_token
from tests.unit.auth.helpers import (
    AUTH_TOKEN,
    ENTREZ_LOGIN,
    ENTREZ_TOKENS,
    TOKEN,
    TOKENS,
    enlighten_ok,
    entrez_form_ok,
    make_cloud,
    no_secrets,
    token_page,
)


class FakeCloud:
    """Hands out queued tokens (or raises queued errors) as if the first flow asked for gave them;
    counts logins and remembers the order of flows each one asked for."""

    flows = TOKEN_FLOWS

    def __init__(self, *results):
        self.results = list(results)
        self.calls: list[tuple[str, str, str]] = []
        self.orders: list[tuple[str, ...]] = []

    def fetch_token(self, username, password, serial, *, now, flows, quiet=False):
        self.calls.append((username, password, serial))
        self.orders.append(tuple(flows))
        result = self.results.pop(0) if len(self.results) > 1 else self.results[0]
        if isinstance(result, BaseException):
            raise result
        return CloudToken(result, None, flows[0])  # the manager reads the token itself


def gateway(**kw) -> GatewayConfig:
    defaults = {"host": "envoy.local", "username": "owner@example.com", "password": PASSWORD}
    return GatewayConfig(**{**defaults, **kw})


# --- TokenManager: choosing a token -----------------------------------------------------------------


def manager(tmp_path=None, cloud=None, clock=None, cached=None, **gw):
    store = None
    if tmp_path is not None:
        store = TokenStore(tmp_path / "token")
        if cached:
            store.save(cached)
    return TokenManager(
        gateway(**gw), SERIAL, cloud or FakeCloud(make_token(365 * DAY_S)), store, clock=clock or FakeClock(NOW)
    )


def test_cached_valid_token_needs_no_cloud(tmp_path):
    cached = make_token(200 * DAY_S)
    cloud = FakeCloud(make_token(365 * DAY_S))
    mgr = manager(tmp_path, cloud, cached=cached)
    assert mgr.token() == cached and mgr.source == "cache"
    assert cloud.calls == []


def test_configured_token_first_but_a_newer_cached_one_wins(tmp_path):
    pasted, renewed = make_token(10 * DAY_S), make_token(300 * DAY_S)
    assert manager(tmp_path / "a", token=pasted).token() == pasted
    mgr = manager(tmp_path / "b", token=pasted, cached=renewed)
    assert mgr.token() == renewed and mgr.source == "cache"


def test_expired_token_is_never_returned_when_renewal_is_possible(tmp_path):
    cloud = FakeCloud(make_token(365 * DAY_S))
    mgr = manager(tmp_path, cloud, cached=make_token(-HOUR))
    assert mgr.token() == cloud.results[0]
    assert len(cloud.calls) == 1 and cloud.calls[0] == ("owner@example.com", PASSWORD, SERIAL)
    assert TokenStore(tmp_path / "token").load() == cloud.results[0]


def test_expired_pasted_token_without_credentials_says_what_to_do():
    cloud = FakeCloud(make_token(DAY_S))
    mgr = manager(cloud=cloud, token=make_token(-HOUR), username=None, password=None)
    with pytest.raises(AuthError, match=r"expired on .* configure `username` and `password`, or paste"):
        mgr.token()
    assert cloud.calls == []


def test_no_token_and_no_credentials():
    with pytest.raises(AuthError, match="there is no token"):
        manager(username=None, password=None).token()


def test_pasted_token_cannot_be_renewed_without_credentials():
    mgr = manager(token=make_token(DAY_S), password=None)
    with pytest.raises(AuthError, match=r"pasted .* cannot be renewed without Enlighten credentials"):
        mgr.renew(validate=lambda t: None)


def test_cached_token_for_another_gateway_is_ignored(tmp_path, caplog):
    cloud = FakeCloud(make_token(365 * DAY_S))
    mgr = manager(tmp_path, cloud, cached=make_token(100 * DAY_S, aud="999999999999"))
    with caplog.at_level(logging.WARNING):
        assert mgr.token() == cloud.results[0]
    assert "issued for gateway 999999999999" in caplog.text


def test_garbage_configured_token_without_credentials_is_a_clear_error():
    mgr = manager(token="definitely-not-a-jwt", password=None)
    with pytest.raises(AuthError, match="configured token is unusable") as err:
        mgr.token()
    assert "definitely-not-a-jwt" not in str(err.value)
    assert mgr.info is None


def test_garbage_configured_token_with_credentials_falls_back_to_the_cloud(caplog):
    cloud = FakeCloud(make_token(365 * DAY_S))
    mgr = manager(cloud=cloud, token="definitely-not-a-jwt")
    with caplog.at_level(logging.WARNING):
        assert mgr.token() == cloud.results[0]
    assert "definitely-not-a-jwt" not in caplog.text


# --- TokenManager: renewal --------------------------------------------------------------------------


def test_owner_token_needs_renewal_30_days_ahead():
    clock = FakeClock(NOW)
    mgr = manager(clock=clock, token=make_token(31 * DAY_S))
    assert not mgr.needs_renewal() and not mgr.renewal_due()
    clock.advance(1.5 * DAY_S)
    assert mgr.needs_renewal() and mgr.renewal_due()


def test_installer_token_threshold_is_relative_to_its_lifetime():
    clock = FakeClock(NOW)
    mgr = manager(clock=clock, token=make_token(3 * HOUR, life=12 * HOUR, user_type="installer"))
    assert not mgr.needs_renewal()  # 3 h left of 12 h: not in the last fifth (2.4 h)
    clock.advance(HOUR)
    assert mgr.needs_renewal()


def test_renew_validates_before_replacing(tmp_path):
    old, new = make_token(20 * DAY_S), make_token(365 * DAY_S)
    mgr = manager(tmp_path, FakeCloud(new), token=old)
    seen = []

    def validate(token):
        seen.append(token)
        assert mgr.token() == old  # still the old one while validating

    assert mgr.renew(validate) == new
    assert seen == [new] and mgr.token() == new and mgr.source == "cloud"
    assert TokenStore(tmp_path / "token").load() == new
    assert mgr.last_renewal_error is None


def test_refused_new_token_keeps_the_old_one_and_engages_the_circuit(tmp_path):
    old = make_token(20 * DAY_S)
    mgr = manager(tmp_path, FakeCloud(make_token(365 * DAY_S)), token=old)

    def refuse(token):
        raise EnvoyAuthError("refused")

    with pytest.raises(EnvoyAuthError):
        mgr.renew(refuse)
    assert mgr.token() == old and mgr.circuit_wait_s() == 15 * 60
    assert TokenStore(tmp_path / "token").load() is None


def test_cloud_down_keeps_the_old_token(caplog):
    old = make_token(20 * DAY_S)
    mgr = manager(cloud=FakeCloud(CloudUnavailable("Enlighten login: connection refused")), token=old)
    with caplog.at_level(logging.WARNING), pytest.raises(CloudUnavailable):
        mgr.renew(lambda t: None)
    assert mgr.token() == old
    assert mgr.last_renewal_error == "Enlighten login: connection refused"
    assert "next cloud login attempt in 15 min" in caplog.text


def test_unreachable_gateway_during_validation_keeps_the_candidate():
    old, new = make_token(20 * DAY_S), make_token(365 * DAY_S)
    cloud = FakeCloud(new)
    mgr = manager(cloud=cloud, token=old)

    def down(token):
        raise EnvoyUnavailable("connection refused")

    with pytest.raises(EnvoyUnavailable):
        mgr.renew(down)
    assert mgr.token() == old
    assert mgr.renew(lambda t: None) == new
    assert len(cloud.calls) == 1  # the candidate was validated later, without a second login


def test_circuit_backoff_doubles_from_15_minutes_to_6_hours():
    clock = FakeClock(NOW)
    cloud = FakeCloud(CloudAuthError("Enlighten refused the login for owner@example.com: HTTP 401"))
    mgr = manager(clock=clock, cloud=cloud, token=make_token(20 * DAY_S))
    waits = []
    for _ in range(8):
        with pytest.raises(CloudAuthError):
            mgr.renew(lambda t: None)
        waits.append(mgr.circuit_wait_s() / 60)
        calls = len(cloud.calls)
        with pytest.raises(CloudAuthError, match=r"next cloud login attempt in \d+ min"):
            mgr.renew(lambda t: None)  # circuit open: no network
        assert len(cloud.calls) == calls
        clock.advance(mgr.circuit_wait_s())
    assert waits == [15, 30, 60, 120, 240, 360, 360, 360]
    assert CIRCUIT_MAX_S == 360 * 60


def test_force_bypasses_the_circuit_and_success_plus_confirm_resets_it():
    clock = FakeClock(NOW)
    good = make_token(365 * DAY_S)
    cloud = FakeCloud(CloudAuthError("HTTP 401"), CloudAuthError("HTTP 401"), good)
    mgr = manager(clock=clock, cloud=cloud, token=make_token(20 * DAY_S))
    for _ in range(2):
        with pytest.raises(CloudAuthError):
            mgr.renew(lambda t: None, force=True)
    assert mgr.circuit_wait_s() == 30 * 60
    assert mgr.renew(lambda t: None, force=True) == good
    assert mgr.circuit_wait_s() == 0
    mgr.confirm()
    mgr.record_failure("the gateway still refuses it")
    assert mgr.circuit_wait_s() == 15 * 60  # counting starts again after a confirmed success


def test_renewed_but_useless_tokens_keep_escalating_the_circuit():
    """A12 at the manager level: logins succeed, the gateway keeps refusing; no confirm()."""
    clock = FakeClock(NOW)
    mgr = manager(clock=clock, cloud=FakeCloud(make_token(365 * DAY_S)), token=make_token(20 * DAY_S))
    waits = []
    for _ in range(4):
        mgr.renew(lambda t: None)
        mgr.record_failure("the gateway refuses even a renewed token")
        waits.append(mgr.circuit_wait_s() / 60)
        clock.advance(mgr.circuit_wait_s())
    assert waits == [15, 30, 60, 120]


def test_proactive_renewals_are_spaced_and_skipped_while_one_runs():
    clock = FakeClock(NOW)
    # A token without iat and only 2 days left is "due" even right after a renewal: the spacing stops a loop.
    claims = {"aud": SERIAL, "iss": "Entrez", "enphaseUser": "owner", "exp": int(NOW + 2 * DAY_S)}
    short = jwt.encode(claims, KEY, algorithm="HS256")
    cloud = FakeCloud(short)
    mgr = manager(clock=clock, cloud=cloud, token=short)
    assert mgr.renewal_due()
    mgr.renew(lambda t: None)
    assert not mgr.renewal_due()
    clock.advance(HOUR)
    assert mgr.renewal_due()
    started, release = threading.Event(), threading.Event()

    def slow(token):
        started.set()
        release.wait(5)

    worker = threading.Thread(target=mgr.renew, args=(slow,))
    worker.start()
    assert started.wait(5)
    assert not mgr.renewal_due()
    with pytest.raises(CloudAuthError, match="already in progress"):
        mgr.renew(lambda t: None)  # does not wait (no deadlock with the gateway lock)
    release.set()
    worker.join(5)


def test_unrenewable_token_near_expiry_warns_once(caplog):
    clock = FakeClock(NOW)
    mgr = manager(clock=clock, token=make_token(40 * DAY_S), username=None, password=None)
    mgr.warn_unrenewable()  # 40 days left: not near expiry yet
    assert mgr.last_renewal_error is None
    clock.advance(15 * DAY_S)
    with caplog.at_level(logging.WARNING):
        mgr.warn_unrenewable()
        mgr.warn_unrenewable()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "expires on" in warnings[0] and "(25 days)" in warnings[0]
    assert mgr.last_renewal_error == "token near expiry and no Enlighten credentials to renew it"


# --- token flows: what the manager remembers, checks and reports ------------------------------------


def test_the_flow_and_time_of_a_renewal_are_exposed_and_stored(tmp_path):
    clock = FakeClock(NOW)
    mgr = manager(tmp_path, FakeCloud(make_token(365 * DAY_S)), clock, cached=make_token(-HOUR))
    assert (mgr.flow, mgr.obtained_at) == (None, None)  # a cache from before flows had metadata
    mgr.renew(lambda t: None)
    assert (mgr.flow, mgr.obtained_at, mgr.source) == ("entrez_json", NOW, "cloud")
    meta = TokenStore(tmp_path / "token").load_meta()
    assert (meta.flow, meta.obtained_at, meta.user_type) == ("entrez_json", NOW, "owner")


def test_a_configured_token_reports_config():
    mgr = manager(token=make_token(100 * DAY_S))
    assert mgr.token() and (mgr.flow, mgr.obtained_at, mgr.source) == ("config", None, "config")


def test_the_remembered_flow_is_tried_first_after_a_restart(tmp_path):
    clock = FakeClock(NOW)
    first = FakeCloud(make_token(365 * DAY_S))
    first.flows = ("entrez_form", "entrez_json", "enlighten_get")  # the only one that works, say
    manager(tmp_path, first, clock, cached=make_token(-HOUR)).token()
    assert first.orders == [("entrez_form", "entrez_json", "enlighten_get")]
    clock.advance(340 * DAY_S)
    later = FakeCloud(make_token(365 * DAY_S, now=clock.now))
    restarted = TokenManager(gateway(), SERIAL, later, TokenStore(tmp_path / "token"), clock=clock)
    assert (restarted.flow, restarted.obtained_at) == ("entrez_form", NOW)  # read back from the metadata
    restarted.renew(lambda t: None)
    assert later.orders == [("entrez_form", "entrez_json", "enlighten_get")]  # remembered first, not the default


def test_a_forced_flow_is_tried_alone_and_skips_a_pending_candidate():
    old, pending, forced = make_token(20 * DAY_S), make_token(300 * DAY_S), make_token(365 * DAY_S)
    cloud = FakeCloud(pending, forced)
    mgr = manager(cloud=cloud, token=old)

    def down(token):
        raise EnvoyUnavailable("connection refused")

    with pytest.raises(EnvoyUnavailable):
        mgr.renew(down)  # `pending` is kept for later
    assert mgr.renew(lambda t: None, force=True, flow="enlighten_get") == forced
    assert cloud.orders[-1] == ("enlighten_get",) and mgr.flow == "enlighten_get"


BAD_TOKENS = {
    "another gateway": make_token(365 * DAY_S, aud="999999999999"),
    "expired": make_token(-HOUR),
    "about to expire": make_token(30),
    "wrong iss": jwt.encode({"aud": SERIAL, "iss": "Mallory", "enphaseUser": "owner", "exp": int(NOW + DAY_S)}, KEY),
    "no enphaseUser": jwt.encode({"aud": SERIAL, "iss": "Entrez", "exp": int(NOW + DAY_S)}, KEY),
    "html": "<html>please sign in</html>",
}


@pytest.mark.parametrize("bad", BAD_TOKENS)
def test_a_token_failing_an_offline_check_never_reaches_the_gateway_or_the_cache(tmp_path, caplog, bad):
    old = make_token(20 * DAY_S)
    mgr = manager(tmp_path, FakeCloud(BAD_TOKENS[bad]), token=old)
    seen = []
    with caplog.at_level(logging.WARNING), pytest.raises(AuthError, match=r"offline check: \w+"):
        mgr.renew(seen.append)
    assert seen == [] and not (tmp_path / "token").exists() and not TokenStore(tmp_path / "token").meta_path.exists()
    assert mgr.token() == old and mgr.circuit_wait_s() == 15 * 60
    assert all(BAD_TOKENS[bad] not in r.getMessage() for r in caplog.records)


def test_an_installer_token_is_renewed_before_it_runs_out_all_day():
    """A simulated day, a poll a minute, with 12 h installer tokens from the cloud."""
    clock = FakeClock(NOW)

    class InstallerCloud(FakeCloud):
        def fetch_token(self, username, password, serial, *, now, flows, quiet=False):
            self.results = [make_token(12 * HOUR, life=12 * HOUR, user_type="installer", now=now)]
            return super().fetch_token(username, password, serial, now=now, flows=flows)

    cloud = InstallerCloud()
    mgr = manager(clock=clock, cloud=cloud, token=make_token(12 * HOUR, life=12 * HOUR, user_type="installer"))
    left_at_renewal = []
    for _ in range(24 * 60):
        info = mgr.info
        assert not info.expired(clock.now) and info.user_type == "installer"
        if mgr.renewal_due():
            left_at_renewal.append(info.expires_at - clock.now)
            mgr.renew(lambda t: None)
            mgr.confirm()
        clock.advance(60)
    assert len(cloud.calls) == len(left_at_renewal) == 2  # at 9.6 h and 19.2 h: never per poll
    assert all(2.3 * HOUR <= left <= 2.4 * HOUR for left in left_at_renewal)  # a fifth of 12 h ahead, each time


# --- with the real cloud client over a scripted cloud (`responses`) ---------------------------------


def real_manager(tmp_path, clock, cached=None):
    store = TokenStore(tmp_path / "token")
    if cached:
        store.save(cached)
    return TokenManager(gateway(), SERIAL, make_cloud(clock.sleeps), store, clock=clock)


def test_every_flow_failing_is_one_error_listing_them_then_the_circuit(rsps, tmp_path, caplog):
    clock = FakeClock(NOW)
    enlighten_ok(rsps)
    rsps.post(TOKENS, status=403)
    rsps.get(AUTH_TOKEN, status=500, json={"message": f"Invalid serial number({SERIAL})"})
    rsps.post(ENTREZ_LOGIN, json={"message": "success"}, headers={"Set-Cookie": "SESSION=s; Path=/"})
    rsps.post(ENTREZ_TOKENS, body=token_page("Error: token creation failed"))
    mgr = real_manager(tmp_path, clock, cached=make_token(10 * DAY_S))
    seen = []
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CloudAuthError):
        mgr.renew(seen.append)
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.levelno for r in records] == [logging.WARNING] * 3 + [logging.ERROR]
    for record, flow in zip(records[:3], TOKEN_FLOWS, strict=True):
        assert f"token flow {flow} failed: " in record.getMessage()
    error = records[-1].getMessage()
    for words in (
        "entrez_json: Entrez /tokens: HTTP 403",
        "enlighten_get: Enlighten /entrez-auth-token: enlighten.test: HTTP 500: Invalid serial number",
        "entrez_form: Entrez /entrez_tokens: HTTP 200, the page says 'Error: token creation failed'",
        "next cloud login attempt in 15 min",
    ):
        assert words in error
    assert seen == [] and mgr.circuit_wait_s() == 15 * 60
    calls = len(rsps.calls)
    with pytest.raises(CloudAuthError, match="next cloud login attempt in 15 min"):
        mgr.renew(seen.append)
    assert len(rsps.calls) == calls  # the circuit: no request at all
    clock.advance(15 * 60)
    caplog.clear()
    with pytest.raises(CloudAuthError):
        mgr.renew(seen.append)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []  # still failing: DEBUG only
    assert mgr.circuit_wait_s() == 30 * 60
    no_secrets(*(r.getMessage() for r in caplog.records))


def test_the_flow_that_worked_is_tried_first_after_a_restart(rsps, tmp_path):
    clock = FakeClock(NOW)
    enlighten_ok(rsps)
    rsps.post(TOKENS, status=404)  # /tokens is gone...
    rsps.get(AUTH_TOKEN, status=404)
    entrez_form_ok(rsps)  # ...and the Entrez form works
    assert real_manager(tmp_path, clock, cached=make_token(-HOUR)).token() == TOKEN
    rsps.calls.reset()
    restarted = real_manager(tmp_path, FakeClock(NOW + 340 * DAY_S))  # new objects on the same files
    assert (restarted.flow, restarted.obtained_at) == ("entrez_form", NOW)
    rsps.replace(responses.POST, ENTREZ_TOKENS, body=token_page(make_token(365 * DAY_S, now=NOW + 340 * DAY_S)))
    restarted.renew(lambda token: None)
    assert [call.request.url for call in rsps.calls] == [ENTREZ_LOGIN, ENTREZ_TOKENS]  # no Enlighten login first
    assert restarted.flow == "entrez_form"


def test_without_a_valid_token_the_failure_is_a_warning_the_gateway_going_offline_is_the_error(rsps, tmp_path, caplog):
    clock = FakeClock(NOW)
    enlighten_ok(rsps)
    rsps.post(TOKENS, status=403)
    rsps.get(AUTH_TOKEN, status=403)
    rsps.post(ENTREZ_LOGIN, status=401)
    mgr = real_manager(tmp_path, clock)  # no token at all: the caller goes offline with this reason
    with pytest.raises(CloudAuthError) as refused:
        mgr.token()
    assert all(flow in str(refused.value) for flow in TOKEN_FLOWS)
    assert [r.levelno for r in caplog.records if r.levelno >= logging.WARNING] == [logging.WARNING] * 4
