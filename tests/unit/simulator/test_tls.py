"""The simulator's certificates: which pair the Envoy serves, and its fingerprint."""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

import pytest

from bridge.simulator import tls


def der_sha256(cert_file: str) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(Path(cert_file).read_text())).hexdigest()


def test_fingerprint_is_the_sha256_of_the_certificate():
    assert tls.fingerprint(tls.SERVER_CERT) == der_sha256(tls.SERVER_CERT)
    assert len(tls.fingerprint(tls.SERVER_CERT)) == 64 and tls.fingerprint(tls.SERVER_CERT).islower()


def test_served_certificates_switch_at_run_time():
    served = tls.ServedCertificates()
    assert served.current == "server" and served.fingerprint == der_sha256(tls.SERVER_CERT)
    server_context = served.context()
    assert served.context() is server_context  # built once, reused by every connection
    served.use("impostor")
    assert served.fingerprint == der_sha256(tls.IMPOSTOR_CERT) != der_sha256(tls.SERVER_CERT)
    assert served.context() is not server_context and served.context("server") is server_context
    with pytest.raises(ValueError, match="server, impostor"):
        served.use("letsencrypt")
    assert served.current == "impostor"


def test_contexts_speak_tls_1_2_or_newer():
    context = tls.server_context(tls.SERVER_CERT, tls.SERVER_KEY)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
