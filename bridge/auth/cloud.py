"""The Enphase cloud: Enlighten login, then an Entrez token for one gateway. TLS always verified.

Two calls (reference §1.3): `POST {enlighten}/login/login.json` (form `user[email]`,
`user[password]`) answers JSON with a `session_id`; `POST {entrez}/tokens` (JSON
`session_id`, `serial_num`, `username`) answers the raw JWT. Transport errors and 5xx are
retried a little (tenacity); refusals are not. Error messages name the account and the
gateway, never the password, the session id or the token. One instance serves every gateway:
requests are serialised (no login stampede at startup) and one Enlighten login serves the
token requests of all the account's gateways for a few minutes.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
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

from bridge.auth.tokens import decode_token
from bridge.config import CloudConfig
from bridge.errors import AuthError, CloudAuthError, CloudTransient, CloudUnavailable
from bridge.network_errors import describe_transport_error

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # a login is worth a few quick tries; longer outages are the circuit breaker's job
# Twenty gateways starting at once need twenty tokens, not twenty logins: a session is reused
# this long (kept in memory only), and dropped at the first refusal.
SESSION_REUSE_S = 600.0
CONNECT_TIMEOUT_S = 10.0
MFA_HINT = (
    "multi-factor authentication (MFA) is on for this account, and the bridge cannot log in "
    "with MFA. Get a token from https://entrez.enphaseenergy.com (or turn MFA off) and paste it "
    "as `token` in this gateway's config; a pasted token is not renewed automatically"
)


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
        self._cfg = cfg
        self._session = session or requests.Session()
        self._session.verify = True  # never off for the cloud: it receives the password
        if cfg.ca_file:
            self._session.mount("https://", _ExtraCAAdapter(cfg.ca_file))
        self._sleep = sleep
        self._timeout = (min(CONNECT_TIMEOUT_S, cfg.timeout), cfg.timeout)
        self._lock = threading.Lock()
        self._monotonic = monotonic
        self._sessions: dict[str, tuple[str, float]] = {}  # account -> (Enlighten session id, since)

    def fetch_token(self, username: str, password: str, serial: str) -> str:
        """Log in and fetch a token for gateway `serial`.

        Raises CloudAuthError when Enlighten/Entrez refuse (bad credentials, MFA, odd reply),
        CloudUnavailable when the cloud cannot be reached.
        """
        with self._lock:
            reused = self._reusable_session(username)
            if reused:
                try:
                    return self._token(reused, serial, username)
                except CloudAuthError:  # the session may have expired: one fresh login decides
                    self._sessions.pop(username, None)
            session_id = self._login(username, password)
            self._sessions[username] = (session_id, self._monotonic())
            return self._token(session_id, serial, username)

    def _reusable_session(self, username: str) -> str | None:
        session_id, since = self._sessions.get(username, (None, 0.0))
        if session_id and self._monotonic() - since < SESSION_REUSE_S:
            return session_id
        self._sessions.pop(username, None)
        return None

    def close(self) -> None:
        self._sessions.clear()
        self._session.close()

    def _login(self, username: str, password: str) -> str:
        url = self._cfg.enlighten_url.rstrip("/") + "/login/login.json"
        resp = self._post("Enlighten login", url, data={"user[email]": username, "user[password]": password})
        if resp.status_code != 200:
            hint = " (check the Enlighten e-mail and password)" if 400 <= resp.status_code < 500 else ""
            raise CloudAuthError(
                f"Enlighten refused the login for {username}: HTTP {resp.status_code}{_redirect(resp)}{hint}"
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
        if not isinstance(session_id, str) or not session_id:
            raise CloudAuthError(f"Enlighten accepted the login for {username} but sent no session id: {MFA_HINT}")
        return session_id

    def _token(self, session_id: str, serial: str, username: str) -> str:
        url = self._cfg.entrez_url.rstrip("/") + "/tokens"
        body = {"session_id": session_id, "serial_num": serial, "username": username}
        resp = self._post("Entrez token request", url, json=body)
        if resp.status_code != 200:
            raise CloudAuthError(
                f"Entrez refused a token for gateway {serial}: HTTP {resp.status_code}"
                f"{_redirect(resp)} (is this gateway registered to the Enlighten "
                f"account {username}?)"
            )
        token = resp.text.strip()
        try:
            decode_token(token)
        except AuthError:
            raise CloudAuthError(
                f"Entrez answered the token request for gateway {serial} with "
                f"{len(resp.content)} bytes that are not a token"
            ) from None
        return token

    def _post(self, what: str, url: str, **body: Any) -> requests.Response:
        retrying = Retrying(
            retry=retry_if_exception_type(CloudTransient),
            stop=stop_after_attempt(MAX_ATTEMPTS),
            wait=wait_random_exponential(multiplier=1, max=10),
            sleep=self._sleep,
            reraise=True,
            before_sleep=before_sleep_log(log, logging.DEBUG),
        )
        try:
            return retrying(self._post_once, what, url, **body)
        except CloudTransient as err:
            attempts = retrying.statistics.get("attempt_number", MAX_ATTEMPTS)
            raise CloudUnavailable(f"{err} (after {attempts} attempts)") from err

    def _post_once(self, what: str, url: str, **body: Any) -> requests.Response:
        host = urlsplit(url).hostname
        try:
            # No redirects: a 307/308 would re-send the password to wherever it points.
            resp = self._session.post(url, timeout=self._timeout, allow_redirects=False, **body)
        except requests.exceptions.SSLError as err:  # a ConnectionError subclass: never retried
            raise CloudUnavailable(f"{what}: {host}: {describe_transport_error(err)}") from err
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as err:
            raise CloudTransient(f"{what}: {host}: {describe_transport_error(err)}") from err
        except requests.exceptions.RequestException as err:
            raise CloudUnavailable(f"{what}: {host}: {type(err).__name__}") from err
        if resp.status_code >= 500:
            raise CloudTransient(f"{what}: {host}: HTTP {resp.status_code}")
        return resp


def _redirect(resp: requests.Response) -> str:
    location = urlsplit(resp.headers.get("Location") or "")  # no query: it could carry a session
    target = (f"{location.scheme}://{location.netloc}" if location.netloc else "") + location.path
    return f" (redirect to {target[:100]!r}, not followed)" if resp.is_redirect and target else ""


class _ExtraCAAdapter(HTTPAdapter):
    """Trusts the default CA store plus one extra CA file (a proxy's, a test's). Verification stays on."""

    def __init__(self, ca_file: str):
        self._context = ssl.create_default_context()  # system store, CERT_REQUIRED, host name checked
        self._context.load_verify_locations(cafile=ca_file)
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: str | tuple[str, str] | None = None
    ) -> tuple[Any, Any]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        pool_kwargs["ssl_context"] = self._context  # requests 2.32.0-2.32.3 put a default context here
        return host_params, pool_kwargs
