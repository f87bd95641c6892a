"""`EmbeddedBroker`: the listening socket, the event loop in its own thread, start and stop.

The demo calls it from ordinary threads; everything MQTT happens on the broker's own asyncio
loop (one `Session` per connection, the shared `Router`), so no state needs a lock.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass

from bridge.demo.broker.packets import Message
from bridge.demo.broker.routing import Router
from bridge.demo.broker.session import MAX_QUEUE_BYTES, Policy, Session


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port, its failure worded for the person running the demo."""
    try:
        family, dualstack = address_family(host, port)
        return socket.create_server((host, port), family=family, dualstack_ipv6=dualstack)
    except OSError as err:
        raise OSError(
            err.errno,
            f"embedded MQTT broker cannot listen on {host}:{port}: {err.strerror or err} (is another broker running?)",
        ) from err


def address_family(host: str, port: int) -> tuple[socket.AddressFamily, bool]:
    """(family, dual stack) for host: IPv4 whenever the host has an IPv4 address (`localhost`
    stays 127.0.0.1), else IPv6 (`::1`). The IPv6 wildcard `::` takes IPv4 too, as `0.0.0.0`
    would: the demo's bridge connects to 127.0.0.1 when told `::`."""
    found = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    if any(family == socket.AF_INET for family, *_ in found):
        return socket.AF_INET, False
    wildcard = any(address[0] == "::" for *_, address in found)
    return socket.AF_INET6, wildcard and socket.has_dualstack_ipv6()


@dataclass(frozen=True)
class _Running:
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread


class EmbeddedBroker:
    """`with EmbeddedBroker(port=0) as broker: ...broker.port...`; runs in its own thread.

    Stopped, it can be started again (on the port it had, its retained messages kept)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1883,
        username: str | None = None,
        password: str | None = None,
        max_queue_bytes: int = MAX_QUEUE_BYTES,
    ):
        self.host, self._port = host, port
        self.policy = Policy(username, password, max_queue_bytes)
        self._router = Router()
        self._connections: set[Session] = set()  # every open connection, CONNECT or not
        self._running: _Running | None = None

    @property
    def port(self) -> int:
        """The port listened on: the one the system chose when 0 was asked for."""
        return self._port

    def start(self) -> EmbeddedBroker:
        if self._running:
            return self
        sock = listening_socket(self.host, self._port)
        self._port = sock.getsockname()[1]
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        thread = threading.Thread(
            target=self._serve, args=(loop, sock, ready), name=f"mqtt-broker-{self._port}", daemon=True
        )
        thread.start()
        ready.wait(5)
        self._running = _Running(loop, thread)
        return self

    def stop(self) -> None:
        running, self._running = self._running, None
        if running is None:
            return
        running.loop.call_soon_threadsafe(running.loop.stop)
        running.thread.join(5)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def publish(self, topic: str, payload: bytes | str, qos: int = 0, retain: bool = False) -> None:
        """Publish from inside the process (thread-safe)."""
        running = self._running
        if running is None:
            raise RuntimeError("the embedded MQTT broker is not running")
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        running.loop.call_soon_threadsafe(self._router.route, Message(topic, data, qos, retain))

    # the broker's thread ------------------------------------------------------------------

    def _serve(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(asyncio.start_server(self._accept, sock=sock))
        ready.set()
        try:
            loop.run_forever()  # until stop()
            loop.run_until_complete(self._close(server))
        finally:
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()

    async def _close(self, server: asyncio.AbstractServer) -> None:
        server.close()
        for session in list(self._connections):
            session.close_without_will()
        # Let each connection's task see its closed socket and end by itself: cancelling
        # them instead makes asyncio's stream callbacks log spurious tracebacks.
        for _ in range(100):
            if not self._connections:
                break
            await asyncio.sleep(0.01)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(self._router, self.policy, reader, writer)
        self._connections.add(session)
        try:
            await session.run()
        finally:
            self._connections.discard(session)
