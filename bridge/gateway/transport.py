"""HTTP to one gateway: timeouts, a whole-request deadline, a body cap, retries, error classes.

One keep-alive session; `(connect, read)` timeouts on every request plus a deadline on the
whole request (a watchdog cuts a gateway that trickles its answer); bodies capped at 2 MiB
after decoding (which also caps gzip bombs); redirects never followed; transport errors and
502/503/504 retried a few times inside a time budget (retries.py, tenacity), nothing else: never 4xx,
TLS errors (`SSLError` is a `ConnectionError`: caught first) or data errors. A write (a POST
of JSON) is retried only when its connection failed before anything was sent.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3
from requests.auth import AuthBase
from urllib3 import BaseHTTPResponse

from bridge.config import GatewayConfig
from bridge.errors import (
    EnvoyAuthError,
    EnvoyDataError,
    EnvoyError,
    EnvoyHTTPError,
    EnvoyNotFound,
    EnvoyTransient,
    EnvoyUnavailable,
    TLSPinError,
)
from bridge.gateway.deadline import WATCHDOG, Cut, Watchdog
from bridge.gateway.retries import Retries
from bridge.gateway.stats import RequestStats
from bridge.gateway.tls import ConnectionTracker, make_session, split_host
from bridge.gateway.wire import Wire
from bridge.network_errors import describe_transport_error, failed_before_sending

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_BODY_BYTES = 2 * 1024 * 1024  # the largest real answers are ~200 KiB; also caps gzip bombs
READ_CHUNK = 64 * 1024
RETRY_STATUSES = frozenset({502, 503, 504})  # 503 is "not ready yet" after a gateway boot
AUTH_REFUSED = frozenset({401, 403})
DEFAULT_RETRY_BUDGET_S = 30.0  # the poller lowers it to ~0.8 x its interval
SESSION_COOKIE = "sessionId"


class NotSent(EnvoyTransient):
    """The connection failed before the request went out: safe to send again, even a write."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    location: str | None
    session_id: str | None
    content_type: str | None = None  # kept for a capture (bridge/capture), which records it


class Send(Protocol):
    """One request to the gateway over the client's transport (retries, deadline, body cap)."""

    def __call__(
        self,
        path: str,
        headers: dict[str, str],
        auth: AuthBase | None = None,
        method: str = "GET",
        body: bytes | None = None,
    ) -> Reply: ...


