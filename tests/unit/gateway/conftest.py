"""Fixtures of the gateway tests: a fake clock, a self-signed certificate (`rsps` is in tests/unit)."""

from __future__ import annotations

import pytest

from bridge.simulator import IMPOSTOR_CERT, IMPOSTOR_KEY
from bridge.simulator.tls import fingerprint
from tests.support.clock import FakeClock
from tests.support.tokens import NOW


@pytest.fixture
def fake():
    return FakeClock(NOW)


@pytest.fixture
def cert():
    """A self-signed certificate for 127.0.0.1, as a gateway has: (certificate, key, sha256)."""
    return IMPOSTOR_CERT, IMPOSTOR_KEY, fingerprint(IMPOSTOR_CERT)
