"""The embedded broker's MQTT 3.1.1 codec, byte by byte, without sockets: the expected bytes
are written out from the specification, not built with the code under test."""

from __future__ import annotations

import asyncio
import struct

import pytest

from bridge.demo.broker.packets import (
    MAX_PACKET,
    Connect,
    Kind,
    Message,
    ProtocolError,
    ack,
    connack,
    encode_length,
    packet,
    parse_connect,
    parse_packet_id,
    parse_publish,
    parse_subscribe,
    parse_unsubscribe,
    publish,
    read_packet,
    suback,
)


def s(text: str) -> bytes:
    """An MQTT UTF-8 string: two length bytes, then the bytes."""
    return struct.pack("!H", len(text.encode())) + text.encode()


def read(data: bytes) -> tuple[int, int, bytes]:
    async def first_packet() -> tuple[int, int, bytes]:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        return await read_packet(reader)

    return asyncio.run(first_packet())


# --- the fixed header ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n, encoded",
    [
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (16_383, b"\xff\x7f"),
        (16_384, b"\x80\x80\x01"),
        (268_435_455, b"\xff\xff\xff\x7f"),  # the largest the protocol allows
    ],
)
def test_remaining_length_encoding(n, encoded):
    assert encode_length(n) == encoded


def test_read_packet_splits_type_flags_and_body():
    body = b"x" * 200  # a two-byte remaining length
    assert read(b"\x33\xc8\x01" + body + b"\xc0\x00") == (Kind.PUBLISH, 0x3, body)


def test_read_packet_refuses_bad_lengths_and_reports_a_vanished_peer():
    with pytest.raises(ProtocolError, match="malformed remaining length"):
        read(b"\x30\xff\xff\xff\xff\x01")  # a fifth length byte
    too_big = MAX_PACKET + 1
    with pytest.raises(ProtocolError, match="too big"):
        read(b"\x30" + encode_length(too_big))
    with pytest.raises(asyncio.IncompleteReadError):
        read(b"\x30\x05abc")  # the connection ended inside the packet


# --- CONNECT ---------------------------------------------------------------------------------


def test_parse_connect_with_will_and_credentials():
    flags = 0x80 | 0x40 | 0x20 | 0x08 | 0x04 | 0x02  # user, password, will retain, will QoS 1, will, clean
    data = s("MQTT") + bytes([4, flags]) + b"\x00\x3c" + s("bridge") + s("envoy/avail") + s("offline")
    data += s("me") + s("secret")
    assert parse_connect(data) == Connect(
        "MQTT", 4, 60, "bridge", True, Message("envoy/avail", b"offline", 1, True), "me", b"secret"
    )


def test_parse_connect_minimal_and_mqtt31():
    connect = parse_connect(s("MQIsdp") + bytes([3, 0x00]) + b"\x00\x00" + s(""))
    assert connect.supported and connect == Connect("MQIsdp", 3, 0, "", False)


def test_parse_connect_stops_at_a_protocol_it_does_not_speak():
    connect = parse_connect(s("MQTT") + bytes([5, 0x02]) + b"\x00\x3c\x05\x11garbage")  # MQTT 5 properties
    assert not connect.supported and connect == Connect("MQTT", 5)


@pytest.mark.parametrize(
    "data, reason",
    [
        (s("MQTT") + bytes([4, 0x03]) + b"\x00\x3c" + s("c"), "reserved CONNECT flag"),
        (s("MQTT") + bytes([4, 0x02]) + b"\x00\x3c\x00\x05ab", "too short"),
        (s("MQTT") + bytes([4, 0x02]) + b"\x00\x3c\x00\x02\xff\xfe", "invalid UTF-8"),
        (s("MQTT") + bytes([4, 0x06]) + b"\x00\x3c" + s("c") + s("will/topic"), "too short"),  # no will payload
    ],
)
def test_parse_connect_refuses_malformed_packets(data, reason):
    with pytest.raises(ProtocolError, match=reason):
        parse_connect(data)


# --- PUBLISH, SUBSCRIBE, UNSUBSCRIBE, acknowledgements ----------------------------------------


def test_parse_publish_at_each_qos():
    assert parse_publish(0x00, s("a/b") + b"payload") == (Message("a/b", b"payload"), 0)
    assert parse_publish(0x03, s("a/b") + b"\x01\x02") == (Message("a/b", b"", 1, True), 258)
    assert parse_publish(0x04, s("a") + b"\x00\x07{}") == (Message("a", b"{}", 2), 7)


@pytest.mark.parametrize("flags, topic", [(0x06, "a"), (0x00, "a/+"), (0x00, "a/#"), (0x00, "")])
def test_parse_publish_refuses_qos_3_and_wildcard_topics(flags, topic):
    with pytest.raises(ProtocolError, match="invalid PUBLISH"):
        parse_publish(flags, s(topic) + b"\x00\x01")


def test_parse_subscribe_and_unsubscribe():
    assert parse_subscribe(b"\x00\x0a" + s("a/#") + b"\x01" + s("b/+") + b"\x03") == (10, [("a/#", 1), ("b/+", 3)])
    with pytest.raises(ProtocolError, match="without topics"):
        parse_subscribe(b"\x00\x0a")
    assert parse_unsubscribe(b"\x00\x0b" + s("a/#") + s("b")) == (11, ["a/#", "b"])
    assert parse_packet_id(b"\x12\x34") == 0x1234


def test_replies_as_the_specification_writes_them():
    assert connack(0) == b"\x20\x02\x00\x00"
    assert connack(5) == b"\x20\x02\x00\x05"
    assert ack(Kind.PUBACK, 258) == b"\x40\x02\x01\x02"
    assert ack(Kind.PUBREC, 1) == b"\x50\x02\x00\x01"
    assert ack(Kind.PUBREL, 1) == b"\x62\x02\x00\x01"  # PUBREL's reserved flags are 0010
    assert ack(Kind.PUBCOMP, 1) == b"\x70\x02\x00\x01"
    assert ack(Kind.UNSUBACK, 9) == b"\xb0\x02\x00\x09"
    assert suback(9, [1, 0x80]) == b"\x90\x04\x00\x09\x01\x80"
    assert packet(Kind.PINGRESP) == b"\xd0\x00"


def test_publish_as_delivered():
    message = Message("a/b", b"hi", qos=2, retain=True)
    assert publish(message, 0, False, 0) == b"\x30\x07" + s("a/b") + b"hi"  # no packet id at QoS 0
    assert publish(message, 1, True, 5) == b"\x33\x09" + s("a/b") + b"\x00\x05hi"
    big = publish(Message("t", b"x" * 300), 0, False, 0)
    assert big[:3] == b"\x30\xaf\x02" and len(big) == 3 + 303  # 303 bytes: a two-byte remaining length
