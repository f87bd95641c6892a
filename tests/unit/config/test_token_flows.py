"""`cloud.token_flows`: an ordered list of known flows, from YAML or the environment, shown by check-config."""

from __future__ import annotations

import pytest
import yaml

from bridge.config import describe
from bridge.config.schema import TOKEN_FLOWS
from tests.unit.config.conftest import MINIMAL

VALID = "(valid: entrez_json, enlighten_get, entrez_form)"


def test_the_default_is_every_flow_in_the_documented_order(load):
    assert load(MINIMAL).cloud.token_flows == TOKEN_FLOWS == ("entrez_json", "enlighten_get", "entrez_form")


def test_a_yaml_list_sets_the_order(load):
    config = load(MINIMAL + "cloud:\n  token_flows: [entrez_form, entrez_json]\n")
    assert config.cloud.token_flows == ("entrez_form", "entrez_json")


def test_the_environment_gives_a_comma_separated_list_and_wins(load):
    config = load(
        MINIMAL + "cloud: {token_flows: [entrez_json]}\n",
        {"ENVOY_BRIDGE_CLOUD_TOKEN_FLOWS": " enlighten_get, entrez_json "},
    )
    assert config.cloud.token_flows == ("enlighten_get", "entrez_json")


@pytest.mark.parametrize(
    "value, problem",
    [
        ("[]", f"cloud.token_flows: at least one token flow is needed {VALID}"),
        ("''", f"cloud.token_flows: at least one token flow is needed {VALID}"),
        ("[entrez_json, carrier_pigeon]", f"cloud.token_flows: unknown flow 'carrier_pigeon' {VALID}"),
        ("[a, b]", f"cloud.token_flows: unknown flows 'a', 'b' {VALID}"),
        ("[entrez_json, entrez_form, entrez_json]", "cloud.token_flows: entrez_json listed more than once"),
        ("[1, 2]", "cloud.token_flows: must be a list of names (or one comma-separated string), got [1, 2]"),
        (
            "{entrez_json: 1}",
            "cloud.token_flows: must be a list of names (or one comma-separated string), got {'entrez_json': 1}",
        ),
    ],
)
def test_bad_lists_are_configuration_errors_with_the_key_path(problems, value, problem):
    assert problems(MINIMAL + f"cloud:\n  token_flows: {value}\n") == [problem]


def test_a_bad_list_from_the_environment_is_reported_too(problems):
    found = problems(MINIMAL, {"ENVOY_BRIDGE_CLOUD_TOKEN_FLOWS": "entrez_json,,nope"})
    assert found == [f"cloud.token_flows: unknown flow 'nope' {VALID}"]


def test_check_config_shows_the_list(load):
    shown = yaml.safe_load(yaml.safe_dump(describe(load(MINIMAL + "cloud: {token_flows: [entrez_form]}\n"))))
    assert shown["cloud"]["token_flows"] == ["entrez_form"]