class Transport:
    """Requests to one gateway; the caller serialises them (one at a time per gateway)."""

    def __init__(
        self,
        gateway: GatewayConfig,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        watchdog: Watchdog = WATCHDOG,
    ):
        self._gw = gateway
        self.sleep, self.monotonic = sleep, monotonic
        self.retry_budget_s = DEFAULT_RETRY_BUDGET_S
        self.request_deadline_s = gateway.connect_timeout + gateway.read_timeout
        self._timeout = (gateway.connect_timeout, gateway.read_timeout)  # never None
        self._tracker = ConnectionTracker()
        self._watchdog = watchdog
        self.session = make_session(gateway, self._tracker)
        self.wire = Wire(self.session, self._timeout)  # how a request goes out on it
        self._retries = Retries(self._pause)  # whatever `sleep` is when it pauses (tests replace it)
        self.stats = RequestStats(monotonic)  # every attempt, for `bridge/health`

    def close(self) -> None:
        self.wire.close()

    def abort(self) -> None:
        """Cut the request in flight, if any (shutdown: a hung gateway must not hold the process)."""
        self._tracker.abort()

    def with_retries(self, fn: Callable[..., T], *args: Any, retry_on: type[EnvoyTransient] = EnvoyTransient) -> T:
        """`fn(*args)`, again on `retry_on` while attempts and the retry budget last (retries.py)."""
        return self._retries.run(fn, args, retry_on, self.retry_budget_s)

    def _pause(self, seconds: float) -> None:
        self.sleep(seconds)

    def request(
        self,
        scheme: str | None,
        path: str,
        headers: dict[str, str],
        auth: AuthBase | None = None,
        method: str = "GET",
        body: bytes | None = None,
    ) -> Reply:
        """A GET, or a write (`method`: POST, PUT, DELETE; with `body`, of that JSON). A write with a
        body is sent again only when it never left (NotSent): a write that may have arrived is
        never repeated (nor on 502/503/504)."""
        retry_on = EnvoyTransient if body is None else NotSent
        return self.with_retries(self.attempt, scheme, path, headers, auth, method, body, retry_on=retry_on)

    def attempt(
        self,
        scheme: str | None,
        path: str,
        headers: dict[str, str],
        auth: AuthBase | None,
        method: str = "GET",
        body: bytes | None = None,
    ) -> Reply:
        """One request, cut at the whole-request deadline; raises EnvoyTransient for what is worth a retry."""
        where, cut = f"{self._gw.label} {path}", Cut(self._tracker.abort)
        self._watchdog.arm(self, self.request_deadline_s, cut)
        started, status = self.monotonic(), None
        try:
            reply = self._attempt(scheme, path, headers, auth, method, body, where)
            status = reply.status
        except Exception:
            if cut.fired:  # whatever the cut socket raised, the cause is the deadline
                raise EnvoyTransient(self._deadline_message(where)) from None
            raise
        finally:
            self._watchdog.disarm(self)
            self.stats.record(path, self.monotonic() - started, None if cut.fired else status)
        if cut.fired:  # cut in the middle of a body without a length: not a whole answer
            raise EnvoyTransient(self._deadline_message(where))
        return reply

    def _attempt(
        self,
        scheme: str | None,
        path: str,
        headers: dict[str, str],
        auth: AuthBase | None,
        method: str,
        body: bytes | None,
        where: str,
    ) -> Reply:
        started = self.monotonic()
        if body is not None:
            method, headers = method if method != "GET" else "POST", {**headers, "Content-Type": "application/json"}
        try:
            resp = self.wire.send(self.url(scheme, path), headers, auth, method, body)
            try:
                body = self._read_body(resp, started, where)
                cookie = _session_cookie(resp) if resp.status == 200 else None
            finally:  # as requests' Response.close: a connection whose answer was cut is not reused
                resp.close()
                resp.release_conn()
        except (requests.exceptions.SSLError, urllib3.exceptions.SSLError) as err:
            raise self._tls_error(err, where) from err
        except (requests.exceptions.ContentDecodingError, urllib3.exceptions.DecodeError) as err:
            raise EnvoyDataError(f"{where}: body does not decode ({type(err).__name__})") from err
        except (
            requests.exceptions.ConnectionError,
            requests.exceptions.Timeout,
            urllib3.exceptions.HTTPError,
            OSError,
        ) as err:
            error = NotSent if failed_before_sending(err) else EnvoyTransient
            raise error(f"{where}: {describe_transport_error(err)}") from err
        except requests.exceptions.RequestException as err:
            raise EnvoyError(f"{where}: {type(err).__name__}") from err
        log.debug("%s: HTTP %d, %d bytes: %r", where, resp.status, len(body), body[:200])
        if resp.status in RETRY_STATUSES:
            raise EnvoyTransient(f"{where}: HTTP {resp.status}")
        return Reply(resp.status, body, resp.headers.get("Location"), cookie, resp.headers.get("Content-Type"))

    def _deadline_message(self, where: str) -> str:
        return f"{where}: timed out (no complete answer within {self.request_deadline_s:g} s)"

    def _read_body(self, resp: BaseHTTPResponse, started: float, where: str) -> bytes:
        # One socket read per call (read1): a trickle is checked against the deadline between
        # reads here too (cheap, and testable on a fake clock); the watchdog covers the headers.
        read = resp.read1
        chunks: list[bytes] = []
        size = 0
        while True:
            if self.monotonic() - started > self.request_deadline_s:
                raise EnvoyTransient(self._deadline_message(where))
            chunk = read(READ_CHUNK, decode_content=True)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise EnvoyDataError(f"{where}: body too large (over {MAX_BODY_BYTES // 1024} KiB)")
            chunks.append(chunk)

    def _tls_error(self, err: BaseException, where: str) -> EnvoyError:
        text = str(err)
        if self._gw.fingerprint and "Fingerprints did not match" in text:
            got = re.search(r'got "([0-9a-fA-F:]+)"', text)
            return TLSPinError(
                f"{where}: certificate fingerprint mismatch: expected {self._gw.fingerprint}, got "
                f"{got.group(1) if got else 'another certificate'}. Nothing was sent. If the "
                "certificate changed legitimately (firmware update), check it and update `fingerprint`"
            )
        hint = (
            ""
            if self._gw.fingerprint or self._gw.insecure
            else (
                "; pin the gateway's certificate with `fingerprint` (envoy-mqtt-bridge fingerprint HOST) "
                "or set `insecure: true`"
            )
        )
        return EnvoyUnavailable(f"{where}: {describe_transport_error(err)}{hint}")

    def checked(self, reply: Reply, path: str) -> bytes:
        """The body of a 2xx answer; every other status as its error class."""
        status, where = reply.status, f"{self._gw.label} {path}"
        if 200 <= status < 300:
            return reply.body
        if 300 <= status < 400:
            raise EnvoyDataError(f"{where}: HTTP {status} redirect to {_safe_url(reply.location)!r} (not followed)")
        if status == 404:
            raise EnvoyNotFound(f"{where}: HTTP 404 (the gateway does not have this endpoint)")
        if status in AUTH_REFUSED:
            raise EnvoyAuthError(f"{where}: HTTP {status}")
        if status < 500:
            raise EnvoyHTTPError(status, f"{where}: HTTP {status}")
        raise EnvoyUnavailable(f"{where}: HTTP {status}")  # 502/503/504 were retried before this

    def url(self, scheme: str | None, path: str) -> str:
        host, port = split_host(self._gw.host)
        host = f"[{host}]" if ":" in host else host
        port = self._gw.port or port
        return f"{scheme or 'https'}://{host}{f':{port}' if port else ''}{path}"


def _safe_url(url: str | None) -> str:
    """A redirect target for a message: scheme, host and path only (a query could carry a session)."""
    parts = urlsplit(url or "?")
    return f"{parts.scheme}://{parts.netloc}{parts.path}"[:100] if parts.netloc else parts.path[:100]


def _session_cookie(resp: BaseHTTPResponse) -> str | None:
    for value in resp.headers.getlist("Set-Cookie"):
        jar = SimpleCookie()
        try:
            jar.load(value)
        except CookieError:
            continue
        if SESSION_COOKIE in jar and jar[SESSION_COOKIE].value:
            return jar[SESSION_COOKIE].value
    return None
