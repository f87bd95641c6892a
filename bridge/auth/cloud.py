"""The Enphase cloud over HTTPS: one session for every gateway, retries, the Enlighten login,
and login sessions kept a few minutes. TLS always verified; redirects never followed.

`fetch_token` gets a token for one gateway by the token flows of `bridge/auth/flows.py`, tried
in order with fallback (`bridge/auth/fallback.py`); the flows send through `send` and log in
through `login`. Transport errors and 5xx are retried a little (tenacity); refusals are not.
The session keeps no cookies: each flow sends the one cookie it needs, so nothing of one
account or one service travels to another. Error messages name the account and the gateway,
never the password, a session id, a cookie or the token. One instance serves every gateway:
requests are serialised (no login stampede at startup) and one login serves the token
requests of all the account's gateways for a few minutes.
"""

from __future__ import annotations

import http.cookiejar
import logging
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from bridge.auth.fallback import CloudToken, fetch_with_fallback
from bridge.auth.replies import redirect_note, short_message
from bridge.config import CloudConfig
from bridge.errors import CloudAuthError, CloudMFARequired, CloudTransient, CloudUnavailable
from bridge.network_errors import describe_transport_error

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # a login is worth a few quick tries; longer outages are the circuit breaker's job
# Twenty gateways starting at once need twenty tokens, not twenty logins: a session is reused
# this long (kept in memory only), and dropped at the first refusal.
SESSION_REUSE_S = 600.0
CONNECT_TIMEOUT_S = 10.0


