"""Coercion and checks: what a value may be, and the words that say why it may not."""

from __future__ import annotations

import pytest

from bridge.config import (
    CloudApiConfig,
    CloudConfig,
    ControlsConfig,
    EnergyConfig,
    HomeAssistantConfig,
    HttpConfig,
    MqttConfig,
    PollIntervals,
)
from bridge.config.validate import INVALID, check_gateway, check_sections, coerce, parse_host
from tests.unit.config.conftest import MINIMAL


def coerced(value, default):
    """(result, problems) of coercing `value` to the type of `default` at key path `k`."""
    problems: list[str] = []
    return coerce("k", value, default, problems), problems


@pytest.mark.parametrize("text", ["true", " Yes", "ON", "1"])
def test_true_words(text):
    assert coerced(text, False) == (True, [])


@pytest.mark.parametrize("text", ["false", "No ", "off", "0"])
def test_false_words(text):
    assert coerced(text, True) == (False, [])


def test_a_bool_field_rejects_other_words_and_shows_what_it_got():
    assert coerced("maybe", False) == (INVALID, ["k: must be true or false, got 'maybe'"])


def test_numbers_take_the_type_of_the_default():
    assert coerced("1884", 1) == (1884, [])
    assert coerced(" 7 ", 1) == (7, [])
    assert coerced("2.5", 1.0) == (2.5, [])
    assert coerced(3, 1.0) == (3.0, []) and isinstance(coerced(3, 1.0)[0], float)


@pytest.mark.parametrize(
    "value, default, problem",
    [
        ("1.5", 1, "k: must be an integer, got '1.5'"),
        ("soon", 1.0, "k: must be a number, got 'soon'"),
        (True, 1.0, "k: must be a number, got True"),
        ([1], 1.0, "k: must be a number, got [1]"),
        ("-1", 1, "k: must be a finite, non-negative number"),
        ("nan", 1.0, "k: must be a finite, non-negative number"),
        ("inf", 1.0, "k: must be a finite, non-negative number"),
    ],
)
def test_bad_numbers(value, default, problem):
    assert coerced(value, default) == (INVALID, [problem])


def test_a_long_bad_value_is_shown_shortened():
    _, problems = coerced("x" * 100, 1)
    assert problems == ["k: must be an integer, got '" + "x" * 36 + "..."]


def test_strings_and_missing_values():
    assert coerced(1884, "") == ("1884", [])
    assert coerced(None, None) == (None, [])
    assert coerced(None, 60) == (60, [])  # `key:` with no value keeps the default
    assert coerced({"a": 1}, "") == (INVALID, ["k: must be a single value, not a dict"])
    assert coerced([1], None) == (INVALID, ["k: must be a single value, not a list"])


@pytest.mark.parametrize(
    "host, parsed",
    [
        ("envoy.local", {"host": "envoy.local", "scheme": None, "port": None}),
        (" 192.168.1.9:443 ", {"host": "192.168.1.9", "scheme": None, "port": 443}),
        ("HTTP://10.0.0.5/", {"host": "10.0.0.5", "scheme": "http", "port": None}),
        ("https://[fe80::1]:8443", {"host": "fe80::1", "scheme": "https", "port": 8443}),
    ],
)
def test_host_forms_parse(host, parsed):
    problems: list[str] = []
    assert parse_host("gw", host, problems) == parsed
    assert problems == []


@pytest.mark.parametrize(
    "host, problem",
    [
        (None, "gw.host: required (a name or address, optionally https://host:port)"),
        (42, "gw.host: required (a name or address, optionally https://host:port)"),
        ("envoy:99999", "gw.host: invalid port in 'envoy:99999'"),
        ("ftp://envoy", "gw.host: expected host, host:port or http(s)://host[:port], got 'ftp://envoy'"),
        ("envoy/path", "gw.host: expected host, host:port or http(s)://host[:port], got 'envoy/path'"),
    ],
)
def test_bad_hosts(host, problem):
    problems: list[str] = []
    assert parse_host("gw", host, problems) == {"host": ""}
    assert problems == [problem]


