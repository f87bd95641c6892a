"""A small embedded MQTT 3.1.1 broker for the demo, standard library only.

When no broker is reachable the demo starts this one, so mosquitto_sub, Home Assistant or
Node-RED can connect to it like to any broker. It speaks MQTT 3.1.1 (and 3.1 "MQIsdp"):
QoS 0/1/2 both ways, retained messages, + and # wildcards, last will, keepalive, session
takeover. Sessions are always clean (nothing persists across connections or restarts), so a
connection's in-flight QoS 1/2 messages are never re-sent. Not for production use.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
import threading
import uuid
from dataclasses import dataclass

log = logging.getLogger(__name__)

(
    CONNECT,
    CONNACK,
    PUBLISH,
    PUBACK,
    PUBREC,
    PUBREL,
    PUBCOMP,
    SUBSCRIBE,
    SUBACK,
    UNSUBSCRIBE,
    UNSUBACK,
    PINGREQ,
    PINGRESP,
    DISCONNECT,
) = range(1, 15)
PROTOCOLS = {("MQTT", 4), ("MQIsdp", 3)}
CONNECT_TIMEOUT_S = 10.0  # a connection that never sends CONNECT is dropped
MAX_PACKET = 2 << 20  # far above what the bridge or Home Assistant send; bounds memory
MAX_QUEUE_BYTES = 1 << 20  # per client: beyond this a slow subscriber loses messages


class ProtocolError(Exception):
    """The client broke the protocol: drop the connection (and publish its will)."""


class DisconnectRequested(Exception):
    """The client sent DISCONNECT: close quietly, without the will."""


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False


# --- topics ------------------------------------------------------------------------------


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT matching; a filter starting with a wildcard does not match $-topics."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    parts, levels = topic_filter.split("/"), topic.split("/")
    for i, part in enumerate(parts):
        if part == "#":
            return True
        if i >= len(levels) or (part != "+" and part != levels[i]):
            return False
    return len(parts) == len(levels)


def valid_filter(topic_filter: str) -> bool:
    parts = topic_filter.split("/")
    if not topic_filter or "\0" in topic_filter:
        return False
    if any("#" in p and (p != "#" or i != len(parts) - 1) for i, p in enumerate(parts)):
        return False
    return all("+" not in p or p == "+" for p in parts)


def valid_topic(topic: str) -> bool:
    return bool(topic) and not any(c in topic for c in "+#\0")


# --- encoding ----------------------------------------------------------------------------


def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _packet(kind: int, flags: int, body: bytes = b"") -> bytes:
    return bytes([kind << 4 | flags]) + _length(len(body)) + body


def _utf8(text: str) -> bytes:
    data = text.encode()
    return struct.pack("!H", len(data)) + data


class _Body:
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
        return struct.unpack("!H", self.take(2))[0]

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


# --- one client connection ---------------------------------------------------------------


class _Client:
    def __init__(self, broker: EmbeddedBroker, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.broker, self.reader, self.writer = broker, reader, writer
        self.client_id = ""
        self.subscriptions: dict[str, int] = {}
        self.will: Message | None = None
        self.keepalive = 0
        self.connected = False  # CONNACK 0 sent: only then does a will count
        self._packet_id = 0
        self._qos2_in: set[int] = set()  # ids seen but not released: do not deliver twice
        self.dropped = 0

    async def run(self) -> None:
        try:
            if await self._connect():
                while True:
                    # 1.5 x keepalive without any packet means the client is gone (spec 3.1.2.10)
                    self._dispatch(*await self._read(self.keepalive * 1.5 or None))
        except DisconnectRequested:
            self.will = None  # a clean DISCONNECT discards the will
        except (ProtocolError, asyncio.IncompleteReadError, asyncio.TimeoutError, OSError) as err:
            log.debug("client %r dropped: %s", self.client_id, err or type(err).__name__)
        finally:
            self.broker._gone(self)
            self.writer.close()

    async def _read(self, timeout: float | None) -> tuple[int, int, bytes]:
        return await asyncio.wait_for(self._read_packet(), timeout)

    async def _read_packet(self) -> tuple[int, int, bytes]:
        first = (await self.reader.readexactly(1))[0]
        length, shift = 0, 0
        for _ in range(4):
            byte = (await self.reader.readexactly(1))[0]
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        else:
            raise ProtocolError("malformed remaining length")
        if length > MAX_PACKET:
            raise ProtocolError(f"packet of {length} bytes is too big")
        return first >> 4, first & 0x0F, await self.reader.readexactly(length)

    def send(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def abort(self) -> None:
        self.writer.transport.abort()

    # CONNECT ------------------------------------------------------------------------------

    async def _connect(self) -> bool:
        kind, _, data = await self._read(CONNECT_TIMEOUT_S)
        if kind != CONNECT:
            raise ProtocolError("first packet is not CONNECT")
        body = _Body(data)
        name, level, flags = body.text(), body.u8(), body.u8()
        if (name, level) not in PROTOCOLS:
            if name in ("MQTT", "MQIsdp"):  # MQTT 5 and friends: "unacceptable protocol version"
                self.send(_packet(CONNACK, 0, b"\x00\x01"))
            return False
        self.keepalive = body.u16()
        code = self._read_connect_payload(body, flags)
        self.send(_packet(CONNACK, 0, bytes([0, code])))
        if code:
            return False
        self.broker._register(self)
        return True

    def _read_connect_payload(self, body: _Body, flags: int) -> int:
        """Parse the CONNECT payload; the CONNACK return code (0 = accepted)."""
        if flags & 0x01:
            raise ProtocolError("reserved CONNECT flag set")
        self.client_id = body.text()
        if flags & 0x04:
            topic, payload = body.text(), body.blob()
            self.will = Message(topic, payload, (flags >> 3) & 3, bool(flags & 0x20))
        username = body.text() if flags & 0x80 else None
        password = body.blob() if flags & 0x40 else None
        if not self.client_id:
            if not flags & 0x02:
                return 2  # identifier rejected: an empty id needs a clean session
            self.client_id = f"auto-{uuid.uuid4().hex}"
        if self.will and (self.will.qos > 2 or not valid_topic(self.will.topic)):
            raise ProtocolError("invalid will")
        return 0 if self.broker._credentials_ok(username, password) else 4

    # everything after CONNECT -------------------------------------------------------------

    def _dispatch(self, kind: int, flags: int, data: bytes) -> None:
        body = _Body(data)
        if kind == PUBLISH:
            self._on_publish(flags, body)
        elif kind == PUBREL:
            packet_id = body.u16()
            self._qos2_in.discard(packet_id)
            self.send(_packet(PUBCOMP, 0, struct.pack("!H", packet_id)))
        elif kind == PUBREC:  # our QoS 2 message arrived: release it
            self.send(_packet(PUBREL, 0x02, struct.pack("!H", body.u16())))
        elif kind in (PUBACK, PUBCOMP):
            pass  # clean sessions keep no in-flight state to clear
        elif kind == SUBSCRIBE:
            self._on_subscribe(body)
        elif kind == UNSUBSCRIBE:
            self._on_unsubscribe(body)
        elif kind == PINGREQ:
            self.send(_packet(PINGRESP, 0))
        elif kind == DISCONNECT:
            raise DisconnectRequested()
        else:
            raise ProtocolError(f"unexpected packet type {kind}")

    def _on_publish(self, flags: int, body: _Body) -> None:
        qos, retain = (flags >> 1) & 3, bool(flags & 1)
        topic = body.text()
        if qos == 3 or not valid_topic(topic):
            raise ProtocolError("invalid PUBLISH")
        packet_id = body.u16() if qos else 0
        message = Message(topic, body.rest(), qos, retain)
        if qos == 2:
            if packet_id not in self._qos2_in:  # a DUP re-send must not be delivered twice
                self._qos2_in.add(packet_id)
                self.broker._route(message)
            self.send(_packet(PUBREC, 0, struct.pack("!H", packet_id)))
            return
        self.broker._route(message)
        if qos == 1:
            self.send(_packet(PUBACK, 0, struct.pack("!H", packet_id)))

    def _on_subscribe(self, body: _Body) -> None:
        packet_id, granted, added = body.u16(), [], []
        while body.more:
            topic_filter, qos = body.text(), body.u8()
            if valid_filter(topic_filter) and qos <= 2:
                self.subscriptions[topic_filter] = qos
                granted.append(qos)
                added.append(topic_filter)
            else:
                granted.append(0x80)
        if not granted:
            raise ProtocolError("SUBSCRIBE without topics")
        self.send(_packet(SUBACK, 0, struct.pack("!H", packet_id) + bytes(granted)))
        for message in self.broker._retained_for(added):  # after SUBACK, as the spec wants
            self.deliver(message, min(message.qos, self._granted(message.topic)), retain=True)

    def _on_unsubscribe(self, body: _Body) -> None:
        packet_id = body.u16()
        while body.more:
            self.subscriptions.pop(body.text(), None)
        self.send(_packet(UNSUBACK, 0, struct.pack("!H", packet_id)))

    # outgoing -----------------------------------------------------------------------------

    def _granted(self, topic: str) -> int:
        """Highest QoS among this client's matching subscriptions, -1 when none match."""
        return max((q for f, q in self.subscriptions.items() if topic_matches(f, topic)), default=-1)

    def deliver(self, message: Message, qos: int, retain: bool = False) -> None:
        transport = self.writer.transport
        if transport.get_write_buffer_size() > self.broker.max_queue_bytes:
            self.dropped += 1  # bounded queue: a stalled subscriber must not eat the memory
            return
        head = _utf8(message.topic)
        if qos:
            self._packet_id = self._packet_id % 0xFFFF + 1
            head += struct.pack("!H", self._packet_id)
        self.send(_packet(PUBLISH, qos << 1 | int(retain), head + message.payload))


