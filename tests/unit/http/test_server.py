"""The HTTP endpoint on a real loopback socket: routes, methods, headers, errors, stop."""

from __future__ import annotations

import http.client
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from bridge.http.history import History
from bridge.http.server import HttpEndpoint
from tests.support.mqtt import free_port
from tests.unit.http.test_page import HEALTHY, health


class Verdict:
    def __init__(self) -> None:
        self.value: dict[str, Any] = HEALTHY

    def __call__(self) -> dict[str, Any]:
        return self.value


@pytest.fixture
def served() -> Iterator[tuple[HttpEndpoint, Verdict]]:
    verdict = Verdict()
    endpoint = HttpEndpoint(f"127.0.0.1:{free_port()}", health, verdict, History(), "site-a", ("s3cret",))
    endpoint.start()
    yield endpoint, verdict
    endpoint.stop()


def request(endpoint: HttpEndpoint, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=5)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_healthz_is_the_verdict_200_or_503(served):
    endpoint, verdict = served
    assert request(endpoint, "/healthz")[::2] == (200, b"healthy: 1 of 1 gateway(s) online, last publish 3 s ago\n")
    verdict.value = {"healthy": False, "summary": "the MQTT network thread has died"}
    assert request(endpoint, "/healthz?x=1")[::2] == (503, b"unhealthy: the MQTT network thread has died\n")


def test_the_page_and_the_metrics_with_their_headers(served):
    endpoint, _ = served
    status, headers, body = request(endpoint, "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in headers["Content-Security-Policy"] and headers["Cache-Control"] == "no-store"
    assert headers["Server"] == "envoy-mqtt-bridge" and b"Gateway 999000000003" in body
    status, headers, body = request(endpoint, "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"envoy_bridge_uptime_seconds 3700.0" in body


def test_head_unknown_paths_and_other_methods(served):
    endpoint, _ = served
    status, headers, body = request(endpoint, "/", "HEAD")
    assert status == 200 and int(headers["Content-Length"]) > 1000 and body == b""
    assert request(endpoint, "/admin")[0] == 404
    assert request(endpoint, "/../etc/passwd")[0] == 404
    status, headers, _ = request(endpoint, "/healthz", "POST")
    assert status == 405 and headers["Allow"] == "GET, HEAD"


def test_a_failure_while_answering_is_a_500_and_one_log_line(caplog):
    def broken() -> dict[str, Any]:
        raise KeyError("gateways")

    endpoint = HttpEndpoint(f"127.0.0.1:{free_port()}", broken, lambda: HEALTHY, History(), "site-a")
    endpoint.start()
    try:
        with caplog.at_level(logging.ERROR, logger="bridge"):
            assert request(endpoint, "/metrics")[0] == 500
        assert request(endpoint, "/healthz")[0] == 200  # the rest still answers
    finally:
        endpoint.stop()
    assert [r.getMessage() for r in caplog.records] == ["HTTP: unexpected error answering /metrics"]


def test_stop_frees_the_address_and_a_taken_address_is_an_os_error():
    port = free_port()
    endpoint = HttpEndpoint(f"127.0.0.1:{port}", health, lambda: HEALTHY, History(), "site-a")
    endpoint.start()
    with pytest.raises(OSError, match="in use"):
        HttpEndpoint(f"127.0.0.1:{port}", health, lambda: HEALTHY, History(), "site-a").start()
    endpoint.stop()
    with socket.create_server(("127.0.0.1", port)):  # free again
        pass
    endpoint.stop()  # twice: nothing happens


def test_ipv6_loopback():
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    endpoint = HttpEndpoint(f"[::1]:{free_port()}", health, lambda: HEALTHY, History(), "site-a")
    try:
        endpoint.start()
    except OSError as err:
        pytest.skip(f"::1 cannot be bound here: {err}")
    try:
        connection = http.client.HTTPConnection("::1", endpoint.port, timeout=5)
        connection.request("GET", "/healthz")
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        endpoint.stop()
