"""How the client proves who it is to the gateway: one strategy per (firmware, scheme).

`/info` says which (reference §1): firmware 7+ wants a JWT, traded once at `/auth/check_jwt`
for a `sessionId` cookie, or sent as it is where there is no check_jwt (`TokenAuth`, with
`session.SessionOpener`); older firmware wants HTTP digest (`DigestAuth`);
before `/info` is read, and for a gateway that wants nothing, requests go out bare (`NoAuth`).
The client picks the strategy and hands it each GET; the strategy decides what a refusal
means (a new session, a renewed token, or "not for this user"). Nothing here logs or puts
into a message a token, password or session id.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from requests.auth import HTTPDigestAuth

from bridge.auth.manager import TokenManager
from bridge.auth.tokens import TokenInfo, decode_token
from bridge.config import GatewayConfig
from bridge.errors import AuthError, BridgeError, EnvoyAuthError, EnvoyHTTPError
from bridge.gateway.session import SessionOpener, cookie
from bridge.gateway.transport import AUTH_REFUSED, Reply, Send
from bridge.model import GatewayInfo

log = logging.getLogger(__name__)

Write = tuple[str, bytes]  # a write's method (POST, PUT, DELETE) and JSON body


class Credentials(Protocol):
    """What the client asks of a strategy: authenticated GETs, and the token's state if it has one."""

    name: str  # for the log line: "token", "digest" or "no" auth

    @property
    def token_info(self) -> TokenInfo | None: ...

    @property
    def last_renewal_error(self) -> str | None: ...

    @property
    def token_source(self) -> str | None:
        """Where the token came from: config, cache, cloud or import; None without one."""
        ...

    @property
    def token_flow(self) -> str | None:
        """How the cloud issued it (the token manager's `flow`); None when unknown."""
        ...

    def get(self, path: str, probing: bool) -> Reply:
        """The gateway's answer to an authenticated GET; raises when it refuses these credentials."""
        ...

    def post(self, path: str, body: bytes, method: str = "POST") -> Reply:
        """The answer to an authenticated write of JSON (`method`: POST, PUT or DELETE). A refusal
        that a new session does not cure means "not for these credentials" (EnvoyHTTPError), as
        when probing: never a renewal."""
        ...

    def renew(self, force: bool) -> TokenInfo:
        """A new token now, validated and kept; AuthError when this strategy has none."""
        ...

    def maybe_renew(self, block: bool) -> bool:
        """Renew ahead of expiry when due; True if a renewal started. Never raises."""
        ...


class _Tokenless:
    """The common half of the strategies without a token: nothing to show or renew."""

    token_info: TokenInfo | None = None
    last_renewal_error: str | None = None
    token_source: str | None = None
    token_flow: str | None = None

    def __init__(self, label: str, send: Send, why_no_token: str):
        self._label, self._send, self._why_no_token = label, send, why_no_token

    def renew(self, force: bool) -> TokenInfo:
        raise AuthError(f"{self._label}: {self._why_no_token}")

    def maybe_renew(self, block: bool) -> bool:
        return False


class NoAuth(_Tokenless):
    """Bare requests: until `/info` says what the gateway wants, and for a gateway that wants nothing."""

    name = "no"

    def __init__(self, label: str, send: Send):
        super().__init__(label, send, "this gateway takes no credentials, so there is no token to renew")

    def get(self, path: str, probing: bool) -> Reply:
        return self._send(path, {})

    def post(self, path: str, body: bytes, method: str = "POST") -> Reply:
        return self._send(path, {}, method=method, body=body)


class DigestAuth(_Tokenless):
    """Firmware < 7: HTTP digest, user `envoy` with the last 6 digits of the serial, or the configured user."""

    name = "digest"

    def __init__(self, gateway: GatewayConfig, info: GatewayInfo, send: Send):
        super().__init__(gateway.label, send, f"firmware {info.firmware} uses digest auth, not tokens")
        self._digest = _digest_login(gateway, info.serial)

    def get(self, path: str, probing: bool) -> Reply:
        return self._request(path, probing)

    def post(self, path: str, body: bytes, method: str = "POST") -> Reply:
        return self._request(path, True, body, method)

    def _request(self, path: str, probing: bool, body: bytes | None = None, method: str = "GET") -> Reply:
        reply = self._send(path, {}, self._digest, method=method, body=body)
        if reply.status in AUTH_REFUSED and probing:
            raise EnvoyHTTPError(reply.status, f"{self._label} {path}: HTTP {reply.status} (not for this user)")
        if reply.status in AUTH_REFUSED:
            raise EnvoyAuthError(
                f"{self._label}: the gateway refused digest login for user {self._digest.username!r} on "
                f"{path} (HTTP {reply.status}): check `username` and `password`"
            )
        return reply


def involves_token(gateway: GatewayConfig) -> bool:
    """Whether the configuration is for token firmware: a pasted JWT, or an Enlighten login."""
    return bool(gateway.token) or _is_enlighten_login(gateway.username)


def _is_enlighten_login(username: str | None) -> bool:
    # An e-mail address is the Enlighten login, not a gateway user.
    return bool(username and "@" in username)


