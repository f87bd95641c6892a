"""The token of one gateway over time: choose it, renew it ahead of expiry, validate, persist.

`TokenManager` picks the token to use (pasted in the config, cached by `TokenStore`, or fetched
from the Enphase cloud by its token flows, the one that worked last time first), renews it
ahead of expiry, checks a new token offline and then against the gateway before it replaces
the old one, and guards cloud logins with a circuit breaker so a broken setup cannot hammer
Enlighten. A token that fails a check never reaches the gateway or the cache. Nothing here
logs or puts into an exception message a token, password or session id.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from bridge.auth.fallback import CloudToken, flow_order
from bridge.auth.local import cannot_renew_message, choose_local, remembered_flow
from bridge.auth.store import TokenMeta, TokenStore
from bridge.auth.tokens import TokenInfo, check_candidate, renew_ahead_s
from bridge.errors import AuthError, CloudAuthError, CloudError, EnvoyAuthError, TokenRejected

if TYPE_CHECKING:
    from bridge.auth.cloud import EnphaseCloud
    from bridge.config import GatewayConfig

    CloudLogin = tuple[EnphaseCloud, str, str]  # what a renewal logs in with: cloud, user, password

log = logging.getLogger(__name__)

# A failed cloud login blocks the next one for 15 min, doubling to 6 h (at most ~8 logins a day).
CIRCUIT_FIRST_S = 15 * 60.0
CIRCUIT_MAX_S = 6 * 3600.0
LOGGED_REASON_MAX = 1200  # every flow's failure fits; the diagnostics keep the first 300 characters
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
        self._flow: str | None = None  # see `flow`
        self._obtained_at: float | None = None
        self._remembered: str | None = None  # the cloud flow that worked last: tried first
        self._candidate: CloudToken | None = None  # fetched but not yet validated (gateway was down)
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
    def flow(self) -> str | None:
        """What produced the token in use: a token flow, "import" or "config"; None when unknown."""
        with self._lock:
            self._ensure_loaded()
            return self._flow

    @property
    def obtained_at(self) -> float | None:
        """When the bridge got the token in use (epoch seconds); None when unknown or configured."""
        with self._lock:
            self._ensure_loaded()
            return self._obtained_at

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
            raise AuthError(cannot_renew_message(self._gw.label, expired))
        return self._renew(login, validate=None, force=False)

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        meta = self._store.load_meta() if self._store else None
        self._remembered = remembered_flow(meta)
        try:
            local = choose_local(self._gw, self.serial, self._store, meta, self.can_renew)
        except AuthError as err:
            self._load_error = str(err)
            return
        if local:
            self._token, self._info, self.source = local.token, local.info, local.source
            self._flow, self._obtained_at = local.flow, local.obtained_at

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

    # --- renewal -------------------------------------------------------------------------------

    def renew(self, validate: Callable[[str], object], force: bool = False, flow: str | None = None) -> str:
        """Fetch a new token, check it offline, validate it with `validate(new)`, then adopt and persist it.

        `force` ignores the circuit breaker (an explicit user request); `flow` tries that token
        flow alone. On any failure the current token stays in place and the error is re-raised.
        """
        login = self._login()
        if login is None:
            raise AuthError(
                f"{self._gw.label}: this token was pasted (config `token`) and cannot be renewed without "
                "Enlighten credentials: paste a new token, or configure `username` and `password`"
            )
        return self._renew(login, validate, force, flow)

    def _renew(
        self, login: CloudLogin, validate: Callable[[str], object] | None, force: bool, flow: str | None = None
    ) -> str:
        # The breaker and a renewal in flight refuse as the cloud would (CloudAuthError): retry later.
        if not self._renewing.acquire(blocking=False):
            raise CloudAuthError(f"{self._gw.label}: a token renewal is already in progress")
        try:
            pending = None if flow else self._pending_candidate()
            new, info = pending or self._fetch(login, force, flow)
            self._validate(new, validate)
            self._adopt(new, info)
            return new.token
        finally:
            self._renewing.release()

    def _pending_candidate(self) -> tuple[CloudToken, TokenInfo] | None:
        """The token fetched while the gateway was down, while it still passes the offline checks."""
        if self._candidate is None:
            return None
        try:
            return self._candidate, check_candidate(self._candidate.token, self.serial, self._clock())
        except TokenRejected:
            self._candidate = None
            return None

    def _fetch(self, login: CloudLogin, force: bool, flow: str | None) -> tuple[CloudToken, TokenInfo]:
        wait = self.circuit_wait_s()
        if wait > 0 and not force:
            raise CloudAuthError(
                f"{self._gw.label}: next cloud login attempt in {math.ceil(wait / 60)} min "
                f"(last failure: {self.last_renewal_error})"
            )
        cloud, username, password = login
        with self._lock:
            self._ensure_loaded()  # the remembered flow comes from the cache's metadata
            flows = flow_order(cloud.flows, self._remembered, flow)
            quiet = self._renewal_failing
        try:
            new = cloud.fetch_token(username, password, self.serial, now=self._clock(), flows=flows, quiet=quiet)
            # The cloud checked it already; checked again here, so nothing unchecked is ever kept.
            return new, check_candidate(new.token, self.serial, self._clock())
        except (CloudError, TokenRejected) as err:  # refused, unreachable, no token: not before the circuit allows
            # One ERROR lists the flows: here while the token in hand still works (nobody else
            # will say it), else from the caller, whose gateway goes offline with this reason.
            self.record_failure(str(err), logging.ERROR if self._holds_valid_token() else logging.WARNING)
            raise

    def _holds_valid_token(self) -> bool:
        with self._lock:
            return self._info is not None and not self._info.expired(self._clock())

    def _validate(self, new: CloudToken, validate: Callable[[str], object] | None) -> None:
        if validate is None:
            return
        try:
            validate(new.token)
        except EnvoyAuthError as err:
            self._candidate = None
            self.record_failure(f"the gateway refused the new token: {err}")
            raise
        except Exception:
            self._candidate = new  # gateway unreachable: validate this one later, no new cloud login
            raise

    def _adopt(self, new: CloudToken, info: TokenInfo) -> None:
        now = self._clock()
        with self._lock:
            self._token, self._info, self.source = new.token, info, "cloud"
            self._flow, self._obtained_at, self._remembered = new.flow, now, new.flow
            self._candidate = None
            self._blocked_until = 0.0
            self._unconfirmed = True  # the failure count resets once the gateway accepts it (confirm)
            self._last_renewal = now
        if self._store:
            self._store.save(new.token, TokenMeta(new.flow, now, info.user_type, info.expires_at))
        log.log(
            logging.DEBUG if self._renewal_failing else logging.INFO,
            "%s: new %s token from the Enphase cloud (flow %s), valid until %s (%.0f days)",
            self._gw.label,
            info.user_type or "gateway",
            new.flow,
            info.expires_iso,
            info.days_left(now),
        )

    def record_failure(self, reason: str, level: int = logging.WARNING) -> None:
        """A renewal failed or did not help: block the next cloud login, 15 min doubling to 6 h.

        Logged at `level` when renewals start failing, at DEBUG while they go on failing.
        """
        now = self._clock()
        with self._lock:
            self._failures += 1
            delay = min(CIRCUIT_FIRST_S * 2 ** (self._failures - 1), CIRCUIT_MAX_S)
            self._blocked_until = now + delay
            first = not self._renewal_failing
            self._renewal_failing = True
            self.last_renewal_error = reason[:300]
        log.log(
            level if first else logging.DEBUG,
            "%s: token renewal failed: %s; next cloud login attempt in %d min",
            self._gw.label,
            reason[:LOGGED_REASON_MAX],
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
