"""bridge.capture.endpoints: every endpoint the project knows, once, the proof read first, no write."""

from __future__ import annotations

from bridge.capture.endpoints import NOT_POLLED, capture_endpoints
from bridge.gateway.client import PROOF_READ
from bridge.model import CANDIDATE_ENDPOINTS


def test_info_then_the_proof_read_then_the_registry_and_the_other_reads_once_each():
    endpoints = capture_endpoints(603980032)
    assert endpoints[:2] == ("/info", PROOF_READ)
    assert len(endpoints) == len(set(endpoints))
    assert set(CANDIDATE_ENDPOINTS) | set(NOT_POLLED) <= set(endpoints)
    assert endpoints[-1] == "/ivp/mod/603980032/mode/power"
    assert capture_endpoints(1234)[-1] == "/ivp/mod/1234/mode/power"


def test_never_a_stream_an_auth_path_or_a_write_only_path():
    endpoints = capture_endpoints(603980032)
    assert not [e for e in endpoints if e.startswith(("/stream", "/auth", "/ivp/livedata/stream"))]
