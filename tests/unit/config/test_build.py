"""Building a Config from the raw mapping: defaults, sub-blocks, secret files, derived paths."""

from __future__ import annotations

import re
import socket
from pathlib import Path

from bridge.config import Config
from bridge.config.build import build
from bridge.identifiers import instance_from_host
from tests.unit.config.conftest import MINIMAL


def test_minimal_config_gets_documented_defaults(load):
    config = load(MINIMAL)
    gw = config.gateways[0]
    assert (gw.host, gw.scheme, gw.port, gw.insecure) == ("envoy.local", None, None, True)
    assert (gw.connect_timeout, gw.read_timeout) == (10.0, 45.0)
    assert gw.token_cache.name == "token-envoy.local.jwt"
    assert config.mqtt.base_topic == "envoy" and config.mqtt.qos == 1
    assert config.mqtt.client_id.startswith("envoy-mqtt-bridge-")
    assert config.homeassistant.prefix == "homeassistant"
    assert (
        config.poll.meters,
        config.poll.grid,
        config.poll.energy,
        config.poll.inverters,
        config.poll.batteries,
        config.poll.info,
    ) == (10, 1, 60, 300, 60, 3600)


def test_default_client_id_is_the_instance_id_and_a_random_suffix(load):
    one, two = load(MINIMAL).mqtt.client_id, load(MINIMAL).mqtt.client_id
    instance = instance_from_host(socket.gethostname())[:20]
    assert re.fullmatch(rf"envoy-mqtt-bridge-{re.escape(instance)}-[0-9a-f]{{6}}", one), one
    assert one != two
    assert re.fullmatch(
        r"envoy-mqtt-bridge-site-a-[0-9a-f]{6}", load(MINIMAL + "mqtt: {instance_id: site-a}\n").mqtt.client_id
    )
    assert load(MINIMAL + "mqtt: {client_id: mine}\n").mqtt.client_id == "mine"


