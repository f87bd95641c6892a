"""Envoy tokens as data: read a JWT's claims offline, check a candidate, decide when to renew.

Pure code: no I/O, no clock of its own (callers pass `now`). The signature is not verified
(the bridge is not the token's audience; the gateway checks it), and no message here ever
quotes the token.

`decode_token` reads what it can (a cached token is shown even when odd); `check_token` and
`check_candidate` are the offline checks of reference §3.1 that a token passes before the
bridge keeps it, sends it to the gateway or writes it to the cache.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeGuard

import jwt

from bridge.errors import AuthError, TokenRejected

DAY_S = 86400.0
# Home Assistant renews a month early "in case cloud services goes down" (STALE_TOKEN_THRESHOLD).
RENEW_AHEAD_S = 30 * DAY_S
# Short tokens (installer: 12 h) are renewed in their last fifth, not on every poll.
RENEW_AHEAD_FRACTION = 0.2
# A new token must outlive the trip to the gateway and its first polls.
MIN_VALIDITY_S = 60.0
ISSUER = "Entrez"
USER_TYPES = ("owner", "installer")
_PLAIN = re.compile(r"[0-9]{1,20}")  # a serial number, shown as it is


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
        return _iso(self.expires_at)


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
    return _info(claims)


def check_token(token: str, serial: str) -> TokenInfo:
    """Every offline check but expiry: the shape of a JWT, `aud`, `iss`, `exp` present, `enphaseUser`.

    For a token the bridge already has (configured, cached): one that merely expired is renewed,
    not refused. Raises TokenRejected naming the failed check.
    """
    header, claims = _segments(token)
    if not isinstance(header, dict):
        raise TokenRejected("header", "the token is not a valid JWT: its header is not a JSON object")
    if not isinstance(claims, dict):
        raise TokenRejected("payload", "the token is not a valid JWT: its claims are not a JSON object")
    if serial not in _audiences(claims.get("aud")):
        raise TokenRejected("aud", f"the token was issued for gateway {_show(claims.get('aud'))}, not {serial}")
    if claims.get("iss") != ISSUER:
        raise TokenRejected("iss", f"the token was issued by {_show(claims.get('iss'))}, not {ISSUER}")
    if not _is_number(claims.get("exp")):
        raise TokenRejected("exp", "the token has no expiry time (`exp` claim); it is not an Enphase token")
    if claims.get("enphaseUser") not in USER_TYPES:
        raise TokenRejected(
            "enphaseUser", f"the token's user type is {_show(claims.get('enphaseUser'))}, not owner or installer"
        )
    return _info(claims)


def check_candidate(token: str, serial: str, now: float) -> TokenInfo:
    """The offline checks a new token passes before it reaches the gateway or the cache.

    `check_token`, and an expiry at least MIN_VALIDITY_S after `now`. Raises TokenRejected.
    """
    info = check_token(token, serial)
    if info.expires_at - now < MIN_VALIDITY_S:
        when = "expired" if info.expired(now) else "expires"
        raise TokenRejected("exp", f"the token {when} on {_iso(info.expires_at)}, less than a minute from now")
    return info


def renew_ahead_s(info: TokenInfo) -> float:
    """How long before expiry a token is renewed: 30 days, or a fifth of a shorter lifetime."""
    lifetime = info.lifetime
    if lifetime is None:
        return RENEW_AHEAD_S
    return min(RENEW_AHEAD_S, RENEW_AHEAD_FRACTION * lifetime)


def _segments(token: str) -> tuple[Any, Any]:
    """The header and the claims of a JWT, decoded from base64url JSON (signature not read)."""
    parts = token.strip().split(".") if isinstance(token, str) else []
    if len(parts) != 3 or not all(parts[:2]):
        raise TokenRejected("format", "the token is not a valid JWT: expected three dot-separated base64url parts")
    try:
        return tuple(json.loads(_unbase64(part)) for part in parts[:2])
    except (binascii.Error, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise TokenRejected(
            "format", "the token is not a valid JWT: its parts are not base64url-encoded JSON"
        ) from None


def _unbase64(part: str) -> bytes:
    if not part.isascii() or any(c in "+/=" for c in part):  # base64url, unpadded: nothing else
        raise binascii.Error("not base64url")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _info(claims: dict[str, Any]) -> TokenInfo:
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


def _audiences(aud: object) -> list[str]:
    values = aud if isinstance(aud, list) else [aud]
    return [str(a) for a in values if isinstance(a, (str, int)) and not isinstance(a, bool)]


def _show(value: object) -> str:
    """A claim in a message: a serial as it is, anything else short and printable; `nothing` when absent."""
    if value is None:
        return "nothing"
    if isinstance(value, (str, int)) and _PLAIN.fullmatch(str(value)):
        return str(value)
    text = "".join(c if c.isprintable() else "?" for c in repr(value))
    return text if len(text) <= 40 else text[:37] + "..."


def _iso(epoch: float) -> str:
    try:
        return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):  # far beyond the calendar: still no crash
        return f"epoch {epoch:.0f}"


def _is_number(value: object) -> TypeGuard[int | float]:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too big for a float
        return False


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
