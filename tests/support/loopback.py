"""Real sockets on loopback: which loopback addresses this machine has (some containers have no
IPv6 at all, and the tests that need ::1 skip there rather than fail), HTTP(S) servers that a
test scripts with its own request handler, and a gateway client pointed at one of them."""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bridge.config import GatewayConfig
from bridge.gateway.client import EnvoyClient


def ipv6_loopback() -> bool:
    """Whether a socket can be bound to ::1."""
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that answers a whole body in one call and logs nothing: a line per
    request on stderr would say nothing that the test does not assert."""

    def reply(self, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def trickle(self, length: int = 1000, every_s: float = 0.02) -> None:
        """A body of `length` bytes, one every `every_s`: each read is quick, the whole answer
        is not (until the client hangs up)."""
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        try:
            for _ in range(length):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(every_s)
        except OSError:
            pass

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler], tls: tuple[str, str] | None = None) -> Iterator[int]:
    """`handler` served on 127.0.0.1 from a thread, behind TLS when `tls` (certificate file, key
    file) is given; yields the port, and shuts the server down on exit."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def direct_client(port: int, **gateway: Any) -> EnvoyClient:
    """A client of the gateway at 127.0.0.1:`port` (`gateway`: more GatewayConfig settings) with
    no cloud, no token store and no pause between its attempts: the transport alone."""
    return EnvoyClient(GatewayConfig(host="127.0.0.1", port=port, **gateway), None, None, sleep=lambda s: None)
