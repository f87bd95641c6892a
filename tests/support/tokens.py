"""Envoy tokens for tests: JWTs with Entrez's claims, signed with a test key.

The bridge never checks the signature (the gateway does), so any key will do; the claims are
what it reads: `aud` (the gateway's serial), `enphaseUser`, `username`, `iat` and `exp`.
"""

from __future__ import annotations

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
    claims = {
        "aud": aud,
        "iss": "Entrez",
        "enphaseUser": user_type,
        "exp": int(now + exp_in),
        "iat": int(now + exp_in - life),
        "username": USER,
        **extra,
    }
    return jwt.encode(claims, KEY, algorithm="HS256")
