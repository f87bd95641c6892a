"""Certificates of the simulator: PUBLIC TEST MATERIAL, not secrets.

`ca.pem` is a tiny CA whose key was thrown away after signing `server.pem` (127.0.0.1,
localhost, ::1; valid 2000-2126). `server-key.pem` and `impostor-key.pem` are published on
purpose so that tests, the demo and benchmarks can run HTTPS on loopback with full
verification. Never use them to protect anything real. `impostor.pem` is an unrelated
self-signed certificate for the same names, for certificate-pinning tests.
Regenerate all of them with `sh bridge/simulator/make_certs.sh`.
"""

from __future__ import annotations

import hashlib
import ssl
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
CA_FILE = str(HERE / "ca.pem")
SERVER_CERT = str(HERE / "server.pem")
SERVER_KEY = str(HERE / "server-key.pem")
IMPOSTOR_CERT = str(HERE / "impostor.pem")
IMPOSTOR_KEY = str(HERE / "impostor-key.pem")

# Named certificate pairs the simulator can serve (switchable at run time).
CERTIFICATES = {"server": (SERVER_CERT, SERVER_KEY), "impostor": (IMPOSTOR_CERT, IMPOSTOR_KEY)}


def server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A server-side TLS context; TLS 1.2+ like current gateway firmware."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


def fingerprint(cert_file: str) -> str:
    """sha256 of the certificate's DER bytes: lower-case hex without colons."""
    pem = Path(cert_file).read_text(encoding="ascii")
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


class ServedCertificates:
    """Which named pair the Envoy serves, switchable at run time; each context is built once."""

    def __init__(self) -> None:
        self.current = "server"
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def use(self, name: str) -> None:
        if name not in CERTIFICATES:
            raise ValueError(f"certificate must be one of {', '.join(CERTIFICATES)}")
        self.current = name

    def context(self, name: str | None = None) -> ssl.SSLContext:
        """The context of pair `name`, by default the one in use now."""
        name = name or self.current
        with self._lock:
            if name not in self._contexts:
                self._contexts[name] = server_context(*CERTIFICATES[name])
            return self._contexts[name]

    @property
    def fingerprint(self) -> str:
        return fingerprint(CERTIFICATES[self.current][0])
