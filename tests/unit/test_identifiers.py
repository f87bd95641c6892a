"""The one rule for identifiers in topics (bridge/identifiers.py): what real gateways send passes,
what breaks a topic, a broker connection or Home Assistant is refused with a reason a user can
act on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bridge import identifiers
from bridge.identifiers import (
    Refusals,
    host_problem,
    id_problem,
    instance_from_host,
    is_id,
    prefix_problem,
    serial_problem,
    show,
    topic_problem,
)
from tests.support.captures import captures_root

SERIAL_KEYS = ("serial_num", "serialNumber", "serial", "sn")


def captured_serials() -> set[str]:
    """Every serial of every unit and gateway in the real captures (JSON keys and /info's <sn>)."""
    found: set[str] = set()
    for path in captures_root().rglob("*"):  # skips the test when the captures are absent
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        found |= set(re.findall(r"<sn>([^<]*)</sn>", text))
        try:
            found |= set(_serials(json.loads(text)))
        except ValueError:
            continue
    return {s.replace("<<envoyserial>>", "122035000000") for s in found if s}


def _serials(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in SERIAL_KEYS and isinstance(value, (str, int)) and not isinstance(value, bool):
                yield str(value)
            yield from _serials(value)
    elif isinstance(node, list):
        for item in node:
            yield from _serials(item)


def test_every_serial_of_the_real_captures_passes():
    serials = captured_serials()
    assert len(serials) > 50  # 12-digit serials, meters with a suffix (122035000000EIM1) ...
    assert {s: serial_problem(s) for s in serials if serial_problem(s)} == {}


@pytest.mark.parametrize("ident", ["482243033113", "122035000000EIM1", "NC1", "NO2", "a-b_C", "x" * 64])
def test_ids_real_gateways_send(ident):
    assert id_problem(ident) is None and serial_problem(ident) is None and is_id(ident)


@pytest.mark.parametrize(
    "value, reason",
    [
        ("12#34", "contains an MQTT wildcard ('#' or '+')"),
        ("12+34", "contains an MQTT wildcard ('#' or '+')"),
        ("1234\t5678", "contains a control character"),
        ("1234\x855678", "contains a control character"),  # U+0085, NEXT LINE
        ("1234\x00", "contains a control character"),
        ("482243033113\n", "contains a control character"),  # `$` of a `match` let it through
        ("1234\ufffe", "contains a non-ASCII character"),  # a non-character
        ("caf\u00e9", "contains a non-ASCII character"),
        ("12 34", "contains a space"),
        ("12/34", "contains '/' (it would add topic levels)"),
        ("", "is empty"),
        ("x" * 65, "is longer than 64 characters"),
        ("12.34", "contains '.': an id may contain only letters, digits, '-', '_'"),
        ("$12", "contains '$': an id may contain only letters, digits, '-', '_'"),
        (1234, "must be text, not int"),
        (None, "must be text, not NoneType"),
    ],
)
def test_ids_outside_the_rule_are_refused_with_the_reason(value, reason):
    assert id_problem(value) == reason
    assert serial_problem(value) == reason
    assert not is_id(value)


@pytest.mark.parametrize("serial", ["bridge", "Bridge", "BRIDGE"])
def test_h11_15_a_gateway_serial_bridge_is_reserved(serial):
    assert serial_problem(serial) == "is reserved: {base}/bridge/... is the bridge's own topic"
    assert id_problem(serial) is None  # a unit may be called so: it lives below {base}/{serial}/<kind>/


@pytest.mark.parametrize("prefix", ["envoy", "homeassistant", "home/solar/envoy", "ha-2_x", "homeassistant/status"])
def test_topic_prefixes_that_pass(prefix):
    assert prefix_problem(prefix) is None


@pytest.mark.parametrize(
    "prefix, reason",
    [
        ("ha/#", "contains an MQTT wildcard ('#' or '+')"),
        ("ha/+", "contains an MQTT wildcard ('#' or '+')"),
        ("", "is empty"),
        ("env\toy", "contains a control character"),
        ("$SYS/envoy", "starts with '$' (topics the broker keeps for itself)"),
        ("envoy/", "ends with '/'"),
        ("/envoy", "starts with '/'"),
        ("a//b", "has an empty topic level ('//')"),
        ("home solar", "contains a space"),
        ("envoy\n", "contains a control character"),
        ("x" * 129, "is longer than 128 characters"),
        (
            "home.solar",
            "contains '.': a topic prefix may contain only letters, digits, '-', '_', in levels separated by '/'",
        ),
    ],
)
def test_h11_5_topic_prefixes_outside_the_rule(prefix, reason):
    assert prefix_problem(prefix) == reason


@pytest.mark.parametrize("host", ["envoy.local", "192.168.1.9", "fe80::1", "fe80::1%eth0", "envoy-2_x.lan"])
def test_hosts_that_may_name_a_gateway_until_its_serial_is_known(host):
    assert host_problem(host) is None


@pytest.mark.parametrize("host", ["a+b", "a#b", "a b", "envoy/x", "h\u00f4te", "a\tb", ""])
def test_hosts_that_may_not(host):
    assert host_problem(host) is not None


def test_the_publishers_topics():
    for topic in (
        "envoy/bridge/availability",
        "envoy/bridge/site-a/availability",
        "envoy/122035000000/inverter/482243033113",
        "envoy/192.168.1.9/availability",  # a gateway not set up yet is named by its host
        "homeassistant/sensor/122035000000/482243033113_power/config",
    ):
        assert topic_problem(topic) is None, topic
    assert topic_problem("envoy/12#/availability") == "contains an MQTT wildcard ('#' or '+')"
    assert topic_problem("envoy/12\n/state") == "contains a control character"
    assert topic_problem("envoy/x/" + "y" * 1020) == "is longer than 1024 characters"
    assert topic_problem("envoy//state") == "has an empty topic level ('//')"


def test_show_escapes_and_shortens_for_a_log_line():
    assert show("12\n\x1b[31mforged") == "'12\\n\\x1b[31mforged'"  # no new line, no colour
    assert show("x" * 50) == repr("x" * 40) + "..."
    assert show("\u00e9") == "'\\xe9'"


def test_refusals_are_logged_once_each_and_a_flood_is_bounded():
    refusals = Refusals(limit=3)
    assert [refusals.first_time(k) for k in ("a", "a", "b", "a")] == [True, False, True, False]
    assert [refusals.first_time(k) for k in ("c", "d", "e")] == [True, False, False]
    assert len(refusals.seen) == 3


def test_the_rule_imports_nothing_of_the_bridge():
    source = Path(identifiers.__file__).read_text(encoding="utf-8")
    assert not re.search(r"^\s*(from|import) bridge", source, re.MULTILINE)


@pytest.mark.parametrize(
    ("host", "instance"),
    [
        ("pi", "pi"),
        ("Envoy-Bridge.home.example.org", "envoy-bridge-home-example-org"),
        ("site_7", "site_7"),
        ("..weird..name..", "weird-name"),
        ("ünïcode", "n-code"),
        ("", "bridge"),
        ("...", "bridge"),
        ("a" * 70 + ".example", "a" * 64),
    ],
)
def test_a_host_name_becomes_an_instance_id_by_the_rule(host, instance):
    assert instance_from_host(host) == instance
    assert id_problem(instance) is None
