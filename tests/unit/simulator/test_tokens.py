"""Tokens and sessions of the simulated gateway: JWTs it issues, checks, revokes and trades."""

from __future__ import annotations

import jwt
import pytest

from bridge.simulator.tokens import INSTALLER_LIFETIME_S, OWNER_LIFETIME_S, TokenAuthority
from tests.support.clock import FakeClock
from tests.unit.simulator.helpers import START

SERIAL = "999000000001"


@pytest.fixture
def fake():
    return FakeClock(START)


@pytest.fixture
def tokens(fake):
    return TokenAuthority(SERIAL, secret=b"k" * 32, time_func=fake, session_idle_s=600)


def test_issued_tokens_carry_what_entrez_puts_in_them(tokens):
    claims = tokens.verify(tokens.issue(username="me@example.com"))
    assert claims is not None
    assert (claims["aud"], claims["iss"], claims["enphaseUser"], claims["username"]) == (
        SERIAL,
        "Entrez",
        "owner",
        "me@example.com",
    )
    assert claims["iat"] == int(START) and claims["exp"] - claims["iat"] == OWNER_LIFETIME_S
    installer = tokens.verify(tokens.issue("installer"))
    assert installer is not None and installer["exp"] - installer["iat"] == INSTALLER_LIFETIME_S


def test_tokens_this_gateway_must_refuse(tokens, fake):
    other_key = jwt.encode({"aud": SERIAL, "iss": "Entrez", "exp": START + 99, "iat": START, "jti": "x"}, "o" * 32)
    assert tokens.verify(tokens.issue(serial="123456789012")) is None  # another gateway's
    assert tokens.verify(other_key) is None and tokens.verify("eyJnot.a.jwt") is None
    short = tokens.issue(lifetime_s=60)
    assert tokens.verify(short) is not None
    fake.now += 60
    assert tokens.verify(short) is None  # expired on the injected clock, not the wall clock


def test_revoke_one_or_every_token_issued_so_far(tokens):
    one, two = tokens.issue(), tokens.issue()
    tokens.revoke(one)
    assert tokens.verify(one) is None and tokens.verify(two) is not None
    tokens.revoke()
    later = tokens.issue()
    assert tokens.verify(two) is None and tokens.verify(later) is not None
    tokens.revoke("not a token")  # ignored, like a gateway ignores garbage
    assert tokens.verify(later) is not None


def test_sessions_live_while_used(tokens, fake):
    session = tokens.open_session()
    assert tokens.session_count == 1
    for _ in range(3):  # each use within ten minutes keeps it alive
        fake.now += 500
        assert tokens.use_session(session)
    fake.now += 601
    assert not tokens.use_session(session) and tokens.session_count == 0
    assert not tokens.use_session("unknown")
    kept = tokens.open_session()
    tokens.revoke_sessions()
    assert not tokens.use_session(kept)
