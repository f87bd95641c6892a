"""Configuration: YAML, environment overrides, secret files, every problem with its key path."""

import pytest

from bridge.config import describe, load_config
from bridge.errors import ConfigError

MINIMAL = "gateways:\n  - host: envoy.local\n    tls: {insecure: true}\n"


def write(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def problems(tmp_path, text, environ=None):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text), environ or {})
    return err.value.problems


def test_minimal_config_gets_documented_defaults(tmp_path):
    config = load_config(write(tmp_path, MINIMAL), {})
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


def test_every_problem_is_listed_with_its_key_path(tmp_path):
    found = problems(
        tmp_path,
        """
gateways:
  - host: https://envoy.local:99999
  - serial: "12"
  - host: envoy2
    tls: {fingerprint: "zz"}
    timeouts: {read: soon}
mqtt: {port: 0, qos: 3, colour: blue}
poll: {meters: 1}
log_level: LOUD
extra: 1
""",
    )
    text = "\n".join(found)
    for expected in (
        "gateways[0].host: invalid port",
        "gateways[1].host: required",
        "gateways[2].tls.fingerprint",
        "gateways[2].read_timeout: must be a number",
        "mqtt.port",
        "mqtt.qos",
        "mqtt.colour: unknown key",
        "poll.meters: at least 5",
        "log_level",
        "extra: unknown key",
    ):
        assert expected in text, f"missing {expected!r} in:\n{text}"


def test_no_gateway_and_no_tls_choice_are_explained(tmp_path):
    assert any("at least one gateway" in p for p in problems(tmp_path, "mqtt: {}\n"))
    found = problems(tmp_path, "gateways:\n  - host: envoy.local\n")
    assert any("fingerprint" in p and "insecure: true" in p for p in found)


def test_host_forms(tmp_path):
    text = (
        "gateways:\n  - host: https://[fe80::1]:8443\n    tls: {insecure: true}\n"
        "  - host: http://10.0.0.5\n  - host: 192.168.1.9:443\n    tls: {fingerprint: '" + "AB:" * 31 + "AB'}\n"
    )
    gws = load_config(write(tmp_path, text), {}).gateways
    assert (gws[0].scheme, gws[0].host, gws[0].port) == ("https", "fe80::1", 8443)
    assert (gws[1].scheme, gws[1].host, gws[1].port) == ("http", "10.0.0.5", None)
    assert gws[2].fingerprint == "ab" * 32


def test_environment_overrides_yaml_and_can_define_the_gateway(tmp_path):
    environ = {
        "ENVOY_BRIDGE_MQTT_HOST": "broker",
        "ENVOY_BRIDGE_MQTT_PORT": "1884",
        "ENVOY_BRIDGE_GATEWAY_SERIAL": "123",
        "ENVOY_BRIDGE_POLL_ENERGY": "120",
        "ENVOY_BRIDGE_HOMEASSISTANT_DISCOVERY": "false",
        "ENVOY_BRIDGE_LOG_LEVEL": "debug",
    }
    config = load_config(write(tmp_path, MINIMAL + "mqtt: {host: yamlhost}\n"), environ)
    assert (config.mqtt.host, config.mqtt.port) == ("broker", 1884)
    assert config.gateways[0].serial == "123" and config.poll.energy == 120
    assert config.homeassistant.discovery is False and config.log_level == "DEBUG"
    only_env = load_config(None, {"ENVOY_BRIDGE_GATEWAYS_0_HOST": "e", "ENVOY_BRIDGE_GATEWAYS_0_INSECURE": "1"})
    assert only_env.gateways[0].host == "e"


def test_secrets_from_files_and_env_files(tmp_path):
    (tmp_path / "pw").write_text("hunter2\n")
    (tmp_path / "mqttpw").write_text("  brokerpw  \n")
    text = MINIMAL + f"    username: me@example.com\n    password_file: {tmp_path / 'pw'}\n"
    config = load_config(write(tmp_path, text), {"ENVOY_BRIDGE_MQTT_PASSWORD_FILE": str(tmp_path / "mqttpw")})
    assert config.gateways[0].password == "hunter2"
    assert config.mqtt.password == "brokerpw"
    missing = problems(tmp_path, MINIMAL + "    username: u\n    password_file: /nonexistent/pw\n")
    assert any("gateways[0].password_file: cannot read" in p for p in missing)


def test_secrets_never_in_repr_or_describe(tmp_path):
    token = "eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiIxIn0.c2ln"
    text = MINIMAL + f"    username: me@example.com\n    password: hunter2\n    token: {token}\n"
    config = load_config(write(tmp_path, text), {"ENVOY_BRIDGE_MQTT_PASSWORD": "brokerpw"})
    for shown in (repr(config), str(describe(config))):
        for secret in ("hunter2", token, "brokerpw", "eyJ"):
            assert secret not in shown
    assert set(config.secrets()) == {"hunter2", token, "brokerpw"}


def test_unsafe_yaml_and_garbage_token_are_rejected(tmp_path):
    assert problems(tmp_path, "!!python/object/apply:os.system ['echo hi']\n")
    assert any("not a JWT" in p for p in problems(tmp_path, MINIMAL + "    token: not-a-token\n"))
    assert any("invalid YAML" in p for p in problems(tmp_path, "gateways: [\n"))


def test_homeassistant_expire_after_is_auto_zero_or_seconds(tmp_path):
    assert load_config(write(tmp_path, MINIMAL), {}).homeassistant.expire_after_s is None  # auto
    for value, seconds in (("0", 0.0), ("900", 900.0), ("auto", None)):
        config = load_config(write(tmp_path, MINIMAL + f"homeassistant: {{expire_after: {value}}}\n"), {})
        assert config.homeassistant.expire_after_s == seconds
    env = {"ENVOY_BRIDGE_HOMEASSISTANT_EXPIRE_AFTER": "120"}
    assert load_config(write(tmp_path, MINIMAL), env).homeassistant.expire_after_s == 120.0
    for bad in ("-5", "soon"):
        found = problems(tmp_path, MINIMAL + f"homeassistant: {{expire_after: {bad}}}\n")
        assert any(p.startswith("homeassistant.expire_after:") for p in found), found