def test_cache_dir_follows_xdg_state_home_unless_configured(load, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert load(MINIMAL).cache_dir == tmp_path / "xdg" / "envoy-mqtt-bridge"
    config = load(MINIMAL + f"cache_dir: {tmp_path / 'mine'}\n")
    assert config.cache_dir == tmp_path / "mine"
    assert config.gateways[0].token_cache == tmp_path / "mine" / "token-envoy.local.jwt"


def test_token_cache_is_named_after_the_serial_or_a_safe_form_of_the_host(load, tmp_path):
    text = (
        f"cache_dir: {tmp_path}\ngateways:\n"
        "  - {host: 'https://[fe80::1]', tls: {insecure: true}}\n"
        "  - {host: envoy.local, serial: '1234', tls: {insecure: true}}\n"
        "  - {host: other.local, token_cache: /var/tmp/t.jwt, tls: {insecure: true}}\n"
    )
    caches = [gw.token_cache for gw in load(text).gateways]
    assert caches[0] == tmp_path / "token-fe80__1.jwt"
    assert caches[1] == tmp_path / "token-1234.jwt"
    assert str(caches[2]) == "/var/tmp/t.jwt"


def test_the_energy_state_file_is_named_like_the_token_cache_unless_configured(load, tmp_path):
    text = (
        f"cache_dir: {tmp_path}\ngateways:\n"
        "  - {host: envoy.local, tls: {insecure: true}}\n"
        "  - {host: '192.168.1.5:8443', tls: {insecure: true}}\n"
        "  - {host: other.local, serial: '1234', tls: {insecure: true}}\n"
        "  - {host: third.local, energy_state: ~/counters.json, tls: {insecure: true}}\n"
    )
    paths = [gw.energy_state for gw in load(text).gateways]
    assert paths[:3] == [
        tmp_path / "energy-envoy.local.json",
        tmp_path / "energy-192.168.1.5_8443.json",
        tmp_path / "energy-1234.json",
    ]
    assert paths[3] == Path("~/counters.json").expanduser()
    assert load(MINIMAL, {"ENVOY_BRIDGE_GATEWAY_ENERGY_STATE": "/data/e.json"}).gateways[0].energy_state == Path(
        "/data/e.json"
    )


def test_h11_10_two_gateways_on_one_host_get_their_own_cache_and_label(load, tmp_path):
    text = (
        f"cache_dir: {tmp_path}\ngateways:\n"
        "  - {host: 'https://192.168.1.5:8443', tls: {insecure: true}}\n"
        "  - {host: '192.168.1.5:9443', tls: {insecure: true}}\n"
        "  - {host: 'https://[fe80::1]:8443', tls: {insecure: true}}\n"
        "  - {host: '192.168.1.5:7443', serial: '1234', tls: {insecure: true}}\n"
    )
    first, second, v6, named = load(text).gateways
    assert (first.token_cache, first.token_cache_previous) == (
        tmp_path / "token-192.168.1.5_8443.jwt",
        tmp_path / "token-192.168.1.5.jwt",  # the name before: read once after the upgrade
    )
    assert second.token_cache == tmp_path / "token-192.168.1.5_9443.jwt"
    assert v6.token_cache == tmp_path / "token-fe80__1_8443.jwt"
    assert (named.token_cache, named.token_cache_previous) == (tmp_path / "token-1234.jwt", None)
    assert [gw.label for gw in (first, second, v6, named)] == [
        "192.168.1.5:8443",
        "192.168.1.5:9443",
        "[fe80::1]:8443",
        "1234",
    ]


def test_health_max_silence_is_automatic_unless_set(load):
    assert load(MINIMAL).max_silence_s == 900.0  # 3 x the inverters' 300 s
    assert load(MINIMAL + "poll: {inverters: 600}\n").max_silence_s == 1800.0
    assert load(MINIMAL + "health: {max_silence: 120}\n").max_silence_s == 120.0
    assert load(MINIMAL, {"ENVOY_BRIDGE_HEALTH_MAX_SILENCE": "60"}).max_silence_s == 60.0


def test_tls_and_timeouts_blocks_flatten_and_their_unknown_keys_are_named(load, problems):
    gw = load("gateways:\n  - host: e\n    tls: {insecure: true}\n    timeouts: {connect: 3, read: 20}\n").gateways[0]
    assert (gw.insecure, gw.connect_timeout, gw.read_timeout) == (True, 3.0, 20.0)
    found = problems("gateways:\n  - host: e\n    tls: {insecure: true, pin: x}\n    timeouts: {write: 1}\n")
    assert found == ["gateways[0].tls.pin: unknown key", "gateways[0].timeouts.write: unknown key"]
    assert problems("gateways:\n  - host: e\n    tls: yes\n")[0] == "gateways[0].tls: must be a mapping"


def test_secrets_from_files_and_env_files(load, problems, tmp_path):
    (tmp_path / "pw").write_text("hunter2\n")
    (tmp_path / "mqttpw").write_text("  brokerpw  \n")
    text = MINIMAL + f"    username: me@example.com\n    password_file: {tmp_path / 'pw'}\n"
    config = load(text, {"ENVOY_BRIDGE_MQTT_PASSWORD_FILE": str(tmp_path / "mqttpw")})
    assert config.gateways[0].password == "hunter2"
    assert config.mqtt.password == "brokerpw"
    missing = problems(MINIMAL + "    username: u\n    password_file: /nonexistent/pw\n")
    assert "gateways[0].password_file: /nonexistent/pw: cannot read (No such file or directory)" in missing


def test_bad_shapes_are_each_reported_once(problems):
    found = problems("gateways: [1, {port: 1}]\nmqtt: [1]\n")
    assert found == [
        "mqtt: must be a mapping",
        "gateways[0]: must be a mapping with at least `host`",
        "gateways[1].port: unknown key",
        "gateways[1].host: required (a name or address, optionally https://host:port)",
        (
            "gateways[1].tls: the gateway's certificate is self-signed, so say how to trust it: "
            "`fingerprint: <sha256>` (print it with `envoy-mqtt-bridge fingerprint HOST`) "
            "or `insecure: true` to skip the check"
        ),
    ]


def test_build_with_problems_returns_an_empty_placeholder():
    problems: list[str] = []
    config = build({"log_level": "LOUD", "gateways": [{"host": "e", "insecure": True}]}, problems)
    assert problems == ["log_level: must be one of DEBUG, INFO, WARNING, ERROR"]
    assert config == Config(gateways=())
