"""One client connection to the embedded broker, from CONNECT to its end.

Sessions are always clean: nothing persists across connections, so a connection's in-flight
QoS 1/2 messages are never re-sent. A connection that ends without DISCONNECT (broken, silent
beyond 1.5 x its keepalive, taken over by a newer one with its client id) publishes its will.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass

from bridge.demo.broker.packets import (
    ACCEPTED,
    BAD_CLIENT_ID,
    BAD_CREDENTIALS,
    UNSUPPORTED_PROTOCOL,
    Connect,
    Kind,
    Message,
    ProtocolError,
    ack,
    connack,
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
from bridge.demo.broker.routing import Router
from bridge.demo.broker.topics import topic_matches, valid_filter, valid_topic

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 10.0  # a connection that never sends CONNECT is dropped
MAX_QUEUE_BYTES = 1 << 20  # per client: beyond this a slow subscriber loses messages


@dataclass(frozen=True)
class Policy:
    """What the broker's owner chose: credentials (no username: anyone may connect) and how
    much unsent output one client may hold before its messages are dropped."""

    username: str | None = None
    password: str | None = None
    max_queue_bytes: int = MAX_QUEUE_BYTES

    def allows(self, username: str | None, password: bytes | None) -> bool:
        if self.username is None:
            return True
        return username == self.username and password == (self.password or "").encode()


class Session:
    """Reads one client's packets and answers them; what it publishes goes through the router."""

    def __init__(self, router: Router, policy: Policy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.router, self.policy, self.reader, self.writer = router, policy, reader, writer
        self.client_id = ""
        self.subscriptions: dict[str, int] = {}
        self.will: Message | None = None
        self.keepalive = 0
        self.connected = False  # accepted (CONNACK 0): only then does a will count
        self._packet_id = 0
        self._qos2_in: set[int] = set()  # ids seen but not released: do not deliver twice
        self.dropped = 0  # messages not sent because the client's output was full

    async def run(self) -> None:
        try:
            if await self._connect():
                await self._serve()
        except (ProtocolError, asyncio.IncompleteReadError, asyncio.TimeoutError, OSError) as err:
            log.debug("client %r dropped: %s", self.client_id, err or type(err).__name__)
        finally:
            if self.connected:
                self.router.forget(self)
            self._publish_will()
            self.writer.close()

    async def _read(self, timeout: float | None) -> tuple[int, int, bytes]:
        return await asyncio.wait_for(read_packet(self.reader), timeout)

    def send(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def take_over(self) -> None:
        self._publish_will()
        self.writer.transport.abort()

    def close_without_will(self) -> None:
        """The broker is going away: that is not the client's failure, so no will."""
        self.will = None
        self.writer.transport.abort()

    def _publish_will(self) -> None:
        will, self.will = self.will, None  # at most once, whoever ends the connection first
        if self.connected and will is not None:
            self.router.route(will)

    # CONNECT ------------------------------------------------------------------------------

    async def _connect(self) -> bool:
        kind, _, data = await self._read(CONNECT_TIMEOUT_S)
        if kind != Kind.CONNECT:
            raise ProtocolError("first packet is not CONNECT")
        connect = parse_connect(data)
        if not connect.supported:
            if connect.protocol in ("MQTT", "MQIsdp"):  # MQTT 5 and friends
                self.send(connack(UNSUPPORTED_PROTOCOL))
            return False
        self.keepalive, self.client_id, self.will = connect.keepalive, connect.client_id, connect.will
        code = self._return_code(connect)
        if code != ACCEPTED:
            self.send(connack(code))
            return False
        self.connected = True
        self.router.register(self)  # before CONNACK: a taken-over session's will goes out first
        self.send(connack(ACCEPTED))
        return True

    def _return_code(self, connect: Connect) -> int:
        if not self.client_id:
            if not connect.clean_session:
                return BAD_CLIENT_ID  # an empty id needs a clean session
            self.client_id = f"auto-{uuid.uuid4().hex}"
        if self.will and (self.will.qos > 2 or not valid_topic(self.will.topic)):
            raise ProtocolError("invalid will")
        return ACCEPTED if self.policy.allows(connect.username, connect.password) else BAD_CREDENTIALS

    # everything after CONNECT -------------------------------------------------------------

    async def _serve(self) -> None:
        while True:
            # 1.5 x keepalive without any packet means the client is gone (spec 3.1.2.10)
            kind, flags, data = await self._read(self.keepalive * 1.5 or None)
            if kind == Kind.DISCONNECT:
                self.will = None  # a clean DISCONNECT discards the will
                return
            self._handle(kind, flags, data)

    def _handle(self, kind: int, flags: int, data: bytes) -> None:
        if kind == Kind.PUBLISH:
            self._on_publish(flags, data)
        elif kind == Kind.PUBREL:
            packet_id = parse_packet_id(data)
            self._qos2_in.discard(packet_id)
            self.send(ack(Kind.PUBCOMP, packet_id))
        elif kind == Kind.PUBREC:  # our QoS 2 message arrived: release it
            self.send(ack(Kind.PUBREL, parse_packet_id(data)))
        elif kind in (Kind.PUBACK, Kind.PUBCOMP):
            pass  # clean sessions keep no in-flight state to clear
        elif kind == Kind.SUBSCRIBE:
            self._on_subscribe(data)
        elif kind == Kind.UNSUBSCRIBE:
            packet_id, filters = parse_unsubscribe(data)
            for topic_filter in filters:
                self.subscriptions.pop(topic_filter, None)
            self.send(ack(Kind.UNSUBACK, packet_id))
        elif kind == Kind.PINGREQ:
            self.send(packet(Kind.PINGRESP))
        else:
            raise ProtocolError(f"unexpected packet type {kind}")

    def _on_publish(self, flags: int, data: bytes) -> None:
        message, packet_id = parse_publish(flags, data)
        if message.qos == 2:
            if packet_id not in self._qos2_in:  # a DUP re-send must not be delivered twice
                self._qos2_in.add(packet_id)
                self.router.route(message)
            self.send(ack(Kind.PUBREC, packet_id))
            return
        self.router.route(message)
        if message.qos == 1:
            self.send(ack(Kind.PUBACK, packet_id))

    def _on_subscribe(self, data: bytes) -> None:
        packet_id, requests = parse_subscribe(data)
        granted, added = [], []
        for topic_filter, qos in requests:
            if valid_filter(topic_filter) and qos <= 2:
                self.subscriptions[topic_filter] = qos
                granted.append(qos)
                added.append(topic_filter)
            else:
                granted.append(0x80)  # failure
        self.send(suback(packet_id, granted))
        for message in self.router.retained_for(added):  # after SUBACK, as the spec wants
            self.deliver(message, min(message.qos, self.granted(message.topic)), retain=True)

    # outgoing -----------------------------------------------------------------------------

    def granted(self, topic: str) -> int:
        return max((q for f, q in self.subscriptions.items() if topic_matches(f, topic)), default=-1)

    def deliver(self, message: Message, qos: int, retain: bool = False) -> None:
        if self.writer.transport.get_write_buffer_size() > self.policy.max_queue_bytes:
            self.dropped += 1  # bounded queue: a stalled subscriber must not eat the memory
            return
        packet_id = 0
        if qos:
            self._packet_id = self._packet_id % 0xFFFF + 1
            packet_id = self._packet_id
        self.send(publish(message, qos, retain, packet_id))
