"""`http.listen`: off by default, host:port when set, from YAML or the environment."""

from __future__ import annotations

import pytest

from bridge.config import load_config
from bridge.config.describe import describe
from bridge.config.validate_http import is_loopback, split_listen
from bridge.errors import ConfigError

GATEWAY = "gateways:\n  - host: 192.168.1.20\n    tls: {insecure: true}\n"


@pytest.mark.parametrize(
    "listen, expected",
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        (" localhost:80 ", ("localhost", 80)),
        ("0.0.0.0:9100", ("0.0.0.0", 9100)),
        ("[::1]:8080", ("::1", 8080)),
        ("bridge.lan:65535", ("bridge.lan", 65535)),
    ],
)
def test_host_and_port(listen, expected):
    assert split_listen(listen) == expected


@pytest.mark.parametrize(
    "listen",
    [
        "8080",
        ":8080",
        "127.0.0.1",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:http",
        "::1:8080",
        "[x]:80",
        "a b:80",
        "user@host:80",
    ],
)
def test_anything_else_is_refused(listen):
    with pytest.raises(ValueError, match=r"host:port|brackets|not a host|IPv6"):
        split_listen(listen)


def test_off_by_default_and_set_from_yaml_or_the_environment(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(GATEWAY)
    assert load_config(path, {}).http.enabled is False
    path.write_text(GATEWAY + "http:\n  listen: 127.0.0.1:8080\n")
    config = load_config(path, {})
    assert config.http.enabled and config.http.listen == "127.0.0.1:8080"
    assert describe(config)["http"] == {"listen": "127.0.0.1:8080"}
    assert load_config(path, {"ENVOY_BRIDGE_HTTP_LISTEN": "[::1]:9000"}).http.listen == "[::1]:9000"


def test_a_bad_address_is_a_configuration_error_with_its_key(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(GATEWAY + "http:\n  listen: 8080\n  port: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert caught.value.problems == [
        "http.port: unknown key",
        "http.listen: expected host:port with a port from 1 to 65535, e.g. 127.0.0.1:8080",
    ]


def test_loopback():
    assert is_loopback("localhost") and is_loopback("127.0.0.2") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("bridge.lan") and not is_loopback("192.168.1.2")
