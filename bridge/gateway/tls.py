"""TLS towards the gateway: a pinned certificate, an explicit opt-out, or normal checks.

The gateway's certificate is self-signed, so the safe choice is to pin its SHA-256
fingerprint (urllib3's `assert_fingerprint`, checked even with CA checks off, and counted
as verified); `fetch_fingerprint` prints it for trust on first use. `insecure` is explicit,
logged once, and silences urllib3's per-request warning for that session only. Every
session's pools tell a `ConnectionTracker` which connection is in flight, so a whole-request
deadline can cut it (bridge/deadline.py). The session's adapter keeps each URL's pool and builds
a lean answer: a poll's requests skip what a LAN device with one pool never needs.
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import logging
import socket
import ssl
import urllib.request
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import requests
from requests import PreparedRequest
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3 import BaseHTTPResponse
from urllib3.connectionpool import ConnectionPool, HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.ssl_ import create_urllib3_context

from bridge.config import GatewayConfig
from bridge.errors import EnvoyUnavailable
from bridge.network_errors import describe_transport_error

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection  # a Protocol, for types only

log = logging.getLogger(__name__)


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """The session cookie is kept by hand and sent only where meant; the jar stores nothing."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False


def make_session(gateway: GatewayConfig, tracker: ConnectionTracker | None = None) -> requests.Session:
    """A session for one gateway; `tracker` learns the connection in flight (for deadlines)."""
    tracker = tracker or ConnectionTracker()
    session = requests.Session()
    session.trust_env = False  # a LAN device: no proxies, no .netrc credentials
    session.cookies.set_policy(_NoCookies())
    session.headers["Accept"] = "application/json"
    session.mount("http://", _GatewayAdapter(tracker))
    if gateway.fingerprint:
        session.verify = False  # CA checks off: the adapter's fingerprint check replaces them
        session.mount(
            "https://",
            _GatewayAdapter(
                tracker, assert_fingerprint=gateway.fingerprint, cert_reqs="CERT_NONE", ssl_context=_no_ca()
            ),
        )
    elif gateway.insecure:
        session.verify = False
        session.mount("https://", _InsecureAdapter(tracker, cert_reqs="CERT_NONE", ssl_context=_no_ca()))
        log.warning(
            "%s: TLS certificate checks are OFF for this gateway (`insecure: true`); pin its "
            "certificate with `fingerprint` instead (envoy-mqtt-bridge fingerprint HOST)",
            gateway.label,
        )
    else:
        session.mount("https://", _GatewayAdapter(tracker))
    return session


def _no_ca() -> ssl.SSLContext:
    """The TLS context of a connection that checks no CA (pinned, or `insecure`). Given to the
    pools, it spares each new connection urllib3's own context, which loads the system's CA
    store (~25 ms of CPU) only to leave it unused."""
    return create_urllib3_context(cert_reqs=ssl.CERT_NONE)  # host names unchecked too


class ConnectionTracker:
    """Remembers the connection of the request in flight (one at a time per gateway), so that a
    whole-request deadline can cut it: a trickling gateway keeps every single read short."""

    def __init__(self) -> None:
        self.current: BaseHTTPConnection | None = None

    def abort(self) -> None:
        sock = getattr(self.current, "sock", None)
        if sock is None:
            return  # still connecting: the connect timeout bounds that
        try:
            # The plain socket's shutdown, even under TLS: it wakes a read blocked in another
            # thread at once, without touching the TLS state that thread is using.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass


def _tracking(pool_cls: type[HTTPConnectionPool], tracker: ConnectionTracker) -> type[HTTPConnectionPool]:
    class TrackingPool(pool_cls):  # type: ignore[valid-type,misc]  # the base is chosen at run time
        def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
            conn: BaseHTTPConnection = super()._get_conn(timeout)
            tracker.current = conn
            return conn

    return TrackingPool