# --- the broker --------------------------------------------------------------------------


class EmbeddedBroker:
    """`with EmbeddedBroker(port=0) as broker: ...broker.port...`; runs in its own thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1883,
        username: str | None = None,
        password: str | None = None,
        max_queue_bytes: int = MAX_QUEUE_BYTES,
    ):
        self.host, self._port = host, port
        self.username, self.password = username, password
        self.max_queue_bytes = max_queue_bytes
        self._clients: dict[str, _Client] = {}  # connected, by client id
        self._connections: set[_Client] = set()  # every open connection, CONNECT or not
        self._retained: dict[str, Message] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> EmbeddedBroker:
        if self._thread:
            return self
        try:
            sock = socket.create_server((self.host, self._port))
        except OSError as err:
            reason = os.strerror(err.errno) if err.errno else str(err)
            raise OSError(
                err.errno,
                f"embedded MQTT broker cannot listen on {self.host}:{self._port}: "
                f"{reason} (is another broker running?)",
            ) from err
        self._port = sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(sock, ready), name=f"mqtt-broker-{self._port}", daemon=True
        )
        self._thread.start()
        ready.wait(5)
        return self

    def stop(self) -> None:
        if not self._thread:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        self._thread.join(5)
        self._thread = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def publish(self, topic: str, payload: bytes | str, qos: int = 0, retain: bool = False) -> None:
        """Publish from inside the process (thread-safe)."""
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        self._loop.call_soon_threadsafe(self._route, Message(topic, data, qos, retain))

    # event-loop side ----------------------------------------------------------------------

    def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._accept, sock=sock))
        ready.set()
        try:
            self._loop.run_forever()
        finally:
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self._loop.close()

    async def _shutdown(self) -> None:
        self._server.close()
        for client in list(self._connections):
            client.will = None  # the broker going away is not the client's failure
            client.abort()
        # Let each connection's task see its closed socket and end by itself: cancelling
        # them instead makes asyncio's stream callbacks log spurious tracebacks.
        for _ in range(100):
            if not self._connections:
                break
            await asyncio.sleep(0.01)
        self._loop.stop()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = _Client(self, reader, writer)
        self._connections.add(client)
        await client.run()

    def _credentials_ok(self, username: str | None, password: bytes | None) -> bool:
        if self.username is None:
            return True  # no credentials configured: anyone may connect
        return username == self.username and password == (self.password or "").encode()

    def _register(self, client: _Client) -> None:
        client.connected = True
        old = self._clients.get(client.client_id)
        self._clients[client.client_id] = client
        if old is not None:  # session takeover: the newer connection wins
            old.abort()

    def _gone(self, client: _Client) -> None:
        self._connections.discard(client)
        if self._clients.get(client.client_id) is client:
            del self._clients[client.client_id]
        if client.connected and client.will is not None:
            self._route(client.will)

    def _route(self, message: Message) -> None:
        if message.retain:
            if message.payload:
                self._retained[message.topic] = message
            else:
                self._retained.pop(message.topic, None)  # an empty retained message clears
        for client in list(self._clients.values()):
            qos = client._granted(message.topic)
            if qos >= 0:
                client.deliver(message, min(qos, message.qos))

    def _retained_for(self, filters: list[str]) -> list[Message]:
        return [m for t, m in self._retained.items() if any(topic_matches(f, t) for f in filters)]