class EnphaseCloud:
    """Fetches Envoy tokens from the Enphase cloud. One request at a time (no login stampede)."""

    def __init__(
        self,
        cfg: CloudConfig,
        session: requests.Session | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.cfg = cfg
        self._session = session or requests.Session()
        self._session.verify = True  # never off for the cloud: it receives the password
        self._session.cookies.set_policy(_NoCookies())
        if cfg.ca_file:
            self._session.mount("https://", ExtraCAAdapter(cfg.ca_file))
        self._sleep = sleep
        self._timeout = (min(CONNECT_TIMEOUT_S, cfg.timeout), cfg.timeout)
        self._lock = threading.Lock()
        self._monotonic = monotonic
        # (service, account) -> (session id or cookie, since): "enlighten" and "entrez" logins
        self._sessions: dict[tuple[str, str], tuple[str, float]] = {}

    @property
    def flows(self) -> tuple[str, ...]:
        """The configured token flows, in order (`cloud.token_flows`)."""
        return self.cfg.token_flows

    def fetch_token(
        self,
        username: str,
        password: str,
        serial: str,
        *,
        now: float,
        flows: Sequence[str] | None = None,
        quiet: bool = False,
    ) -> CloudToken:
        """A token for gateway `serial` that passed the offline checks at `now`, by the first
        of `flows` (default: the configured ones) that gives one. `quiet`: a flow's failure is
        logged at DEBUG, not WARNING (the caller already warned that renewals fail).

        Raises CloudMFARequired, CloudAuthError when the flows were refused (or answered no
        token), CloudUnavailable when none could reach the cloud.
        """
        with self._lock:
            return fetch_with_fallback(self, username, password, serial, now, tuple(flows or self.flows), quiet)

    def close(self) -> None:
        self._sessions.clear()
        self._session.close()

    # --- login sessions, kept a few minutes ------------------------------------------------------

    def cached_session(self, service: str, username: str) -> str | None:
        session, since = self._sessions.get((service, username), (None, 0.0))
        if session and self._monotonic() - since < SESSION_REUSE_S:
            return session
        self._sessions.pop((service, username), None)
        return None

    def keep_session(self, service: str, username: str, session: str) -> None:
        self._sessions[(service, username)] = (session, self._monotonic())

    def drop_session(self, service: str, username: str) -> None:
        self._sessions.pop((service, username), None)

    def enlighten_login(self, username: str, password: str) -> str:
        """`POST {enlighten}/login/login.json`: the session id (also the `_enlighten_4_session` cookie)."""
        url = self.cfg.enlighten_url.rstrip("/") + "/login/login.json"
        resp = self.send("Enlighten login", "POST", url, data={"user[email]": username, "user[password]": password})
        if resp.status_code != 200:
            hint = " (check the Enlighten e-mail and password)" if 400 <= resp.status_code < 500 else ""
            raise CloudAuthError(
                f"Enlighten refused the login for {username}: HTTP {resp.status_code}{redirect_note(resp)}{hint}"
            )
        try:
            doc = resp.json()
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise CloudAuthError(
                f"Enlighten login for {username}: the reply is not a JSON object "
                f"(HTTP 200, {resp.headers.get('Content-Type', 'no content type')}); "
                "the login API may have changed"
            )
        if doc.get("isBlocked") is True:
            raise CloudAuthError(
                f"Enlighten says the account {username} is blocked (too many failed "
                "logins?): log in at enlighten.enphaseenergy.com to unblock it"
            )
        session_id = doc.get("session_id")
        if not isinstance(session_id, str) or not session_id:  # with MFA on, a code is asked for next
            raise CloudMFARequired(
                f"Enlighten accepted the login for {username} but sent no session id: MFA is on for this account"
            )
        return session_id

    # --- requests --------------------------------------------------------------------------------

    def send(self, what: str, method: str, url: str, **request: Any) -> requests.Response:
        """One request, retried on transport errors and 5xx; CloudUnavailable when they last."""
        retrying = Retrying(
            retry=retry_if_exception_type(CloudTransient),
            stop=stop_after_attempt(MAX_ATTEMPTS),
            wait=wait_random_exponential(multiplier=1, max=10),
            sleep=self._sleep,
            reraise=True,
            before_sleep=before_sleep_log(log, logging.DEBUG),
        )
        try:
            return retrying(self._send_once, what, method, url, **request)
        except CloudTransient as err:
            attempts = retrying.statistics.get("attempt_number", MAX_ATTEMPTS)
            raise CloudUnavailable(f"{err} (after {attempts} attempts)") from err

    def _send_once(self, what: str, method: str, url: str, **request: Any) -> requests.Response:
        host = urlsplit(url).hostname
        try:
            # No redirects: a 307/308 would re-send the password to wherever it points.
            resp = self._session.request(method, url, timeout=self._timeout, allow_redirects=False, **request)
        except requests.exceptions.SSLError as err:  # a ConnectionError subclass: never retried
            raise CloudUnavailable(f"{what}: {host}: {describe_transport_error(err)}") from err
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as err:
            raise CloudTransient(f"{what}: {host}: {describe_transport_error(err)}") from err
        except requests.exceptions.RequestException as err:
            raise CloudUnavailable(f"{what}: {host}: {type(err).__name__}") from err
        if resp.status_code >= 500:
            raise CloudTransient(f"{what}: {host}: HTTP {resp.status_code}{short_message(resp)}")
        return resp


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """The session's jar keeps nothing: a cookie goes out only where a flow puts it."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


class ExtraCAAdapter(HTTPAdapter):
    """Trusts the default CA store plus one extra CA file (a proxy's, a test's). Verification stays on.

    The context is made at the first request, not at start: loading the system store costs
    ~25 ms of CPU, which a bridge whose gateway tokens are cached never needs (issue 17).
    """

    def __init__(self, ca_file: str):
        self._ca_file = ca_file
        self._context: ssl.SSLContext | None = None
        super().__init__()

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self._ssl_context()  # before the pool is chosen: requests < 2.32 reads it from the pool manager
        return super().send(request, *args, **kwargs)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: str | tuple[str, str] | None = None
    ) -> tuple[Any, Any]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        pool_kwargs["ssl_context"] = self._ssl_context()  # requests 2.32.0-2.32.3 put a default context here
        return host_params, pool_kwargs

    def _ssl_context(self) -> ssl.SSLContext:
        """Made once; an unreadable CA file is a TLS error of the request (one clear line), not a crash."""
        if self._context is not None:
            return self._context
        try:
            context = ssl.create_default_context()  # system store, CERT_REQUIRED, host name checked
            context.load_verify_locations(cafile=self._ca_file)
        except OSError as err:  # ssl.SSLError too
            problem = f"ca_file {self._ca_file}: {err.strerror or err}"
        else:
            self.poolmanager.connection_pool_kw["ssl_context"] = context
            self._context = context
            return context
        raise requests.exceptions.SSLError(problem)  # outside the handler: the line names the file