class _GatewayAdapter(HTTPAdapter):
    """One connection (the gateway gets one request at a time); TLS options for its pools.

    With `assert_fingerprint` urllib3 trusts exactly one certificate: it checks its SHA-256
    even with CA checks off, and then counts the connection as verified.
    """

    https_pool = HTTPSConnectionPool

    def __init__(self, tracker: ConnectionTracker, **tls: Any):
        self._tracker, self._tls = tracker, tls
        self._pools: dict[str, ConnectionPool] = {}  # URL -> its pool; one entry per endpoint read
        super().__init__(pool_connections=1, pool_maxsize=1)

    # Every request of a poll goes through the three methods below; requests' own versions
    # parse the URL again, look the pool up, guess a text encoding and offer the cookies to a
    # jar that stores none: per request, more CPU than reading the answer (bench/README.md).

    def get_connection_with_tls_context(
        self,
        request: PreparedRequest,
        verify: bool | str | None,
        proxies: Mapping[str, str] | None = None,
        cert: tuple[str, str] | str | None = None,
    ) -> ConnectionPool:
        """The pool of the request's URL, looked up once: one gateway per session (so the pool
        manager, which holds one pool, never evicts it), its TLS settings fixed, no proxies
        (`trust_env` is off). `close` forgets them with the manager's."""
        url = str(request.url)
        kept = self._pools.get(url)
        if kept is None:
            kept = self._pools[url] = super().get_connection_with_tls_context(request, verify, proxies, cert)
        return kept

    def close(self) -> None:
        self._pools.clear()
        super().close()

    def request_url(self, request: PreparedRequest, proxies: Mapping[str, str] | None) -> str:
        return request.path_url if not proxies else super().request_url(request, proxies)

    def build_response(self, req: PreparedRequest, resp: BaseHTTPResponse) -> requests.Response:
        """The answer as requests' would be, minus the text encoding (the transport reads the
        bytes) and the cookie jar (the session cookie is read from the headers by hand)."""
        response = requests.Response()
        response.status_code = resp.status
        response.headers = CaseInsensitiveDict(resp.headers)
        response.raw, response.reason, response.url = resp, resp.reason or "", str(req.url)
        response.request, response.connection = req, self
        return response

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(self._tls)
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _tracking(HTTPConnectionPool, self._tracker),
            "https": _tracking(self.https_pool, self._tracker),
        }


class _UnverifiedHTTPSPool(HTTPSConnectionPool):
    """urllib3 warns on every unverified request; this user opted out explicitly and got one WARNING."""

    def _validate_conn(self, conn: BaseHTTPConnection) -> None:
        # What HTTPSConnectionPool._validate_conn does (urllib3 2.x; `sock` for 1.26), minus the warning.
        if getattr(conn, "is_closed", getattr(conn, "sock", None) is None):
            conn.connect()


class _InsecureAdapter(_GatewayAdapter):
    https_pool = _UnverifiedHTTPSPool


def split_host(text: str) -> tuple[str, int | None]:
    """ "name", "1.2.3.4", "fe80::1", "[fe80::1]", each optionally with ":port" -> (host, port)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, int(port) if port.isdigit() else None
    return text, None  # a name, IPv4, or a bare IPv6 address


def fetch_fingerprint(host: str, port: int = 443, timeout: float = 10) -> str:
    """SHA-256 of the gateway's certificate (DER), lower-case hex: for trust on first use.

    `host` may carry its own port ("envoy.local:8443", "[fe80::1]:443"); that one wins.
    """
    host, own_port = split_host(host)
    port = own_port or port
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # we only read the certificate, to show it to the user
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as sock,
            context.wrap_socket(sock, server_hostname=None if _is_ip(host) else host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except OSError as err:
        raise EnvoyUnavailable(f"{host}:{port}: {describe_transport_error(err)}") from err
    if not der:
        raise EnvoyUnavailable(f"{host}:{port}: no certificate presented")
    return hashlib.sha256(der).hexdigest()


def _is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True
