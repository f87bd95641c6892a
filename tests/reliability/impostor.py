"""An impostor where a gateway should be: plain http on a loopback port where https gets a
reset, as when port 443 does not answer and port 80 does (one port, so no root is needed).

It serves the simulator's capture as an old, digest-era gateway with another serial, and counts
what reached it: TLS handshakes reset, plain http requests answered.
"""

from __future__ import annotations

import http.server
import re
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from bridge.simulator import DEFAULT_CAPTURE, CaptureSource
from tests.support.loopback import QuietHandler

IMPOSTOR_SERIAL = "666666666666"
TLS_HANDSHAKE = 0x16  # the first byte of every TLS ClientHello


class _ImpostorHandler(QuietHandler):
    """Serves the simulator's capture as an old, digest-era gateway with another serial."""

    protocol_version = "HTTP/1.1"
    server: _ImpostorServer

    def do_GET(self):  # noqa: N802 - the name http.server calls
        self.server.plain_requests.append(self.path)
        path, _, query = self.path.partition("?")
        status, content_type, body = CaptureSource(DEFAULT_CAPTURE).answer(path, query)
        if path == "/info":
            body = re.sub(rb"<sn>[^<]*</sn>", f"<sn>{IMPOSTOR_SERIAL}</sn>".encode(), body)
            body = re.sub(rb"<software>[^<]*</software>", b"<software>R5.0.62</software>", body)
            body = body.replace(b"<web-tokens>true</web-tokens>", b"<web-tokens>false</web-tokens>")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _ImpostorServer(http.server.ThreadingHTTPServer):
    """Plain http on one port, where https gets a reset: "443 does not answer, 80 does"."""

    daemon_threads = True
    allow_reuse_address = True  # it may take over the port a stopped simulator left

    def __init__(self, port: int):
        self.plain_requests: list[str] = []
        self.tls_refused = 0
        super().__init__(("127.0.0.1", port), _ImpostorHandler)

    def get_request(self):
        conn, address = super().get_request()
        conn.settimeout(5)
        try:
            first = conn.recv(1, socket.MSG_PEEK)
        except OSError:
            first = b""
        if first[:1] == bytes([TLS_HANDSHAKE]):
            self.tls_refused += 1
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, not FIN
            conn.close()
            raise OSError("TLS refused")  # socketserver drops this connection and goes on
        conn.settimeout(None)
        return conn, address


@contextmanager
def impostor(port: int = 0) -> Iterator[_ImpostorServer]:
    server = _ImpostorServer(port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
