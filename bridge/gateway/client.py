"""EnvoyClient: the one HTTP client of one gateway, and its authentication.

One request at a time (a lock) over one keep-alive session (bridge/transport.py: timeouts, a
whole-request deadline, a body cap, no redirects, retries of transport errors and 502/503/504
inside a time budget). TLS: a pinned certificate fingerprint, or an explicit `insecure`, or
normal verification (bridge/tls.py). Auth (reference §1): `/info` is open; firmware 7+ trades
the JWT once at `/auth/check_jwt` for a `sessionId` cookie and sends only the cookie; a 401/403
gets a new session first and a renewed token second; older firmware uses HTTP digest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from requests.auth import HTTPDigestAuth

from bridge.auth.cloud import EnphaseCloud
from bridge.auth.manager import TokenManager
from bridge.auth.store import TokenStore
from bridge.auth.tokens import TokenInfo
from bridge.config import GatewayConfig
from bridge.errors import (
    AuthError,
    BridgeError,
    EnvoyAuthError,
    EnvoyDataError,
    EnvoyError,
    EnvoyHTTPError,
    EnvoyTransient,
)
from bridge.gateway.transport import AUTH_REFUSED, SESSION_COOKIE, Reply, Transport
from bridge.model.info import GatewayInfo, parse_info

log = logging.getLogger(__name__)


class EnvoyClient:
    """Talks to one gateway. Methods raise EnvoyError subclasses or AuthError subclasses only."""

    def __init__(
        self,
        gateway: GatewayConfig,
        cloud: EnphaseCloud | None,
        token_store: TokenStore | None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], float] = time.time,
    ):
        self._gw = gateway
        self._cloud = cloud
        self._store = token_store or (TokenStore(gateway.token_cache) if gateway.token_cache else None)
        self._clock = clock
        self.transport = Transport(gateway, sleep=sleep, monotonic=monotonic)
        self._lock = threading.RLock()  # one request at a time per gateway
        self._info: GatewayInfo | None = None
        self._scheme: str | None = None
        self._tokens: TokenManager | None = None
        self._digest: HTTPDigestAuth | None = None
        self._session_id: str | None = None
        self._bearer: str | None = None  # only when the gateway hands out no session cookie
        self._renew_thread: threading.Thread | None = None
        self._warned_unrenewable = False

    @property
    def retry_budget_s(self) -> float:
        return self.transport.retry_budget_s

    @retry_budget_s.setter
    def retry_budget_s(self, seconds: float) -> None:
        self.transport.retry_budget_s = seconds

    @property
    def request_deadline_s(self) -> float:
        return self.transport.request_deadline_s

    @request_deadline_s.setter
    def request_deadline_s(self, seconds: float) -> None:
        self.transport.request_deadline_s = seconds

    # --- public API ----------------------------------------------------------------------------

    @property
    def info(self) -> GatewayInfo | None:
        return self._info

    @property
    def token_info(self) -> TokenInfo | None:
        return self._tokens.info if self._tokens else None

    @property
    def last_renewal_error(self) -> str | None:
        return self._tokens.last_renewal_error if self._tokens else None

    def fetch_info(self) -> GatewayInfo:
        """Read `/info` (no auth; https, then http when no scheme is configured) and set up auth."""
        with self._lock:
            reply, scheme = self.transport.with_retries(self._probe_info)
            info = parse_info(self._checked(reply, "/info"))
            if self._gw.serial and self._gw.serial != info.serial:
                raise EnvoyDataError(
                    f"{self._gw.host}: configured serial {self._gw.serial}, but the gateway "
                    f"there reports {info.serial}: not sending it any credentials"
                )
            self._setup_auth(info, scheme)
            self._info = info
            return info

    def get(self, endpoint: str, probing: bool = False) -> bytes:
        """GET `endpoint` (path and query) and return the body.

        With `probing`, a 401/403 that a new session does not cure means "this endpoint is not
        for this token" (some need an installer token): EnvoyHTTPError, and no token renewal.

        Raises EnvoyNotFound (404), EnvoyAuthError (refused after a new session and a renewed
        token), AuthError/CloudAuthError (no token to be had), EnvoyUnavailable (transport,
        timeouts, 5xx after retries; TLS failures), TLSPinError, EnvoyDataError (redirect,
        body too large), EnvoyHTTPError (other statuses).
        """
        endpoint = endpoint if endpoint.startswith("/") else "/" + endpoint
        with self._lock:
            if self._info is None:
                self.fetch_info()
            if self._tokens is None:
                return self._digest_get(endpoint, probing)
            return self._token_get(endpoint, probing)

    def check_jwt(self, token: str) -> str | None:
        """Ask the gateway whether it accepts `token`; returns its session id (None if it sets no cookie).

        Raises EnvoyAuthError when refused, EnvoyUnavailable when unreachable.
        """
        with self._lock:
            reply = self._request("/auth/check_jwt", {"Authorization": f"Bearer {token}"})
            if reply.status in AUTH_REFUSED or b"Invalid token" in reply.body[:200]:
                why = f"HTTP {reply.status}" if reply.status in AUTH_REFUSED else "an 'Invalid token' page"
                raise EnvoyAuthError(f"{self._gw.label}: the gateway refused the token at /auth/check_jwt ({why})")
            if reply.status == 404:  # not EnvoyNotFound: the data endpoint would look absent
                raise EnvoyHTTPError(
                    404, f"{self._gw.label}: /auth/check_jwt: HTTP 404 (no token check on this firmware?)"
                )
            self._checked(reply, "/auth/check_jwt")
            return reply.session_id

    def renew_token(self, force: bool = True) -> TokenInfo:
        """Fetch a new token now (CLI `token renew`), validate it here, persist it."""
        with self._lock:
            if self._info is None:
                self.fetch_info()
        if self._tokens is None:
            raise AuthError(f"{self._gw.label}: firmware {self._info.firmware} uses digest auth, not tokens")
        self._tokens.renew(validate=self._open_session, force=force)
        return self._tokens.info

    def maybe_renew_token(self, block: bool = False) -> bool:
        """Renew ahead of expiry when due (background thread unless `block`); True if one started.

        Never raises: failures are logged once by the token manager and kept in `last_renewal_error`.
        """
        tokens = self._tokens
        if tokens is None:
            return False
        if not tokens.can_renew:
            self._warn_unrenewable(tokens)
            return False
        if not tokens.renewal_due() or (self._renew_thread and self._renew_thread.is_alive()):
            return False
        if block:
            self._renew_quietly()
        else:
            self._renew_thread = threading.Thread(
                target=self._renew_quietly, daemon=True, name=f"token-renew-{self._gw.label}"
            )
            self._renew_thread.start()
        return True

    def close(self) -> None:
        self.transport.close()

    def abort(self) -> None:
        """Cut the request in flight (from another thread, at shutdown)."""
        self.transport.abort()

    # --- auth ----------------------------------------------------------------------------------

    def _setup_auth(self, info: GatewayInfo, scheme: str) -> None:
        changed = self._info is None or (info.firmware, scheme) != (self._info.firmware, self._scheme)
        self._scheme = scheme
        if changed:
            self._session_id = self._bearer = None
            log.info(
                "%s: firmware %s over %s, %s auth",
                self._gw.label,
                info.firmware,
                scheme,
                "token" if info.uses_token_auth else "digest",
            )
        if not info.uses_token_auth:
            self._tokens, self._digest = None, self._digest_auth(info.serial)
            return
        if scheme == "http" and self._gw.scheme != "http":
            raise EnvoyError(
                f"{self._gw.label}: firmware {info.firmware} wants a token but answered only over "
                "http; not sending a token in clear text (set `scheme: http` to allow it)"
            )
        serial = self._gw.serial or info.serial
        if self._tokens is None or self._tokens.serial != serial:
            self._tokens = TokenManager(self._gw, serial, self._cloud, self._store, clock=self._clock)
        self._digest = None

    def _digest_auth(self, serial: str) -> HTTPDigestAuth:
        user = self._gw.username if self._gw.username and "@" not in self._gw.username else "envoy"
        password = self._gw.password if user == self._gw.username else None
        if not password and user == "envoy":
            password = serial[-6:]  # the gateway's default: last 6 digits of its serial
        if not password:
            raise EnvoyAuthError(
                f"{self._gw.label}: digest user {user!r} needs a password (the bridge does not "
                "derive installer passwords); use user 'envoy' or set `password`"
            )
        return HTTPDigestAuth(user, password)

    def _digest_get(self, path: str, probing: bool) -> bytes:
        reply = self._request(path, {}, auth=self._digest)
        if reply.status in AUTH_REFUSED and probing:
            raise EnvoyHTTPError(reply.status, f"{self._gw.label} {path}: HTTP {reply.status} (not for this user)")
        if reply.status in AUTH_REFUSED:
            user = self._digest.username if self._digest else "none"
            raise EnvoyAuthError(
                f"{self._gw.label}: the gateway refused digest login for user {user!r} on "
                f"{path} (HTTP {reply.status}): check `username` and `password`"
            )
        return self._checked(reply, path)

    def _token_get(self, path: str, probing: bool) -> bytes:
        had_session = bool(self._session_id or self._bearer)
        reply = self._authed_request(path, fresh=not had_session)
        if reply is None and had_session:
            log.debug("%s %s: session refused; opening a new one", self._gw.label, path)
            reply = self._authed_request(path, fresh=True)
        if reply is None and probing:
            raise EnvoyHTTPError(401, f"{self._gw.label} {path}: refused for this token (not available to it)")
        if reply is None:
            reply = self._with_renewed_token(path)
        if 200 <= reply.status < 300:
            self._tokens.confirm()
        return self._checked(reply, path)

    def _authed_request(self, path: str, fresh: bool) -> Reply | None:
        """One request with the session (a new one first if `fresh`); None when the gateway refuses."""
        if fresh:
            try:
                self._open_session(self._tokens.token())
            except EnvoyAuthError as err:
                log.debug("%s", err)
                return None
        reply = self._request(path, self._auth_headers())
        return None if reply.status in AUTH_REFUSED else reply

    def _with_renewed_token(self, path: str) -> Reply:
        try:
            self._tokens.renew(validate=self._open_session)
        except AuthError as err:
            raise EnvoyAuthError(
                f"{self._gw.label}: the gateway refused the token on {path} and it could not be renewed: {err}"
            ) from err
        reply = self._request(path, self._auth_headers())
        if reply.status in AUTH_REFUSED:
            self._tokens.record_failure(f"the gateway refuses even a renewed token (HTTP {reply.status} on {path})")
            wait = self._tokens.circuit_wait_s() / 60
            raise EnvoyAuthError(
                f"{self._gw.label}: the gateway refuses the token on {path} (HTTP {reply.status}) "
                f"even after a new session and a renewed token: is gateway {self._tokens.serial} "
                f"registered to this Enlighten account? Next renewal in {wait:.0f} min"
            )
        return reply

    def _open_session(self, token: str) -> None:
        """check_jwt, then send only the session cookie (cheaper for the gateway than a JWT)."""
        with self._lock:
            session_id = self.check_jwt(token)
            self._session_id = session_id
            self._bearer = None if session_id else token

    def _auth_headers(self) -> dict[str, str]:
        if self._session_id:
            return {"Cookie": f"{SESSION_COOKIE}={self._session_id}"}
        return {"Authorization": f"Bearer {self._bearer}"} if self._bearer else {}

    def _renew_quietly(self) -> None:
        try:
            self._tokens.renew(validate=self._open_session)
        except BridgeError as err:  # the manager logged the transition; the poller keeps polling
            log.debug("%s: proactive token renewal failed: %s", self._gw.label, err)
        except Exception:  # a bug must not kill the thread silently, nor the poller
            log.exception("%s: unexpected error during token renewal", self._gw.label)

    def _warn_unrenewable(self, tokens: TokenManager) -> None:
        info = tokens.info
        if info is None or self._warned_unrenewable or not tokens.needs_renewal():
            return
        self._warned_unrenewable = True
        tokens.last_renewal_error = "token near expiry and no Enlighten credentials to renew it"
        log.warning(
            "%s: the token expires on %s (%.0f days) and cannot be renewed without Enlighten "
            "credentials: paste a new token or configure `username` and `password`",
            self._gw.label,
            info.expires_iso,
            info.days_left(self._clock()),
        )

    # --- transport -----------------------------------------------------------------------------

    def _probe_info(self) -> tuple[Reply, str]:
        schemes = (self._gw.scheme,) if self._gw.scheme else ("https", "http")  # firmware < 7: no https
        causes = []
        for scheme in schemes:
            try:
                return self.transport.attempt(scheme, "/info", {}, None), scheme
            except EnvoyTransient as err:  # never on TLS errors: no downgrade to http past a bad certificate
                causes.append(f"{scheme}: {err}")
        raise EnvoyTransient("; ".join(causes))

    def _request(self, path: str, headers: dict[str, str], auth=None) -> Reply:
        return self.transport.request(self._scheme, path, headers, auth)

    def _checked(self, reply: Reply, path: str) -> bytes:
        return self.transport.checked(reply, path)
