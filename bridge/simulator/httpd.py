"""A small HTTPS server on loopback that hands each request to an app object.

The app's `handle(Request)` returns a `Response`, or None to close the connection without
answering (a hung or crashed gateway). The listener can be stopped and started again on the
same port, so tests see refused connections and then a gateway that comes back.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

log = logging.getLogger(__name__)
HANDSHAKE_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 30.0  # keep-alive connections idle longer than this are closed
MAX_BODY = 1 << 20  # the simulator never needs a bigger request body
POLL_S = 0.05  # serve_forever poll: bounds how long stop() waits


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: Message
    body: bytes
    connection: socket.socket  # for apps that wait on the client (hangs)


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain"
    headers: list[tuple[str, str]] = field(default_factory=list)


class App(Protocol):
    def handle(self, request: Request) -> Response | None: ...


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the gateway's openresty
    server_version = "openresty"
    sys_version = ""
    timeout = IDLE_TIMEOUT_S
    server: _TLSServer  # the only server that runs this handler

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, MAX_BODY)) if length > 0 else b""
        url = urlsplit(self.path)
        request = Request(self.command, url.path or "/", url.query, self.headers, body, self.connection)
        response = self.server.app.handle(request)
        if response is None:
            self.close_connection = True
            return
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _dispatch  # noqa: N815 - the names http.server calls

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # restart on the same port despite TIME_WAIT

    def __init__(self, address: tuple[str, int], app: App, context: Callable[[], ssl.SSLContext]):
        self.app = app
        self.context = context
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup, which can stall for seconds.
        socketserver.TCPServer.server_bind(self)
        host, self.server_port = self.server_address[:2]
        self.server_name = str(host)

    # The stub also allows a UDP server's (bytes, socket) request; a TCP server's is its socket.
    def finish_request(self, request: socket.socket, client_address: tuple[str, int]) -> None:  # type: ignore[override]
        # The TLS handshake runs here, in the connection's thread, so a slow or bogus client
        # cannot block the accept loop.
        request.settimeout(HANDSHAKE_TIMEOUT_S)
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle holds the body
        # until the client's delayed ACK (~40 ms), which no real gateway does.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            conn = self.context().wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as err:
            log.debug("TLS handshake with %s failed: %s", client_address, err)
            request.close()
            return
        with self.lock:
            self.connections.add(conn)
        try:
            _Handler(conn, client_address, self)
        except OSError as err:  # the client went away; nothing to answer
            log.debug("connection %s: %s", client_address, err)
        finally:
            with self.lock:
                self.connections.discard(conn)
            conn.close()

    def drop_connections(self) -> None:
        with self.lock:
            conns = list(self.connections)
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: object, client_address: object) -> None:
        # socketserver calls this inside its except block, so the traceback is there to log.
        log.debug("error serving %s", client_address, exc_info=True)  # noqa: LOG014


class Listener:
    """One HTTPS listener; `stop()` refuses connections until `start()` binds the same port."""

    def __init__(
        self,
        app: App,
        context: Callable[[], ssl.SSLContext],
        host: str = "127.0.0.1",
        port: int = 0,
        closing: threading.Event | None = None,
    ):
        self.app, self.context, self.host, self.port = app, context, host, port
        # Set while stopped: wakes the app's delays and hangs so stop() does not wait on them.
        self.closing = closing or threading.Event()
        self._server: _TLSServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        if self._server is not None:
            return
        self.closing.clear()
        server = _TLSServer((self.host, self.port), self.app, self.context)  # OSError if taken
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(POLL_S,), name=f"sim-https-{self.port}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        thread, self._thread = self._thread, None
        if server is None or thread is None:
            return
        self.closing.set()
        server.shutdown()
        server.server_close()
        server.drop_connections()
        thread.join(timeout=5)


def wait_or_gone(conn: socket.socket, seconds: float, closing: threading.Event) -> None:
    """Wait up to `seconds`, returning early when the client hangs up or the server stops.

    Only for connections that will be dropped afterwards: it may consume a byte of input.
    """
    deadline = time.monotonic() + seconds
    while not closing.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        try:
            readable, _, _ = select.select([conn], [], [], min(POLL_S, remaining))
            if readable and not conn.recv(1):
                return  # EOF: nobody is waiting for the answer any more
        except (OSError, ValueError):
            return
