"""bridge.gateway.tls against a real loopback HTTPS server: pinning (N1, N2), insecure, fingerprints."""

from __future__ import annotations

import logging
import ssl
import warnings

import pytest
import requests
import urllib3

from bridge.auth.tokens import DAY_S
from bridge.errors import EnvoyUnavailable, TLSPinError
from bridge.gateway.tls import fetch_fingerprint, split_host
from tests.support.loopback import QuietHandler, direct_client, serving
from tests.support.mqtt import free_port
from tests.support.tokens import make_token
from tests.unit.gateway.helpers import info_xml


@pytest.fixture
def tls_envoy(cert):
    stats = {"connections": 0, "requests": []}

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"  # keep-alive

        def setup(self):
            stats["connections"] += 1
            super().setup()

        def do_GET(self):  # noqa: N802 - the name http.server calls
            stats["requests"].append((self.path, self.headers.get("Authorization")))
            self.reply(info_xml(software="R5.0.62", web_tokens=False) if self.path == "/info" else b'{"ok": 1}')

    with serving(Handler, cert[:2]) as port:
        yield port, stats


def real_client(port, **gw):
    return direct_client(port, scheme="https", connect_timeout=5, read_timeout=5, **gw)


def test_n1_pinned_certificate_works_keeps_alive_and_does_not_warn(tls_envoy, cert):
    port, stats = tls_envoy
    client = real_client(port, fingerprint=cert[2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client.fetch_info()
        assert client.get("/api/v1/production") == b'{"ok": 1}'
        assert client.get("/api/v1/production") == b'{"ok": 1}'
    client.close()
    assert [w for w in caught if issubclass(w.category, urllib3.exceptions.InsecureRequestWarning)] == []
    assert stats["connections"] == 1 and len(stats["requests"]) == 3


def test_after_close_the_next_read_opens_a_new_pool_and_connection(tls_envoy, cert):
    port, stats = tls_envoy
    client = real_client(port, fingerprint=cert[2])
    client.fetch_info()
    assert client.get("/api/v1/production") == b'{"ok": 1}'
    client.close()  # the adapter forgets the pools it kept per URL
    assert client.get("/api/v1/production") == b'{"ok": 1}'
    assert stats["connections"] == 2 and len(stats["requests"]) == 3


@pytest.mark.parametrize("options", [{"fingerprint": "pinned"}, {"insecure": True}])
def test_a_connection_that_checks_no_ca_never_loads_the_system_ca_store(tls_envoy, cert, monkeypatch, options):
    loads = []
    monkeypatch.setattr(ssl.SSLContext, "load_default_certs", lambda *args: loads.append(args))
    port, stats = tls_envoy
    client = real_client(port, **{k: cert[2] if v == "pinned" else v for k, v in options.items()})
    client.fetch_info()
    client.close()  # the next read opens a new connection: the context is the adapter's, still
    assert client.get("/api/v1/production") == b'{"ok": 1}'
    assert stats["connections"] == 2 and loads == []


def test_n2_fingerprint_mismatch_is_a_pin_error_before_anything_is_sent(tls_envoy, cert):
    port, stats = tls_envoy
    wrong = "ab" * 32
    client = real_client(port, fingerprint=wrong, token=make_token(100 * DAY_S))
    slept = []
    client.transport.sleep = slept.append
    with pytest.raises(TLSPinError) as err:
        client.get("/ivp/meters/readings")
    assert wrong in str(err.value) and cert[2] in str(err.value)
    assert stats["requests"] == [] and slept == []


def test_insecure_session_warns_once_and_silences_only_its_own_warnings(tls_envoy, caplog):
    port, _ = tls_envoy
    with caplog.at_level(logging.WARNING):
        client = real_client(port, insecure=True)
    assert len(caplog.records) == 1 and "TLS certificate checks are OFF" in caplog.text
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client.fetch_info()
        client.get("/api/v1/production")
        requests.get(f"https://127.0.0.1:{port}/info", verify=False, timeout=5)  # someone else's session
    insecure = [w for w in caught if issubclass(w.category, urllib3.exceptions.InsecureRequestWarning)]
    assert len(insecure) == 1  # only the other session warned


def test_unpinned_self_signed_certificate_fails_closed_with_a_hint(tls_envoy):
    port, _ = tls_envoy
    client = real_client(port)
    with pytest.raises(EnvoyUnavailable, match=r"certificate verification failed.*`fingerprint`.*`insecure: true`"):
        client.fetch_info()


def test_fetch_fingerprint_matches_the_certificate(tls_envoy, cert):
    port, _ = tls_envoy
    assert fetch_fingerprint("127.0.0.1", port, timeout=5) == cert[2]


def test_fetch_fingerprint_unreachable():
    port = free_port()  # bound, then closed: nobody listens there
    with pytest.raises(EnvoyUnavailable, match="connection refused"):
        fetch_fingerprint("127.0.0.1", port, timeout=2)


@pytest.mark.parametrize(
    "text, host, port",
    [
        ("envoy.local", "envoy.local", None),
        ("envoy.local:8443", "envoy.local", 8443),
        ("192.168.1.20", "192.168.1.20", None),
        ("fe80::1", "fe80::1", None),  # a bare IPv6 address: its colons are not a port
        ("[fe80::1]", "fe80::1", None),
        ("[fe80::1]:443", "fe80::1", 443),
    ],
)
def test_split_host_names_ipv4_ipv6_and_ports(text, host, port):
    assert split_host(text) == (host, port)