def test_host_forms_through_the_loader(load):
    text = (
        "gateways:\n  - host: https://[fe80::1]:8443\n    tls: {insecure: true}\n"
        "  - host: http://10.0.0.5\n  - host: 192.168.1.9:443\n    tls: {fingerprint: '" + "AB:" * 31 + "AB'}\n"
    )
    gws = load(text).gateways
    assert (gws[0].scheme, gws[0].host, gws[0].port) == ("https", "fe80::1", 8443)
    assert (gws[1].scheme, gws[1].host, gws[1].port) == ("http", "10.0.0.5", None)
    assert gws[2].fingerprint == "ab" * 32


def section_problems(mqtt=None, homeassistant=None, poll=None, energy=None, controls=None) -> list[str]:
    problems: list[str] = []
    sections = {
        "mqtt": mqtt or MqttConfig(),
        "homeassistant": homeassistant or HomeAssistantConfig(),
        "poll": poll or PollIntervals(),
        "cloud": CloudConfig(),
        "energy": energy or EnergyConfig(),
        "controls": controls or ControlsConfig(),
        "cloud_api": CloudApiConfig(),
        "http": HttpConfig(),
    }
    check_sections(sections, problems)
    return problems


def test_default_sections_pass():
    assert section_problems() == []


def test_mqtt_checks():
    found = section_problems(mqtt=MqttConfig(port=70000, qos=3, base_topic="a/#", certfile="c.pem"))
    assert found == [
        "mqtt.port: must be between 1 and 65535",
        "mqtt.qos: must be 0, 1 or 2",
        "mqtt.base_topic: 'a/#' contains an MQTT wildcard ('#' or '+')",
        "mqtt.certfile, mqtt.keyfile: a client certificate needs both",
    ]
    assert section_problems(mqtt=MqttConfig(base_topic="/envoy")) == ["mqtt.base_topic: '/envoy' starts with '/'"]


def test_poll_floors_protect_the_gateway_and_the_grid_group_may_be_faster():
    assert section_problems(poll=PollIntervals(grid=1.0, meters=5.0)) == []
    assert section_problems(poll=PollIntervals(grid=0.5, info=4.0)) == [
        "poll.grid: at least 1 s; the gateway freezes when polled harder",
        "poll.info: at least 5 s; the gateway freezes when polled harder",
    ]


def test_a_gap_limit_below_the_polls_is_not_refused_the_worker_raises_it():
    assert section_problems(energy=EnergyConfig(max_gap_s=120.0, save_interval_s=1.0)) == []
    # a config that slows the polls down keeps working (it was valid before computed counters)
    assert section_problems(poll=PollIntervals(energy=300.0), energy=EnergyConfig(max_gap_s=300.0)) == []
    assert section_problems(energy=EnergyConfig(save_interval_s=0.5)) == ["energy.save_interval_s: at least 1 s"]


def test_the_energy_section_through_the_loader_and_the_environment(load, problems):
    config = load(MINIMAL + "energy: {max_gap_s: 900, save_interval_s: 30}\n")
    assert (config.energy.max_gap_s, config.energy.save_interval_s) == (900.0, 30.0)
    assert load(MINIMAL, {"ENVOY_BRIDGE_ENERGY_MAX_GAP_S": "1200"}).energy.max_gap_s == 1200.0
    assert problems(MINIMAL + "energy: {max_gap_s: -1, gaps: 3}\n") == [
        "energy.max_gap_s: must be a finite, non-negative number",
        "energy.gaps: unknown key",
    ]


