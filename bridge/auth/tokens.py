"""Envoy tokens as data: read a JWT's claims offline and decide when it is due for renewal.

Pure code: no I/O, no clock of its own (callers pass `now`). The signature is not verified
(the bridge is not the token's audience; the gateway checks it), and no message here ever
quotes the token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TypeGuard

import jwt

from bridge.errors import AuthError

DAY_S = 86400.0
# Home Assistant renews a month early "in case cloud services goes down" (STALE_TOKEN_THRESHOLD).
RENEW_AHEAD_S = 30 * DAY_S
# Short tokens (installer: 12 h) are renewed in their last fifth, not on every poll.
RENEW_AHEAD_FRACTION = 0.2


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What the bridge reads from a token's claims (signature not verified: we are not the audience)."""

    serial: str | None  # `aud`: the gateway the token is for
    user_type: str | None  # `enphaseUser`: owner or installer
    username: str | None
    issued_at: float | None  # epoch seconds (`iat`)
    expires_at: float  # epoch seconds (`exp`)

    @property
    def lifetime(self) -> float | None:
        if self.issued_at is None or self.issued_at >= self.expires_at:
            return None
        return self.expires_at - self.issued_at

    def days_left(self, now: float) -> float:
        return (self.expires_at - now) / DAY_S

    def expired(self, now: float) -> bool:
        return now >= self.expires_at

    @property
    def expires_iso(self) -> str:
        return datetime.fromtimestamp(self.expires_at, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def decode_token(token: str) -> TokenInfo:
    """Read a JWT's claims; AuthError (which never echoes the token) when it is not a usable JWT."""
    if not isinstance(token, str) or not token.strip():
        raise AuthError("the token is empty")
    try:
        claims = jwt.decode(token.strip(), options={"verify_signature": False})
    except jwt.PyJWTError as err:
        raise AuthError(
            f"the token is not a valid JWT ({type(err).__name__}): paste the whole token, "
            "three dot-separated base64url parts"
        ) from None
    exp = claims.get("exp")
    if not _is_number(exp):
        raise AuthError("the token has no expiry time (`exp` claim); it is not an Enphase token")
    aud = claims.get("aud")
    if isinstance(aud, list):
        aud = next((a for a in aud if isinstance(a, str)), None)
    iat = claims.get("iat")
    return TokenInfo(
        serial=str(aud) if isinstance(aud, (str, int)) and not isinstance(aud, bool) else None,
        user_type=_str_or_none(claims.get("enphaseUser")),
        username=_str_or_none(claims.get("username")),
        issued_at=float(iat) if _is_number(iat) else None,
        expires_at=float(exp),
    )


def renew_ahead_s(info: TokenInfo) -> float:
    """How long before expiry a token is renewed: 30 days, or a fifth of a shorter lifetime."""
    lifetime = info.lifetime
    if lifetime is None:
        return RENEW_AHEAD_S
    return min(RENEW_AHEAD_S, RENEW_AHEAD_FRACTION * lifetime)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
