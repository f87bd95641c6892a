"""Envoy tokens for tests: JWTs with Entrez's claims, signed with a test key.

The bridge never checks the signature (the gateway does), so any key will do; the claims are
what it reads: `aud` (the gateway's serial), `enphaseUser`, `username`, `iat` and `exp`.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt

from bridge.auth.tokens import DAY_S

SERIAL = "122233445566"
USER, PASSWORD = "owner@example.com", "hunter2-very-secret"
NOW = 1_750_000_000.0
HOUR = 3600.0
KEY = "test-signing-key-that-is-long-enough-for-hs256"


def make_token(
    exp_in: float,
    *,
    life: float = 365 * DAY_S,
    user_type: str = "owner",
    aud: Any = SERIAL,
    now: float = NOW,
    **extra: Any,
) -> str:
    """A token that expires `exp_in` seconds after `now`, issued `life` seconds before that."""
    return jwt.encode(claims_of(exp_in, life, user_type, aud, now, extra), KEY, algorithm="HS256")


def odd_token(exp_in: float = DAY_S, **overrides: Any) -> str:
    """make_token's claims with `overrides` (None removes a claim), encoded by hand: pyjwt refuses
    to encode an odd `iss` or `exp`, and a bad token must reach the bridge's checks."""
    claims = {k: v for k, v in claims_of(exp_in, 365 * DAY_S, "owner", SERIAL, NOW, overrides).items() if v is not None}
    return f"{_segment({'alg': 'HS256', 'typ': 'JWT'})}.{_segment(claims)}.c2lnbmF0dXJl"


def claims_of(
    exp_in: float, life: float, user_type: str, aud: Any, now: float, extra: dict[str, Any]
) -> dict[str, Any]:
    return {
        "aud": aud,
        "iss": "Entrez",
        "enphaseUser": user_type,
        "exp": int(now + exp_in),
        "iat": int(now + exp_in - life),
        "username": USER,
        **extra,
    }


def _segment(obj: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
