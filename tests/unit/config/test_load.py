"""Loading: the YAML file, the environment over it, every problem reported at once."""

from __future__ import annotations

import pytest

from bridge.config import load_config
from bridge.errors import ConfigError
from tests.unit.config.conftest import MINIMAL


def test_every_problem_is_listed_with_its_key_path(problems):
    found = problems(
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


def test_environment_overrides_yaml_and_can_define_the_gateway(load):
    environ = {
        "ENVOY_BRIDGE_MQTT_HOST": "broker",
        "ENVOY_BRIDGE_MQTT_PORT": "1884",
        "ENVOY_BRIDGE_GATEWAY_SERIAL": "123",
        "ENVOY_BRIDGE_POLL_ENERGY": "120",
        "ENVOY_BRIDGE_HOMEASSISTANT_DISCOVERY": "false",
        "ENVOY_BRIDGE_LOG_LEVEL": "debug",
    }
    config = load(MINIMAL + "mqtt: {host: yamlhost}\n", environ)
    assert (config.mqtt.host, config.mqtt.port) == ("broker", 1884)
    assert config.gateways[0].serial == "123" and config.poll.energy == 120
    assert config.homeassistant.discovery is False and config.log_level == "DEBUG"
    only_env = load_config(None, {"ENVOY_BRIDGE_GATEWAYS_0_HOST": "e", "ENVOY_BRIDGE_GATEWAYS_0_INSECURE": "1"})
    assert only_env.gateways[0].host == "e"


def test_numbered_gateway_variables_add_gateways_and_overrule_the_first_ones(load, tmp_path):
    environ = {
        "ENVOY_BRIDGE_GATEWAYS_0_READ_TIMEOUT": "20",
        "ENVOY_BRIDGE_GATEWAY_READ_TIMEOUT": "30",  # the first gateway's alias, read after GATEWAYS_0
        "ENVOY_BRIDGE_GATEWAYS_1_HOST": "second.local",
        "ENVOY_BRIDGE_GATEWAYS_1_INSECURE": "yes",
        "ENVOY_BRIDGE_CACHE_DIR": str(tmp_path / "state"),
    }
    config = load(MINIMAL, environ)
    assert [gw.host for gw in config.gateways] == ["envoy.local", "second.local"]
    assert config.gateways[0].read_timeout == 30.0 and config.gateways[1].insecure is True
    assert config.cache_dir == tmp_path / "state"


def test_a_variable_for_a_gateway_beyond_the_next_one_is_not_read(load):
    config = load(MINIMAL, {"ENVOY_BRIDGE_GATEWAYS_5_HOST": "far.local"})
    assert [gw.host for gw in config.gateways] == ["envoy.local"]


def test_environment_replaces_a_section_that_is_not_a_mapping(load):
    assert load(MINIMAL + "mqtt: 5\n", {"ENVOY_BRIDGE_MQTT_PORT": "1999"}).mqtt.port == 1999


def test_environment_leaves_a_gateways_value_that_is_not_a_list_to_validation(problems):
    found = problems("gateways: envoy.local\n", {"ENVOY_BRIDGE_GATEWAY_HOST": "e"})
    assert found == ["gateways: must be a list of gateways"]


def test_only_sections_with_a_secret_read_a_secret_file_variable(load, tmp_path):
    (tmp_path / "pw").write_text("brokerpw\n")
    environ = {"ENVOY_BRIDGE_MQTT_PASSWORD_FILE": str(tmp_path / "pw"), "ENVOY_BRIDGE_POLL_PASSWORD_FILE": "/x"}
    assert load(MINIMAL, environ).mqtt.password == "brokerpw"


def test_an_empty_file_is_an_empty_configuration(problems):
    assert any("at least one gateway" in p for p in problems(""))


def test_unreadable_and_unusable_files_are_reported_with_their_path(tmp_path, problems):
    missing = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError) as err:
        load_config(missing, {})
    assert f"{missing}: cannot read (No such file or directory)" in err.value.problems
    assert any(p.endswith("the top level must be a mapping of sections") for p in problems("- a\n- b\n"))
    assert any(p.endswith(": line 1 invalid YAML (mapping values are not allowed here)") for p in problems("a: b: c\n"))


def test_unsafe_yaml_is_rejected(problems):
    found = problems("!!python/object/apply:os.system ['echo hi']\n")
    assert any("invalid YAML" in p for p in found), found
    assert any("invalid YAML" in p for p in problems("gateways: [\n"))
