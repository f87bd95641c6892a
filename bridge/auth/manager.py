"""The token of one gateway over time: choose it, renew it ahead of expiry, validate, persist.

`TokenManager` picks the token to use (pasted in the config, cached by `TokenStore`, or fetched
from the Enphase cloud), renews it ahead of expiry, validates a new token against the gateway
before it replaces the old one, and guards cloud logins with a circuit breaker so a broken
setup cannot hammer Enlighten. Nothing here logs or puts into an exception message a token,
password or session id.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from bridge.auth.store import TokenStore
from bridge.auth.tokens import TokenInfo, decode_token, renew_ahead_s
from bridge.errors import AuthError, CloudAuthError, CloudError, EnvoyAuthError

if TYPE_CHECKING:
    from bridge.auth.cloud import EnphaseCloud
    from bridge.config import GatewayConfig

    CloudLogin = tuple[EnphaseCloud, str, str]  # what a renewal logs in with: cloud, user, password

log = logging.getLogger(__name__)

# A failed cloud login blocks the next one for 15 min, doubling to 6 h (at most ~8 logins a day).
CIRCUIT_FIRST_S = 15 * 60.0
CIRCUIT_MAX_S = 6 * 3600.0
# Safety net for odd tokens (no iat, tiny lifetime): proactive renewals at most hourly.
MIN_RENEWAL_SPACING_S = 3600.0


class TokenManager:
    """The token of one gateway: choose, renew ahead of expiry, validate, persist. Thread-safe."""

    def __init__(
        self,
        gateway: GatewayConfig,
        serial: str,
        cloud: EnphaseCloud | None,
        store: TokenStore | None,
        clock: Callable[[], float] = time.time,
    ):
        self.serial = serial
        self._gw = gateway
        self._cloud = cloud
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()  # guards the fields below; never held while talking to anyone
        self._renewing = threading.Lock()  # one renewal at a time; never waited for (no deadlocks)
        self._loaded = False
        self._load_error: str | None = None  # the configured token is unusable and nothing can replace it
        self._token: str | None = None
        self._info: TokenInfo | None = None
        self.source: str | None = None  # "config", "cache" or "cloud"
        self.flow: str | None = None  # how the cloud issued the current token (the diagnostics' token_flow)
        self._candidate: str | None = None  # fetched but not yet validated (gateway was down)
        self._failures = 0
        self._blocked_until = 0.0
        self._unconfirmed = False
        self._last_renewal: float | None = None
        # A renewal problem lasts until the gateway accepts a renewed token (confirm), not until
        # the cloud hands one out: a token the gateway refuses is no recovery, and must not
        # reopen a WARNING at every circuit slot.
        self._renewal_failing = False
        self.last_renewal_error: str | None = None
        self._warned_unrenewable = False

    # --- what we have ---------------------------------------------------------------------------

    @property
    def info(self) -> TokenInfo | None:
        with self._lock:
            self._ensure_loaded()
            return self._info

    @property
    def can_renew(self) -> bool:
        return self._login() is not None

    def _login(self) -> CloudLogin | None:
        """The cloud and the Enlighten account a renewal needs; None when it cannot be had."""
        if self._cloud and self._gw.username and self._gw.password:
            return self._cloud, self._gw.username, self._gw.password
        return None

    def needs_renewal(self, now: float | None = None) -> bool:
        info = self.info
        now = self._clock() if now is None else now
        return info is None or info.expires_at - now <= renew_ahead_s(info)

    def renewal_due(self, now: float | None = None) -> bool:
        """Time for a proactive renewal: due, renewable, circuit closed, not renewed within the hour."""
        now = self._clock() if now is None else now
        with self._lock:
            recent = self._last_renewal is not None and now - self._last_renewal < MIN_RENEWAL_SPACING_S
            blocked = now < self._blocked_until
        return self.can_renew and not recent and not blocked and not self._renewing.locked() and self.needs_renewal(now)

    def circuit_wait_s(self, now: float | None = None) -> float:
        now = self._clock() if now is None else now
        with self._lock:
            return max(0.0, self._blocked_until - now)

    def token(self) -> str:
        """A token that has not expired: configured or cached first, else one from the cloud."""
        with self._lock:
            self._ensure_loaded()
            if self._token and self._info and not self._info.expired(self._clock()):
                return self._token
            expired = self._info
        if self._load_error:
            raise AuthError(self._load_error)
        login = self._login()
        if login is None:
            raise AuthError(self._cannot_renew_message(expired))
        return self._renew(login, validate=None, force=False)

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        candidates = [
            ("config", (self._gw.token or "").strip()),
            ("cache", self._store.load() if self._store else None),
        ]
        usable = []
        for source, token in candidates:
            try:
                info = self._check_local(source, token) if token else None
            except AuthError as err:
                self._load_error = str(err)
                return
            if info:
                usable.append((info, token, source))
        if usable:  # the newest wins: a token the bridge renewed beats the one pasted long ago
            self._info, self._token, self.source = max(usable, key=lambda item: item[0].expires_at)

    def _check_local(self, source: str, token: str) -> TokenInfo | None:
        try:
            info = decode_token(token)
        except AuthError as err:
            if source == "config" and not self.can_renew:
                raise AuthError(f"{self._gw.label}: the configured token is unusable: {err}") from None
            log.warning("%s: ignoring the %s token: %s", self._gw.label, source, err)
            return None
        if info.serial and info.serial != self.serial:
            message = f"the {source} token was issued for gateway {info.serial}, not {self.serial}"
            if source == "config" and not self.can_renew:
                raise AuthError(f"{self._gw.label}: {message}; paste the token for {self.serial}")
            log.warning("%s: ignoring it: %s", self._gw.label, message)
            return None
        return info

    def warn_unrenewable(self) -> None:
        """Once, near expiry: a pasted token without Enlighten credentials will run out."""
        info = self.info
        if info is None or self._warned_unrenewable or not self.needs_renewal():
            return
        self._warned_unrenewable = True
        self.last_renewal_error = "token near expiry and no Enlighten credentials to renew it"
        log.warning(
            "%s: the token expires on %s (%.0f days) and cannot be renewed without Enlighten "
            "credentials: paste a new token or configure `username` and `password`",
            self._gw.label,
            info.expires_iso,
            info.days_left(self._clock()),
        )

    def _cannot_renew_message(self, expired: TokenInfo | None) -> str:
        what = (
            f"the token expired on {expired.expires_iso}"
            if expired
            else "there is no token (neither `token` in the config nor a cached one)"
        )
        return (
            f"{self._gw.label}: {what} and it cannot be renewed without Enlighten credentials: "
            "configure `username` and `password`, or paste a new token as `token`"
        )

    # --- renewal -------------------------------------------------------------------------------

    def renew(self, validate: Callable[[str], None], force: bool = False) -> str:
        """Fetch a new token, validate it with `validate(new)`, then adopt and persist it.

        `force` ignores the circuit breaker (an explicit user request). On any failure the
        current token stays in place and the error is re-raised.
        """
        login = self._login()
        if login is None:
            raise AuthError(
                f"{self._gw.label}: this token was pasted (config `token`) and cannot be renewed without "
                "Enlighten credentials: paste a new token, or configure `username` and `password`"
            )
        return self._renew(login, validate, force)

    def _renew(self, login: CloudLogin, validate: Callable[[str], None] | None, force: bool) -> str:
        # The breaker and a renewal in flight refuse as the cloud would (CloudAuthError): retry later.
        if not self._renewing.acquire(blocking=False):
            raise CloudAuthError(f"{self._gw.label}: a token renewal is already in progress")
        try:
            if self._candidate and decode_token(self._candidate).expired(self._clock()):
                self._candidate = None
            new = self._candidate or self._fetch(login, force)
            info = decode_token(new)  # fetch_token checked it already; cheap
            self._validate(new, validate)
            self._adopt(new, info)
            return new
        finally:
            self._renewing.release()

    def _fetch(self, login: CloudLogin, force: bool) -> str:
        wait = self.circuit_wait_s()
        if wait > 0 and not force:
            raise CloudAuthError(
                f"{self._gw.label}: next cloud login attempt in {math.ceil(wait / 60)} min "
                f"(last failure: {self.last_renewal_error})"
            )
        cloud, username, password = login
        try:
            return cloud.fetch_token(username, password, self.serial)
        except CloudError as err:  # refused or unreachable: either way, not before the circuit allows
            self.record_failure(str(err))
            raise

    def _validate(self, new: str, validate: Callable[[str], None] | None) -> None:
        if validate is None:
            return
        try:
            validate(new)
        except EnvoyAuthError as err:
            self._candidate = None
            self.record_failure(f"the gateway refused the new token: {err}")
            raise
        except Exception:
            self._candidate = new  # gateway unreachable: validate this one later, no new cloud login
            raise

    def _adopt(self, new: str, info: TokenInfo) -> None:
        now = self._clock()
        with self._lock:
            self._token, self._info, self.source = new, info, "cloud"
            self._candidate = None
            self._blocked_until = 0.0
            self._unconfirmed = True  # the failure count resets once the gateway accepts it (confirm)
            self._last_renewal = now
        if self._store:
            self._store.save(new)
        log.log(
            logging.DEBUG if self._renewal_failing else logging.INFO,
            "%s: new %s token from the Enphase cloud, valid until %s (%.0f days)",
            self._gw.label,
            info.user_type or "gateway",
            info.expires_iso,
            info.days_left(now),
        )

    def record_failure(self, reason: str) -> None:
        """A renewal failed or did not help: block the next cloud login, 15 min doubling to 6 h."""
        now = self._clock()
        with self._lock:
            self._failures += 1
            delay = min(CIRCUIT_FIRST_S * 2 ** (self._failures - 1), CIRCUIT_MAX_S)
            self._blocked_until = now + delay
            first = not self._renewal_failing
            self._renewal_failing = True
            self.last_renewal_error = reason[:300]
        log.log(
            logging.WARNING if first else logging.DEBUG,
            "%s: token renewal failed: %s; next cloud login attempt in %d min",
            self._gw.label,
            reason[:300],
            delay // 60,
        )

    def confirm(self) -> None:
        """The gateway accepted a request: a pending renewal proved good, so reset the circuit."""
        if not self._unconfirmed:
            return
        with self._lock:
            self._unconfirmed = False
            self._failures = 0
            recovered, self._renewal_failing = self._renewal_failing, False
            if recovered:
                self.last_renewal_error = None
        if recovered:
            info = self._info
            log.info(
                "%s: token renewal recovered: new token accepted, valid until %s",
                self._gw.label,
                info.expires_iso if info else "?",
            )
