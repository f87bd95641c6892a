"""Which address family the embedded broker listens with; resolved only, nothing is bound."""

from __future__ import annotations

import socket

import pytest

from bridge.demo.broker.server import address_family


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "0.0.0.0", ""])
def test_hosts_with_an_ipv4_address_stay_ipv4(host):
    assert address_family(host, 1883) == (socket.AF_INET, False)


def test_ipv6_loopback_listens_on_ipv6_only():
    assert address_family("::1", 1883) == (socket.AF_INET6, False)


def test_the_ipv6_wildcard_takes_ipv4_too():
    """The demo's bridge connects to 127.0.0.1 when told `::`."""
    assert address_family("::", 1883) == (socket.AF_INET6, socket.has_dualstack_ipv6())
