"""The hot poll path (bridge/gateway/wire.py) against the simulator over real HTTPS: a repeated
poll goes straight to the urllib3 pool and keeps what the transport promises: the pinned
certificate, retries of a 503, a timeout, a new session when the gateway drops its own."""

from __future__ import annotations

import json

import pytest

from bridge.config import GatewayConfig
from bridge.errors import EnvoyUnavailable, TLSPinError
from bridge.gateway.client import EnvoyClient
from bridge.simulator import Simulator

pytestmark = pytest.mark.integration
READINGS = "/ivp/meters/readings"


@pytest.fixture
def sim():
    with Simulator() as simulator:
        yield simulator


def pinned_client(sim: Simulator, sent: list[str]) -> EnvoyClient:
    """A client with a pasted token and the simulator's certificate pinned; `sent` gets the path
    of every request that goes through the adapter's `send` (the requests path)."""
    gateway = GatewayConfig(
        host=sim.envoy_host, port=sim.envoy_port, fingerprint=sim.fingerprint, token=sim.issue_token(), read_timeout=1
    )
    client = EnvoyClient(gateway, None, None, sleep=lambda s: None)
    adapter = client.transport.session.get_adapter(sim.envoy_url)
    send = adapter.send  # an instance attribute: the adapter's class keeps requests' own `send`
    adapter.send = lambda request, **options: sent.append(request.path_url) or send(request, **options)  # type: ignore[method-assign]
    return client


def test_a_repeated_poll_goes_to_the_pool_and_each_reaches_the_gateway(sim):
    sent: list[str] = []
    client = pinned_client(sim, sent)
    bodies = [json.loads(client.get(READINGS)) for _ in range(5)]
    assert all(isinstance(body, list) and body for body in bodies)
    assert sent.count(READINGS) == 1  # the first contact; the four polls after it went to the pool
    assert sim.request_counts[READINGS] == 5
    assert sim.auth_counts.get("cookie", 0) >= 5  # the session cookie went out on the pool path too
    client.close()


def test_on_the_pool_path_a_503_is_retried_and_a_silent_gateway_times_out(sim):
    sent: list[str] = []
    client = pinned_client(sim, sent)
    client.get(READINGS)
    sim.fail_next(503, path=READINGS)
    assert json.loads(client.get(READINGS))
    assert sim.request_counts[READINGS] == 3  # the 503, then its retry
    client.retry_budget_s = 1e-9  # one attempt
    sim.hang_next(30, path=READINGS)
    with pytest.raises(EnvoyUnavailable, match="timed out"):
        client.get(READINGS)
    assert json.loads(client.get(READINGS))  # a new connection, still on the pool path
    assert sent.count(READINGS) == 1
    client.close()


def test_a_new_session_goes_through_the_adapter_once_then_back_to_the_pool(sim):
    sent: list[str] = []
    client = pinned_client(sim, sent)
    client.get(READINGS)
    sim.revoke_sessions()
    client.get(READINGS)  # refused on the pool path, then a new session and its cookie
    client.get(READINGS)
    assert sent.count(READINGS) == 2  # the new cookie: the adapter once more
    assert sim.request_counts["/auth/check_jwt"] == 2 and sent.count("/auth/check_jwt") == 1  # the same GET again
    client.close()


def test_a_new_certificate_behind_a_kept_pool_is_refused_before_anything_is_sent(sim):
    sent: list[str] = []
    client = pinned_client(sim, sent)
    client.get(READINGS)
    client.get(READINGS)
    sim.use_certificate("impostor")
    sim.stop_envoy()  # its connections close: the next poll makes a new one
    sim.start_envoy()
    with pytest.raises(TLSPinError, match="fingerprint mismatch"):
        client.get(READINGS)
    assert sim.request_counts[READINGS] == 2 and sent.count(READINGS) == 1
    client.close()
