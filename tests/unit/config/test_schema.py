"""The dataclasses: defaults, derived values, and which secrets the redaction filter gets."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from bridge.config import CloudApiConfig, Config, GatewayConfig, HomeAssistantConfig, MqttConfig, PollIntervals
from bridge.config.schema import SECTIONS, TOP_KEYS, defaults, field_names, secret_file_keys


def test_a_gateway_is_named_by_its_serial_else_its_host():
    assert GatewayConfig(host="envoy.local").label == "envoy.local"
    assert GatewayConfig(host="envoy.local", serial="1234").label == "1234"
    assert GatewayConfig(host="envoy.local", port=8443).label == "envoy.local:8443"  # two on one host
    assert GatewayConfig(host="fe80::1", port=8443).label == "[fe80::1]:8443"
    assert GatewayConfig(host="envoy.local", port=8443, serial="1234").label == "1234"


def test_expire_after_seconds():
    assert HomeAssistantConfig().expire_after_s is None
    assert HomeAssistantConfig(expire_after="0").expire_after_s == 0.0
    assert HomeAssistantConfig(expire_after="90").expire_after_s == 90.0


def test_secrets_lists_every_set_secret_and_no_empty_one():
    config = Config(
        gateways=(
            GatewayConfig(host="a", password="pw-a", token=""),
            GatewayConfig(host="b", token="t.o.k"),
        ),
        mqtt=MqttConfig(password="broker"),
    )
    assert config.secrets() == ["broker", "pw-a", "t.o.k"]
    assert Config(gateways=()).secrets() == []


def test_secrets_stay_out_of_repr():
    shown = repr(GatewayConfig(host="a", password="pw-a", token="t.o.k")) + repr(MqttConfig(password="broker"))
    assert "pw-a" not in shown and "t.o.k" not in shown and "broker" not in shown


def test_health_file_lives_in_the_cache_dir(tmp_path):
    assert Config(gateways=(), cache_dir=tmp_path).health_file == tmp_path / "health"
    assert Config(gateways=()).cache_dir == Path("~/.local/state/envoy-mqtt-bridge").expanduser()


def test_configs_are_frozen():
    with pytest.raises(FrozenInstanceError):
        PollIntervals().meters = 1  # type: ignore[misc]


def test_key_tables():
    assert TOP_KEYS == (
        "gateways",
        "log_level",
        "cache_dir",
        "mqtt",
        "homeassistant",
        "cloud",
        "poll",
        "health",
        "energy",
        "controls",
        "cloud_api",
        "http",
    )
    assert set(SECTIONS) == {
        "mqtt",
        "homeassistant",
        "cloud",
        "poll",
        "health",
        "energy",
        "controls",
        "cloud_api",
        "http",
    }
    assert field_names(PollIntervals) == ["meters", "grid", "energy", "inverters", "batteries", "info", "live"]
    assert defaults(PollIntervals)["grid"] == 1.0
    assert secret_file_keys(MqttConfig) == ["password_file"]
    assert secret_file_keys(GatewayConfig) == ["password_file", "token_file"]
    assert secret_file_keys(PollIntervals) == []
    assert secret_file_keys(CloudApiConfig) == [
        "api_key_file",
        "client_id_file",
        "client_secret_file",
        "password_file",
    ]
