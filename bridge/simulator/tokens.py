"""Tokens and sessions of the simulated gateway: JWTs signed with a simulator secret.

Real tokens are ES256 JWTs signed by Enphase; the simulator signs HS256 with its own secret
and checks everything a gateway checks: signature, `aud` = its serial, `iss`, expiry, and a
revocation list that tests control.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jwt

if TYPE_CHECKING:  # jwt.types.Options is newer than the oldest pyjwt we accept (2.8)
    from jwt.types import Options

OWNER_LIFETIME_S = 365 * 86400  # owner tokens last one year (reference §1.3)
INSTALLER_LIFETIME_S = 12 * 3600  # installer tokens last 12 hours
SESSION_IDLE_S = 600  # a sessionId stays valid while used within 10 minutes (Matthew1471)
ISSUER = "Entrez"
# Times are checked against the injectable clock below, not pyjwt's wall clock.
_DECODE_OPTIONS: Options = {
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
    "require": ["exp", "iat", "jti", "aud"],
}


class TokenAuthority:
    """Issues and verifies tokens, trades them for sessions; thread-safe."""

    def __init__(
        self,
        serial: str,
        *,
        secret: bytes | None = None,
        time_func: Callable[[], float] = time.time,
        owner_lifetime_s: float = OWNER_LIFETIME_S,
        session_idle_s: float = SESSION_IDLE_S,
    ):
        self.serial = serial
        self._secret = secret or secrets.token_bytes(32)
        self._time = time_func
        self.owner_lifetime_s = owner_lifetime_s
        self.session_idle_s = session_idle_s
        self._lock = threading.Lock()
        self._issued: set[str] = set()  # jti of every token issued, for "revoke all"
        self._revoked: set[str] = set()
        self._sessions: dict[str, float] = {}  # sessionId -> last use (time_func clock)
        self._roles: dict[str, str] = {}  # sessionId -> the enphaseUser of the token that opened it

    def issue(
        self,
        user_type: str = "owner",
        lifetime_s: float | None = None,
        serial: str | None = None,
        username: str = "owner@example.com",
    ) -> str:
        if lifetime_s is None:
            lifetime_s = self.owner_lifetime_s if user_type == "owner" else INSTALLER_LIFETIME_S
        now = int(self._time())
        jti = str(uuid.uuid4())
        claims = {
            "aud": serial or self.serial,
            "iss": ISSUER,
            "enphaseUser": user_type,
            "exp": now + int(lifetime_s),
            "iat": now,
            "jti": jti,
            "username": username,
        }
        with self._lock:
            self._issued.add(jti)
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this gateway accepts, else None."""
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=["HS256"], audience=self.serial, issuer=ISSUER, options=_DECODE_OPTIONS
            )
        except jwt.PyJWTError:
            return None
        with self._lock:
            if claims["jti"] in self._revoked:
                return None
        return claims if claims["exp"] > self._time() else None

    def revoke(self, token: str | None = None) -> None:
        """Revoke one token, or (None) every token issued so far."""
        with self._lock:
            if token is None:
                self._revoked |= self._issued
                return
        try:
            jti = jwt.decode(token, options={"verify_signature": False}).get("jti")
        except jwt.PyJWTError:
            return
        if isinstance(jti, str):  # a token without one was never issued here
            with self._lock:
                self._revoked.add(jti)

    def open_session(self, user_type: str = "owner") -> str:
        session_id = secrets.token_hex(16)
        with self._lock:
            self._sessions[session_id] = self._time()
            self._roles[session_id] = user_type
        return session_id

    def session_role(self, session_id: str) -> str | None:
        """The role of a live session (None when unknown or expired); does not keep it alive."""
        with self._lock:
            last = self._sessions.get(session_id)
            if last is None or self._time() - last > self.session_idle_s:
                return None
            return self._roles.get(session_id)

    def use_session(self, session_id: str) -> bool:
        """True when the session is valid; using it keeps it alive."""
        now = self._time()
        with self._lock:
            last = self._sessions.get(session_id)
            if last is None or now - last > self.session_idle_s:
                self._sessions.pop(session_id, None)
                self._roles.pop(session_id, None)
                return False
            self._sessions[session_id] = now
            return True

    def revoke_sessions(self) -> None:
        with self._lock:
            self._sessions.clear()
            self._roles.clear()

    @property
    def session_count(self) -> int:
        with self._lock:
            return len(self._sessions)
