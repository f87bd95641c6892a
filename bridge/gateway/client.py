"""EnvoyClient: the one HTTP client of one gateway.

One request at a time (a lock) over one keep-alive session (`transport`: timeouts, a
whole-request deadline, a body cap, no redirects, retries of transport errors and 502/503/504
inside a time budget). TLS: a pinned certificate fingerprint, or an explicit `insecure`, or
normal verification (`tls`). Auth (reference §1): `/info` is open and says what the gateway
wants; the client then picks a strategy from `credentials` (token or digest) once per firmware
and scheme, and hands it every GET (a token's sessions open at check_jwt as `session` finds it).

Schemes: what `host` says; without a scheme, https, and plain http only for a gateway that may
be an old one without https (neither pinned nor given a token, and never since https answered).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping

from requests.auth import AuthBase

from bridge.auth.cloud import EnphaseCloud
from bridge.auth.manager import TokenManager
from bridge.auth.store import TokenStore
from bridge.auth.tokens import TokenInfo
from bridge.config import GatewayConfig
from bridge.errors import EnvoyAuthError, EnvoyDataError, EnvoyError, EnvoyTransient
from bridge.gateway.credentials import Credentials, DigestAuth, NoAuth, TokenAuth, involves_token
from bridge.gateway.session import SessionOpener
from bridge.gateway.stats import RequestStats
from bridge.gateway.transport import AUTH_REFUSED, Reply, Transport
from bridge.model import GatewayInfo, parse_info

log = logging.getLogger(__name__)

PROOF_READ = "/api/v1/production"  # small, and on every token firmware


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
        self._store = token_store or TokenStore.for_gateway(gateway)
        self._clock = clock
        self.transport = Transport(gateway, sleep=sleep, monotonic=monotonic)
        self._lock = threading.RLock()  # one request at a time per gateway
        self._info: GatewayInfo | None = None  # what /info said, once it has been read
        # Where and how requests go: set together, once /info has been read and a strategy chosen.
        self._scheme = gateway.scheme or "https"
        self._auth: Credentials = NoAuth(gateway.label, self._request)
        # Once this gateway answered over https, it never again gets a plain http request:
        # a later https failure is an outage, and whatever answers http then is not trusted.
        self._https_answered = False

    @property
    def retry_budget_s(self) -> float:
        return self.transport.retry_budget_s

    @retry_budget_s.setter
    def retry_budget_s(self, seconds: float) -> None:
        self.transport.retry_budget_s = seconds

    # --- public API ----------------------------------------------------------------------------

    @property
    def stats(self) -> RequestStats:
        """Every request's count, status and latency, per endpoint, for `bridge/health`."""
        return self.transport.stats

    @property
    def info(self) -> GatewayInfo | None:
        return self._info

    @property
    def token_info(self) -> TokenInfo | None:
        return self._auth.token_info

    @property
    def last_renewal_error(self) -> str | None:
        return self._auth.last_renewal_error

    @property
    def token_source(self) -> str | None:
        return self._auth.token_source

    @property
    def token_flow(self) -> str | None:
        return self._auth.token_flow

    def fetch_info(self) -> GatewayInfo:
        """Read `/info` (no auth; over the schemes `_info_schemes` allows) and choose the auth.

        The strategy is kept while the gateway, its firmware and the scheme stay the same (its
        session too); a setup that fails leaves the previous one in place, scheme included.
        """
        with self._lock:
            reply, scheme = self.transport.with_retries(self._probe_info)
            info = parse_info(self._checked(reply, "/info"))
            if self._gw.serial and self._gw.serial != info.serial:
                raise EnvoyDataError(
                    f"{self._gw.host}: configured serial {self._gw.serial}, but the gateway "
                    f"there reports {info.serial}: not sending it any credentials"
                )
            known = self._info
            if known is None or (info.serial, info.firmware, scheme) != (known.serial, known.firmware, self._scheme):
                self._auth = self._choose_auth(info, scheme)
                self._scheme = scheme
            self._info = info
            return info

    def get(self, endpoint: str, probing: bool = False) -> bytes:
        """GET `endpoint` (path and query) and return the body.

        With `probing`, a 401/403 that a new session does not cure means "this endpoint is not
        for this token" (some need an installer token): EnvoyHTTPError, and no token renewal.

        Raises EnvoyNotFound (404), EnvoyAuthError (refused after a new session and a renewed
        token), AuthError (no token to be had; CloudError when the cloud refused one,
        CloudAuthError, or could not be reached, CloudUnavailable), EnvoyUnavailable (transport,
        timeouts, 5xx after retries; TLS failures), TLSPinError, EnvoyDataError (redirect,
        body too large), EnvoyHTTPError (other statuses).
        """
        endpoint = endpoint if endpoint.startswith("/") else "/" + endpoint
        with self._lock:
            if self._info is None:
                self.fetch_info()
            return self._checked(self._auth.get(endpoint, probing), endpoint)

    def fetch(self, endpoint: str, probing: bool = True) -> Reply:
        """GET `endpoint` and return the whole answer, whatever its status: a capture keeps the
        404s and the error documents too. Raises as `get` does for what is no answer (a refusal
        that a new session does not cure, the gateway unavailable, TLS, a body too large)."""
        with self._lock:
            if self._info is None:
                self.fetch_info()
            return self._auth.get(endpoint, probing)

    def post_json(self, endpoint: str, document: Mapping[str, object]) -> bytes:
        """POST `document` as JSON (a write, such as switching the live-data stream on) through
        the same lock and credentials as the polls; returns the body of the answer.

        Sent again only when its connection failed before anything went out. A refusal that a
        new session does not cure is EnvoyHTTPError (401/403): a write some tokens may not make
        never costs a token renewal. Otherwise raises as `get` does.
        """
        return self.write_json("POST", endpoint, document)

    def write_json(self, method: str, endpoint: str, document: Mapping[str, object]) -> bytes:
        """`post_json` with another method (PUT, DELETE: the controls' writes), the same rules."""
        body = json.dumps(document, separators=(",", ":")).encode()
        with self._lock:
            if self._info is None:
                self.fetch_info()
            return self._checked(self._auth.post(endpoint, body, method), endpoint)

    def renew_token(self, force: bool = True) -> TokenInfo:
        """Fetch a new token now (CLI `token renew`), validate it here, persist it."""
        with self._lock:
            if self._info is None:
                self.fetch_info()
        return self._auth.renew(force)

    def check_token(self, token: str) -> None:
        """Whether the gateway takes `token` (CLI `token import`, `token renew --flow`): its
        check_jwt where it has one, then one read with what that gave. Raises EnvoyAuthError when
        refused, another EnvoyError when the gateway cannot say."""
        with self._lock:
            if self._info is None:
                self.fetch_info()
            headers = SessionOpener(self._gw.label, self._request, self._checked).headers(token)
            reply = self._request(PROOF_READ, headers)
            if reply.status in AUTH_REFUSED:  # without check_jwt, this read is the only check
                raise EnvoyAuthError(
                    f"{self._gw.label}: the gateway refuses the token (HTTP {reply.status} on {PROOF_READ})"
                )

    def maybe_renew_token(self, block: bool = False) -> bool:
        """Renew ahead of expiry when due (background thread unless `block`); True if one started.

        Never raises: failures are logged once by the token manager and kept in `last_renewal_error`.
        """
        return self._auth.maybe_renew(block)

    def close(self) -> None:
        self.transport.close()

    def abort(self) -> None:
        """Cut the request in flight (from another thread, at shutdown)."""
        self.transport.abort()

    # --- auth ----------------------------------------------------------------------------------

    def _choose_auth(self, info: GatewayInfo, scheme: str) -> Credentials:
        """The strategy for this gateway, firmware and scheme; raises when none may be used."""
        auth: Credentials = (
            self._token_auth(info, scheme) if info.uses_token_auth else DigestAuth(self._gw, info, self._request)
        )
        log.info("%s: firmware %s over %s, %s auth", self._gw.label, info.firmware, scheme, auth.name)
        return auth

    def _token_auth(self, info: GatewayInfo, scheme: str) -> TokenAuth:
        if scheme == "http" and self._gw.scheme != "http":
            raise EnvoyError(
                f"{self._gw.label}: firmware {info.firmware} wants a token but answered only over "
                "http; not sending a token in clear text (set `scheme: http` to allow it)"
            )
        current = self._auth
        if isinstance(current, TokenAuth) and current.tokens.serial == info.serial:
            tokens = current.tokens  # a firmware update keeps the token, its renewal state, its circuit
        else:
            tokens = TokenManager(self._gw, info.serial, self._cloud, self._store, clock=self._clock)
        sessions = SessionOpener(self._gw.label, self._request, self._checked)
        return TokenAuth(self._gw.label, tokens, self._request, sessions, self._lock)

    # --- transport -----------------------------------------------------------------------------

    def _probe_info(self) -> tuple[Reply, str]:
        """`/info` over each scheme `_info_schemes` allows, in order.

        Only a transport failure moves on to http, never a TLS error: no downgrade past a bad
        certificate.
        """
        causes = []
        for scheme in self._info_schemes():
            try:
                reply = self.transport.attempt(scheme, "/info", {}, None)
            except EnvoyTransient as err:  # noqa: PERF203 - two tries at most, each a network request
                causes.append(f"{scheme}: {err}")
            else:
                self._https_answered = self._https_answered or scheme == "https"
                return reply, scheme
        raise EnvoyTransient("; ".join(causes))

    def _info_schemes(self) -> tuple[str, ...]:
        """The configured scheme; else https, then http only for what may be an old gateway.

        Firmware < 7 has no https, so pyenphase tries http when https does not answer. Here
        only when nothing says this is a gateway with https: a pinned certificate means https
        with that certificate, a token is never sent in clear text, and a gateway that has
        answered over https is down (or impersonated) when it stops, not suddenly an old one.
        """
        if self._gw.scheme:
            return (self._gw.scheme,)
        if self._gw.fingerprint or involves_token(self._gw) or self._https_answered:
            return ("https",)
        return ("https", "http")

    def _request(
        self,
        path: str,
        headers: dict[str, str],
        auth: AuthBase | None = None,
        method: str = "GET",
        body: bytes | None = None,
    ) -> Reply:
        return self.transport.request(self._scheme, path, headers, auth, method, body)

    def _checked(self, reply: Reply, path: str) -> bytes:
        return self.transport.checked(reply, path)
