"""The fake Enlighten API v4's OAuth 2.0 state (reference §4.2): one-time authorization codes,
access and refresh tokens that expire on the simulated clock, refresh tokens that rotate.

- a code is good once, for the client and redirect_uri it was made for, for CODE_TTL_S;
- a refresh gives a new access token AND a new refresh token (full lifetime again); the old
  refresh token is refused from then on; access tokens issued before stay good until they expire;
- tokens are opaque random strings, bound to the client (application) they were issued to.

Every refusal raises `OAuthError` with the status and the RFC 6749 error code to answer; its
description never contains a token or a code.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

CODE_TTL_S = 600.0  # how long a consent's code may wait for its exchange


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    expires_at: float
    used: bool = False


@dataclass
class _Token:
    client_id: str
    expires_at: float


@dataclass(frozen=True)
class Grant:
    """What a token request gives: the pair of tokens and the access token's lifetime left."""

    access_token: str
    refresh_token: str
    expires_in: int
    jti: str


class OAuthGrants:
    def __init__(self, now: Callable[[], float]):
        self._now = now
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, _Token] = {}

    def new_code(self, client_id: str, redirect_uri: str) -> str:
        """The code of a consent just given."""
        code = secrets.token_urlsafe(6)  # as short as a real one: a user may have to copy it
        with self._lock:
            self._codes[code] = _Code(client_id, redirect_uri, self._now() + CODE_TTL_S)
        return code

    def exchange_code(self, client_id: str, code: str, redirect_uri: str, ttls: tuple[float, float]) -> Grant:
        with self._lock:
            held = self._codes.get(code)
            if held is None or held.client_id != client_id:
                raise OAuthError(400, "invalid_grant", "Invalid authorization code")
            if held.used:
                raise OAuthError(400, "invalid_grant", "Authorization code already used")
            if self._now() >= held.expires_at:
                raise OAuthError(400, "invalid_grant", "Authorization code expired")
            if held.redirect_uri != redirect_uri:
                raise OAuthError(400, "invalid_grant", "Redirect URI mismatch")
            held.used = True
            return self._issue(client_id, ttls)

    def refresh(self, client_id: str, refresh_token: str, ttls: tuple[float, float]) -> Grant:
        """A new pair; the refresh token presented is spent (rotation)."""
        with self._lock:
            held = self._refresh.get(refresh_token)
            if held is None or held.client_id != client_id:
                raise OAuthError(400, "invalid_grant", "Invalid refresh token")
            if self._now() >= held.expires_at:
                raise OAuthError(400, "invalid_grant", "Invalid refresh token (expired)")
            del self._refresh[refresh_token]
            return self._issue(client_id, ttls)

    def issue(self, client_id: str, ttls: tuple[float, float]) -> Grant:
        """A pair without a code (the partner plan's password grant)."""
        with self._lock:
            return self._issue(client_id, ttls)

    def _issue(self, client_id: str, ttls: tuple[float, float]) -> Grant:
        access_ttl_s, refresh_ttl_s = ttls
        now = self._now()
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._access[access] = _Token(client_id, now + access_ttl_s)
        self._refresh[refresh] = _Token(client_id, now + refresh_ttl_s)
        return Grant(access, refresh, int(access_ttl_s), str(uuid.uuid4()))

    def client_of(self, access_token: str) -> str | None:
        """The client a valid access token was issued to; None for an unknown or expired one."""
        with self._lock:
            held = self._access.get(access_token)
            if held is None or self._now() >= held.expires_at:
                return None
            return held.client_id

    def expire_access_tokens(self) -> None:
        """Every access token issued so far expires now (refresh tokens still work)."""
        self._expire(self._access)

    def expire_refresh_tokens(self) -> None:
        """Every refresh token issued so far expires now: only a new consent helps."""
        self._expire(self._refresh)

    def _expire(self, tokens: dict[str, _Token]) -> None:
        now = self._now()
        with self._lock:
            for token in tokens.values():
                token.expires_at = min(token.expires_at, now)
