"""The HTTP endpoint: a stdlib `ThreadingHTTPServer` in a daemon thread, GET and HEAD only.

`/healthz` answers 200 `healthy: ...` or 503 `unhealthy: ...`: `BridgeHealth.check()`'s verdict,
the one `envoy-mqtt-bridge health` gives. `/metrics` is Prometheus's text format (metrics.py),
`/` the status page (page.py); anything else is a 404, another method a 405. Nothing served
carries a secret (no token, password or cookie is in what they read). No authentication: the
log warns when the address is not loopback (docs/http.md). A failure while answering is one
log line and a 500; it never reaches the bridge.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from bridge.config.validate_http import is_loopback, split_listen
from bridge.http.history import History
from bridge.http.metrics import CONTENT_TYPE, BridgeCollector, exposition
from bridge.http.page import render

log = logging.getLogger("bridge")

REQUEST_TIMEOUT_S = 10.0  # a client that sends nothing does not keep its thread longer
TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"
PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    content_type: str
    body: bytes


class HttpEndpoint:
    def __init__(
        self,
        listen: str,
        health: Callable[[], dict[str, Any]],
        check: Callable[[], dict[str, Any]],
        history: History,
        instance: str,
        secrets: tuple[str, ...] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.listen = listen
        self._health, self._check, self._history = health, check, history
        self._instance, self._secrets, self._clock = instance, secrets, clock
        self._collector = BridgeCollector(health, history.views, clock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind and serve in a daemon thread; OSError when the address cannot be bound."""
        host, port = split_listen(self.listen)
        server_class = _Server6 if ":" in host else _Server
        self._server = server_class((host, port), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)
        self._thread.start()
        url = f"http://{self.listen}/"
        if is_loopback(host):
            log.info("Status page, /healthz and /metrics on %s", url)
        else:
            log.warning(
                "Status page, /healthz and /metrics on %s: reachable from the network, without authentication", url
            )

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the HTTP endpoint is not started")
        return int(self._server.server_address[1])

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()  # waits for serve_forever to return (at most its 0.5 s poll)
        self._server.server_close()
        self._server = None

    def answer(self, target: str) -> Answer:
        """The answer to a GET of `target` (its query, if any, is ignored)."""
        path = urlsplit(target).path
        if path == "/healthz":
            return self.healthz()
        if path == "/metrics":
            return Answer(200, CONTENT_TYPE, exposition(self._collector))
        if path in ("/", "/index.html"):
            page = render(
                self._health(), self._check(), self._history.views(self._clock()), self._instance, self._secrets
            )
            return Answer(200, HTML, page.encode())
        return Answer(404, TEXT, b"not found: the bridge serves /, /healthz and /metrics\n")

    def healthz(self) -> Answer:
        verdict = self._check()
        word = "healthy" if verdict["healthy"] else "unhealthy"
        return Answer(200 if verdict["healthy"] else 503, TEXT, f"{word}: {verdict['summary']}\n".encode())


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a slow client never holds up the bridge's exit

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer: not worth stderr's traceback."""
        log.debug("HTTP: connection from %s failed: %s", client_address[0], sys.exc_info()[1])


class _Server6(_Server):
    address_family = socket.AF_INET6


def _handler(endpoint: HttpEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = REQUEST_TIMEOUT_S

        def version_string(self) -> str:
            return "envoy-mqtt-bridge"  # no Python version in the Server header

        def do_GET(self) -> None:  # the name http.server calls
            self._send(self._answer(), body=True)

        def do_HEAD(self) -> None:
            self._send(self._answer(), body=False)

        def refuse(self) -> None:
            self._send(Answer(405, TEXT, b"only GET and HEAD\n"), body=True, allow=True)

        do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = refuse  # noqa: N815

        def _answer(self) -> Answer:
            try:
                return endpoint.answer(self.path)
            except Exception:  # a bug in a page or a metric: one line, a 500, the bridge goes on
                log.exception("HTTP: unexpected error answering %s", urlsplit(self.path).path[:80])
                return Answer(500, TEXT, b"internal error, see the bridge's log\n")

        def _send(self, answer: Answer, body: bool, allow: bool = False) -> None:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            if answer.content_type == HTML:
                self.send_header("Content-Security-Policy", PAGE_POLICY)
            if allow:
                self.send_header("Allow", "GET, HEAD")
            self.end_headers()
            if body:
                self.wfile.write(answer.body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
            log.debug("HTTP: %s %s", self.address_string(), format % args)

    return Handler
