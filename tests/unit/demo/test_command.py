"""The demo command's pure parts: the --broker address, which hosts are this machine's."""

from __future__ import annotations

import pytest

from bridge.demo.command import _connect_host, is_local, parse_broker


def test_broker_address_parsing():
    assert parse_broker("127.0.0.1:1884") == ("127.0.0.1", 1884)
    assert parse_broker("mosquitto") == ("mosquitto", 1883)
    assert parse_broker("[::1]:1883") == ("::1", 1883)
    with pytest.raises(ValueError, match="--broker must be host:port"):
        parse_broker("host:port")


def test_local_hosts_get_the_embedded_broker_and_wildcards_connect_on_loopback():
    assert all(map(is_local, ["localhost", "127.0.0.2", "0.0.0.0", "::", "::1"]))
    assert not any(map(is_local, ["mosquitto", "192.168.1.10", "fe80::1"]))
    assert [_connect_host(h) for h in ("0.0.0.0", "::", "::1", "localhost")] == [
        "127.0.0.1",
        "127.0.0.1",
        "::1",
        "localhost",
    ]
