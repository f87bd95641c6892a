"""bridge.auth.tokens: reading a JWT's claims offline, and when a token is due for renewal."""

from __future__ import annotations

import jwt
import pytest

from bridge.auth.tokens import DAY_S, decode_token, renew_ahead_s
from bridge.errors import AuthError
from tests.support.tokens import HOUR, KEY, NOW, SERIAL, make_token


def test_decode_owner_token_reads_claims():
    info = decode_token(make_token(100 * DAY_S))
    assert info.serial == SERIAL and info.user_type == "owner" and info.username == "owner@example.com"
    assert info.expires_at == int(NOW + 100 * DAY_S)
    assert info.lifetime == pytest.approx(365 * DAY_S)
    assert info.days_left(NOW) == pytest.approx(100, abs=0.01)
    assert not info.expired(NOW) and info.expired(NOW + 101 * DAY_S)


def test_decode_accepts_list_audience_and_missing_iat():
    token = jwt.encode({"aud": [SERIAL], "exp": int(NOW)}, KEY, algorithm="HS256")
    info = decode_token(token)
    assert info.serial == SERIAL and info.issued_at is None and info.lifetime is None


@pytest.mark.parametrize("garbage", ["", "   ", "not-a-token", "aaaa.bbbb.cccc", "eyJhbGciOi.broken"])
def test_garbage_token_is_a_clear_auth_error_without_echo(garbage):
    with pytest.raises(AuthError) as err:
        decode_token(garbage)
    if garbage.strip():
        assert garbage not in str(err.value)
    assert "eyJ" not in str(err.value)


def test_token_without_exp_is_refused():
    with pytest.raises(AuthError, match="expiry"):
        decode_token(jwt.encode({"aud": SERIAL}, KEY, algorithm="HS256"))


def test_renew_threshold_owner_installer_and_unknown_lifetime():
    assert renew_ahead_s(decode_token(make_token(DAY_S))) == 30 * DAY_S
    installer = decode_token(make_token(HOUR, life=12 * HOUR, user_type="installer"))
    assert renew_ahead_s(installer) == pytest.approx(0.2 * 12 * HOUR)
    no_iat = decode_token(jwt.encode({"exp": int(NOW)}, KEY, algorithm="HS256"))
    assert renew_ahead_s(no_iat) == 30 * DAY_S


def test_expiry_is_shown_in_utc():
    info = decode_token(jwt.encode({"exp": 1_750_000_000}, KEY, algorithm="HS256"))
    assert info.expires_iso == "2025-06-15 15:06 UTC"


@pytest.mark.parametrize("aud, serial", [(122233445566, "122233445566"), (True, None), ([7, SERIAL], SERIAL)])
def test_audience_is_read_as_a_serial_only_when_it_can_be_one(aud, serial):
    assert decode_token(make_token(DAY_S, aud=aud)).serial == serial
