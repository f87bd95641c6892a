"""A command as it arrives: the topic, and the payload, plain or JSON."""

from __future__ import annotations

import pytest

from bridge.controls.commands import MAX_PAYLOAD_BYTES, Address, Command, IdentifiedRefusal, address, parse
from bridge.errors import CommandRefused


def test_address_of_a_set_topic():
    assert address("home/envoy/999000000014/relay/NC1/mode/set", "home/envoy") == Address(
        "999000000014", "relay/NC1/mode"
    )
    assert address("envoy/999000000014/storage/mode/set", "envoy") == Address("999000000014", "storage/mode")


@pytest.mark.parametrize(
    "topic",
    [
        "envoy/999000000014/set",
        "envoy/999000000014/storage/mode",
        "other/999000000014/storage/mode/set",
        "envoy/bridge/x/set",
    ],
)
def test_anything_else_has_no_address(topic):
    assert address(topic, "envoy") is None


def test_plain_and_json_payloads():
    assert parse(b" ON \n") == Command("ON")
    assert parse(b'{"value": 20, "id": "flow-7"}') == Command(20, "flow-7")
    assert parse(b'{"value": "backup", "id": 12}') == Command("backup", 12)
    assert parse(b'{"value": false}') == Command(False, None)
    assert parse(b"[1]") == Command("[1]")  # plain text: the control refuses it


@pytest.mark.parametrize(
    "payload",
    [
        b"\xff\xfe",
        b"{not json",
        b'{"value": NaN}',
        b'{"value": 1, "id": ["x"]}',
        b'{"value": 1, "id": "' + b"x" * 65 + b'"}',
        b'{"value": 1, "id": "a\\nb"}',
        b"x" * (MAX_PAYLOAD_BYTES + 1),
    ],
)
def test_payloads_refused(payload):
    with pytest.raises(CommandRefused):
        parse(payload)


def test_a_json_command_without_a_value_keeps_its_id_for_the_result():
    with pytest.raises(IdentifiedRefusal) as refused:
        parse(b'{"id": "n-1"}')
    assert refused.value.command_id == "n-1"