def _digest_login(gateway: GatewayConfig, serial: str) -> HTTPDigestAuth:
    # The Enlighten login is no gateway user: then the default user.
    user = gateway.username if gateway.username and not _is_enlighten_login(gateway.username) else "envoy"
    password = gateway.password if user == gateway.username else None
    if not password and user == "envoy":
        password = serial[-6:]  # the gateway's default: last 6 digits of its serial
    if not password:
        raise EnvoyAuthError(
            f"{gateway.label}: digest user {user!r} needs a password (the bridge does not "
            "derive installer passwords); use user 'envoy' or set `password`"
        )
    return HTTPDigestAuth(user, password)


class TokenAuth:
    """Firmware 7+: a JWT traded at `/auth/check_jwt` for a session cookie, renewed when refused.

    Only the cookie goes out with data requests (cheaper for the gateway than a JWT); the Bearer
    header when the gateway sets no cookie or has no check_jwt, until a data answer sets one. A
    refusal gets a new session (without check_jwt: the token again) first, a renewed token
    second. `lock` is the client's request lock: a session opened by the renewal thread must
    not interleave with a poll.
    """

    name = "token"

    def __init__(
        self,
        label: str,
        tokens: TokenManager,
        send: Send,
        sessions: SessionOpener,
        lock: threading.RLock,
    ):
        self.tokens, self.sessions = tokens, sessions
        self._label, self._send, self._lock = label, send, lock
        self._session: dict[str, str] = {}  # the headers that carry the session; empty: none open
        self.renew_thread: threading.Thread | None = None  # the last proactive renewal

    @property
    def token_info(self) -> TokenInfo | None:
        return self.tokens.info

    @property
    def last_renewal_error(self) -> str | None:
        return self.tokens.last_renewal_error

    @property
    def token_source(self) -> str | None:
        return self.tokens.source

    @property
    def token_flow(self) -> str | None:
        return self.tokens.flow

    def get(self, path: str, probing: bool) -> Reply:
        """With `probing`, a refusal a new session does not cure means "not for this token": no renewal."""
        return self._exchange(path, probing)

    def post(self, path: str, body: bytes, method: str = "POST") -> Reply:
        return self._exchange(path, True, (method, body))

    def _exchange(self, path: str, probing: bool, write: Write | None = None) -> Reply:
        had_session = bool(self._session)
        reply = self._authed_request(path, not had_session, write)
        if reply is None and had_session:
            log.debug("%s %s: session refused; opening a new one", self._label, path)
            reply = self._authed_request(path, True, write)
        if reply is None and probing:
            raise EnvoyHTTPError(401, f"{self._label} {path}: refused for this token (not available to it)")
        if reply is None:
            reply = self._with_renewed_token(path)
        if 200 <= reply.status < 300:
            self.tokens.confirm()
        return reply

    def renew(self, force: bool) -> TokenInfo:
        return decode_token(self.tokens.renew(validate=self.open_session, force=force))

    def maybe_renew(self, block: bool) -> bool:
        if not self.tokens.can_renew:
            self.tokens.warn_unrenewable()
            return False
        if not self.tokens.renewal_due() or (self.renew_thread and self.renew_thread.is_alive()):
            return False
        if block:
            self._renew_quietly()
        else:
            self.renew_thread = threading.Thread(
                target=self._renew_quietly, daemon=True, name=f"token-renew-{self._label}"
            )
            self.renew_thread.start()
        return True

    def open_session(self, token: str) -> None:
        """check_jwt, then send the session cookie (or the token itself when no cookie came)."""
        with self._lock:
            self._session = self.sessions.headers(token)

    def _send_in_session(self, path: str, write: Write | None = None) -> Reply:
        method, body = write or ("GET", None)
        reply = self._send(path, self._session, method=method, body=body)
        if reply.session_id and "Cookie" not in self._session:
            # A gateway that answers the bearer token with a session (D8.3.5289 does, on every
            # such answer) gets its cookie back: one JWT check, not one per request.
            self._session = cookie(reply.session_id)
        return reply

    def _authed_request(self, path: str, fresh: bool, write: Write | None = None) -> Reply | None:
        """One request with the session (a new one first if `fresh`); None when the gateway refuses."""
        if fresh:
            try:
                self.open_session(self.tokens.token())
            except EnvoyAuthError as err:
                log.debug("%s", err)
                return None
        reply = self._send_in_session(path, write)
        return None if reply.status in AUTH_REFUSED else reply

    def _with_renewed_token(self, path: str) -> Reply:
        try:
            self.tokens.renew(validate=self.open_session)
        except AuthError as err:  # refused, unreachable, circuit open, no credentials: no new token
            raise EnvoyAuthError(
                f"{self._label}: the gateway refused the token on {path} and it could not be renewed: {err}"
            ) from err
        reply = self._send_in_session(path)
        if reply.status in AUTH_REFUSED:
            self.tokens.record_failure(f"the gateway refuses even a renewed token (HTTP {reply.status} on {path})")
            wait = self.tokens.circuit_wait_s() / 60
            raise EnvoyAuthError(
                f"{self._label}: the gateway refuses the token on {path} (HTTP {reply.status}) "
                f"even after a new session and a renewed token: is gateway {self.tokens.serial} "
                f"registered to this Enlighten account? Next renewal in {wait:.0f} min"
            )
        return reply

    def _renew_quietly(self) -> None:
        try:
            self.tokens.renew(validate=self.open_session)
        except BridgeError as err:  # the manager logged the transition; the poller keeps polling
            log.debug("%s: proactive token renewal failed: %s", self._label, err)
        except Exception:  # a bug must not kill the thread silently, nor the poller
            log.exception("%s: unexpected error during token renewal", self._label)
