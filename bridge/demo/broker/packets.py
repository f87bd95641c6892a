"""The MQTT 3.1.1 wire format, as far as a broker needs it: reading packets, building replies.

Kept apart from the sessions so that every byte rule (remaining length, strings, flags) is
pure code, tested without sockets. Anything a client gets wrong raises `ProtocolError`, on
which the session drops the connection.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass
from enum import IntEnum

from bridge.demo.broker.topics import valid_topic

MAX_PACKET = 2 << 20  # far above what the bridge or Home Assistant send; bounds memory
PROTOCOLS = {("MQTT", 4), ("MQIsdp", 3)}  # MQTT 3.1.1 and 3.1
ACCEPTED, UNSUPPORTED_PROTOCOL, BAD_CLIENT_ID, BAD_CREDENTIALS = 0, 1, 2, 4  # CONNACK return codes


class Kind(IntEnum):
    """Packet types (the high nibble of the first byte)."""

    CONNECT = 1
    CONNACK = 2
    PUBLISH = 3
    PUBACK = 4
    PUBREC = 5
    PUBREL = 6
    PUBCOMP = 7
    SUBSCRIBE = 8
    SUBACK = 9
    UNSUBSCRIBE = 10
    UNSUBACK = 11
    PINGREQ = 12
    PINGRESP = 13
    DISCONNECT = 14


class ProtocolError(Exception):
    """The client broke the protocol: drop the connection (and publish its will)."""


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False


@dataclass(frozen=True)
class Connect:
    """A CONNECT packet. For a protocol we do not speak only `protocol` and `level` are read:
    the rest of an MQTT 5 CONNECT is laid out differently."""

    protocol: str
    level: int
    keepalive: int = 0
    client_id: str = ""
    clean_session: bool = True
    will: Message | None = None
    username: str | None = None
    password: bytes | None = None

    @property
    def supported(self) -> bool:
        return (self.protocol, self.level) in PROTOCOLS


# --- reading ------------------------------------------------------------------------------


class Body:
    """Cursor over a packet body; running short is a protocol error."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ProtocolError("packet too short")
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        high, low = self.take(2)
        return high << 8 | low

    def blob(self) -> bytes:
        return self.take(self.u16())

    def text(self) -> str:
        try:
            return self.blob().decode()
        except UnicodeDecodeError:
            raise ProtocolError("invalid UTF-8") from None

    def rest(self) -> bytes:
        return self.take(len(self.data) - self.pos)

    @property
    def more(self) -> bool:
        return self.pos < len(self.data)


async def read_packet(reader: asyncio.StreamReader) -> tuple[int, int, bytes]:
    """(packet type, flags, body) of the next packet; IncompleteReadError when the peer left."""
    first = (await reader.readexactly(1))[0]
    length, shift = 0, 0
    for _ in range(4):  # the remaining length takes at most four bytes
        byte = (await reader.readexactly(1))[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    else:
        raise ProtocolError("malformed remaining length")
    if length > MAX_PACKET:
        raise ProtocolError(f"packet of {length} bytes is too big")
    return first >> 4, first & 0x0F, await reader.readexactly(length)


def parse_connect(data: bytes) -> Connect:
    body = Body(data)
    protocol, level, flags = body.text(), body.u8(), body.u8()
    unread = Connect(protocol, level)
    if not unread.supported:
        return unread  # an MQTT 5 CONNECT goes on differently: read no further
    keepalive = body.u16()
    if flags & 0x01:
        raise ProtocolError("reserved CONNECT flag set")
    client_id = body.text()
    will = None
    if flags & 0x04:
        topic, payload = body.text(), body.blob()
        will = Message(topic, payload, (flags >> 3) & 3, bool(flags & 0x20))
    username = body.text() if flags & 0x80 else None
    password = body.blob() if flags & 0x40 else None
    return Connect(protocol, level, keepalive, client_id, bool(flags & 0x02), will, username, password)


def parse_publish(flags: int, data: bytes) -> tuple[Message, int]:
    """The message and its packet id (0 at QoS 0)."""
    qos, retain = (flags >> 1) & 3, bool(flags & 1)
    body = Body(data)
    topic = body.text()
    if qos == 3 or not valid_topic(topic):
        raise ProtocolError("invalid PUBLISH")
    packet_id = body.u16() if qos else 0
    return Message(topic, body.rest(), qos, retain), packet_id


def parse_subscribe(data: bytes) -> tuple[int, list[tuple[str, int]]]:
    """The packet id and the (filter, requested QoS) pairs, as sent: validity is the caller's."""
    body = Body(data)
    packet_id, requests = body.u16(), []
    while body.more:
        requests.append((body.text(), body.u8()))
    if not requests:
        raise ProtocolError("SUBSCRIBE without topics")
    return packet_id, requests


def parse_unsubscribe(data: bytes) -> tuple[int, list[str]]:
    body = Body(data)
    packet_id, filters = body.u16(), []
    while body.more:
        filters.append(body.text())
    return packet_id, filters


def parse_packet_id(data: bytes) -> int:
    """The body of PUBACK, PUBREC, PUBREL and PUBCOMP."""
    return Body(data).u16()


# --- writing ------------------------------------------------------------------------------


def encode_length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def packet(kind: Kind, flags: int = 0, body: bytes = b"") -> bytes:
    return bytes([kind << 4 | flags]) + encode_length(len(body)) + body


def utf8(text: str) -> bytes:
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def connack(code: int) -> bytes:
    """Session present is always 0: sessions are always clean."""
    return packet(Kind.CONNACK, 0, bytes([0, code]))


def ack(kind: Kind, packet_id: int) -> bytes:
    """PUBACK, PUBREC, PUBREL (whose fixed flags are 0010) or PUBCOMP, UNSUBACK."""
    return packet(kind, 0x02 if kind == Kind.PUBREL else 0, struct.pack("!H", packet_id))


def suback(packet_id: int, granted: list[int]) -> bytes:
    return packet(Kind.SUBACK, 0, struct.pack("!H", packet_id) + bytes(granted))


def publish(message: Message, qos: int, retain: bool, packet_id: int) -> bytes:
    """PUBLISH as delivered: at the granted QoS, with the packet id when QoS > 0."""
    head = utf8(message.topic) + (struct.pack("!H", packet_id) if qos else b"")
    return packet(Kind.PUBLISH, qos << 1 | int(retain), head + message.payload)