def test_poll_live_is_auto_zero_or_at_least_a_second(load, problems):
    assert load(MINIMAL).poll.live == "auto"
    for value, fast, slow in (("auto", 1.0, 5.0), ("0", 0.0, 0.0), ("2", 2.0, 2.0), ("1.5", 1.5, 1.5)):
        poll = load(MINIMAL + f"poll: {{live: {value}}}\n").poll
        assert (poll.interval("live", fast_live=True), poll.interval("live")) == (fast, slow)
    assert load(MINIMAL, {"ENVOY_BRIDGE_POLL_LIVE": "3"}).poll.interval("live") == 3.0
    for bad in ("0.5", "-1", "soon", ".nan", ".inf", "true"):
        assert problems(MINIMAL + f"poll: {{live: {bad}}}\n") == [
            "poll.live: must be auto, 0 (never) or at least 1 s"
        ], bad


def test_homeassistant_expire_after_is_auto_zero_or_seconds(load, problems):
    assert load(MINIMAL).homeassistant.expire_after_s is None  # auto
    for value, seconds in (("0", 0.0), ("900", 900.0), ("auto", None)):
        config = load(MINIMAL + f"homeassistant: {{expire_after: {value}}}\n")
        assert config.homeassistant.expire_after_s == seconds
    env = {"ENVOY_BRIDGE_HOMEASSISTANT_EXPIRE_AFTER": "120"}
    assert load(MINIMAL, env).homeassistant.expire_after_s == 120.0
    for bad in ("-5", "soon"):
        found = problems(MINIMAL + f"homeassistant: {{expire_after: {bad}}}\n")
        assert any(p.startswith("homeassistant.expire_after:") for p in found), found


def gateway_problems(**values) -> tuple[dict, list[str]]:
    problems: list[str] = []
    check_gateway("gw", values, problems)
    return values, problems


def test_fingerprint_is_normalised_to_lower_case_hex_without_colons():
    values, problems = gateway_problems(fingerprint=" " + "AB:" * 31 + "AB ")
    assert values["fingerprint"] == "ab" * 32 and problems == []
    _, problems = gateway_problems(fingerprint="zz")
    assert problems == ["gw.tls.fingerprint: expected a SHA-256 fingerprint (64 hex digits, colons allowed)"]


def test_tls_needs_exactly_one_way_to_trust_the_gateway():
    assert gateway_problems(fingerprint="ab" * 32, insecure=True)[1] == [
        "gw.tls: set either fingerprint or insecure, not both"
    ]
    (missing,) = gateway_problems()[1]
    assert missing.startswith("gw.tls: the gateway's certificate is self-signed") and "insecure: true" in missing
    assert gateway_problems(scheme="http")[1] == []  # plain http has no certificate to trust


def test_no_gateway_and_no_tls_choice_are_explained(problems):
    assert any("at least one gateway" in p for p in problems("mqtt: {}\n"))
    found = problems("gateways:\n  - host: envoy.local\n")
    assert any("fingerprint" in p and "insecure: true" in p for p in found)


def test_credentials_and_serial_checks():
    assert gateway_problems(insecure=True, token="not-a-token")[1] == [
        "gw.token: not a JWT (expected three dot-separated parts)"
    ]
    assert gateway_problems(insecure=True, token="a.b.c")[1] == []
    assert gateway_problems(insecure=True, password="pw")[1] == ["gw.username: required with password"]
    assert gateway_problems(insecure=True, serial="12 3")[1] == ["gw.serial: '12 3' contains a space"]
    assert gateway_problems(insecure=True, serial="A-1_b")[1] == []


def test_garbage_token_is_rejected_through_the_loader(problems):
    assert any("not a JWT" in p for p in problems(MINIMAL + "    token: not-a-token\n"))


def test_controls_are_off_by_default_and_their_floors_are_checked():
    assert not any(ControlsConfig().enabled(f) for f in ("battery", "relays", "grid", "generator", "production"))
    assert section_problems(controls=ControlsConfig(relays=True, min_interval_s=1.0)) == []
    assert section_problems(controls=ControlsConfig(min_interval_s=0.5, revert_check_s=0, production_eid=0)) == [
        "controls.min_interval_s: at least 1 s",
        "controls.revert_check_s: at least 1 s",
        "controls.production_eid: a device id between 1 and 4294967295",
    ]
