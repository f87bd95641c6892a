"""bridge.auth.tokens: reading a JWT's claims offline, the offline checks, and when a token is due for renewal."""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from bridge.auth.tokens import DAY_S, check_candidate, check_token, decode_token, renew_ahead_s
from bridge.errors import AuthError, TokenRejected
from tests.support.tokens import HOUR, KEY, NOW, SERIAL, make_token, odd_token


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


# --- the offline checks of a candidate token --------------------------------------------------------


def segment(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


GOOD_HEADER = segment({"alg": "ES256", "typ": "JWT"})


@pytest.mark.parametrize(
    "token, check",
    [
        ("", "format"),
        ("only.two", "format"),
        ("a.b.c.d", "format"),
        (".e30.sig", "format"),
        ("e30.e30+.sig", "format"),  # not base64url
        ("e30.%%%.sig", "format"),
        (f"{segment('text')}.{segment({})}.sig", "header"),
        (f"{GOOD_HEADER}.{segment([1, 2])}.sig", "payload"),
        (f"{GOOD_HEADER}.{base64.urlsafe_b64encode(b'{not json').decode()}.sig", "format"),
        (make_token(DAY_S, aud="999999999999"), "aud"),
        (odd_token(aud=None), "aud"),
        (odd_token(iss="Someone"), "iss"),
        (odd_token(iss=None), "iss"),
        (odd_token(exp="soon"), "exp"),
        (odd_token(exp=10**400), "exp"),
        (make_token(30), "exp"),  # less than a minute left
        (make_token(-HOUR), "exp"),
        (odd_token(enphaseUser=None), "enphaseUser"),
        (make_token(DAY_S, enphaseUser="support"), "enphaseUser"),
    ],
)
def test_each_offline_check_rejects_its_bad_token_without_quoting_it(token, check):
    with pytest.raises(TokenRejected) as err:
        check_candidate(token, SERIAL, NOW)
    assert err.value.check == check and isinstance(err.value, AuthError)
    assert str(err.value).endswith(f"(offline check: {check})")
    for part in token.split("."):
        if len(part) > 8:
            assert part not in str(err.value)
    assert "eyJ" not in str(err.value)


def test_the_check_messages_say_what_is_wrong():
    def why(token):
        with pytest.raises(TokenRejected) as err:
            check_candidate(token, SERIAL, NOW)
        return str(err.value)

    assert "issued for gateway 999999999999, not 122233445566" in why(make_token(DAY_S, aud="999999999999"))
    assert "issued by 'Someone', not Entrez" in why(odd_token(iss="Someone"))
    assert "expired on 2025-06-15 14:06 UTC" in why(make_token(-HOUR))
    assert "user type is 'support', not owner or installer" in why(make_token(DAY_S, enphaseUser="support"))
    assert "the token is not a valid JWT" in why("garbage")


@pytest.mark.parametrize("user_type", ["owner", "installer"])
def test_a_good_token_passes_and_is_read(user_type):
    token = make_token(12 * HOUR, life=12 * HOUR, user_type=user_type)
    info = check_candidate(f"  {token}\n", SERIAL, NOW)
    assert info == decode_token(token) and info.user_type == user_type


def test_a_list_audience_with_this_gateway_passes():
    assert check_candidate(make_token(DAY_S, aud=["x", SERIAL]), SERIAL, NOW).expires_at == NOW + DAY_S


def test_check_token_is_every_check_but_expiry():
    expired = make_token(-HOUR)
    assert check_token(expired, SERIAL).expired(NOW)
    with pytest.raises(TokenRejected, match="offline check: aud"):
        check_token(make_token(-HOUR, aud="1"), SERIAL)


def test_a_claim_far_beyond_the_calendar_is_shown_without_a_crash():
    assert decode_token(odd_token(exp=10**12 * 86400)).expires_iso.startswith("epoch ")
