"""The fake Enlighten API v4's OAuth state on a fake clock: a code is good once, for its client
and redirect_uri, for ten minutes; refresh tokens rotate; every token expires on time."""

from __future__ import annotations

import pytest

from bridge.simulator.cloudapi_oauth import CODE_TTL_S, OAuthError, OAuthGrants
from tests.support.clock import FakeClock

TTLS = (86393.0, 30 * 86400.0)
CLIENT, REDIRECT = "app", "https://localhost/callback"


@pytest.fixture
def clock():
    return FakeClock(1_800_000_000.0)


@pytest.fixture
def grants(clock):
    return OAuthGrants(clock)


def refused(call, *args) -> OAuthError:
    with pytest.raises(OAuthError) as caught:
        call(*args)
    return caught.value


def test_a_code_gives_a_pair_once(grants):
    code = grants.new_code(CLIENT, REDIRECT)
    grant = grants.exchange_code(CLIENT, code, REDIRECT, TTLS)
    assert grant.expires_in == 86393 and grant.access_token != grant.refresh_token
    assert grants.client_of(grant.access_token) == CLIENT
    again = refused(grants.exchange_code, CLIENT, code, REDIRECT, TTLS)
    assert (again.status, again.error, again.description) == (400, "invalid_grant", "Authorization code already used")


def test_a_code_wants_its_client_and_redirect_uri_and_expires(grants, clock):
    code = grants.new_code(CLIENT, REDIRECT)
    assert refused(grants.exchange_code, "other", code, REDIRECT, TTLS).error == "invalid_grant"
    assert refused(grants.exchange_code, CLIENT, code, "https://elsewhere", TTLS).description == "Redirect URI mismatch"
    assert refused(grants.exchange_code, CLIENT, "made-up", REDIRECT, TTLS).description == "Invalid authorization code"
    clock.advance(CODE_TTL_S)
    assert refused(grants.exchange_code, CLIENT, code, REDIRECT, TTLS).description == "Authorization code expired"


def test_a_refresh_rotates_the_refresh_token(grants):
    first = grants.exchange_code(CLIENT, grants.new_code(CLIENT, REDIRECT), REDIRECT, TTLS)
    second = grants.refresh(CLIENT, first.refresh_token, TTLS)
    assert second.refresh_token != first.refresh_token and second.access_token != first.access_token
    old = refused(grants.refresh, CLIENT, first.refresh_token, TTLS)
    assert (old.status, old.error) == (400, "invalid_grant")
    assert first.refresh_token not in old.description  # a token never shows in an error
    assert grants.refresh(CLIENT, second.refresh_token, TTLS).refresh_token
    assert grants.client_of(first.access_token) == CLIENT  # the old access token lives on until it expires


def test_a_refresh_token_is_its_client_s(grants):
    pair = grants.issue(CLIENT, TTLS)
    assert refused(grants.refresh, "other", pair.refresh_token, TTLS).error == "invalid_grant"
    assert grants.refresh(CLIENT, pair.refresh_token, TTLS)  # the refusal did not spend it


def test_tokens_expire_on_the_clock(grants, clock):
    pair = grants.issue(CLIENT, TTLS)
    clock.advance(86392)
    assert grants.client_of(pair.access_token) == CLIENT
    clock.advance(1)
    assert grants.client_of(pair.access_token) is None
    renewed = grants.refresh(CLIENT, pair.refresh_token, TTLS)  # 1 day in, of 30
    assert grants.client_of(renewed.access_token) == CLIENT
    clock.advance(30 * 86400)
    assert refused(grants.refresh, CLIENT, renewed.refresh_token, TTLS).description == "Invalid refresh token (expired)"


def test_tests_can_expire_every_token_now(grants):
    pair = grants.issue(CLIENT, TTLS)
    grants.expire_access_tokens()
    assert grants.client_of(pair.access_token) is None
    later = grants.refresh(CLIENT, pair.refresh_token, TTLS)
    assert grants.client_of(later.access_token) == CLIENT
    grants.expire_refresh_tokens()
    assert refused(grants.refresh, CLIENT, later.refresh_token, TTLS).status == 400
    assert grants.client_of(later.access_token) == CLIENT  # the access token keeps its own lifetime
    assert grants.client_of("") is None and grants.client_of("made-up") is None
