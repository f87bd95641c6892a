"""HTTP digest authentication as firmware < 7 does it (RFC 2617, MD5, qop=auth)."""

from __future__ import annotations

import hashlib
import re

import pytest

from bridge.simulator.digest import MAX_NONCES, REALM, DigestAuthority

USERS = {"envoy": "123456", "installer": "secret-installer"}


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def nonce_of(challenge: str) -> str:
    match = re.search(r'nonce="([0-9a-f]+)"', challenge)
    assert match, challenge
    return match.group(1)


def header(user: str, password: str, nonce: str, uri: str = "/api/v1/production", qop: bool = True, **over: str) -> str:
    """What a client sends back, computed here from the RFC, not by the code under test."""
    realm = over.get("realm", REALM)
    ha1, ha2 = md5(f"{user}:{realm}:{password}"), md5(f"GET:{uri}")
    if qop:
        response = md5(f"{ha1}:{nonce}:00000001:0a4f113b:auth:{ha2}")
        extra = ', qop=auth, nc=00000001, cnonce="0a4f113b"'
    else:
        response, extra = md5(f"{ha1}:{nonce}:{ha2}"), ""
    return (
        f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
        f'response="{over.get("response", response)}", algorithm=MD5{extra}'
    )


@pytest.fixture
def authority():
    return DigestAuthority(USERS)


def test_the_challenge_names_the_realm_and_a_fresh_nonce(authority):
    first, second = authority.challenge(), authority.challenge()
    assert first.startswith(f'Digest realm="{REALM}", qop="auth", nonce="') and first.endswith("algorithm=MD5")
    assert nonce_of(first) != nonce_of(second) and len(nonce_of(first)) == 32


@pytest.mark.parametrize("user", sorted(USERS))
def test_both_users_get_in_with_or_without_qop(authority, user):
    nonce = nonce_of(authority.challenge())
    assert authority.check("GET", header(user, USERS[user], nonce))
    assert authority.check("GET", header(user, USERS[user], nonce, qop=False))


def test_wrong_answers_are_refused(authority):
    nonce = nonce_of(authority.challenge())
    assert not authority.check("GET", header("envoy", "000000", nonce))
    assert not authority.check("GET", header("admin", "123456", nonce))
    assert not authority.check("GET", header("envoy", "123456", "f" * 32))  # a nonce never handed out
    assert not authority.check("GET", header("envoy", "123456", nonce, realm="elsewhere"))
    assert not authority.check("GET", header("envoy", "123456", nonce, response="0" * 32))
    assert not authority.check("POST", header("envoy", "123456", nonce))  # signed for GET
    assert not authority.check("GET", None) and not authority.check("GET", "Bearer abc")


def test_old_nonces_are_forgotten_beyond_the_bound(authority):
    oldest = nonce_of(authority.challenge())
    for _ in range(MAX_NONCES):
        authority.challenge()
    assert not authority.check("GET", header("envoy", "123456", oldest))  # the client gets a new challenge
